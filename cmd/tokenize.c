/*
 * tokenize.c - mbr tokenize REV|FILE (-f TEXTFILE | TEXT) [--bos] [--json]:
 * the token ids of a text under a model's tokenizer, on one line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/strbuf.h"
#include "mbr/tokenizer.h"
#include "mbr/weights.h"

static const char *const tokenize_usage[] = {
	"mbr tokenize <rev>|<file> (-f <textfile> | <text>) [--bos] [--json]",
	NULL
};

/* The whole of path ("-": standard input), any bytes. */
static void read_text(const char *path, struct strbuf *sb)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char buf[65536];
	size_t n;

	if (!f)
		die("cannot open '%s': %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(sb, buf, n);
	if (ferror(f))
		die("cannot read '%s'", path);
	if (f != stdin)
		fclose(f);
}

/* The tokenizer of a GGUF file when arg names one, else of a version. */
static struct mbr_tokenizer *load_tokenizer(const char *arg)
{
	struct mbr_tokenizer *t = NULL;
	struct stat st;
	int err;

	if (!stat(arg, &st) && S_ISREG(st.st_mode)) {
		struct mbr_modelfile *mf;

		if (mbr_modelfile_open(&mf, arg))
			die("%s", mbr_error_last());
		err = mbr_tokenizer_load(&t, mf);
		mbr_modelfile_free(mf);
	} else {
		struct mbr_repo *repo = setup_repo();
		struct mbr_weights *w;

		if (mbr_weights_open_version(&w, repo, arg))
			die("%s", mbr_error_last());
		err = mbr_tokenizer_load(&t, w->mf);
		mbr_weights_free(w);
		mbr_repo_free(repo);
	}
	if (err)
		die("%s", mbr_error_last());
	return t;
}

static void print_ids(const int32_t *ids, size_t n, int json)
{
	json_t *arr;

	if (!json) {
		for (size_t i = 0; i < n; i++)
			printf(i ? " %ld" : "%ld", (long)ids[i]);
		putchar('\n');
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_integer(ids[i]));
	print_json(json_pack("{s:o, s:I}", "tokens", arr, "count", (json_int_t)n));
}

int cmd_tokenize(int argc, const char **argv)
{
	const char *file = NULL;
	int bos = 0, json = 0;
	struct option opts[] = {
		OPT_STRING('f', "file", &file, "textfile", "tokenize this file's bytes ('-': standard input)"),
		OPT_BOOL(0, "bos", &bos, "put the BOS token first"),
		OPT_BOOL(0, "json", &json, "print {\"tokens\": [...], \"count\": n}"),
		OPT_END()
	};
	struct strbuf text = STRBUF_INIT;
	struct mbr_tokenizer *t;
	int32_t *ids;
	size_t n;
	int err;

	argc = parse_options(argc, argv, opts, tokenize_usage);
	if (argc != (file ? 1 : 2))
		usage_with_options(tokenize_usage, opts);
	if (file)
		read_text(file, &text);
	else
		strbuf_addstr(&text, argv[1]);
	t = load_tokenizer(argv[0]);
	err = mbr_tokenize(t, text.buf, text.len, bos, &ids, &n);
	if (!err) {
		print_ids(ids, n, json);
		free(ids);
	}
	mbr_tokenizer_free(t);
	strbuf_release(&text);
	return err ? error("%s", mbr_error_last()) : 0;
}
