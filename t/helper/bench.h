/*
 * bench.h - what the benchmark subcommands share (bench-kernels.c).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>

/* A uniform float in [-1, 1) from the benchmarks' fixed-seed generator. */
float bench_rng_float(void);
/* Weights of a type that time like real ones (finite, normal scales). */
void bench_fill_weights(int type, unsigned char *w, size_t bytes);
/* Monotonic seconds. */
double bench_now(void);

#endif
