/*
 * u-svd.c - the SVD against matrices whose decomposition is known: a
 * 2 x 2 worked by hand, and U diag(S) V^T built from Householder
 * reflections (so U and V are orthogonal by construction) with chosen S.
 */
#include <math.h>
#include <stdlib.h>
#include "unit.h"
#include "svd.h"

/* An n x n orthogonal matrix: the product of n Householder reflections
 * I - 2 w w^T / w^T w with random w. */
static double *orthogonal(int n)
{
	double *q = calloc((size_t)n * n, sizeof(*q)), *w = malloc(n * sizeof(*w));

	for (int i = 0; i < n; i++)
		q[i * n + i] = 1;
	for (int h = 0; h < n; h++) {
		double ww = 0;

		for (int i = 0; i < n; i++) {
			w[i] = ut_rng_float() - 0.5;
			ww += w[i] * w[i];
		}
		for (int r = 0; r < n; r++) {	/* q <- q (I - 2 w w^T / ww) */
			double d = 0;

			for (int i = 0; i < n; i++)
				d += q[r * n + i] * w[i];
			for (int i = 0; i < n; i++)
				q[r * n + i] -= 2 * d * w[i] / ww;
		}
	}
	free(w);
	return q;
}

/* a (m x n) = U[:, :k] diag(s) V[:, :k]^T */
static double *known(int m, int n, const double *s, int k)
{
	double *u = orthogonal(m), *v = orthogonal(n), *a = calloc((size_t)m * n, sizeof(*a));

	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++)
			for (int l = 0; l < k; l++)
				a[i * n + j] += u[i * m + l] * s[l] * v[j * n + l];
	free(u);
	free(v);
	return a;
}

/* ||a - u diag(s) vt||_F for a rank-r factorization */
static double residual(const double *a, const double *u, const double *s, const double *vt,
		       int m, int n, int r)
{
	double sum = 0;

	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++) {
			double x = a[i * n + j];

			for (int l = 0; l < r; l++)
				x -= u[i * r + l] * s[l] * vt[l * n + j];
			sum += x * x;
		}
	return sqrt(sum);
}

/* [[3, 0], [4, 5]]: A^T A = [[25, 20], [20, 25]], eigenvalues 45 and 5,
 * so the singular values are 3 sqrt(5) and sqrt(5). */
static void test_svd__by_hand(void)
{
	double a[] = { 3, 0, 4, 5 }, u[4], s[2], vt[4];

	UT_ASSERT(!mbr_svd(u, s, vt, a, 2, 2));
	UT_CHECK(fabs(s[0] - 3 * sqrt(5)) < 1e-12);
	UT_CHECK(fabs(s[1] - sqrt(5)) < 1e-12);
	UT_CHECK(residual(a, u, s, vt, 2, 2, 2) < 1e-12);
}

static void check_exact(int m, int n)
{
	int k = m < n ? m : n;
	double *s = malloc(k * sizeof(*s)), *got = malloc(k * sizeof(*got));
	double *u = malloc((size_t)m * k * sizeof(*u)), *vt = malloc((size_t)k * n * sizeof(*vt));
	double *a;

	for (int l = 0; l < k; l++)
		s[l] = 10.0 / (l + 1);
	a = known(m, n, s, k);
	UT_ASSERT(!mbr_svd(u, got, vt, a, m, n));
	for (int l = 0; l < k; l++)
		UT_CHECK(fabs(got[l] - s[l]) < 1e-10 * s[0]);
	UT_CHECK(residual(a, u, got, vt, m, n, k) < 1e-10 * s[0]);
	for (int l = 0; l < k; l++) {	/* u's columns orthonormal */
		double d = 0;

		for (int i = 0; i < m; i++)
			d += u[i * k + l] * u[i * k + (l + 1) % k];
		UT_CHECK(k == 1 || fabs(d) < 1e-10);
	}
	free(s);
	free(got);
	free(u);
	free(vt);
	free(a);
}

static void test_svd__exact_tall_and_wide(void)
{
	check_exact(40, 25);
	check_exact(25, 40);
}

/*
 * Rank 8 of a 150 x 120 matrix with slowly falling singular values
 * (1/(l+1)): the randomized path. The best rank-8 error is the tail's
 * norm, sqrt(sum s_l^2, l >= 8) (Eckart-Young); ours is within 1e-3 of it.
 */
static void test_svd__truncated_near_optimal(void)
{
	int m = 150, n = 120, r = 8;
	double s[120], got[8], tail = 0, *a, err;
	double *u = malloc((size_t)m * r * sizeof(*u)), *vt = malloc((size_t)r * n * sizeof(*vt));

	for (int l = 0; l < n; l++)
		s[l] = 1.0 / (l + 1);
	for (int l = r; l < n; l++)
		tail += s[l] * s[l];
	tail = sqrt(tail);
	a = known(m, n, s, n);
	UT_ASSERT(!mbr_svd_truncated(u, got, vt, a, m, n, r, 1));
	err = residual(a, u, got, vt, m, n, r);
	printf("# rank-8 error %.9g, optimal %.9g\n", err, tail);
	UT_CHECK(err >= tail * (1 - 1e-12));
	UT_CHECK(err <= tail * (1 + 1e-3));
	for (int l = 0; l < r; l++)
		UT_CHECK(fabs(got[l] - s[l]) < 1e-3 * s[l]);
	free(u);
	free(vt);
	free(a);
}

/* A matrix of rank 5 asked for rank 8: the range finder's basis runs
 * out of directions (rows it replaces), and the product is exact. */
static void test_svd__truncated_low_rank(void)
{
	int m = 90, n = 70, r = 8;
	double s[5] = { 5, 4, 3, 2, 1 }, got[8], *a;
	double *u = malloc((size_t)m * r * sizeof(*u)), *vt = malloc((size_t)r * n * sizeof(*vt));

	a = known(m, n, s, 5);
	UT_ASSERT(!mbr_svd_truncated(u, got, vt, a, m, n, r, 7));
	UT_CHECK(residual(a, u, got, vt, m, n, r) < 1e-10);
	UT_CHECK(got[5] < 1e-10 && fabs(got[0] - 5) < 1e-10);
	free(u);
	free(vt);
	free(a);
}

static const struct unit_test tests[] = {
	UT(test_svd__by_hand),
	UT(test_svd__exact_tall_and_wide),
	UT(test_svd__truncated_near_optimal),
	UT(test_svd__truncated_low_rank),
	{ 0 }
};

UNIT_MAIN(tests)
