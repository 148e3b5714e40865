/*
 * lock.h - advisory locks that wait instead of failing.
 *
 * flock(2) on a lock file: the kernel drops the lock if the process dies, so
 * a crashed `mbr add` never leaves a registry locked. Two locks guard a
 * registry: .mbr/lineage.lock serialises ref updates (exclusive, held briefly);
 * .mbr/gc.lock is held shared by everything that writes objects and
 * exclusive by gc, so gc never deletes an object an add has just written
 * but not yet committed.
 */
#ifndef MBR_LOCK_H
#define MBR_LOCK_H

struct mbr_lock {
	int fd;
};
#define MBR_LOCK_INIT { -1 }

enum { MBR_LOCK_SHARED = 0, MBR_LOCK_EXCLUSIVE = 1 };

/* Wait up to timeout_ms (-1: forever) for the lock; MBR_ELOCKED on timeout. */
int mbr_lock_acquire(struct mbr_lock *lock, const char *path, int mode, int timeout_ms);
void mbr_lock_release(struct mbr_lock *lock);

#endif
