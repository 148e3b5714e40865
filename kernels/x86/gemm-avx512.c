/*
 * gemm-avx512.c - batched products for prompt processing: a few weight
 * rows against a group of MBR_GEMM_TOKENS activation rows at a time.
 *
 * Each output must be bit for bit what the set's vec_dot gives (a prompt
 * processed as a batch then decodes as it would token by token, and the
 * greedy tests compare text with llama.cpp's), so every kernel here keeps
 * that dot's float operations per output and reorganises only the exact
 * integer work and the loads around them.
 *
 * Q8_0 and Q4_0 against Q8_0 (vecdot-avx512.c's order): the float
 * accumulator of lane k takes blocks k, k + 8, ... as d_w d_x * isum, then
 * the eight lanes are summed as hsum8 does. Here a zmm holds one such lane
 * for 16 tokens: the packed group stores, per block, chunk c of every
 * token's 32 codes side by side, so one vpdpbusd of it with chunk c of a
 * weight row broadcast from memory adds that chunk's four products for all
 * 16 tokens, and eight of them give each token's block sum in its own lane
 * with no reduction. vpdpbusd wants its broadcast operand unsigned: Q4_0's
 * codes are stored so (0..15, their 8 subtracted later), Q8_0's plus 128,
 * and bias times each token's sum of codes, packed with the group, is taken
 * out of the integer sum (exact), once per block for every row.
 *
 * F16 against F16 (f16-avx512.h's order): a zmm of 16 products per
 * (row, token) is the dot's accumulator, in tiles of 3 rows x 8 tokens;
 * each output ends with the dot's own reduction and double tail. The rows
 * go in column blocks, the accumulators kept between them. There is no
 * packed group: the tokens are read as the halves they were converted
 * to, each column block of eight tokens widened once into floats in L1
 * (exact), the weights in the tiles.
 *
 * Q4_K and Q6_K against Q8_K: as Q8_0, a zmm per lane of the dot's 8-lane
 * accumulator for 16 tokens; see their section below.
 *
 * Only reached through mbr_kernel_traits() after mbr_cpu_has_avx512().
 */
#include <assert.h>
#include <immintrin.h>
#include <string.h>
#include "kernels.h"
#include "quants.h"
#include "scales.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni")
#include "f16-avx512.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define T MBR_GEMM_TOKENS

static_assert(MBR_GEMM_TOKENS == 16, "a zmm of int32 or float per token");

/* ---- Q8_0 activations, packed */

/* One block of a packed group: 16 tokens side by side. */
struct q8_0_group {
	float d[T];			/* each token's block scale */
	int32_t sum[T];			/* each token's sum of codes */
	int8_t q[QK8_0 / 4][T][4];	/* chunk c of token t */
};

/* the sum of 32 signed codes: of the codes plus 128, as bytes, less
 * 32 * 128 */
ALWAYS_INLINE int32_t sum_of_codes(const int8_t *qs)
{
	__m256i u = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)qs),
				     _mm256_set1_epi8((char)0x80));
	__m256i s = _mm256_sad_epu8(u, _mm256_setzero_si256());
	__m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));

	return _mm_cvtsi128_si32(_mm_add_epi64(h, _mm_unpackhi_epi64(h, h))) - 128 * QK8_0;
}

void mbr_gemm_pack_q8_0_avx512(int64_t n, int tokens, void *dst,
			       const void *x, size_t x_row_bytes)
{
	struct q8_0_group *g = dst;

	assert(n % QK8_0 == 0 && tokens >= 1 && tokens <= T);
	memset(g, 0, mbr_gemm_pack_size_q8_0_avx512(n));
	/* padding tokens: zero codes, zero scale */
	for (int64_t b = 0; b < n / QK8_0; b++, g++)
		for (int t = 0; t < tokens; t++) {
			const struct block_q8_0 *y = (const struct block_q8_0 *)
				((const char *)x + t * x_row_bytes) + b;

			g->d[t] = _cvtsh_ss(y->d);
			for (int c = 0; c < QK8_0 / 4; c++)
				memcpy(g->q[c][t], y->qs + 4 * c, 4);
			g->sum[t] = sum_of_codes(y->qs);
		}
}

size_t mbr_gemm_pack_size_q8_0_avx512(int64_t n)
{
	return (size_t)(n / QK8_0) * sizeof(struct q8_0_group);
}

/* ---- Q8_0 and Q4_0 weights against a packed group */

/* Block b of a weight row as unsigned codes, into buf[32] (code c
 * stands for c - bias); its scale. */
typedef float (*weight_fn)(const void *row, int64_t b, uint8_t *buf);

ALWAYS_INLINE float q8_0_weights(const void *row, int64_t b, uint8_t *buf)
{
	const struct block_q8_0 *a = (const struct block_q8_0 *)row + b;

	_mm256_storeu_si256((__m256i *)buf,
			    _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)a->qs),
					     _mm256_set1_epi8((char)0x80)));
	return _cvtsh_ss(a->d);
}

ALWAYS_INLINE float q4_0_weights(const void *row, int64_t b, uint8_t *buf)
{
	const struct block_q4_0 *a = (const struct block_q4_0 *)row + b;
	__m128i p = _mm_loadu_si128((const __m128i *)a->qs);
	__m256i u = _mm256_inserti128_si256(_mm256_castsi128_si256(p),
					    _mm_srli_epi16(p, 4), 1);

	_mm256_storeu_si256((__m256i *)buf, _mm256_and_si256(u, _mm256_set1_epi8(0x0f)));
	return _cvtsh_ss(a->d);
}

/* Block b of R rows into acc[r][k] for 16 tokens; the codes' bias is
 * 2^shift (Q8_0: 128, Q4_0: 8). */
ALWAYS_INLINE void q_block(int R, const unsigned char *w, size_t w_row_bytes,
			   const struct q8_0_group *g, int64_t b, weight_fn f,
			   int shift, __m512 acc[][8], int k)
{
	__m512i x[QK8_0 / 4];
	__m512i bias = _mm512_slli_epi32(_mm512_loadu_si512(g->sum), shift);
	__m512 dx = _mm512_loadu_ps(g->d);

#pragma GCC unroll 8
	for (int c = 0; c < QK8_0 / 4; c++)
		x[c] = _mm512_loadu_si512(g->q[c]);
#pragma GCC unroll 4
	for (int r = 0; r < R; r++) {
		uint8_t buf[QK8_0] __attribute__((aligned(32)));
		float dw = f(w + r * w_row_bytes, b, buf);
		__m512i isum = _mm512_setzero_si512();
		int32_t word;

#pragma GCC unroll 8
		for (int c = 0; c < QK8_0 / 4; c++) {
			memcpy(&word, buf + 4 * c, 4);
			isum = _mm512_dpbusd_epi32(isum, _mm512_set1_epi32(word), x[c]);
		}
		isum = _mm512_sub_epi32(isum, bias);
		/* as the dot: d_w d_x, then one FMA with the block sum */
		acc[r][k] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(dw), dx),
					    _mm512_cvtepi32_ps(isum), acc[r][k]);
	}
}

/* hsum8 over the eight lane accumulators, after adding the zero mins */
ALWAYS_INLINE __m512 hsum8_lanes(__m512 a[8])
{
	__m512 v[8];

#pragma GCC unroll 8
	for (int k = 0; k < 8; k++)
		v[k] = _mm512_add_ps(a[k], _mm512_setzero_ps());
	return _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(v[0], v[4]),
					   _mm512_add_ps(v[2], v[6])),
			     _mm512_add_ps(_mm512_add_ps(v[1], v[5]),
					   _mm512_add_ps(v[3], v[7])));
}

ALWAYS_INLINE void store_tokens(__m512 v, int tokens, float *out, size_t out_stride)
{
	float s[T];

	_mm512_storeu_ps(s, v);
	for (int t = 0; t < tokens; t++)
		out[t * out_stride] = s[t];
}

ALWAYS_INLINE void q_rows(int R, int64_t n, int tokens, float *out,
			  size_t out_stride, const unsigned char *w,
			  size_t w_row_bytes, const void *xp, weight_fn f, int shift,
			  struct mbr_gemm_ahead *ahead)
{
	const struct q8_0_group *g = xp;
	int64_t nb = n / QK8_0, b = 0;
	__m512 acc[4][8];

#pragma GCC unroll 4
	for (int r = 0; r < R; r++)
#pragma GCC unroll 8
		for (int k = 0; k < 8; k++)
			acc[r][k] = _mm512_setzero_ps();
	/* k constant in each step, so that acc stays in registers */
	for (; b < nb; b += 8) {
		mbr_gemm_ahead_step(ahead);
#pragma GCC unroll 8
		for (int k = 0; k < 8; k++)
			if (b + k < nb)
				q_block(R, w, w_row_bytes, g + b + k, b + k, f, shift, acc, k);
	}
#pragma GCC unroll 4
	for (int r = 0; r < R; r++)
		store_tokens(hsum8_lanes(acc[r]), tokens, out + r, out_stride);
}

ALWAYS_INLINE void q_gemm(int64_t n, int rows, int tokens, float *out,
			  size_t out_stride, const void *w, size_t w_row_bytes,
			  const void *xp, weight_fn f, int shift,
			  struct mbr_gemm_ahead *ahead)
{
	const unsigned char *wb = w;
	int r = 0;

	assert(n % QK8_0 == 0 && tokens >= 1 && tokens <= T);
	mbr_gemm_ahead_begin(ahead, (rows + 1) / 2 * ((n / QK8_0 + 7) / 8));
	for (; r + 2 <= rows; r += 2)
		q_rows(2, n, tokens, out + r, out_stride, wb + r * w_row_bytes,
		       w_row_bytes, xp, f, shift, ahead);
	if (r < rows)
		q_rows(1, n, tokens, out + r, out_stride, wb + r * w_row_bytes,
		       w_row_bytes, xp, f, shift, ahead);
}

void mbr_gemm_q8_0_q8_0_avx512(int64_t n, int rows, int tokens, float *out,
			       size_t out_stride, const void *w,
			       size_t w_row_bytes, const void *xp,
			       struct mbr_gemm_ahead *ahead)
{
	q_gemm(n, rows, tokens, out, out_stride, w, w_row_bytes, xp, q8_0_weights, 7, ahead);
}

void mbr_gemm_q4_0_q8_0_avx512(int64_t n, int rows, int tokens, float *out,
			       size_t out_stride, const void *w,
			       size_t w_row_bytes, const void *xp,
			       struct mbr_gemm_ahead *ahead)
{
	q_gemm(n, rows, tokens, out, out_stride, w, w_row_bytes, xp, q4_0_weights, 3, ahead);
}

/* ---- F16 against F16 */

/*
 * A call's rows go F16_ROWS at a time through the columns in blocks,
 * eight tokens at a time. The block of those tokens is widened once into
 * a float buffer that stays in L1, and every tile of 3 rows x 8 tokens
 * widens its rows' halves itself. Per 16 columns such a tile loads 11
 * vectors and issues 24 FMAs and 3 conversions; in L1 it runs at ~90% of
 * the benchmark machine's (Zen 5) FMA peak, whether the weights come as
 * halves or as floats, and 2-3% faster than 2 x 8 tiles, which load 10
 * vectors per 16 FMAs. Converting the tokens in the tiles instead of
 * widening them once, as 4 x 4 tiles did, doubles the conversions.
 *
 * What is left around the tiles is the widening and the accumulators
 * kept between blocks (stored and loaded again at every block). In the
 * AVX2 order, two per output, leaving either out (wrong sums, for the
 * timing) was 5-7% faster each with the weights in L2; one per output
 * (f16-avx512.h) made the 22 layers' products 10% faster on one thread
 * (bench-matmul, pinned: 66-68 -> 72-74 tokens/s). 48 rows per widened
 * block rather than 24 halve the widening: +4% in F16 prompts (AVX2
 * order, 12 rounds, 2 threads); 24 or 36 now, whose accumulators would
 * stay in L1 beside the tokens, are 5% slower. Blocks of 1024 columns
 * were +1-4% with the weights in L2 but -1% in the prompts (the floats
 * take 32 of L1's 48 KiB); widening the tokens once per batch into
 * floats read from L2 gains nothing, nor does widening them in the
 * block's first tile, fetching the next block's halves during this one
 * (-5%), fetching the next tile's rows into L1 (0%) or reducing sixteen
 * outputs' accumulators at once (-2%).
 */
#define F16_ROWS 48
#define F16_TOKENS 8
#define F16_BLOCK 512

/*
 * The accumulators of one call's eight tokens, carried from column block
 * to column block: st[r][t] for row r and token t. A float stored and
 * loaded again is the same float, so cutting the rows into blocks changes
 * no bit of the sums. The first block starts from zero rather than from a
 * cleared st.
 */
typedef __m512 f16_state[F16_ROWS][F16_TOKENS];
typedef float f16_tokens[F16_TOKENS][F16_BLOCK];

/* halves [i0, i1) of the tokens' rows of n into the block's floats;
 * zeros for the rows past them */
static void f16_widen(f16_tokens x, const mbr_half *src, int tokens, int64_t n,
		      int64_t i0, int64_t i1)
{
	for (int t = 0; t < F16_TOKENS; t++)
		for (int64_t i = i0; i < i1; i += 16)
			_mm512_store_ps(&x[t][i - i0], t < tokens ? f16_load16(src + t * n + i) :
				_mm512_setzero_ps());
}

/*
 * st[r][t] += the products of elements [i0, i1) for R rows and the eight
 * tokens (x: the block, from i0), after mbr_gemm_ahead_step; the first
 * block sets them.
 */
ALWAYS_INLINE void f16_tile(int R, int64_t i0, int64_t i1, const mbr_half *w,
			    size_t w_row, f16_tokens x, __m512 (*st)[F16_TOKENS],
			    struct mbr_gemm_ahead *ahead)
{
	__m512 acc[3][F16_TOKENS];

	mbr_gemm_ahead_step(ahead);
#pragma GCC unroll 3
	for (int r = 0; r < R; r++)
#pragma GCC unroll 8
		for (int t = 0; t < F16_TOKENS; t++)
			acc[r][t] = i0 ? st[r][t] : _mm512_setzero_ps();
	for (int64_t i = i0; i < i1; i += 16) {
		__m512 wv[3];

#pragma GCC unroll 3
		for (int r = 0; r < R; r++)
			wv[r] = f16_load16(w + r * w_row + i);
#pragma GCC unroll 8
		for (int t = 0; t < F16_TOKENS; t++) {
			__m512 xv = _mm512_load_ps(&x[t][i - i0]);

			/* one load for all rows: GCC would fold it into each FMA */
			__asm__("" : "+v"(xv));
#pragma GCC unroll 3
			for (int r = 0; r < R; r++)
				acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
		}
	}
#pragma GCC unroll 3
	for (int r = 0; r < R; r++)
#pragma GCC unroll 8
		for (int t = 0; t < F16_TOKENS; t++)
			st[r][t] = acc[r][t];
}

/* rows <= F16_ROWS against eight tokens (past `tokens`: computed, not
 * stored) */
static void f16_rows(int64_t n, int rows, int tokens, float *out,
		     size_t out_stride, const mbr_half *w, size_t w_row,
		     const mbr_half *x, struct mbr_gemm_ahead *ahead)
{
	int64_t n16 = n - n % 16;
	f16_tokens xb __attribute__((aligned(64)));
	f16_state st;

	for (int64_t i0 = 0; i0 < n16; i0 += F16_BLOCK) {
		int64_t i1 = i0 + F16_BLOCK < n16 ? i0 + F16_BLOCK : n16;
		int r = 0;

		f16_widen(xb, x, tokens, n, i0, i1);
		for (; r + 3 <= rows; r += 3)
			f16_tile(3, i0, i1, w + r * w_row, w_row, xb, st + r, ahead);
		if (r + 2 == rows)
			f16_tile(2, i0, i1, w + r * w_row, w_row, xb, st + r, ahead);
		else if (r < rows)
			f16_tile(1, i0, i1, w + r * w_row, w_row, xb, st + r, ahead);
	}
	for (int r = 0; r < rows; r++)
		for (int t = 0; t < tokens; t++)
			out[t * out_stride + r] = f16_finish(n16 ? st[r][t] : _mm512_setzero_ps(),
							     w + r * w_row, x + t * n, n16, n);
}

void mbr_gemm_f16_f16_avx512(int64_t n, int rows, int tokens, float *out,
			     size_t out_stride, const void *w,
			     size_t w_row_bytes, const void *xp,
			     struct mbr_gemm_ahead *ahead)
{
	const mbr_half *wh = w;
	size_t w_row = w_row_bytes / sizeof(mbr_half);

	assert(tokens >= 1 && tokens <= T && w_row_bytes % sizeof(mbr_half) == 0);
	mbr_gemm_ahead_begin(ahead, mbr_gemm_f16_tiles(n - n % 16, rows, tokens, F16_TOKENS,
						       F16_BLOCK));
	/* eight tokens at a time, each over all the rows: the rows stay in
	 * L2 for the next eight */
	for (int t = 0; t < tokens; t += F16_TOKENS)
		for (int r = 0; r < rows; r += F16_ROWS)
			f16_rows(n, rows - r < F16_ROWS ? rows - r : F16_ROWS,
				 tokens - t < F16_TOKENS ? tokens - t : F16_TOKENS,
				 out + t * out_stride + r, out_stride,
				 wh + r * w_row, w_row, (const mbr_half *)xp + t * n,
				 ahead);
}

/* ---- Q4_K and Q6_K against Q8_K
 *
 * vecdot-kquants.h's dots add, per super-block, scale * code * activation
 * into eight int32 lanes, lane k taking the four elements 4k .. 4k + 3 of
 * every 32 (maddubs pairs, vpdpwssd pairs of pairs), then scale the lanes
 * with one FMA into an 8-lane float accumulator that hsum8 ends. Here a
 * zmm holds one such lane for 16 tokens, so every float step per output is
 * the dot's own and only the exact integer sums are reorganised. The
 * packed group holds each token's activations as int16 pairs, pair i of
 * every token side by side; the weights are unpacked once per row as
 * scale * code in int16 (at most 63 * 128 in size), so one vpdpwssd with
 * a weight pair broadcast from memory adds two scaled products to lane
 * i / 2 % 8 of 16 tokens. The activation sums that take out Q6_K's bias
 * and make Q4_K's mins are packed as int16 pairs in the dots' lanes.
 */
#define PAIRS (QK_K / 2)

struct q8_K_group {
	float d[T];
	int32_t q[PAIRS][T];		/* elements 2i, 2i + 1 of token t */
	int32_t bs[8][T];		/* bsums 2k and 2k + 1 (Q6_K) */
	int32_t pairs[4][T];		/* bsums 4k + 1 (+) 4k, 4k + 3 (+) 4k + 2 */
};

ALWAYS_INLINE int32_t pair16(int lo, int hi)
{
	return (int32_t)((uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16);
}

void mbr_gemm_pack_q8_K_avx512(int64_t n, int tokens, void *dst,
			       const void *x, size_t x_row_bytes)
{
	struct q8_K_group *g = dst;

	assert(n % QK_K == 0 && tokens >= 1 && tokens <= T);
	memset(g, 0, mbr_gemm_pack_size_q8_K_avx512(n));
	for (int64_t b = 0; b < n / QK_K; b++, g++)
		for (int t = 0; t < tokens; t++) {
			const struct block_q8_K *y = (const struct block_q8_K *)
				((const char *)x + t * x_row_bytes) + b;
			const int16_t *s = y->bsums;
			int16_t wide[QK_K];

			g->d[t] = y->d;
			for (int i = 0; i < QK_K; i += 16)
				_mm256_storeu_si256((__m256i *)(wide + i), _mm256_cvtepi8_epi16(
					_mm_loadu_si128((const __m128i *)(y->qs + i))));
			for (int i = 0; i < PAIRS; i++)
				memcpy(&g->q[i][t], wide + 2 * i, 4);
			for (int k = 0; k < 8; k++)
				g->bs[k][t] = pair16(s[2 * k], s[2 * k + 1]);
			for (int k = 0; k < 4; k++)
				g->pairs[k][t] = pair16(s[4 * k] + s[4 * k + 1],
							s[4 * k + 2] + s[4 * k + 3]);
		}
}

size_t mbr_gemm_pack_size_q8_K_avx512(int64_t n)
{
	return (size_t)(n / QK_K) * sizeof(struct q8_K_group);
}

/* One weight super-block unpacked: scale * code in activation order, and
 * the int16 pairs against g->bs (Q6_K) or g->pairs (Q4_K). */
struct k_weights {
	int16_t v[QK_K];
	int32_t extra[8];
	float d, dmin;
};

typedef void (*k_weight_fn)(const void *row, int64_t b, struct k_weights *kw);

/* v = u * scale, 16 elements from u, scale s[e / 16] (per = 16) or
 * s[e / 32] (per = 32) for element e */
ALWAYS_INLINE void scale_codes(struct k_weights *kw, const uint8_t *u,
			       const int16_t *s, int per)
{
#pragma GCC unroll 16
	for (int e = 0; e < QK_K; e += 16)
		_mm256_storeu_si256((__m256i *)(kw->v + e), _mm256_mullo_epi16(
			_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(u + e))),
			_mm256_set1_epi16(s[e / per])));
}

ALWAYS_INLINE void q4_K_weights(const void *row, int64_t b, struct k_weights *kw)
{
	const struct block_q4_K *a = (const struct block_q4_K *)row + b;
	const __m256i low = _mm256_set1_epi8(0x0f);
	uint8_t sc[8], m[8], u[QK_K] __attribute__((aligned(32)));
	int16_t s[8];

	mbr_k4_unpack(a->scales, sc, m);
#pragma GCC unroll 4
	for (int c = 0; c < 4; c++) {
		__m256i q = _mm256_loadu_si256((const __m256i *)(a->qs + 32 * c));

		_mm256_store_si256((__m256i *)(u + 64 * c), _mm256_and_si256(q, low));
		_mm256_store_si256((__m256i *)(u + 64 * c + 32),
				   _mm256_and_si256(_mm256_srli_epi16(q, 4), low));
	}
	for (int j = 0; j < 8; j++)
		s[j] = sc[j];
	scale_codes(kw, u, s, 32);
	for (int k = 0; k < 4; k++)
		kw->extra[k] = pair16(m[2 * k], m[2 * k + 1]);
	kw->d = _cvtsh_ss(a->d);
	kw->dmin = _cvtsh_ss(a->dmin);
}

ALWAYS_INLINE void q6_K_weights(const void *row, int64_t b, struct k_weights *kw)
{
	const struct block_q6_K *a = (const struct block_q6_K *)row + b;
	const __m256i low = _mm256_set1_epi8(0x0f), three = _mm256_set1_epi8(3);
	uint8_t u[QK_K] __attribute__((aligned(32)));
	int16_t s[16];

#pragma GCC unroll 2
	for (int h = 0; h < 2; h++) {
		__m256i l0 = _mm256_loadu_si256((const __m256i *)(a->ql + 64 * h));
		__m256i l1 = _mm256_loadu_si256((const __m256i *)(a->ql + 64 * h + 32));
		__m256i hb = _mm256_loadu_si256((const __m256i *)(a->qh + 32 * h));
		__m256i q[4] = {
			_mm256_and_si256(l0, low), _mm256_and_si256(l1, low),
			_mm256_and_si256(_mm256_srli_epi16(l0, 4), low),
			_mm256_and_si256(_mm256_srli_epi16(l1, 4), low),
		};

#pragma GCC unroll 4
		for (int k = 0; k < 4; k++) {
			__m256i hi = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * k), three);

			_mm256_store_si256((__m256i *)(u + 128 * h + 32 * k),
					   _mm256_or_si256(q[k], _mm256_slli_epi16(hi, 4)));
		}
	}
	/* sub-block j of 16 is the dot's scale_pair half: scale j */
	for (int j = 0; j < 16; j++)
		s[j] = a->scales[j];
	scale_codes(kw, u, s, 16);
	/* the bias of 32, as -32 sc against the bsums */
	for (int k = 0; k < 8; k++)
		kw->extra[k] = pair16(-32 * a->scales[2 * k], -32 * a->scales[2 * k + 1]);
	kw->d = _cvtsh_ss(a->d);
	kw->dmin = 0;
}

ALWAYS_INLINE __m512i bcast(const void *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return _mm512_set1_epi32(v);
}

/* Super-block b of R rows into acc[r][k] (and macc[r][k] for Q4_K). */
ALWAYS_INLINE void k_block(int R, int mins, const unsigned char *w,
			   size_t w_row_bytes, const struct q8_K_group *g,
			   int64_t b, k_weight_fn f, __m512 acc[][8],
			   __m512 macc[][4])
{
	struct k_weights kw[2];
	__m512 dx = _mm512_loadu_ps(g->d);

	for (int r = 0; r < R; r++)
		f(w + r * w_row_bytes, b, &kw[r]);
#pragma GCC unroll 8
	for (int k = 0; k < 8; k++) {
		__m512i isum[2];

#pragma GCC unroll 2
		for (int r = 0; r < R; r++)
			isum[r] = mins ? _mm512_setzero_si512() :
				  _mm512_dpwssd_epi32(_mm512_setzero_si512(),
						      _mm512_loadu_si512(g->bs[k]),
						      bcast(&kw[r].extra[k]));
		/* pairs 16c + 2k and 16c + 2k + 1: word 8c + k, lane k */
#pragma GCC unroll 16
		for (int j = 0; j < 16; j++) {
			int i = 16 * (j / 2) + 2 * k + j % 2;
			__m512i xv = _mm512_loadu_si512(g->q[i]);

#pragma GCC unroll 2
			for (int r = 0; r < R; r++)
				isum[r] = _mm512_dpwssd_epi32(isum[r], xv,
							      bcast(kw[r].v + 2 * i));
		}
#pragma GCC unroll 2
		for (int r = 0; r < R; r++)
			acc[r][k] = _mm512_fmadd_ps(_mm512_mul_ps(dx, _mm512_set1_ps(kw[r].d)),
						    _mm512_cvtepi32_ps(isum[r]), acc[r][k]);
	}
	if (!mins)
		return;
#pragma GCC unroll 4
	for (int k = 0; k < 4; k++)
#pragma GCC unroll 2
		for (int r = 0; r < R; r++) {
			__m512i m = _mm512_dpwssd_epi32(_mm512_setzero_si512(),
							_mm512_loadu_si512(g->pairs[k]),
							bcast(&kw[r].extra[k]));
			/* -d_x, as the dot negates it, then times dmin */
			__m512 nd = _mm512_mul_ps(_mm512_castsi512_ps(
				_mm512_xor_si512(_mm512_castps_si512(dx),
						 _mm512_set1_epi32(INT32_MIN))),
				_mm512_set1_ps(kw[r].dmin));

			macc[r][k] = _mm512_fmadd_ps(nd, _mm512_cvtepi32_ps(m), macc[r][k]);
		}
}
/* hsum8 as the dots end, lane by lane; plus the mins' four-lane sum */
ALWAYS_INLINE __m512 k_sum(const __m512 a[8], int mins, const __m512 m[4])
{
	__m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[4]),
					       _mm512_add_ps(a[2], a[6])),
				 _mm512_add_ps(_mm512_add_ps(a[1], a[5]),
					       _mm512_add_ps(a[3], a[7])));

	if (!mins)
		return s;
	return _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(m[0], m[2]),
					      _mm512_add_ps(m[1], m[3])));
}

ALWAYS_INLINE void k_rows(int R, int mins, int64_t n, int tokens, float *out,
			  size_t out_stride, const unsigned char *w,
			  size_t w_row_bytes, const void *xp, k_weight_fn f,
			  struct mbr_gemm_ahead *ahead)
{
	const struct q8_K_group *g = xp;
	__m512 acc[2][8], macc[2][4];

	for (int r = 0; r < R; r++) {
		for (int k = 0; k < 8; k++)
			acc[r][k] = _mm512_setzero_ps();
		for (int k = 0; k < 4; k++)
			macc[r][k] = _mm512_setzero_ps();
	}
	for (int64_t b = 0; b < n / QK_K; b++) {
		mbr_gemm_ahead_step(ahead);
		k_block(R, mins, w, w_row_bytes, g + b, b, f, acc, macc);
	}
	for (int r = 0; r < R; r++)
		store_tokens(k_sum(acc[r], mins, macc[r]), tokens, out + r, out_stride);
}

ALWAYS_INLINE void k_gemm(int mins, int64_t n, int rows, int tokens, float *out,
			  size_t out_stride, const void *w, size_t w_row_bytes,
			  const void *xp, k_weight_fn f, struct mbr_gemm_ahead *ahead)
{
	const unsigned char *wb = w;
	int r = 0;

	assert(n % QK_K == 0 && tokens >= 1 && tokens <= T);
	mbr_gemm_ahead_begin(ahead, (rows + 1) / 2 * (n / QK_K));
	for (; r + 2 <= rows; r += 2)
		k_rows(2, mins, n, tokens, out + r, out_stride, wb + r * w_row_bytes,
		       w_row_bytes, xp, f, ahead);
	if (r < rows)
		k_rows(1, mins, n, tokens, out + r, out_stride, wb + r * w_row_bytes,
		       w_row_bytes, xp, f, ahead);
}

void mbr_gemm_q4_K_q8_K_avx512(int64_t n, int rows, int tokens, float *out,
			       size_t out_stride, const void *w,
			       size_t w_row_bytes, const void *xp,
			       struct mbr_gemm_ahead *ahead)
{
	k_gemm(1, n, rows, tokens, out, out_stride, w, w_row_bytes, xp, q4_K_weights,
	       ahead);
}

void mbr_gemm_q6_K_q8_K_avx512(int64_t n, int rows, int tokens, float *out,
			       size_t out_stride, const void *w,
			       size_t w_row_bytes, const void *xp,
			       struct mbr_gemm_ahead *ahead)
{
	k_gemm(0, n, rows, tokens, out, out_stride, w, w_row_bytes, xp, q6_K_weights,
	       ahead);
}
