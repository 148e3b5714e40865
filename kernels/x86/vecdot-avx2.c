/*
 * vecdot-avx2.c - AVX2/FMA/F16C dot products of a weight row with an
 * activation row in the weight type's vec_dot_type.
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
 * ---- 256-element super-blocks against Q8_K
 *
 * A 32-byte vector of codes covers two sub-blocks of 16 (Q2_K, Q3_K,
 * Q6_K) or one of 32 (Q4_K, Q5_K). vpmaddubsw leaves elements 0..15 in
 * the low 128-bit lane and 16..31 in the high one, so the scales are
 * multiplied in as int16 with vpmaddwd: a lane-pair of scales per vector.
 */

/* int16 scales: sc[k] in the low lane, sc[k + 1] in the high one */
ALWAYS_INLINE __m256i scale_pair(__m128i sc8, int k)
{
	__m128i idx = _mm_set_epi64x(0x0101010101010101ll * (k + 1),
				     0x0101010101010101ll * k);

	return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, idx));
}

/* int16 scale k in every lane, from eight int16 scales in both lanes */
ALWAYS_INLINE __m256i scale_one(__m256i sc16, int k)
{
	return _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)((2 * k + 1) << 8 | 2 * k)));
}

/* sum over the 16 sub-blocks of sc[j] * bsums[j], as int32 lanes */
ALWAYS_INLINE __m256i scaled_bsums(__m128i sc8, const struct block_q8_K *b)
{
	return _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc8),
				 _mm256_loadu_si256((const __m256i *)b->bsums));
}

/* isum + sum of u * y over each four bytes, pairs weighted by scales */
ALWAYS_INLINE __m256i add_scaled(__m256i isum, __m256i u, const int8_t *y,
				 __m256i scales)
{
	__m256i p = _mm256_maddubs_epi16(u, load32(y));

	return _mm256_add_epi32(isum, _mm256_madd_epi16(p, scales));
}

/* Bit pair k (0..3) of every byte. */
ALWAYS_INLINE __m256i crumb(__m256i v, int k)
{
	return _mm256_and_si256(_mm256_srli_epi16(v, 2 * k), _mm256_set1_epi8(3));
}

void mbr_vec_dot_q2_K_q8_K_avx2(int64_t n, float *s, const void *w, const void *x)
{
	const struct block_q2_K *a = w;
	const struct block_q8_K *b = x;
	__m256 acc = _mm256_setzero_ps();

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++) {
		const int8_t *y = b[i].qs;
		__m128i packed = _mm_loadu_si128((const __m128i *)a[i].scales);
		__m128i sc = _mm_and_si128(packed, _mm_set1_epi8(0x0f));
		__m128i mn = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f));
		__m256i isum = _mm256_setzero_si256();

#pragma GCC unroll 2
		for (int h = 0; h < 2; h++) {
			__m256i q = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * h));

#pragma GCC unroll 4
			for (int k = 0; k < 4; k++)
				isum = add_scaled(isum, crumb(q, k), y + 128 * h + 32 * k,
						  scale_pair(sc, 8 * h + 2 * k));
		}
		acc = fma_block(b[i].d * half(a[i].d), isum, acc);
		acc = fma_block(-b[i].d * half(a[i].dmin), scaled_bsums(mn, &b[i]), acc);
	}
	*s = hsum8(acc);
}

/* mbr_q3_K_unpack() in four 32-bit lanes at once. */
ALWAYS_INLINE __m128i q3_K_unpack(const uint8_t *packed)
{
	uint32_t w2;
	__m128i w, lo, hi;

	/* the scales end the block but for d: no 16-byte load */
	memcpy(&w2, packed + 8, sizeof(w2));
	w = _mm_insert_epi32(_mm_loadl_epi64((const __m128i *)packed), (int)w2, 2);
	lo = _mm_srlv_epi32(_mm_shuffle_epi32(w, _MM_SHUFFLE(1, 0, 1, 0)),
			    _mm_setr_epi32(0, 0, 4, 4));
	hi = _mm_srlv_epi32(_mm_shuffle_epi32(w, _MM_SHUFFLE(2, 2, 2, 2)),
			    _mm_setr_epi32(0, 2, 4, 6));
	lo = _mm_and_si128(lo, _mm_set1_epi8(0x0f));
	hi = _mm_slli_epi32(_mm_and_si128(hi, _mm_set1_epi8(3)), 4);
	return _mm_sub_epi8(_mm_or_si128(lo, hi), _mm_set1_epi8(32));
}

void mbr_vec_dot_q3_K_q8_K_avx2(int64_t n, float *s, const void *w, const void *x)
{
	const struct block_q3_K *a = w;
	const struct block_q8_K *b = x;
	__m256 acc = _mm256_setzero_ps();

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++) {
		const int8_t *y = b[i].qs;
		__m128i sc = q3_K_unpack(a[i].scales);
		__m256i hm = _mm256_loadu_si256((const __m256i *)a[i].hmask);
		__m256i isum = _mm256_setzero_si256();

#pragma GCC unroll 2
		for (int h = 0; h < 2; h++) {
			__m256i q = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * h));

#pragma GCC unroll 4
			for (int k = 0; k < 4; k++) {
				/* code + 4 = two low bits | hmask bit << 2 */
				__m256i hb = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + k),
							      _mm256_set1_epi8(1));
				__m256i u = _mm256_or_si256(crumb(q, k),
							    _mm256_slli_epi16(hb, 2));

				isum = add_scaled(isum, u, y + 128 * h + 32 * k,
						  scale_pair(sc, 8 * h + 2 * k));
			}
		}
		/* take the 4 back out: sum sc * 4 * y */
		isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(scaled_bsums(sc, &b[i]), 2));
		acc = fma_block(b[i].d * half(a[i].d), isum, acc);
	}
	*s = hsum8(acc);
}

/*
 * mbr_k4_unpack() in four 32-bit lanes at once: the eight scales in the
 * low half, the eight mins in the high one. Reads 16 bytes at packed;
 * Q4_K and Q5_K blocks go on past the 12 of the scales.
 */
ALWAYS_INLINE __m128i k4_unpack(const uint8_t *packed)
{
	__m128i w = _mm_loadu_si128((const __m128i *)packed);
	/* lanes: scales 0-3, 4-7, mins 0-3, 4-7 */
	__m128i a = _mm_shuffle_epi32(w, _MM_SHUFFLE(2, 1, 2, 0));
	__m128i b = _mm_shuffle_epi32(w, _MM_SHUFFLE(1, 1, 0, 0));

	a = _mm_and_si128(_mm_srlv_epi32(a, _mm_setr_epi32(0, 0, 0, 4)),
			  _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
	/* top bits 6-7 of bytes 0..7 become bits 4-5 of scales/mins 4-7 */
	b = _mm_and_si128(_mm_srli_epi32(b, 2),
			  _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
	return _mm_or_si128(a, b);
}

/*
 * Q4_K and Q5_K: 32-byte chunk c of qs has sub-block 2c in its low
 * nibbles and 2c + 1 in its high ones. qh is NULL for Q4_K; for Q5_K bit
 * j of qh[l] is the fifth bit of element l of sub-block j.
 */
ALWAYS_INLINE __m256 k4_block(const struct block_q8_K *b, float d, float dmin,
			      const uint8_t *scales, const uint8_t *qs,
			      const uint8_t *qh, __m256 acc)
{
	const __m256i low = _mm256_set1_epi8(0x0f);
	__m128i both = k4_unpack(scales), msum, pairs;
	__m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(both));
	__m256i isum = _mm256_setzero_si256(), h = _mm256_setzero_si256();

	if (qh)
		h = _mm256_loadu_si256((const __m256i *)qh);
#pragma GCC unroll 4
	for (int c = 0; c < 4; c++) {
		__m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
		__m256i lo = _mm256_and_si256(q, low);
		__m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low);

		if (qh) {
			/* bits 2c and 2c + 1 of each byte, moved to bit 4 */
			__m256i b0 = _mm256_and_si256(h, _mm256_set1_epi8(1));
			__m256i b1 = _mm256_and_si256(h, _mm256_set1_epi8(2));

			lo = _mm256_or_si256(lo, _mm256_slli_epi16(b0, 4));
			hi = _mm256_or_si256(hi, _mm256_slli_epi16(b1, 3));
			h = _mm256_srli_epi16(h, 2);
		}
		isum = add_scaled(isum, lo, b->qs + 64 * c, scale_one(sc16, 2 * c));
		isum = add_scaled(isum, hi, b->qs + 64 * c + 32, scale_one(sc16, 2 * c + 1));
	}
	/* mins: sum m[j] * (bsums[2j] + bsums[2j + 1]), in four lanes */
	pairs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)b->bsums),
			       _mm_loadu_si128((const __m128i *)b->bsums + 1));
	msum = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(both, both)), pairs);
	acc = fma_block(d, isum, acc);
	return fma_block(-dmin, _mm256_zextsi128_si256(msum), acc);
}

void mbr_vec_dot_q4_K_q8_K_avx2(int64_t n, float *s, const void *w, const void *x)
{
	const struct block_q4_K *a = w;
	const struct block_q8_K *b = x;
	__m256 acc = _mm256_setzero_ps();

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++)
		acc = k4_block(&b[i], b[i].d * half(a[i].d), b[i].d * half(a[i].dmin),
			       a[i].scales, a[i].qs, NULL, acc);
	*s = hsum8(acc);
}

void mbr_vec_dot_q5_K_q8_K_avx2(int64_t n, float *s, const void *w, const void *x)
{
	const struct block_q5_K *a = w;
	const struct block_q8_K *b = x;
	__m256 acc = _mm256_setzero_ps();

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++)
		acc = k4_block(&b[i], b[i].d * half(a[i].d), b[i].d * half(a[i].dmin),
			       a[i].scales, a[i].qs, a[i].qh, acc);
	*s = hsum8(acc);
}

/*
 * Q6_K: element 128 h + 32 k + l has the low nibble k / 2 of
 * ql[64 h + 32 (k % 2) + l] and bit pair k of qh[32 h + l]; codes carry
 * a bias of 32, taken out against the activation's sums.
 */
void mbr_vec_dot_q6_K_q8_K_avx2(int64_t n, float *s, const void *w, const void *x)
{
	const struct block_q6_K *a = w;
	const struct block_q8_K *b = x;
	const __m256i low = _mm256_set1_epi8(0x0f);
	__m256 acc = _mm256_setzero_ps();

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++) {
		const int8_t *y = b[i].qs;
		__m128i sc = _mm_loadu_si128((const __m128i *)a[i].scales);
		__m256i isum = _mm256_setzero_si256();

#pragma GCC unroll 2
		for (int h = 0; h < 2; h++) {
			const uint8_t *ql = a[i].ql + 64 * h;
			__m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
			__m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
			__m256i hb = _mm256_loadu_si256((const __m256i *)(a[i].qh + 32 * h));
			__m256i u[4];

			u[0] = _mm256_and_si256(l0, low);
			u[1] = _mm256_and_si256(l1, low);
			u[2] = _mm256_and_si256(_mm256_srli_epi16(l0, 4), low);
			u[3] = _mm256_and_si256(_mm256_srli_epi16(l1, 4), low);
#pragma GCC unroll 4
			for (int k = 0; k < 4; k++) {
				__m256i q = _mm256_or_si256(u[k],
							    _mm256_slli_epi16(crumb(hb, k), 4));

				isum = add_scaled(isum, q, y + 128 * h + 32 * k,
						  scale_pair(sc, 8 * h + 2 * k));
			}
		}
		isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(scaled_bsums(sc, &b[i]), 5));
		acc = fma_block(b[i].d * half(a[i].d), isum, acc);
	}
	*s = hsum8(acc);
}
