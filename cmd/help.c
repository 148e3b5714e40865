/*
 * help.c - mbr help [COMMAND]: the command's manual page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "builtin.h"

#ifndef MBR_DOC_DIR
#define MBR_DOC_DIR "Documentation"
#endif

static int print_file(const char *path)
{
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
	return 0;
}

int cmd_help(int argc, const char **argv)
{
	char path[4096];
	const char *dir = getenv("MBR_DOC_DIR") ? getenv("MBR_DOC_DIR") : MBR_DOC_DIR;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		list_commands(stdout);
		return 0;
	}
	if (strchr(argv[1], '/') || strchr(argv[1], '.'))
		return error("no manual for '%s'", argv[1]);
	snprintf(path, sizeof(path), "%s/mbr-%s.adoc", dir, argv[1]);
	if (print_file(path))
		return error("no manual for '%s' (looked in %s); try 'mbr %s -h'",
			     argv[1], dir, argv[1]);
	return 0;
}
