/*
 * scorecard.c - mbr scorecard REV... [--suite NAME] [--json]: versions
 * side by side with their evidence, each against its parent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/scorecard.h"

static const char *const scorecard_usage[] = {
	"mbr scorecard <rev>... [--suite <name>] [--json]", NULL
};

#define N_FIXED 5	/* version, size, parameters, types, parent */

static void add_params(struct strbuf *sb, double n)
{
	if (n >= 1e9)
		strbuf_addf(sb, "%.2fB", n / 1e9);
	else if (n >= 1e6)
		strbuf_addf(sb, "%.2fM", n / 1e6);
	else
		strbuf_addf(sb, "%.0f", n);
}

/* The parent a row is compared with: its id, and which parent of a merge. */
static void add_parent(struct strbuf *sb, json_t *parent)
{
	int n = (int)json_integer_value(json_object_get(parent, "n_parents"));

	if (json_is_null(parent)) {
		strbuf_addstr(sb, "-");
		return;
	}
	if (json_is_string(json_object_get(parent, "model")))
		strbuf_addstr(sb, json_string_value(json_object_get(parent, "model")));
	else
		strbuf_addf(sb, "%.*s", SHORT_ID_LEN,
			    json_string_value(json_object_get(parent, "commit")));
	if (n > 1)
		strbuf_addf(sb, " (parent %d of %d)",
			    (int)json_integer_value(json_object_get(parent, "index")) + 1, n);
}

static void add_metric(struct strbuf *sb, json_t *r, const char *col)
{
	json_t *v = json_object_get(json_object_get(r, "metrics"), col);
	json_t *d = json_object_get(json_object_get(json_object_get(r, "parent"), "delta"), col);

	if (!v) {
		strbuf_addstr(sb, "-");
		return;
	}
	strbuf_addf(sb, "%.4f", json_number_value(v));
	if (d)
		strbuf_addf(sb, " (%+.4f)", json_number_value(d));
}

/* cells[row * n_cols + col]; row 0 is the header */
static void fill_row(struct strbuf *cells, json_t *r, json_t *cols)
{
	json_t *col;
	size_t i;

	strbuf_addstr(&cells[0], json_string_value(json_object_get(r, "version")));
	strbuf_humanise_bytes(&cells[1], (uint64_t)json_integer_value(json_object_get(r, "size")));
	add_params(&cells[2], (double)json_integer_value(json_object_get(r, "parameters")));
	strbuf_addstr(&cells[3], json_string_value(json_object_get(r, "types")));
	add_parent(&cells[4], json_object_get(r, "parent"));
	json_array_foreach(cols, i, col)
		add_metric(&cells[N_FIXED + i], r, json_string_value(col));
}

static void print_table(struct strbuf *cells, size_t n_rows, size_t n_cols)
{
	size_t *width = calloc(n_cols, sizeof(*width));

	if (!width)
		die("out of memory");
	for (size_t i = 0; i < n_rows * n_cols; i++)
		if (cells[i].len > width[i % n_cols])
			width[i % n_cols] = cells[i].len;
	for (size_t r = 0; r < n_rows; r++) {
		for (size_t c = 0; c < n_cols; c++)
			printf(c + 1 < n_cols ? "%-*s  " : "%.*s\n", (int)width[c],
			       cells[r * n_cols + c].buf);
	}
	free(width);
}

static void print_text(json_t *card)
{
	static const char *const fixed[N_FIXED] = {
		"version", "size", "params", "types", "vs parent"
	};
	json_t *rows = json_object_get(card, "rows"), *all = json_object_get(card, "columns");
	json_t *cols = json_array(), *c, *r;
	size_t n_rows, n_cols, i;
	struct strbuf *cells;

	json_array_foreach(all, i, c)
		if (mbr_metric_is_headline(json_string_value(c)))
			json_array_append(cols, c);
	n_rows = json_array_size(rows) + 1;
	n_cols = N_FIXED + json_array_size(cols);
	if (!(cells = calloc(n_rows * n_cols, sizeof(*cells))))
		die("out of memory");
	for (i = 0; i < n_rows * n_cols; i++)
		strbuf_init(&cells[i], 0);
	for (i = 0; i < N_FIXED; i++)
		strbuf_addstr(&cells[i], fixed[i]);
	json_array_foreach(cols, i, c)
		strbuf_addstr(&cells[N_FIXED + i], json_string_value(c));
	json_array_foreach(rows, i, r)
		fill_row(&cells[(i + 1) * n_cols], r, cols);
	printf("suite %s\n", json_string_value(json_object_get(card, "suite")) ?: "(none: no evidence)");
	print_table(cells, n_rows, n_cols);
	for (i = 0; i < n_rows * n_cols; i++)
		strbuf_release(&cells[i]);
	free(cells);
	json_decref(cols);
}

int cmd_scorecard(int argc, const char **argv)
{
	const char *suite = NULL;
	int json = 0;
	struct option opts[] = {
		OPT_STRING(0, "suite", &suite, "name", "the suite (default: that of the newest evidence)"),
		OPT_BOOL(0, "json", &json, "print one JSON object"),
		OPT_END()
	};
	struct mbr_repo *repo;
	json_t *card;

	argc = parse_options(argc, argv, opts, scorecard_usage);
	if (argc < 1)
		usage_with_options(scorecard_usage, opts);
	repo = setup_repo();
	if (mbr_scorecard(&card, repo, argv, (size_t)argc, suite))
		die("%s", mbr_error_last());
	if (json)
		print_json(card);
	else {
		print_text(card);
		json_decref(card);
	}
	mbr_repo_free(repo);
	return 0;
}
