/*
 * parse-options.c - see parse-options.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "builtin.h"
#include "parse-options.h"

static void print_usage(FILE *out, const char *const *usage, const struct option *opts)
{
	fprintf(out, "usage: %s\n", usage[0]);
	for (int i = 1; usage[i]; i++)
		fprintf(out, "   or: %s\n", usage[i]);
	fputc('\n', out);
	for (const struct option *o = opts; o->type != OPT_END_; o++) {
		char left[64];
		int n = 0;

		if (o->short_name)
			n += snprintf(left + n, sizeof(left) - n, "-%c%s", o->short_name,
				      o->long_name ? ", " : "");
		if (o->long_name)
			n += snprintf(left + n, sizeof(left) - n, "--%s", o->long_name);
		if (o->argh)
			snprintf(left + n, sizeof(left) - n, " <%s>", o->argh);
		fprintf(out, "    %-26s %s\n", left, o->help);
	}
}

void usage_with_options(const char *const *usage, const struct option *opts)
{
	print_usage(stderr, usage, opts);
	exit(129);
}

/* For contrib/completion: print every long option of this command. */
static void print_completion(const struct option *opts)
{
	for (const struct option *o = opts; o->type != OPT_END_; o++)
		if (o->long_name)
			printf("--%s%s ", o->long_name, o->argh ? "=" : "");
	printf("\n");
	exit(0);
}

static void string_list_append(struct string_list *list, const char *s)
{
	if (list->nr == list->alloc) {
		list->alloc = list->alloc ? 2 * list->alloc : 4;
		list->items = realloc(list->items, list->alloc * sizeof(*list->items));
		if (!list->items)
			die("out of memory");
	}
	list->items[list->nr++] = s;
}

void string_list_clear(struct string_list *list)
{
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static void set_value(const struct option *o, const char *arg,
		      const char *const *usage, const struct option *opts)
{
	char *end;
	long v;

	switch (o->type) {
	case OPT_BOOL_:
		*(int *)o->value = 1;
		return;
	case OPT_STRING_:
		*(const char **)o->value = arg;
		return;
	case OPT_STRING_LIST_:
		string_list_append(o->value, arg);
		return;
	case OPT_INT_:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < INT_MIN || v > INT_MAX) {
			error("option '%s' expects an integer, not '%s'",
			      o->long_name ? o->long_name : "?", arg);
			usage_with_options(usage, opts);
		}
		*(int *)o->value = (int)v;
		return;
	case OPT_END_:
		break;
	}
}

static const struct option *find_long(const struct option *opts, const char *name, size_t len)
{
	for (const struct option *o = opts; o->type != OPT_END_; o++)
		if (o->long_name && strlen(o->long_name) == len &&
		    !strncmp(o->long_name, name, len))
			return o;
	return NULL;
}

static const struct option *find_short(const struct option *opts, int c)
{
	for (const struct option *o = opts; o->type != OPT_END_; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

/* Handle argv[*i]; may consume the next argument as a value. */
static void parse_one(int argc, const char **argv, int *i, const struct option *opts,
		      const char *const *usage)
{
	const char *arg = argv[*i];
	const struct option *o;
	const char *value = NULL;

	if (arg[1] == '-') {
		const char *eq = strchr(arg + 2, '=');
		size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);

		if (!strcmp(arg, "--help"))
			print_usage(stdout, usage, opts), exit(0);
		if (!strcmp(arg, "--mbr-completion-helper"))
			print_completion(opts);
		o = find_long(opts, arg + 2, len);
		if (!o) {
			error("unknown option '%s'", arg);
			usage_with_options(usage, opts);
		}
		if (eq)
			value = eq + 1;
	} else {
		if (!strcmp(arg, "-h"))
			print_usage(stdout, usage, opts), exit(0);
		o = find_short(opts, arg[1]);
		if (!o || arg[2]) {
			error("unknown switch '%s'", arg);
			usage_with_options(usage, opts);
		}
	}
	if (o->type == OPT_BOOL_) {
		if (value) {
			error("option '--%s' takes no value", o->long_name);
			usage_with_options(usage, opts);
		}
	} else if (!value) {
		if (*i + 1 >= argc) {
			error("option '%s' requires a value", arg);
			usage_with_options(usage, opts);
		}
		value = argv[++*i];
	}
	set_value(o, value, usage, opts);
}

int parse_options(int argc, const char **argv, const struct option *opts,
		  const char *const *usage)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--")) {
			while (++i < argc)
				argv[n++] = argv[i];
			break;
		}
		if (arg[0] == '-' && arg[1])
			parse_one(argc, argv, &i, opts, usage);
		else
			argv[n++] = arg;
	}
	argv[n] = NULL;
	return n;
}
