/*
 * types.h - the table of tensor element types mbr can store.
 *
 * Ids 0..39 are ggml's type ids exactly as GGUF files carry them
 * (ggml.h: enum ggml_type); gaps are ids ggml removed. Types that only
 * safetensors has get ids from 100 up. A type is "known" when its block
 * size and byte size are known, which is all the store needs; whether the
 * engine can compute with it is a separate question (kernels/).
 */
#ifndef MBR_TYPES_H
#define MBR_TYPES_H

#include <stdint.h>

enum mbr_type {
	MBR_TYPE_F32 = 0, MBR_TYPE_F16 = 1, MBR_TYPE_Q4_0 = 2, MBR_TYPE_Q4_1 = 3,
	MBR_TYPE_Q5_0 = 6, MBR_TYPE_Q5_1 = 7, MBR_TYPE_Q8_0 = 8, MBR_TYPE_Q8_1 = 9,
	MBR_TYPE_Q2_K = 10, MBR_TYPE_Q3_K = 11, MBR_TYPE_Q4_K = 12,
	MBR_TYPE_Q5_K = 13, MBR_TYPE_Q6_K = 14, MBR_TYPE_Q8_K = 15,
	MBR_TYPE_IQ2_XXS = 16, MBR_TYPE_IQ2_XS = 17, MBR_TYPE_IQ3_XXS = 18,
	MBR_TYPE_IQ1_S = 19, MBR_TYPE_IQ4_NL = 20, MBR_TYPE_IQ3_S = 21,
	MBR_TYPE_IQ2_S = 22, MBR_TYPE_IQ4_XS = 23, MBR_TYPE_I8 = 24,
	MBR_TYPE_I16 = 25, MBR_TYPE_I32 = 26, MBR_TYPE_I64 = 27,
	MBR_TYPE_F64 = 28, MBR_TYPE_IQ1_M = 29, MBR_TYPE_BF16 = 30,
	MBR_TYPE_TQ1_0 = 34, MBR_TYPE_TQ2_0 = 35, MBR_TYPE_MXFP4 = 39,
	/* safetensors-only dtypes */
	MBR_TYPE_U8 = 100, MBR_TYPE_BOOL = 101, MBR_TYPE_U16 = 102,
	MBR_TYPE_U32 = 103, MBR_TYPE_U64 = 104, MBR_TYPE_F8_E4M3 = 105,
	MBR_TYPE_F8_E5M2 = 106
};

struct mbr_type_info {
	int type;		/* enum mbr_type */
	const char *name;	/* "Q8_0", "F32", ... as ggml / safetensors spell it */
	uint32_t block_elems;	/* elements per block (1 for plain types) */
	uint32_t block_bytes;	/* bytes per block */
};

/* NULL when the id is unknown. */
const struct mbr_type_info *mbr_type_get(int type);
/* Case-sensitive name lookup ("Q4_K", "BF16"); NULL when unknown. */
const struct mbr_type_info *mbr_type_by_name(const char *name);

/*
 * Bytes of a tensor of this type and shape (ne[0] is the fastest-varying
 * dimension, as in ggml). Returns 0 and sets *out, or MBR_EINVALID when the
 * type is unknown, ne[0] is not a multiple of the block size, or the size
 * overflows 64 bits. n_dims may be 0 (a scalar: one element).
 */
int mbr_type_nbytes(uint64_t *out, int type, const uint64_t *ne, uint32_t n_dims);

#endif
