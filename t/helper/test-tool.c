/*
 * test-tool.c - one binary for the helpers tests need (git's test-tool):
 *
 *	t/helper/test-tool <subcommand> [<args>...]
 *
 * Adding a subcommand is one line in the table below plus its cmd__<name>.
 */
#include <stdio.h>
#include <string.h>
#include "test-tool.h"

struct test_cmd {
	const char *name;
	int (*fn)(int argc, const char **argv);
};

static const struct test_cmd cmds[] = {
	{ "bench-kernels", cmd__bench_kernels },
	{ "bench-matmul", cmd__bench_matmul },
	{ "gguf-fields", cmd__gguf_fields },
	{ "gguf-rewrite", cmd__gguf_rewrite },
	{ "mkmodel", cmd__mkmodel },
};

static int usage(void)
{
	fprintf(stderr, "usage: test-tool <subcommand> [<args>...]\n\nsubcommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "    %s\n", cmds[i].name);
	return 129;
}

int main(int argc, const char **argv)
{
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(cmds[i].name, argv[1])) {
			int status = cmds[i].fn(argc - 1, argv + 1);

			/* a lost write to stdout must not pass for success */
			if (fflush(stdout) || ferror(stdout)) {
				perror("test-tool: stdout");
				return 1;
			}
			return status;
		}
	}
	fprintf(stderr, "test-tool: unknown subcommand '%s'\n", argv[1]);
	return usage();
}
