/*
 * u-sampler.c - the sampling chain against distributions computed by hand.
 *
 * The logits {1, 2, 3, 4} have softmax e^(l - 4) / S with
 * S = 1 + e^-1 + e^-2 + e^-3 = 1.5530018: {0.0320586, 0.0871443,
 * 0.2368828, 0.6439143}. Each filter's survivors are checked against
 * that arithmetic, not against the code's own softmax.
 */
#include <math.h>
#include "unit.h"
#include "mbr/sampler.h"

static const float logits4[] = { 1, 2, 3, 4 };

/* Only the filter under test: everything else off. */
static struct mbr_sampler_params plain(void)
{
	struct mbr_sampler_params p;

	mbr_sampler_params_init(&p);
	p.temp = 1;
	p.top_k = 0;
	p.top_p = 1;
	p.min_p = 0;
	p.seed = 42;
	return p;
}

static int near(float a, double b)
{
	return fabs(a - b) < 1e-6;
}

/* The candidates of logits under p: their count, and ids/probs checked. */
static size_t run(const struct mbr_sampler_params *p, const float *logits, int n,
		  const int32_t *ids, const double *probs)
{
	struct mbr_sampler *s;
	const struct mbr_candidate *c;
	size_t got;

	if (mbr_sampler_new(&s, p, n))
		return 0;
	got = mbr_sampler_candidates(s, logits, &c);
	for (size_t i = 0; i < got; i++) {
		UT_EQ_INT(c[i].id, ids[i]);
		UT_CHECK(near(c[i].p, probs[i]));
	}
	mbr_sampler_free(s);
	return got;
}

static void test_sampler__softmax_sorted(void)
{
	struct mbr_sampler_params p = plain();
	static const int32_t ids[] = { 3, 2, 1, 0 };
	static const double probs[] = { 0.6439143, 0.2368828, 0.0871443, 0.0320586 };

	UT_EQ_INT(run(&p, logits4, 4, ids, probs), 4);
}

/* The two best, renormalized: 1 / (1 + e^-1) and e^-1 / (1 + e^-1). */
static const int32_t best2_ids[] = { 3, 2 };
static const double best2_probs[] = { 0.7310586, 0.2689414 };

static void test_sampler__top_k(void)
{
	struct mbr_sampler_params p = plain();

	p.top_k = 2;
	UT_EQ_INT(run(&p, logits4, 4, best2_ids, best2_probs), 2);
}

/* 0.6439 < 0.7 <= 0.6439 + 0.2369: two survive; 0.6 keeps one. */
static void test_sampler__top_p(void)
{
	struct mbr_sampler_params p = plain();
	static const double one[] = { 1 };

	p.top_p = 0.7f;
	UT_EQ_INT(run(&p, logits4, 4, best2_ids, best2_probs), 2);
	p.top_p = 0.6f;
	UT_EQ_INT(run(&p, logits4, 4, best2_ids, one), 1);
}

/* Relative to the best: e^-1 = 0.368 >= 0.3 survives, e^-2 = 0.135 not. */
static void test_sampler__min_p(void)
{
	struct mbr_sampler_params p = plain();

	p.min_p = 0.3f;
	UT_EQ_INT(run(&p, logits4, 4, best2_ids, best2_probs), 2);
}

/* temp 0.5 doubles the logits: e^{-6,-4,-2,0} / 1.1561297. */
static void test_sampler__temperature(void)
{
	struct mbr_sampler_params p = plain();
	static const int32_t ids[] = { 3, 2, 1, 0 };
	static const double probs[] = { 0.8649549, 0.1170589, 0.0158422, 0.0021440 };

	p.temp = 0.5f;
	UT_EQ_INT(run(&p, logits4, 4, ids, probs), 4);
}

/* Penalty 2 on {3, 0}: 4 -> 2 (divided), -1 -> -2 (multiplied). */
static void test_sampler__repeat_penalty(void)
{
	struct mbr_sampler_params p = plain();
	static const float logits[] = { -1, 2, 3, 4 };
	static const int32_t ids[] = { 2, 1, 3, 0 };
	/* e^{3,2,2,-2} / (e^3 + 2 e^2 + e^-2 = 34.9989844) */
	static const double probs[] = { 0.5738891, 0.2111220, 0.2111220, 0.0038668 };
	struct mbr_sampler *s;
	const struct mbr_candidate *c;

	p.repeat_penalty = 2;
	UT_ASSERT(!mbr_sampler_new(&s, &p, 4));
	mbr_sampler_accept(s, 3);
	mbr_sampler_accept(s, 0);
	mbr_sampler_accept(s, 3);	/* counted once */
	UT_EQ_INT(mbr_sampler_candidates(s, logits, &c), 4);
	for (int i = 0; i < 4; i++) {
		UT_EQ_INT(c[i].id, ids[i]);
		UT_CHECK(near(c[i].p, probs[i]));
	}
	mbr_sampler_free(s);
}

/* Only the last repeat_last_n tokens are penalized. */
static void test_sampler__penalty_window(void)
{
	struct mbr_sampler_params p = plain();
	static const float logits[] = { 4, 3.9f, 0, 0 };
	struct mbr_sampler *s;

	p.temp = 0;
	p.repeat_penalty = 2;
	p.repeat_last_n = 2;
	UT_ASSERT(!mbr_sampler_new(&s, &p, 4));
	mbr_sampler_accept(s, 0);
	UT_EQ_INT(mbr_sampler_sample(s, logits), 1);	/* 4 / 2 < 3.9 */
	mbr_sampler_accept(s, 2);
	mbr_sampler_accept(s, 3);	/* 0 left the window */
	UT_EQ_INT(mbr_sampler_sample(s, logits), 0);
	mbr_sampler_free(s);
}

static void test_sampler__greedy(void)
{
	struct mbr_sampler_params p = plain();
	static const float tie[] = { 1, 5, 5, -3 };
	struct mbr_sampler *s;
	const struct mbr_candidate *c;

	p.temp = 0;
	UT_ASSERT(!mbr_sampler_new(&s, &p, 4));
	UT_EQ_INT(mbr_sampler_candidates(s, tie, &c), 1);
	UT_EQ_INT(c[0].id, 1);		/* the lower id wins a tie */
	UT_CHECK(c[0].p == 1.0f);
	UT_EQ_INT(mbr_sampler_sample(s, logits4), 3);
	mbr_sampler_free(s);
}

/* top-k selects the same set as a full sort would, in order. */
static void test_sampler__top_k_large(void)
{
	struct mbr_sampler_params p = plain();
	enum { N = 1000, K = 25 };
	static float logits[N];
	struct mbr_sampler *s;
	const struct mbr_candidate *c;
	uint32_t x = 12345;

	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		logits[i] = (float)(x >> 16 & 0x3ff) / 64;	/* many ties */
	}
	p.top_k = K;
	UT_ASSERT(!mbr_sampler_new(&s, &p, N));
	UT_EQ_INT(mbr_sampler_candidates(s, logits, &c), K);
	for (int i = 0; i < K; i++) {
		int better = 0;

		/* exactly i candidates beat the i-th: it has rank i */
		for (int j = 0; j < N; j++)
			better += logits[j] > c[i].logit ||
				  (logits[j] == c[i].logit && j < c[i].id);
		UT_EQ_INT(better, i);
		UT_CHECK(logits[c[i].id] == c[i].logit);
	}
	mbr_sampler_free(s);
}

/* Draws follow the distribution and repeat for a seed. */
static void test_sampler__draws(void)
{
	struct mbr_sampler_params p = plain();
	static const double probs[] = { 0.0320586, 0.0871443, 0.2368828, 0.6439143 };
	struct mbr_sampler *a, *b, *c;
	int count[4] = { 0 }, same = 1, differ = 0;
	enum { DRAWS = 20000 };

	UT_ASSERT(!mbr_sampler_new(&a, &p, 4) && !mbr_sampler_new(&b, &p, 4));
	p.seed = 43;
	UT_ASSERT(!mbr_sampler_new(&c, &p, 4));
	for (int i = 0; i < DRAWS; i++) {
		int32_t t = mbr_sampler_sample(a, logits4);

		UT_ASSERT(t >= 0 && t < 4);
		count[t]++;
		same &= t == mbr_sampler_sample(b, logits4);
		differ |= t != mbr_sampler_sample(c, logits4);
	}
	UT_CHECK(same);
	UT_CHECK(differ);
	/* the standard error is at most 0.0035: allow six of them */
	for (int i = 0; i < 4; i++)
		UT_CHECK(fabs((double)count[i] / DRAWS - probs[i]) < 0.021);
	mbr_sampler_free(a);
	mbr_sampler_free(b);
	mbr_sampler_free(c);
}

static const struct unit_test tests[] = {
	UT(test_sampler__softmax_sorted),
	UT(test_sampler__top_k),
	UT(test_sampler__top_p),
	UT(test_sampler__min_p),
	UT(test_sampler__temperature),
	UT(test_sampler__repeat_penalty),
	UT(test_sampler__penalty_window),
	UT(test_sampler__greedy),
	UT(test_sampler__top_k_large),
	UT(test_sampler__draws),
	{ 0 }
};
UNIT_MAIN(tests)
