/*
 * builtin.h - the commands, and what commands share: messages, exit codes,
 * the registry they run in, terminal progress.
 *
 * Exit status (git's): 0 success; 1 the command ran and failed (error());
 * 128 a fatal error (die()); 129 bad usage.
 */
#ifndef MBR_BUILTIN_H
#define MBR_BUILTIN_H

#include <stdint.h>
#include "mbr/repo.h"

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Prints "error: ..." and returns -1, so `return error(...)` exits 1. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* die() with mbr_error_last() as the message, prefixed by what failed. */
void die_lib(const char *what) __attribute__((noreturn));
/* error() with mbr_error_last(); returns -1. */
int error_lib(const char *what);

/* The registry for this run: -C DIR, then MBR_DIR, then upward from the
 * working directory. Dies when there is none. */
struct mbr_repo *setup_repo(void);
extern const char *opt_chdir;	/* -C */

/* Terminal progress on stderr, shown only when stderr is a terminal and
 * the work is big enough to be worth watching. */
struct progress;
struct progress *progress_start(const char *title, uint64_t total);
/* A count of unit ("items") instead of bytes, shown after a second. */
struct progress *progress_start_count(const char *title, uint64_t total, const char *unit);
/* Bytes, the total given by the updates; drawn once the work takes 1 s. */
struct progress *progress_start_delayed(const char *title);
void progress_update(void *progress, uint64_t done, uint64_t total);
void progress_stop(struct progress *p);

/* Print v as indented JSON and a newline on stdout, then json_decref it. */
#include <jansson.h>
void print_json(json_t *v);
/* The porcelain and plumbing command lists (mbr help). */
#include <stdio.h>
void list_commands(FILE *out);
/* A commit id shortened for people. */
#define SHORT_ID_LEN 12

int cmd_init(int argc, const char **argv);
int cmd_add(int argc, const char **argv);
int cmd_ls(int argc, const char **argv);
int cmd_show(int argc, const char **argv);
int cmd_log(int argc, const char **argv);
int cmd_diff(int argc, const char **argv);
int cmd_export(int argc, const char **argv);
int cmd_fsck(int argc, const char **argv);
int cmd_gc(int argc, const char **argv);
int cmd_help(int argc, const char **argv);
int cmd_hash_object(int argc, const char **argv);
int cmd_cat_object(int argc, const char **argv);
int cmd_ls_tensors(int argc, const char **argv);
int cmd_infer(int argc, const char **argv);
int cmd_bench(int argc, const char **argv);
int cmd_eval(int argc, const char **argv);
int cmd_breed(int argc, const char **argv);
int cmd_scorecard(int argc, const char **argv);

/* The inference engine as infer and eval set it up (infer.c). */
#include "mbr/lora.h"
#include "mbr/model.h"
#include "mbr/tokenizer.h"
/* An adapter applied at run time (--adapter REV|FILE[:SCALE]). Which one
 * it is, for records: lora->name (as given), lora->commit ("" for
 * a file) and lora->digest (the manifest's SHA-256 for a stored
 * version, the file's for a file). */
struct engine_adapter {
	struct mbr_lora *lora;
	float scale;			/* the user's, before alpha / rank */
};
struct engine {
	struct mbr_repo *repo;		/* NULL when run on a file */
	struct mbr_weights *w;
	struct mbr_model *model;
	struct mbr_tokenizer *tok;
	struct mbr_session *session;
	struct engine_adapter *adapters;	/* in the order given */
	size_t n_adapters;
};
#define ENGINE_DEFAULT_CTX 4096
/* Open a model file, or else a stored version; n_ctx <= 0: the model's
 * context, at most ENGINE_DEFAULT_CTX. Dies on failure. */
void engine_open(struct engine *e, const char *rev_or_file, int n_ctx, int n_threads);
/* The same with adapters applied: adapters[0..n_adapters) are --adapter
 * values, REV|FILE[:SCALE] (scale 1 when not given). */
void engine_open_adapters(struct engine *e, const char *rev_or_file, int n_ctx,
			  int n_threads, const char *const *adapters, int n_adapters);
void engine_close(struct engine *e);
double engine_now(void);	/* monotonic seconds */
int cmd_tokenize(int argc, const char **argv);

#endif
