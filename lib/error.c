/*
 * error.c - the per-thread last error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "mbr/error.h"

static _Thread_local char last_message[1024];
static _Thread_local enum mbr_error_class last_class;

static void set_message(enum mbr_error_class klass, const char *fmt, va_list ap)
{
	vsnprintf(last_message, sizeof(last_message), fmt, ap);
	last_class = klass;
}

int mbr_error_set(enum mbr_error_class klass, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_message(klass, fmt, ap);
	va_end(ap);
	return MBR_ERROR;
}

int mbr_error_set_os(const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	set_message(MBR_ERROR_OS, fmt, ap);
	va_end(ap);
	len = strlen(last_message);
	snprintf(last_message + len, sizeof(last_message) - len, ": %s", strerror(saved));
	errno = saved;
	return MBR_EIO;
}

void mbr_error_oom(void)
{
	mbr_error_set(MBR_ERROR_NOMEMORY, "out of memory");
}

const char *mbr_error_last(void)
{
	return last_message[0] ? last_message : "no error";
}

enum mbr_error_class mbr_error_last_class(void)
{
	return last_class;
}

void mbr_error_clear(void)
{
	last_message[0] = '\0';
	last_class = MBR_ERROR_NONE;
}
