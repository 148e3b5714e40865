/*
 * kernels.h - per-type row conversions between tensor blocks and float.
 *
 * A row of n elements (n a multiple of the type's block size, which the
 * kernels assert) is converted in one call. The *_ref functions are the
 * scalar reference: the quantizers follow ggml's reference algorithms bit
 * for bit, so a file they write matches what llama-quantize writes without
 * an importance matrix. ISA-specific variants must produce identical
 * results; mbr_kernel_traits() picks the fastest one the CPU supports.
 *
 * Kernels never allocate, print or fail: misuse is a bug and asserts.
 */
#ifndef MBR_KERNELS_H
#define MBR_KERNELS_H

#include <stdint.h>

typedef void (*mbr_dequantize_fn)(const void *src, float *dst, int64_t n);
typedef void (*mbr_quantize_fn)(const float *src, void *dst, int64_t n);

struct mbr_kernel_traits {
	int type;			/* enum mbr_type */
	mbr_dequantize_fn dequantize;
	mbr_quantize_fn quantize;	/* NULL: mbr cannot produce this type */
};

/* The kernels for a type (enum mbr_type); NULL when mbr has none. */
const struct mbr_kernel_traits *mbr_kernel_traits(int type);

/* Scalar reference dequantizers. */
void mbr_dequantize_row_f32(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_f16(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_bf16(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q8_0(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q4_0(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q4_1(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q5_0(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q5_1(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q2_K(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q3_K(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q4_K(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q5_K(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q6_K(const void *src, float *dst, int64_t n);

/* Scalar reference quantizers (ggml's quantize_row_<t>_ref). */
void mbr_quantize_row_f32_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_f16_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_bf16_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q8_0_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q4_0_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q4_1_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q5_0_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q5_1_ref(const float *src, void *dst, int64_t n);

#if defined(__x86_64__)
/* AVX2+F16C+FMA; call only when mbr_cpu_has_avx2() says so. */
int mbr_cpu_has_avx2(void);
void mbr_dequantize_row_f16_avx2(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q8_0_avx2(const void *src, float *dst, int64_t n);
#endif

#endif
