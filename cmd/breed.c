/*
 * breed.c - mbr breed <operator> ...: make a new version from stored ones.
 *
 *	mbr breed quantize <rev> --type <type> [--name <name>] [-t <n>] [--json]
 *	mbr breed merge --method <method> <rev>... [--base <rev>] ...
 *	mbr breed lora-merge <base> <adapter> [--scale <s>] [--name <name>]
 *	mbr breed lora-extract <base> <descendant> --rank <r> [--name <name>]
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/breed.h"
#include "mbr/error.h"
#include "mbr/lora.h"
#include "mbr/merge.h"

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

/*
 * A meter on stderr for a breed's bytes, wired into pr; NULL with --json
 * or off a terminal. The breeds report their file's tensors as they are
 * written (quantized, merged, baked) or, lora-extract, factorized.
 */
static struct progress *breed_meter(struct mbr_progress *pr, const char *title, int json)
{
	struct progress *p = json ? NULL : progress_start_delayed(title);

	pr->fn = p ? progress_update : NULL;
	pr->payload = p;
	return p;
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
	struct mbr_progress pr;
	struct progress *meter;
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
	meter = breed_meter(&pr, "Quantizing", json);
	err = mbr_breed_quantize(&res, repo, argv[0], type, name, n_threads, &pr);
	progress_stop(meter);
	mbr_repo_free(repo);
	if (err)
		return error("%s", mbr_error_last());
	print_result(&res, json);
	return 0;
}

static const char *const merge_usage[] = {
	"mbr breed merge --method <method> <rev>... [--base <rev>] [--weight <w>...]\n"
	"                 [--density <d>...] [--lambda <l>] [--t <t>] [--seed <s>]\n"
	"                 [--out-type <type>] [--name <name>] [-t <n>] [--json]", NULL
};

/* A number given on the command line; 0, or -1 after saying what is wrong. */
static int parse_number(double *out, const char *s, const char *option)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(*out))
		return error("option '--%s' expects a number, not '%s'", option, s);
	return 0;
}

/* Each --weight (or --density) may hold several values: "0.3,0.7". */
static int parse_numbers(double **out, size_t *n, const struct string_list *list,
			 const char *option)
{
	int err = 0;

	*n = 0;
	for (int i = 0; i < list->nr && !err; i++) {
		char *copy = strdup(list->items[i]), *save = NULL;

		if (!copy)
			return error("out of memory");
		for (char *tok = strtok_r(copy, ",", &save); tok && !err;
		     tok = strtok_r(NULL, ",", &save)) {
			double *grown = realloc(*out, (*n + 1) * sizeof(**out));

			if (!grown)
				err = error("out of memory");
			else if (!(err = parse_number(&grown[*n], tok, option)))
				++*n;
			if (grown)
				*out = grown;
		}
		free(copy);
	}
	return err;
}

static void print_methods(FILE *out)
{
	fprintf(out, "methods:");
	for (size_t i = 0; mbr_merge_method_name(i); i++)
		fprintf(out, " %s", mbr_merge_method_name(i));
	fprintf(out, "\n");
}

static int parse_merge_values(struct mbr_merge_options *o, const char *lambda,
			      const char *t, const char *seed,
			      const struct string_list *weights,
			      const struct string_list *densities)
{
	double *w = NULL, *d = NULL;
	char *end;
	int err;

	o->lambda = o->t = NAN;
	o->seed = -1;
	err = parse_numbers(&w, &o->n_weights, weights, "weight") ||
	      parse_numbers(&d, &o->n_densities, densities, "density") ||
	      (lambda && parse_number(&o->lambda, lambda, "lambda")) ||
	      (t && parse_number(&o->t, t, "t"));
	o->weights = w;
	o->densities = d;
	if (err)
		return -1;
	if (seed) {
		errno = 0;
		o->seed = strtoll(seed, &end, 10);
		if (errno || end == seed || *end || o->seed < 0)
			return error("option '--seed' expects a number from 0 to 2^63-1, not '%s'",
				     seed);
	}
	return 0;
}

static int breed_merge(int argc, const char **argv)
{
	const char *method = NULL, *lambda = NULL, *t = NULL, *seed = NULL;
	struct string_list weights = { 0 }, densities = { 0 };
	struct mbr_merge_options mo = { 0 };
	int json = 0;
	struct option opts[] = {
		OPT_STRING(0, "method", &method, "method", "linear, slerp, task-arithmetic, ties, dare-ties or dare-linear"),
		OPT_STRING(0, "base", &mo.base, "rev", "the base version (task vectors are taken against it)"),
		OPT_STRING_LIST(0, "weight", &weights, "w", "a weight per model, or one for all (repeatable, or w1,w2,...)"),
		OPT_STRING_LIST(0, "density", &densities, "d", "the fraction of each task vector kept (ties, dare-*)"),
		OPT_STRING(0, "lambda", &lambda, "l", "scale of the merged task vector (default 1)"),
		OPT_STRING(0, "t", &t, "t", "slerp's position from the base (0) to the other (1); default 0.5"),
		OPT_STRING(0, "seed", &seed, "s", "seed of the DARE masks (default 0)"),
		OPT_STRING(0, "out-type", &mo.out_type, "type", "the type of the merged matrices (default: the first model's)"),
		OPT_STRING(0, "name", &mo.name, "name", "model name (default: <first model>-<method>)"),
		OPT_INTEGER('t', "threads", &mo.n_threads, "n", "threads to store with (default: all cores)"),
		OPT_BOOL(0, "json", &json, "print the result as JSON"),
		OPT_END()
	};
	struct mbr_add_result res;
	struct progress *meter;
	struct mbr_repo *repo;
	int err;

	argc = parse_options(argc, argv, opts, merge_usage);
	if (argc < 1 || !method)
		usage_with_options(merge_usage, opts);
	if ((mo.method = mbr_merge_method_by_name(method)) < 0) {
		error("unknown merge method '%s'", method);
		print_methods(stderr);
		return 129;
	}
	if (mo.out_type && !is_quantize_type(mo.out_type)) {
		error("unknown type '%s'", mo.out_type);
		print_types(stderr);
		return 129;
	}
	if (parse_merge_values(&mo, lambda, t, seed, &weights, &densities)) {
		err = 129;
		goto done;
	}
	mo.revs = argv;
	mo.n_revs = (size_t)argc;
	repo = setup_repo();
	meter = breed_meter(&mo.progress, "Merging", json);
	err = mbr_breed_merge(&res, repo, &mo);
	progress_stop(meter);
	mbr_repo_free(repo);
	if (err)
		err = error("%s", mbr_error_last());
	else
		print_result(&res, json);
done:
	free((void *)mo.weights);
	free((void *)mo.densities);
	string_list_clear(&weights);
	string_list_clear(&densities);
	return err ? (err == 129 ? 129 : 1) : 0;
}

/* An operator's outcome: its result printed, or its error. */
static int report(int err, const struct mbr_add_result *res, int json)
{
	if (err)
		return error("%s", mbr_error_last());
	print_result(res, json);
	return 0;
}

static const char *const lora_merge_usage[] = {
	"mbr breed lora-merge <base> <adapter> [--scale <s>] [--name <name>] [--json]", NULL
};

static int breed_lora_merge(int argc, const char **argv)
{
	const char *scale = NULL, *name = NULL;
	int json = 0;
	struct option opts[] = {
		OPT_STRING(0, "scale", &scale, "s", "the adapter's scale (default 1)"),
		OPT_STRING(0, "name", &name, "name", "model name (default: <base>-lora)"),
		OPT_BOOL(0, "json", &json, "print the result as JSON"),
		OPT_END()
	};
	struct mbr_add_result res;
	struct mbr_progress pr;
	struct progress *meter;
	struct mbr_repo *repo;
	double s = 1;
	int err;

	argc = parse_options(argc, argv, opts, lora_merge_usage);
	if (argc != 2)
		usage_with_options(lora_merge_usage, opts);
	if (scale && parse_number(&s, scale, "scale"))
		return 129;
	repo = setup_repo();
	meter = breed_meter(&pr, "Baking", json);
	err = mbr_breed_lora_merge(&res, repo, argv[0], argv[1], (float)s, name, &pr);
	progress_stop(meter);
	mbr_repo_free(repo);
	return report(err, &res, json);
}

static const char *const lora_extract_usage[] = {
	"mbr breed lora-extract <base> <descendant> --rank <r> [--name <name>] [--json]", NULL
};

static int breed_lora_extract(int argc, const char **argv)
{
	const char *name = NULL;
	int rank = 0, json = 0;
	struct option opts[] = {
		OPT_INTEGER(0, "rank", &rank, "r", "the adapter's rank"),
		OPT_STRING(0, "name", &name, "name", "model name (default: <descendant>-lora-r<r>)"),
		OPT_BOOL(0, "json", &json, "print the result as JSON"),
		OPT_END()
	};
	struct mbr_add_result res;
	struct mbr_progress pr;
	struct progress *meter;
	struct mbr_repo *repo;
	int err;

	argc = parse_options(argc, argv, opts, lora_extract_usage);
	if (argc != 2 || rank < 1)
		usage_with_options(lora_extract_usage, opts);
	repo = setup_repo();
	meter = breed_meter(&pr, "Factorizing", json);
	err = mbr_breed_lora_extract(&res, repo, argv[0], argv[1], rank, name, &pr);
	progress_stop(meter);
	mbr_repo_free(repo);
	return report(err, &res, json);
}

static const struct {
	const char *name;
	int (*fn)(int, const char **);
} operators[] = {
	{ "quantize", breed_quantize },
	{ "merge", breed_merge },
	{ "lora-merge", breed_lora_merge },
	{ "lora-extract", breed_lora_extract },
};

static int breed_usage(FILE *out, int status)
{
	fprintf(out, "usage: %s\n   or: %s\n   or: %s\n   or: %s\n", quantize_usage[0],
		merge_usage[0], lora_merge_usage[0], lora_extract_usage[0]);
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
