/*
 * evidence.h - evaluation results bound to the weights they measure
 * (store-format/mbrformat-evidence.adoc).
 *
 * An evidence record is a JSON document (schema "mbr.evidence/1") naming
 * the weights by manifest digest, the adapters, the suite and every input
 * file by SHA-256, the engine and the machine, with the metrics and the
 * run's speed and memory. Its canonical text (keys sorted, compact, one
 * final newline) is stored as an object (odb.h), so its id is the SHA-256
 * of that text, and indexed in the lineage on the ref refs/mbr/evidence,
 * whose tree holds <manifest hex>/<run-key hex>.json: recording evidence
 * never moves a model's branch. The run key is the SHA-256 of the
 * canonical inputs (weights, adapters, suite, input files, engine
 * version): the same key means the same measurement, which mbr eval
 * reuses instead of repeating.
 */
#ifndef MBR_EVIDENCE_H
#define MBR_EVIDENCE_H

#include <jansson.h>
#include "eval.h"
#include "hash.h"
#include "repo.h"
#include "strbuf.h"

#define MBR_EVIDENCE_SCHEMA "mbr.evidence/1"
#define MBR_EVIDENCE_REF "refs/mbr/evidence"

struct mbr_evidence_adapter {
	const char *name;	/* the path or revision given */
	struct mbr_oid digest;	/* manifest digest, or the file's SHA-256 */
	double scale;
};

/* What a run measures and with what: everything the run key covers. */
struct mbr_evidence_inputs {
	struct mbr_oid weights;		/* SHA-256 of the version's manifest.json */
	const char *model;		/* the revision as given ("prose", "prose~1") */
	const char *commit;		/* the version's commit */
	const struct mbr_evidence_adapter *adapters;
	size_t n_adapters;
	const struct mbr_suite *suite;
	int n_threads;			/* recorded, not part of the key */
};

/* The run key of in: SHA-256 of the canonical inputs. */
int mbr_evidence_run_key(struct mbr_oid *out, const struct mbr_evidence_inputs *in);

/*
 * The evidence document for in, with metrics (an object of task name to
 * metric object; a reference is taken) and the work done. Adds the engine,
 * the machine (CPU model, cores, memory), the time and the peak RSS.
 */
int mbr_evidence_build(json_t **out, const struct mbr_evidence_inputs *in,
		       json_t *metrics, const struct mbr_eval_stats *stats,
		       double seconds);

/* Canonical text: keys sorted, compact, a final newline. */
int mbr_evidence_canonical(struct strbuf *out, const json_t *ev);

/*
 * Store ev as an object and index it on refs/mbr/evidence under its
 * weights and run key (replacing a record of the same key), holding the
 * gc lock shared and the lineage lock for the ref update. *id: its id.
 */
int mbr_evidence_record(struct mbr_oid *id, struct mbr_repo *repo, const json_t *ev);

/*
 * The record for (weights, run key): *out a new reference and *id its id,
 * or *out NULL when there is none. A record that fails validation is an
 * error (MBR_ECORRUPT).
 */
int mbr_evidence_lookup(json_t **out, struct mbr_oid *id, struct mbr_repo *repo,
			const struct mbr_oid *weights, const struct mbr_oid *run_key);

/*
 * Every record for weights (NULL: all), each validated; path is its
 * place in the index. cb's non-zero return stops and is returned.
 */
typedef int (*mbr_evidence_cb)(const char *path, const struct mbr_oid *id,
			       json_t *ev, void *payload);
int mbr_evidence_foreach(struct mbr_repo *repo, const struct mbr_oid *weights,
			 mbr_evidence_cb cb, void *payload);

/* Parse and validate one record's text; what names it in messages. The
 * record must sit at path (<weights hex>/<run-key hex>.json) when path
 * is not NULL. */
int mbr_evidence_parse(json_t **out, const char *buf, size_t len, const char *path);

/*
 * The newest record (by "created") for the weights of a version (commit)
 * whose suite is named suite (NULL: any). *out NULL when there is none.
 */
int mbr_evidence_newest(json_t **out, struct mbr_repo *repo, const char *commit,
			const char *suite);

/* A record's id: the SHA-256 of its canonical text. */
int mbr_evidence_id(struct mbr_oid *out, const json_t *ev);

/* A record's metrics as one object of "task.metric": number (new). */
json_t *mbr_evidence_flat_metrics(const json_t *ev);

/* mine - theirs for each key of the flat metrics mine that theirs has (new). */
json_t *mbr_evidence_delta(const json_t *mine, const json_t *theirs);

/*
 * For each suite both versions (commits a, older, and b) have records
 * for, the newest of each: *out a new array of {"suite", "old": id,
 * "new": id, "old_metrics", "new_metrics", "delta": {"task.metric":
 * new - old}} (flat metrics as above).
 */
int mbr_evidence_diff(json_t **out, struct mbr_repo *repo, const char *a, const char *b);

#endif
