/*
 * types.c - the table of tensor element types (see types.h).
 *
 * Block sizes and byte sizes follow ggml's ggml-common.h block structs, as
 * gguf-py's GGML_QUANT_SIZES lists them; QK_K is 256.
 */
#include <string.h>
#include "mbr/common.h"
#include "mbr/types.h"

static const struct mbr_type_info type_table[] = {
	{ MBR_TYPE_F32, "F32", 1, 4 },
	{ MBR_TYPE_F16, "F16", 1, 2 },
	{ MBR_TYPE_Q4_0, "Q4_0", 32, 18 },
	{ MBR_TYPE_Q4_1, "Q4_1", 32, 20 },
	{ MBR_TYPE_Q5_0, "Q5_0", 32, 22 },
	{ MBR_TYPE_Q5_1, "Q5_1", 32, 24 },
	{ MBR_TYPE_Q8_0, "Q8_0", 32, 34 },
	{ MBR_TYPE_Q8_1, "Q8_1", 32, 36 },
	{ MBR_TYPE_Q2_K, "Q2_K", 256, 84 },
	{ MBR_TYPE_Q3_K, "Q3_K", 256, 110 },
	{ MBR_TYPE_Q4_K, "Q4_K", 256, 144 },
	{ MBR_TYPE_Q5_K, "Q5_K", 256, 176 },
	{ MBR_TYPE_Q6_K, "Q6_K", 256, 210 },
	{ MBR_TYPE_Q8_K, "Q8_K", 256, 292 },
	{ MBR_TYPE_IQ2_XXS, "IQ2_XXS", 256, 66 },
	{ MBR_TYPE_IQ2_XS, "IQ2_XS", 256, 74 },
	{ MBR_TYPE_IQ3_XXS, "IQ3_XXS", 256, 98 },
	{ MBR_TYPE_IQ1_S, "IQ1_S", 256, 50 },
	{ MBR_TYPE_IQ4_NL, "IQ4_NL", 32, 18 },
	{ MBR_TYPE_IQ3_S, "IQ3_S", 256, 110 },
	{ MBR_TYPE_IQ2_S, "IQ2_S", 256, 82 },
	{ MBR_TYPE_IQ4_XS, "IQ4_XS", 256, 136 },
	{ MBR_TYPE_I8, "I8", 1, 1 },
	{ MBR_TYPE_I16, "I16", 1, 2 },
	{ MBR_TYPE_I32, "I32", 1, 4 },
	{ MBR_TYPE_I64, "I64", 1, 8 },
	{ MBR_TYPE_F64, "F64", 1, 8 },
	{ MBR_TYPE_IQ1_M, "IQ1_M", 256, 56 },
	{ MBR_TYPE_BF16, "BF16", 1, 2 },
	{ MBR_TYPE_TQ1_0, "TQ1_0", 256, 54 },
	{ MBR_TYPE_TQ2_0, "TQ2_0", 256, 66 },
	{ MBR_TYPE_MXFP4, "MXFP4", 32, 17 },
	{ MBR_TYPE_U8, "U8", 1, 1 },
	{ MBR_TYPE_BOOL, "BOOL", 1, 1 },
	{ MBR_TYPE_U16, "U16", 1, 2 },
	{ MBR_TYPE_U32, "U32", 1, 4 },
	{ MBR_TYPE_U64, "U64", 1, 8 },
	{ MBR_TYPE_F8_E4M3, "F8_E4M3", 1, 1 },
	{ MBR_TYPE_F8_E5M2, "F8_E5M2", 1, 1 },
};

/* The table is short and ids are sparse: a linear scan is simplest. */
const struct mbr_type_info *mbr_type_get(int type)
{
	for (size_t i = 0; i < MBR_ARRAY_SIZE(type_table); i++)
		if (type_table[i].type == type)
			return &type_table[i];
	return NULL;
}

const struct mbr_type_info *mbr_type_by_name(const char *name)
{
	for (size_t i = 0; i < MBR_ARRAY_SIZE(type_table); i++)
		if (!strcmp(type_table[i].name, name))
			return &type_table[i];
	return NULL;
}

int mbr_type_nbytes(uint64_t *out, int type, const uint64_t *ne, uint32_t n_dims)
{
	const struct mbr_type_info *ti = mbr_type_get(type);
	uint64_t rows = 1, row_bytes, total;

	if (!ti)
		return MBR_EINVALID;
	if (n_dims == 0) {
		/* A scalar is one element, which only a plain type can hold. */
		if (ti->block_elems != 1)
			return MBR_EINVALID;
		*out = ti->block_bytes;
		return 0;
	}
	if (ne[0] % ti->block_elems)
		return MBR_EINVALID;
	if (MBR_MUL_OVERFLOW(&row_bytes, ne[0] / ti->block_elems,
			     (uint64_t)ti->block_bytes))
		return MBR_EINVALID;
	for (uint32_t d = 1; d < n_dims; d++)
		if (MBR_MUL_OVERFLOW(&rows, rows, ne[d]))
			return MBR_EINVALID;
	if (MBR_MUL_OVERFLOW(&total, row_bytes, rows))
		return MBR_EINVALID;
	*out = total;
	return 0;
}
