/*
 * mbr.c - main, global options and the command table (git.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "builtin.h"
#include "mbr/error.h"
#include "mbr/repo.h"

const char *opt_chdir;

struct cmd_struct {
	const char *name;
	int (*fn)(int, const char **);
	const char *summary;
	int porcelain;
};

static const struct cmd_struct commands[] = {
	{ "init", cmd_init, "Create a registry", 1 },
	{ "add", cmd_add, "Store a GGUF or safetensors file as a new version", 1 },
	{ "ls", cmd_ls, "List models", 1 },
	{ "show", cmd_show, "Show a version: metadata, tensors, lineage", 1 },
	{ "log", cmd_log, "Show lineage history", 1 },
	{ "diff", cmd_diff, "Show what changed between two versions", 1 },
	{ "export", cmd_export, "Write a stored file back, byte for byte", 1 },
	{ "fsck", cmd_fsck, "Verify objects, manifests and refs", 1 },
	{ "gc", cmd_gc, "Delete objects nothing refers to", 1 },
	{ "infer", cmd_infer, "Generate text with a model", 1 },
	{ "bench", cmd_bench, "Measure the engine's speed on this machine, as llama-bench does", 1 },
	{ "eval", cmd_eval, "Evaluate a model: perplexity, or a suite recorded as evidence", 1 },
	{ "scorecard", cmd_scorecard, "Compare versions' evidence, each against its parent", 1 },
	{ "breed", cmd_breed, "Make a new version from stored ones: quantize, merge, LoRA", 1 },
	{ "help", cmd_help, "Show help for mbr or a command", 1 },
	{ "hash-object", cmd_hash_object, "Compute an object id (optionally store it)", 0 },
	{ "cat-object", cmd_cat_object, "Print an object's bytes or size", 0 },
	{ "ls-tensors", cmd_ls_tensors, "List a version's tensors and object ids", 0 },
	{ "tokenize", cmd_tokenize, "Print the token ids of a text", 0 },
};

static const struct cmd_struct *find_command(const char *name)
{
	for (size_t i = 0; i < MBR_ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

void list_commands(FILE *out)
{
	fprintf(out, "usage: mbr [-C <dir>] [--version] <command> [<args>]\n\n"
		"Commands:\n");
	for (size_t i = 0; i < MBR_ARRAY_SIZE(commands); i++)
		if (commands[i].porcelain)
			fprintf(out, "   %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nPlumbing:\n");
	for (size_t i = 0; i < MBR_ARRAY_SIZE(commands); i++)
		if (!commands[i].porcelain)
			fprintf(out, "   %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'mbr help <command>' shows a command's manual.\n");
}

/* The command names, for contrib/completion. */
static void list_command_names(void)
{
	for (size_t i = 0; i < MBR_ARRAY_SIZE(commands); i++)
		printf("%s\n", commands[i].name);
}

int main(int argc, const char **argv)
{
	const struct cmd_struct *cmd;
	int status;

	argv++, argc--;
	while (argc > 0 && argv[0][0] == '-') {
		if (!strcmp(argv[0], "-C") && argc > 1) {
			opt_chdir = argv[1];
			argv += 2, argc -= 2;
		} else if (!strcmp(argv[0], "--version")) {
			printf("mbr version %s\n", MBR_VERSION);
			return 0;
		} else if (!strcmp(argv[0], "--list-cmds")) {
			list_command_names();
			return 0;
		} else if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
			list_commands(stdout);
			return 0;
		} else {
			error("unknown option: %s", argv[0]);
			list_commands(stderr);
			return 129;
		}
	}
	if (argc == 0) {
		list_commands(stderr);
		return 129;
	}
	cmd = find_command(argv[0]);
	if (!cmd) {
		error("'%s' is not an mbr command. See 'mbr help'.", argv[0]);
		return 129;
	}
	status = cmd->fn(argc, argv);
	/* A failed write to stdout (full disk, closed pipe) must not look like success. */
	if (fflush(stdout) || ferror(stdout))
		die("write failure on standard output");
	return status < 0 ? 1 : status;
}
