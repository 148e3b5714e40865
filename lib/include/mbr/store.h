/*
 * store.h - registry operations the commands are made of: add a file,
 * load a version, export it, check and collect the store, compare versions.
 */
#ifndef MBR_STORE_H
#define MBR_STORE_H

#include <jansson.h>
#include "common.h"
#include "manifest.h"
#include "repo.h"

/* ---- add ---------------------------------------------------------- */

struct mbr_add_options {
	const char *name;	/* model (branch) name; NULL: the file's stem */
	const char *message;	/* extra commit message text, or NULL */
	const char *license;	/* SPDX id; NULL: general.license if present */
	int n_threads;		/* <= 0: all cores */
	mbr_progress_fn progress;
	void *progress_payload;
	/*
	 * What made the file, for operator.json and the commit message.
	 * NULL or "add": the file was added as it is, and operator.json
	 * records its name, SHA-256 and size (params is not used). Any other
	 * operator (a breed) records params and the input versions.
	 */
	const char *operator;
	json_t *params;		/* borrowed: the operator's parameters */
	const char *summary;	/* subject after the operator; NULL: file name */
	const char *const *parents;	/* commit ids of the input versions */
	size_t n_parents;
	/* For a LoRA adapter, the commit id of the version it was made for:
	 * operator.json records it as "adapter": {"base": <input>}. */
	const char *adapter_base;
};

struct mbr_add_result {
	char commit[MBR_COMMIT_HEXSZ + 1];
	char name[256];
	int unchanged;		/* the model's head already was this file: no commit */
	int from_cache;		/* recognised by the stat cache: the file was not read */
	uint64_t objects_written;
	uint64_t bytes_written;	/* uncompressed bytes of new objects */
	uint64_t file_size;
};

/*
 * Store the GGUF or safetensors file at path as a new version of a model.
 * The file is mmapped and read once: all cores hash its regions and write
 * the missing objects while one of them computes the whole-file SHA-256.
 * On a parse error nothing is written.
 *
 * The commit's parents are the branch's head (when there is one and it
 * is not an input), then opts->parents: a version made from other
 * versions continues its own branch's history and points at its inputs.
 */
int mbr_store_add(struct mbr_add_result *out, struct mbr_repo *repo,
		  const char *path, const struct mbr_add_options *opts);

/* The model name mbr add uses for a path: its file name without the
 * .gguf / .safetensors extension. Caller frees. */
char *mbr_store_default_name(const char *path);

/* Is s a plausible SPDX license expression? */
int mbr_spdx_is_valid(const char *s);

/* ---- versions ----------------------------------------------------- */

struct mbr_version {
	char commit[MBR_COMMIT_HEXSZ + 1];
	struct mbr_manifest *manifest;
	json_t *operator;	/* operator.json, parsed */
};

/* Resolve rev and load its manifest and operator record. */
int mbr_version_load(struct mbr_version **out, struct mbr_repo *repo, const char *rev);
void mbr_version_free(struct mbr_version *v);

/* The SHA-256 of a version's manifest.json: the digest that names its
 * exact weights (operator.json records inputs by it). */
int mbr_version_manifest_digest(struct mbr_oid *out, struct mbr_repo *repo,
				const char *commit);

/* ---- export ------------------------------------------------------- */

/*
 * Write the version's file to path atomically (temp file in the same
 * directory, fsync, rename). The bytes are hashed on the way out; when the
 * result does not have the manifest's SHA-256 the temp file is removed and
 * MBR_ECORRUPT returned, so a damaged store never yields a wrong file.
 */
int mbr_store_export(struct mbr_repo *repo, const struct mbr_manifest *m,
		     const char *path, mbr_progress_fn progress, void *payload);

/* ---- fsck --------------------------------------------------------- */

/* kind: "object", "manifest", "ref", "commit"; what: the id or name. */
typedef void (*mbr_fsck_problem_fn)(void *payload, const char *kind,
				    const char *what, const char *problem);

struct mbr_fsck_stats {
	uint64_t objects_checked;
	uint64_t commits_checked;
	uint64_t refs_checked;
	uint64_t problems;
};

/* Verify every ref, every commit reachable from them (manifest parses,
 * every object it needs exists) and every object in the store (content
 * hashes to its id). Returns 0 (check stats->problems) or a fatal error. */
int mbr_store_fsck(struct mbr_fsck_stats *stats, struct mbr_repo *repo,
		   mbr_fsck_problem_fn problem, void *payload,
		   mbr_progress_fn progress, void *progress_payload);

/* ---- gc ----------------------------------------------------------- */

struct mbr_gc_stats {
	uint64_t objects_kept;
	uint64_t objects_removed;
	uint64_t bytes_removed;	/* stored (on-disk) bytes */
};

/* Delete every object no manifest of any commit reachable from any ref
 * needs. With dry_run, only count. Takes the gc lock exclusively. */
int mbr_store_gc(struct mbr_gc_stats *stats, struct mbr_repo *repo, int dry_run);

/* ---- diff --------------------------------------------------------- */

/*
 * Compare two versions. *out is a JSON object (caller json_decref's):
 *   { "old": commit, "new": commit,
 *     "metadata": { "added": [entry...], "removed": [entry...],
 *                   "changed": [ {"key", "old": entry, "new": entry} ] },
 *     "tensors": { "added": [ {"name","type","shape"} ], "removed": [...],
 *                  "changed": [ {"name", "old_type", "new_type", "old_shape",
 *                                "new_shape", "rel_l2": x | null} ],
 *                  "unchanged": n },
 *     "file": { "old_size", "new_size", "shared_bytes" },
 *     "operator": b's operator.json (what made the newer version) }
 * (mbr_evidence_diff compares the two versions' evidence.)
 * rel_l2 = ||new - old|| / ||old|| over dequantized values, for tensors of
 * the same shape whose types (which may differ) the kernels can
 * dequantize; null otherwise.
 */
int mbr_store_diff(json_t **out, struct mbr_repo *repo,
		   const struct mbr_version *a, const struct mbr_version *b);

#endif
