/*
 * eval.c - mbr eval <rev|file> --perplexity TEXTFILE [--ctx N] [-t N] [--json]
 *          mbr eval <rev> --suite SUITE [--force] [-t N] [--json]
 *
 * With a suite, the result is evidence recorded beside the lineage
 * (evidence.h); the same inputs on the same weights reuse it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/evidence.h"
#include "mbr/perplexity.h"
#include "mbr/pool.h"
#include "mbr/store.h"
#include "mbr/strbuf.h"

static const char *const eval_usage[] = {
	"mbr eval <rev|file> --perplexity <text-file> [--ctx <n>] [-t <n>]\n"
	"         [--adapter <rev|file>[:<scale>]...] [--json]",
	"mbr eval <rev> --suite <suite.json> [--force] [-t <n>]\n"
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

/* ---- --suite ------------------------------------------------------- */

struct suite_opts {
	int n_threads, force, json;
};

/* The adapters the engine applied, as evidence names them. */
static struct mbr_evidence_adapter *evidence_adapters(const struct engine *e)
{
	struct mbr_evidence_adapter *a = calloc(e->n_adapters + 1, sizeof(*a));

	if (!a)
		die("out of memory");
	for (size_t i = 0; i < e->n_adapters; i++) {
		a[i].name = e->adapters[i].lora->name;
		a[i].digest = e->adapters[i].lora->digest;
		a[i].scale = e->adapters[i].scale;
	}
	return a;
}

/* Each task on a session of the context it needs: perplexity's chunks
 * are the session's context; the others fit in the engine's. */
static json_t *run_tasks(struct engine *e, const struct mbr_suite *suite, int n_threads,
			 struct mbr_eval_stats *st)
{
	json_t *metrics = json_object(), *m;

	for (size_t i = 0; i < suite->n_tasks; i++) {
		const struct mbr_eval_task *t = &suite->tasks[i];
		struct mbr_session *s = e->session;

		struct progress *p;

		if (t->type == MBR_TASK_PERPLEXITY && t->ctx != mbr_session_n_ctx(s) &&
		    mbr_session_new(&s, e->model, t->ctx, n_threads))
			die("%s", mbr_error_last());
		p = progress_start_count(t->name, t->n_items,
					 t->type == MBR_TASK_PERPLEXITY ? "chunks" : "items");
		st->progress = p ? progress_update : NULL;
		st->progress_payload = p;
		if (mbr_eval_task_run(&m, s, e->tok, t, st))
			die("%s: %s", suite->path, mbr_error_last());
		progress_stop(p);
		if (s != e->session)
			mbr_session_free(s);
		json_object_set_new(metrics, t->name, m);
	}
	return metrics;
}

static void print_evidence(const json_t *ev, const struct mbr_oid *id, int reused, int json)
{
	json_t *run = json_object_get(ev, "run"), *task, *v;
	const char *name, *metric;
	char hex[MBR_OID_STRSZ];

	mbr_oid_fmt(hex, id);
	if (json) {
		print_json(json_pack("{s:s, s:b, s:O}", "id", hex, "reused", reused,
				     "evidence", ev));
		return;
	}
	printf("evidence %s (%s)\n", hex, reused ? "reused; --force measures again" :
	       "recorded");
	printf("suite %s on %s\n",
	       json_string_value(json_object_get(json_object_get(ev, "suite"), "name")),
	       json_string_value(json_object_get(json_object_get(ev, "weights"), "model")));
	json_object_foreach(json_object_get(ev, "metrics"), name, task)
		json_object_foreach(task, metric, v) {
			char column[160];

			snprintf(column, sizeof(column), "%s.%s", name, metric);
			if (json_is_integer(v))
				printf("  %-32s %lld\n", column, (long long)json_integer_value(v));
			else
				printf("  %-32s %.4f\n", column, json_real_value(v));
		}
	printf("prompt %.1f tokens/s, decode %.1f tokens/s, peak RSS %.1f MiB, %.2f s\n",
	       json_number_value(json_object_get(run, "prompt_tps")),
	       json_number_value(json_object_get(run, "decode_tps")),
	       json_number_value(json_object_get(run, "peak_rss_bytes")) / 1048576.0,
	       json_number_value(json_object_get(run, "seconds")));
}

/*
 * Evidence for rev on the suite: the recorded one for the same inputs
 * unless --force, else a new run, recorded. The version is resolved once,
 * so the weights measured are the ones named even if the branch moves.
 */
static int eval_suite(const char *rev, const char *suite_path, const struct suite_opts *o,
		      const struct string_list *adapters)
{
	struct mbr_evidence_inputs in = { .model = rev, .n_threads = o->n_threads };
	char commit[MBR_COMMIT_HEXSZ + 1];
	struct mbr_eval_stats st = { 0 };
	struct mbr_oid key, id;
	struct mbr_suite *suite;
	struct mbr_repo *repo = setup_repo();
	struct engine e;
	json_t *ev = NULL;
	double start = engine_now();
	int reused;

	if (mbr_suite_load(&suite, suite_path))
		die("%s", mbr_error_last());
	/* evidence names weights by their manifest: only a version has one */
	if (!access(rev, F_OK) && mbr_lineage_resolve(commit, repo->lineage, rev))
		die("'%s' is a file: evidence is recorded for stored versions (mbr add it first)",
		    rev);
	if (mbr_lineage_resolve(commit, repo->lineage, rev) ||
	    mbr_version_manifest_digest(&in.weights, repo, commit))
		die("%s", mbr_error_last());
	engine_open_adapters(&e, commit, 0, o->n_threads, adapters->items, adapters->nr);
	in.commit = commit;
	in.suite = suite;
	in.adapters = evidence_adapters(&e);
	in.n_adapters = e.n_adapters;
	if (in.n_threads <= 0)
		in.n_threads = mbr_online_cores();
	if (mbr_evidence_run_key(&key, &in) ||
	    (!o->force && mbr_evidence_lookup(&ev, &id, repo, &in.weights, &key)))
		die("%s", mbr_error_last());
	if (!(reused = ev != NULL)) {
		json_t *metrics = run_tasks(&e, suite, o->n_threads, &st);

		if (mbr_evidence_build(&ev, &in, metrics, &st, engine_now() - start) ||
		    mbr_evidence_record(&id, repo, ev))
			die("%s", mbr_error_last());
		json_decref(metrics);
	}
	print_evidence(ev, &id, reused, o->json);
	json_decref(ev);
	free((void *)in.adapters);
	engine_close(&e);
	mbr_suite_free(suite);
	mbr_repo_free(repo);
	return 0;
}

int cmd_eval(int argc, const char **argv)
{
	const char *text_path = NULL, *suite_path = NULL;
	int n_ctx = 512, n_threads = 0, json = 0, force = 0;
	struct string_list adapters = { 0 };
	struct option opts[] = {
		OPT_STRING(0, "perplexity", &text_path, "text-file", "measure perplexity on this text"),
		OPT_STRING(0, "suite", &suite_path, "suite.json", "run an evaluation suite and record the evidence"),
		OPT_BOOL(0, "force", &force, "with --suite: measure again even if recorded"),
		OPT_INTEGER('c', "ctx", &n_ctx, "n", "tokens per chunk (default 512)"),
		OPT_INTEGER('t', "threads", &n_threads, "n", "threads (default: all cores)"),
		OPT_STRING_LIST(0, "adapter", &adapters, "rev|file[:scale]",
				"apply a LoRA adapter (repeatable; scale 1 by default)"),
		OPT_BOOL(0, "json", &json, "print the result as JSON"),
		OPT_END()
	};
	struct strbuf text = STRBUF_INIT;
	struct mbr_perplexity_result r;
	struct progress *progress;
	struct engine e;
	int32_t *ids;
	size_t n_ids;
	int err;

	argc = parse_options(argc, argv, opts, eval_usage);
	if (argc != 1 || !text_path == !suite_path || n_ctx < 4)
		usage_with_options(eval_usage, opts);
	if (suite_path) {
		struct suite_opts so = { n_threads, force, json };

		err = eval_suite(argv[0], suite_path, &so, &adapters);
		string_list_clear(&adapters);
		return err;
	}
	read_text(&text, text_path);
	engine_open_adapters(&e, argv[0], n_ctx, n_threads, adapters.items, adapters.nr);
	/* llama-perplexity: the whole text at once, one BOS in front */
	if (mbr_tokenize(e.tok, text.buf, text.len, mbr_tokenizer_add_bos(e.tok),
			 &ids, &n_ids))
		die("%s", mbr_error_last());
	progress = progress_start_count("Perplexity", 0, "chunks");
	err = mbr_perplexity_progress(&r, e.session, ids, n_ids,
				      mbr_tokenizer_add_bos(e.tok) ? mbr_tokenizer_bos(e.tok) : -1,
				      progress ? progress_update : NULL, progress);
	progress_stop(progress);
	if (!err)
		print_result(&r, argv[0], text_path, json);
	free(ids);
	strbuf_release(&text);
	engine_close(&e);
	string_list_clear(&adapters);
	return err ? error("%s", mbr_error_last()) : 0;
}
