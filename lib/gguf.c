/*
 * gguf.c - the GGUF v2/v3 parser (ggml's docs/gguf.md), little-endian only.
 *
 * Layout: "GGUF", u32 version, u64 n_tensors, u64 n_kv, the metadata
 * entries (string key, u32 value type, value), the tensor infos (string
 * name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset relative to the
 * data section), padding to general.alignment, then the tensor data.
 * Strings are a u64 length and that many bytes.
 *
 * Every length and count is checked against the bytes left before anything
 * is read or allocated, so a hostile header can neither run the reader off
 * the end nor make it allocate more than the file could describe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mbr/error.h"
#include "mbr/types.h"
#include "modelfile-internal.h"

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4
/* Arrays of arrays are legal; this bounds the recursion that skips them. */
#define GGUF_MAX_ARRAY_DEPTH 8
/* The smallest possible entries: an empty key with a u8 value, and an
 * empty name with one dimension. */
#define GGUF_MIN_KV_BYTES (8 + 4 + 1)
#define GGUF_MIN_TENSOR_BYTES (8 + 4 + 8 + 4 + 8)

struct reader {
	struct mbr_modelfile *mf;
	uint64_t pos;
	/* what is being read, for messages: "the header", "tensor info" */
	const char *what;
	int indexed;		/* what is an entry: add index (and name) */
	uint64_t index;
	const char *name;	/* the entry's key or tensor name once known */
};

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static uint64_t left(const struct reader *r)
{
	return r->mf->data_len - r->pos;
}

/* "tensor info 17 ('blk.0.attn_q.weight')", for messages. */
static const char *context(const struct reader *r, char *buf, size_t len)
{
	if (!r->indexed)
		snprintf(buf, len, "%s", r->what);
	else if (!r->name)
		snprintf(buf, len, "%s %llu", r->what,
			 (unsigned long long)r->index);
	else
		snprintf(buf, len, "%s %llu ('%.64s')", r->what,
			 (unsigned long long)r->index, r->name);
	return buf;
}

static int truncated(const struct reader *r)
{
	char ctx[128];

	return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
		"truncated at byte %llu while reading %s",
		(unsigned long long)r->mf->size,
		context(r, ctx, sizeof(ctx)));
}

static int read_uint(struct reader *r, uint64_t *v, int n)
{
	*v = 0;
	if (left(r) < (uint64_t)n)
		return truncated(r);
	*v = get_le(r->mf->data + r->pos, n);
	r->pos += n;
	return 0;
}

static int read_u32(struct reader *r, uint32_t *v)
{
	uint64_t x;
	int err = read_uint(r, &x, 4);

	*v = (uint32_t)x;
	return err;
}

/* Claim len bytes at the cursor: the length came from the file. */
static int skip(struct reader *r, uint64_t len, const char *thing)
{
	char ctx[128];

	if (len > left(r))
		return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
			"%s of %llu bytes at byte %llu runs past the end of the file (size %llu) while reading %s",
			thing, (unsigned long long)len,
			(unsigned long long)r->pos,
			(unsigned long long)r->mf->size,
			context(r, ctx, sizeof(ctx)));
	r->pos += len;
	return 0;
}

static int read_string(struct reader *r, const unsigned char **s,
		       uint64_t *len)
{
	int err;

	if ((err = read_uint(r, len, 8)) < 0)
		return err;
	*s = r->mf->data + r->pos;
	return skip(r, *len, "a string");
}

/* A key or tensor name: a string of sane length, copied. */
static int read_name(struct reader *r, char **out, size_t *out_len)
{
	const unsigned char *s;
	uint64_t len;
	char ctx[128];
	int err;

	if ((err = read_string(r, &s, &len)) < 0)
		return err;
	if (len > MBR_MAX_NAME_LEN)
		return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
			"name of %llu bytes at byte %llu is longer than %d bytes while reading %s",
			(unsigned long long)len,
			(unsigned long long)(r->pos - len), MBR_MAX_NAME_LEN,
			context(r, ctx, sizeof(ctx)));
	*out = mbr_modelfile__strndup(s, len);
	MBR_CHECK_ALLOC(*out);
	*out_len = len;
	r->name = *out;
	return 0;
}

/* Bytes of one scalar value of a metadata type; 0 for string and array. */
static int scalar_size(uint32_t type)
{
	static const unsigned char sizes[] = {
		[MBR_GGUF_UINT8] = 1, [MBR_GGUF_INT8] = 1,
		[MBR_GGUF_UINT16] = 2, [MBR_GGUF_INT16] = 2,
		[MBR_GGUF_UINT32] = 4, [MBR_GGUF_INT32] = 4,
		[MBR_GGUF_FLOAT32] = 4, [MBR_GGUF_BOOL] = 1,
		[MBR_GGUF_UINT64] = 8, [MBR_GGUF_INT64] = 8,
		[MBR_GGUF_FLOAT64] = 8
	};

	return type < sizeof(sizes) ? sizes[type] : 0;
}

static int bad_value_type(const struct reader *r, uint32_t type)
{
	char ctx[128];

	return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
		"unknown metadata value type %u at byte %llu while reading %s",
		type, (unsigned long long)(r->pos - 4),
		context(r, ctx, sizeof(ctx)));
}

static int array_too_long(const struct reader *r, uint64_t count)
{
	char ctx[128];

	return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
		"array of %llu elements at byte %llu runs past the end of the file (size %llu) while reading %s",
		(unsigned long long)count, (unsigned long long)r->pos,
		(unsigned long long)r->mf->size,
		context(r, ctx, sizeof(ctx)));
}

/* Step over count elements of an array, checking each against the end. */
static int skip_elements(struct reader *r, uint32_t type, uint64_t count,
			 int depth)
{
	int size = scalar_size(type), err;
	uint64_t len;
	char ctx[128];

	if (size)
		return count > left(r) / size ? array_too_long(r, count)
					       : skip(r, count * size, "an array");
	if (type != MBR_GGUF_STRING && type != MBR_GGUF_ARRAY)
		return bad_value_type(r, type);
	if (depth >= GGUF_MAX_ARRAY_DEPTH)
		return mbr_modelfile__error(r->mf, MBR_EUNSUPPORTED,
			"arrays nested more than %d deep while reading %s",
			GGUF_MAX_ARRAY_DEPTH, context(r, ctx, sizeof(ctx)));
	/* Each element takes at least its 8-byte length (or 12-byte
	 * type and count), which bounds the loop by the bytes left. */
	if (count > left(r) / 8)
		return array_too_long(r, count);
	for (uint64_t i = 0; i < count; i++) {
		uint32_t elem_type = 0;

		if (type == MBR_GGUF_STRING) {
			if ((err = read_uint(r, &len, 8)) < 0 ||
			    (err = skip(r, len, "a string")) < 0)
				return err;
			continue;
		}
		if ((err = read_u32(r, &elem_type)) < 0 ||
		    (err = read_uint(r, &len, 8)) < 0 ||
		    (err = skip_elements(r, elem_type, len, depth + 1)) < 0)
			return err;
	}
	return 0;
}

static void decode_scalar(struct mbr_kv *kv, const unsigned char *p)
{
	uint64_t raw = get_le(p, scalar_size(kv->type));
	union { uint32_t u; float f; } f32;
	union { uint64_t u; double f; } f64;

	switch (kv->type) {
	case MBR_GGUF_INT8: kv->v.i = (int8_t)raw; break;
	case MBR_GGUF_INT16: kv->v.i = (int16_t)raw; break;
	case MBR_GGUF_INT32: kv->v.i = (int32_t)raw; break;
	case MBR_GGUF_INT64: kv->v.i = (int64_t)raw; break;
	case MBR_GGUF_BOOL: kv->v.u = raw != 0; break;
	case MBR_GGUF_FLOAT32:
		f32.u = (uint32_t)raw;
		kv->v.f = f32.f;
		break;
	case MBR_GGUF_FLOAT64:
		f64.u = raw;
		kv->v.f = f64.f;
		break;
	default: kv->v.u = raw; break;
	}
}

static int read_value(struct reader *r, struct mbr_kv *kv)
{
	const unsigned char *s;
	uint64_t len;
	uint32_t elem_type;
	int size = scalar_size(kv->type), err;

	if (size) {
		kv->value_offset = r->pos;
		kv->value_len = size;
		if ((err = skip(r, size, "a value")) < 0)
			return err;
		decode_scalar(kv, r->mf->data + kv->value_offset);
		return 0;
	}
	if (kv->type == MBR_GGUF_STRING) {
		if ((err = read_string(r, &s, &len)) < 0)
			return err;
		kv->value_offset = s - r->mf->data;
		kv->value_len = len;
		kv->str = mbr_modelfile__strndup(s, len);
		MBR_CHECK_ALLOC(kv->str);
		kv->str_len = len;
		return 0;
	}
	if (kv->type != MBR_GGUF_ARRAY)
		return bad_value_type(r, kv->type);
	if ((err = read_u32(r, &elem_type)) < 0 ||
	    (err = read_uint(r, &kv->count, 8)) < 0)
		return err;
	kv->elem_type = elem_type;
	kv->value_offset = r->pos;
	if ((err = skip_elements(r, elem_type, kv->count, 1)) < 0)
		return err;
	kv->value_len = r->pos - kv->value_offset;
	return 0;
}

static int read_kv(struct reader *r, struct mbr_kv *kv)
{
	uint32_t type;
	int err;

	if ((err = read_name(r, &kv->key, &kv->key_len)) < 0 ||
	    (err = read_u32(r, &type)) < 0)
		return err;
	kv->type = type;
	return read_value(r, kv);
}

/* general.alignment, if present, must be a u32 power of two. */
static int find_alignment(struct mbr_modelfile *mf)
{
	mf->alignment = GGUF_DEFAULT_ALIGNMENT;
	for (size_t i = 0; i < mf->n_kv; i++) {
		const struct mbr_kv *kv = &mf->kv[i];

		if (strcmp(kv->key, "general.alignment"))
			continue;
		if (kv->type != MBR_GGUF_UINT32)
			return mbr_modelfile__error(mf, MBR_ECORRUPT,
				"general.alignment is a %s, not a uint32",
				mbr_gguf_type_name(kv->type));
		if (!kv->v.u || (kv->v.u & (kv->v.u - 1)))
			return mbr_modelfile__error(mf, MBR_ECORRUPT,
				"general.alignment %llu is not a power of two",
				(unsigned long long)kv->v.u);
		mf->alignment = kv->v.u;
	}
	return 0;
}

static int check_shape(const struct reader *r, struct mbr_tensor_info *t)
{
	const struct mbr_type_info *ti = mbr_type_get(t->type);

	for (uint32_t d = 0; d < t->n_dims; d++)
		if (!t->ne[d])
			return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
				"tensor '%s' has a zero dimension (ne[%u])",
				t->name, d);
	if (t->ne[0] % ti->block_elems)
		return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
			"tensor '%s': ne[0] = %llu is not a multiple of the %s block size %u",
			t->name, (unsigned long long)t->ne[0], ti->name,
			ti->block_elems);
	if (mbr_type_nbytes(&t->size, t->type, t->ne, t->n_dims) < 0)
		return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
			"tensor '%s': size of its shape overflows 64 bits",
			t->name);
	return 0;
}

/* Leaves the offset relative to the data section in t->offset. */
static int read_tensor_info(struct reader *r, struct mbr_tensor_info *t)
{
	size_t name_len;
	uint32_t type;
	int err;

	t->info_offset = r->pos;
	if ((err = read_name(r, &t->name, &name_len)) < 0 ||
	    (err = read_u32(r, &t->n_dims)) < 0)
		return err;
	if (strlen(t->name) != name_len)
		return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
			"tensor info %llu: name '%s' holds a NUL byte",
			(unsigned long long)r->index, t->name);
	if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
		return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
			"tensor '%s' has %u dimensions (GGUF allows 1 to %d)",
			t->name, t->n_dims, GGUF_MAX_DIMS);
	for (uint32_t d = 0; d < t->n_dims; d++)
		if ((err = read_uint(r, &t->ne[d], 8)) < 0)
			return err;
	if ((err = read_u32(r, &type)) < 0 ||
	    (err = read_uint(r, &t->offset, 8)) < 0)
		return err;
	/* Safetensors-only ids (100 and up) do not exist in GGUF. */
	if (type >= 100 || !mbr_type_get(type))
		return mbr_modelfile__error(r->mf, MBR_EUNSUPPORTED,
			"tensor '%s' has unknown type id %u", t->name, type);
	t->type = type;
	if ((err = check_shape(r, t)) < 0)
		return err;
	if (t->offset % r->mf->alignment)
		return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
			"tensor '%s' data offset %llu is not a multiple of the alignment %llu",
			t->name, (unsigned long long)t->offset,
			(unsigned long long)r->mf->alignment);
	return 0;
}

static int read_version(struct reader *r)
{
	uint32_t v;
	int err;

	if ((err = read_u32(r, &v)) < 0)
		return err;
	r->mf->version = v;
	if (v == 2 || v == 3)
		return 0;
	if (__builtin_bswap32(v) == 2 || __builtin_bswap32(v) == 3)
		return mbr_modelfile__error(r->mf, MBR_EUNSUPPORTED,
			"big-endian GGUF files are not supported");
	return mbr_modelfile__error(r->mf, MBR_EUNSUPPORTED,
		"GGUF version %u is not supported (only 2 and 3)", v);
}

/* Check both counts against the bytes left before allocating for them. */
static int read_counts(struct reader *r, uint64_t *n_tensors, uint64_t *n_kv)
{
	uint64_t room;
	int err;

	if ((err = read_uint(r, n_tensors, 8)) < 0 ||
	    (err = read_uint(r, n_kv, 8)) < 0)
		return err;
	if (*n_tensors > left(r) / GGUF_MIN_TENSOR_BYTES)
		return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
			"tensor count %llu cannot fit in the %llu bytes left",
			(unsigned long long)*n_tensors,
			(unsigned long long)left(r));
	room = left(r) - *n_tensors * GGUF_MIN_TENSOR_BYTES;
	if (*n_kv > room / GGUF_MIN_KV_BYTES)
		return mbr_modelfile__error(r->mf, MBR_ECORRUPT,
			"metadata count %llu cannot fit in the %llu bytes left",
			(unsigned long long)*n_kv,
			(unsigned long long)left(r));
	return 0;
}

static int read_header(struct reader *r)
{
	uint64_t n_tensors, n_kv;
	int err;

	r->what = "the header";
	r->pos = 4;	/* the magic, checked by the caller */
	if ((err = read_version(r)) < 0 ||
	    (err = read_counts(r, &n_tensors, &n_kv)) < 0)
		return err;
	if (n_kv) {
		r->mf->kv = calloc(n_kv, sizeof(*r->mf->kv));
		MBR_CHECK_ALLOC(r->mf->kv);
		r->mf->n_kv = n_kv;
	}
	if (n_tensors) {
		r->mf->tensors = calloc(n_tensors, sizeof(*r->mf->tensors));
		MBR_CHECK_ALLOC(r->mf->tensors);
		r->mf->n_tensors = n_tensors;
	}
	return 0;
}

/* Make tensor offsets absolute once the data section's start is known. */
static int place_data(struct reader *r, uint64_t header_end)
{
	struct mbr_modelfile *mf = r->mf;
	uint64_t end;

	if (MBR_ADD_OVERFLOW(&end, header_end, mf->alignment - 1))
		return mbr_modelfile__error(mf, MBR_ECORRUPT,
			"data section start overflows 64 bits");
	mf->data_offset = end & ~(mf->alignment - 1);
	/* Vocab-only files end right after the header, unpadded. */
	if (!mf->n_tensors && mf->data_offset > mf->size)
		mf->data_offset = mf->size;
	for (size_t i = 0; i < mf->n_tensors; i++) {
		struct mbr_tensor_info *t = &mf->tensors[i];

		if (MBR_ADD_OVERFLOW(&t->offset, t->offset, mf->data_offset))
			return mbr_modelfile__error(mf, MBR_ECORRUPT,
				"tensor '%s' data offset overflows 64 bits",
				t->name);
	}
	return 0;
}

int mbr_gguf__parse(struct mbr_modelfile *mf, uint64_t *header_end)
{
	struct reader r = { .mf = mf };
	int err;

	if ((err = read_header(&r)) < 0)
		return err;
	r.what = "metadata entry";
	r.indexed = 1;
	for (r.index = 0; r.index < mf->n_kv; r.index++) {
		r.name = NULL;
		if ((err = read_kv(&r, &mf->kv[r.index])) < 0)
			return err;
	}
	if ((err = find_alignment(mf)) < 0)
		return err;
	r.what = "tensor info";
	for (r.index = 0; r.index < mf->n_tensors; r.index++) {
		r.name = NULL;
		if ((err = read_tensor_info(&r, &mf->tensors[r.index])) < 0)
			return err;
	}
	*header_end = r.pos;
	return place_data(&r, r.pos);
}
