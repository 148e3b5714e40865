/*
 * quants.h - ggml's quantized block layouts and half-precision conversions.
 *
 * The structs are the on-disk layout of GGUF tensor data, so their sizes are
 * part of the file format and are pinned by static asserts. ggml_half is an
 * IEEE binary16 stored as its raw bits; all multi-byte fields are
 * little-endian, which is what the host is assumed to be.
 */
#ifndef MBR_QUANTS_H
#define MBR_QUANTS_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mbr kernels read GGUF blocks in place and need a little-endian host"
#endif

typedef uint16_t mbr_half;	/* IEEE binary16 bits */
typedef uint16_t mbr_bf16;	/* bfloat16 bits */

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

struct block_q4_0 {
	mbr_half d;
	uint8_t qs[QK4_0 / 2];		/* element j low nibble, j+16 high */
};
struct block_q4_1 {
	mbr_half d;
	mbr_half m;
	uint8_t qs[QK4_1 / 2];
};
struct block_q5_0 {
	mbr_half d;
	uint8_t qh[4];			/* bit j: fifth bit of element j */
	uint8_t qs[QK5_0 / 2];
};
struct block_q5_1 {
	mbr_half d;
	mbr_half m;
	uint8_t qh[4];
	uint8_t qs[QK5_1 / 2];
};
struct block_q8_0 {
	mbr_half d;
	int8_t qs[QK8_0];
};
/* Activations for Q4_1/Q5_1 dots: s = d * sum(qs) carries the offset. */
struct block_q8_1 {
	mbr_half d;
	mbr_half s;
	int8_t qs[QK8_1];
};
struct block_q2_K {
	uint8_t scales[QK_K / 16];	/* low nibble scale, high nibble min */
	uint8_t qs[QK_K / 4];
	mbr_half d;
	mbr_half dmin;
};
struct block_q3_K {
	uint8_t hmask[QK_K / 8];	/* third bit, set means "no -4" */
	uint8_t qs[QK_K / 4];
	uint8_t scales[12];		/* 16 six-bit scales */
	mbr_half d;
};
struct block_q4_K {
	mbr_half d;
	mbr_half dmin;
	uint8_t scales[K_SCALE_SIZE];	/* 8 six-bit scales and mins */
	uint8_t qs[QK_K / 2];
};
struct block_q5_K {
	mbr_half d;
	mbr_half dmin;
	uint8_t scales[K_SCALE_SIZE];
	uint8_t qh[QK_K / 8];
	uint8_t qs[QK_K / 2];
};
struct block_q6_K {
	uint8_t ql[QK_K / 2];		/* low four bits */
	uint8_t qh[QK_K / 4];		/* high two bits */
	int8_t scales[QK_K / 16];
	mbr_half d;
};

/* Activations for the K-quant dots; never stored in files. */
struct block_q8_K {
	float d;
	int8_t qs[QK_K];
	int16_t bsums[QK_K / 16];	/* sums of each 16 qs */
};

_Static_assert(sizeof(struct block_q4_0) == 18, "block_q4_0 size");
_Static_assert(sizeof(struct block_q4_1) == 20, "block_q4_1 size");
_Static_assert(sizeof(struct block_q5_0) == 22, "block_q5_0 size");
_Static_assert(sizeof(struct block_q5_1) == 24, "block_q5_1 size");
_Static_assert(sizeof(struct block_q8_0) == 34, "block_q8_0 size");
_Static_assert(sizeof(struct block_q8_1) == 36, "block_q8_1 size");
_Static_assert(sizeof(struct block_q8_K) == 292, "block_q8_K size");
_Static_assert(sizeof(struct block_q2_K) == 84, "block_q2_K size");
_Static_assert(sizeof(struct block_q3_K) == 110, "block_q3_K size");
_Static_assert(sizeof(struct block_q4_K) == 144, "block_q4_K size");
_Static_assert(sizeof(struct block_q5_K) == 176, "block_q5_K size");
_Static_assert(sizeof(struct block_q6_K) == 210, "block_q6_K size");

static inline uint32_t mbr_f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float mbr_f32_from_bits(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Exact: every half value is a float. NaNs come back quiet, payload kept. */
static inline float mbr_fp16_to_fp32(mbr_half h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t man = h & 0x3ff;

	if (exp == 0x1f)
		return mbr_f32_from_bits(sign | 0x7f800000 | (man << 13) |
					 (man ? 0x00400000 : 0));
	if (exp)
		return mbr_f32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
	/* zero or subnormal: man * 2^-24 is exact in float */
	return mbr_f32_from_bits(sign | mbr_f32_bits((float)man * 0x1p-24f));
}

/*
 * Round to nearest, ties to even, as ggml's GGML_FP32_TO_FP16 (and F16C)
 * does: a quantizer whose scales round any other way writes different
 * bytes than llama-quantize. Overflow gives infinity; every NaN becomes
 * the quiet NaN 0x7e00 with the sign kept, which is what ggml's scalar
 * path produces.
 */
static inline mbr_half mbr_fp32_to_fp16(float f)
{
	uint32_t x = mbr_f32_bits(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
	uint32_t ax = x & 0x7fffffff;
	uint32_t man, shift, h, rem, half;

	if (ax > 0x7f800000)
		return sign | 0x7e00;
	if (ax >= 0x477ff000)		/* 65520 and up round past 65504 */
		return sign | 0x7c00;
	if (ax >= 0x38800000) {		/* normal half: drop 13 bits */
		h = ((ax >> 23) - 112) << 10 | ((ax >> 13) & 0x3ff);
		shift = 13;
		man = ax;
	} else if (ax <= 0x33000000) {	/* at most 2^-25: rounds to zero */
		return sign;
	} else {			/* subnormal half: units of 2^-24 */
		man = (ax & 0x7fffff) | 0x800000;
		shift = 126 - (ax >> 23);
		h = man >> shift;
	}
	rem = man & ((1u << shift) - 1);
	half = 1u << (shift - 1);
	/* a carry out of the mantissa correctly bumps the exponent */
	if (rem > half || (rem == half && (h & 1)))
		h++;
	return sign | (uint16_t)h;
}

static inline float mbr_bf16_to_fp32(mbr_bf16 h)
{
	return mbr_f32_from_bits((uint32_t)h << 16);
}

/* ggml's rounding: nearest even; NaNs truncated and forced quiet. */
static inline mbr_bf16 mbr_fp32_to_bf16(float f)
{
	uint32_t x = mbr_f32_bits(f);

	if ((x & 0x7fffffff) > 0x7f800000)
		return (mbr_bf16)((x >> 16) | 0x40);
	return (mbr_bf16)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

#endif
