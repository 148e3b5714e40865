/*
 * scales.h - unpacking the six-bit sub-block scales of the K-quants.
 *
 * Shared by the dequantizers, the scalar dot products and the AVX2 ones,
 * so the bit layout is written down once. Working on 32-bit words gives
 * four scales per operation, which matters in the dot products' inner
 * loop (one unpack per 256 weights).
 */
#ifndef MBR_SCALES_H
#define MBR_SCALES_H

#include <stdint.h>
#include <string.h>

/*
 * Q4_K/Q5_K: bytes 0..3 hold scales 0..3 in their low six bits, bytes
 * 4..7 mins 0..3; bytes 8..11 hold the low nibbles of scales 4..7 (low
 * half) and mins 4..7 (high half), whose top two bits are the top bits of
 * bytes 0..3 and 4..7 respectively.
 */
static inline void mbr_k4_unpack(const uint8_t *packed, uint8_t sc[8],
				 uint8_t m[8])
{
	uint32_t w[3], out[4];

	memcpy(w, packed, sizeof(w));
	out[0] = w[0] & 0x3f3f3f3f;
	out[1] = (w[2] & 0x0f0f0f0f) | ((w[0] >> 6) & 0x03030303) << 4;
	out[2] = w[1] & 0x3f3f3f3f;
	out[3] = ((w[2] >> 4) & 0x0f0f0f0f) | ((w[1] >> 6) & 0x03030303) << 4;
	memcpy(sc, out, 8);
	memcpy(m, out + 2, 8);
}

/*
 * Q3_K: scale j has its low nibble in byte j % 8 (low half for j < 8,
 * high half after) and its top bit pair at bits 2 * (j / 4) of byte
 * 8 + j % 4; stored with a bias of 32.
 */
static inline void mbr_q3_K_unpack(const uint8_t *packed, int8_t sc[16])
{
	uint32_t w[3], out[4];
	uint8_t u[16];

	memcpy(w, packed, sizeof(w));
	for (int k = 0; k < 4; k++) {
		uint32_t lo = w[k % 2] >> (4 * (k / 2));

		out[k] = (lo & 0x0f0f0f0f) | ((w[2] >> (2 * k)) & 0x03030303) << 4;
	}
	memcpy(u, out, sizeof(u));
	for (int j = 0; j < 16; j++)
		sc[j] = (int8_t)(u[j] - 32);
}

#endif
