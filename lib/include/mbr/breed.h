/*
 * breed.h - operators that make a new version from stored versions. The
 * result is stored like mbr add's (store.h), with a commit that records
 * the operator, its parameters and the input versions as parents.
 */
#ifndef MBR_BREED_H
#define MBR_BREED_H

#include "repo.h"
#include "store.h"

/*
 * The i-th target type of mbr breed quantize, spelt as llama-quantize
 * spells it; NULL past the last. Some are not implemented yet: for those,
 * mbr_breed_quantize() fails with MBR_EUNSUPPORTED.
 */
const char *mbr_quantize_type_name(size_t i);

/*
 * Quantize version rev to type_name as llama-quantize does without an
 * importance matrix: the same metadata (general.file_type set, and
 * general.quantization_version 2, both moved last), the same tensor
 * order, the same per-tensor type choice and the same bytes. Quantized
 * sources are dequantized and requantized. The file is built under
 * <repo>/.mbr/tmp and stored as the version "name" (NULL:
 * "<source>-<type in lower case>") with operator "quantize" and the
 * source as parent. MBR_EINVALID for a type not in the list above.
 */
int mbr_breed_quantize(struct mbr_add_result *out, struct mbr_repo *repo,
		       const char *rev, const char *type_name, const char *name,
		       int n_threads);

#endif
