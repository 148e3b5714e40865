/*
 * usage.c - messages and exits for commands (lib/ never exits).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "builtin.h"
#include "mbr/error.h"

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("fatal: ", fmt, ap);
	va_end(ap);
	exit(128);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

void die_lib(const char *what)
{
	die("%s: %s", what, mbr_error_last());
}

int error_lib(const char *what)
{
	return error("%s: %s", what, mbr_error_last());
}

void print_json(json_t *v)
{
	if (!v)
		die("out of memory");
	json_dumpf(v, stdout, JSON_PRESERVE_ORDER | JSON_INDENT(2));
	putchar('\n');
	json_decref(v);
}
