/*
 * eval.c - evaluation suites: load and check them with their data, and
 * run their tasks (perplexity, multiple choice, generation) on a session.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mbr/error.h"
#include "mbr/eval.h"
#include "mbr/perplexity.h"
#include "mbr/strbuf.h"

/* Beyond these a suite is not one this engine can run anyway. */
#define MAX_TASKS 256
#define MAX_STOPS 16
#define MAX_CHOICES 64
#define MAX_CTX 65536
#define MAX_FILE_BYTES (1u << 30)

/* ---- loading ------------------------------------------------------ */

/* Where problems are: the suite, the task, and for data the file:line. */
struct where {
	const char *suite;
	const struct mbr_eval_task *task;
	size_t index;		/* the task's, when it has no name yet */
	size_t line;		/* in the task's file; 0: not in a file */
};

__attribute__((format(printf, 2, 3)))
static int bad(const struct where *w, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	strbuf_addf(&sb, "%s", w->suite);
	if (w->task && w->task->name)
		strbuf_addf(&sb, ": task '%s'", w->task->name);
	else if (w->task)
		strbuf_addf(&sb, ": task %zu", w->index + 1);
	if (w->line)
		strbuf_addf(&sb, ": %s:%zu", w->task->file, w->line);
	strbuf_addstr(&sb, ": ");
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	mbr_error_set(MBR_ERROR_INVALID, "%s", sb.buf);
	strbuf_release(&sb);
	return MBR_EINVALID;
}

static int read_file(char **out, size_t *len, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;

	if (!f)
		return mbr_error_set_os("cannot open '%s'", path), MBR_ENOTFOUND;
	while ((n = fread(buf, 1, sizeof(buf), f)) && sb.len <= MAX_FILE_BYTES)
		strbuf_add(&sb, buf, n);
	if (ferror(f) || sb.len > MAX_FILE_BYTES) {
		if (ferror(f))
			mbr_error_set_os("cannot read '%s'", path);
		else
			mbr_error_set(MBR_ERROR_INVALID, "'%s' is larger than 1 GiB", path);
		fclose(f);
		strbuf_release(&sb);
		return MBR_EIO;
	}
	fclose(f);
	*out = strbuf_detach(&sb, len);
	return 0;
}

/* A key's string value, or NULL (and an error) when absent or not one. */
static const char *get_string(const struct where *w, json_t *o, const char *key,
			      int *err)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		return json_string_value(v);
	*err = bad(w, v ? "\"%s\" is not a string" : "no \"%s\"", key);
	return NULL;
}

/* An optional integer key in [min, max]; *val keeps its default when absent. */
static int get_int(const struct where *w, json_t *o, const char *key, int min,
		   int max, int *val)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return bad(w, "\"%s\" is not an integer from %d to %d", key, min, max);
	*val = (int)json_integer_value(v);
	return 0;
}

/* Every key of o is one of keys (NULL-terminated). */
static int check_keys(const struct where *w, json_t *o, const char *const *keys)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], key); i++)
			;
		if (!keys[i])
			return bad(w, "unknown field \"%s\"", key);
	}
	return 0;
}

/* A non-empty array of at most max non-empty strings, copied. */
static int get_strings(const struct where *w, json_t *arr, const char *what,
		       size_t max, char ***out, size_t *n)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || !json_array_size(arr) || json_array_size(arr) > max)
		return bad(w, "\"%s\" is not an array of 1 to %zu strings", what, max);
	MBR_CHECK_ALLOC(*out = calloc(json_array_size(arr), sizeof(**out)));
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || !json_string_length(v))
			return bad(w, "\"%s\" item %zu is not a non-empty string", what, i);
		MBR_CHECK_ALLOC((*out)[i] = strdup(json_string_value(v)));
		(*n)++;
	}
	return 0;
}

static int dup_string(char **out, const char *s)
{
	MBR_CHECK_ALLOC(*out = strdup(s));
	return 0;
}

static int parse_mc(const struct where *w, json_t *o, struct mbr_mc_item *it)
{
	static const char *const keys[] = { "context", "choices", "answer", NULL };
	const char *context;
	json_t *answer = json_object_get(o, "answer");
	int err = 0;

	if ((err = check_keys(w, o, keys)) || !(context = get_string(w, o, "context", &err)) ||
	    (err = dup_string(&it->context, context)) ||
	    (err = get_strings(w, json_object_get(o, "choices"), "choices", MAX_CHOICES,
			       &it->choices, &it->n_choices)))
		return err;
	if (!json_is_integer(answer) || json_integer_value(answer) < 0 ||
	    (size_t)json_integer_value(answer) >= it->n_choices)
		return bad(w, "\"answer\" is not a choice's index (0 to %zu)",
			   it->n_choices - 1);
	it->answer = (size_t)json_integer_value(answer);
	return 0;
}

static int parse_gen(const struct where *w, json_t *o, struct mbr_gen_item *it)
{
	static const char *const keys[] = { "prompt", "target", NULL };
	const char *prompt, *target;
	int err = 0;

	if ((err = check_keys(w, o, keys)) ||
	    !(prompt = get_string(w, o, "prompt", &err)) ||
	    !(target = get_string(w, o, "target", &err)) ||
	    (err = dup_string(&it->prompt, prompt)))
		return err;
	return dup_string(&it->target, target);
}

/* One JSON object per line; blank lines are skipped. */
static int parse_jsonl(struct where *w, struct mbr_eval_task *t, const char *text,
		       size_t len)
{
	size_t item = t->type == MBR_TASK_MULTIPLE_CHOICE ? sizeof(*t->mc) : sizeof(*t->gen);
	void **items = t->type == MBR_TASK_MULTIPLE_CHOICE ? (void **)&t->mc : (void **)&t->gen;
	int err = 0;

	for (size_t off = 0, alloc = 0; off < len && !err; off++) {
		size_t end = off + strcspn(text + off, "\n");
		json_error_t jerr;
		json_t *o;

		w->line++;
		if (strspn(text + off, " \t\r") >= end - off) {
			off = end;
			continue;
		}
		if (t->n_items == alloc) {
			void *more = realloc(*items, (alloc = alloc ? 2 * alloc : 64) * item);

			MBR_CHECK_ALLOC(more);
			/* zeroed, so a half-parsed item frees cleanly */
			memset((char *)more + t->n_items * item, 0, (alloc - t->n_items) * item);
			*items = more;
		}
		o = json_loadb(text + off, end - off, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(o))
			err = bad(w, "not a JSON object%s%s", o ? "" : ": ", o ? "" : jerr.text);
		else if (t->type == MBR_TASK_MULTIPLE_CHOICE)
			err = parse_mc(w, o, &t->mc[t->n_items++]);
		else
			err = parse_gen(w, o, &t->gen[t->n_items++]);
		json_decref(o);
		off = end;
	}
	w->line = 0;
	if (!err && !t->n_items)
		err = bad(w, "'%s' holds no items", t->file);
	return err;
}

/* The file, relative to the suite's directory unless absolute. */
static int resolve_path(char **out, const char *suite_path, const char *file)
{
	const char *slash = strrchr(suite_path, '/');
	struct strbuf sb = STRBUF_INIT;

	if (slash && file[0] != '/')
		strbuf_add(&sb, suite_path, (size_t)(slash - suite_path + 1));
	strbuf_addstr(&sb, file);
	*out = strbuf_detach(&sb, NULL);
	return 0;
}

static int load_task_file(struct where *w, struct mbr_eval_task *t)
{
	char *text;
	size_t len;
	int err;

	if ((err = resolve_path(&t->path, w->suite, t->file)))
		return err;
	if ((err = read_file(&text, &len, t->path)))
		return bad(w, "%s", mbr_error_last());
	mbr_sha256(&t->sha256, text, len);
	if (t->type == MBR_TASK_PERPLEXITY) {
		t->text = text;
		t->text_len = len;
		return 0;
	}
	err = parse_jsonl(w, t, text, len);
	free(text);
	return err;
}

static int type_of(const char *s)
{
	if (!strcmp(s, "perplexity"))
		return MBR_TASK_PERPLEXITY;
	if (!strcmp(s, "multiple_choice"))
		return MBR_TASK_MULTIPLE_CHOICE;
	if (!strcmp(s, "generate"))
		return MBR_TASK_GENERATE;
	return 0;
}

/* The fields each type takes, beyond name, type and file. */
static int check_task_keys(const struct where *w, json_t *o, int type)
{
	static const char *const ppl[] = { "name", "type", "file", "ctx", "chunks", NULL };
	static const char *const mc[] = { "name", "type", "file", NULL };
	static const char *const gen[] = { "name", "type", "file", "max_tokens", "stop", NULL };

	return check_keys(w, o, type == MBR_TASK_PERPLEXITY ? ppl :
			  type == MBR_TASK_MULTIPLE_CHOICE ? mc : gen);
}

static int check_name(const struct where *w, const struct mbr_suite *s, size_t i)
{
	const char *name = s->tasks[i].name;

	if (!*name || strlen(name) > 64 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
	    strlen(name))
		return bad(w, "the name is not 1 to 64 of [A-Za-z0-9_-]");
	for (size_t j = 0; j < i; j++)
		if (!strcmp(s->tasks[j].name, name))
			return bad(w, "a second task of this name");
	return 0;
}

static int parse_task(struct mbr_suite *s, size_t i, json_t *o)
{
	struct mbr_eval_task *t = &s->tasks[i];
	struct where w = { s->path, t, i, 0 };
	const char *name, *type, *file;
	int err = 0;

	t->ctx = MBR_EVAL_DEFAULT_CTX;
	t->max_tokens = MBR_EVAL_DEFAULT_MAX_TOKENS;
	if (!json_is_object(o))
		return bad(&w, "not a JSON object");
	if (!(name = get_string(&w, o, "name", &err)) || (err = dup_string(&t->name, name)) ||
	    (err = check_name(&w, s, i)) || !(type = get_string(&w, o, "type", &err)) ||
	    !(file = get_string(&w, o, "file", &err)) || (err = dup_string(&t->file, file)))
		return err;
	if (!(t->type = type_of(type)))
		return bad(&w, "unknown type \"%s\" (perplexity, multiple_choice, generate)",
			   type);
	if ((err = check_task_keys(&w, o, t->type)) ||
	    (err = get_int(&w, o, "ctx", 4, MAX_CTX, &t->ctx)) ||
	    (err = get_int(&w, o, "chunks", 2, INT_MAX, &t->chunks)) ||
	    (err = get_int(&w, o, "max_tokens", 1, MAX_CTX, &t->max_tokens)))
		return err;
	if (json_object_get(o, "stop") &&
	    (err = get_strings(&w, json_object_get(o, "stop"), "stop", MAX_STOPS, &t->stop,
			       &t->n_stop)))
		return err;
	return load_task_file(&w, t);
}

static int parse_suite(struct mbr_suite *s, json_t *root)
{
	static const char *const keys[] = { "name", "tasks", NULL };
	struct where w = { s->path, NULL, 0, 0 };
	json_t *tasks = json_object_get(root, "tasks"), *t;
	const char *name;
	int err = 0;
	size_t i;

	if (!json_is_object(root))
		return bad(&w, "not a JSON object");
	if ((err = check_keys(&w, root, keys)) || !(name = get_string(&w, root, "name", &err)) ||
	    (err = dup_string(&s->name, name)))
		return err;
	if (!json_is_array(tasks) || !json_array_size(tasks) ||
	    json_array_size(tasks) > MAX_TASKS)
		return bad(&w, "\"tasks\" is not an array of 1 to %d tasks", MAX_TASKS);
	MBR_CHECK_ALLOC(s->tasks = calloc(json_array_size(tasks), sizeof(*s->tasks)));
	json_array_foreach(tasks, i, t) {
		s->n_tasks++;
		if ((err = parse_task(s, i, t)))
			return err;
	}
	return 0;
}

int mbr_suite_load(struct mbr_suite **out, const char *path)
{
	struct mbr_suite *s;
	json_error_t jerr;
	json_t *root;
	char *text;
	size_t len;
	int err;

	*out = NULL;
	MBR_CHECK_ALLOC(s = calloc(1, sizeof(*s)));
	if ((err = dup_string(&s->path, path)) || (err = read_file(&text, &len, path))) {
		mbr_suite_free(s);
		return err;
	}
	mbr_sha256(&s->sha256, text, len);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root) {
		mbr_error_set(MBR_ERROR_INVALID, "%s: line %d: %s", path, jerr.line, jerr.text);
		err = MBR_EINVALID;
	} else {
		err = parse_suite(s, root);
		json_decref(root);
	}
	if (err) {
		mbr_suite_free(s);
		return err;
	}
	*out = s;
	return 0;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void task_release(struct mbr_eval_task *t)
{
	for (size_t i = 0; t->mc && i < t->n_items; i++) {
		free(t->mc[i].context);
		free_strings(t->mc[i].choices, t->mc[i].n_choices);
	}
	for (size_t i = 0; t->gen && i < t->n_items; i++) {
		free(t->gen[i].prompt);
		free(t->gen[i].target);
	}
	free(t->mc);
	free(t->gen);
	free_strings(t->stop, t->n_stop);
	free(t->name);
	free(t->file);
	free(t->path);
	free(t->text);
}

void mbr_suite_free(struct mbr_suite *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_tasks; i++)
		task_release(&s->tasks[i]);
	free(s->tasks);
	free(s->name);
	free(s->path);
	free(s);
}

/* ---- running ------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A decode counted as prompt work (several tokens) or decode work (one). */
static int timed_decode(struct mbr_session *s, const int32_t *tokens, int n, int pos,
			float *logits, int n_logits, struct mbr_eval_stats *st)
{
	double start = now();
	int err = mbr_session_decode(s, tokens, n, pos, logits, n_logits);

	if (n == 1) {
		st->decode_tokens++;
		st->decode_seconds += now() - start;
	} else {
		st->prompt_tokens += (uint64_t)n;
		st->prompt_seconds += now() - start;
	}
	return err;
}

/* Tokens of a + b (b may be NULL), with BOS when the model wants it. */
static int tokenize2(int32_t **ids, size_t *n, const struct mbr_tokenizer *tok,
		     const char *a, const char *b)
{
	struct strbuf sb = STRBUF_INIT;
	int err;

	strbuf_addstr(&sb, a);
	if (b)
		strbuf_addstr(&sb, b);
	err = mbr_tokenize(tok, sb.buf, sb.len, mbr_tokenizer_add_bos(tok), ids, n);
	strbuf_release(&sb);
	return err;
}

static int too_long(const struct mbr_session *s, size_t n, const char *what)
{
	mbr_error_set(MBR_ERROR_INVALID, "%s is %zu tokens, more than the context of %d",
		      what, n, mbr_session_n_ctx(s));
	return MBR_EINVALID;
}

/* Sum of log p(whole[j]) for j >= L, continuing the cached prefix ctx[0..L-1). */
static int score_choice(double *score, struct mbr_session *s, const int32_t *ctx,
			size_t L, const int32_t *whole, size_t W, float *logits,
			struct mbr_eval_stats *st)
{
	int n_vocab = mbr_session_model(s)->cfg.n_vocab;
	size_t p = 0;
	int err;

	*score = 0;
	if (W <= L)
		return 0;	/* the choice merged into the context: no tokens of its own */
	if (W - 1 > (size_t)mbr_session_n_ctx(s))
		return too_long(s, W, "a context and choice");
	while (p < L - 1 && whole[p] == ctx[p])
		p++;
	/* the logits at positions L-1 .. W-2 predict whole[L .. W) */
	if ((err = timed_decode(s, whole + p, (int)(W - 1 - p), (int)p, logits,
				(int)(W - L), st)))
		return err;
	for (size_t j = L; j < W; j++)
		*score -= mbr_nll(logits + (j - L) * (size_t)n_vocab, n_vocab, whole[j]);
	return 0;
}

int mbr_eval_mc_scores(double *scores, struct mbr_session *s,
		       const struct mbr_tokenizer *tok, const struct mbr_mc_item *item,
		       struct mbr_eval_stats *st)
{
	size_t n_vocab = (size_t)mbr_session_model(s)->cfg.n_vocab, L = 0, max_cont = 1;
	int32_t *ctx = NULL, **whole;
	size_t *n_whole;
	float *logits = NULL;
	int err;

	whole = calloc(item->n_choices, sizeof(*whole));
	n_whole = calloc(item->n_choices, sizeof(*n_whole));
	err = whole && n_whole ? tokenize2(&ctx, &L, tok, item->context, NULL) :
	      (mbr_error_oom(), MBR_ENOMEM);
	for (size_t i = 0; !err && i < item->n_choices; i++) {
		err = tokenize2(&whole[i], &n_whole[i], tok, item->context, item->choices[i]);
		if (!err && n_whole[i] > L && n_whole[i] - L > max_cont)
			max_cont = n_whole[i] - L;
	}
	if (!err && !L)
		err = mbr_error_set(MBR_ERROR_INVALID, "an empty context needs a BOS token");
	if (!err && !(logits = malloc(max_cont * n_vocab * sizeof(*logits))))
		err = (mbr_error_oom(), MBR_ENOMEM);
	/* the common prefix once: every choice continues from the cache */
	if (!err && L > 1)
		err = L - 1 > (size_t)mbr_session_n_ctx(s) ? too_long(s, L, "a context") :
		      timed_decode(s, ctx, (int)(L - 1), 0, logits, 0, st);
	for (size_t i = 0; !err && i < item->n_choices; i++)
		err = score_choice(&scores[i], s, ctx, L, whole[i], n_whole[i], logits, st);
	for (size_t i = 0; whole && i < item->n_choices; i++)
		free(whole[i]);
	free(whole);
	free(n_whole);
	free(ctx);
	free(logits);
	return err;
}

/* The first index of the largest v[i] / (norm ? len(choice i) : 1). */
static size_t best_choice(const double *v, const struct mbr_mc_item *it, int norm)
{
	size_t best = 0;
	double best_v = -INFINITY;

	for (size_t i = 0; i < it->n_choices; i++) {
		double x = norm ? v[i] / (double)strlen(it->choices[i]) : v[i];

		if (x > best_v) {
			best_v = x;
			best = i;
		}
	}
	return best;
}

/* Two metrics that are shares of the items, and the item count. */
static int shares(json_t **metrics, const char *a, size_t n_a, const char *b, size_t n_b,
		  size_t items)
{
	*metrics = json_pack("{s:f, s:f, s:I}", a, (double)n_a / items, b, (double)n_b / items,
			     "items", (json_int_t)items);
	MBR_CHECK_ALLOC(*metrics);
	return 0;
}

static int run_mc(json_t **metrics, struct mbr_session *s, const struct mbr_tokenizer *tok,
		  const struct mbr_eval_task *t, struct mbr_eval_stats *st)
{
	size_t acc = 0, acc_norm = 0;
	double *scores = malloc(MAX_CHOICES * sizeof(*scores));
	int err = 0;

	MBR_CHECK_ALLOC(scores);
	for (size_t i = 0; i < t->n_items && !err; i++) {
		const struct mbr_mc_item *it = &t->mc[i];

		if ((err = mbr_eval_mc_scores(scores, s, tok, it, st)))
			break;
		acc += best_choice(scores, it, 0) == it->answer;
		acc_norm += best_choice(scores, it, 1) == it->answer;
		if (st->progress)
			st->progress(st->progress_payload, 1, t->n_items);
	}
	free(scores);
	return err ? err : shares(metrics, "acc", acc, "acc_norm", acc_norm, t->n_items);
}

static int32_t argmax(const float *v, int n)
{
	int32_t best = 0;

	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

/* Cut text at the earliest stop string; 1 when one was found. */
static int cut_at_stop(struct strbuf *text, char *const *stop, size_t n_stop)
{
	const char *first = NULL;

	for (size_t i = 0; i < n_stop; i++) {
		const char *at = strstr(text->buf, stop[i]);

		if (at && (!first || at < first))
			first = at;
	}
	if (first)
		strbuf_setlen(text, (size_t)(first - text->buf));
	return first != NULL;
}

int mbr_eval_generate(char **out, struct mbr_session *s, const struct mbr_tokenizer *tok,
		      const char *prompt, int max_tokens, char *const *stop, size_t n_stop,
		      struct mbr_eval_stats *st)
{
	int n_vocab = mbr_session_model(s)->cfg.n_vocab, n_ctx = mbr_session_n_ctx(s);
	struct strbuf text = STRBUF_INIT;
	int32_t *ids, eos = mbr_tokenizer_eos(tok);
	float *logits = malloc((size_t)n_vocab * sizeof(*logits));
	size_t n;
	int err, pos;

	*out = NULL;
	MBR_CHECK_ALLOC(logits);
	if ((err = tokenize2(&ids, &n, tok, prompt, NULL))) {
		free(logits);
		return err;
	}
	if (!n || n >= (size_t)n_ctx)
		err = n ? too_long(s, n, "a prompt") :
		      mbr_error_set(MBR_ERROR_INVALID, "an empty prompt needs a BOS token");
	else
		err = timed_decode(s, ids, (int)n, 0, logits, 1, st);
	for (int i = 0, id; !err && i < max_tokens; i++) {
		if ((id = argmax(logits, n_vocab)) == eos ||
		    (err = mbr_detokenize_piece(tok, id, &text)) ||
		    cut_at_stop(&text, stop, n_stop))
			break;
		/* the last token needs no forward pass: nothing reads its logits */
		pos = (int)n + i;
		if (i + 1 == max_tokens || pos == n_ctx)
			break;
		err = timed_decode(s, &id, 1, pos, logits, 1, st);
	}
	free(ids);
	free(logits);
	if (err) {
		strbuf_release(&text);
		return err;
	}
	*out = strbuf_detach(&text, NULL);
	return 0;
}

static int run_gen(json_t **metrics, struct mbr_session *s, const struct mbr_tokenizer *tok,
		   const struct mbr_eval_task *t, struct mbr_eval_stats *st)
{
	size_t exact = 0, contains = 0;
	int err = 0;

	for (size_t i = 0; i < t->n_items && !err; i++) {
		char *text;

		if ((err = mbr_eval_generate(&text, s, tok, t->gen[i].prompt, t->max_tokens,
					     t->stop, t->n_stop, st)))
			break;
		exact += !strcmp(text, t->gen[i].target);
		contains += strstr(text, t->gen[i].target) != NULL;
		free(text);
		if (st->progress)
			st->progress(st->progress_payload, 1, t->n_items);
	}
	return err ? err : shares(metrics, "exact_match", exact, "contains", contains,
				  t->n_items);
}

/* llama-perplexity: the whole text at once, one BOS in front. */
static int run_ppl(json_t **metrics, struct mbr_session *s, const struct mbr_tokenizer *tok,
		   const struct mbr_eval_task *t, struct mbr_eval_stats *st)
{
	int add_bos = mbr_tokenizer_add_bos(tok);
	struct mbr_perplexity_result r;
	int32_t *ids;
	size_t n;
	int err;

	if ((err = mbr_tokenize(tok, t->text, t->text_len, add_bos, &ids, &n)))
		return err;
	/* llama-perplexity --chunks: the first chunks only */
	if (t->chunks && n / (size_t)t->ctx > (size_t)t->chunks)
		n = (size_t)t->chunks * (size_t)t->ctx;
	err = mbr_perplexity_progress(&r, s, ids, n, add_bos ? mbr_tokenizer_bos(tok) : -1,
				      st->progress, st->progress_payload);
	free(ids);
	if (err)
		return err;
	st->prompt_tokens += r.tokens_evaluated;
	st->prompt_seconds += r.seconds;
	*metrics = json_pack("{s:f, s:f, s:f, s:I, s:i, s:i}", "perplexity", r.ppl,
			     "perplexity_error", r.ppl_error, "nll", r.nll,
			     "tokens", (json_int_t)r.tokens_scored, "chunks", r.chunks,
			     "ctx", r.n_ctx);
	MBR_CHECK_ALLOC(*metrics);
	return 0;
}

int mbr_eval_task_run(json_t **metrics, struct mbr_session *s,
		      const struct mbr_tokenizer *tok, const struct mbr_eval_task *t,
		      struct mbr_eval_stats *st)
{
	int err;

	*metrics = NULL;
	switch (t->type) {
	case MBR_TASK_PERPLEXITY:
		err = run_ppl(metrics, s, tok, t, st);
		break;
	case MBR_TASK_MULTIPLE_CHOICE:
		err = run_mc(metrics, s, tok, t, st);
		break;
	default:
		err = run_gen(metrics, s, tok, t, st);
		break;
	}
	if (err) {
		struct strbuf msg = STRBUF_INIT;

		strbuf_addf(&msg, "task '%s' (%s): %s", t->name, t->file, mbr_error_last());
		mbr_error_set(MBR_ERROR_INVALID, "%s", msg.buf);
		strbuf_release(&msg);
	}
	return err;
}
