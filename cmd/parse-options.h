/*
 * parse-options.h - declarative option parsing for commands (git's
 * parse-options, much reduced). The same table produces the usage text
 * and the word list for shell completion (--mbr-completion-helper).
 */
#ifndef MBR_PARSE_OPTIONS_H
#define MBR_PARSE_OPTIONS_H

enum opt_type { OPT_END_, OPT_BOOL_, OPT_STRING_, OPT_INT_, OPT_STRING_LIST_ };

struct option {
	enum opt_type type;
	int short_name;
	const char *long_name;
	void *value;
	const char *argh;	/* name of the argument in usage, e.g. "file" */
	const char *help;
};

/* A repeatable string option collects into this list. */
struct string_list {
	const char **items;
	int nr, alloc;
};

#define OPT_BOOL(s, l, v, h) { OPT_BOOL_, (s), (l), (v), NULL, (h) }
#define OPT_STRING(s, l, v, a, h) { OPT_STRING_, (s), (l), (v), (a), (h) }
#define OPT_INTEGER(s, l, v, a, h) { OPT_INT_, (s), (l), (v), (a), (h) }
#define OPT_STRING_LIST(s, l, v, a, h) { OPT_STRING_LIST_, (s), (l), (v), (a), (h) }
#define OPT_END() { OPT_END_, 0, NULL, NULL, NULL, NULL }

/*
 * Parse argv (argv[0] is the command name). Options may come before,
 * between or after arguments; "--" ends options. Returns the number of
 * remaining arguments, moved to argv[0..n). Unknown options and missing
 * values print the usage and exit 129; -h/--help prints it and exits 0.
 */
int parse_options(int argc, const char **argv, const struct option *opts,
		  const char *const *usage);
void usage_with_options(const char *const *usage, const struct option *opts)
	__attribute__((noreturn));
void string_list_clear(struct string_list *list);

#endif
