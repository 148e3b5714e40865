/*
 * sampler.h - choosing the next token from a row of logits.
 *
 * The chain is llama.cpp's default order: repeat penalty, top-k, top-p,
 * min-p, temperature, then a draw from the softmax. Top-p and min-p thus
 * see the distribution before the temperature, as in llama.cpp. A
 * temperature of 0 (or less) is greedy: the highest logit after the
 * repeat penalty, the lowest id on a tie, and no random draw.
 *
 * The draws come from a generator seeded by params.seed alone, so a run
 * with the same seed, model and prompt makes the same text.
 */
#ifndef MBR_SAMPLER_H
#define MBR_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

struct mbr_sampler_params {
	float temp;		/* <= 0: greedy */
	int top_k;		/* <= 0: off */
	float top_p;		/* >= 1: off */
	float min_p;		/* <= 0: off */
	float repeat_penalty;	/* 1: off */
	int repeat_last_n;	/* tokens of history the penalty looks at */
	uint64_t seed;
};

/* llama.cpp's defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05,
 * repeat penalty 1 (off) over the last 64 tokens; seed 0. */
void mbr_sampler_params_init(struct mbr_sampler_params *p);

struct mbr_candidate {
	int32_t id;
	float logit;		/* after the penalty and the temperature */
	float p;		/* probability among the survivors */
};

struct mbr_sampler;

int mbr_sampler_new(struct mbr_sampler **out, const struct mbr_sampler_params *p,
		    int n_vocab);
void mbr_sampler_free(struct mbr_sampler *s);

/* Record a token of the context (prompt or generated) for the penalty. */
void mbr_sampler_accept(struct mbr_sampler *s, int32_t token);

/*
 * Run the chain up to the draw: the surviving candidates in *out,
 * most probable first, and their count. Borrowed until the next call.
 * Greedy sampling leaves one candidate of probability 1.
 */
size_t mbr_sampler_candidates(struct mbr_sampler *s, const float *logits,
			      const struct mbr_candidate **out);

/* The next token: the chain, then a draw. Does not accept it. */
int32_t mbr_sampler_sample(struct mbr_sampler *s, const float *logits);

#endif
