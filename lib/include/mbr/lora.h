/*
 * lora.h - LoRA adapters in llama.cpp's GGUF format: load one, check it
 * against its base model, and the operators that bake an adapter into
 * its base and extract one from a fine-tune.
 *
 * An adapter is a GGUF file with general.type "adapter", adapter.type
 * "lora", general.architecture the base's, adapter.lora.alpha (F32; a
 * missing key reads as 0, as llama.cpp reads it) and, for each base
 * matrix W it changes, a pair of tensors "<W's name>.lora_a" of ggml shape
 * [n_in, rank] and "<W's name>.lora_b" of shape [rank, n_out]. Applied
 * at scale s, W x becomes
 *
 *	W x + scale * B (A x),  scale = alpha ? s * alpha / rank : s
 *
 * with rank B's ne[0]: llama.cpp's get_scale. Tensors named "*_norm.weight"
 * are ignored, as llama.cpp ignores them; any other tensor is an error.
 * The file is untrusted: every check names the file and the tensor.
 */
#ifndef MBR_LORA_H
#define MBR_LORA_H

#include "hash.h"
#include "repo.h"
#include "store.h"
#include "weights.h"

struct mbr_lora_pair {
	char *name;				/* the base tensor's */
	const struct mbr_tensor_info *a;	/* [n_in, rank] */
	const struct mbr_tensor_info *b;	/* [rank, n_out] */
	const void *a_data, *b_data;		/* in place (mmapped) */
};

struct mbr_lora {
	struct mbr_weights *w;		/* the adapter's tensors (owned) */
	char *name;			/* the path or revision, for messages */
	char arch[64];			/* general.architecture */
	float alpha;			/* adapter.lora.alpha; 0: none */
	struct mbr_lora_pair *pairs;	/* in the file's order of lora_a */
	size_t n_pairs;
	/* Which adapter this is: the stored version's commit and the
	 * SHA-256 of its manifest, or for a file no commit ("") and the
	 * file's SHA-256. */
	char commit[MBR_COMMIT_HEXSZ + 1];
	struct mbr_oid digest;
};

/* Load and check an adapter file (mmapped) or a stored version. */
int mbr_lora_open_file(struct mbr_lora **out, const char *path);
int mbr_lora_open_version(struct mbr_lora **out, struct mbr_repo *repo,
			  const char *rev);
void mbr_lora_free(struct mbr_lora *l);

/* Is this GGUF metadata an adapter's (general.type "adapter")? */
int mbr_lora_is_adapter(const struct mbr_modelfile *mf);

/*
 * Does the adapter fit base? The same architecture, and for each pair a
 * base tensor of that name with W.ne0 == A.ne0 and W.ne1 == B.ne1 (the
 * loader's checks in llama.cpp). MBR_EINVALID naming both files and the
 * tensor otherwise; MBR_EUNSUPPORTED for token_embd, whose A and B
 * llama.cpp flips, and which mbr does not apply.
 */
int mbr_lora_check(const struct mbr_lora *l, const struct mbr_weights *base);

/* The pair changing the base tensor name; NULL when there is none. */
const struct mbr_lora_pair *mbr_lora_find(const struct mbr_lora *l, const char *name);

/* alpha ? user_scale * alpha / rank : user_scale (see above). */
float mbr_lora_scale(const struct mbr_lora *l, const struct mbr_lora_pair *p,
		     float user_scale);

/*
 * Bake adapter into base, as llama-export-lora does: each changed matrix
 * becomes W + scale * B A computed in F32 (W dequantized when quantized),
 * stored as F16, or F32 when W was F32; every other tensor is copied (the
 * same objects in the store) and general.file_type becomes MOSTLY_F16.
 * Stored as the version "name" (NULL: "<base>-lora") with operator
 * "lora-merge", params {scale} and parents base and adapter. progress
 * (NULL: none) hears of the file's tensor bytes as they are written.
 */
int mbr_breed_lora_merge(struct mbr_add_result *out, struct mbr_repo *repo,
			 const char *base, const char *adapter, float scale,
			 const char *name, const struct mbr_progress *progress);

/*
 * The rank-r adapter closest to descendant - base: for each 2-D weight
 * that differs (token_embd aside), the rank-r truncated SVD of the
 * difference, A = sqrt(S) V^T and B = U sqrt(S), F32, alpha = r (scale
 * 1). Written in llama.cpp's adapter format and stored as the version
 * "name" (NULL: "<descendant>-lora-r<r>") with operator "lora-extract",
 * params {rank}, parents base and descendant, and base recorded as the
 * adapter's base (operator.json "adapter"). progress (NULL: none) hears
 * of each factorized matrix's bytes (of the base's tensor), out of all
 * the 2-D weights'.
 */
int mbr_breed_lora_extract(struct mbr_add_result *out, struct mbr_repo *repo,
			   const char *base, const char *descendant, int rank,
			   const char *name, const struct mbr_progress *progress);

/* A matrix (ggml [cols, rows]) of any type the kernels dequantize, as
 * rows x cols floats in dst. */
void mbr_lora_dequantize(float *dst, const struct mbr_tensor_info *t, const void *data);

#endif
