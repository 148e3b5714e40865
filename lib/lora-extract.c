/*
 * lora-extract.c - mbr breed lora-extract: the rank-r LoRA adapter closest
 * to a descendant's difference from its base.
 *
 * For each matrix that differs, Δ = D - B (in double, both dequantized)
 * has the truncated SVD U diag(s) V^T (svd.c); the adapter's factors
 * split s evenly, A = sqrt(s) V^T and B = U sqrt(s), so neither factor's
 * scale dwarfs the other's in F32, and alpha = rank makes the scale
 * alpha / rank = 1: applied at scale 1 the adapter adds the best rank-r
 * approximation of Δ (Eckart-Young).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernels.h"
#include "mbr/breed.h"
#include "mbr/error.h"
#include "mbr/lineage.h"
#include "mbr/lora.h"
#include "mbr/types.h"
#include "svd.h"

/* The fixed seed of the range finder: the same inputs give the same
 * adapter, and so the same objects. */
#define EXTRACT_SEED 0x6c6f7261u

struct factor_pair {
	const struct mbr_tensor_info *w;
	float *a;			/* rank x cols: lora_a, ggml [cols, rank] */
	float *b;			/* rows x rank: lora_b, ggml [rank, rows] */
};

struct extract {
	struct mbr_weights *base, *desc;
	char commits[2][MBR_COMMIT_HEXSZ + 1];
	int rank;
	struct factor_pair *pairs;
	size_t n_pairs;
	const struct mbr_progress *progress;
};

static const char *arch_of(const struct mbr_weights *w)
{
	const struct mbr_kv *kv = mbr_modelfile_kv(w->mf, "general.architecture");

	return kv && kv->type == MBR_GGUF_STRING ? kv->str : "";
}

static int differs(const struct extract *x, const struct mbr_tensor_info *t,
		   const struct mbr_tensor_info **dt)
{
	const void *b = mbr_weights_tensor(x->base, t->name, NULL);
	const void *d = mbr_weights_tensor(x->desc, t->name, dt);

	return !d || (*dt)->type != t->type || memcmp(b, d, t->size);
}

static int check_matrix(const struct extract *x, const struct mbr_tensor_info *t,
			const struct mbr_tensor_info *dt)
{
	const struct mbr_kernel_traits *kb = mbr_kernel_traits(t->type);
	const struct mbr_kernel_traits *kd = dt ? mbr_kernel_traits(dt->type) : NULL;

	if (!dt || dt->n_dims != 2 || dt->ne[0] != t->ne[0] || dt->ne[1] != t->ne[1]) {
		mbr_error_set(MBR_ERROR_INVALID, "%s: tensor '%s' is missing or has another "
			      "shape than in %s", x->desc->name, t->name, x->base->name);
		return MBR_EINVALID;
	}
	if (!kb || !kb->dequantize || !kd || !kd->dequantize) {
		mbr_error_set(MBR_ERROR_KERNEL, "tensor '%s': mbr cannot dequantize its type",
			      t->name);
		return MBR_EUNSUPPORTED;
	}
	return 0;
}

/* Δ = D - B as rows x cols doubles. */
static double *difference(const struct extract *x, const struct mbr_tensor_info *t,
			  const struct mbr_tensor_info *dt)
{
	size_t n = (size_t)t->ne[0] * t->ne[1];
	float *b = malloc(n * sizeof(*b)), *d = malloc(n * sizeof(*d));
	double *delta = malloc(n * sizeof(*delta));

	if (b && d && delta) {
		mbr_lora_dequantize(b, t, mbr_weights_tensor(x->base, t->name, NULL));
		mbr_lora_dequantize(d, dt, mbr_weights_tensor(x->desc, t->name, NULL));
		for (size_t i = 0; i < n; i++)
			delta[i] = (double)d[i] - (double)b[i];
	} else {
		free(delta);
		delta = NULL;
	}
	free(b);
	free(d);
	return delta;
}

/*
 * The factors of Δ's rank-r truncation, r the rank asked for or the
 * matrix's smaller side; past r they stay zero, so every pair has the
 * adapter's one rank and alpha / rank is 1 for all.
 */
static int factorize(struct factor_pair *p, const double *delta, int64_t rows, int64_t cols,
		     int rank)
{
	int r = rank < rows ? rank : (int)rows;
	double *u = NULL, *s = NULL, *vt = NULL;
	int err = MBR_ENOMEM;

	r = r < cols ? r : (int)cols;
	p->a = calloc((size_t)rank * cols, sizeof(*p->a));
	p->b = calloc((size_t)rows * rank, sizeof(*p->b));
	u = malloc((size_t)rows * r * sizeof(*u));
	s = malloc((size_t)r * sizeof(*s));
	vt = malloc((size_t)r * cols * sizeof(*vt));
	if (!p->a || !p->b || !u || !s || !vt)
		mbr_error_oom();
	else if (!(err = mbr_svd_truncated(u, s, vt, delta, (int)rows, (int)cols, r,
					   EXTRACT_SEED))) {
		for (int l = 0; l < r; l++) {
			double root = sqrt(s[l]);

			for (int64_t c = 0; c < cols; c++)
				p->a[l * cols + c] = (float)(root * vt[l * cols + c]);
			for (int64_t i = 0; i < rows; i++)
				p->b[i * rank + l] = (float)(u[i * r + l] * root);
		}
	}
	free(u);
	free(s);
	free(vt);
	return err;
}

/* Adapters apply to the matrices the engine multiplies by: 2-D weights,
 * not the embeddings (llama.cpp flips A and B there; mbr does not apply
 * them). */
static int is_target(const struct mbr_tensor_info *t)
{
	size_t n = strlen(t->name);

	return t->n_dims == 2 && n > 7 && !strcmp(t->name + n - 7, ".weight") &&
	       strcmp(t->name, "token_embd.weight");
}

/* what the progress report counts: the bytes of the base's 2-D weights */
static uint64_t target_bytes(const struct mbr_modelfile *mf)
{
	uint64_t total = 0;

	for (size_t i = 0; i < mf->n_tensors; i++)
		if (is_target(&mf->tensors[i]))
			total += mf->tensors[i].size;
	return total;
}

static int extract_pairs(struct extract *x)
{
	const struct mbr_modelfile *mf = x->base->mf;
	uint64_t total = target_bytes(mf);
	int err = 0;

	x->pairs = calloc(mf->n_tensors + 1, sizeof(*x->pairs));
	MBR_CHECK_ALLOC(x->pairs);
	for (size_t i = 0; i < mf->n_tensors && !err; i++) {
		const struct mbr_tensor_info *t = &mf->tensors[i], *dt = NULL;
		struct factor_pair *p = &x->pairs[x->n_pairs];
		double *delta;

		if (!is_target(t))
			continue;
		if (differs(x, t, &dt)) {
			if ((err = check_matrix(x, t, dt)))
				break;
			if (!(delta = difference(x, t, dt))) {
				mbr_error_oom();
				return MBR_ENOMEM;
			}
			p->w = t;
			x->n_pairs++;
			err = factorize(p, delta, (int64_t)t->ne[1], (int64_t)t->ne[0], x->rank);
			free(delta);
		}
		if (!err && x->progress && x->progress->fn)
			x->progress->fn(x->progress->payload, t->size, total);
	}
	if (!err && !x->n_pairs) {
		mbr_error_set(MBR_ERROR_INVALID, "%s has no matrix that differs from %s's",
			      x->desc->name, x->base->name);
		err = MBR_EINVALID;
	}
	return err;
}

static int add_factor(struct mbr_gguf_writer *gw, const struct factor_pair *p,
		      const char *suffix, const float *data, uint64_t ne0, uint64_t ne1)
{
	char name[MBR_GGUF_MAX_NAME + 8];
	uint64_t ne[2] = { ne0, ne1 };

	snprintf(name, sizeof(name), "%s%s", p->w->name, suffix);
	return mbr_gguf_writer_add_tensor(gw, name, MBR_TYPE_F32, 2, ne, data,
					  ne0 * ne1 * sizeof(float));
}

/* llama.cpp's adapter file: convert_lora_to_gguf.py's keys, F32 pairs. */
static int write_gguf(const struct extract *x, const char *path, const char *name)
{
	struct mbr_gguf_writer *gw = NULL;
	int err;

	if ((err = mbr_gguf_writer_new(&gw, 0)) ||
	    (err = mbr_gguf_writer_add_kv_string(gw, "general.architecture", arch_of(x->base))) ||
	    (err = mbr_gguf_writer_add_kv_string(gw, "general.type", "adapter")) ||
	    (err = mbr_gguf_writer_add_kv_string(gw, "general.name", name)) ||
	    (err = mbr_gguf_writer_add_kv_string(gw, "adapter.type", "lora")) ||
	    (err = mbr_gguf_writer_add_kv_f32(gw, "adapter.lora.alpha", (float)x->rank)))
		goto done;
	for (size_t i = 0; i < x->n_pairs && !err; i++) {
		const struct factor_pair *p = &x->pairs[i];

		if (!(err = add_factor(gw, p, ".lora_a", p->a, p->w->ne[0], (uint64_t)x->rank)))
			err = add_factor(gw, p, ".lora_b", p->b, (uint64_t)x->rank, p->w->ne[1]);
	}
	if (!err)
		err = mbr_gguf_writer_write_file(gw, path);
done:
	mbr_gguf_writer_free(gw);
	return err;
}

static int store_version(struct mbr_add_result *out, struct mbr_repo *repo,
			 const struct extract *x, const char *path, const char *name,
			 const char *base, const char *desc)
{
	const char *parents[] = { x->commits[0], x->commits[1] };
	struct strbuf summary = STRBUF_INIT;
	struct mbr_add_options opts = {
		.name = name, .operator = "lora-extract", .parents = parents, .n_parents = 2,
		.adapter_base = x->commits[0],
	};
	int err;

	opts.params = json_pack("{s:i}", "rank", x->rank);
	MBR_CHECK_ALLOC(opts.params);
	strbuf_addf(&summary, "rank %d of %s - %s", x->rank, desc, base);
	opts.summary = summary.buf;
	err = mbr_store_add(out, repo, path, &opts);
	json_decref(opts.params);
	strbuf_release(&summary);
	return err;
}

static int open_inputs(struct extract *x, struct mbr_repo *repo, const char *base,
		       const char *desc)
{
	int err;

	if ((err = mbr_lineage_resolve(x->commits[0], repo->lineage, base)) ||
	    (err = mbr_lineage_resolve(x->commits[1], repo->lineage, desc)) ||
	    (err = mbr_weights_open_version(&x->base, repo, base)) ||
	    (err = mbr_weights_open_version(&x->desc, repo, desc)))
		return err;
	if (!*arch_of(x->base) || strcmp(arch_of(x->base), arch_of(x->desc))) {
		mbr_error_set(MBR_ERROR_INVALID, "%s and %s are not of one architecture",
			      base, desc);
		return MBR_EINVALID;
	}
	return 0;
}

int mbr_breed_lora_extract(struct mbr_add_result *out, struct mbr_repo *repo,
			   const char *base, const char *desc, int rank, const char *name,
			   const struct mbr_progress *progress)
{
	struct extract x = { .rank = rank, .progress = progress };
	struct strbuf tmp = STRBUF_INIT, defname = STRBUF_INIT;
	int err;

	memset(out, 0, sizeof(*out));
	if (rank < 1) {
		mbr_error_set(MBR_ERROR_INVALID, "the rank must be at least 1, not %d", rank);
		return MBR_EINVALID;
	}
	strbuf_addf(&tmp, "lora-r%d", rank);
	if ((!name && (err = mbr_breed_default_name(&defname, repo, desc, tmp.buf))) ||
	    (err = open_inputs(&x, repo, base, desc)) || (err = extract_pairs(&x)))
		goto done;
	strbuf_reset(&tmp);
	if (!name)
		name = defname.buf;
	if ((err = mbr_breed_temp_file(&tmp, repo, "lora-extract")))
		goto done;
	err = write_gguf(&x, tmp.buf, name);
	if (!err)
		err = store_version(out, repo, &x, tmp.buf, name, base, desc);
	unlink(tmp.buf);
done:
	for (size_t i = 0; i < x.n_pairs; i++) {
		free(x.pairs[i].a);
		free(x.pairs[i].b);
	}
	free(x.pairs);
	mbr_weights_free(x.base);
	mbr_weights_free(x.desc);
	strbuf_release(&tmp);
	strbuf_release(&defname);
	return err;
}
