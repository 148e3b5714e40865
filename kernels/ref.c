/*
 * ref.c - scalar reference conversions between ggml blocks and float.
 *
 * The arithmetic is written in the same order as ggml's reference code
 * (which products are formed first, where float rounding happens), because
 * the point of the quantizers is to reproduce llama-quantize's bytes and
 * the point of the dequantizers is to give the floats llama.cpp sees.
 */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include "kernels.h"
#include "quants.h"
#include "scales.h"

/* ---- plain types */

void mbr_dequantize_row_f32(const void *src, float *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof(float));
}

void mbr_quantize_row_f32_ref(const float *src, void *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof(float));
}

void mbr_dequantize_row_f16(const void *src, float *dst, int64_t n)
{
	const mbr_half *x = src;

	for (int64_t i = 0; i < n; i++)
		dst[i] = mbr_fp16_to_fp32(x[i]);
}

void mbr_quantize_row_f16_ref(const float *src, void *dst, int64_t n)
{
	mbr_half *y = dst;

	for (int64_t i = 0; i < n; i++)
		y[i] = mbr_fp32_to_fp16(src[i]);
}

void mbr_dequantize_row_bf16(const void *src, float *dst, int64_t n)
{
	const mbr_bf16 *x = src;

	for (int64_t i = 0; i < n; i++)
		dst[i] = mbr_bf16_to_fp32(x[i]);
}

void mbr_quantize_row_bf16_ref(const float *src, void *dst, int64_t n)
{
	mbr_bf16 *y = dst;

	for (int64_t i = 0; i < n; i++)
		y[i] = mbr_fp32_to_bf16(src[i]);
}

/* ---- 32-element blocks */

/* The element of largest magnitude, with its sign; the first one wins ties. */
static float signed_absmax(const float *x, int n)
{
	float amax = 0.0f, max = 0.0f;

	for (int j = 0; j < n; j++) {
		if (amax < fabsf(x[j])) {
			amax = fabsf(x[j]);
			max = x[j];
		}
	}
	return max;
}

static void min_max(const float *x, int n, float *min, float *max)
{
	*min = FLT_MAX;
	*max = -FLT_MAX;
	for (int j = 0; j < n; j++) {
		if (x[j] < *min)
			*min = x[j];
		if (x[j] > *max)
			*max = x[j];
	}
}

static float inverse_or_zero(float d)
{
	return d != 0.0f ? 1.0f / d : 0.0f;
}

/*
 * roundf() (halves away from zero) for |x| < 2^31, inline: the libm call
 * dominated quantizing. x - trunc(x) is exact, so the tie test is too.
 */
static int round_away(float x)
{
	int t = (int)x;
	float frac = x - (float)t;

	/* no branches: on random data they mispredict half the time */
	return t + (frac >= 0.5f) - (frac <= -0.5f);
}

void mbr_dequantize_row_q8_0(const void *src, float *dst, int64_t n)
{
	const struct block_q8_0 *b = src;

	assert(n % QK8_0 == 0);
	for (int64_t i = 0; i < n / QK8_0; i++, dst += QK8_0) {
		float d = mbr_fp16_to_fp32(b[i].d);

		for (int j = 0; j < QK8_0; j++)
			dst[j] = b[i].qs[j] * d;
	}
}

void mbr_quantize_row_q8_0_ref(const float *src, void *dst, int64_t n)
{
	struct block_q8_0 *b = dst;

	assert(n % QK8_0 == 0);
	for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0) {
		float amax = 0.0f, d, id;

		for (int j = 0; j < QK8_0; j++)
			amax = amax > fabsf(src[j]) ? amax : fabsf(src[j]);
		d = amax / 127;
		id = inverse_or_zero(d);
		b[i].d = mbr_fp32_to_fp16(d);
		for (int j = 0; j < QK8_0; j++)
			b[i].qs[j] = (int8_t)round_away(src[j] * id);
	}
}

void mbr_dequantize_row_q4_0(const void *src, float *dst, int64_t n)
{
	const struct block_q4_0 *b = src;

	assert(n % QK4_0 == 0);
	for (int64_t i = 0; i < n / QK4_0; i++, dst += QK4_0) {
		float d = mbr_fp16_to_fp32(b[i].d);

		for (int j = 0; j < QK4_0 / 2; j++) {
			dst[j] = ((b[i].qs[j] & 0x0f) - 8) * d;
			dst[j + QK4_0 / 2] = ((b[i].qs[j] >> 4) - 8) * d;
		}
	}
}

/* ggml converts through int8_t before clamping; keep that truncation. */
static uint8_t q4_code(float v, float offset)
{
	int8_t q = (int8_t)(v + offset);

	return q < 15 ? (uint8_t)q : 15;
}

void mbr_quantize_row_q4_0_ref(const float *src, void *dst, int64_t n)
{
	struct block_q4_0 *b = dst;

	assert(n % QK4_0 == 0);
	for (int64_t i = 0; i < n / QK4_0; i++, src += QK4_0) {
		float d = signed_absmax(src, QK4_0) / -8;
		float id = inverse_or_zero(d);

		b[i].d = mbr_fp32_to_fp16(d);
		for (int j = 0; j < QK4_0 / 2; j++)
			b[i].qs[j] = q4_code(src[j] * id, 8.5f) |
				     q4_code(src[j + QK4_0 / 2] * id, 8.5f) << 4;
	}
}

void mbr_dequantize_row_q4_1(const void *src, float *dst, int64_t n)
{
	const struct block_q4_1 *b = src;

	assert(n % QK4_1 == 0);
	for (int64_t i = 0; i < n / QK4_1; i++, dst += QK4_1) {
		float d = mbr_fp16_to_fp32(b[i].d);
		float m = mbr_fp16_to_fp32(b[i].m);

		for (int j = 0; j < QK4_1 / 2; j++) {
			dst[j] = (b[i].qs[j] & 0x0f) * d + m;
			dst[j + QK4_1 / 2] = (b[i].qs[j] >> 4) * d + m;
		}
	}
}

void mbr_quantize_row_q4_1_ref(const float *src, void *dst, int64_t n)
{
	struct block_q4_1 *b = dst;

	assert(n % QK4_1 == 0);
	for (int64_t i = 0; i < n / QK4_1; i++, src += QK4_1) {
		float min, max, d, id;

		min_max(src, QK4_1, &min, &max);
		d = (max - min) / 15;
		id = inverse_or_zero(d);
		b[i].d = mbr_fp32_to_fp16(d);
		b[i].m = mbr_fp32_to_fp16(min);
		for (int j = 0; j < QK4_1 / 2; j++)
			b[i].qs[j] = q4_code((src[j] - min) * id, 0.5f) |
				     q4_code((src[j + QK4_1 / 2] - min) * id, 0.5f) << 4;
	}
}

/* Element j's five-bit code from a Q5 block's nibbles and high bits. */
static int q5_code(const uint8_t *qs, uint32_t qh, int j)
{
	int lo = j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4;

	return lo | (int)((qh >> j) & 1) << 4;
}

static uint32_t load_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Pack 32 five-bit codes: low nibbles as Q4 does, fifth bits into qh. */
static void q5_pack(uint8_t qs[16], uint8_t qh[4], const uint8_t *codes)
{
	uint32_t high = 0;

	for (int j = 0; j < 16; j++) {
		qs[j] = (codes[j] & 0x0f) | (codes[j + 16] & 0x0f) << 4;
		high |= (uint32_t)(codes[j] >> 4 & 1) << j;
		high |= (uint32_t)(codes[j + 16] >> 4 & 1) << (j + 16);
	}
	memcpy(qh, &high, sizeof(high));
}

void mbr_dequantize_row_q5_0(const void *src, float *dst, int64_t n)
{
	const struct block_q5_0 *b = src;

	assert(n % QK5_0 == 0);
	for (int64_t i = 0; i < n / QK5_0; i++, dst += QK5_0) {
		float d = mbr_fp16_to_fp32(b[i].d);
		uint32_t qh = load_u32(b[i].qh);

		for (int j = 0; j < QK5_0; j++)
			dst[j] = (q5_code(b[i].qs, qh, j) - 16) * d;
	}
}

void mbr_quantize_row_q5_0_ref(const float *src, void *dst, int64_t n)
{
	struct block_q5_0 *b = dst;

	assert(n % QK5_0 == 0);
	for (int64_t i = 0; i < n / QK5_0; i++, src += QK5_0) {
		float d = signed_absmax(src, QK5_0) / -16;
		float id = inverse_or_zero(d);
		uint8_t codes[QK5_0];

		b[i].d = mbr_fp32_to_fp16(d);
		for (int j = 0; j < QK5_0; j++) {
			int8_t q = (int8_t)(src[j] * id + 16.5f);

			codes[j] = q < 31 ? (uint8_t)q : 31;
		}
		q5_pack(b[i].qs, b[i].qh, codes);
	}
}

void mbr_dequantize_row_q5_1(const void *src, float *dst, int64_t n)
{
	const struct block_q5_1 *b = src;

	assert(n % QK5_1 == 0);
	for (int64_t i = 0; i < n / QK5_1; i++, dst += QK5_1) {
		float d = mbr_fp16_to_fp32(b[i].d);
		float m = mbr_fp16_to_fp32(b[i].m);
		uint32_t qh = load_u32(b[i].qh);

		for (int j = 0; j < QK5_1; j++)
			dst[j] = q5_code(b[i].qs, qh, j) * d + m;
	}
}

void mbr_quantize_row_q5_1_ref(const float *src, void *dst, int64_t n)
{
	struct block_q5_1 *b = dst;

	assert(n % QK5_1 == 0);
	for (int64_t i = 0; i < n / QK5_1; i++, src += QK5_1) {
		float min, max, d, id;
		uint8_t codes[QK5_1];

		min_max(src, QK5_1, &min, &max);
		d = (max - min) / 31;
		id = inverse_or_zero(d);
		b[i].d = mbr_fp32_to_fp16(d);
		b[i].m = mbr_fp32_to_fp16(min);
		/* ggml does not clamp here: (max - min) * id rounds to <= 31 */
		for (int j = 0; j < QK5_1; j++)
			codes[j] = (uint8_t)((src[j] - min) * id + 0.5f);
		q5_pack(b[i].qs, b[i].qh, codes);
	}
}

/* ---- activations: what a dot product's other operand is converted to */

/*
 * Round to nearest, ties to even, for |x| < 2^22: adding 1.5 * 2^23 leaves
 * the integer in the low mantissa bits, rounded in the FPU's default
 * mode. This is how llama.cpp rounds activations on x86: _mm256_round_ps
 * in its AVX2 quantize_row_q8_0/q8_1 and nearest_int() for Q8_K. (Its
 * file quantizers use roundf, halves away from zero, as *_ref above do.)
 */
static int round_even(float x)
{
	return (int)(mbr_f32_bits(x + 12582912.0f) & 0x7fffff) - 0x400000;
}

/*
 * One 32-element block as llama.cpp's AVX2 quantize_row_q8_0 does it:
 * note the multiplier is 127 / amax, not 1 / d, which can differ in the
 * last bit. Returns the sum of the codes (Q8_1 stores it).
 */
static int quantize_act_block(const float *x, int8_t *qs, float *d)
{
	float amax = 0.0f, id;
	int sum = 0;

	for (int j = 0; j < 32; j++)
		amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
	*d = amax / 127;
	id = amax != 0.0f ? 127 / amax : 0.0f;
	for (int j = 0; j < 32; j++) {
		qs[j] = (int8_t)round_even(x[j] * id);
		sum += qs[j];
	}
	return sum;
}

void mbr_quantize_row_q8_0(const float *src, void *dst, int64_t n)
{
	struct block_q8_0 *b = dst;

	assert(n % QK8_0 == 0);
	for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0) {
		float d;

		quantize_act_block(src, b[i].qs, &d);
		b[i].d = mbr_fp32_to_fp16(d);
	}
}

void mbr_quantize_row_q8_1(const float *src, void *dst, int64_t n)
{
	struct block_q8_1 *b = dst;

	assert(n % QK8_1 == 0);
	for (int64_t i = 0; i < n / QK8_1; i++, src += QK8_1) {
		float d;
		int sum = quantize_act_block(src, b[i].qs, &d);

		b[i].d = mbr_fp32_to_fp16(d);
		b[i].s = mbr_fp32_to_fp16(d * (float)sum);
	}
}

void mbr_dequantize_row_q8_1(const void *src, float *dst, int64_t n)
{
	const struct block_q8_1 *b = src;

	assert(n % QK8_1 == 0);
	for (int64_t i = 0; i < n / QK8_1; i++, dst += QK8_1) {
		float d = mbr_fp16_to_fp32(b[i].d);

		for (int j = 0; j < QK8_1; j++)
			dst[j] = b[i].qs[j] * d;
	}
}

/* ggml's quantize_row_q8_K_ref, which is also what x86 runs. */
void mbr_quantize_row_q8_K(const float *src, void *dst, int64_t n)
{
	struct block_q8_K *b = dst;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
		float max = signed_absmax(src, QK_K), iscale;

		if (max == 0.0f) {
			memset(&b[i], 0, sizeof(b[i]));
			continue;
		}
		/* -127, not -128: the largest element maps to -127 */
		iscale = -127.0f / max;
		for (int j = 0; j < QK_K; j += 16) {
			int sum = 0;

			for (int l = j; l < j + 16; l++) {
				int v = round_even(iscale * src[l]);

				b[i].qs[l] = (int8_t)(v < 127 ? v : 127);
				sum += b[i].qs[l];
			}
			b[i].bsums[j / 16] = (int16_t)sum;
		}
		b[i].d = 1 / iscale;
	}
}

void mbr_dequantize_row_q8_K(const void *src, float *dst, int64_t n)
{
	const struct block_q8_K *b = src;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K)
		for (int j = 0; j < QK_K; j++)
			dst[j] = b[i].d * b[i].qs[j];
}

/* ---- 256-element super-blocks (dequantize only) */

void mbr_dequantize_row_q2_K(const void *src, float *dst, int64_t n)
{
	const struct block_q2_K *b = src;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++) {
		float d = mbr_fp16_to_fp32(b[i].d);
		float dmin = mbr_fp16_to_fp32(b[i].dmin);

		/* sub-block s (16 elements) reads bit pair (s / 2) % 4 of
		 * bytes qs[32 * (s / 8) + 16 * (s % 2) ..] */
		for (int s = 0; s < QK_K / 16; s++, dst += 16) {
			const uint8_t *q = b[i].qs + 32 * (s / 8) + 16 * (s % 2);
			int shift = 2 * ((s / 2) % 4);
			float dl = d * (b[i].scales[s] & 0x0f);
			float ml = dmin * (b[i].scales[s] >> 4);

			for (int l = 0; l < 16; l++)
				dst[l] = dl * ((q[l] >> shift) & 3) - ml;
		}
	}
}

void mbr_dequantize_row_q3_K(const void *src, float *dst, int64_t n)
{
	const struct block_q3_K *b = src;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++) {
		float d = mbr_fp16_to_fp32(b[i].d);
		int8_t sc[16];

		mbr_q3_K_unpack(b[i].scales, sc);
		/* element e: bit pair (e / 32) % 4 of qs[32 * (e / 128) +
		 * e % 32], high bit e / 32 of hmask[e % 32] */
		for (int s = 0; s < QK_K / 16; s++, dst += 16) {
			int e0 = 16 * s;
			const uint8_t *q = b[i].qs + 32 * (e0 / 128);
			int shift = 2 * ((e0 / 32) % 4);
			uint8_t bit = (uint8_t)(1u << (e0 / 32));
			float dl = d * sc[s];

			for (int l = 0; l < 16; l++) {
				int m = e0 % 32 + l;
				int v = ((q[m] >> shift) & 3) -
					(b[i].hmask[m] & bit ? 0 : 4);

				dst[l] = dl * v;
			}
		}
	}
}

/*
 * Shared by Q4_K and Q5_K: 32-byte chunk c of qs holds sub-block 2c in its
 * low nibbles and 2c + 1 in its high ones; Q5_K adds 16 where qh[l] has
 * bit (sub-block index) set. qh is NULL for Q4_K.
 */
static void dequantize_k4(float *dst, float d, float dmin, const uint8_t *scales,
			  const uint8_t *qs, const uint8_t *qh)
{
	uint8_t sc[8], m[8];

	mbr_k4_unpack(scales, sc, m);
	for (int s = 0; s < QK_K / 32; s++, dst += 32) {
		const uint8_t *q = qs + 32 * (s / 2);
		int shift = 4 * (s % 2);
		float d1 = d * sc[s];
		float m1 = dmin * m[s];
		for (int l = 0; l < 32; l++) {
			int v = (q[l] >> shift) & 0x0f;

			if (qh && (qh[l] >> s & 1))
				v += 16;
			dst[l] = d1 * v - m1;
		}
	}
}

void mbr_dequantize_row_q4_K(const void *src, float *dst, int64_t n)
{
	const struct block_q4_K *b = src;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K)
		dequantize_k4(dst, mbr_fp16_to_fp32(b[i].d),
			      mbr_fp16_to_fp32(b[i].dmin), b[i].scales,
			      b[i].qs, NULL);
}

void mbr_dequantize_row_q5_K(const void *src, float *dst, int64_t n)
{
	const struct block_q5_K *b = src;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K)
		dequantize_k4(dst, mbr_fp16_to_fp32(b[i].d),
			      mbr_fp16_to_fp32(b[i].dmin), b[i].scales,
			      b[i].qs, b[i].qh);
}

void mbr_dequantize_row_q6_K(const void *src, float *dst, int64_t n)
{
	const struct block_q6_K *b = src;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++) {
		float d = mbr_fp16_to_fp32(b[i].d);

		/* element e = 128 h + 32 k + l (l < 32): low bits from the
		 * nibble k / 2 of ql[64 h + 32 (k % 2) + l], high bits from
		 * bit pair k of qh[32 h + l], scale scales[8 h + 2 k + l / 16] */
		for (int e = 0; e < QK_K; e++) {
			int h = e / 128, k = (e / 32) % 4, l = e % 32;
			int lo = (b[i].ql[64 * h + 32 * (k % 2) + l] >> (4 * (k / 2))) & 0x0f;
			int hi = (b[i].qh[32 * h + l] >> (2 * k)) & 3;
			int sc = b[i].scales[8 * h + 2 * k + l / 16];

			dst[e] = d * sc * ((lo | hi << 4) - 32);
		}
		dst += QK_K;
	}
}

/*
 * ---- 256-element super-blocks: quantizers
 *
 * ggml's quantize_row_<t>_K_ref, which llama-quantize runs for every
 * K-quant tensor when it has no importance matrix. Each sub-block gets a
 * scale (and for Q2_K/Q4_K/Q5_K a min) by a small search, the scales are
 * quantized against the block's largest, and the codes are then redone
 * against the scales as stored, so they fit the rounded scales. Every
 * float operation is in ggml's order: the searches compare sums, and a
 * different rounding there picks different codes.
 */

/* ggml's GROUP_MAX_EPS: a group this small is all zeros. */
#define GROUP_MAX_EPS 1e-15f

static int clamp_int(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * sum(w x l) and sum(w l^2) with w = x^2 for the codes l = x * iscale,
 * rounded and clamped to [-nmax, nmax - 1]; L gets l + nmax unless NULL.
 */
static void qx_sums(int n, int nmax, const float *x, float iscale,
		    uint8_t *L, float *sumlx, float *suml2)
{
	float slx = 0, sl2 = 0;

	for (int i = 0; i < n; i++) {
		int l = clamp_int(round_even(iscale * x[i]), -nmax, nmax - 1);
		float w = x[i] * x[i];

		if (L)
			L[i] = (uint8_t)(l + nmax);
		slx += w * x[i] * l;
		sl2 += w * l * l;
	}
	*sumlx = slx;
	*suml2 = sl2;
}

/*
 * ggml's make_qx_quants with rmse_type 1 (weights x^2) and no importance
 * matrix, as Q6_K uses it: the symmetric scale, from 19 candidates around
 * -nmax / max, that minimizes the weighted squared error. L gets codes
 * biased by nmax; a group of zeros gets scale 0 and codes 0.
 */
static float make_qx_quants(int n, int nmax, const float *x, uint8_t *L)
{
	float max = signed_absmax(x, n), sumlx, suml2, scale, best;

	if (fabsf(max) < GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0.0f;
	}
	qx_sums(n, nmax, x, -nmax / max, L, &sumlx, &suml2);
	scale = suml2 ? sumlx / suml2 : 0.0f;
	best = scale * sumlx;
	for (int is = -9; is <= 9; is++) {
		float iscale = -(nmax + 0.1f * is) / max;

		if (is == 0)
			continue;
		qx_sums(n, nmax, x, iscale, NULL, &sumlx, &suml2);
		if (suml2 > 0 && sumlx * sumlx > best * suml2) {
			qx_sums(n, nmax, x, iscale, L, &sumlx, &suml2);
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	return scale;
}

/*
 * ggml's make_q3_quants with do_rmse: start from -nmax / max, then move
 * single codes while that lowers the x^2-weighted error (at most five
 * sweeps). Codes in [-nmax, nmax - 1], stored biased by nmax.
 */
static float make_q3_quants(int n, int nmax, const float *x, uint8_t *L)
{
	float max = signed_absmax(x, n), iscale, sumlx = 0, suml2 = 0;
	int8_t q[16];	/* the codes, unbiased */

	assert(n <= 16);
	if (fabsf(max) < GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0.0f;
	}
	iscale = -nmax / max;
	for (int i = 0; i < n; i++) {
		int l = clamp_int(round_even(iscale * x[i]), -nmax, nmax - 1);
		float w = x[i] * x[i];

		q[i] = (int8_t)l;
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	for (int itry = 0, changed = 1; itry < 5 && changed; itry++) {
		changed = 0;
		for (int i = 0; i < n; i++) {
			float w = x[i] * x[i];
			float slx = sumlx - w * x[i] * q[i], sl2;
			int l;

			if (slx <= 0)
				continue;
			sl2 = suml2 - w * q[i] * q[i];
			l = clamp_int(round_even(x[i] * sl2 / slx), -nmax, nmax - 1);
			if (l == q[i])
				continue;
			slx += w * x[i] * l;
			sl2 += w * l * l;
			if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
				q[i] = (int8_t)l;
				sumlx = slx;
				suml2 = sl2;
				changed = 1;
			}
		}
	}
	for (int i = 0; i < n; i++)
		L[i] = (uint8_t)(q[i] + nmax);
	return sumlx / suml2;
}

/* The weighted error of x ~ scale * L + min: absolute or squared. */
static float qkx_error(int n, const float *x, const float *weights,
		       const uint8_t *L, float scale, float min, int use_mad)
{
	float err = 0;

	for (int i = 0; i < n; i++) {
		float diff = scale * L[i] + min - x[i];

		err += weights[i] * (use_mad ? fabsf(diff) : diff * diff);
	}
	return err;
}

/*
 * ggml's make_qkx2_quants: x ~ scale * L + min with L in [0, nmax] and
 * min <= 0. Starting from the range, try nstep + 1 stretched grids
 * (rmin + rdelta * is extra steps), fit scale and min to each by weighted
 * least squares and keep the one with the smallest weighted error.
 * *the_min gets -min.
 */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights,
			      uint8_t *L, float *the_min, float rmin, float rdelta,
			      int nstep, int use_mad)
{
	float min = x[0], max = x[0], sum_w = weights[0], sum_x = sum_w * x[0];
	float iscale, scale, best;
	uint8_t Laux[32];

	assert(n <= 32);
	for (int i = 1; i < n; i++) {
		min = x[i] < min ? x[i] : min;
		max = x[i] > max ? x[i] : max;
		sum_w += weights[i];
		sum_x += weights[i] * x[i];
	}
	if (min > 0)
		min = 0;
	if (max == min) {
		memset(L, 0, (size_t)n);
		*the_min = -min;
		return 0.0f;
	}
	iscale = nmax / (max - min);
	scale = 1 / iscale;
	for (int i = 0; i < n; i++)
		L[i] = (uint8_t)clamp_int(round_even(iscale * (x[i] - min)), 0, nmax);
	best = qkx_error(n, x, weights, L, scale, min, use_mad);
	for (int is = 0; is <= nstep; is++) {
		float sum_l = 0, sum_l2 = 0, sum_xl = 0, D, this_scale, this_min, err;

		iscale = (rmin + rdelta * is + nmax) / (max - min);
		for (int i = 0; i < n; i++) {
			int l = clamp_int(round_even(iscale * (x[i] - min)), 0, nmax);
			float w = weights[i];

			Laux[i] = (uint8_t)l;
			sum_l += w * l;
			sum_l2 += w * l * l;
			sum_xl += w * l * x[i];
		}
		D = sum_w * sum_l2 - sum_l * sum_l;
		if (D <= 0)
			continue;
		this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
		this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
		if (this_min > 0) {
			this_min = 0;
			this_scale = sum_xl / sum_l2;
		}
		err = qkx_error(n, x, weights, Laux, this_scale, this_min, use_mad);
		if (err < best) {
			memcpy(L, Laux, (size_t)n);
			best = err;
			scale = this_scale;
			min = this_min;
		}
	}
	*the_min = -min;
	return scale;
}

/* Four 2-bit codes per byte: byte l of each 32-byte half takes elements
 * l, l + 32, l + 64, l + 96 of its 128 (Q2_K's and Q3_K's qs). */
static void pack_2bit(uint8_t qs[QK_K / 4], const uint8_t L[QK_K])
{
	for (int j = 0; j < QK_K; j += 128)
		for (int l = 0; l < 32; l++)
			qs[j / 4 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 2 |
						  L[j + l + 64] << 4 | L[j + l + 96] << 6);
}

/*
 * Redo the codes of each sub-block of `sub` elements against its scale
 * as stored, d[j] (and min dm[j], NULL for the symmetric types):
 * x ~ d[j] * l - dm[j], l in [lo, hi], stored biased by -lo. A sub-block
 * whose scale is zero keeps the codes of the search.
 */
static void requantize_k(const float *x, uint8_t *L, int sub, const float *d,
			 const float *dm, int lo, int hi)
{
	for (int j = 0; j < QK_K / sub; j++) {
		if (!d[j])
			continue;
		for (int i = 0; i < sub; i++) {
			float v = x[sub * j + i];
			int l = round_even((dm ? v + dm[j] : v) / d[j]);

			L[sub * j + i] = (uint8_t)(clamp_int(l, lo, hi) - lo);
		}
	}
}

void mbr_quantize_row_q2_K_ref(const float *src, void *dst, int64_t n)
{
	struct block_q2_K *b = dst;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
		float scales[QK_K / 16], mins[QK_K / 16], weights[16];
		float d[QK_K / 16], dm[QK_K / 16], max_scale = 0, max_min = 0;
		float inv_scale, inv_min;
		uint8_t L[QK_K];

		for (int j = 0; j < QK_K / 16; j++) {
			const float *x = src + 16 * j;

			for (int l = 0; l < 16; l++)
				weights[l] = fabsf(x[l]);
			scales[j] = make_qkx2_quants(16, 3, x, weights, L + 16 * j, &mins[j],
						     -0.5f, 0.1f, 15, 1);
			max_scale = scales[j] > max_scale ? scales[j] : max_scale;
			max_min = mins[j] > max_min ? mins[j] : max_min;
		}
		/* four-bit scale and min per sub-block; ggml does not clamp
		 * (the largest maps to 15) and keeps only the low eight bits */
		inv_scale = max_scale > 0 ? 15.0f / max_scale : 0.0f;
		inv_min = max_min > 0 ? 15.0f / max_min : 0.0f;
		b[i].d = mbr_fp32_to_fp16(max_scale / 15.0f);
		b[i].dmin = mbr_fp32_to_fp16(max_min / 15.0f);
		for (int j = 0; j < QK_K / 16; j++) {
			int ls = round_even(inv_scale * scales[j]);
			int lm = round_even(inv_min * mins[j]);

			b[i].scales[j] = (uint8_t)(ls | lm << 4);
			d[j] = mbr_fp16_to_fp32(b[i].d) * (b[i].scales[j] & 0x0f);
			dm[j] = mbr_fp16_to_fp32(b[i].dmin) * (b[i].scales[j] >> 4);
		}
		requantize_k(src, L, 16, d, dm, 0, 3);
		pack_2bit(b[i].qs, L);
	}
}

/* Q3_K's scales, codes 0..63, in the layout mbr_q3_K_unpack() reads. */
static void q3_K_pack_scales(uint8_t packed[12], const int codes[16])
{
	memset(packed, 0, 12);
	for (int j = 0; j < 16; j++) {
		packed[j % 8] |= (uint8_t)((codes[j] & 0x0f) << (4 * (j / 8)));
		packed[8 + j % 4] |= (uint8_t)((codes[j] >> 4) << (2 * (j / 4)));
	}
}

void mbr_quantize_row_q3_K_ref(const float *src, void *dst, int64_t n)
{
	struct block_q3_K *b = dst;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
		float scales[QK_K / 16], d[QK_K / 16], max_scale = 0, amax = 0;
		int codes[QK_K / 16] = { 0 };
		int8_t sc[QK_K / 16];
		uint8_t L[QK_K];

		for (int j = 0; j < QK_K / 16; j++) {
			scales[j] = make_q3_quants(16, 4, src + 16 * j, L + 16 * j);
			if (fabsf(scales[j]) > amax) {
				amax = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		if (max_scale != 0.0f) {
			float iscale = -32.0f / max_scale;

			/* ggml narrows to int8_t before clamping */
			for (int j = 0; j < QK_K / 16; j++)
				codes[j] = clamp_int((int8_t)round_even(iscale * scales[j]),
						     -32, 31) + 32;
			b[i].d = mbr_fp32_to_fp16(1 / iscale);
		} else {
			b[i].d = mbr_fp32_to_fp16(0.0f);
		}
		/* all-zero scales pack as codes 0 (-32 once unbiased) */
		q3_K_pack_scales(b[i].scales, codes);
		mbr_q3_K_unpack(b[i].scales, sc);
		for (int j = 0; j < QK_K / 16; j++)
			d[j] = mbr_fp16_to_fp32(b[i].d) * sc[j];
		requantize_k(src, L, 16, d, NULL, -4, 3);
		/* the third bit of element j goes to bit j / 32 of hmask[j % 32] */
		memset(b[i].hmask, 0, sizeof(b[i].hmask));
		for (int j = 0; j < QK_K; j++) {
			if (L[j] > 3) {
				b[i].hmask[j % 32] |= (uint8_t)(1u << (j / 32));
				L[j] -= 4;
			}
		}
		pack_2bit(b[i].qs, L);
	}
}

/* Q4_K's and Q5_K's six-bit scales and mins, in the layout that
 * mbr_k4_unpack() reads. */
static void k4_pack_scales(uint8_t packed[12], const uint8_t sc[8], const uint8_t m[8])
{
	for (int j = 0; j < 4; j++) {
		packed[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
		packed[j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
		packed[j + 8] = (uint8_t)((sc[j + 4] & 0x0f) | (m[j + 4] & 0x0f) << 4);
	}
}

/*
 * The part Q4_K and Q5_K share: for each 32-element sub-block a scale and
 * min by make_qkx2_quants (weights av_x + |x|, av_x the sub-block's RMS),
 * both quantized to six bits against the block's largest, and the codes
 * L (0..nmax) redone against them.
 */
static void quantize_k4_block(const float *x, int nmax, float rmin, int nstep,
			      uint8_t L[QK_K], uint8_t packed[12], mbr_half *d,
			      mbr_half *dmin)
{
	float scales[QK_K / 32], mins[QK_K / 32], weights[32], ds[QK_K / 32], dms[QK_K / 32];
	float max_scale = 0, max_min = 0, inv_scale, inv_min;
	uint8_t sc[QK_K / 32], m[QK_K / 32];

	for (int j = 0; j < QK_K / 32; j++) {
		const float *xj = x + 32 * j;
		float sum_x2 = 0, av_x;

		for (int l = 0; l < 32; l++)
			sum_x2 += xj[l] * xj[l];
		av_x = sqrtf(sum_x2 / 32);
		for (int l = 0; l < 32; l++)
			weights[l] = av_x + fabsf(xj[l]);
		scales[j] = make_qkx2_quants(32, nmax, xj, weights, L + 32 * j, &mins[j],
					     rmin, 0.1f, nstep, 0);
		max_scale = scales[j] > max_scale ? scales[j] : max_scale;
		max_min = mins[j] > max_min ? mins[j] : max_min;
	}
	inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
	inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
	*d = mbr_fp32_to_fp16(max_scale / 63.0f);
	*dmin = mbr_fp32_to_fp16(max_min / 63.0f);
	for (int j = 0; j < QK_K / 32; j++) {
		/* ggml narrows to uint8_t, then clamps */
		uint8_t ls = (uint8_t)round_even(inv_scale * scales[j]);
		uint8_t lm = (uint8_t)round_even(inv_min * mins[j]);

		sc[j] = ls < 63 ? ls : 63;
		m[j] = lm < 63 ? lm : 63;
		ds[j] = mbr_fp16_to_fp32(*d) * sc[j];
		dms[j] = mbr_fp16_to_fp32(*dmin) * m[j];
	}
	k4_pack_scales(packed, sc, m);
	requantize_k(x, L, 32, ds, dms, 0, nmax);
}

/* Codes of 32-element sub-blocks 2c and 2c + 1 share the 32 bytes of chunk
 * c of qs (low and high nibble); for Q5_K a fifth bit goes to bit 2c or
 * 2c + 1 of qh[l]. The inverse of dequantize_k4(). */
static void pack_4bit(uint8_t qs[QK_K / 2], uint8_t *qh, const uint8_t L[QK_K])
{
	if (qh)
		memset(qh, 0, QK_K / 8);
	for (int s = 0; s < QK_K / 32; s++) {
		uint8_t *q = qs + 32 * (s / 2);

		for (int l = 0; l < 32; l++) {
			uint8_t v = L[32 * s + l];

			if (qh)
				qh[l] |= (uint8_t)((v >> 4) << s);
			q[l] = (uint8_t)((s % 2 ? q[l] : 0) | (v & 0x0f) << (4 * (s % 2)));
		}
	}
}

void mbr_quantize_row_q4_K_ref(const float *src, void *dst, int64_t n)
{
	struct block_q4_K *b = dst;
	uint8_t L[QK_K];

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
		quantize_k4_block(src, 15, -1.0f, 20, L, b[i].scales, &b[i].d, &b[i].dmin);
		pack_4bit(b[i].qs, NULL, L);
	}
}

void mbr_quantize_row_q5_K_ref(const float *src, void *dst, int64_t n)
{
	struct block_q5_K *b = dst;
	uint8_t L[QK_K];

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
		quantize_k4_block(src, 31, -0.5f, 15, L, b[i].scales, &b[i].d, &b[i].dmin);
		pack_4bit(b[i].qs, b[i].qh, L);
	}
}

void mbr_quantize_row_q6_K_ref(const float *src, void *dst, int64_t n)
{
	struct block_q6_K *b = dst;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
		float scales[QK_K / 16], d[QK_K / 16], max_scale = 0, amax = 0, iscale;
		uint8_t L[QK_K];

		for (int j = 0; j < QK_K / 16; j++) {
			scales[j] = make_qx_quants(16, 32, src + 16 * j, L + 16 * j);
			if (fabsf(scales[j]) > amax) {
				amax = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		if (amax < GROUP_MAX_EPS) {
			memset(&b[i], 0, sizeof(b[i]));
			continue;
		}
		iscale = -128.0f / max_scale;
		b[i].d = mbr_fp32_to_fp16(1 / iscale);
		for (int j = 0; j < QK_K / 16; j++) {
			int l = round_even(iscale * scales[j]);

			b[i].scales[j] = (int8_t)(l < 127 ? l : 127);
			d[j] = mbr_fp16_to_fp32(b[i].d) * b[i].scales[j];
		}
		requantize_k(src, L, 16, d, NULL, -32, 31);
		/* element e = 128 h + 32 k + l: low nibble into ql as
		 * mbr_dequantize_row_q6_K reads it, bit pair k of qh[32 h + l] */
		for (int e = 0; e < QK_K; e++) {
			int h = e / 128, k = (e / 32) % 4, l = e % 32;
			uint8_t *ql = &b[i].ql[64 * h + 32 * (k % 2) + l];
			uint8_t *qh = &b[i].qh[32 * h + l];

			*ql = (uint8_t)((k / 2 ? *ql : 0) | (L[e] & 0x0f) << (4 * (k / 2)));
			*qh = (uint8_t)((k ? *qh : 0) | (L[e] >> 4) << (2 * k));
		}
	}
}

/* ---- ggml's exponential: SwiGLU and softmax ------------------------ */

static float float_of(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static uint32_t bits_of(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

/*
 * ggml_v_expf, one lane of it: what llama.cpp's x86 build (AVX2 + FMA)
 * uses in softmax and SiLU instead of expf. It is ARM's optimized-routines
 * algorithm: 2^n * (1 + j) with n = round(x / ln 2) and a degree-5
 * polynomial j of the reduced argument, within 1.5 ulp of expf but not
 * equal to it. The FMAs must stay fused for the same bits.
 */
static float ggml_expf(float x)
{
	const float shift = 0x1.8p23f;
	float z = fmaf(x, 0x1.715476p+0f, shift), n = z - shift;
	float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
	uint32_t e = bits_of(z) << 23, g;
	float k = float_of(e + bits_of(1.0f)), u = b * b, s1, s2;
	float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
			    fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
		       u, 0x1.ffffecp-1f * b);

	if (fabsf(n) <= 126)
		return fmaf(j, k, k);
	/* 2^n itself would overflow or underflow: scale in two steps */
	g = n <= 0 ? 0x82000000u : 0;
	s1 = float_of(g + 0x7f000000u);
	s2 = float_of(e - g);
	if (fabsf(n) > 192)
		return s1 * s1;
	return fmaf(s2, j, s2) * s1;
}

/* ggml's 8-lane horizontal sum: halves, then pairs, then the last two */
static float hsum8(const float *v)
{
	float a0 = v[0] + v[4], a1 = v[1] + v[5], a2 = v[2] + v[6], a3 = v[3] + v[7];

	return (a0 + a2) + (a1 + a3);
}

void mbr_swiglu_ref(float *g, const float *u, int64_t n)
{
	assert(n % 8 == 0);
	for (int64_t i = 0; i < n; i++)
		g[i] = g[i] / (1.0f + ggml_expf(-g[i])) * u[i];
}

double mbr_softmax_exp_ref(float *x, int64_t n, float max)
{
	double sum = 0;

	for (int64_t j0 = 0; j0 < n; j0 += 8) {
		float v[8];

		for (int i = 0; i < 8; i++)
			v[i] = j0 + i < n ? ggml_expf(x[j0 + i] - max) : 0.0f;
		for (int i = 0; i < 8 && j0 + i < n; i++)
			x[j0 + i] = v[i];
		sum += hsum8(v);
	}
	return sum;
}
