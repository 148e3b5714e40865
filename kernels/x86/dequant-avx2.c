/*
 * dequant-avx2.c - AVX2/F16C dequantizers for the hottest types.
 *
 * Built with -mavx2 -mfma -mf16c and only reached through
 * mbr_kernel_traits() after a CPU check. Each product is a single float
 * multiply, as in ref.c, so the results are bit-identical to the reference.
 */
#include <assert.h>
#include <immintrin.h>
#include "kernels.h"
#include "quants.h"

void mbr_dequantize_row_f16_avx2(const void *src, float *dst, int64_t n)
{
	const mbr_half *x = src;
	int64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m128i h = _mm_loadu_si128((const __m128i *)(x + i));

		_mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
	}
	for (; i < n; i++)
		dst[i] = mbr_fp16_to_fp32(x[i]);
}

void mbr_dequantize_row_q8_0_avx2(const void *src, float *dst, int64_t n)
{
	const struct block_q8_0 *b = src;

	assert(n % QK8_0 == 0);
	for (int64_t i = 0; i < n / QK8_0; i++, dst += QK8_0) {
		__m256 d = _mm256_set1_ps(mbr_fp16_to_fp32(b[i].d));

		for (int j = 0; j < QK8_0; j += 8) {
			__m128i q8 = _mm_loadl_epi64((const __m128i *)(b[i].qs + j));
			__m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8));

			_mm256_storeu_ps(dst + j, _mm256_mul_ps(q, d));
		}
	}
}
