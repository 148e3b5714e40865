/*
 * diff.c - mbr diff REV1 REV2 [--json]: what changed between two versions.
 */
#include <stdio.h>
#include <stdlib.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/evidence.h"
#include "mbr/scorecard.h"
#include "mbr/store.h"

static const char *const diff_usage[] = { "mbr diff <rev1> <rev2> [--stat] [--json]", NULL };

static char *compact(json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}

/* The value of a metadata entry, for one line of text. */
static char *meta_value(json_t *e)
{
	json_t *v = json_object_get(e, "value");

	if (!v)
		v = json_object_get(e, "values");
	if (!v && json_object_get(e, "count")) {
		char *s;

		if (asprintf(&s, "[%s x %lld] %s", json_string_value(json_object_get(e, "elem_type")),
			     (long long)json_integer_value(json_object_get(e, "count")),
			     json_string_value(json_object_get(e, "digest"))) < 0)
			return NULL;
		return s;
	}
	return v ? compact(v) : compact(json_object_get(e, "hex"));
}

static void print_meta(json_t *meta)
{
	json_t *e;
	size_t i;
	char *a, *b;

	json_array_foreach(json_object_get(meta, "added"), i, e) {
		printf("+ %s = %s\n", json_string_value(json_object_get(e, "key")), a = meta_value(e));
		free(a);
	}
	json_array_foreach(json_object_get(meta, "removed"), i, e) {
		printf("- %s = %s\n", json_string_value(json_object_get(e, "key")), a = meta_value(e));
		free(a);
	}
	json_array_foreach(json_object_get(meta, "changed"), i, e) {
		printf("~ %s: %s -> %s\n", json_string_value(json_object_get(e, "key")),
		       a = meta_value(json_object_get(e, "old")), b = meta_value(json_object_get(e, "new")));
		free(a);
		free(b);
	}
}

static void print_tensor_line(char sign, json_t *t)
{
	char *shape = compact(json_object_get(t, "shape"));

	printf("%c %s %s %s\n", sign, json_string_value(json_object_get(t, "name")),
	       json_string_value(json_object_get(t, "type")), shape);
	free(shape);
}

static void print_tensors(json_t *tensors)
{
	json_t *t;
	size_t i;

	json_array_foreach(json_object_get(tensors, "added"), i, t)
		print_tensor_line('+', t);
	json_array_foreach(json_object_get(tensors, "removed"), i, t)
		print_tensor_line('-', t);
	json_array_foreach(json_object_get(tensors, "changed"), i, t) {
		char *os = compact(json_object_get(t, "old_shape"));
		char *ns = compact(json_object_get(t, "new_shape"));
		json_t *l2 = json_object_get(t, "rel_l2");

		printf("~ %s %s %s -> %s %s", json_string_value(json_object_get(t, "name")),
		       json_string_value(json_object_get(t, "old_type")), os,
		       json_string_value(json_object_get(t, "new_type")), ns);
		if (json_is_number(l2))
			printf("  rel_l2 %.6g", json_number_value(l2));
		putchar('\n');
		free(os);
		free(ns);
	}
	printf("  %lld tensors unchanged\n",
	       (long long)json_integer_value(json_object_get(tensors, "unchanged")));
}

/* --stat: the counts, and the range of the changed tensors' rel_l2. */
static void print_tensor_stat(json_t *tensors)
{
	json_t *changed = json_object_get(tensors, "changed"), *t;
	double lo = 0, hi = 0;
	int n_l2 = 0;
	size_t i;

	json_array_foreach(changed, i, t) {
		json_t *l2 = json_object_get(t, "rel_l2");

		if (!json_is_number(l2))
			continue;
		lo = n_l2 && lo < json_number_value(l2) ? lo : json_number_value(l2);
		hi = n_l2 && hi > json_number_value(l2) ? hi : json_number_value(l2);
		n_l2++;
	}
	printf("  %zu tensors changed", json_array_size(changed));
	if (n_l2)
		printf(" (rel_l2 %.3g .. %.3g)", lo, hi);
	printf(", %zu added, %zu removed, %lld unchanged\n",
	       json_array_size(json_object_get(tensors, "added")),
	       json_array_size(json_object_get(tensors, "removed")),
	       (long long)json_integer_value(json_object_get(tensors, "unchanged")));
}

/* What made the newer version: its operator and parameters. */
static void print_operator(json_t *op)
{
	char *params = compact(json_object_get(op, "params"));

	printf("operator %s %s\n", json_string_value(json_object_get(op, "operator")) ?: "?",
	       params ? params : "");
	free(params);
}

static void print_evidence(json_t *suites)
{
	json_t *s, *v;
	const char *key;
	size_t i;

	json_array_foreach(suites, i, s) {
		json_t *old = json_object_get(s, "old_metrics");

		printf("evidence %s: %.19s -> %.19s\n",
		       json_string_value(json_object_get(s, "suite")),
		       json_string_value(json_object_get(s, "old")),
		       json_string_value(json_object_get(s, "new")));
		json_object_foreach(json_object_get(s, "new_metrics"), key, v)
			if (mbr_metric_is_headline(key) && json_object_get(old, key))
				printf("  %-32s %.4f -> %.4f (%+.4f)\n", key,
				       json_number_value(json_object_get(old, key)),
				       json_number_value(v),
				       json_number_value(json_object_get(
					       json_object_get(s, "delta"), key)));
	}
}

int cmd_diff(int argc, const char **argv)
{
	int json = 0, stat = 0;
	struct option opts[] = {
		OPT_BOOL(0, "stat", &stat, "count the changed tensors instead of listing them"),
		OPT_BOOL(0, "json", &json, "print one JSON object"),
		OPT_END()
	};
	struct mbr_version *a = NULL, *b = NULL;
	struct mbr_repo *repo;
	json_t *d = NULL, *evidence, *file;

	argc = parse_options(argc, argv, opts, diff_usage);
	if (argc != 2)
		usage_with_options(diff_usage, opts);
	repo = setup_repo();
	if (mbr_version_load(&a, repo, argv[0]) || mbr_version_load(&b, repo, argv[1]) ||
	    mbr_store_diff(&d, repo, a, b) ||
	    mbr_evidence_diff(&evidence, repo, a->commit, b->commit))
		die("%s", mbr_error_last());
	json_object_set_new(d, "evidence", evidence);
	if (json) {
		print_json(d);
	} else {
		printf("diff %.*s %.*s\n", SHORT_ID_LEN, a->commit, SHORT_ID_LEN, b->commit);
		print_operator(json_object_get(d, "operator"));
		print_meta(json_object_get(d, "metadata"));
		if (stat)
			print_tensor_stat(json_object_get(d, "tensors"));
		else
			print_tensors(json_object_get(d, "tensors"));
		file = json_object_get(d, "file");
		printf("  file %lld -> %lld bytes, %lld bytes shared\n",
		       (long long)json_integer_value(json_object_get(file, "old_size")),
		       (long long)json_integer_value(json_object_get(file, "new_size")),
		       (long long)json_integer_value(json_object_get(file, "shared_bytes")));
		print_evidence(json_object_get(d, "evidence"));
		json_decref(d);
	}
	mbr_version_free(a);
	mbr_version_free(b);
	mbr_repo_free(repo);
	return 0;
}
