/*
 * pool.h - run independent jobs on all cores.
 *
 * Jobs are handed out in index order from a shared counter, so a caller
 * that puts its longest job first (the whole-file hash) gets it started
 * at once while the other threads work through the rest.
 */
#ifndef MBR_POOL_H
#define MBR_POOL_H

#include <stddef.h>

/* Return 0 to continue; a negative value stops the handing out of further
 * jobs and becomes mbr_parallel_run's result (the first such error wins). */
typedef int (*mbr_job_fn)(void *ctx, size_t job);

/* n_threads <= 0 means "online cores". Runs all jobs; returns 0 or the first
 * error a job returned. */
int mbr_parallel_run(size_t n_jobs, int n_threads, mbr_job_fn fn, void *ctx);
int mbr_online_cores(void);

#endif
