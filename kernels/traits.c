/*
 * traits.c - which kernels each tensor type has, chosen at run time.
 *
 * The reference table covers every type. On x86-64 a CPU with AVX2, F16C
 * and FMA gets a copy of it with the vector kernels patched in, and one
 * that also has AVX-512 F/BW/VL/VNNI a copy of that with the VNNI
 * kernels and the batched products (gemm) patched over it. MBR_KERNELS=ref
 * or =avx2 caps the choice (to compare, or to rule the newer code out). Conversions give identical
 * bytes either way (u-quants and u-vecdot check it); dot products differ
 * only in summation order.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#include "mbr/types.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Reference entries: no batched products (gemm) or several-row dots. */
#define REF(type, dequantize, quantize, dot_type, dot, from_float) \
	{ type, dequantize, quantize, dot_type, dot, from_float, NULL, NULL, NULL, NULL, 0 }

static const struct mbr_kernel_traits ref_traits[] = {
	REF(MBR_TYPE_F32, mbr_dequantize_row_f32, mbr_quantize_row_f32_ref,
	    MBR_TYPE_F32, mbr_vec_dot_f32_f32_ref, mbr_quantize_row_f32_ref),
	REF(MBR_TYPE_F16, mbr_dequantize_row_f16, mbr_quantize_row_f16_ref,
	    MBR_TYPE_F16, mbr_vec_dot_f16_f16_ref, mbr_quantize_row_f16_ref),
	REF(MBR_TYPE_BF16, mbr_dequantize_row_bf16, mbr_quantize_row_bf16_ref,
	    MBR_TYPE_BF16, mbr_vec_dot_bf16_bf16_ref, mbr_quantize_row_bf16_ref),
	REF(MBR_TYPE_Q8_0, mbr_dequantize_row_q8_0, mbr_quantize_row_q8_0_ref,
	    MBR_TYPE_Q8_0, mbr_vec_dot_q8_0_q8_0_ref, mbr_quantize_row_q8_0),
	REF(MBR_TYPE_Q4_0, mbr_dequantize_row_q4_0, mbr_quantize_row_q4_0_ref,
	    MBR_TYPE_Q8_0, mbr_vec_dot_q4_0_q8_0_ref, NULL),
	REF(MBR_TYPE_Q4_1, mbr_dequantize_row_q4_1, mbr_quantize_row_q4_1_ref,
	    MBR_TYPE_Q8_1, mbr_vec_dot_q4_1_q8_1_ref, NULL),
	REF(MBR_TYPE_Q5_0, mbr_dequantize_row_q5_0, mbr_quantize_row_q5_0_ref,
	    MBR_TYPE_Q8_0, mbr_vec_dot_q5_0_q8_0_ref, NULL),
	REF(MBR_TYPE_Q5_1, mbr_dequantize_row_q5_1, mbr_quantize_row_q5_1_ref,
	    MBR_TYPE_Q8_1, mbr_vec_dot_q5_1_q8_1_ref, NULL),
	/* activation-only types: never written to files, so no quantize */
	REF(MBR_TYPE_Q8_1, mbr_dequantize_row_q8_1, NULL,
	    0, NULL, mbr_quantize_row_q8_1),
	REF(MBR_TYPE_Q8_K, mbr_dequantize_row_q8_K, NULL,
	    0, NULL, mbr_quantize_row_q8_K),
	REF(MBR_TYPE_Q2_K, mbr_dequantize_row_q2_K, mbr_quantize_row_q2_K_ref,
	    MBR_TYPE_Q8_K, mbr_vec_dot_q2_K_q8_K_ref, NULL),
	REF(MBR_TYPE_Q3_K, mbr_dequantize_row_q3_K, mbr_quantize_row_q3_K_ref,
	    MBR_TYPE_Q8_K, mbr_vec_dot_q3_K_q8_K_ref, NULL),
	REF(MBR_TYPE_Q4_K, mbr_dequantize_row_q4_K, mbr_quantize_row_q4_K_ref,
	    MBR_TYPE_Q8_K, mbr_vec_dot_q4_K_q8_K_ref, NULL),
	REF(MBR_TYPE_Q5_K, mbr_dequantize_row_q5_K, mbr_quantize_row_q5_K_ref,
	    MBR_TYPE_Q8_K, mbr_vec_dot_q5_K_q8_K_ref, NULL),
	REF(MBR_TYPE_Q6_K, mbr_dequantize_row_q6_K, mbr_quantize_row_q6_K_ref,
	    MBR_TYPE_Q8_K, mbr_vec_dot_q6_K_q8_K_ref, NULL),
};

#if defined(__x86_64__)
/* What AVX2 replaces; a NULL field keeps the reference kernel. File
 * quantizers stay scalar: they must reproduce llama-quantize's bytes. */
static const struct mbr_kernel_traits avx2_patches[] = {
	{ .type = MBR_TYPE_F32, .vec_dot = mbr_vec_dot_f32_f32_avx2 },
	{ .type = MBR_TYPE_F16, .dequantize = mbr_dequantize_row_f16_avx2,
	  .vec_dot = mbr_vec_dot_f16_f16_avx2,
	  .from_float = mbr_quantize_row_f16_avx2, .gemm = mbr_gemm_f16_f16_avx2 },
	{ .type = MBR_TYPE_BF16, .vec_dot = mbr_vec_dot_bf16_bf16_avx2 },
	{ .type = MBR_TYPE_Q8_0, .dequantize = mbr_dequantize_row_q8_0_avx2,
	  .vec_dot = mbr_vec_dot_q8_0_q8_0_avx2,
	  .from_float = mbr_quantize_row_q8_0_avx2, .gemm = mbr_gemm_q8_0_q8_0_avx2 },
	{ .type = MBR_TYPE_Q4_0, .vec_dot = mbr_vec_dot_q4_0_q8_0_avx2,
	  .gemm = mbr_gemm_q4_0_q8_0_avx2 },
	{ .type = MBR_TYPE_Q4_1, .vec_dot = mbr_vec_dot_q4_1_q8_1_avx2 },
	{ .type = MBR_TYPE_Q5_0, .vec_dot = mbr_vec_dot_q5_0_q8_0_avx2 },
	{ .type = MBR_TYPE_Q5_1, .vec_dot = mbr_vec_dot_q5_1_q8_1_avx2 },
	{ .type = MBR_TYPE_Q8_1, .from_float = mbr_quantize_row_q8_1_avx2 },
	{ .type = MBR_TYPE_Q8_K, .from_float = mbr_quantize_row_q8_K_avx2 },
	{ .type = MBR_TYPE_Q2_K, .vec_dot = mbr_vec_dot_q2_K_q8_K_avx2 },
	{ .type = MBR_TYPE_Q3_K, .vec_dot = mbr_vec_dot_q3_K_q8_K_avx2 },
	{ .type = MBR_TYPE_Q4_K, .vec_dot = mbr_vec_dot_q4_K_q8_K_avx2,
	  .gemm = mbr_gemm_q4_K_q8_K_avx2 },
	{ .type = MBR_TYPE_Q5_K, .vec_dot = mbr_vec_dot_q5_K_q8_K_avx2 },
	{ .type = MBR_TYPE_Q6_K, .vec_dot = mbr_vec_dot_q6_K_q8_K_avx2,
	  .gemm = mbr_gemm_q6_K_q8_K_avx2 },
};

#define GEMM_Q8_0(t) .gemm = mbr_gemm_##t##_q8_0_avx512, \
	.gemm_pack = mbr_gemm_pack_q8_0_avx512, \
	.gemm_pack_size = mbr_gemm_pack_size_q8_0_avx512
#define GEMM_Q8_K(t) .gemm = mbr_gemm_##t##_q8_K_avx512, \
	.gemm_pack = mbr_gemm_pack_q8_K_avx512, \
	.gemm_pack_size = mbr_gemm_pack_size_q8_K_avx512

/* What AVX-512 VNNI replaces on top of AVX2, and the batched products,
 * which mirror this set's dots. */
static const struct mbr_kernel_traits avx512_patches[] = {
	{ .type = MBR_TYPE_F16, .vec_dot = mbr_vec_dot_f16_f16_avx512,
	  .gemm = mbr_gemm_f16_f16_avx512,
	  .vec_dot_rows = mbr_vec_dot_rows_f16_f16_avx512, .dot_rows = MBR_F16_ROWS },
	{ .type = MBR_TYPE_Q8_0, .vec_dot = mbr_vec_dot_q8_0_q8_0_avx512,
	  GEMM_Q8_0(q8_0) },
	{ .type = MBR_TYPE_Q4_0, .vec_dot = mbr_vec_dot_q4_0_q8_0_avx512,
	  GEMM_Q8_0(q4_0), .vec_dot_rows = mbr_vec_dot_rows_q4_0_q8_0_avx512,
	  .dot_rows = MBR_Q4_0_ROWS },
	{ .type = MBR_TYPE_Q4_1, .vec_dot = mbr_vec_dot_q4_1_q8_1_avx512 },
	{ .type = MBR_TYPE_Q5_0, .vec_dot = mbr_vec_dot_q5_0_q8_0_avx512 },
	{ .type = MBR_TYPE_Q5_1, .vec_dot = mbr_vec_dot_q5_1_q8_1_avx512 },
	{ .type = MBR_TYPE_Q2_K, .vec_dot = mbr_vec_dot_q2_K_q8_K_avx512 },
	{ .type = MBR_TYPE_Q3_K, .vec_dot = mbr_vec_dot_q3_K_q8_K_avx512 },
	{ .type = MBR_TYPE_Q4_K, .vec_dot = mbr_vec_dot_q4_K_q8_K_avx512,
	  GEMM_Q8_K(q4_K) },
	{ .type = MBR_TYPE_Q5_K, .vec_dot = mbr_vec_dot_q5_K_q8_K_avx512 },
	{ .type = MBR_TYPE_Q6_K, .vec_dot = mbr_vec_dot_q6_K_q8_K_avx512,
	  GEMM_Q8_K(q6_K) },
};

static struct mbr_kernel_traits avx2_traits[ARRAY_SIZE(ref_traits)];
static struct mbr_kernel_traits avx512_traits[ARRAY_SIZE(ref_traits)];
static int have_avx2, have_avx512;	/* the tables are filled in */

int mbr_cpu_has_avx2(void)
{
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") &&
	       __builtin_cpu_supports("fma");
}

/* __builtin_cpu_supports also checks that the OS saves the zmm state. */
int mbr_cpu_has_avx512(void)
{
	return mbr_cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") &&
	       __builtin_cpu_supports("avx512vnni");
}

#define PATCH(field) if (p->field) t->field = p->field

/* dst = base with the non-NULL fields of patches written over it */
static void patch_table(struct mbr_kernel_traits *dst,
			const struct mbr_kernel_traits *base,
			const struct mbr_kernel_traits *patches, size_t n)
{
	memcpy(dst, base, sizeof(ref_traits));
	for (size_t i = 0; i < n; i++) {
		const struct mbr_kernel_traits *p = &patches[i];
		struct mbr_kernel_traits *t = dst;

		/* every patched type is in the reference table */
		while (t->type != p->type) {
			t++;
			assert(t < dst + ARRAY_SIZE(ref_traits));
		}
		/* rows and batches give their dot's bits: a patch with a
		 * new dot drops the old dot's unless it brings its own */
		if (p->vec_dot) {
			t->vec_dot_rows = NULL, t->dot_rows = 0;
			t->gemm = NULL, t->gemm_pack = NULL, t->gemm_pack_size = NULL;
		}
		PATCH(dequantize);
		PATCH(vec_dot);
		PATCH(from_float);
		PATCH(gemm);
		PATCH(gemm_pack);
		PATCH(gemm_pack_size);
		PATCH(vec_dot_rows);
		PATCH(dot_rows);
	}
}
#endif

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static enum mbr_kernel_isa chosen = MBR_KERNELS_REF;

static void setup(void)
{
#if defined(__x86_64__)
	const char *env = getenv("MBR_KERNELS");
	enum mbr_kernel_isa cap = MBR_KERNELS_AVX512;

	if (env && !strcmp(env, "ref"))
		cap = MBR_KERNELS_REF;
	else if (env && !strcmp(env, "avx2"))
		cap = MBR_KERNELS_AVX2;
	if (!mbr_cpu_has_avx2())
		return;
	patch_table(avx2_traits, ref_traits, avx2_patches, ARRAY_SIZE(avx2_patches));
	have_avx2 = 1;
	if (mbr_cpu_has_avx512()) {
		patch_table(avx512_traits, avx2_traits, avx512_patches,
			    ARRAY_SIZE(avx512_patches));
		have_avx512 = 1;
	}
	chosen = have_avx512 ? MBR_KERNELS_AVX512 : MBR_KERNELS_AVX2;
	if (chosen > cap)
		chosen = cap;
#endif
}

static const struct mbr_kernel_traits *find(const struct mbr_kernel_traits *table,
					     size_t n, int type)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].type == type)
			return &table[i];
	return NULL;
}

const struct mbr_kernel_traits *mbr_kernel_traits_isa(int type,
						       enum mbr_kernel_isa isa)
{
	pthread_once(&setup_once, setup);
	if (isa == MBR_KERNELS_REF)
		return find(ref_traits, ARRAY_SIZE(ref_traits), type);
#if defined(__x86_64__)
	if (isa == MBR_KERNELS_AVX2 && have_avx2)
		return find(avx2_traits, ARRAY_SIZE(avx2_traits), type);
	if (isa == MBR_KERNELS_AVX512 && have_avx512)
		return find(avx512_traits, ARRAY_SIZE(avx512_traits), type);
#endif
	return NULL;
}

enum mbr_kernel_isa mbr_kernel_isa(void)
{
	pthread_once(&setup_once, setup);
	return chosen;
}

mbr_swiglu_fn mbr_kernel_swiglu(void)
{
#if defined(__x86_64__)
	if (mbr_kernel_isa() >= MBR_KERNELS_AVX2)
		return mbr_swiglu_avx2;
#endif
	return mbr_swiglu_ref;
}

mbr_softmax_exp_fn mbr_kernel_softmax_exp(void)
{
#if defined(__x86_64__)
	if (mbr_kernel_isa() >= MBR_KERNELS_AVX2)
		return mbr_softmax_exp_avx2;
#endif
	return mbr_softmax_exp_ref;
}

const struct mbr_kernel_traits *mbr_kernel_traits(int type)
{
	return mbr_kernel_traits_isa(type, mbr_kernel_isa());
}

size_t mbr_row_size(int type, int64_t n)
{
	const struct mbr_type_info *ti = mbr_type_get(type);

	assert(ti && n >= 0 && n % ti->block_elems == 0);
	return (size_t)(n / ti->block_elems) * ti->block_bytes;
}
