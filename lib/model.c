/*
 * model.c - the llama forward pass.
 *
 * Read it top to bottom: the configuration from the GGUF metadata, the
 * weights bound by name, the session's buffers, then the forward pass
 * itself, one batch of tokens at a time:
 *
 *	x = token_embd[tokens]
 *	for each layer:
 *		xb = rmsnorm(x) * attn_norm
 *		q, k, v = Wq xb, Wk xb, Wv xb; rotate q and k; cache k, v
 *		x += Wo attention(q, cached k, cached v)
 *		xb = rmsnorm(x) * ffn_norm
 *		x += Wdown (silu(Wgate xb) * Wup xb)
 *	logits = output rmsnorm(x) * output_norm
 *
 * where a LoRA adapter's matrices add their low-rank term to each product
 * (W x + scale * B (A x)), the weights themselves untouched.
 *
 * Where llama.cpp rounds, we round the same way, or its perplexities
 * and greedy continuations would not be ours: with random weights a
 * last-bit difference upstream of an activation's quantization flips a
 * code now and then, and the text drifts apart a few tokens later. So K
 * and V live in the cache as F16, queries and attention probabilities
 * are rounded to F16 before their dot products (ggml converts them to the
 * cache's type), the attention runs over the cache padded to 32 cells
 * as llama.cpp's does, norms sum their squares in double, and softmax and
 * SiLU use ggml's vectorized exponential (below), lane by lane.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kernels.h"
#include "matmul.h"
#include "mbr/error.h"
#include "mbr/lora.h"
#include "mbr/model.h"
#include "mbr/pool.h"
#include "mbr/types.h"
#include "quants.h"

/* ---- configuration ------------------------------------------------ */

static const struct mbr_kv *meta(const struct mbr_weights *w, const char *key)
{
	return mbr_modelfile_kv(w->mf, key);
}

static int meta_error(const struct mbr_weights *w, const char *key, const char *why)
{
	mbr_error_set(MBR_ERROR_FORMAT, "%s: metadata '%s' %s", w->name, key, why);
	return MBR_ECORRUPT;
}

/* An integer key in 1..INT32_MAX; def when absent (0: required). */
static int meta_int(int *out, const struct mbr_weights *w, const char *key, int def)
{
	const struct mbr_kv *kv = meta(w, key);
	int64_t v;

	if (!kv) {
		*out = def;
		return def ? 0 : meta_error(w, key, "is missing");
	}
	if (mbr_kv_int(&v, kv))
		return meta_error(w, key, "is not an integer");
	if (v < 1 || v > INT32_MAX)
		return meta_error(w, key, "is out of range");
	*out = (int)v;
	return 0;
}

static int meta_float(float *out, const struct mbr_weights *w, const char *key, float def)
{
	const struct mbr_kv *kv = meta(w, key);

	if (!kv) {
		*out = def;
		return 0;
	}
	if (kv->type != MBR_GGUF_FLOAT32 && kv->type != MBR_GGUF_FLOAT64)
		return meta_error(w, key, "is not a float");
	if (!isfinite(kv->v.f) || kv->v.f < 0)
		return meta_error(w, key, "is out of range");
	*out = (float)kv->v.f;
	return 0;
}

/* Linear rope scaling divides positions by its factor; YaRN and the
 * like are different functions we do not have. */
static int read_rope_scaling(struct mbr_model_config *c, const struct mbr_weights *w)
{
	const struct mbr_kv *type = meta(w, "llama.rope.scaling.type");
	float factor;
	int err;

	if (type && (type->type != MBR_GGUF_STRING ||
		     (strcmp(type->str, "none") && strcmp(type->str, "linear")))) {
		mbr_error_set(MBR_ERROR_FORMAT, "%s: rope scaling '%s' is not supported",
			      w->name, type->type == MBR_GGUF_STRING ? type->str : "?");
		return MBR_EUNSUPPORTED;
	}
	/* the older key first, as llama.cpp reads them */
	if ((err = meta_float(&factor, w, "llama.rope.scale_linear", 0)))
		return err;
	if (factor == 0 &&
	    (err = meta_float(&factor, w, "llama.rope.scaling.factor", 0)))
		return err;
	c->rope_pos_scale = factor == 0 ? 1.0f : 1.0f / factor;
	return 0;
}

static int check_architecture(const struct mbr_weights *w)
{
	const struct mbr_kv *arch = meta(w, "general.architecture");

	if (!arch || arch->type != MBR_GGUF_STRING) {
		mbr_error_set(MBR_ERROR_FORMAT, "%s: no general.architecture: not a GGUF model",
			      w->name);
		return MBR_EUNSUPPORTED;
	}
	if (strcmp(arch->str, "llama")) {
		mbr_error_set(MBR_ERROR_FORMAT,
			      "%s: architecture '%s' is not supported (only llama)",
			      w->name, arch->str);
		return MBR_EUNSUPPORTED;
	}
	return 0;
}

static int read_config(struct mbr_model_config *c, const struct mbr_weights *w)
{
	int err, value_dim;

	if ((err = check_architecture(w)) ||
	    (err = meta_int(&c->dim, w, "llama.embedding_length", 0)) ||
	    (err = meta_int(&c->n_layers, w, "llama.block_count", 0)) ||
	    (err = meta_int(&c->ff, w, "llama.feed_forward_length", 0)) ||
	    (err = meta_int(&c->n_heads, w, "llama.attention.head_count", 0)) ||
	    (err = meta_int(&c->n_kv_heads, w, "llama.attention.head_count_kv", c->n_heads)) ||
	    (err = meta_int(&c->n_ctx_train, w, "llama.context_length", 0)) ||
	    (err = meta_float(&c->norm_eps, w, "llama.attention.layer_norm_rms_epsilon", 1e-5f)) ||
	    (err = meta_float(&c->rope_base, w, "llama.rope.freq_base", 10000.0f)) ||
	    (err = read_rope_scaling(c, w)))
		return err;
	if (c->n_heads % c->n_kv_heads)
		return meta_error(w, "llama.attention.head_count_kv",
				  "does not divide head_count");
	if ((err = meta_int(&c->head_dim, w, "llama.attention.key_length",
			    c->dim / c->n_heads ? c->dim / c->n_heads : 1)) ||
	    (err = meta_int(&value_dim, w, "llama.attention.value_length", c->head_dim)) ||
	    (err = meta_int(&c->n_rot, w, "llama.rope.dimension_count", c->head_dim)))
		return err;
	if (value_dim != c->head_dim)
		return meta_error(w, "llama.attention.value_length",
				  "differs from key_length");
	if (c->n_rot > c->head_dim || c->n_rot % 2)
		return meta_error(w, "llama.rope.dimension_count",
				  "is odd or larger than a head");
	if ((int64_t)c->n_heads * c->head_dim > INT32_MAX)
		return meta_error(w, "llama.attention.head_count", "is out of range");
	return 0;
}

/* ---- weights ------------------------------------------------------ */

static const void *find_tensor(const struct mbr_weights *w, const char *name,
			       const struct mbr_tensor_info **info, int *err)
{
	const void *data = mbr_weights_tensor(w, name, info);

	if (!data) {
		mbr_error_set(MBR_ERROR_FORMAT, "%s: tensor '%s' is missing", w->name, name);
		*err = MBR_ECORRUPT;
	}
	return data;
}

/* ne must be exactly {ne0} (ne1 == 0) or {ne0, ne1}. */
static int check_shape(const struct mbr_weights *w, const struct mbr_tensor_info *ti,
		       int64_t ne0, int64_t ne1)
{
	uint32_t want = ne1 ? 2 : 1;

	if (ti->n_dims == want && ti->ne[0] == (uint64_t)ne0 &&
	    (!ne1 || ti->ne[1] == (uint64_t)ne1))
		return 0;
	if (ne1)
		mbr_error_set(MBR_ERROR_FORMAT,
			      "%s: tensor '%s' should be %lldx%lld for this configuration",
			      w->name, ti->name, (long long)ne0, (long long)ne1);
	else
		mbr_error_set(MBR_ERROR_FORMAT,
			      "%s: tensor '%s' should be a vector of %lld",
			      w->name, ti->name, (long long)ne0);
	return MBR_ECORRUPT;
}

/* A norm's weights: F32, used in place. */
static int bind_vector(const float **out, const struct mbr_weights *w,
		       const char *name, int64_t n)
{
	const struct mbr_tensor_info *ti;
	const void *data;
	int err = 0;

	if (!(data = find_tensor(w, name, &ti, &err)))
		return err;
	if (ti->type != MBR_TYPE_F32) {
		const struct mbr_type_info *t = mbr_type_get(ti->type);

		mbr_error_set(MBR_ERROR_FORMAT, "%s: tensor '%s' of type %s: norms must be F32",
			      w->name, name, t ? t->name : "unknown");
		return MBR_EUNSUPPORTED;
	}
	if ((uintptr_t)data % sizeof(float)) {
		mbr_error_set(MBR_ERROR_FORMAT, "%s: tensor '%s' is misaligned", w->name, name);
		return MBR_ECORRUPT;
	}
	if ((err = check_shape(w, ti, n, 0)))
		return err;
	*out = data;
	return 0;
}

/* A matrix of rows x cols; any type the matmul kernels take. */
static int bind_matrix(struct mbr_matrix *m, const struct mbr_weights *w,
		       const char *name, int64_t rows, int64_t cols)
{
	const struct mbr_tensor_info *ti;
	uint64_t ne0 = (uint64_t)cols, row_bytes;
	const void *data;
	int err = 0;

	if (!(data = find_tensor(w, name, &ti, &err)))
		return err;
	m->data = data;
	m->type = ti->type;
	m->rows = rows;
	m->cols = cols;
	m->name = ti->name;
	if ((err = mbr_matmul_check(m)) || (err = check_shape(w, ti, cols, rows)))
		return err;
	if (mbr_type_nbytes(&row_bytes, ti->type, &ne0, 1)) {
		mbr_error_set(MBR_ERROR_FORMAT, "%s: tensor '%s': rows are not whole blocks",
			      w->name, name);
		return MBR_ECORRUPT;
	}
	m->row_bytes = (size_t)row_bytes;
	return 0;
}

static int bind_layer(struct mbr_layer *l, const struct mbr_weights *w,
		      const struct mbr_model_config *c, int i)
{
	int64_t q_dim = (int64_t)c->n_heads * c->head_dim;
	int64_t kv_dim = (int64_t)c->n_kv_heads * c->head_dim;
	char name[64];
	int err;

#define NAME(s) (snprintf(name, sizeof(name), "blk.%d." s ".weight", i), name)
	if ((err = bind_vector(&l->attn_norm, w, NAME("attn_norm"), c->dim)) ||
	    (err = bind_matrix(&l->wq, w, NAME("attn_q"), q_dim, c->dim)) ||
	    (err = bind_matrix(&l->wk, w, NAME("attn_k"), kv_dim, c->dim)) ||
	    (err = bind_matrix(&l->wv, w, NAME("attn_v"), kv_dim, c->dim)) ||
	    (err = bind_matrix(&l->wo, w, NAME("attn_output"), c->dim, q_dim)) ||
	    (err = bind_vector(&l->ffn_norm, w, NAME("ffn_norm"), c->dim)) ||
	    (err = bind_matrix(&l->w_gate, w, NAME("ffn_gate"), c->ff, c->dim)) ||
	    (err = bind_matrix(&l->w_up, w, NAME("ffn_up"), c->ff, c->dim)) ||
	    (err = bind_matrix(&l->w_down, w, NAME("ffn_down"), c->dim, c->ff)))
		return err;
#undef NAME
	return 0;
}

/* token_embd decides the vocabulary; its rows are dequantized per token. */
static int bind_embeddings(struct mbr_model *m, const struct mbr_weights *w)
{
	const struct mbr_tensor_info *ti;
	int err = 0, vocab;

	if (!find_tensor(w, "token_embd.weight", &ti, &err))
		return err;
	if (ti->n_dims != 2 || ti->ne[1] < 1 || ti->ne[1] > INT32_MAX)
		return check_shape(w, ti, m->cfg.dim, 1);
	m->cfg.n_vocab = (int)ti->ne[1];
	if ((err = meta_int(&vocab, w, "llama.vocab_size", m->cfg.n_vocab)))
		return err;
	if (vocab != m->cfg.n_vocab)
		return check_shape(w, ti, m->cfg.dim, vocab);
	if ((err = bind_matrix(&m->tok_embd, w, "token_embd.weight",
			       m->cfg.n_vocab, m->cfg.dim)))
		return err;
	if (!mbr_weights_tensor(w, "output.weight", NULL)) {
		m->output = m->tok_embd;	/* tied */
		return 0;
	}
	return bind_matrix(&m->output, w, "output.weight", m->cfg.n_vocab, m->cfg.dim);
}

void mbr_model_free(struct mbr_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_terms; i++)
		free(m->terms[i]);
	free(m->terms);
	free(m->layers);
	free(m);
}

int mbr_model_build(struct mbr_model **out, const struct mbr_weights *w)
{
	struct mbr_model *m = calloc(1, sizeof(*m));
	int err;

	*out = NULL;
	MBR_CHECK_ALLOC(m);
	m->w = w;
	if ((err = read_config(&m->cfg, w)))
		goto fail;
	if (!(m->layers = calloc((size_t)m->cfg.n_layers, sizeof(*m->layers)))) {
		mbr_error_oom();
		err = MBR_ENOMEM;
		goto fail;
	}
	if ((err = bind_embeddings(m, w)) ||
	    (err = bind_vector(&m->output_norm, w, "output_norm.weight", m->cfg.dim)))
		goto fail;
	for (int i = 0; i < m->cfg.n_layers; i++)
		if ((err = bind_layer(&m->layers[i], w, &m->cfg, i)))
			goto fail;
	*out = m;
	return 0;
fail:
	mbr_model_free(m);
	return err;
}

/* ---- adapters ----------------------------------------------------- */

#define LAYER_MATRICES 7

static void layer_matrices(const struct mbr_matrix *out[LAYER_MATRICES],
			   const struct mbr_layer *l)
{
	const struct mbr_matrix *all[LAYER_MATRICES] = {
		&l->wq, &l->wk, &l->wv, &l->wo, &l->w_gate, &l->w_up, &l->w_down
	};

	memcpy(out, all, sizeof(all));
}

/* The matrix multiplied by the tensor called name; NULL when none is. */
static struct mbr_matrix *matrix_named(struct mbr_model *m, const char *name)
{
	if (m->output.data != m->tok_embd.data && !strcmp(m->output.name, name))
		return &m->output;
	for (int i = 0; i < m->cfg.n_layers; i++) {
		const struct mbr_matrix *all[LAYER_MATRICES];

		layer_matrices(all, &m->layers[i]);
		for (int j = 0; j < LAYER_MATRICES; j++)
			if (!strcmp(all[j]->name, name))
				return (struct mbr_matrix *)all[j];	/* m is ours */
	}
	return NULL;
}

/* An adapter's factor as a matrix of ne[1] rows of ne[0] (lora.c has
 * checked it is an F32 or F16 matrix). */
static int factor_matrix(struct mbr_matrix *out, const struct mbr_tensor_info *t,
			 const void *data)
{
	*out = (struct mbr_matrix){
		.data = data, .type = t->type, .rows = (int64_t)t->ne[1],
		.cols = (int64_t)t->ne[0], .row_bytes = mbr_row_size(t->type, (int64_t)t->ne[0]),
		.name = t->name,
	};
	return mbr_matmul_check(out);
}

static int add_term(struct mbr_model *m, struct mbr_matrix *w, const struct mbr_lora *l,
		    const struct mbr_lora_pair *p, float scale)
{
	struct mbr_lora_delta *d = calloc(1, sizeof(*d)), **terms, **tail;
	int err;

	MBR_CHECK_ALLOC(d);
	terms = realloc(m->terms, (m->n_terms + 1) * sizeof(*terms));
	if (!terms) {
		free(d);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	m->terms = terms;
	m->terms[m->n_terms++] = d;
	if ((err = factor_matrix(&d->a, p->a, p->a_data)) ||
	    (err = factor_matrix(&d->b, p->b, p->b_data)))
		return err;
	d->scale = mbr_lora_scale(l, p, scale);
	/* in the order applied: llama.cpp adds the adapters' terms in turn */
	for (tail = &w->lora; *tail; tail = &(*tail)->next)
		;
	*tail = d;
	return 0;
}

int mbr_model_add_lora(struct mbr_model *m, const struct mbr_lora *l, float scale)
{
	int err;

	if ((err = mbr_lora_check(l, m->w)))
		return err;
	for (size_t i = 0; i < l->n_pairs; i++) {
		const struct mbr_lora_pair *p = &l->pairs[i];
		struct mbr_matrix *w = matrix_named(m, p->name);

		if (!w) {
			mbr_error_set(MBR_ERROR_INVALID, "%s: '%s' is not a matrix the engine "
				      "multiplies by", l->name, p->name);
			return MBR_EUNSUPPORTED;
		}
		if ((err = add_term(m, w, l, p, scale)))
			return err;
	}
	return 0;
}

/* ---- session ------------------------------------------------------ */

struct mbr_session {
	const struct mbr_model *m;
	int n_ctx, n_batch, n_threads;
	int n_cells;			/* n_ctx padded to CELL_PAD */
	int n_past;			/* positions [0, n_past) are cached */
	struct mbr_threadpool *tp;
	const struct mbr_kernel_traits *f16;	/* the cache's conversion and dot */
	mbr_swiglu_fn swiglu;
	mbr_softmax_exp_fn softmax_exp;
	/* the cache, per layer and KV head: K by position, V transposed
	 * (by dimension, then position) so each output is one dot */
	mbr_half *k_cache;		/* (n_layers, n_kv_heads, n_cells, head_dim) */
	mbr_half *v_cache;		/* (n_layers, n_kv_heads, head_dim, n_cells) */
	/* activations for a batch of n_batch tokens */
	float *x;			/* (n_batch, dim) the residual stream */
	float *xb;			/* (n_batch, dim) */
	float *q;			/* (n_batch, q_dim) */
	float *k, *v;			/* (n_batch, kv_dim) */
	float *att;			/* (n_batch, q_dim) attention output */
	float *hb, *hb2;		/* (n_batch, ff) */
	float *rope;			/* (n_batch, n_rot) cos, sin pairs */
	float *lora_ax;			/* (n_batch, largest rank) A x */
	float *lora_bax;		/* (n_batch, largest rows) B (A x) */
	/* per thread, for the query heads that share a KV head: scores,
	 * their F16 rounding, the F16 queries */
	float *scores;			/* (n_threads, group, n_cells) */
	mbr_half *p16;			/* (n_threads, group, n_cells) */
	mbr_half *q16;			/* (n_threads, group, head_dim) */
	void *matmul_scratch;
};

int mbr_session_n_ctx(const struct mbr_session *s)
{
	return s->n_ctx;
}

int mbr_session_threads(const struct mbr_session *s)
{
	return s->n_threads;
}

const struct mbr_model *mbr_session_model(const struct mbr_session *s)
{
	return s->m;
}

/* llama.cpp clears its cache too: the padding cells attention reads
 * with probability 0 must hold finite values, not an older chunk's. */
void mbr_session_reset(struct mbr_session *s)
{
	const struct mbr_model_config *c = &s->m->cfg;

	memset(s->v_cache, 0, (size_t)c->n_layers * c->n_kv_heads * c->head_dim *
			      s->n_cells * sizeof(*s->v_cache));
	s->n_past = 0;
}

void mbr_session_free(struct mbr_session *s)
{
	if (!s)
		return;
	mbr_threadpool_free(s->tp);
	free(s->k_cache);
	free(s->v_cache);
	free(s->x);
	free(s->xb);
	free(s->q);
	free(s->k);
	free(s->v);
	free(s->att);
	free(s->hb);
	free(s->hb2);
	free(s->rope);
	free(s->lora_ax);
	free(s->lora_bax);
	free(s->scores);
	free(s->p16);
	free(s->q16);
	free(s->matmul_scratch);
	free(s);
}

/*
 * calloc of a * b * size bytes, NULL on overflow, with a zero written
 * every 4 KiB, so that the first prompt does not take the faults of
 * calloc's untouched pages (as llama.cpp clears its cache when it makes
 * it). A memset would not do: compilers fold malloc + memset into calloc.
 */
static void *alloc3(size_t a, size_t b, size_t size)
{
	volatile unsigned char *p;
	size_t n;

	if (MBR_MUL_OVERFLOW(&n, a, b) || MBR_MUL_OVERFLOW(&n, n ? n : 1, size) ||
	    !(p = calloc(n, 1)))
		return NULL;
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 0;
	return (void *)p;
}

static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

static size_t largest_matmul_scratch(const struct mbr_model *m, int n_batch)
{
	size_t max = mbr_matmul_scratch_size(&m->output, n_batch);

	for (int i = 0; i < m->cfg.n_layers; i++) {
		const struct mbr_matrix *all[LAYER_MATRICES];

		layer_matrices(all, &m->layers[i]);
		for (size_t j = 0; j < LAYER_MATRICES; j++)
			max = max_size(max, mbr_matmul_scratch_size(all[j], n_batch));
	}
	for (size_t i = 0; i < m->n_terms; i++) {
		max = max_size(max, mbr_matmul_scratch_size(&m->terms[i]->a, n_batch));
		max = max_size(max, mbr_matmul_scratch_size(&m->terms[i]->b, n_batch));
	}
	return max;
}

/* Floats per token of the adapters' intermediate products (A x) and
 * (B (A x)); at least 1, so the buffers exist. */
static void lora_widths(const struct mbr_model *m, size_t *rank, size_t *rows)
{
	*rank = *rows = 1;
	for (size_t i = 0; i < m->n_terms; i++) {
		*rank = max_size(*rank, (size_t)m->terms[i]->a.rows);
		*rows = max_size(*rows, (size_t)m->terms[i]->b.rows);
	}
}

static int alloc_buffers(struct mbr_session *s)
{
	const struct mbr_model_config *c = &s->m->cfg;
	size_t q_dim = (size_t)c->n_heads * c->head_dim;
	size_t kv_dim = (size_t)c->n_kv_heads * c->head_dim;
	size_t nb = (size_t)s->n_batch, cache, rank, rows;
	size_t group = (size_t)(c->n_heads / c->n_kv_heads);

	if (MBR_MUL_OVERFLOW(&cache, (size_t)c->n_layers * kv_dim, (size_t)s->n_cells))
		cache = SIZE_MAX;
	s->k_cache = alloc3(cache, 1, sizeof(mbr_half));
	s->v_cache = alloc3(cache, 1, sizeof(mbr_half));
	s->x = alloc3(nb, (size_t)c->dim, sizeof(float));
	s->xb = alloc3(nb, (size_t)c->dim, sizeof(float));
	s->q = alloc3(nb, q_dim, sizeof(float));
	s->k = alloc3(nb, kv_dim, sizeof(float));
	s->v = alloc3(nb, kv_dim, sizeof(float));
	s->att = alloc3(nb, q_dim, sizeof(float));
	s->hb = alloc3(nb, (size_t)c->ff, sizeof(float));
	s->hb2 = alloc3(nb, (size_t)c->ff, sizeof(float));
	s->rope = alloc3(nb, (size_t)c->n_rot, sizeof(float));
	lora_widths(s->m, &rank, &rows);
	s->lora_ax = alloc3(nb, rank, sizeof(float));
	s->lora_bax = alloc3(nb, rows, sizeof(float));
	s->scores = alloc3((size_t)s->n_threads * group, (size_t)s->n_cells, sizeof(float));
	s->p16 = alloc3((size_t)s->n_threads * group, (size_t)s->n_cells, sizeof(mbr_half));
	s->q16 = alloc3((size_t)s->n_threads * group, (size_t)c->head_dim, sizeof(mbr_half));
	s->matmul_scratch = alloc3(1, largest_matmul_scratch(s->m, s->n_batch), 1);
	if (!s->k_cache || !s->v_cache || !s->x || !s->xb || !s->q || !s->k ||
	    !s->v || !s->att || !s->hb || !s->hb2 || !s->rope || !s->lora_ax ||
	    !s->lora_bax || !s->scores ||
	    !s->p16 || !s->q16 || !s->matmul_scratch) {
		mbr_error_set(MBR_ERROR_NOMEMORY,
			      "%s: out of memory for a session of %d positions",
			      s->m->w->name, s->n_ctx);
		return MBR_ENOMEM;
	}
	return 0;
}

/* llama.cpp's cache padding without flash attention */
#define CELL_PAD 32

/*
 * Map the pages of the matrices now, as llama.cpp's loader does with
 * MAP_POPULATE: a first prompt otherwise takes a page fault for every few
 * pages of weights it reads, a tenth of its time at TinyLlama's size.
 * Best effort: kernels before 5.14 refuse it, and weights read into
 * memory need none.
 *
 * Then read a byte of every page: in a virtual machine the first access
 * to a page can cost an exit to the hypervisor even once it is mapped.
 * On the benchmark machine (one such) that is 1.5 us a 4 KiB page, 0.8 s
 * of the 2.6 s a first TinyLlama F16 prompt took on one thread; llama.cpp's
 * tools pay it in the warm-up run they make before timing anything.
 * Elsewhere it costs a cache miss a page.
 */
static void populate_matrix(const struct mbr_matrix *w)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)w->data & ~(page - 1);
	uintptr_t end = (uintptr_t)w->data + w->row_bytes * (size_t)w->rows;

#ifdef MADV_POPULATE_READ
	madvise((void *)start, end - start, MADV_POPULATE_READ);
#endif
	for (uintptr_t p = start; p < end; p += page)
		(void)*(const volatile unsigned char *)p;
}

static void populate(const struct mbr_model *m)
{
	populate_matrix(&m->output);
	for (int i = 0; i < m->cfg.n_layers; i++) {
		const struct mbr_matrix *all[LAYER_MATRICES];

		layer_matrices(all, &m->layers[i]);
		for (int j = 0; j < LAYER_MATRICES; j++)
			populate_matrix(all[j]);
	}
}

int mbr_session_new(struct mbr_session **out, const struct mbr_model *m,
		    int n_ctx, int n_threads)
{
	struct mbr_session *s = calloc(1, sizeof(*s));
	int err;

	*out = NULL;
	MBR_CHECK_ALLOC(s);
	s->m = m;
	s->n_ctx = n_ctx > 0 ? n_ctx : m->cfg.n_ctx_train;
	if (s->n_ctx > INT32_MAX - CELL_PAD) {
		free(s);
		mbr_error_set(MBR_ERROR_INVALID, "context of %d is too large", n_ctx);
		return MBR_EINVALID;
	}
	s->n_cells = (s->n_ctx + CELL_PAD - 1) / CELL_PAD * CELL_PAD;
	s->n_batch = s->n_ctx < MBR_SESSION_BATCH ? s->n_ctx : MBR_SESSION_BATCH;
	s->n_threads = n_threads > 0 ? n_threads : mbr_online_cores();
	s->f16 = mbr_kernel_traits(MBR_TYPE_F16);
	s->swiglu = mbr_kernel_swiglu();
	s->softmax_exp = mbr_kernel_softmax_exp();
	if ((err = alloc_buffers(s)) ||
	    (err = mbr_threadpool_new(&s->tp, s->n_threads))) {
		mbr_session_free(s);
		return err;
	}
	populate(m);
	*out = s;
	return 0;
}

/* ---- the forward pass --------------------------------------------- */

/* ggml_rms_norm then ggml_mul: squares summed in double, scaled in float. */
static void rmsnorm(float *out, const float *x, const float *weight, int n, float eps)
{
	double sum = 0;
	float mean, scale;

	for (int i = 0; i < n; i++)
		sum += (double)(x[i] * x[i]);
	mean = (float)(sum / n);
	scale = 1.0f / sqrtf(mean + eps);
	for (int i = 0; i < n; i++)
		out[i] = (x[i] * scale) * weight[i];
}

struct norm_task {
	const struct mbr_session *s;
	float *out, *x;
	const float *add, *weight;
	int n;
};

/* A share of the rows: x += add (the residual), out = rmsnorm(x). */
static void norm_task(void *arg, int ith, int nth)
{
	const struct norm_task *a = arg;
	const struct mbr_model_config *c = &a->s->m->cfg;

	for (int t = a->n * ith / nth; t < a->n * (ith + 1) / nth; t++) {
		float *x = a->x + (size_t)t * c->dim;

		for (int i = 0; a->add && i < c->dim; i++)
			x[i] += a->add[(size_t)t * c->dim + i];
		rmsnorm(a->out + (size_t)t * c->dim, x, a->weight, c->dim, c->norm_eps);
	}
}

/*
 * x += add (unless NULL), then out = rmsnorm(x) with weight, for n rows,
 * on the pool's threads once there are rows for each (a block's residual
 * and the next block's norm, ggml_add and ggml_rms_norm, in one step).
 */
static void add_and_norm(struct mbr_session *s, float *out, float *x,
			 const float *add, const float *weight, int n)
{
	struct norm_task task = { s, out, x, add, weight, n };

	if (n >= s->n_threads)
		mbr_threadpool_run(s->tp, norm_task, &task);
	else
		norm_task(&task, 0, 1);
}

/*
 * cos and sin of each rotated pair's angle for each position, the way
 * ggml's rope cache makes them: theta starts at the (scaled) position
 * and is multiplied by base^(-2/n_rot) from one pair to the next.
 */
static void rope_angles(struct mbr_session *s, int n, int pos)
{
	const struct mbr_model_config *c = &s->m->cfg;
	float theta_scale = powf(c->rope_base, -2.0f / (float)c->n_rot);

	for (int t = 0; t < n; t++) {
		float *cs = s->rope + (size_t)t * c->n_rot;
		float theta = (float)(pos + t);

		for (int i = 0; i < c->n_rot; i += 2) {
			float angle = c->rope_pos_scale * theta;

			cs[i] = cosf(angle);
			cs[i + 1] = sinf(angle);
			theta *= theta_scale;
		}
	}
}

/* Rotate the n_heads heads of token t's vectors in vec, in ggml's NORM
 * mode: adjacent pairs (2i, 2i+1) of each head rotate. */
static void rope_rotate(const struct mbr_session *s, float *vec, int t, int n_heads)
{
	const struct mbr_model_config *c = &s->m->cfg;
	const float *cs = s->rope + (size_t)t * c->n_rot;

	for (int h = 0; h < n_heads; h++) {
		float *v = vec + ((size_t)t * n_heads + h) * c->head_dim;

		for (int i = 0; i < c->n_rot; i += 2) {
			float x0 = v[i], x1 = v[i + 1];

			v[i] = x0 * cs[i] - x1 * cs[i + 1];
			v[i + 1] = x0 * cs[i + 1] + x1 * cs[i];
		}
	}
}

static mbr_half *k_at(const struct mbr_session *s, int layer, int kvh, int pos)
{
	const struct mbr_model_config *c = &s->m->cfg;
	size_t head = (size_t)layer * c->n_kv_heads + kvh;

	return s->k_cache + (head * s->n_cells + pos) * c->head_dim;
}

/* Row d of the transposed V of one head: d's value at every position. */
static mbr_half *vt_at(const struct mbr_session *s, int layer, int kvh, int d)
{
	const struct mbr_model_config *c = &s->m->cfg;
	size_t head = (size_t)layer * c->n_kv_heads + kvh;

	return s->v_cache + (head * c->head_dim + d) * s->n_cells;
}

/* Token t's K and V into the cache, at position pos + t. */
static void cache_store(struct mbr_session *s, int layer, int t, int pos)
{
	const struct mbr_model_config *c = &s->m->cfg;
	int kv_dim = c->n_kv_heads * c->head_dim;
	const float *k = s->k + (size_t)t * kv_dim, *v = s->v + (size_t)t * kv_dim;

	for (int h = 0; h < c->n_kv_heads; h++) {
		s->f16->from_float(k + h * c->head_dim, k_at(s, layer, h, pos + t),
				   c->head_dim);
		for (int d = 0; d < c->head_dim; d++)
			vt_at(s, layer, h, d)[pos + t] = mbr_fp32_to_fp16(v[h * c->head_dim + d]);
	}
}

struct attention_task {
	struct mbr_session *s;
	int layer, n, pos;
};

/*
 * out[i * out_stride + r] = row r of w . x_i (rows of n halves, w_row
 * apart; the m rows of x n apart), by the F16 batched product where the
 * kernels have one: the same bits as vec_dot, without a call per dot.
 */
static void f16_products(const struct mbr_kernel_traits *f16, int64_t n, int rows,
			 int m, float *out, size_t out_stride, const mbr_half *w,
			 size_t w_row, const mbr_half *x)
{
	struct mbr_gemm_ahead none = { 0 };

	/* F16 batches read the converted rows in place (no packer) */
	if (!f16->gemm || f16->gemm_pack) {
		for (int i = 0; i < m; i++)
			for (int r = 0; r < rows; r++)
				f16->vec_dot(n, &out[(size_t)i * out_stride + r],
					     w + (size_t)r * w_row, x + (size_t)i * n);
		return;
	}
	for (int i = 0; i < m; i += MBR_GEMM_TOKENS)
		f16->gemm(n, rows, m - i < MBR_GEMM_TOKENS ? m - i : MBR_GEMM_TOKENS,
			  out + (size_t)i * out_stride, out_stride, w,
			  w_row * sizeof(*w), x + (size_t)i * n, &none);
}

/* Softmax of one head's n_kv scaled scores into p16, padded with zeros to
 * n_pad. */
static void head_softmax(const struct mbr_session *s, float *score, mbr_half *p16,
			 int n_kv, int n_pad, float scale)
{
	float max = -INFINITY, inv;

	for (int j = 0; j < n_kv; j++) {
		score[j] *= scale;
		max = score[j] > max ? score[j] : max;
	}
	inv = (float)(1.0 / s->softmax_exp(score, n_kv, max));
	for (int j = 0; j < n_kv; j++)
		score[j] *= inv;
	for (int j = n_kv; j < n_pad; j++)
		score[j] = 0.0f;
	s->f16->from_float(score, p16, n_pad);
}

/*
 * The query heads that share KV head kvh, for one token, against the
 * cached positions up to its own, as ggml's mul_mat, soft_max_ext and
 * mul_mat do it: the queries rounded to F16 to meet K, scores scaled by
 * 1/sqrt(head_dim), softmax, the probabilities rounded to F16 to meet V
 * over the cells padded to 32 (the padding has probability 0, but it
 * decides which SIMD lane each product lands in, and so the bits of the
 * sum). The heads go together through K and V as one batch each.
 */
static void attend(struct mbr_session *s, int layer, int t, int kvh, int n_kv, int ith)
{
	const struct mbr_model_config *c = &s->m->cfg;
	int hd = c->head_dim, group = c->n_heads / c->n_kv_heads, h0 = kvh * group;
	int n_pad = (n_kv + CELL_PAD - 1) / CELL_PAD * CELL_PAD;
	const float *q = s->q + ((size_t)t * c->n_heads + h0) * hd;
	float *out = s->att + ((size_t)t * c->n_heads + h0) * hd;
	float *score = s->scores + (size_t)ith * group * s->n_cells;
	mbr_half *p16 = s->p16 + (size_t)ith * group * s->n_cells;
	mbr_half *q16 = s->q16 + (size_t)ith * group * hd;
	float scale = 1.0f / sqrtf((float)hd);

	for (int i = 0; i < group; i++)
		s->f16->from_float(q + (size_t)i * hd, q16 + (size_t)i * hd, hd);
	f16_products(s->f16, hd, n_kv, group, score, s->n_cells,
		     k_at(s, layer, kvh, 0), hd, q16);
	for (int i = 0; i < group; i++)
		head_softmax(s, score + (size_t)i * s->n_cells, p16 + (size_t)i * n_pad,
			     n_kv, n_pad, scale);
	f16_products(s->f16, n_pad, hd, group, out, hd, vt_at(s, layer, kvh, 0),
		     s->n_cells, p16);
}

/*
 * Each token's queries and keys rotated and its K and V cached, then
 * (token, KV head) pairs dealt round-robin: later tokens attend further.
 */
static void attention_task(void *arg, int ith, int nth)
{
	struct attention_task *a = arg;
	const struct mbr_model_config *c = &a->s->m->cfg;
	int n_kv_heads = c->n_kv_heads;

	for (int t = ith; t < a->n; t += nth) {
		rope_rotate(a->s, a->s->q, t, c->n_heads);
		rope_rotate(a->s, a->s->k, t, n_kv_heads);
		cache_store(a->s, a->layer, t, a->pos);
	}
	mbr_threadpool_barrier(a->s->tp);
	for (int i = ith; i < a->n * n_kv_heads; i += nth)
		attend(a->s, a->layer, i / n_kv_heads, i % n_kv_heads,
		       a->pos + i / n_kv_heads + 1, ith);
}

/* out += scale * B (A x): ggml_mul_mat twice, ggml_scale, ggml_add. */
static void add_lora_term(struct mbr_session *s, float *out, const struct mbr_lora_delta *d,
			  const float *x, int n)
{
	size_t len = (size_t)n * d->b.rows;

	mbr_matmul(s->tp, s->lora_ax, &d->a, x, n, s->matmul_scratch);
	mbr_matmul(s->tp, s->lora_bax, &d->b, s->lora_ax, n, s->matmul_scratch);
	for (size_t i = 0; i < len; i++) {
		float term = s->lora_bax[i] * d->scale;	/* ggml_scale stores it */

		out[i] += term;
	}
}

/* W x for each of count matrices and a batch of n, plus the adapters'
 * terms on each W. */
static void matmuls(struct mbr_session *s, int count, float *const *out,
		    const struct mbr_matrix *const *w, const float *x, int n)
{
	mbr_matmul_many(s->tp, count, out, w, x, n, s->matmul_scratch);
	for (int i = 0; i < count; i++)
		for (const struct mbr_lora_delta *d = w[i]->lora; d; d = d->next)
			add_lora_term(s, out[i], d, x, n);
}

static void matmul(struct mbr_session *s, float *out, const struct mbr_matrix *w,
		   const float *x, int n)
{
	matmuls(s, 1, &out, &w, x, n);
}

static void attention_block(struct mbr_session *s, int layer, int n, int pos)
{
	const struct mbr_layer *l = &s->m->layers[layer];
	struct attention_task task = { s, layer, n, pos };

	/* xb holds the last block's output, not yet added to x (but in
	 * layer 0) */
	add_and_norm(s, s->xb, s->x, layer ? s->xb : NULL, l->attn_norm, n);
	matmuls(s, 3, (float *[]){ s->q, s->k, s->v },
		(const struct mbr_matrix *[]){ &l->wq, &l->wk, &l->wv }, s->xb, n);
	mbr_threadpool_run(s->tp, attention_task, &task);
	matmul(s, s->xb, &l->wo, s->att, n);
}

struct swiglu_task {
	struct mbr_session *s;
	int n;
};

/*
 * hb = silu(hb) * hb2 over a share of the batch's n * ff elements: on
 * one thread the exponentials took 8% of a Q4_0 prompt while the other
 * threads waited. Shares start at multiples of 8, so with ff one too
 * every share is whole lanes of eight. Otherwise each row goes as
 * ggml_vec_silu_f32 takes it: lanes of eight, then expf for the rest.
 */
static void swiglu_task(void *arg, int ith, int nth)
{
	struct swiglu_task *a = arg;
	struct mbr_session *s = a->s;
	size_t ff = (size_t)s->m->cfg.ff, total = (size_t)a->n * ff, lanes = ff / 8 * 8;
	size_t lo = total * ith / nth / 8 * 8;
	size_t hi = ith + 1 == nth ? total : total * (ith + 1) / nth / 8 * 8;

	if (ff % 8 == 0) {
		s->swiglu(s->hb + lo, s->hb2 + lo, (int64_t)(hi - lo));
		return;
	}
	for (size_t t = (size_t)ith; t < (size_t)a->n; t += (size_t)nth) {
		float *g = s->hb + t * ff, *u = s->hb2 + t * ff;

		s->swiglu(g, u, (int64_t)lanes);
		for (size_t i = lanes; i < ff; i++)
			g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
	}
}

/* SwiGLU: silu(gate) * up, then down. */
static void ffn_block(struct mbr_session *s, int layer, int n)
{
	const struct mbr_layer *l = &s->m->layers[layer];
	struct swiglu_task task = { s, n };

	add_and_norm(s, s->xb, s->x, s->xb, l->ffn_norm, n);
	matmuls(s, 2, (float *[]){ s->hb, s->hb2 },
		(const struct mbr_matrix *[]){ &l->w_gate, &l->w_up }, s->xb, n);
	mbr_threadpool_run(s->tp, swiglu_task, &task);
	matmul(s, s->xb, &l->w_down, s->hb, n);
}

/* get_rows: each token's embedding row, dequantized. */
static void embed(struct mbr_session *s, const int32_t *tokens, int n)
{
	const struct mbr_matrix *e = &s->m->tok_embd;
	const struct mbr_kernel_traits *k = mbr_kernel_traits(e->type);

	for (int t = 0; t < n; t++)
		k->dequantize((const unsigned char *)e->data + (size_t)tokens[t] * e->row_bytes,
			      s->x + (size_t)t * e->cols, e->cols);
}

/* logits for the batch's rows from first on (none when first == n) */
static void forward_batch(struct mbr_session *s, const int32_t *tokens, int n,
			  int pos, float *logits, int first)
{
	const struct mbr_model *m = s->m;
	const struct mbr_model_config *c = &m->cfg;

	embed(s, tokens, n);
	rope_angles(s, n, pos);
	for (int layer = 0; layer < c->n_layers; layer++) {
		attention_block(s, layer, n, pos);
		ffn_block(s, layer, n);
	}
	if (first == n)
		return;
	/* the last block's output joins x only where there are logits */
	add_and_norm(s, s->xb + (size_t)first * c->dim, s->x + (size_t)first * c->dim,
		     s->xb + (size_t)first * c->dim, m->output_norm, n - first);
	matmul(s, logits, &m->output, s->xb + (size_t)first * c->dim, n - first);
}

static int check_tokens(const struct mbr_session *s, const int32_t *tokens,
			int n, int pos, int n_logits)
{
	int n_vocab = s->m->cfg.n_vocab;

	if (n < 1 || pos < 0 || pos > s->n_past || n > s->n_ctx - pos ||
	    n_logits < 0 || n_logits > n) {
		mbr_error_set(MBR_ERROR_INVALID,
			      "cannot decode %d tokens (%d logits) at position %d: "
			      "%d positions cached, context of %d",
			      n, n_logits, pos, s->n_past, s->n_ctx);
		return MBR_EINVALID;
	}
	for (int i = 0; i < n; i++) {
		if (tokens[i] < 0 || tokens[i] >= n_vocab) {
			mbr_error_set(MBR_ERROR_INVALID,
				      "token %d is not in the vocabulary of %d",
				      (int)tokens[i], n_vocab);
			return MBR_EINVALID;
		}
	}
	return 0;
}

int mbr_session_decode(struct mbr_session *s, const int32_t *tokens, int n,
		       int pos, float *logits, int n_logits)
{
	size_t n_vocab = (size_t)s->m->cfg.n_vocab;
	int err, first_out = n - n_logits;

	if ((err = check_tokens(s, tokens, n, pos, n_logits)))
		return err;
	for (int done = 0; done < n;) {
		int nb = n - done < s->n_batch ? n - done : s->n_batch;
		int first = first_out > done ? first_out - done : 0;

		first = first < nb ? first : nb;
		forward_batch(s, tokens + done, nb, pos + done, first == nb ? NULL :
			      logits + (size_t)(done + first - first_out) * n_vocab,
			      first);
		done += nb;
		s->n_past = pos + done;
	}
	return 0;
}
