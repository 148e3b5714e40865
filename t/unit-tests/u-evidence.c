/*
 * u-evidence.c - evidence records: canonical text and id, what the run key
 * covers, and the index beside the lineage (refs/mbr/evidence).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "mbr/evidence.h"
#include "mbr/lineage.h"

static void test_evidence__canonical_id(void)
{
	json_t *ev = json_pack("{s:i, s:s}", "b", 1, "a", "\xc3\xa9");
	struct strbuf text = STRBUF_INIT;
	char hex[MBR_OID_STRSZ];
	struct mbr_oid id;

	UT_ASSERT(ev);
	UT_CHECK(!mbr_evidence_canonical(&text, ev));
	UT_EQ_STR(text.buf, "{\"a\":\"\xc3\xa9\",\"b\":1}\n");
	UT_CHECK(!mbr_evidence_id(&id, ev));
	/* printf '{"a":"\xc3\xa9","b":1}\n' | sha256sum (coreutils) */
	UT_EQ_STR(mbr_oid_fmt(hex, &id),
		  "sha256:2f8b31e48ae7ba3230b3c8499e02f919d89bdfebec9f9bf3872e4dee8458bf14");
	strbuf_release(&text);
	json_decref(ev);
}

static void fill_oid(struct mbr_oid *id, int byte)
{
	memset(id->id, byte, sizeof(id->id));
}

/* Weights, adapters, suite and inputs are in the key; the revision's
 * name and the threads are not. */
static void test_evidence__run_key(void)
{
	struct mbr_eval_task task = { .name = "ppl", .file = "val.txt" };
	struct mbr_suite suite = { .name = "s", .tasks = &task, .n_tasks = 1 };
	struct mbr_evidence_adapter ad = { "lora", { { 0 } }, 1.0 };
	struct mbr_evidence_inputs in = { .model = "a", .commit = "c", .suite = &suite,
					  .n_threads = 1 };
	struct mbr_oid base, k;

	fill_oid(&in.weights, 1);
	fill_oid(&suite.sha256, 2);
	fill_oid(&task.sha256, 3);
	UT_ASSERT(!mbr_evidence_run_key(&base, &in));
	in.model = "b";
	in.n_threads = 8;
	UT_CHECK(!mbr_evidence_run_key(&k, &in) && !mbr_oid_cmp(&k, &base));
	fill_oid(&in.weights, 4);
	UT_CHECK(!mbr_evidence_run_key(&k, &in) && mbr_oid_cmp(&k, &base));
	fill_oid(&in.weights, 1);
	fill_oid(&suite.sha256, 4);
	UT_CHECK(!mbr_evidence_run_key(&k, &in) && mbr_oid_cmp(&k, &base));
	fill_oid(&suite.sha256, 2);
	fill_oid(&task.sha256, 4);
	UT_CHECK(!mbr_evidence_run_key(&k, &in) && mbr_oid_cmp(&k, &base));
	fill_oid(&task.sha256, 3);
	in.adapters = &ad;
	in.n_adapters = 1;
	UT_CHECK(!mbr_evidence_run_key(&k, &in) && mbr_oid_cmp(&k, &base));
	ad.scale = 0.5;
	UT_CHECK(!mbr_evidence_run_key(&base, &in) && mbr_oid_cmp(&k, &base));
}

struct seen {
	int n;
	char last[256];
};

static int count_file(const struct mbr_tree_file *f, void *payload)
{
	struct seen *s = payload;

	s->n++;
	snprintf(s->last, sizeof(s->last), "%s=%.*s", f->path, (int)f->len,
		 (const char *)f->data);
	return 0;
}

static void put(struct mbr_lineage *lin, const char *path, const char *text)
{
	struct mbr_tree_file f = { path, text, strlen(text) };
	char commit[MBR_COMMIT_HEXSZ + 1];

	UT_CHECK(!mbr_lineage_ref_put_file(commit, lin, MBR_EVIDENCE_REF, &f, "record"));
}

static int count_commit(const struct mbr_commit_info *info, void *payload)
{
	(*(int *)payload)++;
	return 0;
}

/* Records replace by path, accumulate otherwise, and chain their commits. */
static void test_evidence__index(void)
{
	char dir[] = "/tmp/u-evidence-XXXXXX", gitdir[64], cmd[64];
	char commit[MBR_COMMIT_HEXSZ + 1];
	struct mbr_tree_file f = { "x/y.json", "{}", 2 };
	struct mbr_lineage *lin;
	struct seen s = { 0 };
	int commits = 0;

	UT_ASSERT(mkdtemp(dir));
	snprintf(gitdir, sizeof(gitdir), "%s/lineage.git", dir);
	UT_ASSERT(!mbr_lineage_init(gitdir) && !mbr_lineage_open(&lin, gitdir));
	UT_EQ_INT(mbr_lineage_foreach_file(lin, MBR_EVIDENCE_REF, NULL, count_file, &s),
		  MBR_ENOTFOUND);
	put(lin, "aa/one.json", "first");
	put(lin, "aa/one.json", "second");
	put(lin, "bb/two.json", "third");
	UT_CHECK(!mbr_lineage_foreach_file(lin, MBR_EVIDENCE_REF, "aa/", count_file, &s));
	UT_EQ_INT(s.n, 1);
	UT_EQ_STR(s.last, "aa/one.json=second");
	s.n = 0;
	UT_CHECK(!mbr_lineage_foreach_file(lin, MBR_EVIDENCE_REF, NULL, count_file, &s));
	UT_EQ_INT(s.n, 2);
	UT_CHECK(!mbr_lineage_walk(lin, MBR_EVIDENCE_REF, count_commit, &commits));
	UT_EQ_INT(commits, 3);
	/* a branch is a model: its commits must be versions */
	UT_EQ_INT(mbr_lineage_ref_put_file(commit, lin, "refs/heads/m", &f, "no"), MBR_EINVALID);
	commits = 0;
	UT_CHECK(!mbr_lineage_walk(lin, NULL, count_commit, &commits));
	UT_EQ_INT(commits, 0);
	mbr_lineage_free(lin);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	UT_CHECK(!system(cmd));
}

static const struct unit_test tests[] = {
	UT(test_evidence__canonical_id),
	UT(test_evidence__run_key),
	UT(test_evidence__index),
	{ 0 }
};
UNIT_MAIN(tests)
