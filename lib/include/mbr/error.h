/*
 * error.h - the per-thread last error (libgit2's git_error_last()).
 *
 * lib/ never prints and never exits. A failing function sets the last error
 * with a message that names the file or object and the problem, then returns
 * a negative MBR_E* code. Commands read it back with mbr_error_last().
 */
#ifndef MBR_ERROR_H
#define MBR_ERROR_H

#include "common.h"

enum mbr_error_class {
	MBR_ERROR_NONE = 0,
	MBR_ERROR_OS,		/* errno-based failures */
	MBR_ERROR_NOMEMORY,
	MBR_ERROR_INVALID,	/* bad argument or usage */
	MBR_ERROR_FORMAT,	/* GGUF / safetensors parsing */
	MBR_ERROR_ODB,		/* object store */
	MBR_ERROR_MANIFEST,
	MBR_ERROR_LINEAGE,	/* git / libgit2 */
	MBR_ERROR_REPO,
	MBR_ERROR_ZSTD,
	MBR_ERROR_KERNEL
};

/* Set the last error; returns MBR_ERROR so callers may `return mbr_error_set(..)`
 * when no more specific code applies. */
int mbr_error_set(enum mbr_error_class klass, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like mbr_error_set, with ": strerror(errno)" appended. */
int mbr_error_set_os(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The message of the last error on this thread, or "no error". Borrowed. */
const char *mbr_error_last(void);
enum mbr_error_class mbr_error_last_class(void);
void mbr_error_clear(void);

#endif
