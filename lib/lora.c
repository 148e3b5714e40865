/*
 * lora.c - load LoRA adapters and check them against their base.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mbr/error.h"
#include "mbr/lineage.h"
#include "mbr/lora.h"
#include "mbr/types.h"

static int lora_error(const struct mbr_lora *l, int err, const char *fmt, const char *what)
{
	mbr_error_set(MBR_ERROR_FORMAT, fmt, l->name, what);
	return err;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* A string entry's value, "" when absent or not a string (as llama.cpp
 * reads them, so a missing key fails the comparison after). */
static const char *meta_str(const struct mbr_modelfile *mf, const char *key)
{
	const struct mbr_kv *kv = mbr_modelfile_kv(mf, key);

	return kv && kv->type == MBR_GGUF_STRING ? kv->str : "";
}

int mbr_lora_is_adapter(const struct mbr_modelfile *mf)
{
	return !strcmp(meta_str(mf, "general.type"), "adapter");
}

static int read_metadata(struct mbr_lora *l)
{
	const struct mbr_modelfile *mf = l->w->mf;
	const struct mbr_kv *alpha = mbr_modelfile_kv(mf, "adapter.lora.alpha");
	const char *arch = meta_str(mf, "general.architecture");

	if (!mbr_lora_is_adapter(mf))
		return lora_error(l, MBR_EINVALID, "%s: not an adapter (general.type is '%s')",
				  meta_str(mf, "general.type"));
	if (strcmp(meta_str(mf, "adapter.type"), "lora"))
		return lora_error(l, MBR_EUNSUPPORTED, "%s: adapter.type '%s' is not lora",
				  meta_str(mf, "adapter.type"));
	if (!*arch || strlen(arch) >= sizeof(l->arch))
		return lora_error(l, MBR_ECORRUPT, "%s: general.architecture '%s' is missing or too long",
				  arch);
	strcpy(l->arch, arch);
	if (alpha && (alpha->type != MBR_GGUF_FLOAT32 || !isfinite(alpha->v.f)))
		return lora_error(l, MBR_ECORRUPT, "%s: adapter.lora.alpha %s",
				  "is not a finite F32");
	l->alpha = alpha ? (float)alpha->v.f : 0.0f;
	return 0;
}

/* The pair named base (the tensor name less its .lora_a/.lora_b suffix),
 * appended when new. */
static int pair_for(struct mbr_lora_pair **out, struct mbr_lora *l, const char *tname)
{
	size_t len = strlen(tname) - strlen(".lora_a");
	struct mbr_lora_pair *p;

	for (size_t i = 0; i < l->n_pairs; i++) {
		if (strlen(l->pairs[i].name) == len && !strncmp(l->pairs[i].name, tname, len)) {
			*out = &l->pairs[i];
			return 0;
		}
	}
	/* at most one pair per tensor: the table never grows past it */
	p = &l->pairs[l->n_pairs++];
	memset(p, 0, sizeof(*p));
	p->name = strndup(tname, len);
	MBR_CHECK_ALLOC(p->name);
	*out = p;
	return 0;
}

/* A and B are matrices mbr can compute with: F32 or F16, as llama.cpp's
 * converter writes them (export-lora rejects quantized ones too). */
static int check_factor(const struct mbr_lora *l, const struct mbr_tensor_info *t)
{
	if (t->n_dims != 2 || !t->ne[0] || !t->ne[1] || t->ne[0] > INT32_MAX ||
	    t->ne[1] > INT32_MAX)
		return lora_error(l, MBR_ECORRUPT, "%s: tensor '%s' is not a matrix", t->name);
	if (t->type != MBR_TYPE_F32 && t->type != MBR_TYPE_F16)
		return lora_error(l, MBR_EUNSUPPORTED,
				  "%s: tensor '%s' is not F32 or F16", t->name);
	return 0;
}

static int add_tensor(struct mbr_lora *l, size_t i)
{
	const struct mbr_tensor_info *t = &l->w->mf->tensors[i];
	int is_a = has_suffix(t->name, ".lora_a");
	const struct mbr_tensor_info **slot;
	struct mbr_lora_pair *p;
	int err;

	if (has_suffix(t->name, "_norm.weight"))
		return 0;
	if (!is_a && !has_suffix(t->name, ".lora_b"))
		return lora_error(l, MBR_ECORRUPT,
				  "%s: tensor '%s' is neither a .lora_a nor a .lora_b", t->name);
	if ((err = check_factor(l, t)) || (err = pair_for(&p, l, t->name)))
		return err;
	slot = is_a ? &p->a : &p->b;
	if (*slot)
		return lora_error(l, MBR_ECORRUPT, "%s: tensor '%s' appears twice", t->name);
	*slot = t;
	*(is_a ? &p->a_data : &p->b_data) = l->w->data[i];
	return 0;
}

static int check_pair(const struct mbr_lora *l, const struct mbr_lora_pair *p)
{
	if (!p->a || !p->b)
		return lora_error(l, MBR_ECORRUPT, "%s: '%s' lacks its lora_a or its lora_b",
				  p->name);
	if (p->a->ne[1] != p->b->ne[0])
		return lora_error(l, MBR_ECORRUPT,
				  "%s: '%s': lora_a's ne[1] differs from lora_b's ne[0] (the rank)",
				  p->name);
	return 0;
}

static int read_pairs(struct mbr_lora *l)
{
	const struct mbr_modelfile *mf = l->w->mf;
	int err = 0;

	l->pairs = calloc(mf->n_tensors ? mf->n_tensors : 1, sizeof(*l->pairs));
	MBR_CHECK_ALLOC(l->pairs);
	for (size_t i = 0; i < mf->n_tensors && !err; i++)
		err = add_tensor(l, i);
	for (size_t i = 0; i < l->n_pairs && !err; i++)
		err = check_pair(l, &l->pairs[i]);
	if (!err && !l->n_pairs)
		err = lora_error(l, MBR_ECORRUPT, "%s: %s", "no lora_a/lora_b tensors");
	return err;
}

/* Takes w: freed with the adapter, also on failure. */
static int lora_from_weights(struct mbr_lora **out, struct mbr_weights *w, const char *name)
{
	struct mbr_lora *l = calloc(1, sizeof(*l));
	int err;

	*out = NULL;
	if (!l) {
		mbr_weights_free(w);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	l->w = w;
	if (!(l->name = strdup(name))) {
		mbr_lora_free(l);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	if ((err = read_metadata(l)) || (err = read_pairs(l))) {
		mbr_lora_free(l);
		return err;
	}
	*out = l;
	return 0;
}

int mbr_lora_open_file(struct mbr_lora **out, const char *path)
{
	struct mbr_weights *w;
	int err;

	*out = NULL;
	if ((err = mbr_weights_open_file(&w, path)) ||
	    (err = lora_from_weights(out, w, path)))
		return err;
	mbr_sha256(&(*out)->digest, w->mf->data, w->mf->size);
	return 0;
}

int mbr_lora_open_version(struct mbr_lora **out, struct mbr_repo *repo, const char *rev)
{
	char commit[MBR_COMMIT_HEXSZ + 1];
	struct mbr_oid digest;
	struct mbr_weights *w;
	int err;

	*out = NULL;
	if ((err = mbr_lineage_resolve(commit, repo->lineage, rev)) ||
	    (err = mbr_version_manifest_digest(&digest, repo, commit)) ||
	    (err = mbr_weights_open_version(&w, repo, commit)))
		return err;
	/* messages name the revision as given, not the commit */
	if ((err = lora_from_weights(out, w, rev)))
		return err;
	memcpy((*out)->commit, commit, sizeof(commit));
	(*out)->digest = digest;
	return 0;
}

void mbr_lora_free(struct mbr_lora *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_pairs; i++)
		free(l->pairs[i].name);
	free(l->pairs);
	mbr_weights_free(l->w);
	free(l->name);
	free(l);
}

const struct mbr_lora_pair *mbr_lora_find(const struct mbr_lora *l, const char *name)
{
	for (size_t i = 0; i < l->n_pairs; i++)
		if (!strcmp(l->pairs[i].name, name))
			return &l->pairs[i];
	return NULL;
}

float mbr_lora_scale(const struct mbr_lora *l, const struct mbr_lora_pair *p,
		     float user_scale)
{
	float rank = (float)p->b->ne[0];

	return l->alpha != 0.0f ? user_scale * l->alpha / rank : user_scale;
}

static int mismatch(const struct mbr_lora *l, const struct mbr_weights *base,
		    const char *tensor, const char *why)
{
	mbr_error_set(MBR_ERROR_INVALID, "%s does not fit %s: %s%s%s", l->name, base->name,
		      tensor ? tensor : "", tensor ? " " : "", why);
	return MBR_EINVALID;
}

int mbr_lora_check(const struct mbr_lora *l, const struct mbr_weights *base)
{
	const char *arch = meta_str(base->mf, "general.architecture");

	if (strcmp(arch, l->arch))
		return mismatch(l, base, NULL, "the architectures differ");
	for (size_t i = 0; i < l->n_pairs; i++) {
		const struct mbr_lora_pair *p = &l->pairs[i];
		const struct mbr_tensor_info *w;

		if (!strcmp(p->name, "token_embd.weight")) {
			mbr_error_set(MBR_ERROR_INVALID, "%s: an adapter on token_embd.weight "
				      "is not supported", l->name);
			return MBR_EUNSUPPORTED;
		}
		if (!mbr_weights_tensor(base, p->name, &w))
			return mismatch(l, base, p->name, "is not in the base");
		if (w->n_dims != 2 || w->ne[0] != p->a->ne[0] || w->ne[1] != p->b->ne[1])
			return mismatch(l, base, p->name,
					"has another shape than lora_a's ne[0] x lora_b's ne[1]");
	}
	return 0;
}
