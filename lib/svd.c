/*
 * svd.c - one-sided Jacobi SVD and randomized subspace iteration.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mbr/random.h"
#include "mbr/common.h"
#include "mbr/error.h"
#include "svd.h"

static double dot(const double *x, const double *y, int n)
{
	double sum = 0;

	for (int i = 0; i < n; i++)
		sum += x[i] * y[i];
	return sum;
}

/* (x, y) <- (c x - s y, s x + c y) */
static void rotate(double *x, double *y, int n, double c, double s)
{
	for (int i = 0; i < n; i++) {
		double xi = x[i], yi = y[i];

		x[i] = c * xi - s * yi;
		y[i] = s * xi + c * yi;
	}
}

/*
 * Rotate pairs of the k rows of x (each of length p) until they are
 * orthogonal, applying each rotation to the rows of j (k x k) too, so that
 * j_in x_in = x_out. The rotation zeroes the pair's inner product exactly
 * (Demmel and Veselic's choice of angle); sweeps repeat until none is
 * needed.
 */
static void jacobi_rows(double *x, double *j, int k, int p)
{
	for (int sweep = 0; sweep < 100; sweep++) {
		int rotated = 0;

		for (int a = 0; a < k; a++) {
			for (int b = a + 1; b < k; b++) {
				double *xa = x + (size_t)a * p, *xb = x + (size_t)b * p;
				double alpha = dot(xa, xa, p), beta = dot(xb, xb, p);
				double gamma = dot(xa, xb, p), zeta, t, c;

				if (gamma == 0 || fabs(gamma) <= 1e-15 * sqrt(alpha * beta))
					continue;
				zeta = (beta - alpha) / (2 * gamma);
				t = copysign(1.0, zeta) / (fabs(zeta) + sqrt(1 + zeta * zeta));
				c = 1 / sqrt(1 + t * t);
				rotate(xa, xb, p, c, c * t);
				rotate(j + (size_t)a * k, j + (size_t)b * k, k, c, c * t);
				rotated = 1;
			}
		}
		if (!rotated)
			break;
	}
}

struct sv {
	double s;
	int row;
};

static int by_value_desc(const void *a, const void *b)
{
	const struct sv *x = a, *y = b;

	return (x->s < y->s) - (x->s > y->s);
}

/*
 * The SVD of the k x p matrix x (k <= p) in place: its rows orthogonalized
 * with the rotations in j, x = j^T diag(s) w, so left[., l] is row l of j
 * and w's rows (x's, normalized) are the right vectors. left (k x k) and
 * right (k x p) in order of s descending.
 */
static int svd_wide(double *left, double *s, double *right, double *x, int k, int p)
{
	double *j = calloc((size_t)k * k, sizeof(*j));
	struct sv *order = calloc((size_t)k, sizeof(*order));

	if (!j || !order) {
		free(j);
		free(order);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	for (int i = 0; i < k; i++)
		j[(size_t)i * k + i] = 1;
	jacobi_rows(x, j, k, p);
	for (int i = 0; i < k; i++)
		order[i] = (struct sv){ sqrt(dot(x + (size_t)i * p, x + (size_t)i * p, p)), i };
	qsort(order, (size_t)k, sizeof(*order), by_value_desc);
	for (int l = 0; l < k; l++) {
		const double *xr = x + (size_t)order[l].row * p, *jr = j + (size_t)order[l].row * k;
		double inv = order[l].s > 0 ? 1 / order[l].s : 0;

		s[l] = order[l].s;
		for (int i = 0; i < p; i++)
			right[(size_t)l * p + i] = xr[i] * inv;
		for (int i = 0; i < k; i++)
			left[(size_t)i * k + l] = jr[i];
	}
	free(j);
	free(order);
	return 0;
}

static void transpose(double *out, const double *a, int m, int n)
{
	for (int i = 0; i < m; i++)
		for (int c = 0; c < n; c++)
			out[(size_t)c * m + i] = a[(size_t)i * n + c];
}

int mbr_svd(double *u, double *s, double *vt, const double *a, int m, int n)
{
	int k = m < n ? m : n, p = m < n ? n : m, err;
	double *x = malloc((size_t)m * n * sizeof(*x));
	double *left = malloc((size_t)k * k * sizeof(*left));
	double *right = malloc((size_t)k * p * sizeof(*right));

	if (!x || !left || !right) {
		err = MBR_ENOMEM;
		mbr_error_oom();
		goto done;
	}
	/* Jacobi works on the rows of the wide one: a, or a^T = v s u^T */
	if (m <= n)
		memcpy(x, a, (size_t)m * n * sizeof(*x));
	else
		transpose(x, a, m, n);
	if ((err = svd_wide(left, s, right, x, k, p)))
		goto done;
	if (m <= n) {
		memcpy(u, left, (size_t)k * k * sizeof(*u));
		memcpy(vt, right, (size_t)k * p * sizeof(*vt));
	} else {
		transpose(u, right, k, p);
		transpose(vt, left, k, k);
	}
done:
	free(x);
	free(left);
	free(right);
	return err;
}

/* ---- randomized range finder --------------------------------------- */

/* A standard normal draw (Box-Muller). */
static double gaussian(uint64_t *state)
{
	double u1 = ((mbr_splitmix64(state) >> 11) + 1.0) / 9007199254740993.0;
	double u2 = (mbr_splitmix64(state) >> 11) / 9007199254740992.0;

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/*
 * Orthonormalize the k rows of q (length p) by modified Gram-Schmidt,
 * twice, since once loses orthogonality when the rows are nearly
 * dependent. A row that vanishes (a had lower rank) is replaced by a
 * random one, which the second pass makes orthogonal.
 */
static void orthonormalize(double *q, int k, int p, uint64_t *rng)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < k; i++) {
			double *qi = q + (size_t)i * p, before = sqrt(dot(qi, qi, p)), norm;

			for (int j = 0; j < i; j++) {
				const double *qj = q + (size_t)j * p;
				double d = dot(qi, qj, p);

				for (int c = 0; c < p; c++)
					qi[c] -= d * qj[c];
			}
			norm = sqrt(dot(qi, qi, p));
			if (norm <= 1e-10 * before || norm == 0) {
				for (int c = 0; c < p; c++)
					qi[c] = gaussian(rng);
				i--;	/* project the new row again */
				continue;
			}
			for (int c = 0; c < p; c++)
				qi[c] /= norm;
		}
	}
}

/* out (k x m): out[j][i] = a_i . w_j, a m x n, w k x n: (a w^T)^T */
static void project_rows(double *out, const double *w, int k, const double *a, int m, int n)
{
	for (int j = 0; j < k; j++)
		for (int i = 0; i < m; i++)
			out[(size_t)j * m + i] = dot(a + (size_t)i * n, w + (size_t)j * n, n);
}

/* out (k x n) = q a, q k x m, a m x n */
static void combine_rows(double *out, const double *q, int k, const double *a, int m, int n)
{
	memset(out, 0, (size_t)k * n * sizeof(*out));
	for (int j = 0; j < k; j++)
		for (int i = 0; i < m; i++) {
			double c = q[(size_t)j * m + i];
			const double *ai = a + (size_t)i * n;
			double *oj = out + (size_t)j * n;

			for (int x = 0; x < n; x++)
				oj[x] += c * ai[x];
		}
}

/* qt (k x m): an orthonormal basis, as rows, of a's dominant range. */
static void range_finder(double *qt, double *zt, const double *a, int m, int n, int k,
			 uint64_t seed)
{
	uint64_t rng = seed;

	for (size_t i = 0; i < (size_t)k * n; i++)
		zt[i] = gaussian(&rng);
	project_rows(qt, zt, k, a, m, n);
	orthonormalize(qt, k, m, &rng);
	for (int it = 0; it < MBR_SVD_POWER_ITERS; it++) {
		combine_rows(zt, qt, k, a, m, n);	/* (a^T q)^T */
		orthonormalize(zt, k, n, &rng);
		project_rows(qt, zt, k, a, m, n);	/* (a z)^T */
		orthonormalize(qt, k, m, &rng);
	}
}

static int svd_randomized(double *u, double *s, double *vt, const double *a, int m, int n,
			  int r, int k, uint64_t seed)
{
	double *qt = malloc((size_t)k * m * sizeof(*qt));
	double *b = malloc((size_t)k * n * sizeof(*b));
	double *ub = malloc((size_t)k * k * sizeof(*ub));
	double *sb = malloc((size_t)k * sizeof(*sb));
	double *vb = malloc((size_t)k * n * sizeof(*vb));
	int err = MBR_ENOMEM;

	if (!qt || !b || !ub || !sb || !vb) {
		mbr_error_oom();
		goto done;
	}
	range_finder(qt, b, a, m, n, k, seed);
	combine_rows(b, qt, k, a, m, n);	/* q^T a, k x n */
	if ((err = mbr_svd(ub, sb, vb, b, k, n)))
		goto done;
	/* a ~ q ub diag(sb) vb: keep the first r */
	for (int i = 0; i < m; i++)
		for (int l = 0; l < r; l++) {
			double sum = 0;

			for (int j = 0; j < k; j++)
				sum += qt[(size_t)j * m + i] * ub[(size_t)j * k + l];
			u[(size_t)i * r + l] = sum;
		}
	memcpy(s, sb, (size_t)r * sizeof(*s));
	memcpy(vt, vb, (size_t)r * n * sizeof(*vt));
done:
	free(qt);
	free(b);
	free(ub);
	free(sb);
	free(vb);
	return err;
}

/* The first r columns of the k-column u, in place. */
static void keep_columns(double *u, int m, int k, int r)
{
	for (int i = 0; i < m; i++)
		memmove(u + (size_t)i * r, u + (size_t)i * k, (size_t)r * sizeof(*u));
}

int mbr_svd_truncated(double *u, double *s, double *vt, const double *a, int m, int n,
		      int r, uint64_t seed)
{
	int k = m < n ? m : n, err = MBR_ENOMEM;
	double *uf, *sf, *vf;

	if (r + MBR_SVD_OVERSAMPLE < k)
		return svd_randomized(u, s, vt, a, m, n, r, r + MBR_SVD_OVERSAMPLE, seed);
	uf = malloc((size_t)m * k * sizeof(*uf));
	sf = malloc((size_t)k * sizeof(*sf));
	vf = malloc((size_t)k * n * sizeof(*vf));
	if (!uf || !sf || !vf)
		mbr_error_oom();
	else if (!(err = mbr_svd(uf, sf, vf, a, m, n))) {
		keep_columns(uf, m, k, r);
		memcpy(u, uf, (size_t)m * r * sizeof(*u));
		memcpy(s, sf, (size_t)r * sizeof(*s));
		memcpy(vt, vf, (size_t)r * n * sizeof(*vt));
	}
	free(uf);
	free(sf);
	free(vf);
	return err;
}
