/*
 * test-tool.h - subcommands of t/helper/test-tool, the tests' helper.
 *
 * A subcommand is a cmd__<name>() in t/helper/<name>.c, declared here and
 * listed in the table in test-tool.c. It returns the exit status: 0, 1 for
 * a failure, 129 for bad usage.
 */
#ifndef TEST_TOOL_H
#define TEST_TOOL_H

int cmd__bench_kernels(int argc, const char **argv);
int cmd__bench_matmul(int argc, const char **argv);
int cmd__gguf_fields(int argc, const char **argv);
int cmd__gguf_rewrite(int argc, const char **argv);
int cmd__mkmodel(int argc, const char **argv);

#endif
