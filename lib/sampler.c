/*
 * sampler.c - repeat penalty, top-k, top-p, min-p, temperature, draw.
 *
 * Each step works on the candidate list the previous one left, sorted by
 * descending logit (ties by ascending id, so the order is deterministic).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mbr/random.h"
#include "mbr/error.h"
#include "mbr/sampler.h"

struct mbr_sampler {
	struct mbr_sampler_params p;
	int n_vocab;
	struct mbr_candidate *cand;	/* (n_vocab) */
	int32_t *history;		/* ring of the last repeat_last_n tokens */
	int n_history, next;
	uint64_t rng;
};

void mbr_sampler_params_init(struct mbr_sampler_params *p)
{
	p->temp = 0.8f;
	p->top_k = 40;
	p->top_p = 0.95f;
	p->min_p = 0.05f;
	p->repeat_penalty = 1.0f;
	p->repeat_last_n = 64;
	p->seed = 0;
}

int mbr_sampler_new(struct mbr_sampler **out, const struct mbr_sampler_params *p,
		    int n_vocab)
{
	struct mbr_sampler *s = calloc(1, sizeof(*s));

	*out = NULL;
	MBR_CHECK_ALLOC(s);
	s->p = *p;
	if (s->p.repeat_last_n < 0)
		s->p.repeat_last_n = 0;
	s->n_vocab = n_vocab;
	s->rng = p->seed;
	s->cand = calloc(n_vocab > 0 ? (size_t)n_vocab : 1, sizeof(*s->cand));
	s->history = calloc((size_t)s->p.repeat_last_n + 1, sizeof(*s->history));
	if (!s->cand || !s->history) {
		mbr_sampler_free(s);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	*out = s;
	return 0;
}

void mbr_sampler_free(struct mbr_sampler *s)
{
	if (!s)
		return;
	free(s->cand);
	free(s->history);
	free(s);
}

void mbr_sampler_accept(struct mbr_sampler *s, int32_t token)
{
	if (!s->p.repeat_last_n)
		return;
	s->history[s->next] = token;
	s->next = (s->next + 1) % s->p.repeat_last_n;
	if (s->n_history < s->p.repeat_last_n)
		s->n_history++;
}

/* llama.cpp's: each token seen in the window once, whatever its count;
 * dividing a negative logit would raise it, so those are multiplied. */
static void repeat_penalty(struct mbr_sampler *s)
{
	float r = s->p.repeat_penalty;

	if (r == 1.0f)
		return;
	for (int i = 0; i < s->n_history; i++) {
		int32_t id = s->history[i];
		int seen = 0;

		for (int j = 0; j < i && !seen; j++)
			seen = s->history[j] == id;
		if (seen || id < 0 || id >= s->n_vocab)
			continue;
		if (s->cand[id].logit <= 0)
			s->cand[id].logit *= r;
		else
			s->cand[id].logit /= r;
	}
}

static int by_logit(const void *a, const void *b)
{
	const struct mbr_candidate *x = a, *y = b;

	if (x->logit != y->logit)
		return x->logit < y->logit ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void swap(struct mbr_candidate *a, struct mbr_candidate *b)
{
	struct mbr_candidate t = *a;

	*a = *b;
	*b = t;
}

/*
 * Move the k best to the front, then sort just those: a quickselect
 * (middle pivot, Lomuto partition) narrowing [lo, hi) to the k-th place.
 */
static void select_top(struct mbr_candidate *c, size_t n, size_t k)
{
	size_t lo = 0, hi = n;

	while (k < n && hi - lo > 1) {
		size_t store = lo;

		swap(&c[lo + (hi - lo) / 2], &c[hi - 1]);
		for (size_t i = lo; i < hi - 1; i++)
			if (by_logit(&c[i], &c[hi - 1]) < 0)
				swap(&c[i], &c[store++]);
		swap(&c[store], &c[hi - 1]);
		/* [lo, store) beat the pivot now at store, the rest lose */
		if (store >= k)
			hi = store;
		else
			lo = store + 1;
	}
	qsort(c, k, sizeof(*c), by_logit);
}

/* p of sorted candidates: exp(l - max), normalized with a double sum */
static void softmax(struct mbr_candidate *c, size_t n)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++) {
		c[i].p = expf(c[i].logit - c[0].logit);
		sum += c[i].p;
	}
	for (size_t i = 0; i < n; i++)
		c[i].p = (float)(c[i].p / sum);
}

/* The smallest prefix whose probability reaches top_p. */
static size_t top_p(struct mbr_candidate *c, size_t n, float p)
{
	double cum = 0;

	if (p >= 1.0f)
		return n;
	softmax(c, n);
	for (size_t i = 0; i < n; i++) {
		cum += c[i].p;
		if (cum >= p)
			return i + 1;
	}
	return n;
}

/* Those at least min_p times as probable as the best, compared as logits. */
static size_t min_p(const struct mbr_candidate *c, size_t n, float p)
{
	float floor;
	size_t keep = 1;

	if (p <= 0.0f)
		return n;
	floor = c[0].logit + logf(p);
	while (keep < n && c[keep].logit >= floor)
		keep++;
	return keep;
}

static size_t greedy(struct mbr_sampler *s)
{
	int32_t best = 0;

	for (int32_t i = 1; i < s->n_vocab; i++)
		if (s->cand[i].logit > s->cand[best].logit)
			best = i;
	s->cand[0] = s->cand[best];
	s->cand[0].p = 1.0f;
	return 1;
}

size_t mbr_sampler_candidates(struct mbr_sampler *s, const float *logits,
			      const struct mbr_candidate **out)
{
	size_t n = (size_t)s->n_vocab, k;

	for (int32_t i = 0; i < s->n_vocab; i++)
		s->cand[i] = (struct mbr_candidate){ i, logits[i], 0 };
	repeat_penalty(s);
	*out = s->cand;
	if (s->p.temp <= 0.0f)
		return greedy(s);
	k = s->p.top_k > 0 && (size_t)s->p.top_k < n ? (size_t)s->p.top_k : n;
	select_top(s->cand, n, k);
	n = top_p(s->cand, k, s->p.top_p);
	n = min_p(s->cand, n, s->p.min_p);
	for (size_t i = 0; i < n; i++)
		s->cand[i].logit /= s->p.temp;
	softmax(s->cand, n);
	return n;
}

int32_t mbr_sampler_sample(struct mbr_sampler *s, const float *logits)
{
	const struct mbr_candidate *c;
	size_t n = mbr_sampler_candidates(s, logits, &c);
	double u, cum = 0;

	if (n == 1)
		return c[0].id;
	u = mbr_random_unit(&s->rng);
	for (size_t i = 0; i < n; i++) {
		cum += c[i].p;
		if (u < cum)
			return c[i].id;
	}
	return c[n - 1].id;
}
