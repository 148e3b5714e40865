/*
 * u-merge.c - the merge methods on small vectors, against values worked
 * out by hand from mergekit's definitions (the comments show the sums).
 */
#include <math.h>
#include "unit.h"
#include "mbr/merge.h"

#define NEAR(a, b) (fabs((double)(a) - (double)(b)) < 1e-6)

static void check_vec(const float *got, const double *want, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		if (!NEAR(got[j], want[j]))
			printf("# [%zu] %.9g != %.9g\n", j, got[j], want[j]);
		UT_CHECK(NEAR(got[j], want[j]));
	}
}

/* (1·[1,2] + 3·[3,6]) / (1+3) = [10,20]/4 = [2.5,5] */
static void test_merge__linear(void)
{
	float a[] = { 1, 2 }, b[] = { 3, 6 }, out[2];
	const float *x[] = { a, b };
	double w[] = { 1, 3 }, want[] = { 2.5, 5 };

	mbr_merge_linear(out, x, w, 2, 2);
	check_vec(out, want, 2);
}

/*
 * Orthogonal vectors: the normalised dot is 0, θ = π/2, and at t = 0.5
 * both factors are sin(π/4)/sin(π/2) = 1/√2, applied to the vectors as
 * they are: [2,0] and [0,4] give [2/√2, 4/√2] = [√2, 2√2]; t = 0 is v0.
 */
static void test_merge__slerp_orthogonal(void)
{
	float v0[] = { 2, 0 }, v1[] = { 0, 4 }, u0[] = { 1, 0 }, u1[] = { 0, 1 }, out[2];
	double want[] = { sqrt(2), 2 * sqrt(2) }, unit[] = { 1 / sqrt(2), 1 / sqrt(2) };
	double base[] = { 2, 0 };

	mbr_merge_slerp(out, v0, v1, 0.5, 2);
	check_vec(out, want, 2);
	mbr_merge_slerp(out, u0, u1, 0.5, 2);
	check_vec(out, unit, 2);
	mbr_merge_slerp(out, v0, v1, 0, 2);
	check_vec(out, base, 2);
}

/*
 * Near the threshold. [1,0] and [1,0.03]: dot = 1/√1.0009 = 0.99955 >
 * 0.9995, so lerp: 0.5·[1,0] + 0.5·[1,0.03] = [1, 0.015] (slerp would
 * scale by 1/(2cos(θ/2)), giving 1.000056). [1,0] and [1,0.04]: dot =
 * 1/√1.0016 = 0.99920, θ = atan(0.04) = 0.0399787, both factors
 * sin(θ/2)/sin θ = 1/(2cos(θ/2)) = 0.5/0.99980022 = 0.50009991, so
 * [2, 0.04]·0.50009991 = [1.00019982, 0.02000400].
 */
static void test_merge__slerp_lerp_fallback(void)
{
	float v0[] = { 1, 0 }, near[] = { 1, 0.03f }, far[] = { 1, 0.04f }, out[2];
	double lerp[] = { 1, 0.015 }, slerp[] = { 1.00019982, 0.02000400 };

	mbr_merge_slerp(out, v0, near, 0.5, 2);
	check_vec(out, lerp, 2);
	mbr_merge_slerp(out, v0, far, 0.5, 2);
	check_vec(out, slerp, 2);
}

/* base [1,2]; δA = [2,2]−[1,2] = [1,0], δB = [1,5]−[1,2] = [0,3];
 * weights 1, 0.5; λ 2: [1,2] + 2·([1,0] + 0.5·[0,3]) = [3, 5] */
static void test_merge__task_arithmetic(void)
{
	float base[] = { 1, 2 }, a[] = { 2, 2 }, b[] = { 1, 5 }, out[2];
	float *x[] = { a, b };
	double w[] = { 1, 0.5 }, d[] = { 1, 1 }, want[] = { 3, 5 };
	struct mbr_merge_params p = { MBR_MERGE_TASK_ARITHMETIC, 2, w, d, 2, 0.5, 0 };

	UT_EQ_INT(mbr_merge_tensor(out, base, x, 2, &p, "t"), 0);
	check_vec(out, want, 2);
}

/*
 * ties, density 1, base [1,1,1,1], weights 2 and 1, λ 0.5:
 *	δA = [1,-2,3,0.5]     wδA = [2,-4,6,1]
 *	δB = [-3,1,1,-0.5]    wδB = [-3,1,1,-0.5]
 *	Σ = [-1,-3,7,0.5] → majority [-,-,+,+]
 *	kept: A [no,yes,yes,yes], B [yes,no,yes,no]
 *	mixed = [-3,-4,7,1], divisor = [1,2,3,2] → [-3,-2,7/3,0.5]
 *	·0.5 + 1 = [-0.5, 0, 1+7/6, 1.25]
 */
static void test_merge__ties_sign_election(void)
{
	float base[] = { 1, 1, 1, 1 }, a[] = { 2, -1, 4, 1.5 }, b[] = { -2, 2, 2, 0.5 }, out[4];
	float *x[] = { a, b };
	double w[] = { 2, 1 }, d[] = { 1, 1 }, want[] = { -0.5, 0, 1 + 7.0 / 6, 1.25 };
	struct mbr_merge_params p = { MBR_MERGE_TIES, 2, w, d, 0.5, 0.5, 0 };

	UT_EQ_INT(mbr_merge_tensor(out, base, x, 4, &p, "t"), 0);
	check_vec(out, want, 4);
}

/*
 * ties, density 0.5 (int(0.5·4) = 2 kept), base 0, weights 1:
 *	δA = [1,-2,3,0.5] keeps 3,-2 → [0,-2,3,0]
 *	δB = [-3,1,1,-0.5] keeps -3 and the first 1 → [-3,1,0,0]
 *	Σ = [-3,-1,3,0] → [-,-,+,+]; zeros never count
 *	mixed = [-3,-2,3,0], divisor = [1,1,1,0→1] → [-3,-2,3,0]
 */
static void test_merge__ties_density(void)
{
	float base[] = { 0, 0, 0, 0 }, a[] = { 1, -2, 3, 0.5 }, b[] = { -3, 1, 1, -0.5 }, out[4];
	float *x[] = { a, b };
	double w[] = { 1, 1 }, d[] = { 0.5, 0.5 }, want[] = { -3, -2, 3, 0 };
	struct mbr_merge_params p = { MBR_MERGE_TIES, 2, w, d, 1, 0.5, 0 };
	float tiny[] = { 1, 2, 3 };

	UT_EQ_INT(mbr_merge_tensor(out, base, x, 4, &p, "t"), 0);
	check_vec(out, want, 4);
	/* int(0.2·3) = 0: nothing would be kept, which mergekit refuses */
	UT_EQ_INT(mbr_merge_sparsify_magnitude(tiny, 3, 0.2), MBR_EINVALID);
}

/*
 * DARE at density 1 draws no mask: dare-ties is the consensus sum
 * without division, [-3,-2,4,0.5] for δA, δB of test_merge__ties_density
 * (Σ [-2,-1,4,0] → [-,-,+,+]: A keeps -2,3,0.5, B keeps -3,1), and
 * dare-linear is task arithmetic.
 */
static void test_merge__dare_density_one(void)
{
	float base[] = { 0, 0, 0, 0 }, a[] = { 1, -2, 3, 0.5 }, b[] = { -3, 1, 1, -0.5 }, out[4];
	float a2[] = { 1, -2, 3, 0.5 }, b2[] = { -3, 1, 1, -0.5 };
	float *x[] = { a, b }, *x2[] = { a2, b2 };
	double w[] = { 1, 1 }, d[] = { 1, 1 }, want[] = { -3, -2, 4, 0.5 };
	double sum[] = { -2, -1, 4, 0 };
	struct mbr_merge_params p = { MBR_MERGE_DARE_TIES, 2, w, d, 1, 0.5, 7 };

	UT_EQ_INT(mbr_merge_tensor(out, base, x, 4, &p, "t"), 0);
	check_vec(out, want, 4);
	p.method = MBR_MERGE_DARE_LINEAR;
	UT_EQ_INT(mbr_merge_tensor(out, base, x2, 4, &p, "t"), 0);
	check_vec(out, sum, 4);
}

/* Density 0.3 of 100000 ones: about 30% kept (binomial σ = 145, so
 * ±1500 is > 10σ), each kept one rescaled to keep the L1 norm, the same
 * mask again for the same seed and name, another for another seed. */
static void test_merge__dare_mask(void)
{
	enum { N = 100000 };
	static float v[N], again[N], other[N];
	struct mbr_merge_rng rng;
	size_t kept = 0, differ = 0, bad = 0;
	double l1 = 0;

	for (size_t j = 0; j < N; j++)
		v[j] = again[j] = other[j] = 1;
	mbr_merge_rng_init(&rng, 42, "blk.0.attn_q.weight", 1);
	mbr_merge_sparsify_random(v, N, 0.3, &rng);
	mbr_merge_rng_init(&rng, 42, "blk.0.attn_q.weight", 1);
	mbr_merge_sparsify_random(again, N, 0.3, &rng);
	mbr_merge_rng_init(&rng, 43, "blk.0.attn_q.weight", 1);
	mbr_merge_sparsify_random(other, N, 0.3, &rng);
	for (size_t j = 0; j < N; j++) {
		kept += v[j] != 0;
		l1 += fabsf(v[j]);
		differ += (v[j] != 0) != (other[j] != 0);
	}
	UT_CHECK(kept > 28500 && kept < 31500);
	UT_CHECK(fabs(l1 - N) < 1);
	for (size_t j = 0; j < N; j++)
		bad += v[j] && v[j] != (float)((double)N / kept);
	UT_EQ_INT(bad, 0);
	UT_CHECK(!memcmp(v, again, sizeof(v)));
	/* independent masks differ in 42% of places (0.3·0.7·2) */
	UT_CHECK(differ > 40000 && differ < 44000);
}

static void test_merge__method_names(void)
{
	UT_EQ_INT(mbr_merge_method_by_name("dare-ties"), MBR_MERGE_DARE_TIES);
	UT_EQ_INT(mbr_merge_method_by_name("dare_ties"), -1);
	UT_EQ_STR(mbr_merge_method_name(MBR_MERGE_TASK_ARITHMETIC), "task-arithmetic");
	UT_CHECK(mbr_merge_method_name(6) == NULL);
}

static const struct unit_test tests[] = {
	UT(test_merge__linear),
	UT(test_merge__slerp_orthogonal),
	UT(test_merge__slerp_lerp_fallback),
	UT(test_merge__task_arithmetic),
	UT(test_merge__ties_sign_election),
	UT(test_merge__ties_density),
	UT(test_merge__dare_density_one),
	UT(test_merge__dare_mask),
	UT(test_merge__method_names),
	{ 0 }
};

UNIT_MAIN(tests)
