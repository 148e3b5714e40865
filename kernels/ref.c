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
