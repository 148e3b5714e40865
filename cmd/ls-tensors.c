/*
 * ls-tensors.c - mbr ls-tensors REV: one line per tensor,
 * "<object-id> <type> <shape> <name>" (plumbing; chunked tensors list
 * every chunk id, comma-separated).
 */
#include <stdio.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/store.h"
#include "mbr/types.h"

static const char *const ls_tensors_usage[] = { "mbr ls-tensors <rev>", NULL };

int cmd_ls_tensors(int argc, const char **argv)
{
	struct option opts[] = { OPT_END() };
	struct mbr_version *v = NULL;
	struct mbr_repo *repo;

	argc = parse_options(argc, argv, opts, ls_tensors_usage);
	if (argc != 1)
		usage_with_options(ls_tensors_usage, opts);
	repo = setup_repo();
	if (mbr_version_load(&v, repo, argv[0]))
		die("%s", mbr_error_last());
	for (size_t i = 0; i < v->manifest->n_tensors; i++) {
		const struct mbr_manifest_tensor *t = &v->manifest->tensors[i];
		const struct mbr_type_info *ti = mbr_type_get(t->type);
		char hex[MBR_OID_STRSZ];

		for (size_t c = 0; c < t->n_chunks; c++)
			printf("%s%s", c ? "," : "", mbr_oid_fmt(hex, &t->chunks[c]));
		printf(" %s ", ti ? ti->name : "?");
		for (uint32_t d = 0; d < t->n_dims; d++)
			printf("%s%llu", d ? "x" : "", (unsigned long long)t->ne[d]);
		printf(" %s\n", t->name);
	}
	mbr_version_free(v);
	mbr_repo_free(repo);
	return 0;
}
