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
	int type;		/* enum mbr_type: the mix's default type */
	uint32_t file_type;	/* llama_ftype, for general.file_type */
};

/* llama_ftype values of the K-quant mixes, which the type rules name. */
enum {
	FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q4_K_S = 14,
	FT_Q4_K_M = 15, FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18,
};

/* The list, in its order. */
static const struct qtype qtypes[] = {
	{ "Q8_0", MBR_TYPE_Q8_0, 7 }, { "Q4_0", MBR_TYPE_Q4_0, 2 },
	{ "Q4_1", MBR_TYPE_Q4_1, 3 }, { "Q5_0", MBR_TYPE_Q5_0, 8 },
	{ "Q5_1", MBR_TYPE_Q5_1, 9 }, { "Q2_K", MBR_TYPE_Q2_K, FT_Q2_K },
	{ "Q3_K_S", MBR_TYPE_Q3_K, FT_Q3_K_S }, { "Q3_K_M", MBR_TYPE_Q3_K, FT_Q3_K_M },
	{ "Q4_K_S", MBR_TYPE_Q4_K, FT_Q4_K_S }, { "Q4_K_M", MBR_TYPE_Q4_K, FT_Q4_K_M },
	{ "Q5_K_S", MBR_TYPE_Q5_K, FT_Q5_K_S }, { "Q5_K_M", MBR_TYPE_Q5_K, FT_Q5_K_M },
	{ "Q6_K", MBR_TYPE_Q6_K, FT_Q6_K }, { "F16", MBR_TYPE_F16, 1 },
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

/* What llama_tensor_get_type knows of the model, and its counters. */
struct hparams {
	uint32_t n_layer;		/* block_count */
	uint32_t n_expert;
	uint32_t n_gqa;			/* head_count / head_count_kv; 0: unknown */
	int is_falcon;
	int is_70b;			/* llama.cpp's LLM_TYPE_70B (llama arch) */
	int n_attention_wv;		/* attn_v / attn_qkv / attn_kv_b tensors */
	int i_attention_wv;		/* those seen so far, in loader order */
	int i_ffn_down;
};

struct plan {
	const char *rev;		/* the source, for messages */
	const struct mbr_weights *w;
	const struct qtype *target;
	int has_output;			/* output.weight exists (not tied) */
	struct hparams hp;
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

/* llama-quant.cpp's use_more_bits: the first and last eighth of the
 * layers and every third one between them. */
static int use_more_bits(int i_layer, int n_layers)
{
	return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 ||
	       (i_layer - n_layers / 8) % 3 == 2;
}

/*
 * The layer an ffn_down tensor counts as: its position among them, or
 * with experts (which llama.cpp finds out of order) the one in its name.
 */
static int ffn_down_layer(struct plan *p, const char *name, int *layer)
{
	int i = p->hp.i_ffn_down++;

	if (p->hp.n_expert > 1 &&
	    (sscanf(name, "blk.%d.", &i) != 1 || i < 0 || (uint32_t)i >= p->hp.n_layer)) {
		mbr_error_set(MBR_ERROR_INVALID, "%s: cannot tell the layer of tensor '%s'",
			      p->rev, name);
		return MBR_ECORRUPT;
	}
	*layer = i;
	return 0;
}

/*
 * llama_tensor_get_type's rules by tensor name (src/llama-quant.cpp,
 * llama.cpp c392e50) for the targets above, without an importance
 * matrix, for tensors other than the output matrix. They spend more bits
 * where quantization hurts most: attn_v and ffn_down in the first and
 * last layers (use_more_bits), attn_output in the 2- and 3-bit mixes.
 * The counters advance as llama.cpp's do, once per tensor in loader
 * order, whatever the target.
 */
static int mix_type(struct plan *p, const char *name, int type)
{
	const struct hparams *hp = &p->hp;
	uint32_t ft = p->target->file_type;
	int i, err;

	if (strstr(name, "attn_v.weight")) {
		i = p->hp.i_attention_wv++;
		if (ft == FT_Q2_K)
			type = hp->n_gqa >= 4 ? MBR_TYPE_Q4_K : MBR_TYPE_Q3_K;
		else if (ft == FT_Q3_K_M)
			type = i < 2 ? MBR_TYPE_Q5_K : MBR_TYPE_Q4_K;
		else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) &&
			 use_more_bits(i, hp->n_attention_wv))
			type = MBR_TYPE_Q6_K;
		else if (ft == FT_Q4_K_S && i < 4)
			type = MBR_TYPE_Q5_K;
		/* 70B: attn_v is 8x smaller than attn_q, so more bits are cheap */
		if (hp->is_70b && (type == MBR_TYPE_Q3_K || type == MBR_TYPE_Q4_K))
			type = MBR_TYPE_Q5_K;
		if (hp->n_expert == 8)
			type = MBR_TYPE_Q8_0;
	} else if (strstr(name, "attn_k.weight")) {
		if (hp->n_expert == 8)
			type = MBR_TYPE_Q8_0;
	} else if (strstr(name, "ffn_down")) {
		int n = (int)hp->n_layer;

		if ((err = ffn_down_layer(p, name, &i)))
			return err;
		if (ft == FT_Q2_K)
			type = MBR_TYPE_Q3_K;
		else if (ft == FT_Q3_K_M)
			type = i < n / 16 ? MBR_TYPE_Q5_K :
			       !hp->is_falcon || use_more_bits(i, n) ? MBR_TYPE_Q4_K : MBR_TYPE_Q3_K;
		else if (ft == FT_Q4_K_M && hp->is_falcon)
			type = i < n / 16 ? MBR_TYPE_Q6_K :
			       use_more_bits(i, n) ? MBR_TYPE_Q5_K : MBR_TYPE_Q4_K;
		else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && use_more_bits(i, n))
			type = MBR_TYPE_Q6_K;
		else if (ft == FT_Q4_K_S && !hp->is_falcon && i < n / 8)
			type = MBR_TYPE_Q5_K;
	} else if (strstr(name, "attn_output.weight") && !hp->is_falcon) {
		if (hp->n_expert == 8 && ft >= FT_Q2_K && ft <= FT_Q4_K_M)
			type = MBR_TYPE_Q5_K;
		else if (hp->n_expert != 8 && ft == FT_Q2_K)
			type = MBR_TYPE_Q3_K;
		else if (hp->n_expert != 8 && ft == FT_Q3_K_M)
			type = MBR_TYPE_Q4_K;
	} else if (strstr(name, "attn_qkv.weight")) {
		if (ft == FT_Q3_K_M)
			type = MBR_TYPE_Q4_K;
		else if (ft == FT_Q4_K_M)
			type = MBR_TYPE_Q5_K;
		else if (ft == FT_Q5_K_M)
			type = MBR_TYPE_Q6_K;
	}
	return type;
}

/* llama.cpp's fallback for rows that do not fit the type's blocks. */
static int fallback_type(int type)
{
	switch (type) {
	case MBR_TYPE_Q2_K:
	case MBR_TYPE_Q3_K: return MBR_TYPE_IQ4_NL;
	case MBR_TYPE_Q4_K: return MBR_TYPE_Q5_0;
	case MBR_TYPE_Q5_K: return MBR_TYPE_Q5_1;
	case MBR_TYPE_Q6_K: return MBR_TYPE_Q8_0;
	default: return -1;
	}
}

/*
 * llama_tensor_get_type for the types above: the output matrix (or the
 * token embedding standing in for it) gets Q6_K unless the target is
 * Q8_0, or Q8_0 when its rows do not fit the target's blocks or the model
 * is a Falcon; the others follow mix_type(). A row length the chosen type
 * cannot take falls back as llama.cpp's does (then to F16), and is an
 * error where llama.cpp has no fallback or where it would be IQ4_NL,
 * which mbr cannot write.
 */
static int quantized_type(struct plan *p, const struct mbr_tensor_info *t)
{
	const char *name = t->name;
	int type = p->target->type, fallback;

	if (!strcmp(name, "output.weight") ||
	    (!p->has_output && !strcmp(name, "token_embd.weight"))) {
		if (p->hp.is_falcon || t->ne[0] % block_elems(type))
			type = MBR_TYPE_Q8_0;
		else if (type != MBR_TYPE_Q8_0)
			type = MBR_TYPE_Q6_K;
	} else if (strcmp(name, "token_embd.weight") &&
		   (type = mix_type(p, name, type)) < 0) {
		return type;
	}
	if (t->ne[0] % block_elems(type) == 0)
		return type;
	fallback = fallback_type(type);
	if (fallback >= 0 && t->ne[0] % block_elems(fallback))
		return MBR_TYPE_F16;
	if (fallback < 0 || fallback == MBR_TYPE_IQ4_NL) {
		mbr_error_set(MBR_ERROR_INVALID,
			      "%s: tensor '%s' has rows of %llu, not a multiple of %s's %u%s",
			      p->rev, name, (unsigned long long)t->ne[0],
			      mbr_type_get(type)->name, block_elems(type),
			      fallback < 0 ? "" : ", and mbr cannot write llama.cpp's fallback IQ4_NL");
		return MBR_EUNSUPPORTED;
	}
	return fallback;
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

/* The integer "<arch>.<key>" of the metadata, or dflt when it is absent
 * or not a scalar (llama.cpp would read per-layer arrays' first entry). */
static uint32_t arch_u32(const struct mbr_modelfile *mf, const char *arch,
			 const char *key, uint32_t dflt)
{
	const struct mbr_kv *kv;
	struct strbuf full = STRBUF_INIT;

	strbuf_addf(&full, "%s.%s", arch, key);
	kv = mbr_modelfile_kv(mf, full.buf);
	strbuf_release(&full);
	return kv && (kv->type == MBR_GGUF_UINT32 || kv->type == MBR_GGUF_INT32) ?
		(uint32_t)kv->v.u : dflt;
}

/* The hyperparameters llama.cpp's loader gives llama_tensor_get_type. */
static void read_hparams(struct hparams *hp, const struct mbr_modelfile *mf)
{
	const struct mbr_kv *kv = mbr_modelfile_kv(mf, "general.architecture");
	const char *arch = kv && kv->type == MBR_GGUF_STRING ? kv->str : "";
	uint32_t n_head = arch_u32(mf, arch, "attention.head_count", 0);
	uint32_t n_head_kv = arch_u32(mf, arch, "attention.head_count_kv", n_head);

	hp->n_layer = arch_u32(mf, arch, "block_count", 0);
	hp->n_expert = arch_u32(mf, arch, "expert_count", 0);
	hp->n_gqa = n_head_kv ? n_head / n_head_kv : 0;
	hp->is_falcon = !strcmp(arch, "falcon");
	/* llama-model.cpp: an 80-layer llama with grouped-query attention */
	hp->is_70b = !strcmp(arch, "llama") && hp->n_expert != 8 &&
		     hp->n_layer == 80 && n_head != n_head_kv;
	for (size_t i = 0; i < mf->n_tensors; i++) {
		const char *name = mf->tensors[i].name;

		if (strstr(name, "attn_v.weight") || strstr(name, "attn_qkv.weight") ||
		    strstr(name, "attn_kv_b.weight"))
			hp->n_attention_wv++;
	}
}

static int plan_tensors(struct plan *p, int n_threads)
{
	const struct mbr_modelfile *mf = p->w->mf;
	int err = 0;

	p->has_output = mbr_modelfile_tensor(mf, "output.weight") != NULL;
	read_hparams(&p->hp, mf);
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

static int write_gguf(const struct plan *p, const char *path,
		      const struct mbr_progress *progress)
{
	struct mbr_gguf_writer *gw = NULL;
	int err;

	if (!(err = mbr_gguf_writer_new(&gw, 0)))
		mbr_gguf_writer_set_progress(gw, progress);
	if (!err &&
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
	*out = q;
	return 0;
}

/* The K-quant targets choose a type per tensor (mix_type()). */
static int is_mix(const struct qtype *q)
{
	return q->file_type >= FT_Q2_K && q->file_type <= FT_Q6_K;
}

int mbr_breed_type(int *type, uint32_t *file_type, const char *type_name)
{
	const struct qtype *q;
	int err = check_target(&q, type_name);

	if (!err && is_mix(q)) {
		mbr_error_set(MBR_ERROR_INVALID,
			      "%s chooses a type per tensor, which only mbr breed quantize does",
			      type_name);
		err = MBR_EUNSUPPORTED;
	}
	if (!err) {
		*type = q->type;
		*file_type = q->file_type;
	}
	return err;
}

int mbr_breed_quantize(struct mbr_add_result *out, struct mbr_repo *repo,
		       const char *rev, const char *type_name, const char *name,
		       int n_threads, const struct mbr_progress *progress)
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
	err = write_gguf(&p, tmp.buf, progress);
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
