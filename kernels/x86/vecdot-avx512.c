/*
 * vecdot-avx512.c - dot products with AVX-512 VNNI: the 32-element block
 * types against Q8_0/Q8_1, and the K-quants (vecdot-kquants.h) with
 * vpdpwssd.
 *
 * The Makefile builds kernels/x86 with AVX2 only; the pragma below gives
 * every function here the AVX-512 target, and they are reached only through
 * mbr_kernel_traits() after mbr_cpu_has_avx512() said yes. The registers
 * are 256 bits wide (AVX-512VL): a block of 32 codes fills one, and on
 * CPUs that split 512-bit work in two halves it is no slower.
 *
 * The AVX2 kernels spend as much time on each block's two fp16 scales
 * (two scalar conversions, a multiply, a broadcast) as on its codes. Here
 * eight blocks go together: their integer sums are reduced to one lane
 * each, and the eight scales are fetched with one word permute per four
 * blocks and converted with one vcvtph2ps, so the float work is a single
 * FMA per eight blocks. vpdpbusd multiplies unsigned weight codes by the
 * signed activation codes and sums four products per lane in one step;
 * a weight offset such as Q4_0's 8 costs one more vpdpbusd against the
 * activation codes. Each block's integer sum is exact, as in the scalar
 * reference; only the order of the float additions differs.
 */
#include <assert.h>
#include <immintrin.h>
#include <stddef.h>
#include <string.h>
#include "kernels.h"
#include "quants.h"
#include "scales.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni")

#include "f16-avx512.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* ---- F16 against F16, in f16-avx512.h's order */

/* elements i .. i + 15 of R rows a[r] against b into their accumulators */
ALWAYS_INLINE void f16_step_rows(int R, const mbr_half *const *a, const mbr_half *b,
				 int64_t i, __m512 *acc)
{
	__m512 xv = f16_load16(b + i);

#pragma GCC unroll 4
	for (int r = 0; r < R; r++)
		acc[r] = _mm512_fmadd_ps(f16_load16(a[r] + i), xv, acc[r]);
}

void mbr_vec_dot_f16_f16_avx512(int64_t n, float *s, const void *w, const void *x)
{
	const mbr_half *a = w, *b = x;
	int64_t n16 = n - n % 16;
	__m512 acc = _mm512_setzero_ps();

	for (int64_t i = 0; i < n16; i += 16)
		f16_step_rows(1, &a, b, i, &acc);
	*s = f16_finish(acc, a, b, n16, n);
}

/*
 * MBR_F16_ROWS rows at once: their FMA chains overlap, where one row's
 * waits four cycles per 16 elements (from cache 58 against 97 ns a row of
 * 2048). Side by side, the rows are streams that the hardware prefetcher
 * follows worse than one row after another: each line is asked for a row
 * further in memory, where the matmul's next call reads (kernels.h).
 */
void mbr_vec_dot_rows_f16_f16_avx512(int64_t n, float *s, const void *w,
				     size_t w_row_bytes, const void *x)
{
	enum { R = MBR_F16_ROWS };
	const mbr_half *b = x, *a[R];
	int64_t n16 = n - n % 16, i = 0;
	size_t ahead = (size_t)n * sizeof(mbr_half);	/* the next call's rows */
	__m512 acc[R];

#pragma GCC unroll 4
	for (int r = 0; r < R; r++) {
		a[r] = (const mbr_half *)((const char *)w + r * w_row_bytes);
		acc[r] = _mm512_setzero_ps();
	}
	for (; i + 32 <= n16; i += 32) {
#pragma GCC unroll 4
		for (int r = 0; r < R; r++)
			_mm_prefetch((const char *)(a[r] + i) + ahead, _MM_HINT_T0);
		f16_step_rows(R, a, b, i, acc);
		f16_step_rows(R, a, b, i + 16, acc);
	}
	if (i < n16)
		f16_step_rows(R, a, b, i, acc);
#pragma GCC unroll 4
	for (int r = 0; r < R; r++)
		s[r] = f16_finish(acc[r], a[r], b, n16, n);
}

/* ---- eight blocks' fp16 fields as floats */

/*
 * The fp16 fields at p + off + stride k for k < count <= 4, in words
 * 0..3 (zero from count on). The blocks span at most 128 bytes up to the
 * last field (stride <= 36), two masked loads that read no further.
 */
ALWAYS_INLINE __m128i halves4(const uint8_t *p, int stride, int off, int count)
{
	int words = count ? (stride * (count - 1) + off) / 2 + 1 : 0;
	__mmask32 m0 = words >= 32 ? 0xffffffffu : (1u << words) - 1;
	__mmask32 m1 = words > 32 ? (1u << (words - 32)) - 1 : 0;
	__m512i lo = _mm512_maskz_loadu_epi16(m0, p);
	__m512i hi = _mm512_maskz_loadu_epi16(m1, p + 64);
	__m128i idx = _mm_setr_epi16(off / 2, (off + stride) / 2,
				     (off + 2 * stride) / 2,
				     (off + 3 * stride) / 2, 0, 0, 0, 0);

	assert(stride % 2 == 0 && off % 2 == 0 && words <= 64);
	return _mm512_castsi512_si128(_mm512_permutex2var_epi16(lo,
				      _mm512_zextsi128_si512(idx), hi));
}

/* The fp16 field at off of the count <= 8 blocks at p, as floats. */
ALWAYS_INLINE __m256 halves8(const void *p, int stride, int off, int count)
{
	const uint8_t *b = p;
	__m128i lo = halves4(b, stride, off, count < 4 ? count : 4);
	__m128i hi = count > 4 ? halves4(b + 4 * stride, stride, off, count - 4) :
		     _mm_setzero_si128();

	return _mm256_cvtph_ps(_mm_unpacklo_epi64(lo, hi));
}

/* ---- integer sums of one block */

/* 32 four-bit codes from 16 bytes: low nibbles are elements 0..15, high
 * nibbles 16..31, which is the order of the activation's 32 bytes. */
ALWAYS_INLINE __m256i nibbles32(const uint8_t *p)
{
	__m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));

	return _mm256_and_si256(_mm256_srlv_epi64(b, _mm256_setr_epi64x(0, 0, 4, 4)),
				_mm256_set1_epi8(0x0f));
}

/* Q5's fifth bit: 16 more in byte j where bit j of the word at qh is set. */
ALWAYS_INLINE __m256i fifth_bits(__m256i u, const uint8_t *qh)
{
	uint32_t bits;

	memcpy(&bits, qh, sizeof(bits));
	return _mm256_mask_add_epi8(u, bits, u, _mm256_set1_epi8(16));
}

ALWAYS_INLINE __m256i load32(const int8_t *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

/* Lanes summing to sum_j (u_j - offset) y_j: u unsigned, y signed. */
ALWAYS_INLINE __m256i dot_offset(__m256i u, const int8_t *y, int offset)
{
	__m256i zero = _mm256_setzero_si256(), yv = load32(y);
	__m256i p = _mm256_dpbusd_epi32(zero, u, yv);

	if (offset)
		p = _mm256_sub_epi32(p, _mm256_dpbusd_epi32(zero,
					_mm256_set1_epi8((char)offset), yv));
	return p;
}

/* lanes of a and b folded to a0+a2 b0+b2 a1+a3 b1+b3 per 128 bits */
ALWAYS_INLINE __m256i pair_sums(__m256i a, __m256i b)
{
	return _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
}

/* The eight lanes of p[k] summed into lane k. */
ALWAYS_INLINE __m256i reduce8(const __m256i p[8])
{
	__m256i t0 = pair_sums(p[0], p[1]), t1 = pair_sums(p[2], p[3]);
	__m256i t2 = pair_sums(p[4], p[5]), t3 = pair_sums(p[6], p[7]);
	/* blocks 0..3 from the low 128-bit halves, then from the high */
	__m256i a = _mm256_add_epi32(_mm256_unpacklo_epi64(t0, t1),
				     _mm256_unpackhi_epi64(t0, t1));
	__m256i b = _mm256_add_epi32(_mm256_unpacklo_epi64(t2, t3),
				     _mm256_unpackhi_epi64(t2, t3));

	return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
				_mm256_permute2x128_si256(a, b, 0x31));
}

ALWAYS_INLINE float half(mbr_half h)
{
	return _cvtsh_ss(h);
}

/* ---- 32-element blocks, eight at a time */

/* Lanes summing to block i's integer dot (offset taken out). */
typedef __m256i (*block_fn)(const void *w, const void *x, int64_t i);

/* Where a weight type and its activation type keep their fp16 fields:
 * wm and xs only for Q4_1/Q5_1 (m) against Q8_1 (s = d * sum(y)). */
struct layout {
	int wsize, wd, wm;
	int xsize, xd, xs;
};

/*
 * acc += d_w d_x * (integer dot) for the count <= 8 blocks from i, each
 * scaled lane by lane; *mins += m s for them where the layout has m.
 */
ALWAYS_INLINE __m256 group8(int64_t i, int count, const void *w, const void *x,
		     struct layout l, block_fn f, __m256 acc, __m256 *mins)
{
	const uint8_t *wb = (const uint8_t *)w + i * l.wsize;
	const uint8_t *xb = (const uint8_t *)x + i * l.xsize;
	__m256i p[8];
	__m256 d;

#pragma GCC unroll 8
	for (int k = 0; k < 8; k++)
		p[k] = k < count ? f(w, x, i + k) : _mm256_setzero_si256();
	d = _mm256_mul_ps(halves8(wb, l.wsize, l.wd, count),
			  halves8(xb, l.xsize, l.xd, count));
	if (l.wm >= 0)
		*mins = _mm256_fmadd_ps(halves8(wb, l.wsize, l.wm, count),
					halves8(xb, l.xsize, l.xs, count), *mins);
	return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(reduce8(p)), acc);
}

ALWAYS_INLINE float hsum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

ALWAYS_INLINE float sum_blocks(int64_t n, const void *w, const void *x,
			struct layout l, block_fn f)
{
	__m256 acc = _mm256_setzero_ps(), mins = _mm256_setzero_ps();
	int64_t nb = n / 32, i = 0;

	assert(n % 32 == 0);
	for (; i + 8 <= nb; i += 8)
		acc = group8(i, 8, w, x, l, f, acc, &mins);
	if (i < nb)
		acc = group8(i, (int)(nb - i), w, x, l, f, acc, &mins);
	return hsum8(_mm256_add_ps(acc, mins));
}

#define LAYOUT(wt, xt, m, s) \
	((struct layout){ sizeof(struct wt), offsetof(struct wt, d), m, \
			  sizeof(struct xt), offsetof(struct xt, d), s })
#define Q8_0_LAYOUT(wt) LAYOUT(wt, block_q8_0, -1, -1)
#define Q8_1_LAYOUT(wt) LAYOUT(wt, block_q8_1, offsetof(struct wt, m), \
			       offsetof(struct block_q8_1, s))

ALWAYS_INLINE __m256i q4_0_block(const void *w, const void *x, int64_t i)
{
	const struct block_q4_0 *a = (const struct block_q4_0 *)w + i;
	const struct block_q8_0 *b = (const struct block_q8_0 *)x + i;

	return dot_offset(nibbles32(a->qs), b->qs, 8);
}

ALWAYS_INLINE __m256i q5_0_block(const void *w, const void *x, int64_t i)
{
	const struct block_q5_0 *a = (const struct block_q5_0 *)w + i;
	const struct block_q8_0 *b = (const struct block_q8_0 *)x + i;

	return dot_offset(fifth_bits(nibbles32(a->qs), a->qh), b->qs, 16);
}

ALWAYS_INLINE __m256i q4_1_block(const void *w, const void *x, int64_t i)
{
	const struct block_q4_1 *a = (const struct block_q4_1 *)w + i;
	const struct block_q8_1 *b = (const struct block_q8_1 *)x + i;

	return dot_offset(nibbles32(a->qs), b->qs, 0);
}

ALWAYS_INLINE __m256i q5_1_block(const void *w, const void *x, int64_t i)
{
	const struct block_q5_1 *a = (const struct block_q5_1 *)w + i;
	const struct block_q8_1 *b = (const struct block_q8_1 *)x + i;

	return dot_offset(fifth_bits(nibbles32(a->qs), a->qh), b->qs, 0);
}

ALWAYS_INLINE __m256i q8_0_block(const void *w, const void *x, int64_t i)
{
	const struct block_q8_0 *a = (const struct block_q8_0 *)w + i;
	const struct block_q8_0 *b = (const struct block_q8_0 *)x + i;
	__m256i q = load32(a->qs);

	/* both signed: |q| unsigned, its sign moved onto y (y > -128) */
	return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(q),
				   _mm256_sign_epi8(load32(b->qs), q));
}

void mbr_vec_dot_q4_0_q8_0_avx512(int64_t n, float *s, const void *w,
					 const void *x)
{
	*s = sum_blocks(n, w, x, Q8_0_LAYOUT(block_q4_0), q4_0_block);
}

void mbr_vec_dot_q5_0_q8_0_avx512(int64_t n, float *s, const void *w,
					 const void *x)
{
	*s = sum_blocks(n, w, x, Q8_0_LAYOUT(block_q5_0), q5_0_block);
}

void mbr_vec_dot_q8_0_q8_0_avx512(int64_t n, float *s, const void *w,
					 const void *x)
{
	*s = sum_blocks(n, w, x, Q8_0_LAYOUT(block_q8_0), q8_0_block);
}

void mbr_vec_dot_q4_1_q8_1_avx512(int64_t n, float *s, const void *w,
					 const void *x)
{
	*s = sum_blocks(n, w, x, Q8_1_LAYOUT(block_q4_1), q4_1_block);
}

void mbr_vec_dot_q5_1_q8_1_avx512(int64_t n, float *s, const void *w,
					 const void *x)
{
	*s = sum_blocks(n, w, x, Q8_1_LAYOUT(block_q5_1), q5_1_block);
}

/*
 * ---- Q4_0: several weight rows against one activation row
 *
 * A decode step dots every weight row with the same activation row, and
 * the single-row dot reloads its codes, recomputes their offset term and
 * reconverts their scales for each row. Here MBR_Q4_0_ROWS rows share
 * them, and the activation is laid out once so that the integer work per
 * row is cheaper: a vector holds elements 0..15 (or 16..31) of two
 * blocks, which is how the weight nibbles of two blocks come apart with
 * one shift, and its lanes reduce with half of reduce8's work. The
 * offset is taken out after the reduction (integer: the same sums), and
 * each row's float work is group8's, one multiply of the scales and one
 * FMA per eight blocks, then hsum8: every output is bit for bit
 * mbr_vec_dot_q4_0_q8_0_avx512's.
 *
 * R rows read side by side are R streams, which the hardware prefetcher
 * follows worse than one row after another: from memory the kernel was
 * slower than vec_dot without the prefetches below, which ask for the
 * same place PREFETCH_ROWS rows further in memory, where the matmul's
 * call after next reads (its rows are runs apart, see kernels.h). A
 * prefetch past the matrix's end is harmless: it never faults.
 */
#define PREFETCH_ROWS 2

/* Lanes of blocks 2j (low 128 bits) and 2j + 1 (high) of p[j] summed
 * into lane k for block k. */
ALWAYS_INLINE __m256i reduce_pairs(const __m256i p[4])
{
	__m256i t0 = pair_sums(p[0], p[1]), t1 = pair_sums(p[2], p[3]);
	/* blocks 0 2 4 6 in the low 128 bits, 1 3 5 7 in the high */
	__m256i a = _mm256_add_epi32(_mm256_unpacklo_epi64(t0, t1),
				     _mm256_unpackhi_epi64(t0, t1));

	return _mm256_permutevar8x32_epi32(a, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* The codes of blocks k and k + 1 (k alone when !both): elements 0..15
 * of both in lo, k's in the low 128 bits, 16..31 in hi. */
ALWAYS_INLINE void nibble_pair(const struct block_q4_0 *a, int both,
			       __m256i *lo, __m256i *hi)
{
	__m128i q0 = _mm_loadu_si128((const __m128i *)a[0].qs);
	__m256i v = both ? _mm256_inserti128_si256(_mm256_castsi128_si256(q0),
				_mm_loadu_si128((const __m128i *)a[1].qs), 1) :
		    _mm256_zextsi128_si256(q0);

	*lo = _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
	*hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
}

ALWAYS_INLINE void q4_0_group_rows(int R, int64_t i, int count, const uint8_t *w,
				   size_t w_row_bytes, size_t ahead,
				   const struct block_q8_0 *x, __m256 acc[])
{
	const struct block_q8_0 *xb = x + i;
	const __m256i eight = _mm256_set1_epi8(8), zero = _mm256_setzero_si256();
	__m256 dx = halves8(xb, sizeof(*xb), offsetof(struct block_q8_0, d), count);
	/* blocks 2j and 2j + 1: first halves in ylo[j], second in yhi[j] */
	__m256i ylo[4], yhi[4], off[4], offsum;

#pragma GCC unroll 4
	for (int j = 0; j < 4; j++) {
		__m256i a = 2 * j < count ? load32(xb[2 * j].qs) : zero;
		__m256i b = 2 * j + 1 < count ? load32(xb[2 * j + 1].qs) : zero;

		ylo[j] = _mm256_permute2x128_si256(a, b, 0x20);
		yhi[j] = _mm256_permute2x128_si256(a, b, 0x31);
		off[j] = _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(zero, eight, ylo[j]),
					     eight, yhi[j]);
	}
	offsum = reduce_pairs(off);
#pragma GCC unroll 4
	for (int r = 0; r < R; r++) {
		const struct block_q4_0 *a = (const struct block_q4_0 *)
			(w + r * w_row_bytes) + i;
		__m256i p[4], lo, hi;
		__m256 d;

		/* eight blocks span 144 bytes: three cache lines */
		for (int c = 0; c < 3; c++)
			_mm_prefetch((const char *)a + ahead + 64 * c, _MM_HINT_T0);

#pragma GCC unroll 4
		for (int j = 0; j < 4; j++) {
			p[j] = zero;
			if (2 * j >= count)
				continue;
			nibble_pair(a + 2 * j, 2 * j + 1 < count, &lo, &hi);
			p[j] = _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(zero, lo, ylo[j]),
						   hi, yhi[j]);
		}
		d = _mm256_mul_ps(halves8(a, sizeof(*a), offsetof(struct block_q4_0, d), count),
				  dx);
		acc[r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(reduce_pairs(p),
								offsum)), acc[r]);
	}
}

void mbr_vec_dot_rows_q4_0_q8_0_avx512(int64_t n, float *s, const void *w,
				       size_t w_row_bytes, const void *x)
{
	enum { R = MBR_Q4_0_ROWS };
	__m256 acc[R];
	int64_t nb = n / 32, i = 0;
	size_t ahead = PREFETCH_ROWS * (size_t)nb * sizeof(struct block_q4_0);

	assert(n % 32 == 0);
	for (int r = 0; r < R; r++)
		acc[r] = _mm256_setzero_ps();
	for (; i + 8 <= nb; i += 8)
		q4_0_group_rows(R, i, 8, w, w_row_bytes, ahead, x, acc);
	if (i < nb)
		q4_0_group_rows(R, i, (int)(nb - i), w, w_row_bytes, ahead, x, acc);
	/* sum_blocks adds its (zero) mins before the sum: -0 becomes +0 */
	for (int r = 0; r < R; r++)
		s[r] = hsum8(_mm256_add_ps(acc[r], _mm256_setzero_ps()));
}

/* ---- K-quants: as with AVX2, but vpdpwssd adds the scaled pair sums */

ALWAYS_INLINE __m256 fma_block(float d, __m256i isum, __m256 acc)
{
	return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
}

/* isum + sum of u * y over each four bytes, pairs weighted by scales */
ALWAYS_INLINE __m256i add_scaled(__m256i isum, __m256i u, const int8_t *y,
				 __m256i scales)
{
	return _mm256_dpwssd_epi32(isum, _mm256_maddubs_epi16(u, load32(y)), scales);
}

#define KQUANT_FN(type) mbr_vec_dot_##type##_q8_K_avx512
#include "vecdot-kquants.h"
