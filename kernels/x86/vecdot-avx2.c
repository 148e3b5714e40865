/*
 * vecdot-avx2.c - AVX2/FMA/F16C dot products of a weight row with an
 * activation row in the weight type's vec_dot_type, and the batched
 * products (F16, Q8_0, Q4_0, Q4_K, Q6_K) that give their bits for a group
 * of tokens on CPUs without AVX-512.
 *
 * Built with -mavx2 -mfma -mf16c and only reached through
 * mbr_kernel_traits() after a CPU check. The plain types reproduce ggml's
 * AVX2 accumulation exactly (four 8-lane accumulators, its reduction
 * order), so an F16 or F32 model gives llama.cpp's numbers. The quantized
 * ones form the same exact integer sums per block as ggml and the scalar
 * reference; only the order in which the scaled block sums are added
 * differs, in the last bits.
 *
 * Decoding is the expensive part at the memory bandwidths that matter
 * (decode reads every weight once per token), so the integer products
 * are kept in unsigned-times-signed form for vpmaddubsw: offsets such as
 * Q4_0's -8 are taken out afterwards, against the activation's sums.
 */
#include <assert.h>
#include <immintrin.h>
#include <string.h>
#include "kernels.h"
#include "quants.h"
#include "scales.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* An exported batch kernel: the body shared by two types, told which. */
#define BATCH_KERNEL(name, body, which)						\
	void name(int64_t n, int rows, int tokens, float *out, size_t out_stride, \
		  const void *w, size_t w_row_bytes, const void *xp,		\
		  struct mbr_gemm_ahead *ahead)					\
	{									\
		body(which, n, rows, tokens, out, out_stride, w, w_row_bytes, xp, ahead); \
	}

ALWAYS_INLINE float half(mbr_half h)
{
	return _cvtsh_ss(h);
}

/* ggml's hsum_float_8: halves, then pairs, then the last two. */
ALWAYS_INLINE float hsum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* ---- plain types */

/* ggml's GGML_F32x8_REDUCE over its four accumulators. */
ALWAYS_INLINE float reduce4(const __m256 acc[4])
{
	__m256 t = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]),
				 _mm256_add_ps(acc[1], acc[3]));
	__m128 h = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));

	h = _mm_hadd_ps(h, h);
	return _mm_cvtss_f32(_mm_hadd_ps(h, h));
}

void mbr_vec_dot_f32_f32_avx2(int64_t n, float *s, const void *w, const void *x)
{
	const float *a = w, *b = x;
	__m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(),
			  _mm256_setzero_ps(), _mm256_setzero_ps() };
	int64_t i = 0;
	float sum;

	for (; i + 32 <= n; i += 32)
#pragma GCC unroll 4
		for (int k = 0; k < 4; k++)
			acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8 * k),
						 _mm256_loadu_ps(b + i + 8 * k), acc[k]);
	sum = reduce4(acc);
	for (; i < n; i++)
		sum += a[i] * b[i];
	*s = sum;
}

ALWAYS_INLINE __m256 load_f16x8(const mbr_half *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

void mbr_vec_dot_f16_f16_avx2(int64_t n, float *s, const void *w, const void *x)
{
	const mbr_half *a = w, *b = x;
	__m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(),
			  _mm256_setzero_ps(), _mm256_setzero_ps() };
	int64_t i = 0;
	double sum;

	for (; i + 32 <= n; i += 32)
#pragma GCC unroll 4
		for (int k = 0; k < 4; k++)
			acc[k] = _mm256_fmadd_ps(load_f16x8(a + i + 8 * k),
						 load_f16x8(b + i + 8 * k), acc[k]);
	/* ggml keeps the total and the leftovers in double */
	sum = reduce4(acc);
	for (; i < n; i++)
		sum += (double)(half(a[i]) * half(b[i]));
	*s = (float)sum;
}

/*
 * F16 batches where there is no AVX-512 (gemm-avx512.c has the other):
 * the dot above for a group of tokens, every output bit for bit its
 * result. Per pass k a ymm accumulates the dot's accumulator k (elements
 * 8k .. 8k + 7 of every 32) for one row and token, in tiles of 3 rows x
 * 4 tokens (the 16 ymm registers hold 12 sums, 3 rows and a token); the
 * lane sums are kept from one column block to the next. Each block of
 * four tokens is widened once into floats in L1, the weights in the
 * tiles. The group's rows are read in place (no gemm_pack).
 */
#define G16_ROWS 16
#define G16_TOKENS 4
#define G16_BLOCK 512

typedef __m256 g16_state[G16_ROWS][G16_TOKENS][4];
typedef float g16_tokens[G16_TOKENS][G16_BLOCK];

/* halves [i0, i1) of the tokens' rows of n into the block's floats;
 * zeros for the rows past them */
static void g16_widen(g16_tokens x, const mbr_half *src, int tokens, int64_t n,
		      int64_t i0, int64_t i1)
{
	for (int t = 0; t < G16_TOKENS; t++)
		for (int64_t i = i0; i < i1; i += 8)
			_mm256_store_ps(&x[t][i - i0], t < tokens ?
					load_f16x8(src + t * n + i) : _mm256_setzero_ps());
}

/* st[r][t][k] += products of elements i + 8k .. i + 8k + 7 for every i,
 * a multiple of 32 in [i0, i1), R rows, four tokens; the first block
 * (i0 0) sets them */
ALWAYS_INLINE void g16_pass(int R, int64_t i0, int64_t i1, int k, const mbr_half *w,
			    size_t w_row, g16_tokens x, __m256 (*st)[G16_TOKENS][4])
{
	__m256 acc[3][G16_TOKENS];

#pragma GCC unroll 3
	for (int r = 0; r < R; r++)
#pragma GCC unroll 4
		for (int t = 0; t < G16_TOKENS; t++)
			acc[r][t] = i0 ? st[r][t][k] : _mm256_setzero_ps();
	for (int64_t i = i0 + 8 * k; i < i1; i += 32) {
		__m256 wv[3];

#pragma GCC unroll 3
		for (int r = 0; r < R; r++)
			wv[r] = load_f16x8(w + r * w_row + i);
#pragma GCC unroll 4
		for (int t = 0; t < G16_TOKENS; t++) {
			__m256 xv = _mm256_load_ps(&x[t][i - i0]);

			/* one load for every row: GCC would fold it into each FMA */
			__asm__("" : "+x"(xv));
#pragma GCC unroll 3
			for (int r = 0; r < R; r++)
				acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
		}
	}
#pragma GCC unroll 3
	for (int r = 0; r < R; r++)
#pragma GCC unroll 4
		for (int t = 0; t < G16_TOKENS; t++)
			st[r][t][k] = acc[r][t];
}

ALWAYS_INLINE void g16_tile(int R, int64_t i0, int64_t i1, const mbr_half *w,
			    size_t w_row, g16_tokens x, __m256 (*st)[G16_TOKENS][4],
			    struct mbr_gemm_ahead *ahead)
{
	mbr_gemm_ahead_step(ahead);
#pragma GCC unroll 4
	for (int k = 0; k < 4; k++)
		g16_pass(R, i0, i1, k, w, w_row, x, st);
}

/* rows <= G16_ROWS against four tokens (past `tokens`: computed, not
 * stored) */
static void g16_rows(int64_t n, int rows, int tokens, float *out, size_t out_stride,
		     const mbr_half *w, size_t w_row, const mbr_half *x,
		     struct mbr_gemm_ahead *ahead)
{
	int64_t n32 = n - n % 32;
	g16_tokens xb __attribute__((aligned(32)));
	g16_state st;

	for (int64_t i0 = 0; i0 < n32; i0 += G16_BLOCK) {
		int64_t i1 = i0 + G16_BLOCK < n32 ? i0 + G16_BLOCK : n32;
		int r = 0;

		g16_widen(xb, x, tokens, n, i0, i1);
		for (; r + 3 <= rows; r += 3)
			g16_tile(3, i0, i1, w + r * w_row, w_row, xb, st + r, ahead);
		if (rows - r == 2)
			g16_tile(2, i0, i1, w + r * w_row, w_row, xb, st + r, ahead);
		else if (rows - r == 1)
			g16_tile(1, i0, i1, w + r * w_row, w_row, xb, st + r, ahead);
	}
	for (int r = 0; r < rows; r++)
		for (int t = 0; t < tokens; t++) {
			/* ggml keeps the total and the leftovers in double */
			double sum = n32 ? reduce4(st[r][t]) : 0;

			for (int64_t i = n32; i < n; i++)
				sum += (double)(half(w[r * w_row + i]) * half(x[t * n + i]));
			out[t * out_stride + r] = (float)sum;
		}
}

void mbr_gemm_f16_f16_avx2(int64_t n, int rows, int tokens, float *out,
			   size_t out_stride, const void *w, size_t w_row_bytes,
			   const void *xp, struct mbr_gemm_ahead *ahead)
{
	const mbr_half *wh = w;
	size_t w_row = w_row_bytes / sizeof(mbr_half);

	assert(tokens >= 1 && tokens <= MBR_GEMM_TOKENS && w_row_bytes % sizeof(mbr_half) == 0);
	mbr_gemm_ahead_begin(ahead, mbr_gemm_f16_tiles(n - n % 32, rows, tokens, G16_TOKENS,
						       G16_BLOCK));
	/* four tokens at a time, each over all the rows: the rows stay in
	 * L2 for the next four */
	for (int t = 0; t < tokens; t += G16_TOKENS)
		for (int r = 0; r < rows; r += G16_ROWS)
			g16_rows(n, rows - r < G16_ROWS ? rows - r : G16_ROWS,
				 tokens - t < G16_TOKENS ? tokens - t : G16_TOKENS,
				 out + t * out_stride + r, out_stride,
				 wh + r * w_row, w_row, (const mbr_half *)xp + t * n,
				 ahead);
}

ALWAYS_INLINE __m256 load_bf16x8(const mbr_bf16 *p)
{
	__m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));

	return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}

void mbr_vec_dot_bf16_bf16_avx2(int64_t n, float *s, const void *w, const void *x)
{
	const mbr_bf16 *a = w, *b = x;
	__m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(),
			  _mm256_setzero_ps(), _mm256_setzero_ps() };
	int64_t i = 0;
	double sum;

	/* ggml's AVX2 BF16 dot multiplies and adds separately: no FMA */
	for (; i + 32 <= n; i += 32)
#pragma GCC unroll 4
		for (int k = 0; k < 4; k++)
			acc[k] = _mm256_add_ps(_mm256_mul_ps(load_bf16x8(a + i + 8 * k),
							     load_bf16x8(b + i + 8 * k)),
					       acc[k]);
	sum = hsum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[2]),
				  _mm256_add_ps(acc[1], acc[3])));
	for (; i < n; i++)
		sum += (double)(mbr_bf16_to_fp32(a[i]) * mbr_bf16_to_fp32(b[i]));
	*s = (float)sum;
}

/* ---- integer helpers */

/* 32 four-bit codes from 16 bytes: low nibbles first, then high ones. */
ALWAYS_INLINE __m256i nibbles32(const uint8_t *p)
{
	__m128i t = _mm_loadu_si128((const __m128i *)p);
	__m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(t),
					    _mm_srli_epi16(t, 4), 1);

	return _mm256_and_si256(b, _mm256_set1_epi8(0x0f));
}

/* 0x10 in byte j where bit j of the 32 bits at p is set (Q5's fifth bit). */
ALWAYS_INLINE __m256i fifth_bits32(const uint8_t *p)
{
	/* byte j takes byte j / 8 of the word, then tests bit j % 8 */
	const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0,
		1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2,
		3, 3, 3, 3, 3, 3, 3, 3);
	const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
	uint32_t word;
	__m256i b;

	memcpy(&word, p, sizeof(word));
	b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)word), spread);
	b = _mm256_cmpeq_epi8(_mm256_and_si256(b, bit), bit);
	return _mm256_and_si256(b, _mm256_set1_epi8(0x10));
}

/* int16 pairs to int32 sums */
ALWAYS_INLINE __m256i pairs_i32(__m256i p16)
{
	return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

/*
 * Sums of u * y over each four bytes, less offset * y: u are unsigned
 * codes, y the signed activation codes. Every int16 stays below 2^15.
 */
ALWAYS_INLINE __m256i dot_offset(__m256i u, __m256i y, int offset)
{
	__m256i p = _mm256_maddubs_epi16(u, y);

	if (offset) {
		__m256i off = _mm256_set1_epi8((char)offset);

		p = _mm256_sub_epi16(p, _mm256_maddubs_epi16(off, y));
	}
	return pairs_i32(p);
}

ALWAYS_INLINE __m256i load32(const int8_t *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

/* ---- 32-element blocks, two per iteration on two accumulators */

/* acc += d_w d_x * (8 partial integer sums); *extra gathers Q8_1's mins */
typedef __m256 (*block_fn)(const void *w, const void *x, int64_t i,
			   __m256 acc, float *extra);

ALWAYS_INLINE float sum_blocks(int64_t n, const void *w, const void *x,
			       block_fn f)
{
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	float extra0 = 0, extra1 = 0;	/* two, to halve the add chain */
	int64_t nb = n / 32, i = 0;

	assert(n % 32 == 0);
	for (; i + 2 <= nb; i += 2) {
		acc0 = f(w, x, i, acc0, &extra0);
		acc1 = f(w, x, i + 1, acc1, &extra1);
	}
	if (i < nb)
		acc0 = f(w, x, i, acc0, &extra0);
	return hsum8(_mm256_add_ps(acc0, acc1)) + (extra0 + extra1);
}

ALWAYS_INLINE __m256 fma_block(float d, __m256i isum, __m256 acc)
{
	return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
}

ALWAYS_INLINE __m256 q4_0_block(const void *w, const void *x, int64_t i,
				__m256 acc, float *extra)
{
	const struct block_q4_0 *a = (const struct block_q4_0 *)w + i;
	const struct block_q8_0 *b = (const struct block_q8_0 *)x + i;

	return fma_block(half(a->d) * half(b->d),
			 dot_offset(nibbles32(a->qs), load32(b->qs), 8), acc);
}

ALWAYS_INLINE __m256 q5_0_block(const void *w, const void *x, int64_t i,
				__m256 acc, float *extra)
{
	const struct block_q5_0 *a = (const struct block_q5_0 *)w + i;
	const struct block_q8_0 *b = (const struct block_q8_0 *)x + i;
	__m256i u = _mm256_or_si256(nibbles32(a->qs), fifth_bits32(a->qh));

	return fma_block(half(a->d) * half(b->d), dot_offset(u, load32(b->qs), 16), acc);
}

ALWAYS_INLINE __m256 q8_0_block(const void *w, const void *x, int64_t i,
				__m256 acc, float *extra)
{
	const struct block_q8_0 *a = (const struct block_q8_0 *)w + i;
	const struct block_q8_0 *b = (const struct block_q8_0 *)x + i;
	__m256i q = load32(a->qs), y = load32(b->qs);
	/* both signed: move the signs onto y (|q| <= 128, y > -128) */
	__m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q));

	return fma_block(half(a->d) * half(b->d), pairs_i32(p), acc);
}

ALWAYS_INLINE __m256 q4_1_block(const void *w, const void *x, int64_t i,
				__m256 acc, float *extra)
{
	const struct block_q4_1 *a = (const struct block_q4_1 *)w + i;
	const struct block_q8_1 *b = (const struct block_q8_1 *)x + i;

	*extra += half(a->m) * half(b->s);
	return fma_block(half(a->d) * half(b->d),
			 dot_offset(nibbles32(a->qs), load32(b->qs), 0), acc);
}

ALWAYS_INLINE __m256 q5_1_block(const void *w, const void *x, int64_t i,
				__m256 acc, float *extra)
{
	const struct block_q5_1 *a = (const struct block_q5_1 *)w + i;
	const struct block_q8_1 *b = (const struct block_q8_1 *)x + i;
	__m256i u = _mm256_or_si256(nibbles32(a->qs), fifth_bits32(a->qh));

	*extra += half(a->m) * half(b->s);
	return fma_block(half(a->d) * half(b->d), dot_offset(u, load32(b->qs), 0), acc);
}

void mbr_vec_dot_q4_0_q8_0_avx2(int64_t n, float *s, const void *w, const void *x)
{
	*s = sum_blocks(n, w, x, q4_0_block);
}

void mbr_vec_dot_q5_0_q8_0_avx2(int64_t n, float *s, const void *w, const void *x)
{
	*s = sum_blocks(n, w, x, q5_0_block);
}

void mbr_vec_dot_q8_0_q8_0_avx2(int64_t n, float *s, const void *w, const void *x)
{
	*s = sum_blocks(n, w, x, q8_0_block);
}

void mbr_vec_dot_q4_1_q8_1_avx2(int64_t n, float *s, const void *w, const void *x)
{
	*s = sum_blocks(n, w, x, q4_1_block);
}

void mbr_vec_dot_q5_1_q8_1_avx2(int64_t n, float *s, const void *w, const void *x)
{
	*s = sum_blocks(n, w, x, q5_1_block);
}

/*
 * Q8_0 and Q4_0 batches where there is no AVX-512 (gemm-avx512.c has the
 * others): sum_blocks above for a group of tokens, every output bit for
 * bit its result. A pass takes the blocks of one parity, as the dot's
 * accumulator of that parity does, for a tile of 2 rows x 4 tokens (eight
 * ymm sums in registers) over the whole row, then the dot's own ending.
 * Each weight block is unpacked once for the four tokens, each token's
 * block read once for both rows, and Q4_0's offset products (8 x the
 * activations) taken once per token and block. The converted rows are
 * read in place (no gemm_pack).
 */
#define QG_ROWS 2
#define QG_TOKENS 4

/* One weight block made ready for the tokens: Q4_0's codes (0..15, the 8
 * taken out against y), or Q8_0's magnitudes with q kept for the signs. */
struct qg_weights {
	__m256i u, q;
	__m256 d;
};

ALWAYS_INLINE struct qg_weights qg_unpack(int q4, const unsigned char *row, int64_t b)
{
	struct qg_weights k;
	mbr_half d;

	if (q4) {
		const struct block_q4_0 *a = (const struct block_q4_0 *)row + b;

		k.u = k.q = nibbles32(a->qs);
		d = a->d;
	} else {
		const struct block_q8_0 *a = (const struct block_q8_0 *)row + b;

		k.q = load32(a->qs);
		k.u = _mm256_sign_epi8(k.q, k.q);
		d = a->d;
	}
	k.d = _mm256_set1_ps(half(d));
	return k;
}

/* acc[r][t] = the dot's accumulator for the blocks of this parity */
ALWAYS_INLINE void qg_pass(int q4, int64_t nb, int parity, const unsigned char *const w[QG_ROWS],
			   const struct block_q8_0 *const x[QG_TOKENS],
			   __m256 acc[QG_ROWS][QG_TOKENS])
{
	for (int r = 0; r < QG_ROWS; r++)
		for (int t = 0; t < QG_TOKENS; t++)
			acc[r][t] = _mm256_setzero_ps();
	for (int64_t b = parity; b < nb; b += 2) {
		struct qg_weights k[QG_ROWS];

#pragma GCC unroll 2
		for (int r = 0; r < QG_ROWS; r++)
			k[r] = qg_unpack(q4, w[r], b);
		/* unrolled: GCC would keep the sums in memory */
#pragma GCC unroll 4
		for (int t = 0; t < QG_TOKENS; t++) {
			__m256i y = load32(x[t][b].qs);
			__m256 dx = _mm256_set1_ps(half(x[t][b].d));
			__m256i off = _mm256_maddubs_epi16(_mm256_set1_epi8(8), y);

#pragma GCC unroll 2
			for (int r = 0; r < QG_ROWS; r++) {
				/* dot_offset's and q8_0_block's integer sums */
				__m256i p = q4 ? _mm256_sub_epi16(_mm256_maddubs_epi16(k[r].u, y), off) :
					_mm256_maddubs_epi16(k[r].u, _mm256_sign_epi8(y, k[r].q));

				/* fma_block's d: the two scales' float product */
				acc[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(k[r].d, dx),
							    _mm256_cvtepi32_ps(pairs_i32(p)), acc[r][t]);
			}
		}
	}
}

/* Rows r0 .. r0 + 1 by tokens t0 .. t0 + 3 that exist (the others
 * computed on row or token 0 and not stored). */
ALWAYS_INLINE void qg_tile(int q4, int64_t n, int rows, int tokens, float *out,
			   size_t out_stride, const unsigned char *w, size_t w_row_bytes,
			   const struct block_q8_0 *x)
{
	int64_t nb = n / 32;
	const unsigned char *wr[QG_ROWS];
	const struct block_q8_0 *xt[QG_TOKENS];
	__m256 even[QG_ROWS][QG_TOKENS], odd[QG_ROWS][QG_TOKENS];

	for (int r = 0; r < QG_ROWS; r++)
		wr[r] = w + (r < rows ? r : 0) * w_row_bytes;
	for (int t = 0; t < QG_TOKENS; t++)
		xt[t] = x + (t < tokens ? t : 0) * nb;
	qg_pass(q4, nb, 0, wr, xt, even);
	qg_pass(q4, nb, 1, wr, xt, odd);
	for (int r = 0; r < rows && r < QG_ROWS; r++)
		for (int t = 0; t < tokens && t < QG_TOKENS; t++)
			/* sum_blocks' ending; Q8_0 and Q4_0 have no extra sums,
			 * and + 0.0f is not nothing for a -0 */
			out[t * out_stride + r] = hsum8(_mm256_add_ps(even[r][t], odd[r][t])) +
						  (0.0f + 0.0f);
}

ALWAYS_INLINE void qg_gemm(int q4, int64_t n, int rows, int tokens, float *out,
			   size_t out_stride, const void *w, size_t w_row_bytes,
			   const void *xp, struct mbr_gemm_ahead *ahead)
{
	const struct block_q8_0 *x = xp;

	assert(n % 32 == 0 && tokens >= 1 && tokens <= MBR_GEMM_TOKENS);
	mbr_gemm_ahead_begin(ahead, (int64_t)((tokens + QG_TOKENS - 1) / QG_TOKENS) *
				    ((rows + QG_ROWS - 1) / QG_ROWS));
	/* four tokens at a time, each over all the rows: the rows stay in
	 * L2 for the next four */
	for (int t = 0; t < tokens; t += QG_TOKENS)
		for (int r = 0; r < rows; r += QG_ROWS) {
			mbr_gemm_ahead_step(ahead);
			qg_tile(q4, n, rows - r, tokens - t, out + t * out_stride + r, out_stride,
				(const unsigned char *)w + r * w_row_bytes, w_row_bytes,
				x + t * (n / 32));
		}
}

BATCH_KERNEL(mbr_gemm_q4_0_q8_0_avx2, qg_gemm, 1)

BATCH_KERNEL(mbr_gemm_q8_0_q8_0_avx2, qg_gemm, 0)

/* isum + sum of u * y over each four bytes, pairs weighted by scales */
ALWAYS_INLINE __m256i add_scaled(__m256i isum, __m256i u, const int8_t *y,
				 __m256i scales)
{
	__m256i p = _mm256_maddubs_epi16(u, load32(y));

	return _mm256_add_epi32(isum, _mm256_madd_epi16(p, scales));
}

#define KQUANT_FN(type) mbr_vec_dot_##type##_q8_K_avx2
#include "vecdot-kquants.h"

/*
 * Q4_K and Q6_K batches where there is no AVX-512: the dots above for a
 * group of tokens, every output bit for bit theirs. A row's super-block
 * is unpacked once into what its dot adds chunk by chunk (32 codes and
 * their int16 scales, eight chunks, 512 bytes that stay in L1) and summed
 * against every token of the group; each (row, token) then takes the
 * dot's float steps on sums kept in memory, sixteen tokens being more
 * than the registers hold. The converted rows are read in place.
 */
struct kg_block {
	__m256i u[8];		/* chunk j's codes, for activations 32j .. 32j + 31 */
	__m256i sc[8];		/* its scales, as add_scaled() takes them */
	__m128i mins;		/* Q4_K: the eight mins, int16 */
	__m128i sc8;		/* Q6_K: the sixteen scales */
	float d, dmin;
};

static void kg_unpack_q4_K(struct kg_block *k, const void *row, int64_t i)
{
	const struct block_q4_K *a = (const struct block_q4_K *)row + i;
	const __m256i low = _mm256_set1_epi8(0x0f);
	__m128i both = k4_unpack(a->scales);
	__m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(both));

	/* k4_block's order: chunk c's low nibbles, then its high ones */
	for (int c = 0; c < 4; c++) {
		__m256i q = _mm256_loadu_si256((const __m256i *)(a->qs + 32 * c));

		k->u[2 * c] = _mm256_and_si256(q, low);
		k->u[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low);
		k->sc[2 * c] = scale_one(sc16, 2 * c);
		k->sc[2 * c + 1] = scale_one(sc16, 2 * c + 1);
	}
	k->mins = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(both, both));
	k->d = half(a->d);
	k->dmin = half(a->dmin);
}

static void kg_unpack_q6_K(struct kg_block *k, const void *row, int64_t i)
{
	const struct block_q6_K *a = (const struct block_q6_K *)row + i;
	const __m256i low = _mm256_set1_epi8(0x0f);

	k->sc8 = _mm_loadu_si128((const __m128i *)a->scales);
	for (int h = 0; h < 2; h++) {
		const uint8_t *ql = a->ql + 64 * h;
		__m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
		__m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
		__m256i hb = _mm256_loadu_si256((const __m256i *)(a->qh + 32 * h));
		__m256i u[4] = {
			_mm256_and_si256(l0, low), _mm256_and_si256(l1, low),
			_mm256_and_si256(_mm256_srli_epi16(l0, 4), low),
			_mm256_and_si256(_mm256_srli_epi16(l1, 4), low),
		};

		for (int j = 0; j < 4; j++) {
			k->u[4 * h + j] = _mm256_or_si256(u[j], _mm256_slli_epi16(crumb(hb, j), 4));
			k->sc[4 * h + j] = scale_pair(k->sc8, 8 * h + 2 * j);
		}
	}
	k->d = half(a->d);
}

/* the dot's integer sum of scale * code * activation for one token */
ALWAYS_INLINE __m256i kg_isum(const struct kg_block *k, const int8_t *y)
{
	__m256i isum = _mm256_setzero_si256();

#pragma GCC unroll 8
	for (int j = 0; j < 8; j++)
		isum = add_scaled(isum, k->u[j], y + 32 * j, k->sc[j]);
	return isum;
}

/* rows by tokens of Q4_K (q4) or Q6_K, one row at a time over the group */
ALWAYS_INLINE void kg_gemm(int q4, int64_t n, int rows, int tokens, float *out,
			   size_t out_stride, const void *w, size_t w_row_bytes,
			   const void *xp, struct mbr_gemm_ahead *ahead)
{
	const struct block_q8_K *x = xp;
	int64_t nb = n / QK_K;

	assert(n % QK_K == 0 && tokens >= 1 && tokens <= MBR_GEMM_TOKENS);
	mbr_gemm_ahead_begin(ahead, rows);
	for (int r = 0; r < rows; r++) {
		const unsigned char *row = (const unsigned char *)w + r * w_row_bytes;
		__m256 acc[MBR_GEMM_TOKENS];
		__m128 acc_m[MBR_GEMM_TOKENS];

		mbr_gemm_ahead_step(ahead);
		for (int t = 0; t < tokens; t++)
			acc[t] = _mm256_setzero_ps(), acc_m[t] = _mm_setzero_ps();
		for (int64_t i = 0; i < nb; i++) {
			struct kg_block k;

			if (q4)
				kg_unpack_q4_K(&k, row, i);
			else
				kg_unpack_q6_K(&k, row, i);
			for (int t = 0; t < tokens; t++) {
				const struct block_q8_K *b = x + t * nb + i;
				__m256i isum = kg_isum(&k, b->qs);

				if (q4)
					q4_K_step(b->d, k.d, k.dmin, isum,
						  _mm_madd_epi16(k.mins, bsum_pairs(b)),
						  &acc[t], &acc_m[t]);
				else
					acc[t] = fma_block(b->d * k.d,
							   q6_K_unbias(isum, k.sc8, b), acc[t]);
			}
		}
		for (int t = 0; t < tokens; t++)
			out[t * out_stride + r] = q4 ? q4_K_end(acc[t], acc_m[t]) : hsum8(acc[t]);
	}
}

BATCH_KERNEL(mbr_gemm_q4_K_q8_K_avx2, kg_gemm, 1)

BATCH_KERNEL(mbr_gemm_q6_K_q8_K_avx2, kg_gemm, 0)
