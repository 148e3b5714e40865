/*
 * merge.c - mbr breed merge: mergekit's merge methods, one tensor at a time.
 *
 * mergekit works on safetensors in float; mbr merges GGUF versions by
 * dequantizing each tensor of every input to F32, merging the flattened
 * vectors and quantizing the result, so only one tensor of each input is
 * held in F32 at a time. The formulas follow mergekit's current code
 * (merge_methods/linear.py, slerp.py, generalized_task_arithmetic.py,
 * sparsify.py); sums are taken in double, results rounded to float.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernels.h"
#include "mbr/random.h"
#include "mbr/breed.h"
#include "mbr/error.h"
#include "mbr/merge.h"
#include "mbr/types.h"
#include "mbr/weights.h"

static const char *const method_names[] = {
	[MBR_MERGE_LINEAR] = "linear",
	[MBR_MERGE_SLERP] = "slerp",
	[MBR_MERGE_TASK_ARITHMETIC] = "task-arithmetic",
	[MBR_MERGE_TIES] = "ties",
	[MBR_MERGE_DARE_TIES] = "dare-ties",
	[MBR_MERGE_DARE_LINEAR] = "dare-linear",
};

const char *mbr_merge_method_name(size_t i)
{
	return i < MBR_ARRAY_SIZE(method_names) ? method_names[i] : NULL;
}

int mbr_merge_method_by_name(const char *name)
{
	for (size_t i = 0; i < MBR_ARRAY_SIZE(method_names); i++)
		if (!strcmp(method_names[i], name))
			return (int)i;
	return -1;
}

int mbr_merge_method_has_base(int method)
{
	return method != MBR_MERGE_LINEAR;
}

static int is_dare(int method)
{
	return method == MBR_MERGE_DARE_TIES || method == MBR_MERGE_DARE_LINEAR;
}

static int is_sparsifying(int method)
{
	return method == MBR_MERGE_TIES || is_dare(method);
}

/* ---- the math ------------------------------------------------------- */

void mbr_merge_linear(float *out, const float *const *x, const double *w,
		      size_t n_models, size_t n)
{
	double sum_w = 0;

	for (size_t i = 0; i < n_models; i++)
		sum_w += w[i];
	for (size_t j = 0; j < n; j++) {
		double s = 0;

		for (size_t i = 0; i < n_models; i++)
			s += w[i] * x[i][j];
		out[j] = (float)(s / sum_w);
	}
}

/* mergekit normalises a vector only when its norm exceeds 1e-8. */
static double norm_scale(const float *v, size_t n)
{
	double s = 0;

	for (size_t j = 0; j < n; j++)
		s += (double)v[j] * v[j];
	s = sqrt(s);
	return s > 1e-8 ? 1 / s : 1;
}

void mbr_merge_slerp(float *out, const float *v0, const float *v1, double t,
		     size_t n)
{
	double dot = 0, s0 = 1 - t, s1 = t;

	for (size_t j = 0; j < n; j++)
		dot += (double)v0[j] * v1[j];
	dot *= norm_scale(v0, n) * norm_scale(v1, n);
	/* Nearly parallel: the angle's sine is too small to divide by. */
	if (fabs(dot) <= 0.9995) {
		double theta = acos(dot), sin_theta = sin(theta);

		s0 = sin(theta - theta * t) / sin_theta;
		s1 = sin(theta * t) / sin_theta;
	}
	for (size_t j = 0; j < n; j++)
		out[j] = (float)(s0 * v0[j] + s1 * v1[j]);
}

static int cmp_desc(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x < y) - (x > y);
}

int mbr_merge_sparsify_magnitude(float *delta, size_t n, double density)
{
	size_t k = (size_t)(density * (double)n), n_above = 0, n_at;
	float *mag, threshold;

	if (density >= 1)
		return 0;
	if (!k) {
		mbr_error_set(MBR_ERROR_INVALID, "density %g keeps none of %zu values",
			      density, n);
		return MBR_EINVALID;
	}
	mag = malloc(n * sizeof(*mag));
	MBR_CHECK_ALLOC(mag);
	for (size_t j = 0; j < n; j++)
		mag[j] = fabsf(delta[j]);
	qsort(mag, n, sizeof(*mag), cmp_desc);
	threshold = mag[k - 1];
	free(mag);
	for (size_t j = 0; j < n; j++)
		n_above += fabsf(delta[j]) > threshold;
	/* Of the values at the threshold, the first ones fill up to k. */
	n_at = k - n_above;
	for (size_t j = 0; j < n; j++) {
		float m = fabsf(delta[j]);

		if (m > threshold)
			continue;
		if (m == threshold && n_at) {
			n_at--;
			continue;
		}
		delta[j] = 0;
	}
	return 0;
}

/* splitmix64's output function. */
static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

void mbr_merge_rng_init(struct mbr_merge_rng *rng, uint64_t seed,
			const char *tensor, size_t model)
{
	rng->state = mbr_mix64(mbr_mix64(seed ^ fnv1a64(tensor)) ^ (uint64_t)model);
}

double mbr_merge_rng_uniform(struct mbr_merge_rng *rng)
{
	return mbr_random_unit(&rng->state);
}

void mbr_merge_sparsify_random(float *delta, size_t n, double density,
			       struct mbr_merge_rng *rng)
{
	double before = 0, after = 0;

	if (density >= 1)
		return;
	for (size_t j = 0; j < n; j++) {
		before += fabsf(delta[j]);
		if (mbr_merge_rng_uniform(rng) >= density)
			delta[j] = 0;
		after += fabsf(delta[j]);
	}
	/* mergekit rescales only when both norms are above 1e-7. */
	if (before < 1e-7 || after < 1e-7)
		return;
	for (size_t j = 0; j < n; j++)
		delta[j] = (float)(delta[j] * (before / after));
}

void mbr_merge_gta(float *out, const float *base, const float *const *delta,
		   const double *w, size_t n_models, size_t n, int consensus,
		   int normalize, double lambda)
{
	double sum_w = 0;

	for (size_t i = 0; i < n_models; i++)
		sum_w += w[i];
	if (fabs(sum_w) < 1e-8)
		sum_w = 1;
	for (size_t j = 0; j < n; j++) {
		double total = 0, mixed = 0, div = 0;

		for (size_t i = 0; i < n_models; i++)
			total += w[i] * delta[i][j];
		if (consensus) {
			/* The majority sign, + on a tie; a zero has no sign
			 * and so never agrees with it. */
			for (size_t i = 0; i < n_models; i++) {
				double wd = w[i] * delta[i][j];

				if (total >= 0 ? wd > 0 : wd < 0) {
					mixed += wd;
					div += w[i];
				}
			}
			if (div == 0)
				div = 1;
		} else {
			mixed = total;
			div = sum_w;
		}
		if (normalize)
			mixed /= div;
		out[j] = (float)(base[j] + lambda * mixed);
	}
}

int mbr_merge_tensor(float *out, const float *base, float *const *x, size_t n,
		     const struct mbr_merge_params *p, const char *name)
{
	int m = p->method;

	if (m == MBR_MERGE_LINEAR) {
		mbr_merge_linear(out, (const float *const *)x, p->weights, p->n_models, n);
		return 0;
	}
	if (m == MBR_MERGE_SLERP) {
		mbr_merge_slerp(out, base, x[0], p->t, n);
		return 0;
	}
	for (size_t i = 0; i < p->n_models; i++) {
		struct mbr_merge_rng rng;

		for (size_t j = 0; j < n; j++)
			x[i][j] -= base[j];
		if (is_dare(m)) {
			mbr_merge_rng_init(&rng, p->seed, name, i);
			mbr_merge_sparsify_random(x[i], n, p->densities[i], &rng);
		} else if (m == MBR_MERGE_TIES) {
			int err = mbr_merge_sparsify_magnitude(x[i], n, p->densities[i]);

			if (err == MBR_EINVALID)
				mbr_error_set(MBR_ERROR_INVALID,
					      "tensor '%s': density %g keeps none of its %zu values",
					      name, p->densities[i], n);
			if (err)
				return err;
		}
	}
	mbr_merge_gta(out, base, (const float *const *)x, p->weights, p->n_models, n,
		      m != MBR_MERGE_TASK_ARITHMETIC && m != MBR_MERGE_DARE_LINEAR,
		      m == MBR_MERGE_TIES, p->lambda);
	return 0;
}

/* ---- the inputs ----------------------------------------------------- */

struct input {
	const char *rev;
	char commit[MBR_COMMIT_HEXSZ + 1];
	struct mbr_weights *w;
};

struct merge {
	const struct mbr_merge_options *opts;
	struct input *in;	/* the models, then the base if any */
	size_t n_in;
	const char *base;	/* the base's revision, or NULL */
	struct mbr_merge_params params;
	double *weights, *densities;
	int out_type;		/* enum mbr_type; -1: the first model's */
	uint32_t file_type;
	int n_threads;
};

static int invalid(const char *what, const char *method)
{
	mbr_error_set(MBR_ERROR_INVALID, "%s: merge method %s does not take it",
		      what, method);
	return MBR_EINVALID;
}

/* The options the method does not use must not be given, so what the
 * commit records is what made the result. */
static int check_unused(const struct mbr_merge_options *o)
{
	const char *name = method_names[o->method];
	int m = o->method;

	if (m == MBR_MERGE_LINEAR && o->base)
		return invalid("--base", name);
	if (m == MBR_MERGE_SLERP && o->n_weights)
		return invalid("--weight", name);
	if (!is_sparsifying(m) && o->n_densities)
		return invalid("--density", name);
	if ((m == MBR_MERGE_LINEAR || m == MBR_MERGE_SLERP) && !isnan(o->lambda))
		return invalid("--lambda", name);
	if (m != MBR_MERGE_SLERP && !isnan(o->t))
		return invalid("--t", name);
	if (!is_dare(m) && o->seed >= 0)
		return invalid("--seed", name);
	return 0;
}

/* values: 0 (def for each), 1 (for all) or one per model. */
static int expand(double **out, const double *values, size_t n_values, double def,
		  size_t n_models, const char *what)
{
	if (n_values > 1 && n_values != n_models) {
		mbr_error_set(MBR_ERROR_INVALID, "%zu %s for %zu models: give one, or one per model",
			      n_values, what, n_models);
		return MBR_EINVALID;
	}
	*out = malloc(n_models * sizeof(**out));
	MBR_CHECK_ALLOC(*out);
	for (size_t i = 0; i < n_models; i++)
		(*out)[i] = !n_values ? def : values[n_values == 1 ? 0 : i];
	return 0;
}

static int check_values(const struct merge *m)
{
	double sum = 0;

	for (size_t i = 0; i < m->params.n_models; i++) {
		if (!(m->densities[i] > 0 && m->densities[i] <= 1)) {
			mbr_error_set(MBR_ERROR_INVALID, "density %g is not in (0, 1]",
				      m->densities[i]);
			return MBR_EINVALID;
		}
		sum += m->weights[i];
	}
	if (m->params.method == MBR_MERGE_LINEAR && sum == 0) {
		mbr_error_set(MBR_ERROR_INVALID, "the weights of a linear merge sum to 0");
		return MBR_EINVALID;
	}
	return 0;
}

/* slerp's two versions are the base and the other, the base being the
 * first when --base is not given; the other methods take >= 1 model and
 * a base, or (linear) >= 2 models. */
static int check_count(struct merge *m)
{
	const struct mbr_merge_options *o = m->opts;
	size_t n_models = o->n_revs;

	m->base = o->base;
	if (o->method == MBR_MERGE_SLERP && !o->base && o->n_revs == 2) {
		m->base = o->revs[0];
		n_models = 1;
	}
	if (o->method == MBR_MERGE_SLERP ? n_models != 1 :
	    o->method == MBR_MERGE_LINEAR ? n_models < 2 : !m->base || !n_models) {
		mbr_error_set(MBR_ERROR_INVALID, "merge method %s takes %s",
			      method_names[o->method],
			      o->method == MBR_MERGE_SLERP ? "two versions: the base and another" :
			      o->method == MBR_MERGE_LINEAR ? "two or more models" :
			      "--base and one or more models");
		return MBR_EINVALID;
	}
	m->params.n_models = n_models;
	m->n_in = n_models + (m->base != NULL);
	return 0;
}

static int check_options(struct merge *m)
{
	const struct mbr_merge_options *o = m->opts;
	struct mbr_merge_params *p = &m->params;
	int err;

	if (o->method < 0 || (size_t)o->method >= MBR_ARRAY_SIZE(method_names)) {
		mbr_error_set(MBR_ERROR_INVALID, "unknown merge method %d", o->method);
		return MBR_EINVALID;
	}
	p->method = o->method;
	p->lambda = isnan(o->lambda) ? 1 : o->lambda;
	p->t = isnan(o->t) ? 0.5 : o->t;
	p->seed = o->seed < 0 ? 0 : (uint64_t)o->seed;
	m->out_type = -1;
	if ((err = check_unused(o)) || (err = check_count(m)) ||
	    (err = expand(&m->weights, o->weights, o->n_weights, 1, p->n_models, "weights")) ||
	    (err = expand(&m->densities, o->densities, o->n_densities, 1, p->n_models,
			  "densities")) ||
	    (err = check_values(m)) ||
	    (o->out_type && (err = mbr_breed_type(&m->out_type, &m->file_type, o->out_type))))
		return err;
	p->weights = m->weights;
	p->densities = m->densities;
	return 0;
}

static int open_inputs(struct merge *m, struct mbr_repo *repo)
{
	const struct mbr_merge_options *o = m->opts;
	size_t skip = m->base && !o->base;	/* slerp's first is its base */
	int err = 0;

	m->in = calloc(m->n_in, sizeof(*m->in));
	MBR_CHECK_ALLOC(m->in);
	for (size_t i = 0; i < m->n_in && !err; i++) {
		struct input *in = &m->in[i];

		in->rev = i < m->params.n_models ? o->revs[i + skip] : m->base;
		if (!(err = mbr_lineage_resolve(in->commit, repo->lineage, in->rev)) &&
		    !(err = mbr_weights_open_version(&in->w, repo, in->commit)) &&
		    in->w->mf->format != MBR_FORMAT_GGUF) {
			mbr_error_set(MBR_ERROR_INVALID, "%s: only GGUF versions can be merged",
				      in->rev);
			err = MBR_EUNSUPPORTED;
		}
	}
	return err;
}

static const char *architecture(const struct mbr_modelfile *mf)
{
	const struct mbr_kv *kv = mbr_modelfile_kv(mf, "general.architecture");

	return kv && kv->type == MBR_GGUF_STRING ? kv->str : "(none)";
}

static void shape_str(char *buf, size_t len, const struct mbr_tensor_info *t)
{
	int off = snprintf(buf, len, "[");

	for (uint32_t d = 0; d < t->n_dims && off > 0 && (size_t)off < len; d++)
		off += snprintf(buf + off, len - off, "%s%llu", d ? "," : "",
				(unsigned long long)t->ne[d]);
	if (off > 0 && (size_t)off < len)
		snprintf(buf + off, len - off, "]");
}

static int same_shape(const struct mbr_tensor_info *a, const struct mbr_tensor_info *b)
{
	return a->n_dims == b->n_dims && !memcmp(a->ne, b->ne, a->n_dims * sizeof(*a->ne));
}

/* b has a's architecture, tensor names and shapes: the first difference
 * in a's tensor order is the one named. */
static int check_compatible(const struct input *a, const struct input *b)
{
	const struct mbr_modelfile *x = a->w->mf, *y = b->w->mf;
	char sa[96], sb[96];

	if (strcmp(architecture(x), architecture(y))) {
		mbr_error_set(MBR_ERROR_INVALID, "cannot merge: %s is %s but %s is %s",
			      a->rev, architecture(x), b->rev, architecture(y));
		return MBR_EINVALID;
	}
	for (size_t i = 0; i < x->n_tensors; i++) {
		const struct mbr_tensor_info *s = &x->tensors[i];
		const struct mbr_tensor_info *t = mbr_modelfile_tensor(y, s->name);

		if (!t) {
			mbr_error_set(MBR_ERROR_INVALID, "cannot merge: tensor '%s' of %s is not in %s",
				      s->name, a->rev, b->rev);
			return MBR_EINVALID;
		}
		if (!same_shape(s, t)) {
			shape_str(sa, sizeof(sa), s);
			shape_str(sb, sizeof(sb), t);
			mbr_error_set(MBR_ERROR_INVALID,
				      "cannot merge: tensor '%s' is %s in %s but %s in %s",
				      s->name, sa, a->rev, sb, b->rev);
			return MBR_EINVALID;
		}
	}
	for (size_t i = 0; i < y->n_tensors; i++)
		if (!mbr_modelfile_tensor(x, y->tensors[i].name)) {
			mbr_error_set(MBR_ERROR_INVALID, "cannot merge: tensor '%s' of %s is not in %s",
				      y->tensors[i].name, b->rev, a->rev);
			return MBR_EINVALID;
		}
	return 0;
}

/* ---- the output ----------------------------------------------------- */

struct mtensor {
	const struct merge *m;
	const struct mbr_tensor_info *t;	/* the first model's */
	int type;				/* the output's */
};

static int plan_type(const struct merge *m, const struct mbr_tensor_info *t)
{
	if (t->n_dims == 1)
		return MBR_TYPE_F32;
	if (m->out_type >= 0 && mbr_breed_is_quantizable(t))
		return m->out_type;
	return t->type;
}

static int check_kernels(const struct merge *m, const struct mtensor *mt)
{
	const struct mbr_kernel_traits *to = mbr_kernel_traits(mt->type);
	const char *name = mt->t->name;

	if (!to || !to->quantize || mt->t->ne[0] % mbr_type_get(mt->type)->block_elems) {
		mbr_error_set(MBR_ERROR_KERNEL,
			      "cannot merge tensor '%s': mbr cannot write %s rows of %llu (give --out-type)",
			      name, mbr_type_get(mt->type)->name, (unsigned long long)mt->t->ne[0]);
		return MBR_EUNSUPPORTED;
	}
	for (size_t i = 0; i < m->n_in; i++) {
		const struct mbr_tensor_info *t = NULL;
		const struct mbr_kernel_traits *from;

		mbr_weights_tensor(m->in[i].w, name, &t);
		from = mbr_kernel_traits(t->type);
		if (!from || !from->dequantize) {
			mbr_error_set(MBR_ERROR_KERNEL, "%s: tensor '%s' is %s, which mbr cannot dequantize",
				      m->in[i].rev, name, mbr_type_get(t->type)->name);
			return MBR_EUNSUPPORTED;
		}
	}
	return 0;
}

static void dequantize(float *dst, const struct mbr_weights *w, const char *name)
{
	const struct mbr_tensor_info *t = NULL;
	const unsigned char *src = mbr_weights_tensor(w, name, &t);
	mbr_dequantize_fn fn = mbr_kernel_traits(t->type)->dequantize;
	int64_t row = (int64_t)t->ne[0];
	size_t n_rows = 1, row_size = mbr_row_size(t->type, row);

	for (uint32_t d = 1; d < t->n_dims; d++)
		n_rows *= t->ne[d];
	for (size_t r = 0; r < n_rows; r++)
		fn(src + r * row_size, dst + r * row, row);
}

static void free_rows(float **x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(x[i]);
	free(x);
}

/* The writer asks for each tensor in file order: every input's copy is
 * dequantized, merged and quantized, one tensor in memory at a time. */
static int fill_tensor(void *payload, void *buf, uint64_t size)
{
	const struct mtensor *mt = payload;
	const struct merge *m = mt->m;
	int64_t row = (int64_t)mt->t->ne[0];
	size_t n = (size_t)row, row_size = mbr_row_size(mt->type, row);
	mbr_quantize_fn quantize = mbr_kernel_traits(mt->type)->quantize;
	float **x;
	int err = 0;

	if (!size)
		return 0;
	for (uint32_t d = 1; d < mt->t->n_dims; d++)
		n *= mt->t->ne[d];
	x = calloc(m->n_in + 1, sizeof(*x));	/* the inputs, then the result */
	MBR_CHECK_ALLOC(x);
	for (size_t i = 0; i <= m->n_in && !err; i++)
		if (!(x[i] = malloc(n * sizeof(float)))) {
			mbr_error_oom();
			err = MBR_ENOMEM;
		}
	for (size_t i = 0; i < m->n_in && !err; i++)
		dequantize(x[i], m->in[i].w, mt->t->name);
	if (!err)
		err = mbr_merge_tensor(x[m->n_in], m->base ? x[m->params.n_models] : NULL,
				       x, n, &m->params, mt->t->name);
	for (size_t r = 0; !err && r < n / (size_t)row; r++)
		quantize(x[m->n_in] + r * row, (unsigned char *)buf + r * row_size, row);
	free_rows(x, m->n_in + 1);
	return err;
}

static int write_gguf(const struct merge *m, struct mtensor *mts, const char *path)
{
	const struct mbr_modelfile *mf = m->in[0].w->mf;
	struct mbr_gguf_writer *gw = NULL;
	int err;
	int64_t file_type = m->out_type >= 0 ? (int64_t)m->file_type : -1;

	if (!(err = mbr_gguf_writer_new(&gw, 0))) {
		mbr_gguf_writer_set_progress(gw, &m->opts->progress);
		err = mbr_breed_copy_metadata(gw, mf, file_type);
	}
	for (size_t i = 0; i < mf->n_tensors && !err; i++) {
		struct mtensor *mt = &mts[i];

		mt->m = m;
		mt->t = &mf->tensors[i];
		mt->type = plan_type(m, mt->t);
		if (!(err = check_kernels(m, mt)))
			err = mbr_gguf_writer_add_tensor_fn(gw, mt->t->name, mt->type,
							    mt->t->n_dims, mt->t->ne,
							    fill_tensor, mt);
	}
	if (!err)
		err = mbr_gguf_writer_write_file(gw, path);
	mbr_gguf_writer_free(gw);
	return err;
}

/* ---- storing it ----------------------------------------------------- */

static json_t *numbers(const double *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_real(v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Every parameter, null where the method does not use it. */
static json_t *merge_params(const struct merge *m)
{
	const struct mbr_merge_options *o = m->opts;
	const struct mbr_merge_params *p = &m->params;
	int method = p->method, gta = method != MBR_MERGE_LINEAR && method != MBR_MERGE_SLERP;
	json_t *models = json_array(), *w = NULL, *d = NULL;

	for (size_t i = 0; models && i < p->n_models; i++)
		json_array_append_new(models, json_string(m->in[i].rev));
	w = method != MBR_MERGE_SLERP ? numbers(p->weights, p->n_models) : json_null();
	d = is_sparsifying(method) ? numbers(p->densities, p->n_models) : json_null();
	return json_pack("{s:s, s:o, s:s?, s:o, s:o, s:o?, s:o?, s:o?, s:s?}",
			 "method", method_names[method], "models", models,
			 "base", m->base,
			 "weights", w, "densities", d,
			 "lambda", gta ? json_real(p->lambda) : json_null(),
			 "t", method == MBR_MERGE_SLERP ? json_real(p->t) : json_null(),
			 "seed", is_dare(method) ? json_integer((json_int_t)p->seed) : json_null(),
			 "out_type", o->out_type);
}

static int store_version(struct mbr_add_result *out, struct mbr_repo *repo,
			 const struct merge *m, const char *path, const char *name)
{
	const char **parents = calloc(m->n_in, sizeof(*parents));
	struct strbuf summary = STRBUF_INIT;
	struct mbr_add_options opts = {
		.name = name, .n_threads = m->opts->n_threads, .operator = "merge",
		.parents = parents, .n_parents = m->n_in,
	};
	int err;

	MBR_CHECK_ALLOC(parents);
	opts.params = merge_params(m);
	if (!opts.params) {
		free(parents);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	strbuf_addf(&summary, "%s", method_names[m->params.method]);
	for (size_t i = 0; i < m->n_in; i++) {
		parents[i] = m->in[i].commit;
		strbuf_addf(&summary, "%s%s", i == m->params.n_models ? " onto " :
			    i ? " + " : " of ", m->in[i].rev);
	}
	opts.summary = summary.buf;
	err = mbr_store_add(out, repo, path, &opts);
	json_decref(opts.params);
	strbuf_release(&summary);
	free(parents);
	return err;
}

static void free_merge(struct merge *m)
{
	for (size_t i = 0; m->in && i < m->n_in; i++)
		mbr_weights_free(m->in[i].w);
	free(m->in);
	free(m->weights);
	free(m->densities);
}

int mbr_breed_merge(struct mbr_add_result *out, struct mbr_repo *repo,
		    const struct mbr_merge_options *opts)
{
	struct strbuf tmp = STRBUF_INIT, defname = STRBUF_INIT;
	struct merge m = { .opts = opts };
	struct mtensor *mts = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = check_options(&m)) ||
	    (!opts->name && (err = mbr_breed_default_name(&defname, repo, opts->revs[0],
							  method_names[opts->method]))) ||
	    (err = open_inputs(&m, repo)))
		goto done;
	for (size_t i = 1; i < m.n_in && !err; i++)
		err = check_compatible(&m.in[0], &m.in[i]);
	if (err)
		goto done;
	mts = calloc(m.in[0].w->mf->n_tensors + 1, sizeof(*mts));
	if (!mts) {
		mbr_error_oom();
		err = MBR_ENOMEM;
		goto done;
	}
	if ((err = mbr_breed_temp_file(&tmp, repo, "merge")))
		goto done;
	err = write_gguf(&m, mts, tmp.buf);
	if (!err)
		err = store_version(out, repo, &m, tmp.buf, opts->name ? opts->name : defname.buf);
	unlink(tmp.buf);
done:
	free(mts);
	free_merge(&m);
	strbuf_release(&tmp);
	strbuf_release(&defname);
	return err;
}
