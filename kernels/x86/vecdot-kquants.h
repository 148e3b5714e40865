/*
 * vecdot-kquants.h - the K-quant dot products (256-element super-blocks
 * against Q8_K), shared by vecdot-avx2.c and vecdot-avx512.c.
 *
 * Included once by each, after it has defined ALWAYS_INLINE, half(),
 * hsum8(), load32(), fma_block(), KQUANT_FN(type) (the function names)
 * and add_scaled(), the step the two differ in: with VNNI, vpdpwssd does
 * vpmaddwd and the add in one instruction.
 */

/*
 * ---- 256-element super-blocks against Q8_K
 *
 * A 32-byte vector of codes covers two sub-blocks of 16 (Q2_K, Q3_K,
 * Q6_K) or one of 32 (Q4_K, Q5_K). vpmaddubsw leaves elements 0..15 in
 * the low 128-bit lane and 16..31 in the high one, so the scales are
 * multiplied in as int16 pair sums by add_scaled(): a lane-pair of
 * scales per vector.
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

/* Bit pair k (0..3) of every byte. */
ALWAYS_INLINE __m256i crumb(__m256i v, int k)
{
	return _mm256_and_si256(_mm256_srli_epi16(v, 2 * k), _mm256_set1_epi8(3));
}

void KQUANT_FN(q2_K)(int64_t n, float *s, const void *w, const void *x)
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

void KQUANT_FN(q3_K)(int64_t n, float *s, const void *w, const void *x)
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

/* The activation pair sums Q4_K's and Q5_K's mins go by: bsums[2j] +
 * bsums[2j + 1] for j 0..7, as int16. */
ALWAYS_INLINE __m128i bsum_pairs(const struct block_q8_K *b)
{
	return _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)b->bsums),
			      _mm_loadu_si128((const __m128i *)b->bsums + 1));
}

/*
 * Q4_K and Q5_K: 32-byte chunk c of qs has sub-block 2c in its low
 * nibbles and 2c + 1 in its high ones. qh is NULL for Q4_K; for Q5_K bit
 * j of qh[l] is the fifth bit of element l of sub-block j.
 *
 * Returns the integer sum of scale * code * activation in eight lanes and
 * leaves the sum of min * activation-pair sums in four lanes in *msum:
 * the two are scaled and accumulated apart, in the order llama.cpp's x86
 * build does, because greedy decoding of random-weight models turns a
 * last-bit difference into another token.
 */
ALWAYS_INLINE __m256i k4_block(const struct block_q8_K *b, const uint8_t *scales,
			       const uint8_t *qs, const uint8_t *qh, __m128i *msum)
{
	const __m256i low = _mm256_set1_epi8(0x0f);
	__m128i both = k4_unpack(scales);
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
	*msum = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(both, both)),
			       bsum_pairs(b));
	return isum;
}

/* Q4_K's float steps for a super-block: the mins and the sums scaled and
 * accumulated apart (bd: the activations' scale; d, dmin: the block's) */
ALWAYS_INLINE void q4_K_step(float bd, float d, float dmin, __m256i isum, __m128i msum,
			     __m256 *acc, __m128 *acc_m)
{
	*acc_m = _mm_fmadd_ps(_mm_set1_ps(-bd * dmin), _mm_cvtepi32_ps(msum), *acc_m);
	*acc = fma_block(bd * d, isum, *acc);
}

ALWAYS_INLINE float q4_K_end(__m256 acc, __m128 acc_m)
{
	acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
	acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
	return hsum8(acc) + _mm_cvtss_f32(acc_m);
}

void KQUANT_FN(q4_K)(int64_t n, float *s, const void *w, const void *x)
{
	const struct block_q4_K *a = w;
	const struct block_q8_K *b = x;
	__m256 acc = _mm256_setzero_ps();
	__m128 acc_m = _mm_setzero_ps();	/* the mins, in four lanes */

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++) {
		__m128i msum;
		__m256i isum = k4_block(&b[i], a[i].scales, a[i].qs, NULL, &msum);

		q4_K_step(b[i].d, half(a[i].d), half(a[i].dmin), isum, msum, &acc, &acc_m);
	}
	*s = q4_K_end(acc, acc_m);
}

void KQUANT_FN(q5_K)(int64_t n, float *s, const void *w, const void *x)
{
	const struct block_q5_K *a = w;
	const struct block_q8_K *b = x;
	__m256 acc = _mm256_setzero_ps();
	float mins = 0;		/* a scalar running sum, as llama.cpp keeps it */

	assert(n % QK_K == 0);
	for (int64_t i = 0; i < n / QK_K; i++) {
		__m128i msum;
		__m256i isum = k4_block(&b[i], a[i].scales, a[i].qs, a[i].qh, &msum);

		msum = _mm_hadd_epi32(_mm_hadd_epi32(msum, msum), msum);
		mins += -b[i].d * half(a[i].dmin) * (float)_mm_cvtsi128_si32(msum);
		acc = fma_block(b[i].d * half(a[i].d), isum, acc);
	}
	*s = hsum8(acc) + mins;
}

/*
 * Q6_K: element 128 h + 32 k + l has the low nibble k / 2 of
 * ql[64 h + 32 (k % 2) + l] and bit pair k of qh[32 h + l]; codes carry
 * a bias of 32, taken out against the activation's sums: 32 x the
 * scaled sums off the integer sum.
 */
ALWAYS_INLINE __m256i q6_K_unbias(__m256i isum, __m128i sc, const struct block_q8_K *b)
{
	return _mm256_sub_epi32(isum, _mm256_slli_epi32(scaled_bsums(sc, b), 5));
}

void KQUANT_FN(q6_K)(int64_t n, float *s, const void *w, const void *x)
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
		acc = fma_block(b[i].d * half(a[i].d), q6_K_unbias(isum, sc, &b[i]), acc);
	}
	*s = hsum8(acc);
}
