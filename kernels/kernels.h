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
 * The dot products follow llama.cpp's CPU backend: before a matrix-vector
 * product the activation row (F32) is converted to the weight type's
 * vec_dot_type with that type's from_float, then each weight row is dotted
 * with it. The conversions give the same bytes on every ISA; the dots'
 * summation order differs between ISAs in the last bits, as in ggml.
 *
 * Kernels never allocate, print or fail: misuse is a bug and asserts.
 */
#ifndef MBR_KERNELS_H
#define MBR_KERNELS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*mbr_dequantize_fn)(const void *src, float *dst, int64_t n);
typedef void (*mbr_quantize_fn)(const float *src, void *dst, int64_t n);
/* *s = the dot product of n elements of a weight row w and an activation
 * row x already converted to the weight type's vec_dot_type */
typedef void (*mbr_vec_dot_fn)(int64_t n, float *s, const void *w,
			       const void *x);

/*
 * s[r] = the dot product of weight row r (at w + r * w_row_bytes) and x,
 * for r below the traits' dot_rows: a decode step's vec_dot for a few
 * rows at once, sharing the work on x, bit for bit vec_dot's results.
 * The matmul passes rows a run apart and calls again with the rows after
 * them, so the kernels fetch ahead the rows that follow each in memory.
 */
typedef void (*mbr_vec_dot_rows_fn)(int64_t n, float *s, const void *w,
				    size_t w_row_bytes, const void *x);
/* the most dot_rows a set may have: the matmul's buffer of one call's s */
#define MBR_DOT_ROWS_MAX 8

/*
 * Batched products for prompt processing. A group of up to
 * MBR_GEMM_TOKENS activation rows of n elements, already converted with
 * from_float (row t at x + t * x_row_bytes), is first rearranged by
 * gemm_pack into gemm_pack_size(n) bytes at dst, the layout the gemm
 * kernel wants (tokens past `tokens` are padded). A set without gemm_pack
 * (and gemm_pack_size) reads the converted rows in place instead, the
 * first `tokens` of them, x_row_bytes = mbr_row_size(vec_dot_type, n).
 * gemm then multiplies `rows` weight rows (row r at w + r * w_row_bytes)
 * by the group:
 *	out[t * out_stride + r] = row r . token t,	t < tokens,
 * bit for bit what the same set's vec_dot gives, so a prompt processed
 * as a batch gives the numbers of one processed token by token.
 *
 * `ahead` names the weights the caller multiplies after these, which the
 * kernel fetches into cache a little at a time as it computes (software
 * prefetch, mbr_gemm_ahead_step): a call otherwise starts by waiting for
 * its rows to come from memory, a tenth of an F16 prompt's time, and the
 * hardware prefetchers neither cross the rows' pages nor know which rows
 * come next. An empty range fetches nothing.
 */
#define MBR_GEMM_TOKENS 16

struct mbr_gemm_ahead {
	const char *p;		/* the next byte to fetch */
	const char *end;
	size_t step;		/* bytes a step fetches */
};

/* Spread what is left to fetch over about `steps` calls of
 * mbr_gemm_ahead_step. */
static inline void mbr_gemm_ahead_begin(struct mbr_gemm_ahead *a, int64_t steps)
{
	size_t left = a->p < a->end ? (size_t)(a->end - a->p) : 0;

	a->step = steps > 0 ? ((left + (size_t)steps - 1) / (size_t)steps + 63) & ~(size_t)63 :
			      left;
}

/* The tile calls (ahead steps) of an F16 batch kernel: tiles of three
 * rows over the first n_vec columns in blocks of `block`, for each
 * `per_tile` tokens. */
static inline int64_t mbr_gemm_f16_tiles(int64_t n_vec, int rows, int tokens,
					 int per_tile, int block)
{
	return (tokens + per_tile - 1) / per_tile * ((n_vec + block - 1) / block) *
	       ((rows + 2) / 3);
}

static inline void mbr_gemm_ahead_step(struct mbr_gemm_ahead *a)
{
	for (size_t o = 0; o < a->step && a->p < a->end; o += 64, a->p += 64)
		__builtin_prefetch(a->p, 0, 2);
}

typedef void (*mbr_gemm_pack_fn)(int64_t n, int tokens, void *dst,
				 const void *x, size_t x_row_bytes);
typedef size_t (*mbr_gemm_pack_size_fn)(int64_t n);
typedef void (*mbr_gemm_fn)(int64_t n, int rows, int tokens, float *out,
			    size_t out_stride, const void *w,
			    size_t w_row_bytes, const void *xp,
			    struct mbr_gemm_ahead *ahead);

struct mbr_kernel_traits {
	int type;			/* enum mbr_type */
	mbr_dequantize_fn dequantize;
	mbr_quantize_fn quantize;	/* NULL: mbr cannot produce this type */
	int vec_dot_type;		/* enum mbr_type; only if vec_dot */
	mbr_vec_dot_fn vec_dot;		/* NULL: no dot product */
	/* F32 activations to this type, as llama.cpp's CPU backend converts
	 * them at run time (which for Q8_0 is not how its files are
	 * quantized); NULL when this is no vec_dot_type */
	mbr_quantize_fn from_float;
	/* NULL where batches go through vec_dot; the packer comes with its
	 * size, and may be left out (see above) */
	mbr_gemm_fn gemm;
	mbr_gemm_pack_fn gemm_pack;
	mbr_gemm_pack_size_fn gemm_pack_size;
	/* NULL where decoding goes through vec_dot row by row */
	mbr_vec_dot_rows_fn vec_dot_rows;
	int dot_rows;			/* rows per vec_dot_rows call */
};

/*
 * llama.cpp's x86 build (AVX2 + FMA) takes its exponentials in SwiGLU
 * and softmax from ggml_v_expf, eight lanes at a time, not from expf:
 * the same bits need the same algorithm (within 1.5 ulp of expf, not
 * equal to it). Each set's versions give the reference's bits.
 *
 * SwiGLU: g[i] = silu(g[i]) * u[i] for i < n, n a multiple of 8.
 */
typedef void (*mbr_swiglu_fn)(float *g, const float *u, int64_t n);

/*
 * Softmax's exponentials, as ggml_vec_soft_max_f32 over a row whose
 * masked cells pad it to a multiple of 8: x[i] = e^(x[i] - max) for
 * i < n, and the sum of the lanes of eight (ggml's 8-lane horizontal
 * sum, the padding's zeros included) added up block by block in double.
 */
typedef double (*mbr_softmax_exp_fn)(float *x, int64_t n, float max);

enum mbr_kernel_isa {
	MBR_KERNELS_REF,		/* the scalar reference */
	MBR_KERNELS_AVX2,		/* x86-64 AVX2 + FMA + F16C */
	MBR_KERNELS_AVX512		/* the above + AVX-512 F/BW/VL/VNNI */
};

/*
 * The kernels for a type (enum mbr_type); NULL when mbr has none. They
 * are the fastest the CPU supports, or a lower set when the environment
 * asks for one with MBR_KERNELS=ref or =avx2 (read once, at the first
 * call). Each set falls back to the one below it for what it lacks.
 */
const struct mbr_kernel_traits *mbr_kernel_traits(int type);

/* Which set mbr_kernel_traits() hands out. */
enum mbr_kernel_isa mbr_kernel_isa(void);

/* That set's SwiGLU and softmax exponentials. */
mbr_swiglu_fn mbr_kernel_swiglu(void);
mbr_softmax_exp_fn mbr_kernel_softmax_exp(void);

/* The kernels of one set; NULL also when this CPU cannot run the set. */
const struct mbr_kernel_traits *mbr_kernel_traits_isa(int type,
						       enum mbr_kernel_isa isa);

/* Bytes of a row of n elements of a type; n a multiple of its block. */
size_t mbr_row_size(int type, int64_t n);

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
void mbr_dequantize_row_q8_1(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q8_K(const void *src, float *dst, int64_t n);

/* Scalar reference quantizers (ggml's quantize_row_<t>_ref). */
void mbr_quantize_row_f32_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_f16_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_bf16_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q8_0_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q4_0_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q4_1_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q5_0_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q5_1_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q2_K_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q3_K_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q4_K_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q5_K_ref(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q6_K_ref(const float *src, void *dst, int64_t n);

/*
 * Activation quantizers (from_float), bit for bit what llama.cpp runs on
 * an AVX2 machine: codes rounded half to even, and for Q8_0/Q8_1 the
 * multiplier 127 / amax. Q8_1 also stores s = d * sum(qs); Q8_K stores a
 * float d and the sum of every 16 codes.
 */
void mbr_quantize_row_q8_0(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q8_1(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q8_K(const float *src, void *dst, int64_t n);

/* Scalar reference dot products, mbr_vec_dot_<weight>_<activation>. */
void mbr_vec_dot_f32_f32_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_f16_f16_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_bf16_bf16_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q4_0_q8_0_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q4_1_q8_1_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q5_0_q8_0_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q5_1_q8_1_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q8_0_q8_0_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q2_K_q8_K_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q3_K_q8_K_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q4_K_q8_K_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q5_K_q8_K_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q6_K_q8_K_ref(int64_t n, float *s, const void *w, const void *x);
void mbr_swiglu_ref(float *g, const float *u, int64_t n);
double mbr_softmax_exp_ref(float *x, int64_t n, float max);

#if defined(__x86_64__)
/* AVX2+F16C+FMA; call only when mbr_cpu_has_avx2() says so. */
int mbr_cpu_has_avx2(void);
void mbr_dequantize_row_f16_avx2(const void *src, float *dst, int64_t n);
void mbr_dequantize_row_q8_0_avx2(const void *src, float *dst, int64_t n);
void mbr_quantize_row_f16_avx2(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q8_0_avx2(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q8_1_avx2(const float *src, void *dst, int64_t n);
void mbr_quantize_row_q8_K_avx2(const float *src, void *dst, int64_t n);
void mbr_vec_dot_f32_f32_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_f16_f16_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_gemm_f16_f16_avx2(int64_t n, int rows, int tokens, float *out,
			   size_t out_stride, const void *w, size_t w_row_bytes,
			   const void *xp, struct mbr_gemm_ahead *ahead);
void mbr_vec_dot_bf16_bf16_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q4_0_q8_0_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q4_1_q8_1_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q5_0_q8_0_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q5_1_q8_1_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q8_0_q8_0_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_gemm_q4_0_q8_0_avx2(int64_t n, int rows, int tokens, float *out,
			     size_t out_stride, const void *w, size_t w_row_bytes,
			     const void *xp, struct mbr_gemm_ahead *ahead);
void mbr_gemm_q8_0_q8_0_avx2(int64_t n, int rows, int tokens, float *out,
			     size_t out_stride, const void *w, size_t w_row_bytes,
			     const void *xp, struct mbr_gemm_ahead *ahead);
void mbr_gemm_q4_K_q8_K_avx2(int64_t n, int rows, int tokens, float *out,
			     size_t out_stride, const void *w, size_t w_row_bytes,
			     const void *xp, struct mbr_gemm_ahead *ahead);
void mbr_gemm_q6_K_q8_K_avx2(int64_t n, int rows, int tokens, float *out,
			     size_t out_stride, const void *w, size_t w_row_bytes,
			     const void *xp, struct mbr_gemm_ahead *ahead);
void mbr_vec_dot_q2_K_q8_K_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q3_K_q8_K_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q4_K_q8_K_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q5_K_q8_K_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q6_K_q8_K_avx2(int64_t n, float *s, const void *w, const void *x);
void mbr_swiglu_avx2(float *g, const float *u, int64_t n);
double mbr_softmax_exp_avx2(float *x, int64_t n, float max);

/* AVX-512 F/BW/VL/VNNI on top of AVX2; only when mbr_cpu_has_avx512(). */
int mbr_cpu_has_avx512(void);
void mbr_vec_dot_q4_0_q8_0_avx512(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q4_1_q8_1_avx512(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q5_0_q8_0_avx512(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q5_1_q8_1_avx512(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q8_0_q8_0_avx512(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q2_K_q8_K_avx512(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q3_K_q8_K_avx512(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q4_K_q8_K_avx512(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q5_K_q8_K_avx512(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_q6_K_q8_K_avx512(int64_t n, float *s, const void *w, const void *x);
void mbr_vec_dot_f16_f16_avx512(int64_t n, float *s, const void *w, const void *x);
#define MBR_F16_ROWS 4
void mbr_vec_dot_rows_f16_f16_avx512(int64_t n, float *s, const void *w,
				     size_t w_row_bytes, const void *x);
#define MBR_Q4_0_ROWS 4
static_assert(MBR_F16_ROWS <= MBR_DOT_ROWS_MAX && MBR_Q4_0_ROWS <= MBR_DOT_ROWS_MAX,
	      "the matmul's buffer of a call's dots");
void mbr_vec_dot_rows_q4_0_q8_0_avx512(int64_t n, float *s, const void *w,
				       size_t w_row_bytes, const void *x);
void mbr_gemm_q8_0_q8_0_avx512(int64_t n, int rows, int tokens, float *out,
			       size_t out_stride, const void *w,
			       size_t w_row_bytes, const void *xp,
			       struct mbr_gemm_ahead *ahead);
void mbr_gemm_q4_0_q8_0_avx512(int64_t n, int rows, int tokens, float *out,
			       size_t out_stride, const void *w,
			       size_t w_row_bytes, const void *xp,
			       struct mbr_gemm_ahead *ahead);
void mbr_gemm_pack_q8_0_avx512(int64_t n, int tokens, void *dst,
			       const void *x, size_t x_row_bytes);
size_t mbr_gemm_pack_size_q8_0_avx512(int64_t n);
void mbr_gemm_f16_f16_avx512(int64_t n, int rows, int tokens, float *out,
			     size_t out_stride, const void *w,
			     size_t w_row_bytes, const void *xp,
			     struct mbr_gemm_ahead *ahead);
void mbr_gemm_q4_K_q8_K_avx512(int64_t n, int rows, int tokens, float *out,
			       size_t out_stride, const void *w,
			       size_t w_row_bytes, const void *xp,
			       struct mbr_gemm_ahead *ahead);
void mbr_gemm_q6_K_q8_K_avx512(int64_t n, int rows, int tokens, float *out,
			       size_t out_stride, const void *w,
			       size_t w_row_bytes, const void *xp,
			       struct mbr_gemm_ahead *ahead);
void mbr_gemm_pack_q8_K_avx512(int64_t n, int tokens, void *dst,
			       const void *x, size_t x_row_bytes);
size_t mbr_gemm_pack_size_q8_K_avx512(int64_t n);
#endif

#endif
