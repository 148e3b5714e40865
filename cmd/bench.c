/*
 * bench.c - mbr bench <rev|file> [-p <n>] [-n <n>] [-r <n>] [-t <n>] [--json]
 *
 * The engine's speed on this machine, measured the way llama.cpp's
 * llama-bench measures its own, so the two can be set side by side: a
 * warm-up run first, then each test repeated from an empty cache, the
 * mean and standard deviation of the runs' tokens per second.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "builtin.h"
#include "parse-options.h"
#include "mbr/error.h"
#include "mbr/random.h"

static const char *const bench_usage[] = {
	"mbr bench <rev|file> [-p <n>] [-n <n>] [-r <n>] [-t <n>] [--json]",
	NULL
};

struct bench_test {
	char name[32];			/* pp512, tg128: llama-bench's names */
	int n_prompt, n_gen;
	double *tps;			/* one per run */
	double mean, stddev;
};

/*
 * The tokens a test feeds: llama-bench's are random vocabulary ids after
 * BOS (it draws them from rand()); the values do not change the work a
 * dense model does, only which rows of the embedding are read. n >= 1.
 */
static int32_t *bench_tokens(const struct engine *e, int n)
{
	int32_t *ids = malloc((size_t)n * sizeof(*ids));
	uint64_t state = 0x6d6272;	/* "mbr": the same tokens every run */
	int n_vocab = e->model->cfg.n_vocab;

	if (!ids)
		die("out of memory");
	for (int i = 0; i < n; i++)
		ids[i] = (int32_t)(mbr_splitmix64(&state) % (uint64_t)n_vocab);
	if (mbr_tokenizer_add_bos(e->tok))
		ids[0] = mbr_tokenizer_bos(e->tok);
	return ids;
}

/* One batch of n tokens from position 0, logits for the last one. */
static double time_prompt(struct engine *e, const int32_t *ids, int n, float *logits)
{
	double start = engine_now();

	if (mbr_session_decode(e->session, ids, n, 0, logits, 1))
		die("%s", mbr_error_last());
	return engine_now() - start;
}

/* n tokens one at a time from position 0, each with its logits. */
static double time_gen(struct engine *e, const int32_t *ids, int n, float *logits)
{
	double start = engine_now();

	for (int i = 0; i < n; i++)
		if (mbr_session_decode(e->session, &ids[i], 1, i, logits, 1))
			die("%s", mbr_error_last());
	return engine_now() - start;
}

static double run_test(struct engine *e, const struct bench_test *t,
		       const int32_t *ids, float *logits)
{
	mbr_session_reset(e->session);
	if (t->n_prompt)
		return t->n_prompt / time_prompt(e, ids, t->n_prompt, logits);
	return t->n_gen / time_gen(e, ids, t->n_gen, logits);
}

static void summarize(struct bench_test *t, int reps)
{
	double sum = 0, sq = 0;

	for (int i = 0; i < reps; i++)
		sum += t->tps[i];
	t->mean = sum / reps;
	for (int i = 0; i < reps; i++)
		sq += (t->tps[i] - t->mean) * (t->tps[i] - t->mean);
	/* the sample deviation, as llama-bench reports it */
	t->stddev = reps > 1 ? sqrt(sq / (reps - 1)) : 0;
}

static uint64_t peak_rss(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_maxrss * 1024;	/* Linux reports KiB */
}

static void print_report_json(const char *model, int threads, const struct bench_test *t,
			      int n_tests, int reps)
{
	json_t *tests = json_array();

	for (int i = 0; i < n_tests; i++) {
		json_t *samples = json_array();

		for (int r = 0; r < reps; r++)
			json_array_append_new(samples, json_real(t[i].tps[r]));
		json_array_append_new(tests, json_pack("{s:s, s:i, s:i, s:f, s:f, s:o}",
			"test", t[i].name, "n_prompt", t[i].n_prompt, "n_gen", t[i].n_gen,
			"avg_ts", t[i].mean, "stddev_ts", t[i].stddev, "samples_ts", samples));
	}
	print_json(json_pack("{s:s, s:i, s:i, s:o, s:I}", "model", model, "threads", threads,
			     "repetitions", reps, "tests", tests,
			     "peak_rss_bytes", (json_int_t)peak_rss()));
}

static void print_table(int threads, const struct bench_test *t, int n_tests)
{
	printf("%-8s %7s %20s\n", "test", "threads", "tokens/s");
	for (int i = 0; i < n_tests; i++)
		printf("%-8s %7d %12.2f ± %5.2f\n", t[i].name, threads, t[i].mean,
		       t[i].stddev);
	printf("peak RSS: %.1f MiB\n", peak_rss() / 1048576.0);
}

int cmd_bench(int argc, const char **argv)
{
	int n_prompt = 512, n_gen = 128, reps = 5, n_threads = 0, json = 0;
	struct option opts[] = {
		OPT_INTEGER('p', "n-prompt", &n_prompt, "n",
			    "prompt test: a batch of n tokens (default 512; 0: none)"),
		OPT_INTEGER('n', "n-gen", &n_gen, "n",
			    "generation test: n tokens one at a time (default 128; 0: none)"),
		OPT_INTEGER('r', "repetitions", &reps, "n", "runs of each test (default 5)"),
		OPT_INTEGER('t', "threads", &n_threads, "n", "threads (default: all cores)"),
		OPT_BOOL(0, "json", &json, "print the results as JSON"),
		OPT_END()
	};
	struct bench_test tests[2];
	int n_tests = 0, longest;
	struct engine e;
	int32_t *ids;
	float *logits;

	argc = parse_options(argc, argv, opts, bench_usage);
	if (argc != 1 || n_prompt < 0 || n_gen < 0 || reps < 1 || (!n_prompt && !n_gen))
		usage_with_options(bench_usage, opts);
	memset(tests, 0, sizeof(tests));
	if (n_prompt) {
		snprintf(tests[n_tests].name, sizeof(tests[0].name), "pp%d", n_prompt);
		tests[n_tests++].n_prompt = n_prompt;
	}
	if (n_gen) {
		snprintf(tests[n_tests].name, sizeof(tests[0].name), "tg%d", n_gen);
		tests[n_tests++].n_gen = n_gen;
	}
	longest = n_prompt > n_gen ? n_prompt : n_gen;
	engine_open(&e, argv[0], longest, n_threads);
	ids = bench_tokens(&e, longest);
	if (!(logits = malloc((size_t)e.model->cfg.n_vocab * sizeof(*logits))))
		die("out of memory");
	/* llama-bench's warm-up: the prompt once, one generated token */
	if (n_prompt)
		time_prompt(&e, ids, n_prompt, logits);
	if (n_gen)
		time_gen(&e, ids, 1, logits);
	for (int i = 0; i < n_tests; i++) {
		if (!(tests[i].tps = calloc((size_t)reps, sizeof(double))))
			die("out of memory");
		for (int r = 0; r < reps; r++) {
			if (isatty(2) && !json)
				fprintf(stderr, "\r%s: run %d of %d", tests[i].name, r + 1, reps);
			tests[i].tps[r] = run_test(&e, &tests[i], ids, logits);
		}
		summarize(&tests[i], reps);
	}
	if (isatty(2) && !json)
		fprintf(stderr, "\r\033[K");
	if (json)
		print_report_json(argv[0], mbr_session_threads(e.session), tests, n_tests, reps);
	else
		print_table(mbr_session_threads(e.session), tests, n_tests);
	for (int i = 0; i < n_tests; i++)
		free(tests[i].tps);
	free(logits);
	free(ids);
	engine_close(&e);
	return 0;
}
