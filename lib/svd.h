/*
 * svd.h - singular value decompositions in double, for LoRA extraction.
 * Written out here rather than taken from LAPACK: one-sided Jacobi for
 * the exact decomposition, randomized subspace iteration in front of it
 * for a truncated one of a large matrix. Matrices are row-major.
 */
#ifndef MBR_SVD_H
#define MBR_SVD_H

#include <stdint.h>

/*
 * a (m x n) = u (m x k) diag(s) vt (k x n), k = min(m, n), s descending,
 * by one-sided Jacobi (Hestenes) rotations until every pair of rows is
 * orthogonal to working precision. MBR_ENOMEM, or 0.
 */
int mbr_svd(double *u, double *s, double *vt, const double *a, int m, int n);

/*
 * The rank r truncation of a's SVD (r <= min(m, n)): u (m x r), s (r),
 * vt (r x n). Exact (mbr_svd) when min(m, n) is at most r plus the
 * oversampling; otherwise randomized subspace iteration (Halko, Martinsson
 * and Tropp 2011, algorithm 4.4: a Gaussian test matrix, power
 * iterations each re-orthonormalized) finds the range, and Jacobi
 * decomposes a projected onto it. The test matrix comes from seed, so
 * the result is deterministic.
 */
#define MBR_SVD_OVERSAMPLE 16
#define MBR_SVD_POWER_ITERS 8
int mbr_svd_truncated(double *u, double *s, double *vt, const double *a, int m, int n,
		      int r, uint64_t seed);

#endif
