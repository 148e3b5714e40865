/*
 * lineage.h - model versions as commits in a bare git repository (libgit2).
 *
 * A version is a commit whose tree holds manifest.json and operator.json
 * (and later evidence); a model name is a branch refs/heads/<name>. Commit
 * ids are git's 40-hex SHA-1 strings. Revisions use git's syntax
 * (git_revparse_single): "tiny", "tiny~1", an id prefix, a tag.
 */
#ifndef MBR_LINEAGE_H
#define MBR_LINEAGE_H

#include <stddef.h>
#include <stdint.h>

#define MBR_COMMIT_HEXSZ 40

struct mbr_lineage;

/* Create a bare repository at gitdir; MBR_EEXISTS when one is there. */
int mbr_lineage_init(const char *gitdir);
int mbr_lineage_open(struct mbr_lineage **out, const char *gitdir);
void mbr_lineage_free(struct mbr_lineage *lin);

/* Resolve rev to a commit id. MBR_ENOTFOUND, MBR_EAMBIGUOUS. */
int mbr_lineage_resolve(char out[MBR_COMMIT_HEXSZ + 1], struct mbr_lineage *lin, const char *rev);

/* Current head of branch name; MBR_ENOTFOUND when the branch does not exist. */
int mbr_lineage_branch_head(char out[MBR_COMMIT_HEXSZ + 1], struct mbr_lineage *lin, const char *name);

/* Is name usable as a model name (a valid branch name without '/')? */
int mbr_lineage_name_is_valid(const char *name);

struct mbr_tree_file {
	const char *path;	/* "manifest.json"; may contain one level of '/' */
	const void *data;
	size_t len;
};

/*
 * Make a commit with the given files and parents and point branch at it.
 * The caller holds the lineage lock (lock.h) so the branch cannot move
 * under it. Author and committer come from MBR_AUTHOR_NAME/MBR_AUTHOR_EMAIL
 * (else the git config, else "mbr <mbr@localhost>"); MBR_AUTHOR_DATE
 * ("<unix seconds> <+hhmm>") pins the time for tests.
 */
int mbr_lineage_commit(char out[MBR_COMMIT_HEXSZ + 1], struct mbr_lineage *lin,
		       const char *branch,
		       const char *const *parents, size_t n_parents,
		       const struct mbr_tree_file *files, size_t n_files,
		       const char *message);

/*
 * Commit to refname (a full ref name outside refs/heads, such as
 * "refs/mbr/evidence") a tree that is its tip's tree with file added, or
 * replaced when the path is taken; the tip is the parent (a root commit
 * when the ref does not exist yet). For records kept beside the versions,
 * whose own branches do not move. The caller holds the lineage lock.
 */
int mbr_lineage_ref_put_file(char out[MBR_COMMIT_HEXSZ + 1], struct mbr_lineage *lin,
			     const char *refname, const struct mbr_tree_file *file,
			     const char *message);

/*
 * Call cb for every regular file of rev's tree whose path starts with
 * prefix (NULL or "": all of them, at any depth), in tree order; f->path
 * is relative to the root and f->data borrowed until cb returns. Stops
 * on a non-zero cb return, which is returned. MBR_ENOTFOUND when rev does
 * not resolve.
 */
typedef int (*mbr_tree_file_cb)(const struct mbr_tree_file *f, void *payload);
int mbr_lineage_foreach_file(struct mbr_lineage *lin, const char *rev,
			     const char *prefix, mbr_tree_file_cb cb, void *payload);

/* Read a file from a commit's tree; *out is malloc'd (NUL-terminated).
 * MBR_ENOTFOUND when the path is not in the tree. */
int mbr_lineage_read_file(char **out, size_t *len, struct mbr_lineage *lin,
			  const char *commit, const char *path);

struct mbr_commit_info {
	char id[MBR_COMMIT_HEXSZ + 1];
	char parents[8][MBR_COMMIT_HEXSZ + 1];
	size_t n_parents;	/* a commit with more than 8 parents lists 8 */
	const char *message;	/* borrowed until the callback returns */
	const char *author_name;
	const char *author_email;
	int64_t time;		/* committer time, unix seconds */
	int time_offset;	/* minutes */
};

/*
 * Walk commits newest first (topological, then time), starting at rev, or
 * at every branch and tag when rev is NULL. Stops on a non-zero cb return,
 * which is returned.
 */
typedef int (*mbr_commit_cb)(const struct mbr_commit_info *info, void *payload);
int mbr_lineage_walk(struct mbr_lineage *lin, const char *rev, mbr_commit_cb cb, void *payload);

/* Every ref: name ("refs/heads/tiny") and the commit it leads to (through
 * symbolic refs and annotated tags; the raw id when it leads to no commit). target_ok is 0 when the ref is dangling: its
 * target object is missing or not a commit. */
typedef int (*mbr_ref_cb)(const char *refname, const char *target, int target_ok, void *payload);
int mbr_lineage_foreach_ref(struct mbr_lineage *lin, mbr_ref_cb cb, void *payload);

#endif
