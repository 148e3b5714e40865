/*
 * perplexity.c - llama-perplexity's measurement, chunk by chunk.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mbr/error.h"
#include "mbr/perplexity.h"

double mbr_nll(const float *logits, int n_vocab, int32_t token)
{
	float max = logits[0];
	double sum = 0;

	for (int i = 1; i < n_vocab; i++)
		max = logits[i] > max ? logits[i] : max;
	for (int i = 0; i < n_vocab; i++)
		sum += expf(logits[i] - max);
	return (double)max + log(sum) - (double)logits[token];
}

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct ppl_run {
	struct mbr_session *s;
	int n_ctx, n_vocab;
	int32_t bos;
	int32_t *input;		/* (n_ctx) the chunk as evaluated */
	float *logits;		/* (n_ctx - n_ctx / 2, n_vocab): the scored half */
	double sum, sum2;	/* of the scored NLLs and their squares */
	uint64_t count;
};

/* One chunk from an empty cache; its second half's NLLs into the sums. */
static int score_chunk(struct ppl_run *r, const int32_t *chunk)
{
	int first = r->n_ctx / 2, err;

	memcpy(r->input, chunk, (size_t)r->n_ctx * sizeof(*chunk));
	if (r->bos >= 0)
		r->input[0] = r->bos;
	mbr_session_reset(r->s);
	if ((err = mbr_session_decode(r->s, r->input, r->n_ctx, 0, r->logits,
				      r->n_ctx - first)))
		return err;
	for (int j = first; j < r->n_ctx - 1; j++) {
		double nll = mbr_nll(r->logits + (size_t)(j - first) * r->n_vocab,
				     r->n_vocab, chunk[j + 1]);

		r->sum += nll;
		r->sum2 += nll * nll;
		r->count++;
	}
	return 0;
}

static void summarize(struct mbr_perplexity_result *out, const struct ppl_run *r)
{
	double mean = r->sum / r->count, var = r->sum2 / r->count - mean * mean;

	out->nll = mean;
	out->ppl = exp(mean);
	out->ppl_error = var > 0 && r->count > 1 ?
			 sqrt(var / (r->count - 1)) * out->ppl : 0;
	out->tokens_scored = r->count;
}

int mbr_perplexity(struct mbr_perplexity_result *out, struct mbr_session *s,
		   const int32_t *tokens, size_t n, int32_t bos)
{
	return mbr_perplexity_progress(out, s, tokens, n, bos, NULL, NULL);
}

int mbr_perplexity_progress(struct mbr_perplexity_result *out, struct mbr_session *s,
			    const int32_t *tokens, size_t n, int32_t bos,
			    mbr_progress_fn progress, void *payload)
{
	struct ppl_run r = { s, mbr_session_n_ctx(s), mbr_session_model(s)->cfg.n_vocab,
			     bos, NULL, NULL, 0, 0, 0 };
	double start = seconds_now();
	size_t n_chunks = n / (size_t)r.n_ctx;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (r.n_ctx < 4 || n_chunks < 2) {
		mbr_error_set(MBR_ERROR_INVALID,
			      "perplexity needs at least %d tokens (2 contexts of %d), "
			      "the text has %zu", 2 * r.n_ctx, r.n_ctx, n);
		return MBR_EINVALID;
	}
	r.input = malloc((size_t)r.n_ctx * sizeof(*r.input));
	r.logits = malloc((size_t)(r.n_ctx - r.n_ctx / 2) * r.n_vocab * sizeof(*r.logits));
	if (!r.input || !r.logits) {
		free(r.input);
		free(r.logits);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	for (size_t i = 0; i < n_chunks && !err; i++) {
		err = score_chunk(&r, tokens + i * r.n_ctx);
		if (progress)
			progress(payload, 1, n_chunks);
	}
	free(r.input);
	free(r.logits);
	if (err)
		return err;
	summarize(out, &r);
	out->chunks = (int)n_chunks;
	out->n_ctx = r.n_ctx;
	out->tokens_evaluated = (uint64_t)n_chunks * r.n_ctx;
	out->seconds = seconds_now() - start;
	return 0;
}
