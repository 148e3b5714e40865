/*
 * u-matmul.c - mbr_matmul_many against one dot per output: several
 * matrices by the same activations, in one shared product where their
 * activations convert alike and on their own where not, must give every
 * output the bits of the weight type's vec_dot of that row and token,
 * whatever the batch (one token, a partial group, several groups) and the
 * number of threads, and write nothing past them (ASan: exact sizes).
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "kernels.h"
#include "matmul.h"
#include "mbr/types.h"

#define COLS 256

/*
 * Q4_0 and Q8_0 share their converted activations (Q8_0) and packing;
 * F16 and F32 convert to themselves, so a product of all of them splits
 * where the conversion changes. Row counts cross tile sizes (16, 48).
 */
static const struct { int type, rows; } parts[] = {
	{ MBR_TYPE_Q4_0, 100 }, { MBR_TYPE_Q8_0, 37 }, { MBR_TYPE_Q4_0, 260 },
	{ MBR_TYPE_F16, 70 }, { MBR_TYPE_F16, 5 }, { MBR_TYPE_F32, 49 },
};

#define N_PARTS MBR_ARRAY_SIZE(parts)

static void random_matrix(struct mbr_matrix *m, int type, int rows)
{
	const struct mbr_kernel_traits *q = mbr_kernel_traits_isa(type, MBR_KERNELS_REF);
	float f[COLS];
	unsigned char *data;

	*m = (struct mbr_matrix){ NULL, type, rows, COLS, mbr_row_size(type, COLS), "w", NULL };
	data = malloc(m->row_bytes * (size_t)rows);
	for (int r = 0; data && r < rows; r++) {
		for (int i = 0; i < COLS; i++)
			f[i] = ut_rng_float() * (float)(1 + (r + i) % 5);
		q->quantize(f, data + m->row_bytes * (size_t)r, COLS);
	}
	m->data = data;
}

/* Every output of w x for n tokens, one vec_dot each. */
static void expected(float *out, const struct mbr_matrix *w, const float *x, int n)
{
	const struct mbr_kernel_traits *wk = mbr_kernel_traits(w->type);
	const struct mbr_kernel_traits *xk = mbr_kernel_traits(wk->vec_dot_type);
	unsigned char *xq = malloc(mbr_row_size(wk->vec_dot_type, COLS));

	for (int t = 0; xq && t < n; t++) {
		xk->from_float(x + (size_t)t * COLS, xq, COLS);
		for (int64_t r = 0; r < w->rows; r++)
			wk->vec_dot(COLS, &out[(size_t)t * w->rows + r],
				    (const unsigned char *)w->data + w->row_bytes * (size_t)r, xq);
	}
	free(xq);
}

/* Outputs of one mbr_matmul_many call that differ from the dots. */
static int check_batch(struct mbr_threadpool *tp, const struct mbr_matrix *const *w,
		       const float *x, int n)
{
	float *out[N_PARTS], *want;
	size_t scratch_size = 0;
	void *scratch;
	int bad = 0;

	for (size_t i = 0; i < N_PARTS; i++) {
		size_t need = mbr_matmul_scratch_size(w[i], n);

		scratch_size = need > scratch_size ? need : scratch_size;
		out[i] = malloc(sizeof(float) * (size_t)n * (size_t)w[i]->rows);
	}
	scratch = malloc(scratch_size);
	mbr_matmul_many(tp, N_PARTS, out, w, x, n, scratch);
	for (size_t i = 0; i < N_PARTS; i++) {
		size_t len = (size_t)n * (size_t)w[i]->rows;

		want = malloc(sizeof(float) * len);
		expected(want, w[i], x, n);
		if (memcmp(want, out[i], sizeof(float) * len)) {
			printf("# %s (%d rows), %d tokens: not the dots' bits\n",
			       mbr_type_get(w[i]->type)->name, (int)w[i]->rows, n);
			bad++;
		}
		free(want);
		free(out[i]);
	}
	free(scratch);
	return bad;
}

static void test_matmul__many_equals_dots(void)
{
	static const int batches[] = { 1, 5, 16, 40 };
	struct mbr_matrix m[N_PARTS];
	const struct mbr_matrix *w[N_PARTS];
	float *x = malloc(sizeof(float) * 40 * COLS);

	UT_ASSERT(x);
	for (int i = 0; i < 40 * COLS; i++)
		x[i] = ut_rng_float() * 3.0f;
	for (size_t i = 0; i < N_PARTS; i++) {
		random_matrix(&m[i], parts[i].type, parts[i].rows);
		UT_ASSERT(m[i].data);
		w[i] = &m[i];
	}
	for (int threads = 1; threads <= 3; threads++) {
		struct mbr_threadpool *tp;

		UT_ASSERT(!mbr_threadpool_new(&tp, threads));
		for (size_t b = 0; b < MBR_ARRAY_SIZE(batches); b++)
			UT_EQ_INT(check_batch(tp, w, x, batches[b]), 0);
		mbr_threadpool_free(tp);
	}
	for (size_t i = 0; i < N_PARTS; i++)
		free((void *)m[i].data);
	free(x);
}

static const struct unit_test tests[] = {
	UT(test_matmul__many_equals_dots),
	{ 0 }
};

UNIT_MAIN(tests)
