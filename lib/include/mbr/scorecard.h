/*
 * scorecard.h - versions side by side: what they are and what their
 * evidence says, each against its parent. What a reviewer reads.
 */
#ifndef MBR_SCORECARD_H
#define MBR_SCORECARD_H

#include <jansson.h>
#include "manifest.h"
#include "repo.h"

/*
 * *out (caller json_decref's):
 *   { "suite": name | null,
 *     "columns": ["ppl.perplexity", ...],      every task.metric of the rows
 *     "rows": [ { "version": rev, "commit", "size", "parameters", "types",
 *                 "evidence": id | null, "created": time | null,
 *                 "metrics": { "task.metric": x, ... },
 *                 "parent": null | { "commit", "index": i (0: first parent),
 *                                    "n_parents", "evidence": id,
 *                                    "delta": { "task.metric": x - parent's } } } ] }
 * Each row's evidence is its weights' newest for the suite (NULL: the
 * suite of the newest evidence of any listed version). The parent is the
 * nearest ancestor with evidence for the suite: the version's parents in
 * order, then the first parent's parents, and so on.
 */
int mbr_scorecard(json_t **out, struct mbr_repo *repo, const char *const *revs,
		  size_t n_revs, const char *suite);

/* The tensor types a reader cares about: the type holding most of the
 * parameters, then the others ("Q8_0 (F32 norms)", "Q4_K+Q6_K (F32
 * norms)"); a type is a "norm" type when it only holds 1-D tensors. */
void mbr_scorecard_types(struct strbuf *out, const struct mbr_manifest *m);

/* Is task.metric worth a column in a table? (Counts and the spread of a
 * mean are not: they stay in the JSON.) */
int mbr_metric_is_headline(const char *metric);

#endif
