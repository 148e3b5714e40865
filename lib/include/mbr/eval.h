/*
 * eval.h - evaluation suites and the tasks they name, run on a session.
 *
 * A suite is a JSON file (store-format/mbrformat-evidence.adoc):
 *
 *   {"name": "prose", "tasks": [
 *     {"name": "ppl", "type": "perplexity", "file": "prose-val.txt", "ctx": 128,
 *      "chunks": 32},
 *     {"name": "cloze", "type": "multiple_choice", "file": "prose-mc.jsonl"},
 *     {"name": "greet", "type": "generate", "file": "g.jsonl",
 *      "max_tokens": 32, "stop": ["\n"]}]}
 *
 * A task's file is read, hashed and (for the JSONL types) parsed when the
 * suite is loaded, so every problem with a suite or its data is found
 * before anything runs. Relative paths resolve against the suite file's
 * directory. The files are untrusted: each error names the suite, the
 * task, the file and the line.
 */
#ifndef MBR_EVAL_H
#define MBR_EVAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "common.h"
#include "hash.h"
#include "model.h"
#include "tokenizer.h"

enum mbr_task_type {
	MBR_TASK_PERPLEXITY = 1,	/* llama-perplexity's method (perplexity.h) */
	MBR_TASK_MULTIPLE_CHOICE,	/* lm-evaluation-harness's acc / acc_norm */
	MBR_TASK_GENERATE		/* greedy generation against a target */
};

/* One line of a multiple_choice file. */
struct mbr_mc_item {
	char *context;
	char **choices;
	size_t n_choices;
	size_t answer;
};

/* One line of a generate file. */
struct mbr_gen_item {
	char *prompt;
	char *target;
};

struct mbr_eval_task {
	char *name;		/* [A-Za-z0-9_-]+, unique in the suite */
	int type;		/* enum mbr_task_type */
	char *file;		/* as the suite writes it */
	char *path;		/* resolved */
	struct mbr_oid sha256;	/* of the file's bytes */
	char *text;		/* perplexity: the file's bytes (NUL-terminated) */
	size_t text_len;
	int ctx;		/* perplexity: tokens per chunk */
	int chunks;		/* perplexity: at most this many; 0: all */
	int max_tokens;		/* generate: at most this many tokens */
	char **stop;		/* generate: stop strings */
	size_t n_stop;
	struct mbr_mc_item *mc;	/* multiple_choice */
	struct mbr_gen_item *gen;	/* generate */
	size_t n_items;
};

struct mbr_suite {
	char *name;
	char *path;
	struct mbr_oid sha256;	/* of the suite file */
	struct mbr_eval_task *tasks;
	size_t n_tasks;
};

#define MBR_EVAL_DEFAULT_CTX 512
#define MBR_EVAL_DEFAULT_MAX_TOKENS 32

/* Load and validate the suite at path with every task's file. */
int mbr_suite_load(struct mbr_suite **out, const char *path);
void mbr_suite_free(struct mbr_suite *s);

/* Work done, for the run measurements: tokens that went through the
 * model in batches (prompt) and one at a time (decode), and their time;
 * progress (when not NULL) hears of each item or chunk a task finishes. */
struct mbr_eval_stats {
	uint64_t prompt_tokens, decode_tokens;
	double prompt_seconds, decode_seconds;
	mbr_progress_fn progress;
	void *progress_payload;
};

/*
 * Run one task on s (whose context is at least what the task needs),
 * with tok the model's tokenizer. *metrics receives a new JSON object:
 *   perplexity:      perplexity, perplexity_error, nll, tokens, chunks, ctx
 *   multiple_choice: acc, acc_norm, items
 *   generate:        exact_match, contains, items
 * Work is added to *stats.
 */
int mbr_eval_task_run(json_t **metrics, struct mbr_session *s,
		      const struct mbr_tokenizer *tok, const struct mbr_eval_task *t,
		      struct mbr_eval_stats *stats);

/*
 * The multiple-choice scores of one item: score[i] is the sum of the
 * log-probabilities of the tokens of BOS + context + choice i that follow
 * the tokens of BOS + context (the prefix is evaluated once and each
 * choice continues it from the cache). scores has n_choices entries.
 */
int mbr_eval_mc_scores(double *scores, struct mbr_session *s,
		       const struct mbr_tokenizer *tok, const struct mbr_mc_item *item,
		       struct mbr_eval_stats *stats);

/*
 * Greedy generation after BOS + prompt: up to max_tokens tokens, ended
 * early by the end-of-sequence token, a full context or the first stop
 * string (cut off, with what follows it). *out is malloc'd text.
 */
int mbr_eval_generate(char **out, struct mbr_session *s, const struct mbr_tokenizer *tok,
		      const char *prompt, int max_tokens, char *const *stop, size_t n_stop,
		      struct mbr_eval_stats *stats);

#endif
