/*
 * u-model.c - the forward pass's invariants on the fixture models.
 *
 * Its numbers are checked against llama.cpp by t3000 and t6001; here,
 * that the way tokens are fed cannot change them: each output of a
 * matrix product is one dot of the same converted rows whether a batch
 * holds one token or hundreds (batched products give vec_dot's bits),
 * and the heads that share a KV head are computed by one thread, so
 * batched, incremental and differently threaded runs must agree bit for
 * bit.
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "mbr/model.h"

static const char *fixture(const char *name)
{
	static char path[4096];
	const char *root = getenv("MBR_FIXTURES");

	snprintf(path, sizeof(path), "%s/models/%s", root ? root : "../../../t/fixtures", name);
	return path;
}

struct loaded {
	struct mbr_weights *w;
	struct mbr_model *m;
};

static int load(struct loaded *l, const char *name)
{
	return mbr_weights_open_file(&l->w, fixture(name)) ||
	       mbr_model_build(&l->m, l->w);
}

static void unload(struct loaded *l)
{
	mbr_model_free(l->m);
	mbr_weights_free(l->w);
}

/* Token ids that look like text to nobody, spread over the vocabulary. */
static void some_tokens(int32_t *t, int n, int n_vocab)
{
	for (int i = 0; i < n; i++)
		t[i] = (int32_t)((i * 7919u + 1) % (unsigned)n_vocab);
}

static void test_model__config(void)
{
	struct loaded l;
	const struct mbr_model_config *c;

	UT_ASSERT(!load(&l, "tiny-f32.gguf"));
	c = &l.m->cfg;
	UT_EQ_INT(c->dim, 64);
	UT_EQ_INT(c->n_layers, 2);
	UT_EQ_INT(c->n_heads, 4);
	UT_EQ_INT(c->n_kv_heads, 2);
	UT_EQ_INT(c->head_dim, 16);
	UT_EQ_INT(c->n_rot, 16);
	UT_EQ_INT(c->ff, 192);
	UT_EQ_INT(c->n_vocab, 32000);
	UT_CHECK(c->rope_base == 10000.0f);
	UT_CHECK(c->rope_pos_scale == 1.0f);
	UT_CHECK(l.m->output.data != l.m->tok_embd.data);	/* untied */
	unload(&l);
}

/*
 * n tokens in one call (split by the session into batches of 512) give
 * the same last logits as the same tokens one call each.
 */
static void batched_equals_incremental(const char *model, int n, int n_threads)
{
	struct loaded l;
	struct mbr_session *a = NULL, *b = NULL;
	int32_t *tokens = malloc((size_t)n * sizeof(*tokens));
	float *la = NULL, *lb = NULL;
	int n_vocab;

	UT_ASSERT(tokens && !load(&l, model));
	n_vocab = l.m->cfg.n_vocab;
	la = malloc(2 * (size_t)n_vocab * sizeof(float));
	lb = malloc(2 * (size_t)n_vocab * sizeof(float));
	UT_ASSERT(la && lb);
	some_tokens(tokens, n, n_vocab);
	UT_ASSERT(!mbr_session_new(&a, l.m, n, n_threads));
	UT_ASSERT(!mbr_session_new(&b, l.m, n, 1));
	UT_EQ_INT(mbr_session_decode(a, tokens, n, 0, la, 2), 0);
	for (int i = 0; i < n; i++)
		UT_ASSERT(!mbr_session_decode(b, &tokens[i], 1, i,
					      lb + (i == n - 1) * (size_t)n_vocab,
					      1));
	UT_CHECK(!memcmp(la, lb, 2 * (size_t)n_vocab * sizeof(float)));
	mbr_session_free(a);
	mbr_session_free(b);
	free(la);
	free(lb);
	free(tokens);
	unload(&l);
}

static void test_model__batched_q8_0(void)
{
	batched_equals_incremental("tiny-Q8_0.gguf", 40, 2);
}

static void test_model__batched_across_batches(void)
{
	batched_equals_incremental("tiny-f32.gguf", MBR_SESSION_BATCH + 37, 3);
}

static void test_model__batched_k_quants(void)
{
	batched_equals_incremental("small-Q4_K_M.gguf", 24, 2);
}

/* A new chunk at position 0 forgets the old one: reset, then the same. */
static void test_model__reset(void)
{
	struct loaded l;
	struct mbr_session *s;
	int32_t tokens[16], other[16];
	float *x, *y;
	size_t bytes;

	UT_ASSERT(!load(&l, "tiny-Q4_0.gguf"));
	bytes = (size_t)l.m->cfg.n_vocab * sizeof(float);
	x = malloc(bytes);
	y = malloc(bytes);
	UT_ASSERT(x && y && !mbr_session_new(&s, l.m, 32, 2));
	some_tokens(tokens, 16, l.m->cfg.n_vocab);
	some_tokens(other, 16, 1000);
	UT_EQ_INT(mbr_session_decode(s, tokens, 16, 0, x, 1), 0);
	UT_EQ_INT(mbr_session_decode(s, other, 16, 16, y, 1), 0);
	mbr_session_reset(s);
	UT_EQ_INT(mbr_session_decode(s, tokens, 16, 0, y, 1), 0);
	UT_CHECK(!memcmp(x, y, bytes));
	mbr_session_free(s);
	free(x);
	free(y);
	unload(&l);
}

static void test_model__decode_refuses(void)
{
	struct loaded l;
	struct mbr_session *s;
	int32_t ok = 1, bad = 32000, neg = -1;
	float *logits;

	UT_ASSERT(!load(&l, "tiny-f32.gguf"));
	logits = malloc((size_t)l.m->cfg.n_vocab * sizeof(float));
	UT_ASSERT(logits && !mbr_session_new(&s, l.m, 4, 1));
	UT_EQ_INT(mbr_session_decode(s, &bad, 1, 0, logits, 1), MBR_EINVALID);
	UT_EQ_INT(mbr_session_decode(s, &neg, 1, 0, logits, 1), MBR_EINVALID);
	/* nothing cached yet: position 1 would attend to garbage */
	UT_EQ_INT(mbr_session_decode(s, &ok, 1, 1, logits, 1), MBR_EINVALID);
	UT_EQ_INT(mbr_session_decode(s, &ok, 1, 0, logits, 2), MBR_EINVALID);
	for (int pos = 0; pos < 4; pos++)
		UT_EQ_INT(mbr_session_decode(s, &ok, 1, pos, logits, 1), 0);
	UT_EQ_INT(mbr_session_decode(s, &ok, 1, 4, logits, 1), MBR_EINVALID);
	UT_CHECK(strstr(mbr_error_last(), "context of 4"));
	mbr_session_free(s);
	free(logits);
	unload(&l);
}

static const struct unit_test tests[] = {
	UT(test_model__config),
	UT(test_model__batched_q8_0),
	UT(test_model__batched_across_batches),
	UT(test_model__batched_k_quants),
	UT(test_model__reset),
	UT(test_model__decode_refuses),
	{ 0 }
};
UNIT_MAIN(tests)
