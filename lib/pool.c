/*
 * pool.c - a run of independent jobs over pthreads.
 *
 * The calling thread works through jobs alongside the threads it starts, so
 * one thread means no thread at all. The last error is per thread: the
 * message of the first failing job is kept here and set again on the
 * caller's thread before returning.
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mbr/error.h"
#include "mbr/pool.h"

struct pool {
	mbr_job_fn fn;
	void *ctx;
	size_t n_jobs;
	atomic_size_t next;
	atomic_int stop;

	pthread_mutex_t mutex;	/* guards the fields below */
	int err;
	enum mbr_error_class err_class;
	char err_msg[1024];
};

static void record_error(struct pool *p, int err)
{
	pthread_mutex_lock(&p->mutex);
	if (!p->err) {
		p->err = err;
		p->err_class = mbr_error_last_class();
		snprintf(p->err_msg, sizeof(p->err_msg), "%s", mbr_error_last());
	}
	pthread_mutex_unlock(&p->mutex);
	atomic_store(&p->stop, 1);
}

static void *work(void *arg)
{
	struct pool *p = arg;

	while (!atomic_load(&p->stop)) {
		size_t job = atomic_fetch_add(&p->next, 1);
		int r;

		if (job >= p->n_jobs)
			break;
		r = p->fn(p->ctx, job);
		if (r < 0)
			record_error(p, r);
	}
	return NULL;
}

int mbr_online_cores(void)
{
	const char *env = getenv("MBR_THREADS");
	long n;

	if (env && *env) {
		char *end;

		n = strtol(env, &end, 10);
		if (!*end && n > 0 && n <= INT_MAX)
			return (int)n;
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int mbr_parallel_run(size_t n_jobs, int n_threads, mbr_job_fn fn, void *ctx)
{
	struct pool p = { .fn = fn, .ctx = ctx, .n_jobs = n_jobs };
	pthread_t *tids = NULL;
	size_t want, started = 0;

	if (n_threads <= 0)
		n_threads = mbr_online_cores();
	want = (size_t)n_threads < n_jobs ? (size_t)n_threads : n_jobs;
	atomic_init(&p.next, 0);
	atomic_init(&p.stop, 0);
	pthread_mutex_init(&p.mutex, NULL);

	/*
	 * Helpers are an optimisation: if threads or memory run short, the
	 * jobs still all run, on fewer threads.
	 */
	if (want > 1)
		tids = calloc(want - 1, sizeof(*tids));
	while (tids && started < want - 1 &&
	       !pthread_create(&tids[started], NULL, work, &p))
		started++;
	work(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	pthread_mutex_destroy(&p.mutex);

	if (p.err)
		mbr_error_set(p.err_class, "%s", p.err_msg);
	return p.err;
}
