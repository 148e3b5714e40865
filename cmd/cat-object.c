/*
 * cat-object.c - mbr cat-object [-s] ID: an object's bytes (or size).
 */
#include <stdio.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"

static const char *const cat_object_usage[] = { "mbr cat-object [-s] <object-id>", NULL };

int cmd_cat_object(int argc, const char **argv)
{
	int size_only = 0;
	struct option opts[] = {
		OPT_BOOL('s', "size", &size_only, "print the size instead of the bytes"),
		OPT_END()
	};
	struct mbr_object *obj = NULL;
	struct mbr_repo *repo;
	struct mbr_oid id;

	argc = parse_options(argc, argv, opts, cat_object_usage);
	if (argc != 1)
		usage_with_options(cat_object_usage, opts);
	if (mbr_oid_parse(&id, argv[0]))
		die("'%s' is not an object id", argv[0]);
	repo = setup_repo();
	if (mbr_odb_read(&obj, repo->odb, &id))
		die("%s", mbr_error_last());
	if (size_only)
		printf("%llu\n", (unsigned long long)obj->size);
	else
		fwrite(obj->data, 1, obj->size, stdout);
	mbr_object_free(obj);
	mbr_repo_free(repo);
	return 0;
}
