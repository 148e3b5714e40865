/*
 * u-lora.c - the shipped adapter loads as llama.cpp reads it, and the
 * extraction's truncated SVD of a real fine-tune's difference (prose -
 * base, t/fixtures/family) is as close as the best rank-r approximation,
 * whose error is the tail of the full Jacobi SVD's singular values.
 */
#include <math.h>
#include <stdlib.h>
#include "unit.h"
#include "mbr/lora.h"
#include "svd.h"

static const char *family(char *path, size_t len, const char *name)
{
	const char *root = getenv("MBR_FIXTURES");

	snprintf(path, len, "%s/family/%s", root ? root : "../../../t/fixtures", name);
	return path;
}

static void test_lora__fixture_adapter(void)
{
	char path[4096];
	struct mbr_lora *l = NULL;
	const struct mbr_lora_pair *p;

	UT_ASSERT(!mbr_lora_open_file(&l, family(path, sizeof(path), "prose-lora-r8.gguf")));
	UT_EQ_INT(l->n_pairs, 28);	/* 7 matrices x 4 layers */
	UT_EQ_STR(l->arch, "llama");
	UT_CHECK(l->alpha == 8.0f);
	UT_ASSERT(p = mbr_lora_find(l, "blk.3.ffn_down.weight"));
	UT_EQ_INT(p->a->ne[0], 384);
	UT_EQ_INT(p->b->ne[1], 128);
	UT_CHECK(mbr_lora_scale(l, p, 0.5f) == 0.5f);	/* 0.5 * 8 / 8 */
	mbr_lora_free(l);
}

static double *delta_of(const char *tensor, int *rows, int *cols)
{
	char pb[4096], pd[4096];
	struct mbr_weights *b = NULL, *d = NULL;
	const struct mbr_tensor_info *tb, *td;
	double *delta = NULL;
	float *xb, *xd;
	size_t n;

	if (mbr_weights_open_file(&b, family(pb, sizeof(pb), "base-f16.gguf")) ||
	    mbr_weights_open_file(&d, family(pd, sizeof(pd), "prose-f16.gguf")))
		goto done;
	mbr_weights_tensor(b, tensor, &tb);
	mbr_weights_tensor(d, tensor, &td);
	*cols = (int)tb->ne[0];
	*rows = (int)tb->ne[1];
	n = (size_t)*rows * *cols;
	xb = malloc(n * sizeof(*xb));
	xd = malloc(n * sizeof(*xd));
	delta = malloc(n * sizeof(*delta));
	mbr_lora_dequantize(xb, tb, mbr_weights_tensor(b, tensor, NULL));
	mbr_lora_dequantize(xd, td, mbr_weights_tensor(d, tensor, NULL));
	for (size_t i = 0; i < n; i++)
		delta[i] = (double)xd[i] - xb[i];
	free(xb);
	free(xd);
done:
	mbr_weights_free(b);
	mbr_weights_free(d);
	return delta;
}

static void test_lora__extract_is_optimal(void)
{
	const int r = 8;
	int m = 0, n = 0, k;
	double *a = delta_of("blk.1.ffn_up.weight", &m, &n), *u, *s, *vt, tail = 0, err = 0;

	UT_ASSERT(a);
	k = m < n ? m : n;
	u = malloc((size_t)m * k * sizeof(*u));
	s = malloc((size_t)k * sizeof(*s));
	vt = malloc((size_t)k * n * sizeof(*vt));
	UT_ASSERT(!mbr_svd(u, s, vt, a, m, n));
	for (int l = r; l < k; l++)
		tail += s[l] * s[l];
	tail = sqrt(tail);
	/* the path lora-extract takes: randomized, as 8 + 16 < 128 */
	UT_ASSERT(!mbr_svd_truncated(u, s, vt, a, m, n, r, 1));
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++) {
			double x = a[(size_t)i * n + j];

			for (int l = 0; l < r; l++)
				x -= u[(size_t)i * r + l] * s[l] * vt[(size_t)l * n + j];
			err += x * x;
		}
	err = sqrt(err);
	printf("# %dx%d rank-%d error %.9g, optimal %.9g\n", m, n, r, err, tail);
	UT_CHECK(err >= tail * (1 - 1e-9));
	UT_CHECK(err <= tail * (1 + 1e-3));
	free(a);
	free(u);
	free(s);
	free(vt);
}

static const struct unit_test tests[] = {
	UT(test_lora__fixture_adapter),
	UT(test_lora__extract_is_optimal),
	{ 0 }
};

UNIT_MAIN(tests)
