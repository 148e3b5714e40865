/*
 * eval.c - mbr eval <rev|file> --perplexity TEXTFILE [--ctx N] [-t N] [--json]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/perplexity.h"
#include "mbr/strbuf.h"

static const char *const eval_usage[] = {
	"mbr eval <rev|file> --perplexity <text-file> [--ctx <n>] [-t <n>]\n"
	"         [--adapter <rev|file>[:<scale>]...] [--json]",
	NULL
};

static void read_text(struct strbuf *sb, const char *path)
{
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;

	if (!f)
		die("cannot open '%s': %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)))
		strbuf_add(sb, buf, n);
	if (ferror(f))
		die("cannot read '%s': %s", path, strerror(errno));
	fclose(f);
}

static void print_result(const struct mbr_perplexity_result *r, const char *model,
			 const char *text, int json)
{
	double tps = r->seconds > 0 ? r->tokens_evaluated / r->seconds : 0;

	if (json) {
		print_json(json_pack("{s:s, s:s, s:f, s:f, s:f, s:I, s:i, s:i, s:I, s:f, s:f}",
				     "model", model, "text", text,
				     "perplexity", r->ppl,
				     "perplexity_error", r->ppl_error,
				     "nll", r->nll,
				     "tokens_scored", (json_int_t)r->tokens_scored,
				     "chunks", r->chunks, "ctx", r->n_ctx,
				     "tokens_evaluated", (json_int_t)r->tokens_evaluated,
				     "seconds", r->seconds, "tps", tps));
		return;
	}
	printf("perplexity: %.4f +/- %.4f\n", r->ppl, r->ppl_error);
	printf("%d chunks of %d tokens, %llu tokens scored, %.2f s, %.1f tokens/s\n",
	       r->chunks, r->n_ctx, (unsigned long long)r->tokens_scored,
	       r->seconds, tps);
}

int cmd_eval(int argc, const char **argv)
{
	const char *text_path = NULL;
	int n_ctx = 512, n_threads = 0, json = 0;
	struct string_list adapters = { 0 };
	struct option opts[] = {
		OPT_STRING(0, "perplexity", &text_path, "text-file", "measure perplexity on this text"),
		OPT_INTEGER('c', "ctx", &n_ctx, "n", "tokens per chunk (default 512)"),
		OPT_INTEGER('t', "threads", &n_threads, "n", "threads (default: all cores)"),
		OPT_STRING_LIST(0, "adapter", &adapters, "rev|file[:scale]",
				"apply a LoRA adapter (repeatable; scale 1 by default)"),
		OPT_BOOL(0, "json", &json, "print the result as JSON"),
		OPT_END()
	};
	struct strbuf text = STRBUF_INIT;
	struct mbr_perplexity_result r;
	struct engine e;
	int32_t *ids;
	size_t n_ids;
	int err;

	argc = parse_options(argc, argv, opts, eval_usage);
	if (argc != 1 || !text_path || n_ctx < 4)
		usage_with_options(eval_usage, opts);
	read_text(&text, text_path);
	engine_open_adapters(&e, argv[0], n_ctx, n_threads, adapters.items, adapters.nr);
	/* llama-perplexity: the whole text at once, one BOS in front */
	if (mbr_tokenize(e.tok, text.buf, text.len, mbr_tokenizer_add_bos(e.tok),
			 &ids, &n_ids))
		die("%s", mbr_error_last());
	err = mbr_perplexity(&r, e.session, ids, n_ids,
			     mbr_tokenizer_add_bos(e.tok) ? mbr_tokenizer_bos(e.tok) : -1);
	if (!err)
		print_result(&r, argv[0], text_path, json);
	free(ids);
	strbuf_release(&text);
	engine_close(&e);
	string_list_clear(&adapters);
	return err ? error("%s", mbr_error_last()) : 0;
}
