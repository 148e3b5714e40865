/*
 * breed.c - mbr breed <operator> ...: make a new version from stored ones.
 *
 *	mbr breed quantize <rev> --type <type> [--name <name>] [-t <n>] [--json]
 */
#include <stdio.h>
#include <string.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/breed.h"
#include "mbr/error.h"

static const char *const quantize_usage[] = {
	"mbr breed quantize <rev> --type <type> [--name <name>] [-t <n>] [--json]", NULL
};

static void print_types(FILE *out)
{
	fprintf(out, "types:");
	for (size_t i = 0; mbr_quantize_type_name(i); i++)
		fprintf(out, " %s", mbr_quantize_type_name(i));
	fprintf(out, "\n");
}

static int is_quantize_type(const char *name)
{
	for (size_t i = 0; mbr_quantize_type_name(i); i++)
		if (!strcmp(mbr_quantize_type_name(i), name))
			return 1;
	return 0;
}

static void print_result(const struct mbr_add_result *res, int json)
{
	if (json)
		print_json(json_pack("{s:s, s:s, s:b, s:I, s:I, s:I}",
				     "commit", res->commit, "name", res->name,
				     "unchanged", res->unchanged,
				     "objects_written", (json_int_t)res->objects_written,
				     "bytes_written", (json_int_t)res->bytes_written,
				     "file_size", (json_int_t)res->file_size));
	else if (res->unchanged)
		printf("%s (%s unchanged)\n", res->commit, res->name);
	else
		printf("%s %s\n", res->commit, res->name);
}

static int breed_quantize(int argc, const char **argv)
{
	const char *type = NULL, *name = NULL;
	int n_threads = 0, json = 0;
	struct option opts[] = {
		OPT_STRING(0, "type", &type, "type", "the quantization type (Q8_0, Q4_0, F16, ...)"),
		OPT_STRING(0, "name", &name, "name", "model name (default: <model>-<type>)"),
		OPT_INTEGER('t', "threads", &n_threads, "n", "threads to quantize with (default: all cores)"),
		OPT_BOOL(0, "json", &json, "print the result as JSON"),
		OPT_END()
	};
	struct mbr_add_result res;
	struct mbr_repo *repo;
	int err;

	argc = parse_options(argc, argv, opts, quantize_usage);
	if (argc != 1 || !type)
		usage_with_options(quantize_usage, opts);
	if (!is_quantize_type(type)) {
		error("unknown quantization type '%s'", type);
		print_types(stderr);
		return 129;
	}
	repo = setup_repo();
	err = mbr_breed_quantize(&res, repo, argv[0], type, name, n_threads);
	mbr_repo_free(repo);
	if (err)
		return error("%s", mbr_error_last());
	print_result(&res, json);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int, const char **);
} operators[] = {
	{ "quantize", breed_quantize },
};

static int breed_usage(FILE *out, int status)
{
	fprintf(out, "usage: %s\n", quantize_usage[0]);
	return status;
}

int cmd_breed(int argc, const char **argv)
{
	if (argc < 2)
		return breed_usage(stderr, 129);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return breed_usage(stdout, 0);
	/* Completion asks the command, not an operator: every operator's
	 * options are quantize's for now. */
	if (!strcmp(argv[1], "--mbr-completion-helper"))
		return breed_quantize(argc, argv);
	for (size_t i = 0; i < MBR_ARRAY_SIZE(operators); i++)
		if (!strcmp(argv[1], operators[i].name))
			return operators[i].fn(argc - 1, argv + 1);
	error("'%s' is not a breed operator", argv[1]);
	return breed_usage(stderr, 129);
}
