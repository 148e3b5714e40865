/*
 * hash-object.c - mbr hash-object [-w] FILE: the object id of a file's
 * bytes; with -w, store it as an object too (plumbing, for tests/scripts).
 */
#include <stdio.h>
#include <stdlib.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"

static const char *const hash_object_usage[] = { "mbr hash-object [-w] <file>", NULL };

static char *read_all(const char *path, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		die("cannot open '%s'", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	if (ferror(f))
		die("cannot read '%s'", path);
	fclose(f);
	return strbuf_detach(&sb, len);
}

int cmd_hash_object(int argc, const char **argv)
{
	int write_it = 0;
	struct option opts[] = {
		OPT_BOOL('w', "write", &write_it, "store the object"),
		OPT_END()
	};
	char hex[MBR_OID_STRSZ];
	struct mbr_oid id;
	size_t len;
	char *data;

	argc = parse_options(argc, argv, opts, hash_object_usage);
	if (argc != 1)
		usage_with_options(hash_object_usage, opts);
	data = read_all(argv[0], &len);
	if (write_it) {
		struct mbr_repo *repo = setup_repo();
		int written;

		if (mbr_odb_hash_write(&id, repo->odb, &written, data, len, MBR_ODB_TRY_COMPRESS))
			die_lib("hash-object");
		mbr_repo_free(repo);
	} else {
		mbr_sha256(&id, data, len);
	}
	printf("%s\n", mbr_oid_fmt(hex, &id));
	free(data);
	return 0;
}
