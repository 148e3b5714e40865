/*
 * perplexity.h - perplexity over a token stream, by llama-perplexity's
 * method (tools/perplexity/perplexity.cpp, its default path), so the
 * numbers are comparable with llama.cpp's:
 *
 *   - the text is tokenized once, with one leading BOS (the caller does
 *     this and passes the tokens);
 *   - it is cut into floor(n_tokens / n_ctx) consecutive chunks of n_ctx
 *     tokens; the first token of each chunk is replaced by BOS;
 *   - each chunk is evaluated from an empty KV cache;
 *   - only the second half is scored: the logits at positions
 *     n_ctx/2 .. n_ctx-2 predict the token after each, and the negative
 *     log-softmax of that token is accumulated in double;
 *   - PPL = exp(mean NLL), with llama-perplexity's error estimate.
 */
#ifndef MBR_PERPLEXITY_H
#define MBR_PERPLEXITY_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"
#include "model.h"

struct mbr_perplexity_result {
	double ppl;
	double ppl_error;	/* PPL * the standard error of the mean NLL */
	double nll;		/* mean negative log-likelihood, nats */
	uint64_t tokens_scored;
	int chunks;
	int n_ctx;
	uint64_t tokens_evaluated;	/* chunks * n_ctx */
	double seconds;		/* wall time of the evaluation */
};

/*
 * Evaluate tokens[0..n) in chunks of the session's context size. bos is
 * the token each chunk starts with (< 0: keep each chunk's first token).
 * MBR_EINVALID when there are fewer than 2 * n_ctx tokens
 * (llama-perplexity's minimum) or n_ctx < 4.
 */
int mbr_perplexity(struct mbr_perplexity_result *out, struct mbr_session *s,
		   const int32_t *tokens, size_t n, int32_t bos);

/* The same, telling progress (payload, 1, chunks) after each chunk. */
int mbr_perplexity_progress(struct mbr_perplexity_result *out, struct mbr_session *s,
			    const int32_t *tokens, size_t n, int32_t bos,
			    mbr_progress_fn progress, void *payload);

/*
 * -log softmax(logits)[token] the way llama-perplexity computes it:
 * the max subtracted, expf of each term summed in double.
 */
double mbr_nll(const float *logits, int n_vocab, int32_t token);

#endif
