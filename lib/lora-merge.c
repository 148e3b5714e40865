/*
 * lora-merge.c - mbr breed lora-merge: bake an adapter into its base, the
 * way llama-export-lora does.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernels.h"
#include "mbr/breed.h"
#include "mbr/error.h"
#include "mbr/lineage.h"
#include "mbr/lora.h"
#include "mbr/types.h"

#define LLAMA_FTYPE_MOSTLY_F16 1

struct lora_merge {
	struct mbr_weights *base;
	struct mbr_lora *lora;
	char base_commit[MBR_COMMIT_HEXSZ + 1];
	float scale;			/* the user's */
	const struct mbr_progress *progress;
};

/* A base tensor the adapter changes, computed when the writer asks. */
struct merged {
	const struct lora_merge *lm;
	const struct mbr_tensor_info *w;
	const void *w_data;
	const struct mbr_lora_pair *p;
	int type;			/* the output's: F32 or F16 */
};

void mbr_lora_dequantize(float *dst, const struct mbr_tensor_info *t, const void *data)
{
	mbr_dequantize_fn fn = mbr_kernel_traits(t->type)->dequantize;
	int64_t cols = (int64_t)t->ne[0];
	size_t row_size = mbr_row_size(t->type, cols);

	for (uint64_t r = 0; r < t->ne[1]; r++)
		fn((const unsigned char *)data + r * row_size, dst + r * (size_t)cols, cols);
}

static float *dequantized(const struct mbr_tensor_info *t, const void *data)
{
	float *x = malloc((size_t)t->ne[0] * t->ne[1] * sizeof(*x));

	if (x)
		mbr_lora_dequantize(x, t, data);
	else
		mbr_error_oom();
	return x;
}

/*
 * W + scale * B A in F32, as export-lora's graph computes it: the product
 * one F32 dot over the rank per element, scaled, then added to W.
 */
static void add_delta(float *w, const float *a, const float *b, int64_t rows,
		      int64_t cols, int64_t rank, float scale)
{
	for (int64_t r = 0; r < rows; r++) {
		for (int64_t c = 0; c < cols; c++) {
			float dot = 0.0f, term;

			for (int64_t k = 0; k < rank; k++)
				dot += b[r * rank + k] * a[k * cols + c];
			term = dot * scale;
			w[r * cols + c] = term + w[r * cols + c];
		}
	}
}

static int fill_merged(void *payload, void *buf, uint64_t size)
{
	const struct merged *m = payload;
	const struct mbr_lora_pair *p = m->p;
	int64_t cols = (int64_t)m->w->ne[0], rows = (int64_t)m->w->ne[1];
	float *w = dequantized(m->w, m->w_data);
	float *a = dequantized(p->a, p->a_data), *b = dequantized(p->b, p->b_data);
	mbr_quantize_fn quantize = mbr_kernel_traits(m->type)->quantize;
	int err = 0;

	if (w && a && b) {
		add_delta(w, a, b, rows, cols, (int64_t)p->b->ne[0],
			  mbr_lora_scale(m->lm->lora, p, m->lm->scale));
		quantize(w, buf, rows * cols);
	} else {
		err = MBR_ENOMEM;
	}
	free(w);
	free(a);
	free(b);
	return err;
}

/* The base's metadata, general.file_type MOSTLY_F16 (set where it is,
 * or added last), as export-lora's gguf_set_kv + gguf_set_val_u32. */
static int copy_metadata(struct mbr_gguf_writer *gw, const struct mbr_modelfile *mf)
{
	int err = 0;

	for (size_t i = 0; i < mf->n_kv && !err; i++)
		err = strcmp(mf->kv[i].key, "general.file_type") ?
		      mbr_gguf_writer_copy_kv(gw, mf, &mf->kv[i]) :
		      mbr_gguf_writer_add_kv_u32(gw, "general.file_type", LLAMA_FTYPE_MOSTLY_F16);
	if (!err && !mbr_modelfile_kv(mf, "general.file_type"))
		err = mbr_gguf_writer_add_kv_u32(gw, "general.file_type", LLAMA_FTYPE_MOSTLY_F16);
	return err;
}

static int check_dequantizable(const struct lora_merge *lm, const struct mbr_tensor_info *t)
{
	const struct mbr_kernel_traits *k = mbr_kernel_traits(t->type);

	if (k && k->dequantize)
		return 0;
	mbr_error_set(MBR_ERROR_KERNEL, "%s: tensor '%s': mbr cannot dequantize its type",
		      lm->base->name, t->name);
	return MBR_EUNSUPPORTED;
}

static int write_gguf(const struct lora_merge *lm, struct merged *ms, const char *path)
{
	const struct mbr_modelfile *mf = lm->base->mf;
	struct mbr_gguf_writer *gw = NULL;
	int err;

	/* a general.alignment entry, copied, sets the alignment */
	if (!(err = mbr_gguf_writer_new(&gw, 0))) {
		mbr_gguf_writer_set_progress(gw, lm->progress);
		err = copy_metadata(gw, mf);
	}
	for (size_t i = 0; i < mf->n_tensors && !err; i++) {
		const struct mbr_tensor_info *t = &mf->tensors[i];
		struct merged *m = &ms[i];

		m->lm = lm;
		m->w = t;
		m->w_data = lm->base->data[i];
		m->p = mbr_lora_find(lm->lora, t->name);
		m->type = t->type == MBR_TYPE_F32 ? MBR_TYPE_F32 : MBR_TYPE_F16;
		if (!m->p)	/* copied: the same object in the store */
			err = mbr_gguf_writer_add_tensor(gw, t->name, t->type, t->n_dims,
							 t->ne, m->w_data, t->size);
		else if (!(err = check_dequantizable(lm, t)))
			err = mbr_gguf_writer_add_tensor_fn(gw, t->name, m->type, t->n_dims,
							    t->ne, fill_merged, m);
	}
	if (!err)
		err = mbr_gguf_writer_write_file(gw, path);
	mbr_gguf_writer_free(gw);
	return err;
}

static int store_version(struct mbr_add_result *out, struct mbr_repo *repo,
			 const struct lora_merge *lm, const char *path, const char *name,
			 const char *base, const char *adapter)
{
	const char *parents[] = { lm->base_commit, lm->lora->commit };
	struct strbuf summary = STRBUF_INIT;
	struct mbr_add_options opts = {
		.name = name, .operator = "lora-merge", .parents = parents, .n_parents = 2,
	};
	int err;

	opts.params = json_pack("{s:f}", "scale", (double)lm->scale);
	MBR_CHECK_ALLOC(opts.params);
	strbuf_addf(&summary, "%s into %s", adapter, base);
	opts.summary = summary.buf;
	err = mbr_store_add(out, repo, path, &opts);
	json_decref(opts.params);
	strbuf_release(&summary);
	return err;
}

int mbr_breed_lora_merge(struct mbr_add_result *out, struct mbr_repo *repo,
			 const char *base, const char *adapter, float scale,
			 const char *name, const struct mbr_progress *progress)
{
	struct lora_merge lm = { .scale = scale, .progress = progress };
	struct strbuf tmp = STRBUF_INIT, defname = STRBUF_INIT;
	struct merged *ms = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = mbr_lineage_resolve(lm.base_commit, repo->lineage, base)) ||
	    (err = mbr_weights_open_version(&lm.base, repo, base)) ||
	    (err = mbr_lora_open_version(&lm.lora, repo, adapter)) ||
	    (err = mbr_lora_check(lm.lora, lm.base)) ||
	    (!name && (err = mbr_breed_default_name(&defname, repo, base, "lora"))))
		goto done;
	ms = calloc(lm.base->mf->n_tensors + 1, sizeof(*ms));
	if (!ms) {
		mbr_error_oom();
		err = MBR_ENOMEM;
		goto done;
	}
	if ((err = mbr_breed_temp_file(&tmp, repo, "lora-merge")))
		goto done;
	err = write_gguf(&lm, ms, tmp.buf);
	if (!err)
		err = store_version(out, repo, &lm, tmp.buf, name ? name : defname.buf,
				    base, adapter);
	unlink(tmp.buf);
done:
	free(ms);
	mbr_lora_free(lm.lora);
	mbr_weights_free(lm.base);
	strbuf_release(&tmp);
	strbuf_release(&defname);
	return err;
}
