/*
 * gc.c - mbr gc [--dry-run] [--json]: delete objects nothing refers to.
 */
#include <stdio.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/store.h"

static const char *const gc_usage[] = { "mbr gc [--dry-run] [--json]", NULL };

int cmd_gc(int argc, const char **argv)
{
	int dry_run = 0, json = 0;
	struct option opts[] = {
		OPT_BOOL('n', "dry-run", &dry_run, "only count what would be deleted"),
		OPT_BOOL(0, "json", &json, "print the result as JSON"),
		OPT_END()
	};
	struct mbr_gc_stats stats = { 0 };
	struct mbr_repo *repo;
	struct strbuf size = STRBUF_INIT;

	argc = parse_options(argc, argv, opts, gc_usage);
	if (argc)
		usage_with_options(gc_usage, opts);
	repo = setup_repo();
	if (mbr_store_gc(&stats, repo, dry_run))
		die("gc: %s", mbr_error_last());
	mbr_repo_free(repo);
	if (json) {
		print_json(json_pack("{s:b, s:I, s:I, s:I}", "dry_run", dry_run,
				     "objects_kept", (json_int_t)stats.objects_kept,
				     "objects_removed", (json_int_t)stats.objects_removed,
				     "bytes_removed", (json_int_t)stats.bytes_removed));
		return 0;
	}
	strbuf_humanise_bytes(&size, stats.bytes_removed);
	printf("%s %llu unreachable object%s (%s), kept %llu\n",
	       dry_run ? "would remove" : "removed", (unsigned long long)stats.objects_removed,
	       stats.objects_removed == 1 ? "" : "s", size.buf,
	       (unsigned long long)stats.objects_kept);
	strbuf_release(&size);
	return 0;
}
