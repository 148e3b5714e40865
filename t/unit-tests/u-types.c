#include <string.h>
#include "unit.h"
#include "mbr/types.h"

/*
 * Independent truth: ggml's ggml-common.h block structs as gguf-py's
 * GGML_QUANT_SIZES lists them, (id, name, elements, bytes).
 */
static const struct { int id; const char *name; unsigned elems, bytes; } ggml[] = {
	{ 0, "F32", 1, 4 }, { 1, "F16", 1, 2 }, { 2, "Q4_0", 32, 18 },
	{ 3, "Q4_1", 32, 20 }, { 6, "Q5_0", 32, 22 }, { 7, "Q5_1", 32, 24 },
	{ 8, "Q8_0", 32, 34 }, { 9, "Q8_1", 32, 36 }, { 10, "Q2_K", 256, 84 },
	{ 11, "Q3_K", 256, 110 }, { 12, "Q4_K", 256, 144 },
	{ 13, "Q5_K", 256, 176 }, { 14, "Q6_K", 256, 210 },
	{ 15, "Q8_K", 256, 292 }, { 16, "IQ2_XXS", 256, 66 },
	{ 17, "IQ2_XS", 256, 74 }, { 18, "IQ3_XXS", 256, 98 },
	{ 19, "IQ1_S", 256, 50 }, { 20, "IQ4_NL", 32, 18 },
	{ 21, "IQ3_S", 256, 110 }, { 22, "IQ2_S", 256, 82 },
	{ 23, "IQ4_XS", 256, 136 }, { 24, "I8", 1, 1 }, { 25, "I16", 1, 2 },
	{ 26, "I32", 1, 4 }, { 27, "I64", 1, 8 }, { 28, "F64", 1, 8 },
	{ 29, "IQ1_M", 256, 56 }, { 30, "BF16", 1, 2 },
	{ 34, "TQ1_0", 256, 54 }, { 35, "TQ2_0", 256, 66 },
	{ 39, "MXFP4", 32, 17 },
	/* safetensors-only dtypes */
	{ 100, "U8", 1, 1 }, { 101, "BOOL", 1, 1 }, { 102, "U16", 1, 2 },
	{ 103, "U32", 1, 4 }, { 104, "U64", 1, 8 }, { 105, "F8_E4M3", 1, 1 },
	{ 106, "F8_E5M2", 1, 1 },
};

static void test_types__table_matches_ggml(void)
{
	for (size_t i = 0; i < sizeof(ggml) / sizeof(ggml[0]); i++) {
		const struct mbr_type_info *ti = mbr_type_get(ggml[i].id);

		UT_ASSERT(ti);
		UT_EQ_INT(ti->type, ggml[i].id);
		UT_EQ_STR(ti->name, ggml[i].name);
		UT_EQ_INT(ti->block_elems, ggml[i].elems);
		UT_EQ_INT(ti->block_bytes, ggml[i].bytes);
		UT_CHECK(mbr_type_by_name(ggml[i].name) == ti);
	}
}

static void test_types__unknown(void)
{
	/* 4 and 5 were Q4_2/Q4_3, removed from ggml; 31..33 likewise */
	static const int gone[] = { -1, 4, 5, 31, 32, 33, 36, 40, 99, 107 };

	int known = 0;

	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		UT_CHECK(mbr_type_get(gone[i]) == NULL);
	for (int id = 0; id < 1000; id++)
		known += mbr_type_get(id) != NULL;
	UT_EQ_INT(known, sizeof(ggml) / sizeof(ggml[0]));
	UT_CHECK(mbr_type_by_name("bf16") == NULL);	/* case-sensitive */
	UT_CHECK(mbr_type_by_name("Q4_2") == NULL);
	UT_CHECK(mbr_type_by_name("") == NULL);
}

static void test_types__nbytes(void)
{
	uint64_t n = 0;
	uint64_t q40[] = { 64, 3 }, scalar[1] = { 0 }, k[] = { 512, 2, 3, 4 };
	uint64_t empty[] = { 0, 7 }, f32[] = { 5, 7, 11 };

	UT_EQ_INT(mbr_type_nbytes(&n, MBR_TYPE_Q4_0, q40, 2), 0);
	UT_EQ_INT(n, 2 * 18 * 3);
	UT_EQ_INT(mbr_type_nbytes(&n, MBR_TYPE_Q6_K, k, 4), 0);
	UT_EQ_INT(n, 2 * 210 * 2 * 3 * 4);
	UT_EQ_INT(mbr_type_nbytes(&n, MBR_TYPE_F32, f32, 3), 0);
	UT_EQ_INT(n, 5 * 7 * 11 * 4);
	UT_EQ_INT(mbr_type_nbytes(&n, MBR_TYPE_I64, scalar, 0), 0);
	UT_EQ_INT(n, 8);
	UT_EQ_INT(mbr_type_nbytes(&n, MBR_TYPE_F16, empty, 2), 0);
	UT_EQ_INT(n, 0);
}

static void test_types__nbytes_refuses(void)
{
	uint64_t n = 12345;
	uint64_t odd[] = { 255, 1 }, huge[] = { 1ULL << 32, 1ULL << 32 };
	uint64_t rowbig[] = { (1ULL << 63) / 8 * 8 }, one[] = { 32 };

	UT_EQ_INT(mbr_type_nbytes(&n, MBR_TYPE_Q4_K, odd, 2), MBR_EINVALID);
	UT_EQ_INT(mbr_type_nbytes(&n, MBR_TYPE_F32, huge, 2), MBR_EINVALID);
	UT_EQ_INT(mbr_type_nbytes(&n, MBR_TYPE_F32, rowbig, 1), MBR_EINVALID);
	UT_EQ_INT(mbr_type_nbytes(&n, 5, one, 1), MBR_EINVALID);
	UT_EQ_INT(mbr_type_nbytes(&n, MBR_TYPE_Q8_0, one, 0), MBR_EINVALID);
	UT_EQ_INT(n, 12345);	/* untouched on failure */
}

static const struct unit_test tests[] = {
	UT(test_types__table_matches_ggml),
	UT(test_types__unknown),
	UT(test_types__nbytes),
	UT(test_types__nbytes_refuses),
	{ 0 }
};
UNIT_MAIN(tests)
