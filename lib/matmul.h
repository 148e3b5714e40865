/*
 * matmul.h - the engine's thread pool and its matrix multiply.
 *
 * The pool's threads live as long as the session: a forward pass runs a
 * few hundred short tasks per token, far too many to start threads for.
 * Between tasks the workers spin briefly and then sleep, so an idle
 * session costs no CPU.
 */
#ifndef MBR_MATMUL_H
#define MBR_MATMUL_H

#include <stddef.h>
#include "mbr/model.h"

struct mbr_threadpool;

/* ith of nth threads; ith 0 is the caller of mbr_threadpool_run. */
typedef void (*mbr_task_fn)(void *arg, int ith, int nth);

int mbr_threadpool_new(struct mbr_threadpool **out, int n_threads);
void mbr_threadpool_free(struct mbr_threadpool *tp);
/* Run fn on every thread of the pool and return when all have finished. */
void mbr_threadpool_run(struct mbr_threadpool *tp, mbr_task_fn fn, void *arg);
/* Inside a task: wait until every thread of the pool has got here. */
void mbr_threadpool_barrier(struct mbr_threadpool *tp);

/*
 * Can w be multiplied? MBR_EUNSUPPORTED naming the tensor and its type
 * when the kernels have no dot product for it.
 */
int mbr_matmul_check(const struct mbr_matrix *w);
/* Bytes of scratch mbr_matmul needs for n activation rows against w. */
size_t mbr_matmul_scratch_size(const struct mbr_matrix *w, int n);

/*
 * out[t * w->rows + r] = (row r of w) . x[t * w->cols ...] for t < n, the
 * way ggml computes it: each activation row is first converted to the
 * weight type's dot-product partner (Q8_0, Q8_1, Q8_K, F16 or F32) into
 * scratch, then every output is one vec_dot (or, where the kernels have
 * them, a few rows at once by vec_dot_rows, the same bits); or, for a
 * batch (n >= 2) where the kernels have batched products, the rows are
 * packed in groups of MBR_GEMM_TOKENS and multiplied a tile at a time by
 * gemm, which gives the same bits. Threads split w by rows (a batch's
 * tiles of rows go to whichever thread is free), so each weight row is
 * read once for the whole batch.
 */
void mbr_matmul(struct mbr_threadpool *tp, float *out,
		const struct mbr_matrix *w, const float *x, int n,
		void *scratch);

/*
 * mbr_matmul of count matrices by the same x: out[i] = w[i] x. Matrices
 * whose activations convert the same way (same columns and dot-product
 * partner, the kind of kernel) share one conversion and one task, their
 * row tiles in one queue: one pass of the pool where there were count,
 * and one end where the threads wait for each other. Any others go on
 * their own. The bits are mbr_matmul's.
 */
void mbr_matmul_many(struct mbr_threadpool *tp, int count, float *const *out,
		     const struct mbr_matrix *const *w, const float *x, int n,
		     void *scratch);

#endif
