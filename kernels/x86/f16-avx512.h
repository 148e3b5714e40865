/*
 * f16-avx512.h - the order of the AVX-512 set's F16 dot product, shared
 * by the dot (vecdot-avx512.c) and the batch (gemm-avx512.c), whose every
 * output must be the dot's bits.
 *
 * One accumulator of 16 floats: lane l takes the products of elements l,
 * l + 16, l + 32, ... of the two rows widened to float, one FMA per 16
 * elements, in order. f16_finish then adds the upper 8 lanes onto the
 * lower 8, the upper 4 of those onto the lower 4, the rest by two
 * horizontal adds, and adds the n % 16 elements left over to that sum in
 * double, as ggml does with its leftovers.
 *
 * Why not the AVX2 dot's order (four 8-lane accumulators over each 32
 * elements, which the AVX2 set keeps): a batch of F16 products keeps the
 * accumulators of every row and token in memory between column blocks,
 * and with one register per output instead of two those sums take half
 * the traffic and fit in L1 beside the tokens (+5-7% on F16 prompts).
 * The two orders differ in the last bits of a sum, as ggml's AVX2 and
 * AVX-512 builds do.
 *
 * Include after the AVX-512 target pragma.
 */
#ifndef MBR_F16_AVX512_H
#define MBR_F16_AVX512_H

#include <immintrin.h>
#include "kernels.h"
#include "quants.h"

static inline __attribute__((always_inline)) __m512 f16_load16(const mbr_half *p)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

/* The dot of n elements from its accumulator over the first n16 = n - n %
 * 16 of them (zero when n16 is zero). */
static inline __attribute__((always_inline)) float
f16_finish(__m512 acc, const mbr_half *w, const mbr_half *x, int64_t n16, int64_t n)
{
	__m256 t = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm256_castpd_ps(
		_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
	double sum;

	s = _mm_hadd_ps(s, s);
	sum = _mm_cvtss_f32(_mm_hadd_ps(s, s));
	for (int64_t i = n16; i < n; i++)
		sum += (double)(_cvtsh_ss(w[i]) * _cvtsh_ss(x[i]));
	return (float)sum;
}

#endif
