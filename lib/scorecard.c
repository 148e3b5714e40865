/*
 * scorecard.c - one row per version: size, parameters, tensor types and
 * the newest evidence for a suite, with the change from its parent.
 */
#include <stdlib.h>
#include <string.h>
#include "mbr/error.h"
#include "mbr/evidence.h"
#include "mbr/scorecard.h"
#include "mbr/store.h"
#include "mbr/types.h"

int mbr_metric_is_headline(const char *metric)
{
	static const char *const counts[] = {
		"items", "tokens", "chunks", "ctx", "nll", "perplexity_error", NULL
	};
	const char *dot = strrchr(metric, '.');

	for (size_t i = 0; counts[i]; i++)
		if (!strcmp(dot ? dot + 1 : metric, counts[i]))
			return 0;
	return 1;
}

struct type_use {
	int type;
	uint64_t params;
	int only_1d;
};

static int by_params(const void *a, const void *b)
{
	const struct type_use *x = a, *y = b;

	return x->params < y->params ? 1 : x->params > y->params ? -1 : x->type - y->type;
}

void mbr_scorecard_types(struct strbuf *out, const struct mbr_manifest *m)
{
	struct type_use use[64];
	size_t n = 0, n_norms = 0;

	for (size_t i = 0; i < m->n_tensors; i++) {
		const struct mbr_manifest_tensor *t = &m->tensors[i];
		uint64_t params = 1;
		size_t j;

		for (uint32_t d = 0; d < t->n_dims; d++)
			params *= t->ne[d];
		for (j = 0; j < n && use[j].type != t->type; j++)
			;
		if (j == n && n < MBR_ARRAY_SIZE(use))
			use[n++] = (struct type_use){ t->type, 0, 1 };
		if (j < n) {
			use[j].params += params;
			use[j].only_1d &= t->n_dims <= 1;
		}
	}
	qsort(use, n, sizeof(*use), by_params);
	for (size_t j = 0; j < n; j++) {
		const struct mbr_type_info *ti = mbr_type_get(use[j].type);

		if (j && use[j].only_1d)
			continue;
		strbuf_addf(out, "%s%s", j ? "+" : "", ti ? ti->name : "?");
	}
	for (size_t j = 1; j < n; j++) {
		const struct mbr_type_info *ti = mbr_type_get(use[j].type);

		if (use[j].only_1d)
			strbuf_addf(out, "%s%s", n_norms++ ? "+" : " (", ti ? ti->name : "?");
	}
	if (n_norms)
		strbuf_addstr(out, " norms)");
}

/* ---- rows --------------------------------------------------------- */

static json_t *evidence_id(const json_t *ev)
{
	char hex[MBR_OID_STRSZ];
	struct mbr_oid id;

	return ev && !mbr_evidence_id(&id, ev) ? json_string(mbr_oid_fmt(hex, &id)) :
	       json_null();
}

static int take_info(const struct mbr_commit_info *info, void *payload)
{
	*(struct mbr_commit_info *)payload = *info;
	((struct mbr_commit_info *)payload)->message = NULL;
	return 1;
}

static int commit_info(struct mbr_commit_info *info, struct mbr_repo *repo,
		       const char *commit)
{
	int err = mbr_lineage_walk(repo->lineage, commit, take_info, info);

	return err == 1 ? 0 : err ? err : MBR_ENOTFOUND;
}

/* The nearest ancestor with evidence for suite: parents in order, then
 * on up the first parent's line. */
static int parent_entry(json_t **out, struct mbr_repo *repo, const char *commit,
			const char *suite, json_t *mine)
{
	struct mbr_commit_info info;
	json_t *ev = NULL;
	int err;

	*out = json_null();
	for (;;) {
		if ((err = commit_info(&info, repo, commit)))
			return err;
		for (size_t i = 0; i < info.n_parents; i++) {
			if ((err = mbr_evidence_newest(&ev, repo, info.parents[i], suite)))
				return err;
			if (ev) {
				json_t *theirs = mbr_evidence_flat_metrics(ev);

				/* the name it was measured under, for a reader */
				json_t *model = json_object_get(json_object_get(ev, "weights"), "model");

				*out = json_pack("{s:s, s:O?, s:i, s:i, s:o, s:o}", "commit", info.parents[i],
						 "model", model,
						 "index", (int)i, "n_parents", (int)info.n_parents,
						 "evidence", evidence_id(ev),
						 "delta", mbr_evidence_delta(mine, theirs));
				json_decref(theirs);
				json_decref(ev);
				MBR_CHECK_ALLOC(*out);
				return 0;
			}
		}
		if (!info.n_parents)
			return 0;
		commit = info.parents[0];
	}
}

static int row(json_t **out, struct mbr_repo *repo, const char *rev, const char *suite)
{
	struct strbuf types = STRBUF_INIT;
	struct mbr_version *v;
	json_t *ev = NULL, *metrics, *parent = NULL;
	int err;

	if ((err = mbr_version_load(&v, repo, rev)))
		return err;
	if (!(err = mbr_evidence_newest(&ev, repo, v->commit, suite))) {
		metrics = ev ? mbr_evidence_flat_metrics(ev) : json_object();
		if (!ev || !(err = parent_entry(&parent, repo, v->commit, suite, metrics))) {
			mbr_scorecard_types(&types, v->manifest);
			*out = json_pack("{s:s, s:s, s:I, s:I, s:s, s:o, s:O?, s:o, s:o?}",
					 "version", rev, "commit", v->commit,
					 "size", (json_int_t)v->manifest->file_size,
					 "parameters", (json_int_t)v->manifest->n_params,
					 "types", types.buf, "evidence", evidence_id(ev),
					 "created", json_object_get(ev, "created"),
					 "metrics", metrics, "parent", parent ? parent : json_null());
			err = *out ? 0 : (mbr_error_oom(), MBR_ENOMEM);
		} else {
			json_decref(metrics);
		}
	}
	json_decref(ev);
	strbuf_release(&types);
	mbr_version_free(v);
	return err;
}

/* The suite of the newest evidence of any of the versions; NULL: none. */
static int default_suite(char **out, struct mbr_repo *repo, const char *const *revs,
			 size_t n)
{
	char commit[MBR_COMMIT_HEXSZ + 1];
	json_t *best = NULL, *ev;
	int err = 0;

	*out = NULL;
	for (size_t i = 0; i < n && !err; i++) {
		if ((err = mbr_lineage_resolve(commit, repo->lineage, revs[i])) ||
		    (err = mbr_evidence_newest(&ev, repo, commit, NULL)) || !ev)
			continue;
		if (!best || strcmp(json_string_value(json_object_get(ev, "created")),
				    json_string_value(json_object_get(best, "created"))) > 0) {
			json_decref(best);
			best = json_incref(ev);
		}
		json_decref(ev);
	}
	if (!err && best)
		*out = strdup(json_string_value(json_object_get(json_object_get(best, "suite"),
								"name")));
	json_decref(best);
	return err;
}

static json_t *columns(json_t *rows)
{
	json_t *seen = json_object(), *cols = json_array(), *r, *v;
	const char *key;
	size_t i;

	json_array_foreach(rows, i, r)
		json_object_foreach(json_object_get(r, "metrics"), key, v)
			if (!json_object_get(seen, key)) {
				json_object_set_new(seen, key, json_true());
				json_array_append_new(cols, json_string(key));
			}
	json_decref(seen);
	return cols;
}

int mbr_scorecard(json_t **out, struct mbr_repo *repo, const char *const *revs,
		  size_t n_revs, const char *suite)
{
	char *chosen = NULL;
	json_t *rows = json_array(), *r = NULL;
	int err = 0;

	*out = NULL;
	MBR_CHECK_ALLOC(rows);
	if (!suite && !(err = default_suite(&chosen, repo, revs, n_revs)))
		suite = chosen;
	for (size_t i = 0; i < n_revs && !err; i++)
		if (!(err = row(&r, repo, revs[i], suite ? suite : "")))
			json_array_append_new(rows, r);
	if (!err && !(*out = json_pack("{s:s?, s:o, s:O}", "suite", suite,
				       "columns", columns(rows), "rows", rows)))
		err = (mbr_error_oom(), MBR_ENOMEM);
	json_decref(rows);
	free(chosen);
	return err;
}
