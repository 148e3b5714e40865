/*
 * exp-avx2.c - ggml's vectorised exponential and its two users, SwiGLU's
 * silu(gate) * up and softmax, eight lanes at a time.
 *
 * llama.cpp's x86 build (AVX2 + FMA) computes silu as x / (1 + e^-x) and
 * softmax's e^(x - max) with its vectorised exponential, ARM's
 * optimized-routines algorithm; the reference (kernels/ref.c) does the
 * same one lane at a time, with fmaf, a call into libm where the library
 * is built without FMA. Every step here is that lane's own operation (the
 * FMAs fused, the rarely taken overflow branch computed too and chosen
 * lane by lane), so the results are bit for bit the reference's.
 */
#include <assert.h>
#include <immintrin.h>
#include "kernels.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __m256 splat(float f)
{
	return _mm256_set1_ps(f);
}

ALWAYS_INLINE __m256 bits_add(__m256 v, unsigned int add)
{
	return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(v),
						    _mm256_set1_epi32((int)add)));
}

/* e^x as 2^n (1 + j), n = round(x / ln 2), j a polynomial in the rest */
ALWAYS_INLINE __m256 exp8(__m256 x)
{
	const __m256 shift = splat(0x1.8p23f);
	__m256 z = _mm256_fmadd_ps(x, splat(0x1.715476p+0f), shift);
	__m256 n = _mm256_sub_ps(z, shift);
	__m256 b = _mm256_fnmadd_ps(n, splat(0x1.7f7d1cp-20f),
				    _mm256_fnmadd_ps(n, splat(0x1.62e4p-1f), x));
	__m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
	__m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(splat(1.0f))));
	__m256 u = _mm256_mul_ps(b, b);
	__m256 j = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_fmadd_ps(splat(0x1.0e4020p-7f), b,
								   splat(0x1.573e2ep-5f)), u,
						   _mm256_fmadd_ps(splat(0x1.555e66p-3f), b,
								   splat(0x1.fffdb6p-2f))),
				   u, _mm256_mul_ps(splat(0x1.ffffecp-1f), b));
	__m256 an = _mm256_andnot_ps(splat(-0.0f), n), g, s1, s2, big;
	__m256 wide = _mm256_cmp_ps(an, splat(126), _CMP_GT_OQ);

	if (!_mm256_movemask_ps(wide))
		return _mm256_fmadd_ps(j, k, k);
	/* 2^n itself would overflow or underflow: scale in two steps */
	g = _mm256_and_ps(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ),
			  _mm256_castsi256_ps(_mm256_set1_epi32((int)0x82000000u)));
	s1 = bits_add(g, 0x7f000000u);
	s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, _mm256_castps_si256(g)));
	big = _mm256_blendv_ps(_mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1),
			       _mm256_mul_ps(s1, s1),
			       _mm256_cmp_ps(an, splat(192), _CMP_GT_OQ));
	return _mm256_blendv_ps(_mm256_fmadd_ps(j, k, k), big, wide);
}

void mbr_swiglu_avx2(float *g, const float *u, int64_t n)
{
	assert(n % 8 == 0);
	for (int64_t i = 0; i < n; i += 8) {
		__m256 x = _mm256_loadu_ps(g + i);
		__m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));

		_mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(splat(1.0f), e)),
						      _mm256_loadu_ps(u + i)));
	}
}

/* ggml's 8-lane horizontal sum: halves, then pairs, then the last two */
ALWAYS_INLINE float hsum8(__m256 v)
{
	__m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	__m128 b = _mm_add_ps(a, _mm_movehl_ps(a, a));

	return _mm_cvtss_f32(_mm_add_ss(b, _mm_movehdup_ps(b)));
}

double mbr_softmax_exp_avx2(float *x, int64_t n, float max)
{
	double sum = 0;
	int64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), splat(max)));

		_mm256_storeu_ps(x + i, e);
		sum += hsum8(e);
	}
	if (i < n) {
		/* the masked cells past n: e^-inf, lanes of zero */
		__m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
		__m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)), lane);
		__m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, live), splat(max)));

		e = _mm256_and_ps(e, _mm256_castsi256_ps(live));
		_mm256_maskstore_ps(x + i, live, e);
		sum += hsum8(e);
	}
	return sum;
}
