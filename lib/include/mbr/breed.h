/*
 * breed.h - operators that make a new version from stored versions. The
 * result is stored like mbr add's (store.h), with a commit that records
 * the operator, its parameters and the input versions as parents.
 */
#ifndef MBR_BREED_H
#define MBR_BREED_H

#include "gguf-write.h"
#include "repo.h"
#include "store.h"

/*
 * The i-th target type of mbr breed quantize, spelt as llama-quantize
 * spells it; NULL past the last.
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
 * progress (NULL: none) hears of the file's tensor bytes as they are
 * written, which is where the quantizing happens.
 */
int mbr_breed_quantize(struct mbr_add_result *out, struct mbr_repo *repo,
		       const char *rev, const char *type_name, const char *name,
		       int n_threads, const struct mbr_progress *progress);

/* ---- shared by the operators ------------------------------------- */

/*
 * The enum mbr_type and llama_ftype (general.file_type) of a type of the
 * list above, for operators that give every quantized tensor one type:
 * MBR_EINVALID for a name not in it, MBR_EUNSUPPORTED for a K-quant mix
 * (which chooses a type per tensor; only mbr_breed_quantize() makes one).
 */
int mbr_breed_type(int *type, uint32_t *file_type, const char *type_name);

/* Would llama-quantize quantize this tensor (a matrix named "*weight"
 * that is not a norm or one of the few it leaves alone)? */
int mbr_breed_is_quantizable(const struct mbr_tensor_info *t);

/*
 * Add mf's metadata to gw in order. With file_type >= 0, as
 * llama-quantize does: general.quantization_version (2) and
 * general.file_type (file_type) are appended last, replacing the old
 * entries, and the split.* keys are dropped; otherwise copied as they are.
 */
int mbr_breed_copy_metadata(struct mbr_gguf_writer *gw,
			    const struct mbr_modelfile *mf, int64_t file_type);

/*
 * "<model>-<suffix in lower case>", the model being rev without ~N / ^N,
 * when that is a model (branch) name; MBR_EINVALID asking for a name
 * otherwise.
 */
int mbr_breed_default_name(struct strbuf *out, struct mbr_repo *repo,
			   const char *rev, const char *suffix);

/* A new empty file <repo>/.mbr/tmp/<op>-XXXXXX, its name in path. */
int mbr_breed_temp_file(struct strbuf *path, const struct mbr_repo *repo,
			const char *op);

#endif
