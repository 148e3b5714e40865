/*
 * common.h - error codes, allocation guards and overflow-checked arithmetic
 * shared by every part of libmbr.
 *
 * Every lib/ function that can fail returns 0 (or a non-negative count) on
 * success and one of the negative MBR_E* codes below on failure; the detail
 * for a human is left in the per-thread last error (see error.h).
 */
#ifndef MBR_COMMON_H
#define MBR_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* The engine version: mbr --version, and evidence records (evidence.h). */
#define MBR_VERSION "0.1.0"

enum mbr_error_code {
	MBR_OK = 0,
	MBR_ERROR = -1,		/* generic failure */
	MBR_ENOTFOUND = -3,	/* object, ref, key or file does not exist */
	MBR_EEXISTS = -4,	/* already there (e.g. registry on init) */
	MBR_EAMBIGUOUS = -5,	/* a short id or name matches several */
	MBR_ECORRUPT = -6,	/* untrusted bytes failed validation */
	MBR_ENOMEM = -7,	/* allocation failed */
	MBR_EIO = -8,		/* read/write/fsync/rename failed */
	MBR_EINVALID = -9,	/* caller passed something unusable */
	MBR_EUNSUPPORTED = -10,	/* valid, but beyond what mbr handles */
	MBR_ELOCKED = -11,	/* a lock could not be taken */
	MBR_ENET = -12,
	MBR_EHOOK = -13,
	MBR_ITEROVER = -31	/* iteration finished; not an error */
};

#define MBR_CHECK_ALLOC(p) do { \
	if (!(p)) { mbr_error_oom(); return MBR_ENOMEM; } } while (0)

/* Overflow-checked size arithmetic: return 1 on overflow, as the builtins do. */
#define MBR_ADD_OVERFLOW(out, a, b) __builtin_add_overflow((a), (b), (out))
#define MBR_MUL_OVERFLOW(out, a, b) __builtin_mul_overflow((a), (b), (out))

#define MBR_ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

void mbr_error_oom(void);

/*
 * Progress reports from long operations: delta bytes were finished since
 * the previous report, out of total. May be called from worker threads.
 */
typedef void (*mbr_progress_fn)(void *payload, uint64_t delta, uint64_t total);

/* Where an operation reports its progress; a NULL pointer to one, or a
 * NULL fn, reports nowhere. */
struct mbr_progress {
	mbr_progress_fn fn;
	void *payload;
};

#endif
