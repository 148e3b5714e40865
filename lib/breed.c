/*
 * breed.c - mbr breed quantize: llama-quantize's result, as a version.
 *
 * Interchangeability is the point: a file quantized here must be the one
 * llama.cpp's llama-quantize (without an importance matrix) makes from
 * the same source, so the rules below follow src/llama-quant.cpp: the
 * metadata copied with general.quantization_version and general.file_type
 * moved last (gguf_set_val_* removes a key and appends it), the tensors in
 * its loader's order, the same choice of which tensors to quantize and to
 * what, and the ggml reference quantizers (kernels.h) row by row.
 *
 * The file is written to a temporary file in the registry and stored by
 * mbr_store_add(), so it is cut into objects exactly as an added file is
 * and shares every unchanged tensor (the norms) with its source.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kernels.h"
#include "mbr/breed.h"
#include "mbr/error.h"
#include "mbr/gguf-write.h"
#include "mbr/pool.h"
#include "mbr/types.h"
#include "mbr/weights.h"

/* llama-quantize quantizes at least this many elements per job. */
#define MIN_JOB_ELEMS (32 * 512)

struct qtype {
	const char *name;
	int type;		/* enum mbr_type; -1: a K-quant mix, not yet */
	uint32_t file_type;	/* llama_ftype, for general.file_type */
};

/* The list, in its order. */
static const struct qtype qtypes[] = {
	{ "Q8_0", MBR_TYPE_Q8_0, 7 }, { "Q4_0", MBR_TYPE_Q4_0, 2 },
	{ "Q4_1", MBR_TYPE_Q4_1, 3 }, { "Q5_0", MBR_TYPE_Q5_0, 8 },
	{ "Q5_1", MBR_TYPE_Q5_1, 9 }, { "Q2_K", -1, 10 },
	{ "Q3_K_S", -1, 11 }, { "Q3_K_M", -1, 12 }, { "Q4_K_S", -1, 14 },
	{ "Q4_K_M", -1, 15 }, { "Q5_K_S", -1, 16 }, { "Q5_K_M", -1, 17 },
	{ "Q6_K", -1, 18 }, { "F16", MBR_TYPE_F16, 1 },
	{ "BF16", MBR_TYPE_BF16, 32 }, { "F32", MBR_TYPE_F32, 0 },
};

const char *mbr_quantize_type_name(size_t i)
{
	return i < MBR_ARRAY_SIZE(qtypes) ? qtypes[i].name : NULL;
}

static const struct qtype *qtype_by_name(const char *name)
{
	for (size_t i = 0; i < MBR_ARRAY_SIZE(qtypes); i++)
		if (!strcmp(qtypes[i].name, name))
			return &qtypes[i];
	return NULL;
}

static int is_float_type(int type)
{
	return type == MBR_TYPE_F32 || type == MBR_TYPE_F16 || type == MBR_TYPE_BF16;
}

/* One output tensor. */
struct qtensor {
	const struct mbr_tensor_info *t;	/* the source tensor */
	const void *src;
	int type;				/* the output type */
	int n_threads;
};

struct plan {
	const char *rev;		/* the source, for messages */
	const struct mbr_weights *w;
	const struct qtype *target;
	int has_output;			/* output.weight exists (not tied) */
	uint32_t n_expert;
	struct qtensor *tensors;	/* in llama.cpp's loader order */
	json_t *requantized_from;	/* quantized source types, in order */
};

/* ---- which tensors, in which order, to which type ------------------ */

/* llama_model_loader's weight_name_comparer: by layer (none first), then name. */
static int cmp_loader_order(const void *a, const void *b)
{
	const struct qtensor *x = a, *y = b;
	int lx = -1, ly = -1;

	sscanf(x->t->name, "blk.%d.", &lx);
	sscanf(y->t->name, "blk.%d.", &ly);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->t->name, y->t->name);
}

/* ggml_n_dims: trailing dimensions of 1 do not count. */
static uint32_t ggml_dims(const struct mbr_tensor_info *t)
{
	for (uint32_t i = t->n_dims; i > 1; i--)
		if (t->ne[i - 1] > 1)
			return i;
	return 1;
}

int mbr_breed_is_quantizable(const struct mbr_tensor_info *t)
{
	static const char *const never[] = {
		"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight",
		"time_mix_first.weight", "time_mix_w1.weight", "time_mix_w2.weight",
		"time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
		"time_mix_lerp_fused.weight", "attn_rel_b.weight",
	};
	size_t len = strlen(t->name);

	if (len < 6 || strcmp(t->name + len - 6, "weight") || ggml_dims(t) < 2 ||
	    !strcmp(t->name, "position_embd.weight") || !strcmp(t->name, "token_types.weight"))
		return 0;
	for (size_t i = 0; i < MBR_ARRAY_SIZE(never); i++)
		if (strstr(t->name, never[i]))
			return 0;
	return 1;
}

static uint32_t block_elems(int type)
{
	return mbr_type_get(type)->block_elems;
}

/*
 * llama_tensor_get_type for the non-K targets: the output matrix (or the
 * token embedding standing in for it) gets Q6_K unless the target is
 * Q8_0 or its rows do not fit the target's blocks (then Q8_0); 8-expert
 * models keep attn_k/attn_v in Q8_0. A row length the chosen type cannot
 * take falls back from Q6_K to Q8_0 (then F16), and is an error otherwise.
 */
static int quantized_type(const struct plan *p, const struct mbr_tensor_info *t)
{
	const char *name = t->name;
	int type = p->target->type;

	if (!strcmp(name, "output.weight") ||
	    (!p->has_output && !strcmp(name, "token_embd.weight"))) {
		if (t->ne[0] % block_elems(type))
			type = MBR_TYPE_Q8_0;
		else if (type != MBR_TYPE_Q8_0)
			type = MBR_TYPE_Q6_K;
	} else if (p->n_expert == 8 &&
		   (strstr(name, "attn_v.weight") || strstr(name, "attn_k.weight"))) {
		type = MBR_TYPE_Q8_0;
	}
	if (t->ne[0] % block_elems(type) == 0)
		return type;
	if (type != MBR_TYPE_Q6_K) {
		mbr_error_set(MBR_ERROR_INVALID,
			      "%s: tensor '%s' has rows of %llu, not a multiple of %s's %u",
			      p->rev, name, (unsigned long long)t->ne[0],
			      mbr_type_get(type)->name, block_elems(type));
		return MBR_EUNSUPPORTED;
	}
	return t->ne[0] % block_elems(MBR_TYPE_Q8_0) ? MBR_TYPE_F16 : MBR_TYPE_Q8_0;
}

static int note_requantized(struct plan *p, int src_type)
{
	const char *name = mbr_type_get(src_type)->name;
	size_t i;
	json_t *v;

	json_array_foreach(p->requantized_from, i, v)
		if (!strcmp(json_string_value(v), name))
			return 0;
	if (json_array_append_new(p->requantized_from, json_string(name)))
		return mbr_error_oom(), MBR_ENOMEM;
	return 0;
}

/* Can the kernels take the tensor from its type to q->type? */
static int check_kernels(struct plan *p, const struct qtensor *q)
{
	const struct mbr_kernel_traits *from = mbr_kernel_traits(q->t->type);
	const struct mbr_kernel_traits *to = mbr_kernel_traits(q->type);

	if (!to || !to->quantize) {
		mbr_error_set(MBR_ERROR_KERNEL,
			      "%s: quantizing to %s makes tensor '%s' %s, which mbr cannot write yet",
			      p->rev, p->target->name, q->t->name, mbr_type_get(q->type)->name);
		return MBR_EUNSUPPORTED;
	}
	if (!from || !from->dequantize) {
		mbr_error_set(MBR_ERROR_KERNEL, "%s: tensor '%s' is %s, which mbr cannot dequantize",
			      p->rev, q->t->name, mbr_type_get(q->t->type)->name);
		return MBR_EUNSUPPORTED;
	}
	return is_float_type(q->t->type) ? 0 : note_requantized(p, q->t->type);
}

static int plan_tensor(struct plan *p, struct qtensor *q)
{
	int type = q->t->type;

	if (mbr_breed_is_quantizable(q->t)) {
		type = p->target->type;
		if (!is_float_type(type) && (type = quantized_type(p, q->t)) < 0)
			return type;
	}
	q->type = type;
	return type == q->t->type ? 0 : check_kernels(p, q);
}

static uint32_t expert_count(const struct mbr_modelfile *mf)
{
	const struct mbr_kv *arch = mbr_modelfile_kv(mf, "general.architecture");
	const struct mbr_kv *kv;
	struct strbuf key = STRBUF_INIT;

	if (!arch || arch->type != MBR_GGUF_STRING)
		return 0;
	strbuf_addf(&key, "%s.expert_count", arch->str);
	kv = mbr_modelfile_kv(mf, key.buf);
	strbuf_release(&key);
	return kv && (kv->type == MBR_GGUF_UINT32 || kv->type == MBR_GGUF_INT32) ?
		(uint32_t)kv->v.u : 0;
}

static int plan_tensors(struct plan *p, int n_threads)
{
	const struct mbr_modelfile *mf = p->w->mf;
	int err = 0;

	p->has_output = mbr_modelfile_tensor(mf, "output.weight") != NULL;
	p->n_expert = expert_count(mf);
	p->requantized_from = json_array();
	p->tensors = calloc(mf->n_tensors ? mf->n_tensors : 1, sizeof(*p->tensors));
	MBR_CHECK_ALLOC(p->requantized_from);
	MBR_CHECK_ALLOC(p->tensors);
	for (size_t i = 0; i < mf->n_tensors; i++) {
		p->tensors[i].t = &mf->tensors[i];
		p->tensors[i].src = p->w->data[i];
		p->tensors[i].n_threads = n_threads;
	}
	qsort(p->tensors, mf->n_tensors, sizeof(*p->tensors), cmp_loader_order);
	for (size_t i = 0; i < mf->n_tensors && !err; i++)
		err = plan_tensor(p, &p->tensors[i]);
	return err;
}

/* ---- converting, row by row ---------------------------------------- */

struct fill_job {
	const struct qtensor *q;
	unsigned char *out;
	uint64_t n_rows;
	uint64_t rows_per_job;
};

/* Dequantize each row to F32 (a copy for F32, exact for F16 and BF16)
 * and quantize it with the reference quantizer. */
static int convert_rows(void *payload, size_t job)
{
	const struct fill_job *f = payload;
	const struct qtensor *q = f->q;
	int64_t n = (int64_t)q->t->ne[0];
	size_t in_row = mbr_row_size(q->t->type, n), out_row = mbr_row_size(q->type, n);
	mbr_dequantize_fn dequantize = mbr_kernel_traits(q->t->type)->dequantize;
	mbr_quantize_fn quantize = mbr_kernel_traits(q->type)->quantize;
	uint64_t first = job * f->rows_per_job;
	uint64_t last = first + f->rows_per_job < f->n_rows ? first + f->rows_per_job : f->n_rows;
	float *row = malloc((size_t)n * sizeof(*row));

	MBR_CHECK_ALLOC(row);
	for (uint64_t r = first; r < last; r++) {
		dequantize((const unsigned char *)q->src + r * in_row, row, n);
		quantize(row, f->out + r * out_row, n);
	}
	free(row);
	return 0;
}

/* The writer asks for each converted tensor in file order, so only one
 * is in memory at a time; its rows are spread over the cores. */
static int fill_tensor(void *payload, void *buf, uint64_t size)
{
	const struct qtensor *q = payload;
	struct fill_job f = { .q = q, .out = buf, .n_rows = 1 };
	uint64_t n = q->t->ne[0];

	if (!size)
		return 0;
	for (uint32_t d = 1; d < q->t->n_dims; d++)
		f.n_rows *= q->t->ne[d];
	f.rows_per_job = n >= MIN_JOB_ELEMS ? 1 : (MIN_JOB_ELEMS + n - 1) / n;
	return mbr_parallel_run((size_t)((f.n_rows + f.rows_per_job - 1) / f.rows_per_job),
				q->n_threads, convert_rows, &f);
}

/* ---- the output file ------------------------------------------------ */

static int is_replaced_key(const char *key)
{
	static const char *const keys[] = {
		"general.quantization_version", "general.file_type",
		"split.no", "split.count", "split.tensors.count",
	};

	for (size_t i = 0; i < MBR_ARRAY_SIZE(keys); i++)
		if (!strcmp(key, keys[i]))
			return 1;
	return 0;
}

int mbr_breed_copy_metadata(struct mbr_gguf_writer *gw, const struct mbr_modelfile *mf,
			    int64_t file_type)
{
	int err = 0;

	for (size_t i = 0; i < mf->n_kv && !err; i++)
		if (file_type < 0 || !is_replaced_key(mf->kv[i].key))
			err = mbr_gguf_writer_copy_kv(gw, mf, &mf->kv[i]);
	if (!err && file_type >= 0)
		err = mbr_gguf_writer_add_kv_u32(gw, "general.quantization_version", 2);
	if (!err && file_type >= 0)
		err = mbr_gguf_writer_add_kv_u32(gw, "general.file_type", (uint32_t)file_type);
	return err;
}

static int add_tensors(struct mbr_gguf_writer *gw, const struct plan *p)
{
	int err = 0;

	for (size_t i = 0; i < p->w->mf->n_tensors && !err; i++) {
		struct qtensor *q = &p->tensors[i];
		const struct mbr_tensor_info *t = q->t;

		if (q->type == t->type)
			err = mbr_gguf_writer_add_tensor(gw, t->name, t->type, t->n_dims,
							 t->ne, q->src, t->size);
		else
			err = mbr_gguf_writer_add_tensor_fn(gw, t->name, q->type, t->n_dims,
							    t->ne, fill_tensor, q);
	}
	return err;
}

static int write_gguf(const struct plan *p, const char *path)
{
	struct mbr_gguf_writer *gw = NULL;
	int err;

	if (!(err = mbr_gguf_writer_new(&gw, 0)) &&
	    !(err = mbr_breed_copy_metadata(gw, p->w->mf, p->target->file_type)) &&
	    !(err = add_tensors(gw, p)))
		err = mbr_gguf_writer_write_file(gw, path);
	mbr_gguf_writer_free(gw);
	return err;
}

int mbr_breed_temp_file(struct strbuf *path, const struct mbr_repo *repo,
			const char *op)
{
	int fd;

	mbr_repo_path(path, repo, "tmp");
	if (mkdir(path->buf, 0777) && errno != EEXIST)
		return mbr_error_set_os("cannot create '%s'", path->buf), MBR_EIO;
	strbuf_addf(path, "/%s-XXXXXX", op);
	fd = mkstemp(path->buf);
	if (fd < 0)
		return mbr_error_set_os("cannot create '%s'", path->buf), MBR_EIO;
	close(fd);
	return 0;
}

/* ---- storing it ----------------------------------------------------- */

int mbr_breed_default_name(struct strbuf *out, struct mbr_repo *repo,
			   const char *rev, const char *suffix)
{
	char head[MBR_COMMIT_HEXSZ + 1];

	strbuf_add(out, rev, strcspn(rev, "~^@:"));
	if (!mbr_lineage_name_is_valid(out->buf) ||
	    mbr_lineage_branch_head(head, repo->lineage, out->buf)) {
		mbr_error_set(MBR_ERROR_INVALID,
			      "cannot name the result after '%s', which is not a model: give a name",
			      rev);
		return MBR_EINVALID;
	}
	strbuf_addch(out, '-');
	for (const char *c = suffix; *c; c++)
		strbuf_addch(out, (char)tolower((unsigned char)*c));
	return 0;
}

static int store_version(struct mbr_add_result *out, struct mbr_repo *repo,
			 const struct plan *p, const char *path, const char *rev,
			 const char *source, const char *name, int n_threads)
{
	const char *parents[] = { source };
	struct strbuf summary = STRBUF_INIT;
	struct mbr_add_options opts = {
		.name = name, .n_threads = n_threads, .operator = "quantize",
		.parents = parents, .n_parents = 1,
	};
	int err;

	opts.params = json_pack("{s:s, s:s}", "type", p->target->name, "source", rev);
	MBR_CHECK_ALLOC(opts.params);
	if (json_array_size(p->requantized_from))
		json_object_set(opts.params, "requantized_from", p->requantized_from);
	strbuf_addf(&summary, "%s to %s", rev, p->target->name);
	opts.summary = summary.buf;
	err = mbr_store_add(out, repo, path, &opts);
	json_decref(opts.params);
	strbuf_release(&summary);
	return err;
}

static int check_target(const struct qtype **out, const char *type_name)
{
	const struct qtype *q = qtype_by_name(type_name);

	if (!q) {
		mbr_error_set(MBR_ERROR_INVALID, "'%s' is not a quantization type", type_name);
		return MBR_EINVALID;
	}
	if (q->type < 0) {
		mbr_error_set(MBR_ERROR_INVALID, "quantizing to %s is not supported yet", type_name);
		return MBR_EUNSUPPORTED;
	}
	*out = q;
	return 0;
}

int mbr_breed_type(int *type, uint32_t *file_type, const char *type_name)
{
	const struct qtype *q;
	int err = check_target(&q, type_name);

	if (!err) {
		*type = q->type;
		*file_type = q->file_type;
	}
	return err;
}

int mbr_breed_quantize(struct mbr_add_result *out, struct mbr_repo *repo,
		       const char *rev, const char *type_name, const char *name,
		       int n_threads)
{
	char source[MBR_COMMIT_HEXSZ + 1];
	struct strbuf tmp = STRBUF_INIT, defname = STRBUF_INIT;
	struct mbr_weights *w = NULL;
	struct plan p = { 0 };
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = check_target(&p.target, type_name)) ||
	    (err = mbr_lineage_resolve(source, repo->lineage, rev)) ||
	    (!name && (err = mbr_breed_default_name(&defname, repo, rev, type_name))) ||
	    (err = mbr_weights_open_version(&w, repo, source)))
		goto done;
	p.w = w;
	p.rev = rev;
	if (w->mf->format != MBR_FORMAT_GGUF) {
		mbr_error_set(MBR_ERROR_INVALID, "%s: only GGUF versions can be quantized", rev);
		err = MBR_EUNSUPPORTED;
		goto done;
	}
	if ((err = plan_tensors(&p, n_threads)) || (err = mbr_breed_temp_file(&tmp, repo, "quantize")))
		goto done;
	err = write_gguf(&p, tmp.buf);
	if (!err)
		err = store_version(out, repo, &p, tmp.buf, rev, source,
				    name ? name : defname.buf, n_threads);
	unlink(tmp.buf);
done:
	free(p.tensors);
	json_decref(p.requantized_from);
	mbr_weights_free(w);
	strbuf_release(&tmp);
	strbuf_release(&defname);
	return err;
}
