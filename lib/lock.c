/*
 * lock.c - flock(2) locks with a timeout.
 *
 * flock has no timed wait, so a bounded wait polls with LOCK_NB, sleeping
 * 10 ms at first and backing off to 100 ms: a lock held briefly (a ref
 * update) is picked up quickly, one held for long (gc) costs few wakeups.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include "mbr/error.h"
#include "mbr/lock.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* 0 when locked, 1 when another holder blocks it, <0 on error (errno set). */
static int try_flock(int fd, int op)
{
	while (flock(fd, op) < 0) {
		if (errno == EWOULDBLOCK)
			return 1;
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

static int wait_flock(int fd, int op, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	long long nap = 10;
	int r;

	if (timeout_ms < 0)
		return try_flock(fd, op);
	while ((r = try_flock(fd, op | LOCK_NB)) == 1) {
		long long left = deadline - now_ms();

		if (left <= 0)
			return 1;
		sleep_ms(nap < left ? nap : left);
		if (nap < 100)
			nap = nap * 2 > 100 ? 100 : nap * 2;
	}
	return r;
}

int mbr_lock_acquire(struct mbr_lock *lock, const char *path, int mode,
		     int timeout_ms)
{
	int op = mode == MBR_LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH;
	int fd, r;

	if (mode != MBR_LOCK_SHARED && mode != MBR_LOCK_EXCLUSIVE) {
		mbr_error_set(MBR_ERROR_INVALID, "bad lock mode %d for '%s'",
			      mode, path);
		return MBR_EINVALID;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return mbr_error_set_os("cannot open lock file '%s'", path);
	r = wait_flock(fd, op, timeout_ms);
	if (r > 0) {
		mbr_error_set(MBR_ERROR_REPO,
			      "'%s' is locked by another process (waited %d ms)",
			      path, timeout_ms);
		r = MBR_ELOCKED;
	} else if (r < 0) {
		r = mbr_error_set_os("cannot lock '%s'", path);
	}
	if (r) {
		close(fd);
		return r;
	}
	lock->fd = fd;
	return 0;
}

void mbr_lock_release(struct mbr_lock *lock)
{
	if (lock->fd < 0)
		return;
	/* closing the last descriptor of the open file drops the flock */
	close(lock->fd);
	lock->fd = -1;
}
