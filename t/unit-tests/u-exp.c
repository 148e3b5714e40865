/*
 * u-exp.c - ggml's exponential in SwiGLU and softmax: the reference
 * against libm in double (within a few ulps over the whole range the
 * exponential takes apart, its overflow and underflow branches included,
 * and the same limits where e^-x overflows), every vectorised set bit for
 * bit against the reference, and nothing written past n. That these are
 * llama.cpp's own bits is checked end to end by t3000 and t6001.
 */
#include <math.h>
#include <string.h>
#include "unit.h"
#include "kernels.h"

#define N 4096
#define CANARY -12345.0f

static float gate[N + 8], up[N], got[N + 8], ref[N + 8];
static const float spans[] = { 1.0f, 10.0f, 90.0f, 200.0f };

/* x in [-span, span], with a few exact zeros */
static void fill(float span)
{
	for (int i = 0; i < N; i++) {
		gate[i] = i % 97 ? span * ut_rng_float() : 0.0f;
		up[i] = 4.0f * ut_rng_float();
	}
}

static int far_from(double got_v, double want, double rel)
{
	/* below -88.4 e^x is 0 or a denormal; the true one is under 1e-36 */
	return fabs(got_v - want) > rel * fabs(want) + 1e-35;
}

/* the canary past n still there */
static int overrun(const float *v, int64_t n)
{
	return v[n] != CANARY;
}

static int swiglu_off_libm(mbr_swiglu_fn fn, int64_t n)
{
	int bad = 0;

	memcpy(got, gate, sizeof(got));
	got[n] = CANARY;
	fn(got, up, n);
	for (int64_t i = 0; i < n; i++) {
		double x = gate[i], want = x / (1.0 + exp(-x)) * up[i];

		if (far_from(got[i], want, 4e-7)) {
			if (!bad)
				printf("# x=%.9g u=%.9g: %.9g, want %.9g\n", x, up[i],
				       got[i], want);
			bad++;
		}
	}
	return bad + overrun(got, n);
}

static void test_exp__swiglu_ref_matches_libm(void)
{
	for (size_t s = 0; s < MBR_ARRAY_SIZE(spans); s++) {
		fill(spans[s]);
		UT_EQ_INT(swiglu_off_libm(mbr_swiglu_ref, N), 0);
		UT_EQ_INT(swiglu_off_libm(mbr_swiglu_ref, 8), 0);
		UT_EQ_INT(swiglu_off_libm(mbr_swiglu_ref, 0), 0);
	}
}

/* e^(x - max) and the double sum of the lanes, against libm */
static int softmax_off_libm(mbr_softmax_exp_fn fn, int64_t n, float max)
{
	double sum, want_sum = 0;
	int bad = 0;

	memcpy(got, gate, sizeof(got));
	got[n] = CANARY;
	sum = fn(got, n, max);
	for (int64_t i = 0; i < n; i++) {
		double want = exp((double)(gate[i] - max));

		want_sum += want;
		if (far_from(got[i], want, 4e-7)) {
			if (!bad)
				printf("# x=%.9g max=%.9g: %.9g, want %.9g\n", gate[i], max,
				       got[i], want);
			bad++;
		}
	}
	if (far_from(sum, want_sum, 1e-6)) {
		printf("# n=%lld: sum %.17g, want %.17g\n", (long long)n, sum, want_sum);
		bad++;
	}
	return bad + overrun(got, n);
}

static float max_of(const float *v, int64_t n)
{
	float m = -INFINITY;

	for (int64_t i = 0; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return n ? m : 0.0f;
}

static const int64_t lengths[] = { 0, 1, 7, 8, 9, 63, 64, 100, N };

static void test_exp__softmax_ref_matches_libm(void)
{
	for (size_t s = 0; s < MBR_ARRAY_SIZE(spans); s++) {
		fill(spans[s]);
		for (size_t k = 0; k < MBR_ARRAY_SIZE(lengths); k++) {
			int64_t n = lengths[k];

			/* as softmax calls it, and far above the row's max */
			UT_EQ_INT(softmax_off_libm(mbr_softmax_exp_ref, n, max_of(gate, n)), 0);
			UT_EQ_INT(softmax_off_libm(mbr_softmax_exp_ref, n, 150.0f), 0);
		}
	}
}

/* a set's kernels against the reference, every bit of every output */
static int swiglu_differs(mbr_swiglu_fn fn, int64_t n)
{
	memcpy(got, gate, sizeof(got));
	memcpy(ref, gate, sizeof(ref));
	got[n] = ref[n] = CANARY;
	fn(got, up, n);
	mbr_swiglu_ref(ref, up, n);
	return memcmp(got, ref, sizeof(got)) != 0;
}

static int softmax_differs(mbr_softmax_exp_fn fn, int64_t n, float max)
{
	double a, b;

	memcpy(got, gate, sizeof(got));
	memcpy(ref, gate, sizeof(ref));
	got[n] = ref[n] = CANARY;
	a = fn(got, n, max);
	b = mbr_softmax_exp_ref(ref, n, max);
	return memcmp(got, ref, sizeof(got)) != 0 || memcmp(&a, &b, sizeof(a)) != 0;
}

static void test_exp__sets_match_reference(void)
{
	mbr_swiglu_fn swiglu = mbr_kernel_swiglu();
	mbr_softmax_exp_fn softmax = mbr_kernel_softmax_exp();

	if (swiglu == mbr_swiglu_ref && softmax == mbr_softmax_exp_ref) {
		printf("# this CPU runs the reference only\n");
		return;
	}
	for (size_t s = 0; s < MBR_ARRAY_SIZE(spans); s++) {
		fill(spans[s]);
		UT_EQ_INT(swiglu_differs(swiglu, N), 0);
		UT_EQ_INT(swiglu_differs(swiglu, 8), 0);
		for (size_t k = 0; k < MBR_ARRAY_SIZE(lengths); k++) {
			int64_t n = lengths[k];

			UT_EQ_INT(softmax_differs(softmax, n, max_of(gate, n)), 0);
			UT_EQ_INT(softmax_differs(softmax, n, 150.0f), 0);
		}
	}
}

static const struct unit_test tests[] = {
	UT(test_exp__swiglu_ref_matches_libm),
	UT(test_exp__softmax_ref_matches_libm),
	UT(test_exp__sets_match_reference),
	{ 0 }
};

UNIT_MAIN(tests)
