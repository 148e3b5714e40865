/*
 * bench-matmul.c - test-tool bench-matmul [--type T] [--threads N]
 *	[--batch B] [--seconds S] [--pool-mib M]
 *
 * Times mbr_matmul as a prompt runs it: a batch of B (default 64)
 * activation rows against each weight matrix of a layer shaped like
 * TinyLlama-1.1B's (dim 2048, 4 KV heads of 128, ff 5632), on the
 * engine's thread pool of N (default 2) threads. Layers are copied until
 * they fill M MiB (default 256) and each timing takes the next copy, so
 * the weights come from memory, once per batch, as in a prompt. Prints
 * per matrix the best time of a few, its GFLOP/s, and the prompt rate
 * that 22 such layers would allow were the matmuls all there was; then
 * the same from the process's CPU time shared by the threads, which
 * other programs on a busy machine disturb less (waits count in it: the
 * pool's threads spin).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include "test-tool.h"
#include "bench.h"
#include "kernels.h"
#include "matmul.h"
#include "mbr/error.h"
#include "mbr/types.h"

static const struct shape {
	const char *name;
	int64_t rows, cols;
} shapes[] = {
	{ "wq", 2048, 2048 }, { "wk", 256, 2048 }, { "wv", 256, 2048 },
	{ "wo", 2048, 2048 }, { "w_gate", 5632, 2048 }, { "w_up", 5632, 2048 },
	{ "w_down", 2048, 5632 },
};

#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int usage(void)
{
	fprintf(stderr, "usage: test-tool bench-matmul [--type <t>] [--threads <n>] "
		"[--batch <tokens>] [--seconds <s>] [--pool-mib <m>]\n");
	return 129;
}

int cmd__bench_matmul(int argc, const char **argv)
{
	const char *type_name = "F16";
	int threads = 2, batch = 64, type, copies;
	double seconds = 1, layer = 0, layer_cpu = 0;
	size_t pool_mib = 256, layer_bytes = 0, scratch_bytes = 0;
	struct mbr_matrix m[N_SHAPES];
	struct mbr_threadpool *tp;
	unsigned char *pool;
	float *x, *out;
	void *scratch;

	for (int i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return usage();
		if (!strcmp(argv[i], "--type"))
			type_name = v;
		else if (!strcmp(argv[i], "--threads"))
			threads = atoi(v);
		else if (!strcmp(argv[i], "--batch"))
			batch = atoi(v);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(v);
		else if (!strcmp(argv[i], "--pool-mib"))
			pool_mib = (size_t)atoll(v);
		else
			return usage();
	}
	if (!mbr_type_by_name(type_name) || threads < 1 || batch < 1)
		return usage();
	type = mbr_type_by_name(type_name)->type;
	for (size_t s = 0; s < N_SHAPES; s++) {
		m[s] = (struct mbr_matrix){ NULL, type, shapes[s].rows, shapes[s].cols,
					    mbr_row_size(type, shapes[s].cols),
					    shapes[s].name, NULL };
		if (mbr_matmul_check(&m[s])) {
			fprintf(stderr, "bench-matmul: %s\n", mbr_error_last());
			return 1;
		}
		layer_bytes += m[s].row_bytes * m[s].rows;
		if (mbr_matmul_scratch_size(&m[s], batch) > scratch_bytes)
			scratch_bytes = mbr_matmul_scratch_size(&m[s], batch);
	}
	copies = (int)((pool_mib << 20) / layer_bytes) + 1;
	pool = malloc(layer_bytes * copies);
	x = malloc(sizeof(*x) * batch * 5632);
	out = malloc(sizeof(*out) * batch * 5632);
	scratch = malloc(scratch_bytes);
	if (!pool || !x || !out || !scratch || mbr_threadpool_new(&tp, threads)) {
		fprintf(stderr, "bench-matmul: out of memory\n");
		return 1;
	}
	bench_fill_weights(type, pool, layer_bytes);
	for (int c = 1; c < copies; c++)
		memcpy(pool + c * layer_bytes, pool, layer_bytes);
	for (int i = 0; i < batch * 5632; i++)
		x[i] = bench_rng_float();
	printf("# %s, a batch of %d, %d thread%s, weights from a %zu MiB pool\n",
	       type_name, batch, threads, threads > 1 ? "s" : "", pool_mib);
	printf("%-7s %6s %6s %9s %9s %9s %9s\n", "matrix", "rows", "cols", "ms",
	       "GFLOP/s", "cpu ms", "GFLOP/s");
	for (size_t s = 0, off = 0; s < N_SHAPES; s++) {
		double best = 1e30, cpu = 1e30, start = bench_now();
		double flop = 2.0 * shapes[s].rows * shapes[s].cols * batch;

		for (int i = 0; i < 3 || bench_now() - start < seconds / N_SHAPES; i++) {
			double t0, c0;

			m[s].data = pool + (size_t)(i % copies) * layer_bytes + off;
			t0 = bench_now();
			c0 = cpu_now();
			mbr_matmul(tp, out, &m[s], x, batch, scratch);
			cpu = fmin(cpu, (cpu_now() - c0) / threads);
			best = fmin(best, bench_now() - t0);
		}
		off += m[s].row_bytes * m[s].rows;
		layer += best;
		layer_cpu += cpu;
		printf("%-7s %6lld %6lld %9.3f %9.1f %9.3f %9.1f\n", shapes[s].name,
		       (long long)shapes[s].rows, (long long)shapes[s].cols, best * 1e3,
		       flop / best * 1e-9, cpu * 1e3, flop / cpu * 1e-9);
	}
	printf("layer   %13s %9.3f %9s %9.3f  -> %.1f (cpu: %.1f) tokens/s for 22 layers\n",
	       "", layer * 1e3, "", layer_cpu * 1e3, batch / (22 * layer),
	       batch / (22 * layer_cpu));
	mbr_threadpool_free(tp);
	free(pool), free(x), free(out), free(scratch);
	return 0;
}
