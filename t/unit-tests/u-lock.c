#include <errno.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "unit.h"
#include "mbr/lock.h"

static char lock_path[256];

static void make_lock_path(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(lock_path, sizeof(lock_path), "%s/u-lock.%d.lock",
		 tmp && *tmp ? tmp : "/tmp", (int)getpid());
	unlink(lock_path);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Fork a child that tries to take lock_path; returns its verdict:
 * 0 locked, 1 MBR_ELOCKED naming the file, 2 anything else. The child's
 * wait in ms goes to *waited.
 */
static int child_try(int mode, int timeout_ms, long long *waited)
{
	long long start = now_ms();
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct mbr_lock l = MBR_LOCK_INIT;
		int r = mbr_lock_acquire(&l, lock_path, mode, timeout_ms);

		if (r == MBR_ELOCKED && strstr(mbr_error_last(), lock_path))
			_exit(1);
		_exit(r ? 2 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 3;
	*waited = now_ms() - start;
	return WEXITSTATUS(status);
}

static void test_lock__exclusive_blocks_child_until_release(void)
{
	struct mbr_lock l = MBR_LOCK_INIT;
	long long waited;

	make_lock_path();
	UT_EQ_INT(mbr_lock_acquire(&l, lock_path, MBR_LOCK_EXCLUSIVE, -1), 0);
	UT_CHECK(l.fd >= 0);
	UT_EQ_INT(child_try(MBR_LOCK_EXCLUSIVE, 100, &waited), 1);
	UT_CHECK(waited >= 100);
	UT_EQ_INT(child_try(MBR_LOCK_SHARED, 0, &waited), 1);
	mbr_lock_release(&l);
	UT_EQ_INT(l.fd, -1);
	UT_EQ_INT(child_try(MBR_LOCK_EXCLUSIVE, 100, &waited), 0);
	unlink(lock_path);
}

/* flock locks belong to open files, so two opens in one process conflict. */
static void test_lock__two_fds_in_one_process(void)
{
	struct mbr_lock a = MBR_LOCK_INIT, b = MBR_LOCK_INIT;
	long long start;

	make_lock_path();
	UT_EQ_INT(mbr_lock_acquire(&a, lock_path, MBR_LOCK_EXCLUSIVE, 0), 0);
	start = now_ms();
	mbr_error_clear();
	UT_EQ_INT(mbr_lock_acquire(&b, lock_path, MBR_LOCK_EXCLUSIVE, 150),
		  MBR_ELOCKED);
	UT_CHECK(now_ms() - start >= 150);
	UT_CHECK(strstr(mbr_error_last(), lock_path) != NULL);
	UT_EQ_INT(b.fd, -1);
	mbr_lock_release(&a);
	UT_EQ_INT(mbr_lock_acquire(&b, lock_path, MBR_LOCK_EXCLUSIVE, 0), 0);
	mbr_lock_release(&b);
	unlink(lock_path);
}

static void test_lock__shared_locks_coexist(void)
{
	struct mbr_lock a = MBR_LOCK_INIT, b = MBR_LOCK_INIT, c = MBR_LOCK_INIT;
	long long waited;

	make_lock_path();
	UT_EQ_INT(mbr_lock_acquire(&a, lock_path, MBR_LOCK_SHARED, 0), 0);
	UT_EQ_INT(mbr_lock_acquire(&b, lock_path, MBR_LOCK_SHARED, 0), 0);
	UT_EQ_INT(child_try(MBR_LOCK_SHARED, 0, &waited), 0);
	UT_EQ_INT(mbr_lock_acquire(&c, lock_path, MBR_LOCK_EXCLUSIVE, 50),
		  MBR_ELOCKED);
	mbr_lock_release(&a);
	UT_EQ_INT(mbr_lock_acquire(&c, lock_path, MBR_LOCK_EXCLUSIVE, 50),
		  MBR_ELOCKED);
	mbr_lock_release(&b);
	UT_EQ_INT(mbr_lock_acquire(&c, lock_path, MBR_LOCK_EXCLUSIVE, 0), 0);
	mbr_lock_release(&c);
	unlink(lock_path);
}

/* With no timeout the child waits as long as it takes, then gets it. */
static void test_lock__forever_waits_for_release(void)
{
	struct mbr_lock l = MBR_LOCK_INIT;
	long long start = now_ms();
	int status;
	pid_t pid;

	make_lock_path();
	UT_EQ_INT(mbr_lock_acquire(&l, lock_path, MBR_LOCK_EXCLUSIVE, -1), 0);
	pid = fork();
	if (pid == 0) {
		struct mbr_lock cl = MBR_LOCK_INIT;

		/* our copy of the parent's descriptor would keep it locked */
		close(l.fd);
		alarm(10);	/* a bug here must fail the test, not hang it */
		_exit(mbr_lock_acquire(&cl, lock_path, MBR_LOCK_EXCLUSIVE, -1) ? 1 : 0);
	}
	UT_ASSERT(pid > 0);
	usleep(300 * 1000);
	UT_EQ_INT(waitpid(pid, &status, WNOHANG), 0);	/* still waiting */
	mbr_lock_release(&l);
	UT_EQ_INT(waitpid(pid, &status, 0), pid);
	UT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	UT_CHECK(now_ms() - start >= 300);
	unlink(lock_path);
}

static void test_lock__release_unacquired_and_bad_path(void)
{
	struct mbr_lock l = MBR_LOCK_INIT;

	mbr_lock_release(&l);
	UT_EQ_INT(l.fd, -1);
	UT_EQ_INT(mbr_lock_acquire(&l, "/nonexistent-dir/x.lock",
				   MBR_LOCK_SHARED, 0), MBR_EIO);
	UT_CHECK(strstr(mbr_error_last(), "/nonexistent-dir/x.lock") != NULL);
	UT_EQ_INT(l.fd, -1);
	mbr_lock_release(&l);
}

static const struct unit_test tests[] = {
	UT(test_lock__exclusive_blocks_child_until_release),
	UT(test_lock__two_fds_in_one_process),
	UT(test_lock__shared_locks_coexist),
	UT(test_lock__forever_waits_for_release),
	UT(test_lock__release_unacquired_and_bad_path),
	{ 0 }
};
UNIT_MAIN(tests)
