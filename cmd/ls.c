/*
 * ls.c - mbr ls [--json]: the models, one line each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/store.h"
#include "mbr/types.h"

static const char *const ls_usage[] = { "mbr ls [--json]", NULL };

/* "F32:45,Q8_0:154" sorted by name, from the manifest's tensors. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *tensor_type_counts(const struct mbr_manifest *m)
{
	json_t *counts = json_object(), *sorted = json_object();
	const char **names = calloc(m->n_tensors + 1, sizeof(*names));
	size_t n = 0;

	if (!names)
		die("out of memory");
	for (size_t i = 0; i < m->n_tensors; i++) {
		const struct mbr_type_info *t = mbr_type_get(m->tensors[i].type);
		const char *name = t ? t->name : "?";
		json_t *c = json_object_get(counts, name);

		if (!c)
			names[n++] = name;
		json_object_set_new(counts, name, json_integer(c ? json_integer_value(c) + 1 : 1));
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++)
		json_object_set(sorted, names[i], json_object_get(counts, names[i]));
	free(names);
	json_decref(counts);
	return sorted;
}

static const char *format_name(int format)
{
	return format == MBR_FORMAT_GGUF ? "gguf" : "safetensors";
}

struct ls_ctx {
	struct mbr_repo *repo;
	json_t *models;
};

static int collect_model(const char *refname, const char *target, int ok, void *payload)
{
	struct ls_ctx *ctx = payload;
	struct mbr_version *v = NULL;
	json_t *row;

	if (strncmp(refname, "refs/heads/", 11))
		return 0;
	if (!ok || mbr_version_load(&v, ctx->repo, target)) {
		warning("model '%s': %s", refname + 11, ok ? mbr_error_last() : "dangling ref");
		return 0;
	}
	row = json_pack("{s:s, s:s, s:s, s:I, s:o, s:I, s:s?, s:s?}",
			"name", refname + 11, "commit", v->commit,
			"format", format_name(v->manifest->format),
			"parameters", (json_int_t)v->manifest->n_params,
			"tensor_types", tensor_type_counts(v->manifest),
			"size", (json_int_t)v->manifest->file_size,
			"architecture", v->manifest->architecture,
			"license", v->manifest->license);
	json_array_append_new(ctx->models, row);
	mbr_version_free(v);
	return 0;
}

static void print_types(json_t *counts)
{
	const char *key;
	json_t *value;
	int first = 1;

	json_object_foreach(counts, key, value) {
		printf("%s%s:%lld", first ? "" : ",", key, (long long)json_integer_value(value));
		first = 0;
	}
}

static void print_table(json_t *models)
{
	size_t i;
	json_t *row;

	if (!json_array_size(models))
		return;
	printf("%-20s %-12s %-11s %8s %10s  %s\n", "NAME", "COMMIT", "FORMAT", "PARAMS", "SIZE", "TYPES");
	json_array_foreach(models, i, row) {
		struct strbuf size = STRBUF_INIT;
		double params = (double)json_integer_value(json_object_get(row, "parameters"));

		strbuf_humanise_bytes(&size, json_integer_value(json_object_get(row, "size")));
		printf("%-20s %.12s %-11s %7.*f%c %10s  ",
		       json_string_value(json_object_get(row, "name")),
		       json_string_value(json_object_get(row, "commit")),
		       json_string_value(json_object_get(row, "format")),
		       params >= 1e9 ? 2 : 1,
		       params >= 1e9 ? params / 1e9 : params >= 1e6 ? params / 1e6 : params / 1e3,
		       params >= 1e9 ? 'B' : params >= 1e6 ? 'M' : 'K', size.buf);
		print_types(json_object_get(row, "tensor_types"));
		putchar('\n');
		strbuf_release(&size);
	}
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "name")),
		      json_string_value(json_object_get(*(json_t *const *)b, "name")));
}

/* Refs come in the order libgit2 finds them; people read models by name. */
static void sort_by_name(json_t *models)
{
	size_t n = json_array_size(models);
	json_t **rows = calloc(n ? n : 1, sizeof(*rows));

	if (!rows)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		rows[i] = json_incref(json_array_get(models, i));
	qsort(rows, n, sizeof(*rows), cmp_name);
	json_array_clear(models);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(models, rows[i]);
	free(rows);
}

int cmd_ls(int argc, const char **argv)
{
	int json = 0;
	struct option opts[] = {
		OPT_BOOL(0, "json", &json, "print a JSON array"),
		OPT_END()
	};
	struct ls_ctx ctx;

	argc = parse_options(argc, argv, opts, ls_usage);
	if (argc)
		usage_with_options(ls_usage, opts);
	ctx.repo = setup_repo();
	ctx.models = json_array();
	if (mbr_lineage_foreach_ref(ctx.repo->lineage, collect_model, &ctx))
		die_lib("ls");
	sort_by_name(ctx.models);
	if (json)
		print_json(json_incref(ctx.models));
	else
		print_table(ctx.models);
	json_decref(ctx.models);
	mbr_repo_free(ctx.repo);
	return 0;
}
