/*
 * export.c - mbr export REV -o FILE
 */
#include <string.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/store.h"

static const char *const export_usage[] = { "mbr export <rev> -o <file>", NULL };

int cmd_export(int argc, const char **argv)
{
	const char *out = NULL;
	struct option opts[] = {
		OPT_STRING('o', "output", &out, "file", "where to write the file ('-': standard output)"),
		OPT_END()
	};
	struct mbr_version *v = NULL;
	struct mbr_repo *repo;
	struct progress *progress = NULL;
	int err;

	argc = parse_options(argc, argv, opts, export_usage);
	if (argc != 1 || !out)
		usage_with_options(export_usage, opts);
	repo = setup_repo();
	if (mbr_version_load(&v, repo, argv[0]))
		die("%s", mbr_error_last());
	if (strcmp(out, "-"))
		progress = progress_start("Exporting", v->manifest->file_size);
	err = mbr_store_export(repo, v->manifest, out, progress ? progress_update : NULL, progress);
	progress_stop(progress);
	mbr_version_free(v);
	mbr_repo_free(repo);
	return err ? error("%s", mbr_error_last()) : 0;
}
