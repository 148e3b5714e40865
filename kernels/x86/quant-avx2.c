/*
 * quant-avx2.c - AVX2/F16C activation quantizers (from_float).
 *
 * Built with -mavx2 -mfma -mf16c and only reached through
 * mbr_kernel_traits() after a CPU check. They write the same bytes as the
 * scalar mbr_quantize_row_q8_0/q8_1/q8_K and mbr_quantize_row_f16_ref
 * (u-vecdot checks it): every code is one float product rounded half to
 * even, and maxima do not depend on the order they are taken in.
 */
#include <assert.h>
#include <immintrin.h>
#include <string.h>
#include "kernels.h"
#include "quants.h"

void mbr_quantize_row_f16_avx2(const float *src, void *dst, int64_t n)
{
	mbr_half *y = dst;
	int64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i),
					    _MM_FROUND_TO_NEAREST_INT);

		_mm_storeu_si128((__m128i *)(y + i), h);
	}
	for (; i < n; i++)
		y[i] = mbr_fp32_to_fp16(src[i]);
}

static float hmax8(__m256 v)
{
	__m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	m = _mm_max_ps(m, _mm_movehl_ps(m, m));
	m = _mm_max_ss(m, _mm_movehdup_ps(m));
	return _mm_cvtss_f32(m);
}

static int hsum_i32(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v),
				  _mm256_extracti128_si256(v, 1));

	s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtsi128_si32(s);
}

/* Round 8 products half to even; the codes fit in int8 by construction. */
static __m256i codes8(const float *x, __m256 mul)
{
	__m256 v = _mm256_mul_ps(_mm256_loadu_ps(x), mul);

	return _mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT |
						    _MM_FROUND_NO_EXC));
}

/*
 * Narrow 32 int32 codes to bytes in order. The packs work per 128-bit
 * lane, which leaves 4-byte groups in the order 0 2 4 6 1 3 5 7.
 */
static void store_codes(int8_t *qs, __m256i c0, __m256i c1, __m256i c2, __m256i c3)
{
	__m256i p = _mm256_packs_epi16(_mm256_packs_epi32(c0, c1),
				       _mm256_packs_epi32(c2, c3));

	p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
	_mm256_storeu_si256((__m256i *)qs, p);
}

/* One block of 32, as the scalar quantize_act_block(); returns sum(qs). */
static int act_block(const float *x, int8_t *qs, float *d)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256 amax = _mm256_setzero_ps();
	__m256i c[4];
	float max, id;

	for (int k = 0; k < 4; k++)
		amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)));
	max = hmax8(amax);
	*d = max / 127;
	id = max != 0.0f ? 127 / max : 0.0f;
	for (int k = 0; k < 4; k++)
		c[k] = codes8(x + 8 * k, _mm256_set1_ps(id));
	store_codes(qs, c[0], c[1], c[2], c[3]);
	return hsum_i32(_mm256_add_epi32(_mm256_add_epi32(c[0], c[1]),
					 _mm256_add_epi32(c[2], c[3])));
}

void mbr_quantize_row_q8_0_avx2(const float *src, void *dst, int64_t n)
{
	struct block_q8_0 *b = dst;

	assert(n % QK8_0 == 0);
	for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0) {
		float d;

		act_block(src, b[i].qs, &d);
		b[i].d = (mbr_half)_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
	}
}

void mbr_quantize_row_q8_1_avx2(const float *src, void *dst, int64_t n)
{
	struct block_q8_1 *b = dst;

	assert(n % QK8_1 == 0);
	for (int64_t i = 0; i < n / QK8_1; i++, src += QK8_1) {
		float d;
		int sum = act_block(src, b[i].qs, &d);

		b[i].d = (mbr_half)_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
		b[i].s = (mbr_half)_cvtss_sh(d * (float)sum, _MM_FROUND_TO_NEAREST_INT);
	}
}

/* The element of largest magnitude, signed; the first one wins ties. */
static float signed_absmax_256(const float *x)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256 amax = _mm256_setzero_ps();
	__m256 target;

	for (int j = 0; j < QK_K; j += 8)
		amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
	target = _mm256_set1_ps(hmax8(amax));
	for (int j = 0; j < QK_K; j += 8) {
		__m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j));
		int hit = _mm256_movemask_ps(_mm256_cmp_ps(a, target, _CMP_EQ_OQ));

		if (hit)
			return x[j + __builtin_ctz((unsigned)hit)];
	}
	return 0.0f;
}

void mbr_quantize_row_q8_K_avx2(const float *src, void *dst, int64_t n)
{
	struct block_q8_K *b = dst;

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
		float max = signed_absmax_256(src), iscale;
		__m256 mul;

		if (max == 0.0f) {
			memset(&b[i], 0, sizeof(b[i]));
			continue;
		}
		iscale = -127.0f / max;
		mul = _mm256_set1_ps(iscale);
		for (int j = 0; j < QK_K; j += 32) {
			const __m256i top = _mm256_set1_epi32(127);
			__m256i c[4];

			for (int k = 0; k < 4; k++)
				c[k] = _mm256_min_epi32(codes8(src + j + 8 * k, mul), top);
			store_codes(b[i].qs + j, c[0], c[1], c[2], c[3]);
			b[i].bsums[j / 16] = (int16_t)hsum_i32(_mm256_add_epi32(c[0], c[1]));
			b[i].bsums[j / 16 + 1] = (int16_t)hsum_i32(_mm256_add_epi32(c[2], c[3]));
		}
		b[i].d = 1 / iscale;
	}
}
