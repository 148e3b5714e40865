/*
 * modelfile-internal.h - what modelfile.c shares with the format parsers
 * gguf.c and safetensors.c.
 *
 * A format parser fills version, alignment, data_offset, kv and tensors
 * (tensor offsets absolute, sizes computed) and says where its header ends;
 * modelfile.c then checks what both formats have in common (names unique,
 * tensor data inside the file and not overlapping) and lays out regions.
 */
#ifndef MBR_MODELFILE_INTERNAL_H
#define MBR_MODELFILE_INTERNAL_H

#include "mbr/modelfile.h"

/* Longest metadata key or tensor name accepted, in bytes. */
#define MBR_MAX_NAME_LEN 65535

/* Set the last error to "<mf->path>: <message>" and return code. */
int mbr_modelfile__error(const struct mbr_modelfile *mf, int code,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copy len bytes and NUL-terminate them; NULL when out of memory. */
char *mbr_modelfile__strndup(const void *bytes, size_t len);

int mbr_gguf__parse(struct mbr_modelfile *mf, uint64_t *header_end);
int mbr_safetensors__parse(struct mbr_modelfile *mf, uint64_t *header_end);

#endif
