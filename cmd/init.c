/*
 * init.c - mbr init [DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"

static const char *const init_usage[] = { "mbr init [<dir>]", NULL };

int cmd_init(int argc, const char **argv)
{
	int quiet = 0;
	struct option opts[] = {
		OPT_BOOL('q', "quiet", &quiet, "print nothing"),
		OPT_END()
	};
	const char *dir;
	char *created = NULL;
	int err;

	argc = parse_options(argc, argv, opts, init_usage);
	if (argc > 1)
		usage_with_options(init_usage, opts);
	dir = argc ? argv[0] : opt_chdir ? opt_chdir : ".";
	err = mbr_repo_init(&created, dir);
	if (err == MBR_EEXISTS)
		return error("%s", mbr_error_last());
	if (err)
		die_lib("init");
	if (!quiet)
		printf("Initialized empty mbr registry in %s\n", created);
	free(created);
	return 0;
}
