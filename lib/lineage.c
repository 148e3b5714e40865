/*
 * lineage.c - model versions as commits in a bare git repository (libgit2).
 *
 * libgit2's errors are translated here, once: every failure leaves an
 * MBR_ERROR_LINEAGE message that names the repository object involved and
 * carries git_error_last()'s text, and returns an MBR_E* code.
 */
#include <git2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mbr/error.h"
#include "mbr/lineage.h"
#include "mbr/strbuf.h"

struct mbr_lineage {
	git_repository *repo;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libgit2(void)
{
	git_libgit2_init();
	/* objects and refs must survive a crash, like the object store's */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
}

static void ensure_init(void)
{
	pthread_once(&init_once, init_libgit2);
}

static int code_of(int git_code)
{
	switch (git_code) {
	case GIT_ENOTFOUND:
		return MBR_ENOTFOUND;
	case GIT_EEXISTS:
		return MBR_EEXISTS;
	case GIT_EAMBIGUOUS:
		return MBR_EAMBIGUOUS;
	case GIT_EINVALIDSPEC:
		return MBR_EINVALID;
	default:
		return MBR_ERROR;
	}
}

/* Set the last error to "<what>: <libgit2's message>"; return the mbr code. */
__attribute__((format(printf, 2, 3)))
static int git_fail(int git_code, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e && e->message)
		mbr_error_set(MBR_ERROR_LINEAGE, "%s: %s", what, e->message);
	else
		mbr_error_set(MBR_ERROR_LINEAGE, "%s", what);
	return code_of(git_code);
}

int mbr_lineage_init(const char *gitdir)
{
	git_repository_init_options opts;
	git_repository *repo;
	int err;

	ensure_init();
	git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
		GIT_REPOSITORY_INIT_NO_REINIT;
	/* HEAD is unused (branches are model names) but must point somewhere */
	opts.initial_head = "main";
	err = git_repository_init_ext(&repo, gitdir, &opts);
	if (err)
		return git_fail(err, "cannot create lineage repository %s", gitdir);
	git_repository_free(repo);
	return 0;
}

int mbr_lineage_open(struct mbr_lineage **out, const char *gitdir)
{
	struct mbr_lineage *lin;
	int err;

	*out = NULL;
	ensure_init();
	MBR_CHECK_ALLOC(lin = calloc(1, sizeof(*lin)));
	if ((err = git_repository_open_bare(&lin->repo, gitdir))) {
		free(lin);
		return git_fail(err, "cannot open lineage repository %s", gitdir);
	}
	*out = lin;
	return 0;
}

void mbr_lineage_free(struct mbr_lineage *lin)
{
	if (!lin)
		return;
	git_repository_free(lin->repo);
	free(lin);
}

static void oid_hex(char out[MBR_COMMIT_HEXSZ + 1], const git_oid *oid)
{
	git_oid_tostr(out, MBR_COMMIT_HEXSZ + 1, oid);
}

/* rev (git revision syntax) to a commit; the caller frees it. */
static int lookup_rev(git_commit **out, struct mbr_lineage *lin, const char *rev)
{
	git_object *obj = NULL, *peeled = NULL;
	int err = git_revparse_single(&obj, lin->repo, rev);

	if (err == GIT_EAMBIGUOUS)
		return git_fail(err, "ambiguous revision '%s'", rev);
	if (err) {
		git_fail(err, "unknown revision '%s'", rev);
		return MBR_ENOTFOUND;
	}
	err = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (err) {
		git_fail(err, "revision '%s' is not a commit", rev);
		return MBR_ENOTFOUND;
	}
	*out = (git_commit *)peeled;
	return 0;
}

int mbr_lineage_resolve(char out[MBR_COMMIT_HEXSZ + 1], struct mbr_lineage *lin,
			const char *rev)
{
	git_commit *commit;
	int err = lookup_rev(&commit, lin, rev);

	if (err)
		return err;
	oid_hex(out, git_commit_id(commit));
	git_commit_free(commit);
	return 0;
}

int mbr_lineage_name_is_valid(const char *name)
{
	char ref[256];
	int valid = 0;

	if (!*name || *name == '-' || strchr(name, '/') || !strcmp(name, "HEAD") ||
	    snprintf(ref, sizeof(ref), "refs/heads/%s", name) >= (int)sizeof(ref))
		return 0;
	ensure_init();
	if (git_reference_name_is_valid(&valid, ref))
		git_error_clear();
	return valid;
}

int mbr_lineage_branch_head(char out[MBR_COMMIT_HEXSZ + 1], struct mbr_lineage *lin,
			    const char *name)
{
	char ref[256];
	git_oid oid;
	int err;

	if (!mbr_lineage_name_is_valid(name)) {
		mbr_error_set(MBR_ERROR_LINEAGE, "'%s' is not a valid model name", name);
		return MBR_EINVALID;
	}
	snprintf(ref, sizeof(ref), "refs/heads/%s", name);
	if ((err = git_reference_name_to_id(&oid, lin->repo, ref)))
		return git_fail(err, "no model named '%s'", name);
	oid_hex(out, &oid);
	return 0;
}

/*
 * Commits.
 */

/* MBR_AUTHOR_DATE: "<unix seconds> <+hhmm>", as git's raw date format. */
static int parse_date(git_time_t *when, int *offset, const char *s)
{
	long long secs;
	const char *tz;
	int used = 0, hhmm;

	if (sscanf(s, "%lld %n", &secs, &used) != 1 || !used)
		goto bad;
	tz = s + used;
	if (strlen(tz) != 5 || (tz[0] != '+' && tz[0] != '-') ||
	    strspn(tz + 1, "0123456789") != 4 || atoi(tz + 3) >= 60)
		goto bad;
	hhmm = atoi(tz + 1);
	*when = secs;
	*offset = (tz[0] == '-' ? -1 : 1) * (hhmm / 100 * 60 + hhmm % 100);
	return 0;
bad:
	mbr_error_set(MBR_ERROR_LINEAGE,
		      "MBR_AUTHOR_DATE '%s' is not '<unix seconds> <+hhmm>'", s);
	return MBR_EINVALID;
}

/* MBR_AUTHOR_*, else the git config's user, else "mbr <mbr@localhost>". */
static int make_signature(git_signature **out, git_repository *repo)
{
	const char *name = getenv("MBR_AUTHOR_NAME"), *email = getenv("MBR_AUTHOR_EMAIL");
	const char *date = getenv("MBR_AUTHOR_DATE");
	git_signature *def = NULL;
	git_time_t when = 0;
	int offset = 0, err;

	if (date && (err = parse_date(&when, &offset, date)))
		return err;
	if ((!name || !email) && git_signature_default(&def, repo))
		git_error_clear();
	if (!name)
		name = def ? def->name : "mbr";
	if (!email)
		email = def ? def->email : "mbr@localhost";
	if (date)
		err = git_signature_new(out, name, email, when, offset);
	else
		err = git_signature_now(out, name, email);
	if (err)
		err = git_fail(err, "bad author '%s <%s>'", name, email);
	git_signature_free(def);
	return err;
}

static int insert_blob(git_treebuilder *tb, git_repository *repo, const char *name,
		       const struct mbr_tree_file *f)
{
	git_oid oid;
	int err;

	if (git_treebuilder_get(tb, name)) {
		mbr_error_set(MBR_ERROR_LINEAGE, "'%s' is given twice", f->path);
		return MBR_EINVALID;
	}
	if ((err = git_blob_create_from_buffer(&oid, repo, f->data, f->len)) ||
	    (err = git_treebuilder_insert(NULL, tb, name, &oid, GIT_FILEMODE_BLOB)))
		return git_fail(err, "cannot store '%s'", f->path);
	return 0;
}

/* The subtree dir (the files "dir/x"), inserted into root. */
static int insert_subtree(git_treebuilder *root, git_repository *repo, const char *dir,
			  size_t dirlen, const struct mbr_tree_file *files, size_t n)
{
	git_treebuilder *tb;
	char name[256];
	git_oid oid;
	int err;

	snprintf(name, sizeof(name), "%.*s", (int)dirlen, dir);
	if (git_treebuilder_get(root, name)) {
		mbr_error_set(MBR_ERROR_LINEAGE, "'%s' is given twice", name);
		return MBR_EINVALID;
	}
	if ((err = git_treebuilder_new(&tb, repo, NULL)))
		return git_fail(err, "cannot build tree '%s'", name);
	for (size_t i = 0; i < n && !err; i++) {
		const char *slash = strchr(files[i].path, '/');

		if (slash && (size_t)(slash - files[i].path) == dirlen &&
		    !strncmp(files[i].path, dir, dirlen))
			err = insert_blob(tb, repo, slash + 1, &files[i]);
	}
	if (!err && (err = git_treebuilder_write(&oid, tb)))
		err = git_fail(err, "cannot write tree '%s'", name);
	if (!err && (err = git_treebuilder_insert(NULL, root, name, &oid, GIT_FILEMODE_TREE)))
		err = git_fail(err, "cannot store tree '%s'", name);
	git_treebuilder_free(tb);
	return err;
}

static int check_path(const char *path)
{
	const char *slash = strchr(path, '/');

	if (!*path || slash == path || (slash && (!slash[1] || strchr(slash + 1, '/'))) ||
	    strlen(path) >= 256) {
		mbr_error_set(MBR_ERROR_LINEAGE, "'%s' is not a file name or dir/name", path);
		return MBR_EINVALID;
	}
	return 0;
}

/* Files at the root, then one subtree per directory in first-seen order. */
static int build_tree(git_oid *out, git_repository *repo,
		      const struct mbr_tree_file *files, size_t n)
{
	git_treebuilder *root;
	int err;

	if ((err = git_treebuilder_new(&root, repo, NULL)))
		return git_fail(err, "cannot build a tree");
	for (size_t i = 0; i < n && !err; i++)
		if (!(err = check_path(files[i].path)) && !strchr(files[i].path, '/'))
			err = insert_blob(root, repo, files[i].path, &files[i]);
	for (size_t i = 0; i < n && !err; i++) {
		const char *path = files[i].path, *slash = strchr(path, '/');
		size_t dirlen = slash ? (size_t)(slash - path) : 0, j;

		/* the first file of each directory builds its subtree */
		for (j = 0; slash && j < i; j++)
			if (!strncmp(files[j].path, path, dirlen + 1))
				break;
		if (slash && j == i)
			err = insert_subtree(root, repo, path, dirlen, files, n);
	}
	if (!err && (err = git_treebuilder_write(out, root)))
		err = git_fail(err, "cannot write the tree");
	git_treebuilder_free(root);
	return err;
}

static int lookup_parents(git_commit **parents, git_repository *repo,
			  const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		git_oid oid;
		int err;

		if (strlen(ids[i]) != MBR_COMMIT_HEXSZ || git_oid_fromstr(&oid, ids[i])) {
			mbr_error_set(MBR_ERROR_LINEAGE, "parent '%s' is not a commit id",
				      ids[i]);
			return MBR_EINVALID;
		}
		if ((err = git_commit_lookup(&parents[i], repo, &oid))) {
			git_fail(err, "parent commit %s", ids[i]);
			return MBR_ENOTFOUND;
		}
	}
	return 0;
}

/* The first line of the message, for the reflog. */
static void reflog_message(char *out, size_t size, const char *message)
{
	snprintf(out, size, "commit: %.*s", (int)strcspn(message, "\n"), message);
}

/* Point refname at the new commit oid, with a reflog entry. */
static int move_ref(char out[MBR_COMMIT_HEXSZ + 1], struct mbr_lineage *lin,
		    const char *refname, const git_oid *oid, const char *message)
{
	git_reference *ref = NULL;
	char logmsg[200];
	int err;

	reflog_message(logmsg, sizeof(logmsg), message);
	if ((err = git_reference_create(&ref, lin->repo, refname, oid, 1, logmsg)))
		return git_fail(err, "cannot update %s", refname);
	oid_hex(out, oid);
	git_reference_free(ref);
	return 0;
}

int mbr_lineage_commit(char out[MBR_COMMIT_HEXSZ + 1], struct mbr_lineage *lin,
		       const char *branch,
		       const char *const *parents, size_t n_parents,
		       const struct mbr_tree_file *files, size_t n_files,
		       const char *message)
{
	git_commit **pc = calloc(n_parents + 1, sizeof(*pc));
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_oid tree_oid, oid;
	char refname[256];
	int err;

	MBR_CHECK_ALLOC(pc);
	if (!mbr_lineage_name_is_valid(branch)) {
		mbr_error_set(MBR_ERROR_LINEAGE, "'%s' is not a valid model name", branch);
		err = MBR_EINVALID;
	} else if (!(err = lookup_parents(pc, lin->repo, parents, n_parents)) &&
		   !(err = build_tree(&tree_oid, lin->repo, files, n_files)) &&
		   !(err = make_signature(&sig, lin->repo))) {
		if ((err = git_tree_lookup(&tree, lin->repo, &tree_oid)) ||
		    (err = git_commit_create(&oid, lin->repo, NULL, sig, sig, NULL, message,
					     tree, n_parents, (const git_commit **)pc)))
			err = git_fail(err, "cannot commit to '%s'", branch);
	}
	if (!err) {
		snprintf(refname, sizeof(refname), "refs/heads/%s", branch);
		err = move_ref(out, lin, refname, &oid, message);
	}
	git_tree_free(tree);
	git_signature_free(sig);
	for (size_t i = 0; i < n_parents; i++)
		git_commit_free(pc[i]);
	free(pc);
	return err;
}

/*
 * Records beside the versions (refs/mbr/evidence): one file more per
 * commit, on top of the ref's own tip.
 */

/* The ref's tip commit (NULL when there is no such ref) and its tree, or
 * the empty tree. */
static int ref_tip_tree(git_commit **tip, git_tree **tree, git_repository *repo,
			const char *refname)
{
	git_treebuilder *tb;
	git_oid oid;
	int err = git_reference_name_to_id(&oid, repo, refname);

	*tip = NULL;
	if (!err && !(err = git_commit_lookup(tip, repo, &oid)) &&
	    !(err = git_commit_tree(tree, *tip)))
		return 0;
	if (err != GIT_ENOTFOUND)
		return git_fail(err, "cannot read %s", refname);
	git_error_clear();
	if ((err = git_treebuilder_new(&tb, repo, NULL)))
		return git_fail(err, "cannot build a tree");
	if (!(err = git_treebuilder_write(&oid, tb)))
		err = git_tree_lookup(tree, repo, &oid);
	git_treebuilder_free(tb);
	return err ? git_fail(err, "cannot write the empty tree") : 0;
}

/* tree with f upserted, written as a commit whose parent is tip. */
static int commit_with_file(git_oid *out, git_repository *repo, git_commit *tip,
			    git_tree *tree, const struct mbr_tree_file *f,
			    const char *message)
{
	git_tree_update up = { GIT_TREE_UPDATE_UPSERT, { { 0 } }, GIT_FILEMODE_BLOB, f->path };
	const git_commit *parents[1] = { tip };
	git_signature *sig = NULL;
	git_tree *next = NULL;
	git_oid tree_oid;
	int err;

	if ((err = git_blob_create_from_buffer(&up.id, repo, f->data, f->len)) ||
	    (err = git_tree_create_updated(&tree_oid, repo, tree, 1, &up)) ||
	    (err = git_tree_lookup(&next, repo, &tree_oid)))
		return git_fail(err, "cannot store '%s'", f->path);
	if (!(err = make_signature(&sig, repo)) &&
	    (err = git_commit_create(out, repo, NULL, sig, sig, NULL, message, next,
				     tip ? 1 : 0, parents)))
		err = git_fail(err, "cannot commit '%s'", f->path);
	git_signature_free(sig);
	git_tree_free(next);
	return err;
}

int mbr_lineage_ref_put_file(char out[MBR_COMMIT_HEXSZ + 1], struct mbr_lineage *lin,
			     const char *refname, const struct mbr_tree_file *file,
			     const char *message)
{
	git_commit *tip = NULL;
	git_tree *tree = NULL;
	git_oid oid;
	int err;

	/* a branch is a model: its commits are versions, made by commit */
	if (!strncmp(refname, "refs/heads/", 11)) {
		mbr_error_set(MBR_ERROR_LINEAGE, "%s is a model, not a record", refname);
		return MBR_EINVALID;
	}
	if (!(err = check_path(file->path)) &&
	    !(err = ref_tip_tree(&tip, &tree, lin->repo, refname)) &&
	    !(err = commit_with_file(&oid, lin->repo, tip, tree, file, message)))
		err = move_ref(out, lin, refname, &oid, message);
	git_tree_free(tree);
	git_commit_free(tip);
	return err;
}

struct file_walk {
	git_repository *repo;
	const char *prefix;
	mbr_tree_file_cb cb;
	void *payload;
	int err;		/* the callback's, or a read failure */
};

static int walk_entry(const char *root, const git_tree_entry *entry, void *payload)
{
	struct file_walk *w = payload;
	struct mbr_tree_file f;
	struct strbuf path = STRBUF_INIT;
	git_blob *blob;

	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
		return 0;
	strbuf_addf(&path, "%s%s", root, git_tree_entry_name(entry));
	if (strncmp(path.buf, w->prefix, strlen(w->prefix))) {
		strbuf_release(&path);
		return 0;
	}
	if (git_blob_lookup(&blob, w->repo, git_tree_entry_id(entry))) {
		w->err = git_fail(-1, "cannot read '%s'", path.buf);
	} else {
		f.path = path.buf;
		f.data = git_blob_rawcontent(blob);
		f.len = (size_t)git_blob_rawsize(blob);
		w->err = w->cb(&f, w->payload);
		git_blob_free(blob);
	}
	strbuf_release(&path);
	return w->err ? -1 : 0;
}

int mbr_lineage_foreach_file(struct mbr_lineage *lin, const char *rev,
			     const char *prefix, mbr_tree_file_cb cb, void *payload)
{
	struct file_walk w = { lin->repo, prefix ? prefix : "", cb, payload, 0 };
	git_commit *c;
	git_tree *tree;
	int err;

	if ((err = lookup_rev(&c, lin, rev)))
		return err;
	if ((err = git_commit_tree(&tree, c))) {
		git_commit_free(c);
		return git_fail(err, "cannot read the tree of %s", rev);
	}
	err = git_tree_walk(tree, GIT_TREEWALK_PRE, walk_entry, &w);
	git_tree_free(tree);
	git_commit_free(c);
	if (w.err)
		return w.err;
	return err ? git_fail(err, "cannot walk the tree of %s", rev) : 0;
}

static int copy_blob(char **out, size_t *len, git_repository *repo,
		     const git_tree_entry *entry, const char *commit, const char *path)
{
	git_blob *blob;
	int err = git_blob_lookup(&blob, repo, git_tree_entry_id(entry));

	if (err)
		return git_fail(err, "cannot read %s:%s", commit, path);
	*len = (size_t)git_blob_rawsize(blob);
	if ((*out = malloc(*len + 1))) {
		memcpy(*out, git_blob_rawcontent(blob), *len);
		(*out)[*len] = '\0';
	}
	git_blob_free(blob);
	MBR_CHECK_ALLOC(*out);
	return 0;
}

int mbr_lineage_read_file(char **out, size_t *len, struct mbr_lineage *lin,
			  const char *commit, const char *path)
{
	git_tree_entry *entry = NULL;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	int err;

	*out = NULL;
	if ((err = lookup_rev(&c, lin, commit)))
		return err;
	if ((err = git_commit_tree(&tree, c))) {
		err = git_fail(err, "cannot read the tree of %s", commit);
	} else if (git_tree_entry_bypath(&entry, tree, path) ||
		   git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
		git_error_clear();
		mbr_error_set(MBR_ERROR_LINEAGE, "%s:%s: no such file", commit, path);
		err = MBR_ENOTFOUND;
	} else {
		err = copy_blob(out, len, lin->repo, entry, commit, path);
	}
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_commit_free(c);
	return err;
}

/*
 * Walking and listing.
 */

static void fill_info(struct mbr_commit_info *info, const git_commit *c)
{
	const git_signature *author = git_commit_author(c);
	unsigned n = git_commit_parentcount(c);

	oid_hex(info->id, git_commit_id(c));
	info->n_parents = n < 8 ? n : 8;
	for (unsigned i = 0; i < info->n_parents; i++)
		oid_hex(info->parents[i], git_commit_parent_id(c, i));
	info->message = git_commit_message(c);
	info->author_name = author->name;
	info->author_email = author->email;
	info->time = git_commit_time(c);
	info->time_offset = git_commit_time_offset(c);
}

/*
 * Where ref name leads: *target is the id it resolves to (through
 * symbolic refs) and *commit the commit that peels from it, or NULL when
 * there is none (a missing object, a blob). Returns -1 when the ref does
 * not resolve at all (a symbolic ref to nowhere).
 */
static int ref_target(git_oid *target, git_object **commit, struct mbr_lineage *lin,
		      const char *name)
{
	git_reference *ref = NULL, *resolved = NULL;
	git_object *obj = NULL;
	int err;

	*commit = NULL;
	if (!(err = git_reference_lookup(&ref, lin->repo, name)) &&
	    !(err = git_reference_resolve(&resolved, ref))) {
		git_oid_cpy(target, git_reference_target(resolved));
		/* peeling lets an annotated tag lead to its commit */
		if (!git_object_lookup(&obj, lin->repo, target, GIT_OBJECT_ANY) &&
		    git_object_peel(commit, obj, GIT_OBJECT_COMMIT))
			*commit = NULL;
	}
	git_error_clear();
	git_object_free(obj);
	git_reference_free(resolved);
	git_reference_free(ref);
	return err ? -1 : 0;
}

/* Every branch and tag that leads to a commit; fsck reports the others. */
static int push_refs(git_revwalk *walk, struct mbr_lineage *lin, const char *glob)
{
	git_reference_iterator *it;
	const char *name;
	int err;

	if ((err = git_reference_iterator_glob_new(&it, lin->repo, glob)))
		return err;
	while (!(err = git_reference_next_name(&name, it))) {
		git_object *commit;
		git_oid target;

		if (ref_target(&target, &commit, lin, name) || !commit)
			continue;
		err = git_revwalk_push(walk, git_object_id(commit));
		git_object_free(commit);
		if (err)
			break;
	}
	git_reference_iterator_free(it);
	return err == GIT_ITEROVER ? 0 : err;
}

static int push_start(git_revwalk *walk, struct mbr_lineage *lin, const char *rev)
{
	git_commit *c;
	int err;

	if (rev) {
		if ((err = lookup_rev(&c, lin, rev)))
			return err;
		err = git_revwalk_push(walk, git_commit_id(c));
		git_commit_free(c);
	} else if (!(err = push_refs(walk, lin, "refs/heads/*"))) {
		err = push_refs(walk, lin, "refs/tags/*");
	}
	return err ? git_fail(err, "cannot walk from %s", rev ? rev : "all refs") : 0;
}

int mbr_lineage_walk(struct mbr_lineage *lin, const char *rev, mbr_commit_cb cb, void *payload)
{
	git_revwalk *walk;
	git_oid oid;
	int err;

	if ((err = git_revwalk_new(&walk, lin->repo)))
		return git_fail(err, "cannot walk the lineage");
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
	if ((err = push_start(walk, lin, rev)))
		goto done;
	while (!(err = git_revwalk_next(&oid, walk))) {
		struct mbr_commit_info info;
		git_commit *c;

		if ((err = git_commit_lookup(&c, lin->repo, &oid))) {
			err = git_fail(err, "cannot read commit");
			goto done;
		}
		fill_info(&info, c);
		err = cb(&info, payload);
		git_commit_free(c);
		if (err)
			goto done;
	}
	err = err == GIT_ITEROVER ? 0 : git_fail(err, "cannot walk the lineage");
done:
	git_revwalk_free(walk);
	return err;
}

static int report_ref(struct mbr_lineage *lin, const char *name, mbr_ref_cb cb,
		      void *payload)
{
	char target[MBR_COMMIT_HEXSZ + 1] = "";
	git_object *commit;
	git_oid oid;

	/* a ref that does not resolve has no target: reported as "" */
	/* an annotated tag is reported by the commit it leads to */
	if (!ref_target(&oid, &commit, lin, name))
		oid_hex(target, commit ? git_object_id(commit) : &oid);
	git_object_free(commit);
	return cb(name, target, commit != NULL, payload);
}

int mbr_lineage_foreach_ref(struct mbr_lineage *lin, mbr_ref_cb cb, void *payload)
{
	git_reference_iterator *it;
	const char *name;
	int err, stop = 0;

	if ((err = git_reference_iterator_new(&it, lin->repo)))
		return git_fail(err, "cannot list refs");
	while (!stop && !(err = git_reference_next_name(&name, it)))
		stop = report_ref(lin, name, cb, payload);
	if (!stop && err != GIT_ITEROVER)
		stop = git_fail(err, "cannot list refs");
	git_reference_iterator_free(it);
	return stop;
}
