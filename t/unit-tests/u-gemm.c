/*
 * u-gemm.c - the batched products against the dot products they stand in
 * for: every output of gemm must equal, bit for bit, the same set's
 * vec_dot of that weight row and token, for ragged row counts, partial
 * token groups and rows with tails, and nothing outside the tile may be
 * written. The several-row dots (vec_dot_rows) are held to the same
 * rule: each of their outputs is the set's vec_dot of that row.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include "unit.h"
#include "kernels.h"
#include "quants.h"
#include "mbr/types.h"

static const int gemm_types[] = {
	MBR_TYPE_F16, MBR_TYPE_Q8_0, MBR_TYPE_Q4_0, MBR_TYPE_Q4_K, MBR_TYPE_Q6_K,
};

#define SENTINEL -12345.0f

/* Where the K-quants, which mbr cannot quantize, keep fp16 scales. */
static const struct { int type; short at[2]; } half_fields[] = {
	{ MBR_TYPE_Q4_K, { offsetof(struct block_q4_K, d), offsetof(struct block_q4_K, dmin) } },
	{ MBR_TYPE_Q6_K, { offsetof(struct block_q6_K, d), -1 } },
};

/* Random blocks, every code and sub-block scale possible (extremes
 * included), with sane fp16 scales. */
static void random_blocks(int type, unsigned char *w, size_t bytes)
{
	const struct mbr_type_info *ti = mbr_type_get(type);

	for (size_t i = 0; i < bytes; i++)
		w[i] = (unsigned char)(int)(128.0f + 128.0f * ut_rng_float());
	for (size_t k = 0; k < MBR_ARRAY_SIZE(half_fields); k++) {
		if (half_fields[k].type != type)
			continue;
		for (size_t b = 0; b < bytes; b += ti->block_bytes)
			for (int f = 0; f < 2 && half_fields[k].at[f] >= 0; f++) {
				mbr_half h = mbr_fp32_to_fp16(0.001f + 0.004f * fabsf(ut_rng_float()));

				memcpy(w + b + half_fields[k].at[f], &h, sizeof(h));
			}
	}
}

/* Random matrices: rows x n weights, tokens x n activations. */
static void fill(const struct mbr_kernel_traits *wt, const struct mbr_kernel_traits *xt,
		 int64_t n, int rows, int tokens, unsigned char *w, unsigned char *x)
{
	const struct mbr_kernel_traits *q = mbr_kernel_traits_isa(wt->type, MBR_KERNELS_REF);
	float *f = malloc((size_t)n * sizeof(*f));

	for (int r = 0; r < rows; r++) {
		unsigned char *row = w + r * mbr_row_size(wt->type, n);

		if (!q->quantize) {
			random_blocks(wt->type, row, mbr_row_size(wt->type, n));
			continue;
		}
		for (int64_t i = 0; i < n; i++)
			f[i] = ut_rng_float() * (float)(1 + i % 5);
		q->quantize(f, row, n);
	}
	for (int t = 0; t < tokens; t++) {
		for (int64_t i = 0; i < n; i++)
			f[i] = ut_rng_float() * (float)(1 + (i / 32) % 7);
		xt->from_float(f, x + t * mbr_row_size(xt->type, n), n);
	}
	free(f);
}

/*
 * One gemm call against vec_dot; the number of outputs that differ, plus
 * one if the kernel left some of the weights it was to fetch ahead unread
 * (all of them, unless its rows are too short for its steps).
 */
static int check_case(const struct mbr_kernel_traits *t, int64_t n, int rows,
		      int tokens)
{
	const struct mbr_kernel_traits *xt = mbr_kernel_traits(t->vec_dot_type);
	size_t wrow = mbr_row_size(t->type, n), xrow = mbr_row_size(xt->type, n);
	size_t stride = (size_t)rows + 3;	/* gaps that must stay untouched */
	/* exact sizes, so that ASan sees any read past the operands */
	unsigned char *w = malloc(wrow * rows), *x = malloc(xrow * tokens);
	/* a set without a packer reads x in place */
	void *xp = t->gemm_pack ? malloc(t->gemm_pack_size(n)) : x;
	float *out = malloc(stride * MBR_GEMM_TOKENS * sizeof(*out));
	int bad = 0, nonzero = 0;
	char next[4099];
	struct mbr_gemm_ahead ahead = { next, next + sizeof(next), 0 };

	if (!w || !x || !xp || !out) {
		free(w), free(x), free(out);
		if (t->gemm_pack)
			free(xp);
		return -1;
	}
	fill(t, xt, n, rows, tokens, w, x);
	for (size_t i = 0; i < stride * MBR_GEMM_TOKENS; i++)
		out[i] = SENTINEL;
	if (t->gemm_pack)
		t->gemm_pack(n, tokens, xp, x, xrow);
	t->gemm(n, rows, tokens, out, stride, w, wrow, xp, &ahead);
	if (ahead.p < ahead.end && n >= 32) {
		printf("# %s n=%lld rows %d tokens %d: %td bytes ahead not fetched\n",
		       mbr_type_get(t->type)->name, (long long)n, rows, tokens,
		       ahead.end - ahead.p);
		bad++;
	}
	for (int tok = 0; tok < MBR_GEMM_TOKENS; tok++)
		for (size_t r = 0; r < stride; r++) {
			float got = out[tok * stride + r], want = SENTINEL;

			if (tok < tokens && r < (size_t)rows)
				t->vec_dot(n, &want, w + r * wrow, x + tok * xrow);
			nonzero += got != 0 && got != SENTINEL;
			if (memcmp(&got, &want, sizeof(got))) {
				if (!bad)
					printf("# %s n=%lld row %zu token %d: %.9g, want %.9g\n",
					       mbr_type_get(t->type)->name, (long long)n,
					       r, tok, got, want);
				bad++;
			}
		}
	if (t->gemm_pack)
		free(xp);
	free(w), free(x), free(out);
	return bad + (nonzero == 0);
}

/* Every set that has batched products; how many had some. */
static int each_gemm(int (*fn)(const struct mbr_kernel_traits *t))
{
	int seen = 0;

	for (int isa = MBR_KERNELS_REF; isa <= MBR_KERNELS_AVX512; isa++)
		for (size_t i = 0; i < MBR_ARRAY_SIZE(gemm_types); i++) {
			const struct mbr_kernel_traits *t = mbr_kernel_traits_isa(gemm_types[i], isa);

			if (!t || !t->gemm)
				continue;
			seen++;
			UT_EQ_INT(fn(t), 0);
		}
	return seen;
}

static int shapes(const struct mbr_kernel_traits *t)
{
	/* 50: F16 calls go 48 rows at a time */
	static const int rows[] = { 1, 2, 5, 7, 16, 50 };
	static const int tokens[] = { 1, 2, 7, 13, 16 };
	/* one block; 13 (one group of eight and five over); 20 (for F16
	 * a column block of 512 and a shorter one, no tail); 13 and 64 of
	 * them plus, for F16, a ragged tail of 24 (past the last 16 for the
	 * AVX-512 order, past the last 32 for AVX2's), and rows of only a
	 * tail (8: no lane sums at all; 24: AVX-512 has one step); K-quant
	 * blocks are 256 wide */
	int f16 = t->type == MBR_TYPE_F16;
	int64_t tail = f16 ? 24 : 0;
	int64_t blk = f16 ? 32 : mbr_type_get(t->type)->block_elems;
	int64_t cols[] = { 8, 24, blk, 13 * blk + tail, 20 * blk, 64 * blk + tail };
	int bad = 0;

	for (size_t c = f16 ? 0 : 2; c < MBR_ARRAY_SIZE(cols); c++)
		for (size_t r = 0; r < MBR_ARRAY_SIZE(rows); r++)
			for (size_t k = 0; k < MBR_ARRAY_SIZE(tokens); k++)
				bad += check_case(t, cols[c], rows[r], tokens[k]);
	return bad;
}

static void test_gemm__matches_vec_dot(void)
{
	if (!each_gemm(shapes))
		printf("# no set with batched products on this CPU\n");
}

/* gemm comes with its vec_dot, its packer with the packer's size (or
 * neither); never in the reference set. */
static int complete(const struct mbr_kernel_traits *t)
{
	return !t->gemm_pack != !t->gemm_pack_size || !t->vec_dot;
}

static void test_gemm__traits(void)
{
	for (size_t i = 0; i < MBR_ARRAY_SIZE(gemm_types); i++)
		UT_CHECK(!mbr_kernel_traits_isa(gemm_types[i], MBR_KERNELS_REF)->gemm);
	each_gemm(complete);
	if (mbr_kernel_traits_isa(MBR_TYPE_F32, MBR_KERNELS_AVX512))
		UT_EQ_INT(each_gemm(complete), 10);
}

/* One vec_dot_rows call against vec_dot, its rows `gap` rows apart (the
 * matmul's are a run apart); the number of outputs that differ in any bit
 * (memcmp: a -0 for a +0 counts). */
static int check_rows(const struct mbr_kernel_traits *t, int64_t n, int gap)
{
	const struct mbr_kernel_traits *xt = mbr_kernel_traits(t->vec_dot_type);
	size_t wrow = mbr_row_size(t->type, n), xrow = mbr_row_size(xt->type, n);
	int rows = t->dot_rows, bad = 0, span = (rows - 1) * gap + 1;
	/* exact sizes, so that ASan sees any read past the operands */
	unsigned char *w = malloc(wrow * span), *x = malloc(xrow);
	float *out = malloc((size_t)(rows + 1) * sizeof(*out));

	if (!w || !x || !out) {
		free(w), free(x), free(out);
		return -1;
	}
	fill(t, xt, n, span, 1, w, x);
	out[rows] = SENTINEL;
	t->vec_dot_rows(n, out, w, wrow * gap, x);
	for (int r = 0; r < rows; r++) {
		float want;

		t->vec_dot(n, &want, w + r * gap * wrow, x);
		if (memcmp(&out[r], &want, sizeof(want))) {
			if (!bad)
				printf("# %s n=%lld row %d of %d: %.9g, want %.9g\n",
				       mbr_type_get(t->type)->name, (long long)n, r,
				       rows, out[r], want);
			bad++;
		}
	}
	bad += out[rows] != SENTINEL;
	free(w), free(x), free(out);
	return bad;
}

static void test_gemm__rows_match_vec_dot(void)
{
	/* one block; a group of eight and five over (odd: a lone block in
	 * the last pair); 64 groups; a group and one block */
	static const int64_t cols[] = { 32, 13 * 32, 64 * 32 * 8, 9 * 32 };
	int seen = 0;

	for (int isa = MBR_KERNELS_REF; isa <= MBR_KERNELS_AVX512; isa++)
		for (int type = 0; type <= MBR_TYPE_MXFP4; type++) {
			const struct mbr_kernel_traits *t = mbr_kernel_traits_isa(type, isa);

			if (!t || !t->vec_dot_rows)
				continue;
			seen++;
			UT_CHECK(t->dot_rows >= 2 && t->dot_rows <= MBR_DOT_ROWS_MAX);
			/* F16 also with a tail past the last 16 */
			for (size_t c = 0; c < MBR_ARRAY_SIZE(cols); c++)
				for (int gap = 1; gap <= 3; gap++)
					for (int rep = 0; rep < 2; rep++)
						UT_EQ_INT(check_rows(t, cols[c] +
								     (type == MBR_TYPE_F16 ? 8 : 0),
								     gap), 0);
		}
	/* the reference set has none; AVX-512 has Q4_0's and F16's */
	UT_CHECK(!mbr_kernel_traits_isa(MBR_TYPE_Q4_0, MBR_KERNELS_REF)->vec_dot_rows);
	if (mbr_kernel_traits_isa(MBR_TYPE_Q4_0, MBR_KERNELS_AVX512))
		UT_CHECK(seen >= 2 &&
			 mbr_kernel_traits_isa(MBR_TYPE_Q4_0, MBR_KERNELS_AVX512)->vec_dot_rows &&
			 mbr_kernel_traits_isa(MBR_TYPE_F16, MBR_KERNELS_AVX512)->vec_dot_rows);
	else
		printf("# no set with several-row dots on this CPU\n");
}

static const struct unit_test tests[] = {
	UT(test_gemm__traits),
	UT(test_gemm__matches_vec_dot),
	UT(test_gemm__rows_match_vec_dot),
	{ 0 }
};

UNIT_MAIN(tests)
