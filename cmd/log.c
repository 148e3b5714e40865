/*
 * log.c - mbr log [REV] [--graph] [--oneline] [--json]: lineage history.
 *
 * --graph draws one column per line of descent still open, like git log
 * --graph without its diagonal edges: a merge opens a column for each of
 * its further parents; a column closes where two meet in one commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"

static const char *const log_usage[] = { "mbr log [<rev>] [--graph] [--oneline] [--json]", NULL };

#define MAX_COLUMNS 64

struct log_ctx {
	int graph, oneline, json;
	json_t *decorations;	/* commit id -> "name, name" */
	json_t *out;		/* --json: array of commits */
	char columns[MAX_COLUMNS][MBR_COMMIT_HEXSZ + 1];
	int n_columns;
};

static int collect_decoration(const char *refname, const char *target, int ok, void *payload)
{
	json_t *dec = payload;
	const char *name = !strncmp(refname, "refs/heads/", 11) ? refname + 11 :
		!strncmp(refname, "refs/tags/", 10) ? refname + 5 : NULL;
	json_t *cur;
	char *both;

	if (!ok || !name)
		return 0;
	cur = json_object_get(dec, target);
	if (!cur) {
		json_object_set_new(dec, target, json_string(name));
		return 0;
	}
	if (asprintf(&both, "%s, %s", json_string_value(cur), name) < 0)
		return 0;
	json_object_set_new(dec, target, json_string(both));
	free(both);
	return 0;
}

static int column_of(struct log_ctx *ctx, const char *id)
{
	for (int i = 0; i < ctx->n_columns; i++)
		if (!strcmp(ctx->columns[i], id))
			return i;
	return -1;
}

static void remove_column(struct log_ctx *ctx, int c)
{
	memmove(ctx->columns[c], ctx->columns[c + 1],
		(ctx->n_columns - c - 1) * sizeof(ctx->columns[0]));
	ctx->n_columns--;
}

/* End the line being built in sb, without trailing blanks. */
static void strbuf_rtrim_line(struct strbuf *sb)
{
	while (sb->len && sb->buf[sb->len - 1] == ' ')
		strbuf_setlen(sb, sb->len - 1);
	strbuf_addch(sb, '\n');
}

/*
 * Columns right of c that wait for the same commit (descendants that
 * forked from it) close before it is drawn: "|/" lines fold each one back
 * into the column on its left, as git log --graph draws a fork.
 */
static void graph_fold(struct log_ctx *ctx, int c, const char *id, struct strbuf *pre)
{
	for (int j = ctx->n_columns - 1; j > c; j--) {
		if (strcmp(ctx->columns[j], id))
			continue;
		for (int i = 0; i < ctx->n_columns; i++)
			strbuf_addstr(pre, i < j - 1 ? "| " : i == j - 1 ? "|" :
				      i == j ? "/" : " /");
		strbuf_rtrim_line(pre);
		remove_column(ctx, j);
	}
}

/* Print this commit's graph prefix and move the columns on to its parents. */
static void graph_step(struct log_ctx *ctx, const struct mbr_commit_info *info,
		       struct strbuf *pre, struct strbuf *pfx)
{
	int c = column_of(ctx, info->id), dup;

	if (c < 0 && ctx->n_columns < MAX_COLUMNS) {
		c = ctx->n_columns++;
		strcpy(ctx->columns[c], info->id);
	}
	if (c >= 0)
		graph_fold(ctx, c, info->id, pre);
	for (int i = 0; i < ctx->n_columns; i++)
		strbuf_addstr(pfx, i == c ? "* " : "| ");
	/* a column left of c waiting for this commit closes here too */
	while ((dup = column_of(ctx, info->id)) >= 0 && dup != c) {
		remove_column(ctx, dup);
		if (dup < c)
			c--;
	}
	if (c < 0)
		return;
	if (!info->n_parents) {
		remove_column(ctx, c);
		return;
	}
	strcpy(ctx->columns[c], info->parents[0]);
	for (size_t p = 1; p < info->n_parents && ctx->n_columns < MAX_COLUMNS; p++)
		if (column_of(ctx, info->parents[p]) < 0)
			strcpy(ctx->columns[ctx->n_columns++], info->parents[p]);
}

static void graph_padding(struct log_ctx *ctx, struct strbuf *pfx)
{
	for (int i = 0; i < ctx->n_columns; i++)
		strbuf_addstr(pfx, "| ");
}

/* git's default date format, in the committer's own time zone. */
static const char *format_date(char *buf, size_t len, const struct mbr_commit_info *info)
{
	time_t local = (time_t)(info->time + 60 * (int64_t)info->time_offset);
	int off = info->time_offset < 0 ? -info->time_offset : info->time_offset;
	struct tm tm;
	size_t n;

	gmtime_r(&local, &tm);
	n = strftime(buf, len, "%a %b %e %H:%M:%S %Y", &tm);
	snprintf(buf + n, len - n, " %c%02d%02d", info->time_offset < 0 ? '-' : '+',
		 off / 60, off % 60);
	return buf;
}

static void print_commit(struct log_ctx *ctx, const struct mbr_commit_info *info)
{
	struct strbuf pre = STRBUF_INIT, pfx = STRBUF_INIT, pad = STRBUF_INIT;
	char date[64];
	const char *dec = json_string_value(json_object_get(ctx->decorations, info->id));
	size_t subject = strcspn(info->message, "\n");

	if (ctx->graph) {
		graph_step(ctx, info, &pre, &pfx);
		graph_padding(ctx, &pad);
		fputs(pre.buf, stdout);
	}
	if (ctx->oneline) {
		printf("%s%.*s%s%s%s %.*s\n", pfx.buf, SHORT_ID_LEN, info->id, dec ? " (" : "",
		       dec ? dec : "", dec ? ")" : "", (int)subject, info->message);
	} else {
		const char *line = info->message;

		printf("%scommit %s%s%s%s\n", pfx.buf, info->id, dec ? " (" : "", dec ? dec : "",
		       dec ? ")" : "");
		if (info->n_parents > 1) {
			printf("%sMerge:", pad.buf);
			for (size_t i = 0; i < info->n_parents; i++)
				printf(" %.*s", SHORT_ID_LEN, info->parents[i]);
			putchar('\n');
		}
		printf("%sAuthor: %s <%s>\n%sDate:   %s\n%s\n", pad.buf, info->author_name,
		       info->author_email, pad.buf, format_date(date, sizeof(date), info), pad.buf);
		while (*line) {
			size_t len = strcspn(line, "\n");

			printf("%s    %.*s\n", pad.buf, (int)len, line);
			line += len + (line[len] == '\n');
		}
		printf("%s\n", pad.buf);
	}
	strbuf_release(&pre);
	strbuf_release(&pfx);
	strbuf_release(&pad);
}

static int log_one(const struct mbr_commit_info *info, void *payload)
{
	struct log_ctx *ctx = payload;
	json_t *parents;

	if (!ctx->json) {
		print_commit(ctx, info);
		return 0;
	}
	parents = json_array();
	for (size_t i = 0; i < info->n_parents; i++)
		json_array_append_new(parents, json_string(info->parents[i]));
	json_array_append_new(ctx->out, json_pack("{s:s, s:o, s:O?, s:s, s:s, s:I, s:s}",
		"commit", info->id, "parents", parents,
		"refs", json_object_get(ctx->decorations, info->id),
		"author", info->author_name, "email", info->author_email,
		"time", (json_int_t)info->time, "message", info->message));
	return 0;
}

int cmd_log(int argc, const char **argv)
{
	struct log_ctx ctx = { 0 };
	struct option opts[] = {
		OPT_BOOL(0, "graph", &ctx.graph, "draw the lineage graph"),
		OPT_BOOL(0, "oneline", &ctx.oneline, "one line per version"),
		OPT_BOOL(0, "json", &ctx.json, "print a JSON array of commits"),
		OPT_END()
	};
	struct mbr_repo *repo;
	int err;

	argc = parse_options(argc, argv, opts, log_usage);
	if (argc > 1)
		usage_with_options(log_usage, opts);
	repo = setup_repo();
	ctx.decorations = json_object();
	ctx.out = json_array();
	mbr_lineage_foreach_ref(repo->lineage, collect_decoration, ctx.decorations);
	err = mbr_lineage_walk(repo->lineage, argc ? argv[0] : NULL, log_one, &ctx);
	if (err < 0)
		die("%s", mbr_error_last());
	if (ctx.json)
		print_json(json_incref(ctx.out));
	json_decref(ctx.out);
	json_decref(ctx.decorations);
	mbr_repo_free(repo);
	return 0;
}
