/*
 * random.h - splitmix64 (Steele, Lea, Flood 2014): a small generator
 * whose whole state is its seed, so a seeded run (sampling, DARE masks,
 * the SVD's random start, generated test models) repeats exactly.
 */
#ifndef MBR_RANDOM_H
#define MBR_RANDOM_H

#include <stdint.h>

/* splitmix64's output function: a bijective mix of z's bits. */
static inline uint64_t mbr_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Advance *state and return the next 64 random bits. */
static inline uint64_t mbr_splitmix64(uint64_t *state)
{
	return mbr_mix64(*state += 0x9e3779b97f4a7c15ull);
}

/* A uniform double in [0, 1) from the top 53 bits. */
static inline double mbr_random_unit(uint64_t *state)
{
	return (double)(mbr_splitmix64(state) >> 11) * 0x1p-53;
}

#endif
