/*
 * setup.c - find the registry a command runs in.
 */
#include <stdlib.h>
#include "builtin.h"
#include "mbr/error.h"

struct mbr_repo *setup_repo(void)
{
	struct mbr_repo *repo = NULL;
	const char *start = opt_chdir ? opt_chdir : getenv("MBR_DIR");

	if (mbr_repo_open(&repo, start))
		die("%s", mbr_error_last());
	return repo;
}
