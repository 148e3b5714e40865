/*
 * u-lineage.c - the lineage repository, checked against the git CLI.
 *
 * Commits are made with pinned authors and dates so that `git commit-tree`
 * given the same tree, parents and message must produce the same id: our
 * objects are byte for byte what git writes.
 */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "mbr/lineage.h"
#include "mbr/strbuf.h"

static char dir[64];
static char gitdir[96];

/* Run a shell command; its stdout (trimmed of the final newline) or NULL. */
static char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh(const char *fmt, ...)
{
	struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
	char buf[4096];
	va_list ap;
	size_t n;
	FILE *p;

	va_start(ap, fmt);
	strbuf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	p = popen(cmd.buf, "r");
	strbuf_release(&cmd);
	if (!p)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		strbuf_add(&out, buf, n);
	if (pclose(p)) {
		strbuf_release(&out);
		return NULL;
	}
	if (out.len && out.buf[out.len - 1] == '\n')
		strbuf_setlen(&out, out.len - 1);
	return strbuf_detach(&out, NULL);
}

static void set_author(const char *date)
{
	setenv("MBR_AUTHOR_NAME", "Test Author", 1);
	setenv("MBR_AUTHOR_EMAIL", "test@example.com", 1);
	setenv("MBR_AUTHOR_DATE", date, 1);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

struct fixture {
	struct mbr_lineage *lin;
	char v1[MBR_COMMIT_HEXSZ + 1], v2[MBR_COMMIT_HEXSZ + 1];
	char side[MBR_COMMIT_HEXSZ + 1], merge[MBR_COMMIT_HEXSZ + 1];
};
static struct fixture fx;

static const char manifest1[] = "{\"v\":1}\n", manifest2[] = "{\"v\":2}\n";
static const char evidence[] = "{\"ppl\":12.5}\n";

static void test_lineage__init(void)
{
	strcpy(dir, "/tmp/u-lineage-XXXXXX");
	UT_ASSERT(mkdtemp(dir));
	snprintf(gitdir, sizeof(gitdir), "%s/lineage.git", dir);
	UT_EQ_INT(mbr_lineage_init(gitdir), 0);
	UT_EQ_INT(mbr_lineage_init(gitdir), MBR_EEXISTS);
	UT_CHECK(strstr(mbr_error_last(), gitdir));
	UT_EQ_INT(mbr_lineage_open(&fx.lin, gitdir), 0);
	UT_EQ_INT(mbr_lineage_open(&(struct mbr_lineage *){ NULL }, dir), MBR_ENOTFOUND);
	UT_CHECK(strstr(mbr_error_last(), dir));

	char *head = sh("git --git-dir=%s symbolic-ref HEAD", gitdir);
	char *bare = sh("git --git-dir=%s rev-parse --is-bare-repository", gitdir);
	UT_EQ_STR(head, "refs/heads/main");
	UT_EQ_STR(bare, "true");
	free(head);
	free(bare);
}

static void test_lineage__names(void)
{
	UT_CHECK(mbr_lineage_name_is_valid("tiny"));
	UT_CHECK(mbr_lineage_name_is_valid("llama-3.2_1B"));
	UT_CHECK(!mbr_lineage_name_is_valid(""));
	UT_CHECK(!mbr_lineage_name_is_valid("-tiny"));
	UT_CHECK(!mbr_lineage_name_is_valid("a/b"));
	UT_CHECK(!mbr_lineage_name_is_valid("HEAD"));
	UT_CHECK(!mbr_lineage_name_is_valid("a..b"));
	UT_CHECK(!mbr_lineage_name_is_valid("a b"));
	UT_CHECK(!mbr_lineage_name_is_valid("x.lock"));
	UT_CHECK(!mbr_lineage_name_is_valid("tiny~1"));
	UT_CHECK(!mbr_lineage_name_is_valid(".hidden"));
}

static void test_lineage__commits(void)
{
	const struct mbr_tree_file v1_files[] = {
		{ "manifest.json", manifest1, strlen(manifest1) },
		{ "operator.json", "{}\n", 3 },
	};
	const struct mbr_tree_file v2_files[] = {
		{ "manifest.json", manifest2, strlen(manifest2) },
		{ "evidence/eval.json", evidence, strlen(evidence) },
		{ "operator.json", "{}\n", 3 },
		{ "evidence/notes.txt", "ok\n", 3 },
	};
	const char *parents[2];
	char head[MBR_COMMIT_HEXSZ + 1];

	UT_ASSERT(fx.lin);
	set_author("1700000000 +0100");
	UT_EQ_INT(mbr_lineage_commit(fx.v1, fx.lin, "tiny", NULL, 0, v1_files, 2,
				     "add tiny\n"), 0);
	parents[0] = fx.v1;
	set_author("1700002000 -0230");
	UT_EQ_INT(mbr_lineage_commit(fx.v2, fx.lin, "tiny", parents, 1, v2_files, 4,
				     "update tiny\n\nwith evidence\n"), 0);
	set_author("1700001000 +0000");
	UT_EQ_INT(mbr_lineage_commit(fx.side, fx.lin, "side", NULL, 0, v1_files, 1,
				     "side\n"), 0);
	parents[0] = fx.v2;
	parents[1] = fx.side;
	set_author("1700003000 +0000");
	UT_EQ_INT(mbr_lineage_commit(fx.merge, fx.lin, "merged", parents, 2, v1_files, 2,
				     "breed\n"), 0);

	UT_EQ_INT(strlen(fx.v1), 40);
	UT_CHECK(strcmp(fx.v1, fx.v2));
	UT_EQ_INT(mbr_lineage_branch_head(head, fx.lin, "tiny"), 0);
	UT_EQ_STR(head, fx.v2);
	UT_EQ_INT(mbr_lineage_branch_head(head, fx.lin, "nope"), MBR_ENOTFOUND);
	UT_EQ_INT(mbr_lineage_branch_head(head, fx.lin, "a/b"), MBR_EINVALID);
}

/* git itself must agree, down to the commit ids. */
static void test_lineage__git_cli_agrees(void)
{
	char *log = sh("git --git-dir=%s log --all --format='%%H %%P|%%an <%%ae> %%at %%ai|%%s'"
		       " --date-order", gitdir);
	char *fsck = sh("git --git-dir=%s fsck --strict --no-dangling 2>/dev/null", gitdir);
	char *eval = sh("git --git-dir=%s show tiny:evidence/eval.json", gitdir);
	char *tree = sh("git --git-dir=%s ls-tree --name-only -r tiny | tr '\\n' ' '", gitdir);
	char *again = sh("cd %s && GIT_AUTHOR_NAME='Test Author' GIT_AUTHOR_EMAIL=test@example.com"
			 " GIT_AUTHOR_DATE='1700002000 -0230' GIT_COMMITTER_NAME='Test Author'"
			 " GIT_COMMITTER_EMAIL=test@example.com GIT_COMMITTER_DATE='1700002000 -0230'"
			 " git --git-dir=%s commit-tree -p %s -m 'update tiny' -m 'with evidence'"
			 " tiny^{tree}", dir, gitdir, fx.v1);
	struct strbuf want = STRBUF_INIT;

	strbuf_addf(&want, "%s %s %s|Test Author <test@example.com> 1700003000 2023-11-14 23:03:20 +0000|breed\n",
		    fx.merge, fx.v2, fx.side);
	strbuf_addf(&want, "%s %s|Test Author <test@example.com> 1700002000 2023-11-14 20:16:40 -0230|update tiny\n",
		    fx.v2, fx.v1);
	strbuf_addf(&want, "%s |Test Author <test@example.com> 1700001000 2023-11-14 22:30:00 +0000|side\n",
		    fx.side);
	strbuf_addf(&want, "%s |Test Author <test@example.com> 1700000000 2023-11-14 23:13:20 +0100|add tiny",
		    fx.v1);
	UT_EQ_STR(log, want.buf);
	UT_EQ_STR(fsck, "");
	UT_EQ_STR(eval, "{\"ppl\":12.5}");
	UT_EQ_STR(tree, "evidence/eval.json evidence/notes.txt manifest.json operator.json ");
	UT_EQ_STR(again, fx.v2);
	free(log);
	free(fsck);
	free(eval);
	free(tree);
	free(again);
	strbuf_release(&want);
}

static void test_lineage__resolve(void)
{
	char id[MBR_COMMIT_HEXSZ + 1], prefix[11];
	char *tree = sh("git --git-dir=%s rev-parse tiny^{tree}", gitdir);

	UT_EQ_INT(mbr_lineage_resolve(id, fx.lin, "tiny"), 0);
	UT_EQ_STR(id, fx.v2);
	UT_EQ_INT(mbr_lineage_resolve(id, fx.lin, "tiny~1"), 0);
	UT_EQ_STR(id, fx.v1);
	UT_EQ_INT(mbr_lineage_resolve(id, fx.lin, "merged^2"), 0);
	UT_EQ_STR(id, fx.side);
	snprintf(prefix, sizeof(prefix), "%.10s", fx.v1);
	UT_EQ_INT(mbr_lineage_resolve(id, fx.lin, prefix), 0);
	UT_EQ_STR(id, fx.v1);
	UT_EQ_INT(mbr_lineage_resolve(id, fx.lin, "nope"), MBR_ENOTFOUND);
	UT_CHECK(strstr(mbr_error_last(), "unknown revision 'nope'"));
	UT_EQ_INT(mbr_lineage_resolve(id, fx.lin, "tiny~5"), MBR_ENOTFOUND);
	UT_EQ_INT(mbr_lineage_resolve(id, fx.lin, ""), MBR_ENOTFOUND);
	UT_ASSERT(tree);
	UT_EQ_INT(mbr_lineage_resolve(id, fx.lin, tree), MBR_ENOTFOUND);
	UT_CHECK(strstr(mbr_error_last(), "is not a commit"));
	free(tree);
}

static void test_lineage__read_file(void)
{
	char *text = NULL;
	size_t len = 0;

	UT_EQ_INT(mbr_lineage_read_file(&text, &len, fx.lin, "tiny", "manifest.json"), 0);
	UT_EQ_STR(text, manifest2);
	UT_EQ_INT(len, strlen(manifest2));
	free(text);
	UT_EQ_INT(mbr_lineage_read_file(&text, &len, fx.lin, fx.v1, "manifest.json"), 0);
	UT_EQ_STR(text, manifest1);
	free(text);
	UT_EQ_INT(mbr_lineage_read_file(&text, &len, fx.lin, "tiny", "evidence/eval.json"), 0);
	UT_EQ_STR(text, evidence);
	free(text);
	text = (char *)1;
	UT_EQ_INT(mbr_lineage_read_file(&text, &len, fx.lin, "tiny~1", "evidence/eval.json"),
		  MBR_ENOTFOUND);
	UT_CHECK(!text);
	UT_CHECK(strstr(mbr_error_last(), "tiny~1:evidence/eval.json"));
	UT_EQ_INT(mbr_lineage_read_file(&text, &len, fx.lin, "tiny", "evidence"), MBR_ENOTFOUND);
	UT_EQ_INT(mbr_lineage_read_file(&text, &len, fx.lin, "nope", "manifest.json"),
		  MBR_ENOTFOUND);
}

struct walked {
	char ids[8][MBR_COMMIT_HEXSZ + 1];
	struct mbr_commit_info info[8];
	char messages[8][64];
	size_t n;
	size_t stop_after;
};

static int record(const struct mbr_commit_info *info, void *payload)
{
	struct walked *w = payload;

	if (w->n == 8)
		return -100;
	w->info[w->n] = *info;
	snprintf(w->messages[w->n], sizeof(w->messages[0]), "%s", info->message);
	w->n++;
	return w->n == w->stop_after ? 7 : 0;
}

static void test_lineage__walk(void)
{
	struct walked w = { .n = 0 };

	UT_EQ_INT(mbr_lineage_walk(fx.lin, "merged", record, &w), 0);
	UT_ASSERT(w.n == 4);
	UT_EQ_STR(w.info[0].id, fx.merge);
	UT_EQ_STR(w.info[1].id, fx.v2);
	UT_EQ_STR(w.info[2].id, fx.side);
	UT_EQ_STR(w.info[3].id, fx.v1);
	UT_EQ_INT(w.info[0].n_parents, 2);
	UT_EQ_STR(w.info[0].parents[0], fx.v2);
	UT_EQ_STR(w.info[0].parents[1], fx.side);
	UT_EQ_INT(w.info[1].n_parents, 1);
	UT_EQ_STR(w.info[1].parents[0], fx.v1);
	UT_EQ_INT(w.info[3].n_parents, 0);
	UT_EQ_STR(w.messages[1], "update tiny\n\nwith evidence\n");
	UT_EQ_INT(w.info[1].time, 1700002000);
	UT_EQ_INT(w.info[1].time_offset, -150);
	UT_EQ_INT(w.info[3].time_offset, 60);

	memset(&w, 0, sizeof(w));
	UT_EQ_INT(mbr_lineage_walk(fx.lin, "tiny", record, &w), 0);
	UT_EQ_INT(w.n, 2);

	memset(&w, 0, sizeof(w));
	UT_EQ_INT(mbr_lineage_walk(fx.lin, NULL, record, &w), 0);
	UT_EQ_INT(w.n, 4);

	memset(&w, 0, sizeof(w));
	w.stop_after = 1;
	UT_EQ_INT(mbr_lineage_walk(fx.lin, NULL, record, &w), 7);
	UT_EQ_INT(w.n, 1);
	UT_EQ_INT(mbr_lineage_walk(fx.lin, "nope", record, &w), MBR_ENOTFOUND);
}

static void test_lineage__bad_commits(void)
{
	const struct mbr_tree_file files[] = { { "manifest.json", "{}", 2 } };
	const struct mbr_tree_file twice[] = {
		{ "manifest.json", "{}", 2 }, { "manifest.json", "[]", 2 }
	};
	const struct mbr_tree_file deep[] = { { "a/b/c", "x", 1 } };
	const struct mbr_tree_file clash[] = { { "a", "x", 1 }, { "a/b", "y", 1 } };
	const char *missing[] = { "0123456789abcdef0123456789abcdef01234567" };
	const char *garbage[] = { "tiny" };
	char id[MBR_COMMIT_HEXSZ + 1], head[MBR_COMMIT_HEXSZ + 1];

	set_author("1700004000 +0000");
	UT_EQ_INT(mbr_lineage_commit(id, fx.lin, "tiny", missing, 1, files, 1, "x\n"),
		  MBR_ENOTFOUND);
	UT_EQ_INT(mbr_lineage_commit(id, fx.lin, "tiny", garbage, 1, files, 1, "x\n"),
		  MBR_EINVALID);
	UT_EQ_INT(mbr_lineage_commit(id, fx.lin, "tiny", NULL, 0, twice, 2, "x\n"),
		  MBR_EINVALID);
	UT_EQ_INT(mbr_lineage_commit(id, fx.lin, "tiny", NULL, 0, deep, 1, "x\n"),
		  MBR_EINVALID);
	UT_EQ_INT(mbr_lineage_commit(id, fx.lin, "tiny", NULL, 0, clash, 2, "x\n"),
		  MBR_EINVALID);
	UT_EQ_INT(mbr_lineage_commit(id, fx.lin, "bad/name", NULL, 0, files, 1, "x\n"),
		  MBR_EINVALID);
	setenv("MBR_AUTHOR_DATE", "yesterday", 1);
	UT_EQ_INT(mbr_lineage_commit(id, fx.lin, "tiny", NULL, 0, files, 1, "x\n"),
		  MBR_EINVALID);
	setenv("MBR_AUTHOR_DATE", "1700004000 +01000", 1);
	UT_EQ_INT(mbr_lineage_commit(id, fx.lin, "tiny", NULL, 0, files, 1, "x\n"),
		  MBR_EINVALID);
	/* nothing moved */
	UT_EQ_INT(mbr_lineage_branch_head(head, fx.lin, "tiny"), 0);
	UT_EQ_STR(head, fx.v2);
}

struct refs {
	char names[16][64];
	char targets[16][MBR_COMMIT_HEXSZ + 1];
	int ok[16];
	size_t n;
};

static int collect_ref(const char *name, const char *target, int ok, void *payload)
{
	struct refs *r = payload;

	if (r->n == 16)
		return -100;
	snprintf(r->names[r->n], sizeof(r->names[0]), "%s", name);
	snprintf(r->targets[r->n], sizeof(r->targets[0]), "%s", target);
	r->ok[r->n++] = ok;
	return 0;
}

static int find_ref(const struct refs *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->names[i], name))
			return (int)i;
	return -1;
}

static void test_lineage__refs(void)
{
	static const char bogus[] = "0123456789abcdef0123456789abcdef01234567";
	struct refs r = { .n = 0 };
	struct walked w = { .n = 0 };
	char path[256], line[64];
	char *blob = sh("git --git-dir=%s rev-parse tiny:manifest.json", gitdir);
	char *tag = sh("GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t git --git-dir=%s"
		       " tag -a v1 -m release %s && echo done", gitdir, fx.v1);
	int i;

	UT_EQ_STR(tag, "done");
	free(tag);
	UT_EQ_INT(mbr_lineage_foreach_ref(fx.lin, collect_ref, &r), 0);
	UT_EQ_INT(r.n, 4);
	/* an annotated tag is reported by the commit its tag object leads to */
	UT_ASSERT((i = find_ref(&r, "refs/tags/v1")) >= 0);
	UT_EQ_STR(r.targets[i], fx.v1);
	UT_EQ_INT(r.ok[i], 1);
	UT_ASSERT((i = find_ref(&r, "refs/heads/tiny")) >= 0);
	UT_EQ_STR(r.targets[i], fx.v2);
	UT_EQ_INT(r.ok[i], 1);
	UT_ASSERT((i = find_ref(&r, "refs/heads/merged")) >= 0);
	UT_EQ_INT(r.ok[i], 1);

	/* a ref to a missing object, one to a blob, one to nowhere */
	snprintf(path, sizeof(path), "%s/refs/heads/bad", gitdir);
	snprintf(line, sizeof(line), "%s\n", bogus);
	UT_ASSERT(!write_file(path, line));
	snprintf(path, sizeof(path), "%s/refs/heads/blob", gitdir);
	UT_ASSERT(blob);
	snprintf(line, sizeof(line), "%s\n", blob);
	UT_ASSERT(!write_file(path, line));
	snprintf(path, sizeof(path), "%s/refs/heads/sym", gitdir);
	UT_ASSERT(!write_file(path, "ref: refs/heads/nowhere\n"));

	memset(&r, 0, sizeof(r));
	UT_EQ_INT(mbr_lineage_foreach_ref(fx.lin, collect_ref, &r), 0);
	UT_ASSERT((i = find_ref(&r, "refs/heads/bad")) >= 0);
	UT_EQ_STR(r.targets[i], bogus);
	UT_EQ_INT(r.ok[i], 0);
	UT_ASSERT((i = find_ref(&r, "refs/heads/blob")) >= 0);
	UT_EQ_STR(r.targets[i], blob);
	UT_EQ_INT(r.ok[i], 0);
	UT_ASSERT((i = find_ref(&r, "refs/heads/sym")) >= 0);
	UT_EQ_STR(r.targets[i], "");
	UT_EQ_INT(r.ok[i], 0);
	UT_ASSERT((i = find_ref(&r, "refs/heads/tiny")) >= 0);
	UT_EQ_INT(r.ok[i], 1);
	free(blob);

	/* log of everything still works; dangling refs are fsck's business */
	UT_EQ_INT(mbr_lineage_walk(fx.lin, NULL, record, &w), 0);
	UT_EQ_INT(w.n, 4);
}

static void test_lineage__cleanup(void)
{
	char *out;

	mbr_lineage_free(fx.lin);
	mbr_lineage_free(NULL);
	fx.lin = NULL;
	out = sh("rm -rf '%s' && echo gone", dir);
	UT_EQ_STR(out, "gone");
	free(out);
}

static const struct unit_test tests[] = {
	UT(test_lineage__init),
	UT(test_lineage__names),
	UT(test_lineage__commits),
	UT(test_lineage__git_cli_agrees),
	UT(test_lineage__resolve),
	UT(test_lineage__read_file),
	UT(test_lineage__walk),
	UT(test_lineage__bad_commits),
	UT(test_lineage__refs),
	UT(test_lineage__cleanup),
	{ 0 }
};
UNIT_MAIN(tests)
