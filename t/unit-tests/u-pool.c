#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include "unit.h"
#include "mbr/pool.h"

#define N_JOBS 10000

struct sum_ctx {
	atomic_ullong sum;
	atomic_int runs[N_JOBS];
};

static int add_square(void *vctx, size_t job)
{
	struct sum_ctx *ctx = vctx;

	atomic_fetch_add(&ctx->sum, (unsigned long long)job * job);
	atomic_fetch_add(&ctx->runs[job], 1);
	return 0;
}

static void test_pool__sum_runs_every_job_once(void)
{
	static struct sum_ctx ctx;
	/* sum of j^2 for j < n is (n-1) n (2n-1) / 6 */
	unsigned long long n = N_JOBS, want = (n - 1) * n * (2 * n - 1) / 6;

	UT_EQ_INT(mbr_parallel_run(N_JOBS, 4, add_square, &ctx), 0);
	UT_EQ_INT(atomic_load(&ctx.sum), want);
	for (int i = 0; i < N_JOBS; i++)
		if (atomic_load(&ctx.runs[i]) != 1) {
			UT_EQ_INT(i, -1);	/* report the first bad job */
			break;
		}
}

struct order_ctx {
	pthread_t caller;
	size_t next;
	int in_order, on_caller;
};

static int note_order(void *vctx, size_t job)
{
	struct order_ctx *ctx = vctx;

	ctx->in_order &= job == ctx->next++;
	ctx->on_caller &= pthread_equal(pthread_self(), ctx->caller) != 0;
	return 0;
}

/* One thread runs inline, so in index order on the caller's thread. */
static void test_pool__one_thread_runs_inline_in_order(void)
{
	struct order_ctx ctx = { pthread_self(), 0, 1, 1 };

	UT_EQ_INT(mbr_parallel_run(500, 1, note_order, &ctx), 0);
	UT_EQ_INT(ctx.next, 500);
	UT_CHECK(ctx.in_order);
	UT_CHECK(ctx.on_caller);
	UT_EQ_INT(mbr_parallel_run(0, 4, note_order, &ctx), 0);
	UT_EQ_INT(ctx.next, 500);
}

struct fail_ctx {
	pthread_t caller;
	atomic_int claimed;
	atomic_int ran;
	atomic_size_t failed_job;
};

/*
 * Exactly one job fails, and on a helper thread, so the message can only
 * reach the caller if the pool carries it across threads.
 */
static int fail_on_helper(void *vctx, size_t job)
{
	struct fail_ctx *ctx = vctx;

	atomic_fetch_add(&ctx->ran, 1);
	usleep(20);
	if (!pthread_equal(pthread_self(), ctx->caller) && job >= 100 &&
	    !atomic_exchange(&ctx->claimed, 1)) {
		atomic_store(&ctx->failed_job, job);
		mbr_error_set(MBR_ERROR_ODB, "job %zu hit a corrupt object", job);
		return MBR_ECORRUPT;
	}
	return 0;
}

static void test_pool__error_stops_and_message_survives(void)
{
	struct fail_ctx ctx = { .caller = pthread_self() };
	char want[64];

	mbr_error_set(MBR_ERROR_INVALID, "stale message from before");
	UT_EQ_INT(mbr_parallel_run(N_JOBS, 4, fail_on_helper, &ctx), MBR_ECORRUPT);
	UT_ASSERT(atomic_load(&ctx.claimed));
	snprintf(want, sizeof(want), "job %zu hit a corrupt object",
		 atomic_load(&ctx.failed_job));
	UT_EQ_STR(mbr_error_last(), want);
	UT_EQ_INT(mbr_error_last_class(), MBR_ERROR_ODB);
	/* a pool that ignored the failure would run all of them */
	UT_CHECK(atomic_load(&ctx.ran) < N_JOBS);
}

static void test_pool__online_cores(void)
{
	long sys = sysconf(_SC_NPROCESSORS_ONLN);

	setenv("MBR_THREADS", "3", 1);
	UT_EQ_INT(mbr_online_cores(), 3);
	setenv("MBR_THREADS", "3x", 1);
	UT_EQ_INT(mbr_online_cores(), sys);
	setenv("MBR_THREADS", "0", 1);
	UT_EQ_INT(mbr_online_cores(), sys);
	setenv("MBR_THREADS", "-2", 1);
	UT_EQ_INT(mbr_online_cores(), sys);
	unsetenv("MBR_THREADS");
	UT_EQ_INT(mbr_online_cores(), sys);
}

static const struct unit_test tests[] = {
	UT(test_pool__sum_runs_every_job_once),
	UT(test_pool__one_thread_runs_inline_in_order),
	UT(test_pool__error_stops_and_message_survives),
	UT(test_pool__online_cores),
	{ 0 }
};
UNIT_MAIN(tests)
