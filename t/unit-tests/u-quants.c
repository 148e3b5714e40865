#include <math.h>
#include "unit.h"
#include "kernels.h"
#include "quants.h"
#include "mbr/types.h"


static int same_float(float a, float b)
{
	return mbr_f32_bits(a) == mbr_f32_bits(b);
}

static void test_quants__fp16_exhaustive_roundtrip(void)
{
	int bad = 0;

	for (uint32_t h = 0; h < 0x10000; h++) {
		float f = mbr_fp16_to_fp32((mbr_half)h);
		mbr_half back = mbr_fp32_to_fp16(f);

		if (isnan(f))
			bad += back != ((h & 0x8000) | 0x7e00);
		else
			bad += back != h;
#ifdef __FLT16_MAX__
		/* the compiler's own binary16 is an independent decoder */
		{
			_Float16 x;
			uint16_t bits = (uint16_t)h;

			memcpy(&x, &bits, sizeof(x));
			if (!isnan(f))
				bad += !same_float(f, (float)x);
		}
#endif
	}
	UT_EQ_INT(bad, 0);
}

static void test_quants__fp16_rounding(void)
{
	static const struct { float f; mbr_half h; } cases[] = {
		{ 1.0f, 0x3c00 }, { -2.0f, 0xc000 }, { 0.5f, 0x3800 },
		{ 65504.0f, 0x7bff }, { 65519.99f, 0x7bff }, { 65520.0f, 0x7c00 },
		{ 1e10f, 0x7c00 }, { -INFINITY, 0xfc00 }, { -0.0f, 0x8000 },
		{ 0x1p-14f, 0x0400 }, { 0x1p-24f, 0x0001 },
		{ 0x1p-25f, 0x0000 },		/* tie: rounds to even zero */
		{ 0x1.0002p-25f, 0x0001 },	/* just over the tie */
		{ 0x1.8p-24f, 0x0002 },		/* 1.5 units: tie to even 2 */
		{ 0x1.4p-24f, 0x0001 },		/* 1.25 units */
		{ 1.0f + 0x1p-11f, 0x3c00 },	/* tie, even below */
		{ 1.0f + 0x3p-11f, 0x3c02 },	/* tie, even above */
		{ 1.0f + 0x1.2p-11f, 0x3c01 },
		{ 0x1.ffcp-15f, 0x0400 },	/* subnormal rounds up to normal */
		{ 2047.0f + 0.5f, 0x6800 },	/* 2047.5: even 2048 */
	};

	for (size_t i = 0; i < MBR_ARRAY_SIZE(cases); i++) {
		mbr_half h = mbr_fp32_to_fp16(cases[i].f);

		if (h != cases[i].h)
			printf("# %a -> %04x, want %04x\n", cases[i].f, h, cases[i].h);
		UT_CHECK(h == cases[i].h);
	}
	UT_EQ_INT(mbr_fp32_to_fp16(NAN), 0x7e00);
	UT_EQ_INT(mbr_fp32_to_fp16(mbr_f32_from_bits(0xff800001)), 0xfe00);
}

#ifdef __FLT16_MAX__
/* Random float bit patterns against the compiler's round-to-nearest-even. */
static void test_quants__fp16_matches_compiler(void)
{
	int bad = 0;

	for (int i = 0; i < 2000000; i++) {
		/* exponents 96..159 cover underflow, all halves and overflow */
		uint32_t bits = (uint32_t)ut_rng_next();
		float f;
		_Float16 x;
		uint16_t want;

		bits = (bits & 0x807fffff) | (96 + (bits >> 23) % 64) << 23;
		f = mbr_f32_from_bits(bits);
		x = (_Float16)f;
		memcpy(&want, &x, sizeof(want));
		bad += mbr_fp32_to_fp16(f) != want;
	}
	UT_EQ_INT(bad, 0);
}
#endif

static void test_quants__bf16(void)
{
	int bad = 0;

	UT_EQ_INT(mbr_fp32_to_bf16(1.0f), 0x3f80);
	UT_EQ_INT(mbr_fp32_to_bf16(mbr_f32_from_bits(0x3f808000)), 0x3f80);	/* tie, even */
	UT_EQ_INT(mbr_fp32_to_bf16(mbr_f32_from_bits(0x3f818000)), 0x3f82);	/* tie, even */
	UT_EQ_INT(mbr_fp32_to_bf16(mbr_f32_from_bits(0x3f808001)), 0x3f81);
	UT_EQ_INT(mbr_fp32_to_bf16(mbr_f32_from_bits(0x7f7fffff)), 0x7f80);	/* to inf */
	UT_EQ_INT(mbr_fp32_to_bf16(mbr_f32_from_bits(0x7f800001)), 0x7fc0);	/* quiet NaN */
	UT_EQ_INT(mbr_fp32_to_bf16(mbr_f32_from_bits(0xffc12345)), 0xffc1);
	for (uint32_t h = 0; h < 0x10000; h++) {
		float f = mbr_bf16_to_fp32((mbr_bf16)h);

		UT_CHECK(mbr_f32_bits(f) == h << 16);
		if (!isnan(f))
			bad += mbr_fp32_to_bf16(f) != h;
	}
	UT_EQ_INT(bad, 0);
}

static void check_row(const char *what, const float *got, const float *want, int n)
{
	for (int i = 0; i < n; i++) {
		if (!same_float(got[i], want[i])) {
			printf("# %s[%d] = %g, want %g\n", what, i, got[i], want[i]);
			ut_fail(what, __FILE__, __LINE__);
			return;
		}
	}
}

static void test_quants__q8_0_q4_hand_blocks(void)
{
	struct block_q8_0 q8 = { .d = 0x3800 };	/* 0.5 */
	struct block_q4_0 q4 = { .d = 0x3800 };
	struct block_q4_1 q41 = { .d = 0x3400, .m = 0xbc00 };	/* 0.25, -1 */
	float y[32], want[32];

	for (int j = 0; j < 32; j++) {
		q8.qs[j] = (int8_t)(j * 4 - 64);
		want[j] = (float)(j * 4 - 64) * 0.5f;
	}
	mbr_dequantize_row_q8_0(&q8, y, 32);
	check_row("q8_0", y, want, 32);

	for (int j = 0; j < 16; j++) {
		q4.qs[j] = q41.qs[j] = (uint8_t)(j | (15 - j) << 4);
		want[j] = (float)(j - 8) * 0.5f;
		want[j + 16] = (float)(7 - j) * 0.5f;
	}
	mbr_dequantize_row_q4_0(&q4, y, 32);
	check_row("q4_0", y, want, 32);

	for (int j = 0; j < 16; j++) {
		want[j] = j * 0.25f - 1;
		want[j + 16] = (15 - j) * 0.25f - 1;
	}
	mbr_dequantize_row_q4_1(&q41, y, 32);
	check_row("q4_1", y, want, 32);
}

static void test_quants__q5_hand_blocks(void)
{
	/* qh 0x80000001: elements 0 and 31 get their fifth bit */
	struct block_q5_0 a = { .d = 0x3800, .qh = { 0x01, 0, 0, 0x80 } };
	struct block_q5_1 b = { .d = 0x3400, .m = 0x3c00, .qh = { 0x01, 0, 0, 0x80 } };
	float y[32];

	for (int j = 0; j < 16; j++)
		a.qs[j] = b.qs[j] = (uint8_t)(j | (15 - j) << 4);
	mbr_dequantize_row_q5_0(&a, y, 32);
	UT_CHECK(y[0] == 0.0f);		/* 0 | 16 - 16 */
	UT_CHECK(y[1] == -7.5f);	/* (1 - 16) * 0.5 */
	UT_CHECK(y[16] == -0.5f);	/* (15 - 16) * 0.5 */
	UT_CHECK(y[31] == 0.0f);	/* 0 | 16 - 16 */
	UT_CHECK(y[30] == -7.5f);	/* 1 - 16 */
	mbr_dequantize_row_q5_1(&b, y, 32);
	UT_CHECK(y[0] == 5.0f);		/* 16 * 0.25 + 1 */
	UT_CHECK(y[1] == 1.25f);
	UT_CHECK(y[16] == 4.75f);	/* 15 * 0.25 + 1 */
	UT_CHECK(y[31] == 5.0f);
}

static void test_quants__q2_K_hand_block(void)
{
	struct block_q2_K b;
	float y[QK_K];

	memset(&b, 0, sizeof(b));
	b.d = 0x3c00;			/* 1 */
	b.dmin = 0x3400;		/* 0.25 */
	b.scales[0] = 0x23;		/* scale 3, min 2 */
	b.qs[0] = 3;
	/* sub-block 11 (elements 176..191) reads bits 2-3 of qs[48..63] */
	b.scales[11] = 0x15;		/* scale 5, min 1 */
	b.qs[52] = 2 << 2;
	mbr_dequantize_row_q2_K(&b, y, QK_K);
	UT_CHECK(y[0] == 8.5f);		/* 3 * 3 - 0.25 * 2 */
	UT_CHECK(y[1] == -0.5f);
	UT_CHECK(y[180] == 9.75f);	/* 5 * 2 - 0.25 */
	UT_CHECK(y[181] == -0.25f);
	UT_CHECK(y[100] == 0.0f);
}

static void test_quants__q3_K_hand_block(void)
{
	struct block_q3_K b;
	float y[QK_K];

	memset(&b, 0, sizeof(b));
	b.d = 0x4000;			/* 2 */
	/* scale 0 = (1 | 2 << 4) - 32 = 1 */
	b.scales[0] = 0x01;
	b.scales[8] = 0x02;
	/* scale 13 = (s[5] >> 4 | (s[9] >> 6) << 4) - 32 = (14 | 16) - 32 */
	b.scales[5] = 0xe0;
	b.scales[9] = 0x40;
	b.qs[0] = 3;
	b.hmask[0] = 0x01;
	/* element 210: bits 4-5 of qs[32 + 18], hmask[18] bit 6 */
	b.qs[50] = 1 << 4;
	b.hmask[19] = 0x40;
	mbr_dequantize_row_q3_K(&b, y, QK_K);
	UT_CHECK(y[0] == 6.0f);		/* 2 * 1 * 3 */
	UT_CHECK(y[1] == -8.0f);	/* 2 * 1 * (0 - 4) */
	UT_CHECK(y[210] == 12.0f);	/* 2 * -2 * (1 - 4) */
	UT_CHECK(y[211] == 0.0f);	/* high bit set: 0 */
	UT_CHECK(y[212] == 16.0f);	/* 2 * -2 * -4 */
	UT_CHECK(y[40] == 256.0f);	/* scale 2 = -32: 2 * -32 * -4 */
}

/* Scales shared by the Q4_K and Q5_K blocks: sub-block 0 has scale 3 and
 * min 2, sub-block 5 scale 17 and min 34 (through the packed top bits). */
static void k4_scales(uint8_t *s)
{
	s[0] = 3;
	s[4] = 2;
	s[9] = 0x21;
	s[1] = 0x40;
	s[5] = 0x80;
}

static void test_quants__q4_K_q5_K_hand_blocks(void)
{
	struct block_q4_K a;
	struct block_q5_K b;
	float y[QK_K];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.d = b.d = 0x3c00;		/* 1 */
	a.dmin = b.dmin = 0x3800;	/* 0.5 */
	k4_scales(a.scales);
	k4_scales(b.scales);
	a.qs[3] = b.qs[3] = 0x09;	/* element 3 */
	a.qs[67] = b.qs[67] = 0x70;	/* element 163: chunk 2, high nibble */
	b.qh[3] = 0x01 | 0x20;		/* +16 for sub-blocks 0 and 5 */

	mbr_dequantize_row_q4_K(&a, y, QK_K);
	UT_CHECK(y[3] == 26.0f);	/* 3 * 9 - 0.5 * 2 */
	UT_CHECK(y[0] == -1.0f);
	UT_CHECK(y[163] == 102.0f);	/* 17 * 7 - 0.5 * 34 */
	UT_CHECK(y[160] == -17.0f);
	UT_CHECK(y[35] == 0.0f);	/* sub-block 1: scale 0, min 0 */

	mbr_dequantize_row_q5_K(&b, y, QK_K);
	UT_CHECK(y[3] == 74.0f);	/* 3 * 25 - 1 */
	UT_CHECK(y[163] == 374.0f);	/* 17 * 23 - 17 */
	UT_CHECK(y[160] == -17.0f);
}

static void test_quants__q6_K_hand_block(void)
{
	struct block_q6_K b;
	float y[QK_K];

	memset(&b, 0, sizeof(b));
	b.d = 0x3800;			/* 0.5 */
	b.scales[0] = 3;
	b.scales[13] = -2;
	b.ql[0] = 0x05;			/* element 0: 5 | 2 << 4 = 37 */
	b.qh[0] = 0x02;
	/* element 212 = 128 + 64 + 20: high nibble of ql[64 + 20],
	 * bits 4-5 of qh[32 + 20], scale 8 + 4 + 1 */
	b.ql[84] = 0xa0;
	b.qh[52] = 1 << 4;
	mbr_dequantize_row_q6_K(&b, y, QK_K);
	UT_CHECK(y[0] == 7.5f);		/* 0.5 * 3 * (37 - 32) */
	UT_CHECK(y[1] == -48.0f);	/* 0.5 * 3 * -32 */
	UT_CHECK(y[212] == 6.0f);	/* 0.5 * -2 * (26 - 32) */
	UT_CHECK(y[32] == 0.0f);	/* scale 2 is 0 */
}

static void test_quants__q4_0_sign_convention(void)
{
	float x[32] = { 0 }, y[32];
	struct block_q4_0 b;

	/* the largest magnitude is negative: d = -4 / -8 = 0.5, so it gets
	 * code 0 and comes back exactly */
	x[5] = -4.0f;
	x[6] = 3.0f;
	x[7] = 1.0f;
	mbr_quantize_row_q4_0_ref(x, &b, 32);
	UT_EQ_INT(b.d, 0x3800);
	UT_EQ_INT(b.qs[5] & 0x0f, 0);
	UT_EQ_INT(b.qs[6] & 0x0f, 14);	/* 3 * 2 + 8.5 -> 14 */
	mbr_dequantize_row_q4_0(&b, y, 32);
	UT_CHECK(y[5] == -4.0f && y[6] == 3.0f && y[7] == 1.0f && y[0] == 0.0f);
}

struct roundtrip {
	int type;
	size_t block_bytes;
	double step_divisor;	/* the quantization step is range / this */
	int asymmetric;		/* range is max - min instead of max |x| */
	double step_slack;	/* allowed error, in steps */
};

static void test_quants__roundtrip_error(void)
{
	static const struct roundtrip cases[] = {
		{ MBR_TYPE_Q8_0, sizeof(struct block_q8_0), 127, 0, 0.56 },
		{ MBR_TYPE_Q4_0, sizeof(struct block_q4_0), 8, 0, 1.01 },
		{ MBR_TYPE_Q4_1, sizeof(struct block_q4_1), 15, 1, 0.51 },
		{ MBR_TYPE_Q5_0, sizeof(struct block_q5_0), 16, 0, 1.01 },
		{ MBR_TYPE_Q5_1, sizeof(struct block_q5_1), 31, 1, 0.52 },
	};
	enum { N = 4096 };
	static float x[N], y[N];
	static unsigned char q[N * 2];

	for (int i = 0; i < N; i++)
		x[i] = ut_rng_float() * (1 + i / 512);
	for (size_t c = 0; c < MBR_ARRAY_SIZE(cases); c++) {
		const struct mbr_kernel_traits *k = mbr_kernel_traits(cases[c].type);
		double worst = 0;

		UT_ASSERT(k && k->quantize && k->dequantize);
		memset(y, 0, sizeof(y));
		k->quantize(x, q, N);
		k->dequantize(q, y, N);
		for (int b = 0; b < N / 32; b++) {
			float mn = x[32 * b], mx = x[32 * b], amax = 0;
			double step;

			for (int j = 32 * b; j < 32 * b + 32; j++) {
				mn = fminf(mn, x[j]);
				mx = fmaxf(mx, x[j]);
				amax = fmaxf(amax, fabsf(x[j]));
			}
			step = (cases[c].asymmetric ? mx - mn : amax) / cases[c].step_divisor;
			for (int j = 32 * b; j < 32 * b + 32; j++) {
				/* half-precision scale and min add ~2^-11 of the range */
				double err = fabs(x[j] - y[j]) - amax * 0x1p-10;

				if (err / step > worst)
					worst = err / step;
			}
		}
		if (worst > cases[c].step_slack)
			printf("# type %d: error %.3f steps\n", cases[c].type, worst);
		UT_CHECK(worst <= cases[c].step_slack);
		UT_CHECK(worst > 0.3);	/* the data really was quantized */
	}
}

/*
 * Data that a K-quant represents exactly: each sub-block j on the grid
 * d * sc[j] * l - dmin * m[j] (asymmetric types) or d * sc[j] * l
 * (symmetric), its codes spanning the whole range so the search finds
 * that grid, and one sub-block with the largest six-bit (four-bit for
 * Q2_K) scale and min, so the scales quantize without loss. The round
 * trip must then be exact: that checks how the scales and mins (all
 * values, high bits included) and the codes are packed, against the
 * dequantizers.
 */
struct grid {
	int type;
	int sub;		/* sub-block elements */
	int lo, hi;		/* code range */
	int smax;		/* largest scale code */
	float d, dmin;		/* dmin 0: symmetric */
};

static void grid_data(const struct grid *g, float *x, int nblocks)
{
	for (int b = 0; b < nblocks; b++) {
		for (int j = 0; j < QK_K / g->sub; j++) {
			int sc = j ? 1 + (int)(ut_rng_next() % (uint64_t)g->smax) : g->smax;
			int m = j == 1 ? g->smax : (int)(ut_rng_next() % (uint64_t)(g->smax + 1));
			float *xj = x + QK_K * b + g->sub * j;

			for (int i = 0; i < g->sub; i++) {
				int l = i == 0 ? g->lo : i == 1 && g->dmin ? g->hi :
					g->lo + (int)(ut_rng_next() % (uint64_t)(g->hi - g->lo + 1));

				xj[i] = g->d * sc * l - (g->dmin ? g->dmin * m : 0);
			}
		}
	}
}

static void test_quants__k_exact_grid_roundtrip(void)
{
	static const struct grid grids[] = {
		{ MBR_TYPE_Q2_K, 16, 0, 3, 15, 0x1p-6f, 0x1p-7f },
		{ MBR_TYPE_Q3_K, 16, -4, 3, 32, 0x1p-8f, 0 },
		{ MBR_TYPE_Q4_K, 32, 0, 15, 63, 0x1p-6f, 0x1p-7f },
		{ MBR_TYPE_Q5_K, 32, 0, 31, 63, 0x1p-6f, 0x1p-7f },
		{ MBR_TYPE_Q6_K, 16, -32, 31, 128, 0x1p-10f, 0 },
	};
	enum { NB = 8 };
	static float x[NB * QK_K], y[NB * QK_K];
	static unsigned char q[NB * 256];

	for (size_t c = 0; c < MBR_ARRAY_SIZE(grids); c++) {
		const struct mbr_kernel_traits *k = mbr_kernel_traits(grids[c].type);
		int bad = 0;

		UT_ASSERT(k && k->quantize);
		grid_data(&grids[c], x, NB);
		k->quantize(x, q, NB * QK_K);
		k->dequantize(q, y, NB * QK_K);
		for (int i = 0; i < NB * QK_K; i++)
			bad += !same_float(x[i], y[i]) && !(x[i] == 0 && y[i] == 0);
		if (bad)
			printf("# type %d: %d values not exact\n", grids[c].type, bad);
		UT_CHECK(bad == 0);
	}
}

/*
 * Random data: the error of each element is at most `slack` quantization
 * steps of its sub-block, the step being the sub-block's range over the
 * number of code steps (plus what the scale's own rounding to few bits
 * and half precision costs, which the slack covers). The worst case must
 * also exceed a third of a step, or nothing was really quantized.
 */
static void test_quants__k_roundtrip_error(void)
{
	static const struct {
		int type, sub, steps, asymmetric;
		double slack;
	} cases[] = {
		{ MBR_TYPE_Q2_K, 16, 3, 1, 0.7 },
		{ MBR_TYPE_Q3_K, 16, 7, 0, 0.9 },
		{ MBR_TYPE_Q4_K, 32, 15, 1, 0.7 },
		{ MBR_TYPE_Q5_K, 32, 31, 1, 0.8 },
		{ MBR_TYPE_Q6_K, 16, 63, 0, 0.6 },
	};
	enum { N = 16 * QK_K };
	static float x[N], y[N];
	static unsigned char q[N];

	for (int i = 0; i < N; i++)
		x[i] = ut_rng_float() * (1 + i / QK_K) + (i / QK_K % 3 == 1 ? 0.5f : 0);
	for (size_t c = 0; c < MBR_ARRAY_SIZE(cases); c++) {
		const struct mbr_kernel_traits *k = mbr_kernel_traits(cases[c].type);
		int sub = cases[c].sub;
		double worst = 0;

		UT_ASSERT(k && k->quantize);
		k->quantize(x, q, N);
		k->dequantize(q, y, N);
		for (int b = 0; b < N / sub; b++) {
			float mn = x[sub * b], mx = x[sub * b], amax = 0;
			double step;

			for (int j = sub * b; j < sub * b + sub; j++) {
				mn = fminf(mn, x[j]);
				mx = fmaxf(mx, x[j]);
				amax = fmaxf(amax, fabsf(x[j]));
			}
			/* the asymmetric types' min is never above 0 */
			step = (cases[c].asymmetric ? fmaxf(mx, 0) - fminf(mn, 0) : 2 * amax) /
			       cases[c].steps;
			for (int j = sub * b; j < sub * b + sub; j++)
				worst = fmax(worst, fabs(x[j] - y[j]) / step);
		}
		printf("# type %d: worst error %.3f steps\n", cases[c].type, worst);
		UT_CHECK(worst <= cases[c].slack);
		UT_CHECK(worst > 0.3);
	}
}

static void test_quants__traits_table(void)
{
	const struct mbr_kernel_traits *t;

	UT_ASSERT((t = mbr_kernel_traits(MBR_TYPE_Q6_K)));
	UT_CHECK(t->type == MBR_TYPE_Q6_K && t->dequantize && t->quantize);
	UT_ASSERT((t = mbr_kernel_traits(MBR_TYPE_BF16)));
	UT_CHECK(t->dequantize && t->quantize);
	UT_CHECK(mbr_kernel_traits(MBR_TYPE_IQ2_XXS) == NULL);
	/* Q8_1 is an activation type: it converts, and dequantizes for tests */
	UT_ASSERT((t = mbr_kernel_traits(MBR_TYPE_Q8_1)));
	UT_CHECK(t->dequantize && t->from_float && !t->quantize);
	UT_CHECK(mbr_kernel_traits(12345) == NULL);
}

#if defined(__x86_64__)
static void test_quants__avx2_matches_ref(void)
{
	enum { NB = 257 };
	static mbr_half halves[0x10000];
	static float a[0x10000], b[0x10000];
	static struct block_q8_0 blocks[NB];

	if (!mbr_cpu_has_avx2()) {
		printf("# no AVX2/F16C/FMA on this CPU: nothing to compare\n");
		return;
	}
	for (uint32_t h = 0; h < 0x10000; h++)
		halves[h] = (mbr_half)h;
	mbr_dequantize_row_f16(halves, a, 0x10000);
	mbr_dequantize_row_f16_avx2(halves, b, 0x10000);
	UT_CHECK(!memcmp(a, b, sizeof(a)));
	/* an odd tail exercises the scalar remainder */
	mbr_dequantize_row_f16_avx2(halves + 0x7bf0, b, 13);
	UT_CHECK(!memcmp(a + 0x7bf0, b, 13 * sizeof(float)));

	for (int i = 0; i < NB; i++) {
		blocks[i].d = (mbr_half)(ut_rng_next() & 0x7bff);	/* finite */
		for (int j = 0; j < QK8_0; j++)
			blocks[i].qs[j] = (int8_t)ut_rng_next();
	}
	mbr_dequantize_row_q8_0(blocks, a, NB * QK8_0);
	mbr_dequantize_row_q8_0_avx2(blocks, b, NB * QK8_0);
	UT_CHECK(!memcmp(a, b, NB * QK8_0 * sizeof(float)));
	UT_CHECK(mbr_kernel_traits(MBR_TYPE_Q8_0)->dequantize == mbr_dequantize_row_q8_0_avx2);
}
#endif

static const struct unit_test tests[] = {
	UT(test_quants__fp16_exhaustive_roundtrip),
	UT(test_quants__fp16_rounding),
#ifdef __FLT16_MAX__
	UT(test_quants__fp16_matches_compiler),
#endif
	UT(test_quants__bf16),
	UT(test_quants__q8_0_q4_hand_blocks),
	UT(test_quants__q5_hand_blocks),
	UT(test_quants__q2_K_hand_block),
	UT(test_quants__q3_K_hand_block),
	UT(test_quants__q4_K_q5_K_hand_blocks),
	UT(test_quants__q6_K_hand_block),
	UT(test_quants__q4_0_sign_convention),
	UT(test_quants__roundtrip_error),
	UT(test_quants__k_exact_grid_roundtrip),
	UT(test_quants__k_roundtrip_error),
	UT(test_quants__traits_table),
#if defined(__x86_64__)
	UT(test_quants__avx2_matches_ref),
#endif
	{ 0 }
};
UNIT_MAIN(tests)
