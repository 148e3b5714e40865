/*
 * matmul.c - a persistent thread pool and the threaded matrix multiply.
 *
 * mbr_threadpool_run bumps a generation counter; workers that spin on it
 * start at once, workers that went to sleep are woken by a broadcast. The
 * end of a task is a barrier all threads pass, the caller included, so a
 * task may also hold barriers of its own (mbr_matmul converts the
 * activations, waits, then multiplies).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#include "matmul.h"
#include "mbr/error.h"
#include "mbr/types.h"

/* Polls of the generation counter before a worker sleeps: long enough to
 * bridge the gap between the tasks of one forward pass (most of them
 * yield, see spin_wait). */
#define SPIN_POLLS 20000

struct mbr_threadpool {
	int n;
	pthread_t *threads;
	atomic_uint generation;		/* bumped once per task */
	atomic_int sleeping;		/* workers in (or entering) cond_wait */
	atomic_int arrived;		/* barrier: threads that got there */
	atomic_uint phase;		/* barrier: bumped when all arrived */
	atomic_int stop;
	mbr_task_fn fn;
	void *arg;
	pthread_mutex_t mutex;
	pthread_cond_t wake;
};

struct worker {
	struct mbr_threadpool *tp;
	int ith;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Spin; after a while also yield, in case there are more threads than
 * cores and the one we wait for needs ours. */
static void spin_wait(unsigned *polls)
{
	if (++*polls > 1000)
		sched_yield();
	else
		cpu_relax();
}

void mbr_threadpool_barrier(struct mbr_threadpool *tp)
{
	unsigned phase, polls = 0;

	if (tp->n == 1)
		return;
	phase = atomic_load(&tp->phase);
	if (atomic_fetch_add(&tp->arrived, 1) == tp->n - 1) {
		atomic_store(&tp->arrived, 0);
		atomic_fetch_add(&tp->phase, 1);
		return;
	}
	while (atomic_load(&tp->phase) == phase)
		spin_wait(&polls);
}

/* Wait for a generation other than seen; 0 when told to stop. */
static int next_task(struct mbr_threadpool *tp, unsigned seen)
{
	unsigned polls = 0;

	while (polls < SPIN_POLLS) {
		if (atomic_load(&tp->generation) != seen)
			return !atomic_load(&tp->stop);
		spin_wait(&polls);
	}
	pthread_mutex_lock(&tp->mutex);
	atomic_fetch_add(&tp->sleeping, 1);
	while (atomic_load(&tp->generation) == seen)
		pthread_cond_wait(&tp->wake, &tp->mutex);
	atomic_fetch_sub(&tp->sleeping, 1);
	pthread_mutex_unlock(&tp->mutex);
	return !atomic_load(&tp->stop);
}

static void *worker_main(void *payload)
{
	struct worker *wk = payload;
	struct mbr_threadpool *tp = wk->tp;
	unsigned seen = 0;

	while (next_task(tp, seen)) {
		seen = atomic_load(&tp->generation);
		tp->fn(tp->arg, wk->ith, tp->n);
		mbr_threadpool_barrier(tp);
	}
	free(wk);
	return NULL;
}

/*
 * A sleeping worker registers under the mutex before its last look at
 * the generation, and we bump the generation before looking at the
 * count, so either it sees the new task or we see it and wake it.
 */
static void start_generation(struct mbr_threadpool *tp)
{
	atomic_fetch_add(&tp->generation, 1);
	if (atomic_load(&tp->sleeping)) {
		pthread_mutex_lock(&tp->mutex);
		pthread_cond_broadcast(&tp->wake);
		pthread_mutex_unlock(&tp->mutex);
	}
}

void mbr_threadpool_run(struct mbr_threadpool *tp, mbr_task_fn fn, void *arg)
{
	tp->fn = fn;
	tp->arg = arg;
	if (tp->n > 1)
		start_generation(tp);
	fn(arg, 0, tp->n);
	mbr_threadpool_barrier(tp);
}

void mbr_threadpool_free(struct mbr_threadpool *tp)
{
	if (!tp)
		return;
	atomic_store(&tp->stop, 1);
	start_generation(tp);
	for (int i = 1; i < tp->n; i++)
		pthread_join(tp->threads[i], NULL);
	pthread_cond_destroy(&tp->wake);
	pthread_mutex_destroy(&tp->mutex);
	free(tp->threads);
	free(tp);
}

int mbr_threadpool_new(struct mbr_threadpool **out, int n_threads)
{
	struct mbr_threadpool *tp = calloc(1, sizeof(*tp));
	int err = 0;

	*out = NULL;
	MBR_CHECK_ALLOC(tp);
	if (!(tp->threads = calloc((size_t)n_threads, sizeof(*tp->threads)))) {
		free(tp);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	pthread_mutex_init(&tp->mutex, NULL);
	pthread_cond_init(&tp->wake, NULL);
	tp->n = 1;
	/* n counts the threads started so far: a failure frees just those */
	for (int i = 1; i < n_threads && !err; i++) {
		struct worker *wk = malloc(sizeof(*wk));

		if (!wk || (wk->tp = tp, wk->ith = i,
			    pthread_create(&tp->threads[i], NULL, worker_main, wk))) {
			free(wk);
			err = mbr_error_set(MBR_ERROR_OS, "cannot start thread %d of %d",
					    i, n_threads);
			break;
		}
		tp->n++;
	}
	if (err) {
		mbr_threadpool_free(tp);
		return MBR_ERROR;
	}
	*out = tp;
	return 0;
}

/*
 * A weight type's kernels: its dot product and the conversion of the
 * activations to its partner type. NULL when either is missing.
 */
static const struct mbr_kernel_traits *dot_kernels(int type,
						   const struct mbr_kernel_traits **x)
{
	const struct mbr_kernel_traits *w = mbr_kernel_traits(type);

	if (!w || !w->vec_dot)
		return NULL;
	*x = mbr_kernel_traits(w->vec_dot_type);
	return *x && (*x)->from_float ? w : NULL;
}

int mbr_matmul_check(const struct mbr_matrix *w)
{
	const struct mbr_kernel_traits *x;
	const struct mbr_type_info *ti = mbr_type_get(w->type);

	if (dot_kernels(w->type, &x))
		return 0;
	mbr_error_set(MBR_ERROR_KERNEL, "tensor '%s' of type %s: the engine cannot multiply it",
		      w->name, ti ? ti->name : "unknown");
	return MBR_EUNSUPPORTED;
}

/* Batches of two tokens or more go through the batched products. */
static int use_gemm(const struct mbr_kernel_traits *wk, int n)
{
	return n >= 2 && wk->gemm;
}

static int groups_of(int n)
{
	return (n + MBR_GEMM_TOKENS - 1) / MBR_GEMM_TOKENS;
}

size_t mbr_matmul_scratch_size(const struct mbr_matrix *w, int n)
{
	const struct mbr_kernel_traits *wk, *xk;
	size_t size;

	if (!(wk = dot_kernels(w->type, &xk)))
		return 0;
	size = mbr_row_size(wk->vec_dot_type, w->cols) * (size_t)n;
	if (use_gemm(wk, n) && wk->gemm_pack)
		size += wk->gemm_pack_size(w->cols) * (size_t)groups_of(n);
	return size;
}

/* One matrix of a product: its output and where its rows start among
 * the rows of all the product's matrices. */
struct matmul_part {
	float *out;
	const struct mbr_matrix *w;
	const struct mbr_kernel_traits *wk;
	int64_t first;
};

#define MAX_PARTS 4

struct matmul_task {
	struct mbr_threadpool *tp;
	struct matmul_part part[MAX_PARTS];
	int parts;
	int64_t rows;			/* of all the parts */
	int64_t cols;
	const float *x;
	int n;
	unsigned char *xq;		/* n converted activation rows */
	size_t xq_row_bytes;
	mbr_quantize_fn from_float;
	const struct mbr_kernel_traits *wk;	/* the first part's */
	unsigned char *xp;		/* the groups gemm reads; NULL: no gemm */
	size_t xp_bytes;		/* of one group */
	_Atomic int64_t next_row;	/* gemm: the first row of the next tile */
};

/*
 * Weight rows per tile: kept hot in cache while every token runs by them.
 * 48 rather than 16: the batched kernels' per-call work (widening F16
 * tokens, the first pass over rows that are not yet in cache) spreads
 * over three times the rows, 3-8% faster on every type with gemm, and a
 * 2048-row matrix still makes 43 tiles for the threads to share.
 */
#define ROW_TILE 48

/*
 * One token's rows r0 .. r1. A several-row dot takes its R rows from R
 * equal runs of the range, one from each, so that each run is read front
 * to back as one stream: R adjacent rows are R streams that end after a
 * row, which the hardware prefetcher followed worse. The rows left over
 * go one at a time.
 */
static void token_rows(const struct matmul_part *p, float *out,
		       const unsigned char *xq, int64_t r0, int64_t r1)
{
	const struct mbr_matrix *w = p->w;
	const unsigned char *wdata = w->data;
	int R = p->wk->vec_dot_rows ? p->wk->dot_rows : 0;
	int64_t run = R ? (r1 - r0) / R : 0;

	for (int64_t i = 0; i < run; i++) {
		float s[MBR_DOT_ROWS_MAX];

		p->wk->vec_dot_rows(w->cols, s, wdata + (size_t)(r0 + i) * w->row_bytes,
				    (size_t)run * w->row_bytes, xq);
		for (int k = 0; k < R; k++)
			out[r0 + i + k * run] = s[k];
	}
	for (int64_t r = r0 + R * run; r < r1; r++)
		p->wk->vec_dot(w->cols, &out[r], wdata + (size_t)r * w->row_bytes, xq);
}

static void rows_by_vec_dot(const struct matmul_task *m, const struct matmul_part *p,
			    int64_t r0, int64_t r1)
{
	for (int t = 0; t < m->n; t++)
		token_rows(p, p->out + (size_t)t * p->w->rows,
			   m->xq + (size_t)t * m->xq_row_bytes, r0, r1);
}

/* Rows r0 .. r1 of a part; empty when the rows have run out. */
struct row_tile {
	const struct matmul_part *p;
	int64_t r0, r1;
};

/*
 * A tile's rows against every group, while the kernels fetch the tile
 * `next` (this thread's next) into cache: a share of it per group, so
 * that the fetching goes on through the whole tile.
 */
static void rows_by_gemm(const struct matmul_task *m, struct row_tile this,
			 struct row_tile next)
{
	const struct mbr_matrix *w = this.p->w;
	const unsigned char *wdata = w->data;
	int groups = groups_of(m->n);
	/* no next tile: an empty range at this one */
	const struct row_tile *f = next.p ? &next : &this;
	const char *start = (const char *)f->p->w->data + (size_t)f->r0 * f->p->w->row_bytes;
	size_t len = next.p ? (size_t)(next.r1 - next.r0) * next.p->w->row_bytes : 0;
	struct mbr_gemm_ahead ahead = { start, start, 0 };

	for (int g = 0; g < groups; g++) {
		int t0 = g * MBR_GEMM_TOKENS, left = m->n - t0;

		ahead.end = start + len * (g + 1) / groups;
		this.p->wk->gemm(w->cols, (int)(this.r1 - this.r0),
				 left < MBR_GEMM_TOKENS ? left : MBR_GEMM_TOKENS,
				 this.p->out + (size_t)t0 * w->rows + this.r0, w->rows,
				 wdata + (size_t)this.r0 * w->row_bytes, w->row_bytes,
				 m->xp + (size_t)g * m->xp_bytes, &ahead);
	}
}

/* Thread ith's first row of an even split (nth: the end). */
static int64_t first_row(int64_t rows, int ith, int nth)
{
	return rows * ith / nth;
}

static void pack_groups(const struct matmul_task *m, int ith, int nth)
{
	for (int g = ith; g < groups_of(m->n); g += nth) {
		int t0 = g * MBR_GEMM_TOKENS, left = m->n - t0;

		m->wk->gemm_pack(m->cols, left < MBR_GEMM_TOKENS ? left : MBR_GEMM_TOKENS,
				 m->xp + (size_t)g * m->xp_bytes,
				 m->xq + (size_t)t0 * m->xq_row_bytes, m->xq_row_bytes);
	}
}

/*
 * A batch's row tiles go to whichever thread asks next: a static split
 * waits for its slowest half, and on a machine shared with other work a
 * thread that loses its core for a while held the other one up. Near the
 * end the tiles shrink to a third, so that the threads finish closer
 * together. A tile stays within one matrix. A thread takes its next tile
 * before it works on this one, to fetch it meanwhile.
 */
static struct row_tile take_tile(struct matmul_task *m, int nth)
{
	int64_t r0 = atomic_load(&m->next_row), size, end;
	const struct matmul_part *p;

	do {
		if (r0 >= m->rows)
			return (struct row_tile){ NULL, 0, 0 };
		for (p = m->part; r0 >= p->first + p->w->rows; p++)
			;
		end = p->first + p->w->rows;
		size = m->rows - r0 > 2 * nth * ROW_TILE ? ROW_TILE : ROW_TILE / 3;
		size = size < end - r0 ? size : end - r0;
	} while (!atomic_compare_exchange_weak(&m->next_row, &r0, r0 + size));
	return (struct row_tile){ p, r0 - p->first, r0 - p->first + size };
}

static void tiles_by_gemm(struct matmul_task *m, int nth)
{
	struct row_tile next = take_tile(m, nth);

	while (next.p) {
		struct row_tile this = next;

		next = take_tile(m, nth);
		rows_by_gemm(m, this, next);
	}
}

static void matmul_task(void *arg, int ith, int nth)
{
	struct matmul_task *m = arg;

	for (int t = ith; t < m->n; t += nth)
		m->from_float(m->x + (size_t)t * m->cols,
			      m->xq + (size_t)t * m->xq_row_bytes, m->cols);
	mbr_threadpool_barrier(m->tp);
	if (m->xp) {
		if (m->wk->gemm_pack) {
			pack_groups(m, ith, nth);
			mbr_threadpool_barrier(m->tp);
		}
		tiles_by_gemm(m, nth);
		return;
	}
	for (int i = 0; i < m->parts; i++) {
		const struct matmul_part *p = &m->part[i];
		int64_t start = first_row(p->w->rows, ith, nth);
		int64_t end = first_row(p->w->rows, ith + 1, nth);
		/* several tokens: a tile at a time, while its rows are in
		 * cache; one: the whole range, the dots' runs as long as can be */
		int64_t tile = m->n > 1 ? ROW_TILE : end - start;

		for (int64_t r0 = start; r0 < end; r0 += tile)
			rows_by_vec_dot(m, p, r0, r0 + tile < end ? r0 + tile : end);
	}
}

/*
 * Can b share a product with a: the same activations (columns), converted
 * the same way, for the same kind of kernel, packed the same way?
 */
static int shares_input(const struct mbr_kernel_traits *a, const struct mbr_matrix *wa,
			const struct mbr_kernel_traits *b, const struct mbr_matrix *wb, int n)
{
	return wa->cols == wb->cols && a->vec_dot_type == b->vec_dot_type &&
	       use_gemm(a, n) == use_gemm(b, n) && a->gemm_pack == b->gemm_pack;
}

void mbr_matmul_many(struct mbr_threadpool *tp, int count, float *const *out,
		     const struct mbr_matrix *const *w, const float *x, int n,
		     void *scratch)
{
	const struct mbr_kernel_traits *xk, *wk = dot_kernels(w[0]->type, &xk);
	size_t xq_row_bytes = mbr_row_size(wk->vec_dot_type, w[0]->cols);
	struct matmul_task m = {
		.tp = tp, .cols = w[0]->cols, .x = x, .n = n, .xq = scratch,
		.xq_row_bytes = xq_row_bytes, .from_float = xk->from_float, .wk = wk,
	};

	for (; m.parts < count && m.parts < MAX_PARTS; m.parts++) {
		const struct mbr_kernel_traits *pk = dot_kernels(w[m.parts]->type, &xk);

		if (!shares_input(wk, w[0], pk, w[m.parts], n))
			break;
		m.part[m.parts] = (struct matmul_part){ out[m.parts], w[m.parts], pk, m.rows };
		m.rows += w[m.parts]->rows;
	}
	if (use_gemm(wk, n) && wk->gemm_pack) {
		m.xp = (unsigned char *)scratch + xq_row_bytes * (size_t)n;
		m.xp_bytes = wk->gemm_pack_size(m.cols);
	} else if (use_gemm(wk, n)) {
		m.xp = scratch;		/* the converted rows, in place */
		m.xp_bytes = xq_row_bytes * MBR_GEMM_TOKENS;
	}
	mbr_threadpool_run(tp, matmul_task, &m);
	if (m.parts < count)
		mbr_matmul_many(tp, count - m.parts, out + m.parts, w + m.parts, x, n, scratch);
}

void mbr_matmul(struct mbr_threadpool *tp, float *out,
		const struct mbr_matrix *w, const float *x, int n,
		void *scratch)
{
	mbr_matmul_many(tp, 1, &out, &w, x, n, scratch);
}
