/*
 * bench-kernels.c - test-tool bench-kernels [--rows R] [--cols C]
 *	[--type T] [--threads N] [--seconds S] [--pool-mib M]
 *
 * Times each weight type's vec_dot over a rows x cols weight matrix
 * (default 4096 x 4096), reference against AVX2, the way a decode step
 * uses it: one activation row, converted once with from_float, dotted
 * with every weight row. The matrix is copied until the copies fill
 * 256 MiB (--pool-mib) and a pass reads them all, so the weights come
 * from memory rather than cache, as they do when decoding; --pool-mib 0
 * times one copy over and over, from cache where it fits. Prints, per type,
 * the bytes of a weight row, the from_float time for the activation, and
 * ns per row and GB/s of weight bytes for each kernel set; "agree" is the
 * largest difference between the sets' outputs relative to the largest
 * output.
 *
 * For the types whose best set dots several rows per call (vec_dot_rows),
 * it then times that set's vec_dot against its vec_dot_rows over the same
 * pool; "same" counts the outputs that are bit for bit equal.
 *
 * Then, for the types whose best set has batched products (gemm), it
 * times a prompt batch of --batch tokens (default 64) against 256 rows
 * of the matrix, single-threaded and from cache, as mbr_matmul runs it:
 * 64 vec_dot calls per row against packing the tokens in groups and one
 * gemm call per group and tile of 16 rows. "same" counts the outputs
 * that are bit for bit equal, out of all of them.
 */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "test-tool.h"
#include "bench.h"
#include "kernels.h"
#include "quants.h"
#include "mbr/types.h"

static const int bench_types[] = {
	MBR_TYPE_F32, MBR_TYPE_F16, MBR_TYPE_BF16, MBR_TYPE_Q4_0, MBR_TYPE_Q4_1,
	MBR_TYPE_Q5_0, MBR_TYPE_Q5_1, MBR_TYPE_Q8_0, MBR_TYPE_Q2_K,
	MBR_TYPE_Q3_K, MBR_TYPE_Q4_K, MBR_TYPE_Q5_K, MBR_TYPE_Q6_K,
};

/* Where each quantized block keeps its fp16 scales (and mins). */
static const struct { int type; short at[2]; } half_fields[] = {
	{ MBR_TYPE_Q4_0, { offsetof(struct block_q4_0, d), -1 } },
	{ MBR_TYPE_Q4_1, { offsetof(struct block_q4_1, d), offsetof(struct block_q4_1, m) } },
	{ MBR_TYPE_Q5_0, { offsetof(struct block_q5_0, d), -1 } },
	{ MBR_TYPE_Q5_1, { offsetof(struct block_q5_1, d), offsetof(struct block_q5_1, m) } },
	{ MBR_TYPE_Q8_0, { offsetof(struct block_q8_0, d), -1 } },
	{ MBR_TYPE_Q2_K, { offsetof(struct block_q2_K, d), offsetof(struct block_q2_K, dmin) } },
	{ MBR_TYPE_Q3_K, { offsetof(struct block_q3_K, d), -1 } },
	{ MBR_TYPE_Q4_K, { offsetof(struct block_q4_K, d), offsetof(struct block_q4_K, dmin) } },
	{ MBR_TYPE_Q5_K, { offsetof(struct block_q5_K, d), offsetof(struct block_q5_K, dmin) } },
	{ MBR_TYPE_Q6_K, { offsetof(struct block_q6_K, d), -1 } },
};

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t rng_next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

float bench_rng_float(void)
{
	return (float)((double)(rng_next() >> 40) / (double)(1 << 23) - 1.0);
}

/*
 * Weights that time like real ones: random codes, small finite scales
 * (no NaN or subnormal slow paths), plain types from random floats.
 */
void bench_fill_weights(int type, unsigned char *w, size_t bytes)
{
	const struct mbr_type_info *ti = mbr_type_get(type);

	if (ti->block_elems == 1) {
		const struct mbr_kernel_traits *t = mbr_kernel_traits(type);
		float f[256];

		for (size_t done = 0; done < bytes; done += sizeof(f) / 4 * ti->block_bytes) {
			for (int i = 0; i < 256; i++)
				f[i] = bench_rng_float() * 0.05f;
			t->from_float(f, w + done, 256);
		}
		return;
	}
	for (size_t i = 0; i < bytes; i += 8) {
		uint64_t r = rng_next();

		memcpy(w + i, &r, bytes - i < 8 ? bytes - i : 8);
	}
	for (size_t k = 0; k < sizeof(half_fields) / sizeof(half_fields[0]); k++) {
		if (half_fields[k].type != type)
			continue;
		for (size_t b = 0; b < bytes; b += ti->block_bytes)
			for (int f = 0; f < 2 && half_fields[k].at[f] >= 0; f++) {
				mbr_half h = mbr_fp32_to_fp16(0.001f + 0.004f * fabsf(bench_rng_float()));

				memcpy(w + b + half_fields[k].at[f], &h, sizeof(h));
			}
	}
}

struct pass {
	mbr_vec_dot_fn dot;
	mbr_vec_dot_rows_fn rows;	/* NULL: vec_dot row by row */
	int dot_rows;
	const unsigned char *pool;
	const void *x;
	size_t row_bytes, matrix, copies;
	int64_t cols, first, last;
	float *out;
};

/* This thread's rows of every copy of the matrix in turn. */
static void *run_rows(void *arg)
{
	struct pass *p = arg;

	for (size_t c = 0; c < p->copies; c++) {
		const unsigned char *w = p->pool + c * p->matrix;

		int64_t r = p->first;

		if (p->rows)
			for (; r + p->dot_rows <= p->last; r += p->dot_rows)
				p->rows(p->cols, &p->out[r], w + r * p->row_bytes,
					p->row_bytes, p->x);
		for (; r < p->last; r++)
			p->dot(p->cols, &p->out[r], w + r * p->row_bytes, p->x);
	}
	return NULL;
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One pass over the whole pool, rows split between threads; seconds. */
static double time_pass(const struct pass *proto, int64_t rows, int threads)
{
	struct pass parts[64];
	pthread_t tid[64];
	double t0 = bench_now();

	for (int t = 0; t < threads; t++) {
		parts[t] = *proto;
		parts[t].first = rows * t / threads;
		parts[t].last = rows * (t + 1) / threads;
		if (t && pthread_create(&tid[t], NULL, run_rows, &parts[t]))
			run_rows(&parts[t]), tid[t] = 0;
	}
	run_rows(&parts[0]);
	for (int t = 1; t < threads; t++)
		if (tid[t])
			pthread_join(tid[t], NULL);
	return bench_now() - t0;
}

struct opts {
	int64_t rows, cols;
	int threads;
	double seconds;
	size_t pool_bytes;
	const char *type;
};

/*
 * Seconds per matrix of one kernel set: the best of a few pool passes.
 * With several-row dots (rows) each thread's rows go a few at a time.
 */
static double best_pass(mbr_vec_dot_fn dot, const struct mbr_kernel_traits *rows,
			const unsigned char *pool, size_t matrix, size_t copies,
			const void *x, float *out, const struct opts *o)
{
	struct pass p = { dot, rows ? rows->vec_dot_rows : NULL,
			  rows ? rows->dot_rows : 0, pool, x, matrix / o->rows,
			  matrix, copies, o->cols, 0, 0, out };
	double best = 1e30, start = bench_now();

	for (int i = 0; i < 2 || bench_now() - start < o->seconds; i++) {
		double t = time_pass(&p, o->rows, o->threads);

		best = t < best ? t : best;
	}
	return best / copies;
}

/*
 * One weight matrix of the type, copied until the copies fill the pool so
 * that a pass streams from memory rather than cache; NULL when out of
 * memory.
 */
static unsigned char *make_pool(int type, const struct opts *o, size_t *matrix,
				size_t *copies)
{
	unsigned char *pool;

	*matrix = mbr_row_size(type, o->cols) * o->rows;
	*copies = *matrix >= o->pool_bytes ? 1 : (o->pool_bytes + *matrix - 1) / *matrix;
	pool = malloc(*copies * *matrix);
	if (!pool)
		return NULL;
	bench_fill_weights(type, pool, *matrix);
	for (size_t c = 1; c < *copies; c++)
		memcpy(pool + c * *matrix, pool, *matrix);
	return pool;
}

static int bench_one(int type, const struct opts *o)
{
	const struct mbr_kernel_traits *ref = mbr_kernel_traits_isa(type, MBR_KERNELS_REF);
	const struct mbr_kernel_traits *vec = mbr_kernel_traits_isa(type, MBR_KERNELS_AVX2);
	const struct mbr_kernel_traits *xt = mbr_kernel_traits(ref->vec_dot_type);
	size_t row = mbr_row_size(type, o->cols), matrix, copies;
	unsigned char *pool = make_pool(type, o, &matrix, &copies);
	float *x = malloc(o->cols * sizeof(float));
	void *xq = malloc(mbr_row_size(ref->vec_dot_type, o->cols));
	float *out_ref = calloc(o->rows, sizeof(float));
	float *out_vec = calloc(o->rows, sizeof(float));
	double t_ref, t_vec = 0, t_conv = 1e30, agree = 0, top = 0;

	if (!pool || !x || !xq || !out_ref || !out_vec) {
		fprintf(stderr, "bench-kernels: out of memory for %s\n", mbr_type_get(type)->name);
		free(pool), free(x), free(xq), free(out_ref), free(out_vec);
		return 1;
	}
	for (int64_t i = 0; i < o->cols; i++)
		x[i] = bench_rng_float();
	for (int i = 0; i < 20; i++) {
		double t0 = bench_now();

		xt->from_float(x, xq, o->cols);
		t_conv = fmin(t_conv, bench_now() - t0);
	}
	t_ref = best_pass(ref->vec_dot, NULL, pool, matrix, copies, xq, out_ref, o);
	if (vec) {
		t_vec = best_pass(vec->vec_dot, NULL, pool, matrix, copies, xq, out_vec, o);
		for (int64_t r = 0; r < o->rows; r++) {
			agree = fmax(agree, fabs((double)out_vec[r] - out_ref[r]));
			top = fmax(top, fabs(out_ref[r]));
		}
	}
	printf("%-5s %9zu %9.0f %10.1f %8.2f", mbr_type_get(type)->name, row,
	       t_conv * 1e9, t_ref * 1e9 / o->rows, matrix / t_ref * 1e-9);
	if (vec)
		printf(" %10.1f %8.2f %7.1fx %8.1e\n", t_vec * 1e9 / o->rows,
		       matrix / t_vec * 1e-9, t_ref / t_vec, top ? agree / top : agree);
	else
		printf(" %10s %8s %8s %8s\n", "-", "-", "-", "-");
	free(pool), free(x), free(xq), free(out_ref), free(out_vec);
	return 0;
}

/* The best set's vec_dot against its vec_dot_rows over the same pool. */
static int bench_rows(int type, const struct opts *o)
{
	const struct mbr_kernel_traits *t = mbr_kernel_traits(type);
	size_t matrix, copies;
	unsigned char *pool = make_pool(type, o, &matrix, &copies);
	float *x = malloc(o->cols * sizeof(float));
	void *xq = malloc(mbr_row_size(t->vec_dot_type, o->cols));
	float *a = calloc(o->rows, sizeof(float)), *b = calloc(o->rows, sizeof(float));
	double t_dot, t_rows;
	int same = 0;

	if (!pool || !x || !xq || !a || !b) {
		fprintf(stderr, "bench-kernels: out of memory for %s\n", mbr_type_get(type)->name);
		free(pool), free(x), free(xq), free(a), free(b);
		return 1;
	}
	for (int64_t i = 0; i < o->cols; i++)
		x[i] = bench_rng_float();
	mbr_kernel_traits(t->vec_dot_type)->from_float(x, xq, o->cols);
	t_dot = best_pass(t->vec_dot, NULL, pool, matrix, copies, xq, a, o);
	t_rows = best_pass(t->vec_dot, t, pool, matrix, copies, xq, b, o);
	for (int64_t r = 0; r < o->rows; r++)
		same += !memcmp(&a[r], &b[r], sizeof(a[r]));
	printf("%-5s %4d %10.1f %8.2f %10.1f %8.2f %7.2fx %6d/%lld\n",
	       mbr_type_get(type)->name, t->dot_rows, t_dot * 1e9 / o->rows,
	       matrix / t_dot * 1e-9, t_rows * 1e9 / o->rows, matrix / t_rows * 1e-9,
	       t_dot / t_rows, same, (long long)o->rows);
	free(pool), free(x), free(xq), free(a), free(b);
	return 0;
}

enum { BATCH_ROWS = 256, BATCH_TILE = 16 };

static void batch_by_vec_dot(const struct mbr_kernel_traits *t, int64_t cols,
			     int batch, const unsigned char *w, const unsigned char *xq,
			     size_t xrow, float *out)
{
	size_t wrow = mbr_row_size(t->type, cols);

	for (int r0 = 0; r0 < BATCH_ROWS; r0 += BATCH_TILE)
		for (int tok = 0; tok < batch; tok++)
			for (int r = r0; r < r0 + BATCH_TILE; r++)
				t->vec_dot(cols, &out[tok * BATCH_ROWS + r],
					   w + r * wrow, xq + tok * xrow);
}

static void batch_by_gemm(const struct mbr_kernel_traits *t, int64_t cols,
			  int batch, const unsigned char *w, const unsigned char *xq,
			  size_t xrow, unsigned char *xp, float *out)
{
	size_t wrow = mbr_row_size(t->type, cols);
	size_t group = t->gemm_pack ? t->gemm_pack_size(cols) : MBR_GEMM_TOKENS * xrow;
	struct mbr_gemm_ahead none = { 0 };	/* the weights are in cache */

	for (int t0 = 0; t0 < batch && t->gemm_pack; t0 += MBR_GEMM_TOKENS) {
		int left = batch - t0 < MBR_GEMM_TOKENS ? batch - t0 : MBR_GEMM_TOKENS;

		t->gemm_pack(cols, left, xp + t0 / MBR_GEMM_TOKENS * group,
			     xq + t0 * xrow, xrow);
	}
	if (!t->gemm_pack)
		xp = (unsigned char *)xq;	/* read in place */
	for (int r0 = 0; r0 < BATCH_ROWS; r0 += BATCH_TILE)
		for (int t0 = 0; t0 < batch; t0 += MBR_GEMM_TOKENS)
			t->gemm(cols, BATCH_TILE, batch - t0 < MBR_GEMM_TOKENS ?
				batch - t0 : MBR_GEMM_TOKENS,
				out + t0 * BATCH_ROWS + r0, BATCH_ROWS,
				w + r0 * wrow, wrow,
				xp + t0 / MBR_GEMM_TOKENS * group, &none);
}

static int bench_batch(int type, const struct opts *o, int batch)
{
	const struct mbr_kernel_traits *t = mbr_kernel_traits(type);
	const struct mbr_kernel_traits *xt = mbr_kernel_traits(t->vec_dot_type);
	size_t wrow = mbr_row_size(type, o->cols), xrow = mbr_row_size(xt->type, o->cols);
	int groups = (batch + MBR_GEMM_TOKENS - 1) / MBR_GEMM_TOKENS;
	unsigned char *w = malloc(wrow * BATCH_ROWS), *xq = malloc(xrow * batch);
	unsigned char *xp = malloc(t->gemm_pack ? t->gemm_pack_size(o->cols) * groups : 1);
	float *x = malloc(o->cols * sizeof(float));
	float *a = malloc(sizeof(float) * BATCH_ROWS * batch);
	float *b = malloc(sizeof(float) * BATCH_ROWS * batch);
	double t_dot = 1e30, t_gemm = 1e30, start;
	int same = 0;

	if (!w || !xq || !xp || !x || !a || !b) {
		fprintf(stderr, "bench-kernels: out of memory for %s\n", mbr_type_get(type)->name);
		free(w), free(xq), free(xp), free(x), free(a), free(b);
		return 1;
	}
	bench_fill_weights(type, w, wrow * BATCH_ROWS);
	for (int tok = 0; tok < batch; tok++) {
		for (int64_t i = 0; i < o->cols; i++)
			x[i] = bench_rng_float();
		xt->from_float(x, xq + tok * xrow, o->cols);
	}
	start = bench_now();
	for (int i = 0; i < 2 || bench_now() - start < o->seconds; i++) {
		double t0 = bench_now();

		batch_by_vec_dot(t, o->cols, batch, w, xq, xrow, a);
		t_dot = fmin(t_dot, bench_now() - t0);
		t0 = bench_now();
		batch_by_gemm(t, o->cols, batch, w, xq, xrow, xp, b);
		t_gemm = fmin(t_gemm, bench_now() - t0);
	}
	for (int i = 0; i < BATCH_ROWS * batch; i++)
		same += a[i] == b[i];
	printf("%-5s %12.1f %12.1f %7.1fx %6d/%d\n", mbr_type_get(type)->name,
	       t_dot * 1e9 / (BATCH_ROWS * batch), t_gemm * 1e9 / (BATCH_ROWS * batch),
	       t_dot / t_gemm, same, BATCH_ROWS * batch);
	free(w), free(xq), free(xp), free(x), free(a), free(b);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: test-tool bench-kernels [--rows <r>] [--cols <c>] "
		"[--type <t>] [--threads <n>] [--seconds <s>] [--pool-mib <m>] "
		"[--batch <tokens>]\n");
	return 129;
}

int cmd__bench_kernels(int argc, const char **argv)
{
	struct opts o = { 4096, 4096, 1, 0.5, 256u << 20, NULL };
	int status = 0, batch = 64;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return usage();
		if (!strcmp(argv[i], "--rows"))
			o.rows = atoll(v);
		else if (!strcmp(argv[i], "--cols"))
			o.cols = atoll(v);
		else if (!strcmp(argv[i], "--type"))
			o.type = v;
		else if (!strcmp(argv[i], "--threads"))
			o.threads = atoi(v);
		else if (!strcmp(argv[i], "--seconds"))
			o.seconds = atof(v);
		else if (!strcmp(argv[i], "--batch"))
			batch = atoi(v);
		else if (!strcmp(argv[i], "--pool-mib"))
			o.pool_bytes = (size_t)atoll(v) << 20;
		else
			return usage();
		i++;
	}
	if (o.rows < 1 || o.cols < QK_K || o.cols % QK_K || o.threads < 1 ||
	    o.threads > 64 || o.seconds < 0 || batch < 1)
		return usage();
	printf("# %lld x %lld weights, %d thread%s, kernels in use: %s; best pass "
	       "over a %zu MiB pool of copies\n", (long long)o.rows,
	       (long long)o.cols, o.threads, o.threads > 1 ? "s" : "",
	       mbr_kernel_isa() == MBR_KERNELS_AVX512 ? "avx512" :
	       mbr_kernel_isa() == MBR_KERNELS_AVX2 ? "avx2" : "ref", o.pool_bytes >> 20);
	printf("%-5s %9s %9s %10s %8s %10s %8s %8s %8s\n", "type", "row B",
	       "x conv ns", "ref ns/row", "ref GB/s", "avx2 ns/row", "GB/s",
	       "speedup", "agree");
	for (size_t i = 0; i < sizeof(bench_types) / sizeof(bench_types[0]); i++) {
		const struct mbr_type_info *ti = mbr_type_get(bench_types[i]);

		if (o.type && strcmp(o.type, ti->name))
			continue;
		status |= bench_one(bench_types[i], &o);
	}
	printf("# several rows per call against the set's vec_dot, same pool\n");
	printf("%-5s %4s %10s %8s %10s %8s %8s %s\n", "type", "rows", "dot ns/row",
	       "GB/s", "rows ns/row", "GB/s", "speedup", "same");
	for (size_t i = 0; i < sizeof(bench_types) / sizeof(bench_types[0]); i++) {
		const struct mbr_type_info *ti = mbr_type_get(bench_types[i]);

		if ((o.type && strcmp(o.type, ti->name)) ||
		    !mbr_kernel_traits(bench_types[i])->vec_dot_rows)
			continue;
		status |= bench_rows(bench_types[i], &o);
	}
	printf("# a batch of %d tokens against %d rows, one thread, from cache\n",
	       batch, BATCH_ROWS);
	printf("%-5s %12s %12s %8s %s\n", "type", "vec_dot ns", "gemm ns",
	       "speedup", "same");
	for (size_t i = 0; i < sizeof(bench_types) / sizeof(bench_types[0]); i++) {
		const struct mbr_type_info *ti = mbr_type_get(bench_types[i]);

		if ((o.type && strcmp(o.type, ti->name)) ||
		    !mbr_kernel_traits(bench_types[i])->gemm)
			continue;
		status |= bench_batch(bench_types[i], &o, batch);
	}
	return status;
}
