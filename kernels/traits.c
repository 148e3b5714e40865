/*
 * traits.c - which kernels each tensor type has.
 *
 * The reference table covers every type; on x86-64 a CPU with AVX2, F16C
 * and FMA gets the vector dequantizers instead. Both give identical floats
 * (u-quants checks it), so the choice only changes speed.
 */
#include <stddef.h>
#include "kernels.h"
#include "mbr/types.h"

static const struct mbr_kernel_traits ref_traits[] = {
	{ MBR_TYPE_F32, mbr_dequantize_row_f32, mbr_quantize_row_f32_ref },
	{ MBR_TYPE_F16, mbr_dequantize_row_f16, mbr_quantize_row_f16_ref },
	{ MBR_TYPE_BF16, mbr_dequantize_row_bf16, mbr_quantize_row_bf16_ref },
	{ MBR_TYPE_Q8_0, mbr_dequantize_row_q8_0, mbr_quantize_row_q8_0_ref },
	{ MBR_TYPE_Q4_0, mbr_dequantize_row_q4_0, mbr_quantize_row_q4_0_ref },
	{ MBR_TYPE_Q4_1, mbr_dequantize_row_q4_1, mbr_quantize_row_q4_1_ref },
	{ MBR_TYPE_Q5_0, mbr_dequantize_row_q5_0, mbr_quantize_row_q5_0_ref },
	{ MBR_TYPE_Q5_1, mbr_dequantize_row_q5_1, mbr_quantize_row_q5_1_ref },
	{ MBR_TYPE_Q2_K, mbr_dequantize_row_q2_K, NULL },
	{ MBR_TYPE_Q3_K, mbr_dequantize_row_q3_K, NULL },
	{ MBR_TYPE_Q4_K, mbr_dequantize_row_q4_K, NULL },
	{ MBR_TYPE_Q5_K, mbr_dequantize_row_q5_K, NULL },
	{ MBR_TYPE_Q6_K, mbr_dequantize_row_q6_K, NULL },
};

#if defined(__x86_64__)
static const struct mbr_kernel_traits avx2_traits[] = {
	{ MBR_TYPE_F16, mbr_dequantize_row_f16_avx2, mbr_quantize_row_f16_ref },
	{ MBR_TYPE_Q8_0, mbr_dequantize_row_q8_0_avx2, mbr_quantize_row_q8_0_ref },
};

int mbr_cpu_has_avx2(void)
{
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") &&
	       __builtin_cpu_supports("fma");
}
#endif

static const struct mbr_kernel_traits *find(const struct mbr_kernel_traits *table,
					     size_t n, int type)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].type == type)
			return &table[i];
	return NULL;
}

const struct mbr_kernel_traits *mbr_kernel_traits(int type)
{
#if defined(__x86_64__)
	const struct mbr_kernel_traits *t;

	if (mbr_cpu_has_avx2() &&
	    (t = find(avx2_traits, sizeof(avx2_traits) / sizeof(avx2_traits[0]), type)))
		return t;
#endif
	return find(ref_traits, sizeof(ref_traits) / sizeof(ref_traits[0]), type);
}
