/*
 * gguf-fields.c - test-tool gguf-fields FILE TENSOR: where the fields of
 * one tensor's info lie in a GGUF file, as shell assignments
 *
 *	ndims=<offset> ne0=<offset> type=<offset> offset=<offset>
 *	data=<absolute offset of its data> size=<bytes>
 *
 * so hostile-input tests can patch exactly one field with dd.
 */
#include <stdio.h>
#include <string.h>
#include "test-tool.h"
#include "mbr/error.h"
#include "mbr/modelfile.h"

int cmd__gguf_fields(int argc, const char **argv)
{
	struct mbr_modelfile *mf = NULL;
	const struct mbr_tensor_info *t;
	uint64_t ndims;

	if (argc != 3) {
		fprintf(stderr, "usage: test-tool gguf-fields <file> <tensor>\n");
		return 129;
	}
	if (mbr_modelfile_open(&mf, argv[1])) {
		fprintf(stderr, "gguf-fields: %s\n", mbr_error_last());
		return 1;
	}
	t = mbr_modelfile_tensor(mf, argv[2]);
	if (!t || mf->format != MBR_FORMAT_GGUF) {
		fprintf(stderr, "gguf-fields: no GGUF tensor '%s' in %s\n", argv[2], argv[1]);
		mbr_modelfile_free(mf);
		return 1;
	}
	/* tensor info: u64 name length, name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset */
	ndims = t->info_offset + 8 + strlen(t->name);
	printf("ndims=%llu ne0=%llu type=%llu offset=%llu data=%llu size=%llu\n",
	       (unsigned long long)ndims, (unsigned long long)(ndims + 4),
	       (unsigned long long)(ndims + 4 + 8 * t->n_dims),
	       (unsigned long long)(ndims + 8 + 8 * t->n_dims),
	       (unsigned long long)t->offset, (unsigned long long)t->size);
	mbr_modelfile_free(mf);
	return 0;
}
