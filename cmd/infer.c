/*
 * infer.c - mbr infer <rev|file> -p PROMPT [-n N] [sampling options]
 *
 * Also the engine setup mbr eval shares: weights from a file or a stored
 * version, the LoRA adapters applied to them, the model, its tokenizer and
 * a session.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/sampler.h"
#include "mbr/strbuf.h"

static int is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* REV|FILE[:SCALE]: the scale is what follows the last colon when that
 * is a number, since a path or a revision may hold colons too. */
static float split_scale(struct strbuf *source, const char *spec)
{
	const char *colon = strrchr(spec, ':');
	char *end;
	float v;

	if (colon && colon[1]) {
		v = strtof(colon + 1, &end);
		if (!*end && isfinite(v)) {
			strbuf_add(source, spec, (size_t)(colon - spec));
			return v;
		}
	}
	strbuf_addstr(source, spec);
	return 1.0f;
}

static void open_adapter(struct engine *e, struct engine_adapter *a, const char *spec)
{
	struct strbuf source = STRBUF_INIT;
	int err;

	a->scale = split_scale(&source, spec);
	if (is_file(source.buf)) {
		err = mbr_lora_open_file(&a->lora, source.buf);
	} else {
		if (!e->repo)
			e->repo = setup_repo();
		err = mbr_lora_open_version(&a->lora, e->repo, source.buf);
	}
	if (err || mbr_model_add_lora(e->model, a->lora, a->scale))
		die("%s", mbr_error_last());
	strbuf_release(&source);
}

void engine_open_adapters(struct engine *e, const char *rev_or_file, int n_ctx,
			  int n_threads, const char *const *adapters, int n_adapters)
{
	int err;

	memset(e, 0, sizeof(*e));
	if (is_file(rev_or_file)) {
		err = mbr_weights_open_file(&e->w, rev_or_file);
	} else {
		e->repo = setup_repo();
		err = mbr_weights_open_version(&e->w, e->repo, rev_or_file);
	}
	if (err || mbr_model_build(&e->model, e->w) ||
	    mbr_tokenizer_load(&e->tok, e->w->mf))
		die("%s", mbr_error_last());
	if (n_adapters > 0 &&
	    !(e->adapters = calloc((size_t)n_adapters, sizeof(*e->adapters))))
		die("out of memory");
	/* before the session, which sizes its buffers for the ranks */
	for (; (int)e->n_adapters < n_adapters; e->n_adapters++)
		open_adapter(e, &e->adapters[e->n_adapters], adapters[e->n_adapters]);
	if (n_ctx <= 0)
		n_ctx = e->model->cfg.n_ctx_train < ENGINE_DEFAULT_CTX ?
			e->model->cfg.n_ctx_train : ENGINE_DEFAULT_CTX;
	if (mbr_session_new(&e->session, e->model, n_ctx, n_threads))
		die("%s", mbr_error_last());
}

void engine_open(struct engine *e, const char *rev_or_file, int n_ctx, int n_threads)
{
	engine_open_adapters(e, rev_or_file, n_ctx, n_threads, NULL, 0);
}

void engine_close(struct engine *e)
{
	mbr_session_free(e->session);
	mbr_tokenizer_free(e->tok);
	mbr_model_free(e->model);
	for (size_t i = 0; i < e->n_adapters; i++)
		mbr_lora_free(e->adapters[i].lora);
	free(e->adapters);
	mbr_weights_free(e->w);
	mbr_repo_free(e->repo);
}

double engine_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *const infer_usage[] = {
	"mbr infer <rev|file> -p <prompt> [-n <n>] [--temp <t>] [--top-k <k>]\n"
	"          [--top-p <p>] [--min-p <p>] [--repeat-penalty <r>] [--seed <s>]\n"
	"          [-t <n>] [-c <n>] [--adapter <rev|file>[:<scale>]...] [--timings] [--json]",
	NULL
};

struct infer_stats {
	size_t prompt_tokens, decode_tokens;
	double prompt_seconds, decode_seconds;
};

static void print_timings(const struct infer_stats *st, int json)
{
	struct rusage ru;
	double prompt_tps = st->prompt_tokens / st->prompt_seconds;
	double decode_tps = st->decode_seconds > 0 ?
			    st->decode_tokens / st->decode_seconds : 0;
	uint64_t rss;

	getrusage(RUSAGE_SELF, &ru);
	rss = (uint64_t)ru.ru_maxrss * 1024;	/* Linux reports KiB */
	if (json) {
		json_t *o = json_pack("{s:I, s:f, s:I, s:f, s:I}",
				      "prompt_tokens", (json_int_t)st->prompt_tokens,
				      "prompt_tps", prompt_tps,
				      "decode_tokens", (json_int_t)st->decode_tokens,
				      "decode_tps", decode_tps,
				      "peak_rss_bytes", (json_int_t)rss);
		char *s = json_dumps(o, JSON_COMPACT);

		fprintf(stderr, "%s\n", s);
		free(s);
		json_decref(o);
		return;
	}
	fprintf(stderr, "prompt: %zu tokens, %.1f tokens/s\n"
		"decode: %zu tokens, %.1f tokens/s\npeak RSS: %.1f MiB\n",
		st->prompt_tokens, prompt_tps, st->decode_tokens, decode_tps,
		rss / 1048576.0);
}

/* A float option's text, or die naming the option. */
static float parse_float(const char *opt, const char *s, float min)
{
	char *end;
	float v;

	if (!s)
		return NAN;
	v = strtof(s, &end);
	if (!*s || *end || !isfinite(v) || v < min)
		die("%s wants a number of at least %g, not '%s'", opt, min, s);
	return v;
}

static uint64_t default_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec;
}

struct infer_opts {
	const char *prompt, *temp, *top_p, *min_p, *repeat_penalty, *seed;
	int n_predict, top_k, n_threads, n_ctx, timings, json;
	struct string_list adapters;
};

static void sampler_params(struct mbr_sampler_params *sp, const struct infer_opts *o)
{
	mbr_sampler_params_init(sp);
	if (o->temp)
		sp->temp = parse_float("--temp", o->temp, 0);
	if (o->top_k >= 0)
		sp->top_k = o->top_k;
	if (o->top_p)
		sp->top_p = parse_float("--top-p", o->top_p, 0);
	if (o->min_p)
		sp->min_p = parse_float("--min-p", o->min_p, 0);
	if (o->repeat_penalty)
		sp->repeat_penalty = parse_float("--repeat-penalty", o->repeat_penalty, 0);
	sp->seed = o->seed ? strtoull(o->seed, NULL, 0) : default_seed();
}

/*
 * Generate up to n tokens after the prompt, printing each piece as it
 * comes. Stops early at the end-of-sequence token or a full context.
 */
static int generate(struct engine *e, struct mbr_sampler *smp, float *logits,
		    int pos, int n, struct infer_stats *st)
{
	struct strbuf piece = STRBUF_INIT;
	int32_t eos = mbr_tokenizer_eos(e->tok);
	double start = engine_now();
	int err = 0;

	for (int i = 0; i < n; i++) {
		int32_t id = mbr_sampler_sample(smp, logits);

		if (id == eos)
			break;
		mbr_sampler_accept(smp, id);
		strbuf_reset(&piece);
		mbr_detokenize_piece(e->tok, id, &piece);
		fwrite(piece.buf, 1, piece.len, stdout);
		fflush(stdout);
		st->decode_tokens++;
		/* the last token needs no forward pass: nothing will read it */
		if (i + 1 == n || pos == mbr_session_n_ctx(e->session))
			break;
		if ((err = mbr_session_decode(e->session, &id, 1, pos++, logits, 1)))
			break;
	}
	st->decode_seconds = engine_now() - start;
	strbuf_release(&piece);
	return err;
}

/*
 * A forward pass of the prompt's first two tokens before the timed one,
 * as llama.cpp's tools make before theirs (llama-cli decodes BOS and EOS,
 * llama-bench its whole batch): a process's first pass over the weights
 * is slower than the next, by a third of a TinyLlama Q4_0 prompt on the
 * benchmark machine even with every page mapped and read beforehand. The
 * prompt then rewrites the same cache cells with the same values.
 */
static void warm_up(struct mbr_session *s, const int32_t *ids, size_t n_ids)
{
	if (mbr_session_decode(s, ids, n_ids < 2 ? (int)n_ids : 2, 0, NULL, 0))
		die("%s", mbr_error_last());
}

int cmd_infer(int argc, const char **argv)
{
	struct infer_opts o = { .n_predict = 128, .top_k = -1 };
	struct option opts[] = {
		OPT_STRING('p', "prompt", &o.prompt, "prompt", "the text to continue"),
		OPT_INTEGER('n', "n-predict", &o.n_predict, "n", "tokens to generate (default 128)"),
		OPT_STRING(0, "temp", &o.temp, "t", "temperature; 0 is greedy (default 0.8)"),
		OPT_INTEGER(0, "top-k", &o.top_k, "k", "keep the k most likely tokens; 0: all (default 40)"),
		OPT_STRING(0, "top-p", &o.top_p, "p", "keep the most likely tokens up to probability p (default 0.95)"),
		OPT_STRING(0, "min-p", &o.min_p, "p", "drop tokens less than p times as likely as the best (default 0.05)"),
		OPT_STRING(0, "repeat-penalty", &o.repeat_penalty, "r", "penalize the last 64 tokens by r (default 1: off)"),
		OPT_STRING(0, "seed", &o.seed, "s", "seed of the random draws (default: from the clock)"),
		OPT_INTEGER('t', "threads", &o.n_threads, "n", "threads (default: all cores)"),
		OPT_INTEGER('c', "ctx", &o.n_ctx, "n", "context size (default: the model's, at most 4096)"),
		OPT_STRING_LIST(0, "adapter", &o.adapters, "rev|file[:scale]",
				"apply a LoRA adapter (repeatable; scale 1 by default)"),
		OPT_BOOL(0, "timings", &o.timings, "print speed and peak memory on stderr"),
		OPT_BOOL(0, "json", &o.json, "print the timings as one JSON object on stderr"),
		OPT_END()
	};
	struct mbr_sampler_params sp;
	struct mbr_sampler *smp;
	struct infer_stats st = { 0 };
	struct engine e;
	int32_t *ids;
	size_t n_ids;
	float *logits;
	double start;
	int err;

	argc = parse_options(argc, argv, opts, infer_usage);
	if (argc != 1 || !o.prompt || o.n_predict < 0)
		usage_with_options(infer_usage, opts);
	sampler_params(&sp, &o);
	engine_open_adapters(&e, argv[0], o.n_ctx, o.n_threads, o.adapters.items,
			     o.adapters.nr);
	if (mbr_tokenize(e.tok, o.prompt, strlen(o.prompt),
			 mbr_tokenizer_add_bos(e.tok), &ids, &n_ids))
		die("%s", mbr_error_last());
	if (!n_ids || n_ids >= (size_t)mbr_session_n_ctx(e.session))
		die("the prompt is %zu tokens; the context holds %d", n_ids,
		    mbr_session_n_ctx(e.session));
	if (mbr_sampler_new(&smp, &sp, e.model->cfg.n_vocab) ||
	    !(logits = malloc((size_t)e.model->cfg.n_vocab * sizeof(*logits))))
		die("out of memory");
	for (size_t i = 0; i < n_ids; i++)
		mbr_sampler_accept(smp, ids[i]);
	warm_up(e.session, ids, n_ids);
	start = engine_now();
	err = mbr_session_decode(e.session, ids, (int)n_ids, 0, logits, 1);
	st.prompt_tokens = n_ids;
	st.prompt_seconds = engine_now() - start;
	if (!err && o.n_predict)
		err = generate(&e, smp, logits, (int)n_ids, o.n_predict, &st);
	printf("\n");
	if (!err && (o.timings || o.json))
		print_timings(&st, o.json);
	free(logits);
	free(ids);
	mbr_sampler_free(smp);
	engine_close(&e);
	string_list_clear(&o.adapters);
	return err ? error("%s", mbr_error_last()) : 0;
}
