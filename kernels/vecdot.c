/*
 * vecdot.c - scalar reference dot products of a weight row with an
 * activation row in the weight type's vec_dot_type.
 *
 * Each quantized block is first decoded to integer codes and integer
 * scales, products are summed exactly in integers per block, and only the
 * block sums are scaled and added in float, as ggml's reference code does.
 * Plain types accumulate in double, as ggml's scalar path does. These are
 * the yardstick for the ISA kernels, not the fast path.
 */
#include <assert.h>
#include <string.h>
#include "kernels.h"
#include "quants.h"
#include "scales.h"

/* ---- plain types */

void mbr_vec_dot_f32_f32_ref(int64_t n, float *s, const void *w, const void *x)
{
	const float *a = w, *b = x;
	double sum = 0;

	for (int64_t i = 0; i < n; i++)
		sum += (double)(a[i] * b[i]);
	*s = (float)sum;
}

void mbr_vec_dot_f16_f16_ref(int64_t n, float *s, const void *w, const void *x)
{
	const mbr_half *a = w, *b = x;
	double sum = 0;

	for (int64_t i = 0; i < n; i++)
		sum += (double)(mbr_fp16_to_fp32(a[i]) * mbr_fp16_to_fp32(b[i]));
	*s = (float)sum;
}

void mbr_vec_dot_bf16_bf16_ref(int64_t n, float *s, const void *w, const void *x)
{
	const mbr_bf16 *a = w, *b = x;
	double sum = 0;

	for (int64_t i = 0; i < n; i++)
		sum += (double)(mbr_bf16_to_fp32(a[i]) * mbr_bf16_to_fp32(b[i]));
	*s = (float)sum;
}

/* ---- 32-element blocks: element value = d * q + m */

struct block32 {
	int8_t q[32];
	float d, m;
};

typedef void (*decode32_fn)(const void *blocks, int64_t i, struct block32 *out);

static void nibbles(const uint8_t *qs, int8_t *q, int offset)
{
	for (int j = 0; j < 16; j++) {
		q[j] = (int8_t)((qs[j] & 0x0f) - offset);
		q[j + 16] = (int8_t)((qs[j] >> 4) - offset);
	}
}

static void fifth_bits(const uint8_t *qh, int8_t *q, int offset)
{
	uint32_t h;

	memcpy(&h, qh, sizeof(h));
	for (int j = 0; j < 32; j++)
		q[j] = (int8_t)(q[j] + ((h >> j & 1) << 4) - offset);
}

static void decode_q4_0(const void *blocks, int64_t i, struct block32 *out)
{
	const struct block_q4_0 *b = (const struct block_q4_0 *)blocks + i;

	nibbles(b->qs, out->q, 8);
	out->d = mbr_fp16_to_fp32(b->d);
	out->m = 0;
}

static void decode_q4_1(const void *blocks, int64_t i, struct block32 *out)
{
	const struct block_q4_1 *b = (const struct block_q4_1 *)blocks + i;

	nibbles(b->qs, out->q, 0);
	out->d = mbr_fp16_to_fp32(b->d);
	out->m = mbr_fp16_to_fp32(b->m);
}

static void decode_q5_0(const void *blocks, int64_t i, struct block32 *out)
{
	const struct block_q5_0 *b = (const struct block_q5_0 *)blocks + i;

	nibbles(b->qs, out->q, 0);
	fifth_bits(b->qh, out->q, 16);
	out->d = mbr_fp16_to_fp32(b->d);
	out->m = 0;
}

static void decode_q5_1(const void *blocks, int64_t i, struct block32 *out)
{
	const struct block_q5_1 *b = (const struct block_q5_1 *)blocks + i;

	nibbles(b->qs, out->q, 0);
	fifth_bits(b->qh, out->q, 0);
	out->d = mbr_fp16_to_fp32(b->d);
	out->m = mbr_fp16_to_fp32(b->m);
}

static void decode_q8_0(const void *blocks, int64_t i, struct block32 *out)
{
	const struct block_q8_0 *b = (const struct block_q8_0 *)blocks + i;

	memcpy(out->q, b->qs, 32);
	out->d = mbr_fp16_to_fp32(b->d);
	out->m = 0;
}

static int dot32(const int8_t *a, const int8_t *b)
{
	int sum = 0;

	for (int j = 0; j < 32; j++)
		sum += a[j] * b[j];
	return sum;
}

/* Against Q8_0 the weights are symmetric: m is 0. */
static float dot_q8_0(int64_t n, decode32_fn decode, const void *w,
		      const struct block_q8_0 *y)
{
	float sum = 0;
	struct block32 b;

	assert(n % 32 == 0);
	for (int64_t i = 0; i < n / 32; i++) {
		decode(w, i, &b);
		sum += (b.d * mbr_fp16_to_fp32(y[i].d)) * dot32(b.q, y[i].qs);
	}
	return sum;
}

/* sum (d q_j + m) dy y_j = d dy sum(q_j y_j) + m * (dy sum(y_j)), and
 * Q8_1 carries the last factor as s */
static float dot_q8_1(int64_t n, decode32_fn decode, const void *w,
		      const struct block_q8_1 *y)
{
	float sum = 0;
	struct block32 b;

	assert(n % 32 == 0);
	for (int64_t i = 0; i < n / 32; i++) {
		decode(w, i, &b);
		sum += (b.d * mbr_fp16_to_fp32(y[i].d)) * dot32(b.q, y[i].qs) +
		       b.m * mbr_fp16_to_fp32(y[i].s);
	}
	return sum;
}

void mbr_vec_dot_q4_0_q8_0_ref(int64_t n, float *s, const void *w, const void *x)
{
	*s = dot_q8_0(n, decode_q4_0, w, x);
}

void mbr_vec_dot_q5_0_q8_0_ref(int64_t n, float *s, const void *w, const void *x)
{
	*s = dot_q8_0(n, decode_q5_0, w, x);
}

void mbr_vec_dot_q8_0_q8_0_ref(int64_t n, float *s, const void *w, const void *x)
{
	*s = dot_q8_0(n, decode_q8_0, w, x);
}

void mbr_vec_dot_q4_1_q8_1_ref(int64_t n, float *s, const void *w, const void *x)
{
	*s = dot_q8_1(n, decode_q4_1, w, x);
}

void mbr_vec_dot_q5_1_q8_1_ref(int64_t n, float *s, const void *w, const void *x)
{
	*s = dot_q8_1(n, decode_q5_1, w, x);
}

/*
 * ---- 256-element super-blocks against Q8_K
 *
 * Every K-quant decodes to: element e = d * sc[e / 16] * q[e] -
 * dmin * m[e / 16]. Sub-blocks of 32 repeat their scale; the min term
 * needs only Q8_K's per-16 sums of the activation codes.
 */
struct blockK {
	int8_t q[QK_K];
	int sc[16], m[16];
	float d, dmin;
};

typedef void (*decodeK_fn)(const void *blocks, int64_t i, struct blockK *out);

static void decode_q2_K(const void *blocks, int64_t i, struct blockK *out)
{
	const struct block_q2_K *b = (const struct block_q2_K *)blocks + i;

	/* 32-byte chunk c of qs holds elements 128 c + 32 k + l in bit
	 * pair k of byte l */
	for (int e = 0; e < QK_K; e++)
		out->q[e] = (int8_t)((b->qs[32 * (e / 128) + e % 32] >>
				      (2 * (e / 32 % 4))) & 3);
	for (int j = 0; j < 16; j++) {
		out->sc[j] = b->scales[j] & 0x0f;
		out->m[j] = b->scales[j] >> 4;
	}
	out->d = mbr_fp16_to_fp32(b->d);
	out->dmin = mbr_fp16_to_fp32(b->dmin);
}

static void decode_q3_K(const void *blocks, int64_t i, struct blockK *out)
{
	const struct block_q3_K *b = (const struct block_q3_K *)blocks + i;
	int8_t sc[16];

	/* as Q2_K, minus 4 where the element's hmask bit is clear */
	for (int e = 0; e < QK_K; e++) {
		int lo = (b->qs[32 * (e / 128) + e % 32] >> (2 * (e / 32 % 4))) & 3;
		int hi = (b->hmask[e % 32] >> (e / 32)) & 1;

		out->q[e] = (int8_t)(lo - (hi ? 0 : 4));
	}
	mbr_q3_K_unpack(b->scales, sc);
	for (int j = 0; j < 16; j++) {
		out->sc[j] = sc[j];
		out->m[j] = 0;
	}
	out->d = mbr_fp16_to_fp32(b->d);
	out->dmin = 0;
}

/* Q4_K and Q5_K: chunk c of qs holds elements 64 c + l in low nibbles and
 * 64 c + 32 + l in high ones; Q5_K's fifth bit of element 32 k + l is bit
 * k of qh[l]. */
static void decode_k4(const uint8_t *scales, const uint8_t *qs,
		      const uint8_t *qh, struct blockK *out)
{
	uint8_t sc[8], m[8];

	for (int e = 0; e < QK_K; e++) {
		int v = (qs[32 * (e / 64) + e % 32] >> (4 * (e / 32 % 2))) & 0x0f;

		if (qh)
			v |= ((qh[e % 32] >> (e / 32)) & 1) << 4;
		out->q[e] = (int8_t)v;
	}
	mbr_k4_unpack(scales, sc, m);
	for (int j = 0; j < 16; j++) {
		out->sc[j] = sc[j / 2];
		out->m[j] = m[j / 2];
	}
}

static void decode_q4_K(const void *blocks, int64_t i, struct blockK *out)
{
	const struct block_q4_K *b = (const struct block_q4_K *)blocks + i;

	decode_k4(b->scales, b->qs, NULL, out);
	out->d = mbr_fp16_to_fp32(b->d);
	out->dmin = mbr_fp16_to_fp32(b->dmin);
}

static void decode_q5_K(const void *blocks, int64_t i, struct blockK *out)
{
	const struct block_q5_K *b = (const struct block_q5_K *)blocks + i;

	decode_k4(b->scales, b->qs, b->qh, out);
	out->d = mbr_fp16_to_fp32(b->d);
	out->dmin = mbr_fp16_to_fp32(b->dmin);
}

static void decode_q6_K(const void *blocks, int64_t i, struct blockK *out)
{
	const struct block_q6_K *b = (const struct block_q6_K *)blocks + i;

	/* element 128 h + 32 k + l: nibble k / 2 of ql[64 h + 32 (k % 2) +
	 * l], bit pair k of qh[32 h + l] */
	for (int e = 0; e < QK_K; e++) {
		int h = e / 128, k = e / 32 % 4, l = e % 32;
		int lo = (b->ql[64 * h + 32 * (k % 2) + l] >> (4 * (k / 2))) & 0x0f;
		int hi = (b->qh[32 * h + l] >> (2 * k)) & 3;

		out->q[e] = (int8_t)((lo | hi << 4) - 32);
	}
	for (int j = 0; j < 16; j++) {
		out->sc[j] = b->scales[j];
		out->m[j] = 0;
	}
	out->d = mbr_fp16_to_fp32(b->d);
	out->dmin = 0;
}

static float dot_q8_K(int64_t n, decodeK_fn decode, const void *w,
		      const struct block_q8_K *y)
{
	float sum = 0;
	struct blockK b;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++) {
		int isum = 0, msum = 0;

		decode(w, i, &b);
		for (int j = 0; j < 16; j++) {
			int part = 0;

			for (int l = 16 * j; l < 16 * j + 16; l++)
				part += b.q[l] * y[i].qs[l];
			isum += b.sc[j] * part;
			msum += b.m[j] * y[i].bsums[j];
		}
		sum += (b.d * y[i].d) * isum - (b.dmin * y[i].d) * msum;
	}
	return sum;
}

void mbr_vec_dot_q2_K_q8_K_ref(int64_t n, float *s, const void *w, const void *x)
{
	*s = dot_q8_K(n, decode_q2_K, w, x);
}

void mbr_vec_dot_q3_K_q8_K_ref(int64_t n, float *s, const void *w, const void *x)
{
	*s = dot_q8_K(n, decode_q3_K, w, x);
}

void mbr_vec_dot_q4_K_q8_K_ref(int64_t n, float *s, const void *w, const void *x)
{
	*s = dot_q8_K(n, decode_q4_K, w, x);
}

void mbr_vec_dot_q5_K_q8_K_ref(int64_t n, float *s, const void *w, const void *x)
{
	*s = dot_q8_K(n, decode_q5_K, w, x);
}

void mbr_vec_dot_q6_K_q8_K_ref(int64_t n, float *s, const void *w, const void *x)
{
	*s = dot_q8_K(n, decode_q6_K, w, x);
}
