/*
 * show.c - mbr show REV [--json]: one version, whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/evidence.h"
#include "mbr/scorecard.h"
#include "mbr/store.h"
#include "mbr/types.h"

static const char *const show_usage[] = { "mbr show <rev> [--json]", NULL };

/* The first commit a walk from the version yields is the version itself. */
static int take_first(const struct mbr_commit_info *info, void *payload)
{
	json_t **out = payload;
	json_t *parents = json_array();

	for (size_t i = 0; i < info->n_parents; i++)
		json_array_append_new(parents, json_string(info->parents[i]));
	*out = json_pack("{s:s, s:o, s:s, s:s, s:I, s:s}", "commit", info->id,
			 "parents", parents, "author", info->author_name,
			 "email", info->author_email, "time", (json_int_t)info->time,
			 "message", info->message);
	return 1;
}

static json_t *tensor_json(const struct mbr_manifest_tensor *t)
{
	const struct mbr_type_info *ti = mbr_type_get(t->type);
	json_t *shape = json_array(), *ids = json_array();
	char hex[MBR_OID_STRSZ];

	for (uint32_t d = 0; d < t->n_dims; d++)
		json_array_append_new(shape, json_integer((json_int_t)t->ne[d]));
	for (size_t c = 0; c < t->n_chunks; c++)
		json_array_append_new(ids, json_string(mbr_oid_fmt(hex, &t->chunks[c])));
	return json_pack("{s:s, s:s, s:o, s:I, s:o}", "name", t->name,
			 "type", ti ? ti->name : "?", "shape", shape,
			 "size", (json_int_t)t->size, "objects", ids);
}

static int add_evidence(const char *path, const struct mbr_oid *id, json_t *ev,
			void *payload)
{
	char hex[MBR_OID_STRSZ];

	return json_array_append_new(payload, json_pack(
		"{s:s, s:O, s:O, s:O, s:O}", "id", mbr_oid_fmt(hex, id),
		"suite", json_object_get(json_object_get(ev, "suite"), "name"),
		"created", json_object_get(ev, "created"),
		"adapters", json_object_get(ev, "adapters"),
		"metrics", json_object_get(ev, "metrics"))) ? MBR_ENOMEM : 0;
}

/* The evidence recorded for the version's weights (evidence.h). */
static json_t *evidence_json(struct mbr_repo *repo, const struct mbr_version *v)
{
	json_t *list = json_array();
	struct mbr_oid weights;

	if (mbr_version_manifest_digest(&weights, repo, v->commit) ||
	    mbr_evidence_foreach(repo, &weights, add_evidence, list))
		die("%s", mbr_error_last());
	return list;
}

static json_t *version_json(struct mbr_repo *repo, const struct mbr_version *v)
{
	const struct mbr_manifest *m = v->manifest;
	json_t *commit = NULL, *tensors = json_array();
	char digest[MBR_OID_STRSZ];

	mbr_lineage_walk(repo->lineage, v->commit, take_first, &commit);
	for (size_t i = 0; i < m->n_tensors; i++)
		json_array_append_new(tensors, tensor_json(&m->tensors[i]));
	return json_pack("{s:o?, s:O?, s:s?, s:s?, s:{s:s, s:i, s:s, s:I}, s:I, s:O, s:o, s:o}",
			 "commit", commit, "operator", v->operator,
			 "license", m->license, "architecture", m->architecture,
			 "file", "format", m->format == MBR_FORMAT_GGUF ? "gguf" : "safetensors",
			 "version", (int)m->format_version,
			 "sha256", mbr_oid_fmt(digest, &m->file_sha256),
			 "size", (json_int_t)m->file_size,
			 "parameters", (json_int_t)m->n_params,
			 "metadata", m->metadata, "tensors", tensors,
			 "evidence", evidence_json(repo, v));
}

/* A metadata value for one line: long arrays are summarised. */
static void print_meta_entry(json_t *e)
{
	const char *type = json_string_value(json_object_get(e, "type"));
	json_t *value = json_object_get(e, "value");
	char *text;

	printf("  %-44s ", json_string_value(json_object_get(e, "key")));
	if (type && !strcmp(type, "array") && !json_object_get(e, "values")) {
		printf("[%s x %lld]\n", json_string_value(json_object_get(e, "elem_type")),
		       (long long)json_integer_value(json_object_get(e, "count")));
		return;
	}
	if (!value)
		value = json_object_get(e, "values");
	if (!value)
		value = json_object_get(e, "hex");
	text = value ? json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	printf("%s\n", text ? text : "?");
	free(text);
}

static void print_indented(const char *text)
{
	while (text && *text) {
		size_t len = strcspn(text, "\n");

		printf("    %.*s\n", (int)len, text);
		text += len + (text[len] == '\n');
	}
	putchar('\n');
}

/* One line per record: id, suite, date, then the headline metrics. */
static void print_evidence(json_t *list)
{
	json_t *e, *task, *v;
	const char *name, *metric;
	size_t i;

	if (!json_array_size(list))
		return;
	printf("evidence:\n");
	json_array_foreach(list, i, e) {
		/* to the second, as a reader wants it */
		printf("  %.19s %-12s %.19sZ%s", json_string_value(json_object_get(e, "id")),
		       json_string_value(json_object_get(e, "suite")),
		       json_string_value(json_object_get(e, "created")),
		       json_array_size(json_object_get(e, "adapters")) ? " +adapters" : "");
		json_object_foreach(json_object_get(e, "metrics"), name, task)
			json_object_foreach(task, metric, v)
				if (mbr_metric_is_headline(metric))
					printf(" %s.%s=%.4f", name, metric, json_number_value(v));
		putchar('\n');
	}
	putchar('\n');
}

static void print_text(json_t *o)
{
	json_t *commit = json_object_get(o, "commit"), *file = json_object_get(o, "file");
	json_t *parents = json_object_get(commit, "parents"), *e, *op;
	size_t i;
	char *ops;

	printf("commit %s\n", json_string_value(json_object_get(commit, "commit")));
	json_array_foreach(parents, i, e)
		printf("parent %s\n", json_string_value(e));
	op = json_object_get(o, "operator");
	ops = op ? json_dumps(json_object_get(op, "params"), JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	printf("operator %s %s\n", json_string_value(json_object_get(op, "operator")),
	       ops ? ops : "");
	free(ops);
	printf("license %s\n", json_string_value(json_object_get(o, "license")) ?: "(none)");
	printf("file %s v%lld, %lld bytes, %s\n",
	       json_string_value(json_object_get(file, "format")),
	       (long long)json_integer_value(json_object_get(file, "version")),
	       (long long)json_integer_value(json_object_get(file, "size")),
	       json_string_value(json_object_get(file, "sha256")));
	printf("parameters %lld\n\n",
	       (long long)json_integer_value(json_object_get(o, "parameters")));
	print_indented(json_string_value(json_object_get(commit, "message")));
	print_evidence(json_object_get(o, "evidence"));
	printf("metadata:\n");
	json_array_foreach(json_object_get(o, "metadata"), i, e)
		print_meta_entry(e);
	printf("\ntensors:\n");
	json_array_foreach(json_object_get(o, "tensors"), i, e) {
		char *shape = json_dumps(json_object_get(e, "shape"), JSON_COMPACT);

		printf("  %-32s %-6s %-16s %.19s\n", json_string_value(json_object_get(e, "name")),
		       json_string_value(json_object_get(e, "type")), shape,
		       json_string_value(json_array_get(json_object_get(e, "objects"), 0)));
		free(shape);
	}
}

int cmd_show(int argc, const char **argv)
{
	int json = 0;
	struct option opts[] = {
		OPT_BOOL(0, "json", &json, "print one JSON object"),
		OPT_END()
	};
	struct mbr_version *v = NULL;
	struct mbr_repo *repo;
	json_t *o;

	argc = parse_options(argc, argv, opts, show_usage);
	if (argc != 1)
		usage_with_options(show_usage, opts);
	repo = setup_repo();
	if (mbr_version_load(&v, repo, argv[0]))
		die("%s", mbr_error_last());
	o = version_json(repo, v);
	if (!o)
		die("out of memory");
	if (json)
		print_json(json_incref(o));
	else
		print_text(o);
	json_decref(o);
	mbr_version_free(v);
	mbr_repo_free(repo);
	return 0;
}
