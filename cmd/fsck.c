/*
 * fsck.c - mbr fsck [--json]: verify every object, manifest and ref.
 * Exit status 1 when anything is wrong.
 */
#include <stdio.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/store.h"

static const char *const fsck_usage[] = { "mbr fsck [--json]", NULL };

struct fsck_out {
	int json;
	json_t *problems;
};

static void report(void *payload, const char *kind, const char *what, const char *problem)
{
	struct fsck_out *out = payload;

	if (out->json)
		json_array_append_new(out->problems, json_pack("{s:s, s:s, s:s}", "kind", kind,
							       "what", what, "problem", problem));
	else
		fprintf(stderr, "error in %s %s: %s\n", kind, what, problem);
}

int cmd_fsck(int argc, const char **argv)
{
	struct fsck_out out = { 0 };
	struct option opts[] = {
		OPT_BOOL(0, "json", &out.json, "print a JSON report"),
		OPT_END()
	};
	struct mbr_fsck_stats stats = { 0 };
	struct mbr_repo *repo;
	struct progress *progress = NULL;
	int err;

	argc = parse_options(argc, argv, opts, fsck_usage);
	if (argc)
		usage_with_options(fsck_usage, opts);
	repo = setup_repo();
	out.problems = json_array();
	if (!out.json)
		progress = progress_start("Checking objects", 1);
	err = mbr_store_fsck(&stats, repo, report, &out, progress ? progress_update : NULL, progress);
	progress_stop(progress);
	mbr_repo_free(repo);
	if (err)
		die("fsck: %s", mbr_error_last());
	if (out.json)
		print_json(json_pack("{s:b, s:I, s:I, s:I, s:o}", "ok", stats.problems == 0,
				     "objects", (json_int_t)stats.objects_checked,
				     "commits", (json_int_t)stats.commits_checked,
				     "refs", (json_int_t)stats.refs_checked,
				     "problems", out.problems));
	else {
		printf("checked %llu objects, %llu versions, %llu refs: %llu problem%s\n",
		       (unsigned long long)stats.objects_checked,
		       (unsigned long long)stats.commits_checked,
		       (unsigned long long)stats.refs_checked,
		       (unsigned long long)stats.problems, stats.problems == 1 ? "" : "s");
		json_decref(out.problems);
	}
	return stats.problems ? 1 : 0;
}
