/*
 * u-swiglu.c - the kernels' SwiGLU against silu(x) * u computed with
 * libm's expf in double: within a few ulps over the whole range the
 * exponential takes apart (its overflow and underflow branches included),
 * the same limits where e^-x overflows, and nothing written past n. That
 * it gives llama.cpp's own bits is checked end to end by t3000 and t6001.
 */
#include <math.h>
#include <string.h>
#include "unit.h"
#include "kernels.h"

#define N 4096

static float gate[N + 8], up[N], got[N + 8];

/* x in [-span, span], with a few exact zeros */
static void fill(float span)
{
	for (int i = 0; i < N; i++) {
		gate[i] = i % 97 ? span * ut_rng_float() : 0.0f;
		up[i] = 4.0f * ut_rng_float();
	}
}

static int mismatches(mbr_swiglu_fn fn, int64_t n)
{
	int bad = 0;

	memcpy(got, gate, sizeof(got));
	got[n] = -12345.0f;
	fn(got, up, n);
	for (int64_t i = 0; i < n; i++) {
		double x = gate[i], want = x / (1.0 + exp(-x)) * up[i];

		/* below -88.4 e^-x is infinite and the product 0; the
		 * true one is under 1e-36 */
		if (fabs(got[i] - want) > 4e-7 * fabs(want) + 1e-35) {
			if (!bad)
				printf("# x=%.9g u=%.9g: %.9g, want %.9g\n", x, up[i],
				       got[i], want);
			bad++;
		}
	}
	return bad + (got[n] != -12345.0f);
}

static void test_swiglu__matches_libm(void)
{
	mbr_swiglu_fn fn = mbr_kernel_swiglu();
	static const float spans[] = { 1.0f, 10.0f, 90.0f, 200.0f };

	if (!fn) {
		printf("# no vectorised SwiGLU in this kernel set\n");
		return;
	}
	for (size_t s = 0; s < MBR_ARRAY_SIZE(spans); s++) {
		fill(spans[s]);
		UT_EQ_INT(mismatches(fn, N), 0);
		UT_EQ_INT(mismatches(fn, 8), 0);
		UT_EQ_INT(mismatches(fn, 0), 0);
	}
}

static const struct unit_test tests[] = {
	UT(test_swiglu__matches_libm),
	{ 0 }
};

UNIT_MAIN(tests)
