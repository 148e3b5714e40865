/*
 * weights.h - a model's metadata, tensor table and tensor bytes, from a
 * plain GGUF file or from a stored version, for the inference engine.
 *
 * From a file: the file is mmapped and each tensor points into it. From a
 * version: the header segments (metadata, tokenizer arrays, tensor table)
 * are read into memory and parsed, and each tensor points into its mmapped
 * object, so raw objects are used in place without a copy. Tensors stored
 * in several chunks are the exception: they are joined into one buffer.
 */
#ifndef MBR_WEIGHTS_H
#define MBR_WEIGHTS_H

#include "modelfile.h"
#include "repo.h"

struct mbr_weights {
	struct mbr_modelfile *mf;	/* metadata and tensor table (owned) */
	const void **data;		/* data[i]: bytes of mf->tensors[i] */
	const char *name;		/* for messages: the path or revision */
	void *priv;
};

int mbr_weights_open_file(struct mbr_weights **out, const char *path);
int mbr_weights_open_version(struct mbr_weights **out, struct mbr_repo *repo, const char *rev);
void mbr_weights_free(struct mbr_weights *w);

/* The tensor called name: its bytes, and its info in *info when not NULL.
 * NULL when there is no such tensor. Borrowed until mbr_weights_free. */
const void *mbr_weights_tensor(const struct mbr_weights *w, const char *name,
			       const struct mbr_tensor_info **info);

#endif
