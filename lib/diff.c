/*
 * diff.c - compare two versions: metadata, tensors (with the relative L2
 * distance of their values) and how much of the file they share.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#include "diff.h"
#include "mbr/error.h"
#include "mbr/store.h"
#include "mbr/types.h"

/* ---- relative L2 distance ----------------------------------------- */

static int side_init(struct mbr_l2_side *side, int type)
{
	const struct mbr_type_info *ti = mbr_type_get(type);
	const struct mbr_kernel_traits *kt = ti ? mbr_kernel_traits(type) : NULL;

	if (!kt || !kt->dequantize) {
		mbr_error_set(MBR_ERROR_KERNEL, "cannot dequantize tensors of type %s",
			      ti ? ti->name : "(unknown)");
		return MBR_EUNSUPPORTED;
	}
	side->kt = kt;
	side->block_elems = ti->block_elems;
	side->block_bytes = ti->block_bytes;
	return 0;
}

int mbr_l2_acc_init(struct mbr_l2_acc *acc, int old_type, int new_type)
{
	int err;

	memset(acc, 0, sizeof(*acc));
	if ((err = side_init(&acc->old, old_type)))
		return err;
	return side_init(&acc->new, new_type);
}

uint64_t mbr_l2_side_bytes(const struct mbr_l2_side *side, uint64_t n)
{
	return n / side->block_elems * side->block_bytes;
}

static int grow_scratch(struct mbr_l2_acc *acc, size_t n)
{
	if (acc->cap >= n)
		return 0;
	free(acc->fa);
	free(acc->fb);
	acc->fa = malloc(n * sizeof(float));
	acc->fb = malloc(n * sizeof(float));
	acc->cap = acc->fa && acc->fb ? n : 0;
	MBR_CHECK_ALLOC(acc->cap);
	return 0;
}

int mbr_l2_acc_add(struct mbr_l2_acc *acc, const void *old, const void *new,
		   uint64_t n)
{
	const unsigned char *pa = old, *pb = new;

	if (n % acc->old.block_elems || n % acc->new.block_elems) {
		mbr_error_set(MBR_ERROR_INVALID, "%llu elements are not whole blocks of %u and %u",
			      (unsigned long long)n, acc->old.block_elems, acc->new.block_elems);
		return MBR_EINVALID;
	}
	while (n) {
		size_t k = n < MBR_DIFF_PIECE_ELEMS ? n : MBR_DIFF_PIECE_ELEMS;

		if (grow_scratch(acc, k))
			return MBR_ENOMEM;
		acc->old.kt->dequantize(pa, acc->fa, (int64_t)k);
		acc->new.kt->dequantize(pb, acc->fb, (int64_t)k);
		for (size_t i = 0; i < k; i++) {
			double a = acc->fa[i], d = (double)acc->fb[i] - a;

			acc->diff2 += d * d;
			acc->ref2 += a * a;
		}
		pa += mbr_l2_side_bytes(&acc->old, k);
		pb += mbr_l2_side_bytes(&acc->new, k);
		n -= k;
	}
	return 0;
}

double mbr_l2_acc_rel(const struct mbr_l2_acc *acc)
{
	if (acc->ref2 == 0 && acc->diff2 == 0)
		return 0;
	if (acc->ref2 == 0 && !isnan(acc->diff2))
		return INFINITY;
	return sqrt(acc->diff2 / acc->ref2);
}

void mbr_l2_acc_release(struct mbr_l2_acc *acc)
{
	free(acc->fa);
	free(acc->fb);
	acc->fa = acc->fb = NULL;
	acc->cap = 0;
}

/* ---- reading a tensor's bytes across its chunks ------------------- */

struct chunk_reader {
	struct mbr_odb *odb;
	const struct mbr_manifest_tensor *t;
	size_t idx;			/* of the open chunk */
	struct mbr_object *obj;		/* NULL: none open */
};

static int reader_open(struct chunk_reader *r, size_t idx)
{
	const struct mbr_manifest_tensor *t = r->t;
	uint64_t want;
	char hex[MBR_OID_STRSZ];
	int err;

	mbr_object_free(r->obj);
	r->obj = NULL;
	if (idx >= t->n_chunks) {
		mbr_error_set(MBR_ERROR_MANIFEST, "tensor '%s': %zu chunks do not cover %llu bytes",
			      t->name, t->n_chunks, (unsigned long long)t->size);
		return MBR_ECORRUPT;
	}
	want = t->size - idx * t->chunk_size;
	if (want > t->chunk_size)
		want = t->chunk_size;
	if ((err = mbr_odb_read(&r->obj, r->odb, &t->chunks[idx])))
		return err;
	if (r->obj->size != want) {
		mbr_error_set(MBR_ERROR_ODB, "object %s: %llu bytes, but chunk %zu of tensor '%s' has %llu",
			      mbr_oid_fmt(hex, &t->chunks[idx]),
			      (unsigned long long)r->obj->size, idx, t->name,
			      (unsigned long long)want);
		return MBR_ECORRUPT;
	}
	r->idx = idx;
	return 0;
}

/* Copy len bytes of the tensor's data from off. Chunk boundaries are byte
 * boundaries and may split a quantization block, hence the copy. */
static int reader_copy(struct chunk_reader *r, unsigned char *dst,
		       uint64_t off, uint64_t len)
{
	while (len) {
		size_t idx = off / r->t->chunk_size;
		uint64_t in = off % r->t->chunk_size, n;
		int err;

		if ((!r->obj || r->idx != idx) && (err = reader_open(r, idx)))
			return err;
		n = r->obj->size - in < len ? r->obj->size - in : len;
		memcpy(dst, r->obj->data + in, n);
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Feed both tensors (same shape) to acc a piece of elements at a time. */
static int accumulate_tensors(struct mbr_l2_acc *acc, struct mbr_odb *odb,
			      const struct mbr_manifest_tensor *o,
			      const struct mbr_manifest_tensor *t)
{
	struct chunk_reader ra = { odb, o, 0, NULL }, rb = { odb, t, 0, NULL };
	uint64_t total = o->size / acc->old.block_bytes * acc->old.block_elems;
	unsigned char *ba, *bb;
	int err = 0;

	/* the manifest parser checked that size fits type and shape */
	ba = malloc(mbr_l2_side_bytes(&acc->old, MBR_DIFF_PIECE_ELEMS));
	bb = malloc(mbr_l2_side_bytes(&acc->new, MBR_DIFF_PIECE_ELEMS));
	if (!ba || !bb) {
		mbr_error_oom();
		err = MBR_ENOMEM;
	}
	for (uint64_t at = 0, k; !err && at < total; at += k) {
		k = total - at < MBR_DIFF_PIECE_ELEMS ? total - at : MBR_DIFF_PIECE_ELEMS;
		if (!(err = reader_copy(&ra, ba, mbr_l2_side_bytes(&acc->old, at),
					mbr_l2_side_bytes(&acc->old, k))) &&
		    !(err = reader_copy(&rb, bb, mbr_l2_side_bytes(&acc->new, at),
					mbr_l2_side_bytes(&acc->new, k))))
			err = mbr_l2_acc_add(acc, ba, bb, k);
	}
	mbr_object_free(ra.obj);
	mbr_object_free(rb.obj);
	free(ba);
	free(bb);
	return err;
}

/* ---- JSON --------------------------------------------------------- */

/* Both steal v, as jansson's *_new functions do; NULL v means OOM. */
static int put(json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, v)) {
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	return 0;
}

static int push(json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, v)) {
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	return 0;
}

static json_t *type_json(int type)
{
	const struct mbr_type_info *ti = mbr_type_get(type);

	return ti ? json_string(ti->name) : json_integer(type);
}

/* The shape in ne order (fastest-varying dimension first). */
static json_t *shape_json(const struct mbr_manifest_tensor *t)
{
	json_t *a = json_array();

	for (uint32_t d = 0; a && d < t->n_dims; d++)
		if (json_array_append_new(a, json_integer((json_int_t)t->ne[d]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* An object with three empty arrays, for the added/removed/changed lists. */
static json_t *three_lists(void)
{
	return json_pack("{s:[],s:[],s:[]}", "added", "removed", "changed");
}

static int list_add(json_t *lists, const char *which, json_t *v)
{
	return push(json_object_get(lists, which), v);
}

/* ---- metadata ----------------------------------------------------- */

static const char *meta_key(json_t *entry)
{
	return json_string_value(json_object_get(entry, "key"));
}

static int diff_metadata(json_t *lists, const struct mbr_manifest *a,
			 const struct mbr_manifest *b)
{
	size_t i;
	json_t *e, *other;
	int err = 0;

	json_array_foreach(a->metadata, i, e) {
		const char *key = meta_key(e);

		other = key ? mbr_manifest_meta(b, key) : NULL;
		if (!other)
			err = list_add(lists, "removed", json_incref(e));
		else if (!json_equal(e, other))
			err = list_add(lists, "changed", json_pack("{s:s,s:O,s:O}",
					"key", key, "old", e, "new", other));
		if (err)
			return err;
	}
	json_array_foreach(b->metadata, i, e) {
		const char *key = meta_key(e);

		if ((!key || !mbr_manifest_meta(a, key)) &&
		    (err = list_add(lists, "added", json_incref(e))))
			return err;
	}
	return 0;
}

/* ---- tensors ------------------------------------------------------ */

static int same_shape(const struct mbr_manifest_tensor *o,
		      const struct mbr_manifest_tensor *t)
{
	return o->n_dims == t->n_dims &&
	       !memcmp(o->ne, t->ne, t->n_dims * sizeof(t->ne[0]));
}

static int same_tensor(const struct mbr_manifest_tensor *o,
		       const struct mbr_manifest_tensor *t)
{
	if (o->type != t->type || !same_shape(o, t) || o->size != t->size ||
	    o->n_chunks != t->n_chunks)
		return 0;
	for (size_t i = 0; i < t->n_chunks; i++)
		if (mbr_oid_cmp(&o->chunks[i], &t->chunks[i]))
			return 0;
	return 1;
}

static json_t *tensor_json(const struct mbr_manifest_tensor *t)
{
	return json_pack("{s:s,s:o,s:o}", "name", t->name,
			 "type", type_json(t->type), "shape", shape_json(t));
}

/*
 * Set entry's rel_l2. It is null when the kernels cannot dequantize the
 * type, and null with a "note" when the ratio has no finite value (the old
 * tensor is all zeros, or a value is Inf/NaN): JSON has no Infinity.
 */
static int put_rel_l2(json_t *entry, struct mbr_odb *odb,
		      const struct mbr_manifest_tensor *o,
		      const struct mbr_manifest_tensor *t)
{
	struct mbr_l2_acc acc;
	double rel;
	int err = mbr_l2_acc_init(&acc, o->type, t->type);

	if (err == MBR_EUNSUPPORTED)
		return put(entry, "rel_l2", json_null());
	err = accumulate_tensors(&acc, odb, o, t);
	rel = mbr_l2_acc_rel(&acc);
	mbr_l2_acc_release(&acc);
	if (err)
		return err;
	if (isfinite(rel))
		return put(entry, "rel_l2", json_real(rel));
	if ((err = put(entry, "rel_l2", json_null())))
		return err;
	return put(entry, "note", json_string(isinf(rel) ?
			"old tensor is all zeros" : "values are not all finite"));
}

static int changed_tensor(json_t *lists, struct mbr_odb *odb,
			  const struct mbr_manifest_tensor *o,
			  const struct mbr_manifest_tensor *t)
{
	json_t *e = json_pack("{s:s,s:o,s:o,s:o,s:o}", "name", t->name,
			      "old_type", type_json(o->type),
			      "new_type", type_json(t->type),
			      "old_shape", shape_json(o),
			      "new_shape", shape_json(t));
	int err;

	if (!e) {
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	if (same_shape(o, t))
		err = put_rel_l2(e, odb, o, t);
	else
		err = put(e, "rel_l2", json_null());
	if (err) {
		json_decref(e);
		return err;
	}
	return list_add(lists, "changed", e);
}

static int diff_tensors(json_t *lists, struct mbr_odb *odb,
			const struct mbr_manifest *a, const struct mbr_manifest *b)
{
	json_int_t unchanged = 0;
	int err = 0;

	for (size_t i = 0; i < b->n_tensors && !err; i++) {
		const struct mbr_manifest_tensor *t = &b->tensors[i];
		const struct mbr_manifest_tensor *o = mbr_manifest_tensor(a, t->name);

		if (!o)
			err = list_add(lists, "added", tensor_json(t));
		else if (same_tensor(o, t))
			unchanged++;
		else
			err = changed_tensor(lists, odb, o, t);
	}
	for (size_t i = 0; i < a->n_tensors && !err; i++)
		if (!mbr_manifest_tensor(b, a->tensors[i].name))
			err = list_add(lists, "removed", tensor_json(&a->tensors[i]));
	return err ? err : put(lists, "unchanged", json_integer(unchanged));
}

/* ---- file --------------------------------------------------------- */

struct oid_list {
	struct mbr_oid *ids;
	size_t n, alloc;
};

static int collect_oid(const struct mbr_oid *id, uint64_t size, void *payload)
{
	struct oid_list *l = payload;

	if (l->n == l->alloc) {
		size_t alloc = l->alloc ? 2 * l->alloc : 64;
		struct mbr_oid *ids = realloc(l->ids, alloc * sizeof(*ids));

		MBR_CHECK_ALLOC(ids);
		l->ids = ids;
		l->alloc = alloc;
	}
	l->ids[l->n++] = *id;
	return 0;
}

static int cmp_oid(const void *a, const void *b)
{
	return mbr_oid_cmp(a, b);
}

static int has_oid(const struct oid_list *l, const struct mbr_oid *id)
{
	return l->n && bsearch(id, l->ids, l->n, sizeof(*id), cmp_oid);
}

/* Bytes of b's file held in objects a also uses (runs of zeros, stored
 * nowhere, do not count). */
static uint64_t shared_bytes(const struct mbr_manifest *b, const struct oid_list *old)
{
	uint64_t shared = 0;

	for (size_t i = 0; i < b->n_segments; i++) {
		const struct mbr_manifest_segment *s = &b->segments[i];
		const struct mbr_manifest_tensor *t;

		if (s->kind == MBR_SEG_OBJECT && has_oid(old, &s->id))
			shared += s->size;
		if (s->kind != MBR_SEG_TENSOR || s->tensor >= b->n_tensors)
			continue;
		t = &b->tensors[s->tensor];
		for (size_t c = 0; c < t->n_chunks; c++)
			if (has_oid(old, &t->chunks[c]))
				shared += c + 1 < t->n_chunks ? t->chunk_size :
					  t->size - c * t->chunk_size;
	}
	return shared;
}

static int diff_file(json_t **out, const struct mbr_manifest *a,
		     const struct mbr_manifest *b)
{
	struct oid_list old = { NULL, 0, 0 };
	int err = mbr_manifest_foreach_object(a, collect_oid, &old);

	*out = NULL;
	if (!err) {
		if (old.n)
			qsort(old.ids, old.n, sizeof(*old.ids), cmp_oid);
		*out = json_pack("{s:I,s:I,s:I}",
				 "old_size", (json_int_t)a->file_size,
				 "new_size", (json_int_t)b->file_size,
				 "shared_bytes", (json_int_t)shared_bytes(b, &old));
		if (!*out) {
			mbr_error_oom();
			err = MBR_ENOMEM;
		}
	}
	free(old.ids);
	return err;
}

/* ---- the whole diff ----------------------------------------------- */

int mbr_store_diff(json_t **out, struct mbr_repo *repo,
		   const struct mbr_version *a, const struct mbr_version *b)
{
	json_t *res = json_pack("{s:s,s:s,s:O?,s:o,s:o}", "old", a->commit,
				"new", b->commit, "operator", b->operator,
				"metadata", three_lists(), "tensors", three_lists());
	json_t *file = NULL;
	int err;

	*out = NULL;
	if (!res) {
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	if ((err = diff_metadata(json_object_get(res, "metadata"), a->manifest, b->manifest)) ||
	    (err = diff_tensors(json_object_get(res, "tensors"), repo->odb,
				a->manifest, b->manifest)) ||
	    (err = diff_file(&file, a->manifest, b->manifest)) ||
	    (err = put(res, "file", file))) {
		json_decref(res);
		return err;
	}
	*out = res;
	return 0;
}
