/*
 * safetensors.c - the safetensors parser (huggingface/safetensors README).
 *
 * Layout: a little-endian u64 N, N bytes of JSON, then the data. The JSON
 * object maps each tensor name to {"dtype", "shape", "data_offsets": [b, e]}
 * with offsets relative to the byte after the JSON; an optional
 * "__metadata__" entry maps strings to strings. jansson keeps the object's
 * key order, so tensors come out in the header's order.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "mbr/error.h"
#include "mbr/types.h"
#include "modelfile-internal.h"

/* The reference implementation refuses larger headers too. */
#define ST_MAX_HEADER (100u << 20)
#define ST_METADATA_KEY "__metadata__"

/* A non-negative JSON integer, as a u64. */
static int get_u64(uint64_t *out, const json_t *v)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int read_metadata(struct mbr_modelfile *mf, const json_t *meta)
{
	const char *key;
	json_t *v;
	size_t i = 0;

	if (!json_is_object(meta))
		return mbr_modelfile__error(mf, MBR_ECORRUPT,
			"%s is not a JSON object", ST_METADATA_KEY);
	if (!json_object_size(meta))
		return 0;
	mf->kv = calloc(json_object_size(meta), sizeof(*mf->kv));
	MBR_CHECK_ALLOC(mf->kv);
	mf->n_kv = json_object_size(meta);
	json_object_foreach((json_t *)meta, key, v) {
		struct mbr_kv *kv = &mf->kv[i++];

		if (!json_is_string(v))
			return mbr_modelfile__error(mf, MBR_ECORRUPT,
				"%s value of '%s' is not a string",
				ST_METADATA_KEY, key);
		/* jansson refuses NUL bytes in keys and strings. Positions
		 * in the JSON text are not known: value_offset/len stay 0. */
		kv->key_len = strlen(key);
		kv->key = mbr_modelfile__strndup(key, kv->key_len);
		kv->type = MBR_GGUF_STRING;
		kv->str_len = json_string_length(v);
		kv->str = mbr_modelfile__strndup(json_string_value(v),
						 kv->str_len);
		if (!kv->key || !kv->str) {
			mbr_error_oom();
			return MBR_ENOMEM;
		}
	}
	return 0;
}

static int read_dtype(struct mbr_modelfile *mf, struct mbr_tensor_info *t,
		      const json_t *dtype)
{
	const struct mbr_type_info *ti;

	if (!json_is_string(dtype))
		return mbr_modelfile__error(mf, MBR_ECORRUPT,
			"tensor '%s' has no string \"dtype\"", t->name);
	/* Safetensors dtypes are exactly the table's one-element types. */
	ti = mbr_type_by_name(json_string_value(dtype));
	if (!ti || ti->block_elems != 1)
		return mbr_modelfile__error(mf, MBR_EUNSUPPORTED,
			"tensor '%s' has unsupported dtype '%s'", t->name,
			json_string_value(dtype));
	t->type = ti->type;
	return 0;
}

/* ne[] is the shape reversed: ggml puts the fastest dimension first. */
static int read_shape(struct mbr_modelfile *mf, struct mbr_tensor_info *t,
		      const json_t *shape)
{
	size_t n = json_array_size(shape);

	if (!json_is_array(shape))
		return mbr_modelfile__error(mf, MBR_ECORRUPT,
			"tensor '%s' has no array \"shape\"", t->name);
	if (n > MBR_MAX_DIMS)
		return mbr_modelfile__error(mf, MBR_EUNSUPPORTED,
			"tensor '%s' has %zu dimensions (at most %d)",
			t->name, n, MBR_MAX_DIMS);
	t->n_dims = n;
	for (size_t i = 0; i < n; i++)
		if (get_u64(&t->ne[n - 1 - i], json_array_get(shape, i)) < 0)
			return mbr_modelfile__error(mf, MBR_ECORRUPT,
				"tensor '%s': shape[%zu] is not a non-negative integer",
				t->name, i);
	if (mbr_type_nbytes(&t->size, t->type, t->ne, t->n_dims) < 0)
		return mbr_modelfile__error(mf, MBR_ECORRUPT,
			"tensor '%s': size of its shape overflows 64 bits",
			t->name);
	return 0;
}

/* data_offsets must span exactly the shape's bytes; made absolute. */
static int read_offsets(struct mbr_modelfile *mf, struct mbr_tensor_info *t,
			const json_t *offsets, uint64_t data_start)
{
	uint64_t begin, end;

	if (json_array_size(offsets) != 2 ||
	    get_u64(&begin, json_array_get(offsets, 0)) < 0 ||
	    get_u64(&end, json_array_get(offsets, 1)) < 0)
		return mbr_modelfile__error(mf, MBR_ECORRUPT,
			"tensor '%s' has no \"data_offsets\" [begin, end] of non-negative integers",
			t->name);
	if (end < begin || end - begin != t->size)
		return mbr_modelfile__error(mf, MBR_ECORRUPT,
			"tensor '%s': data_offsets [%llu, %llu) hold %lld bytes, its dtype and shape need %llu",
			t->name, (unsigned long long)begin,
			(unsigned long long)end,
			(long long)(end - begin),
			(unsigned long long)t->size);
	/* begin < 2^63 and data_start <= 8 + ST_MAX_HEADER: no overflow */
	t->offset = data_start + begin;
	return 0;
}

static int read_tensor(struct mbr_modelfile *mf, struct mbr_tensor_info *t,
		       const char *name, const json_t *entry,
		       uint64_t data_start)
{
	int err;

	if (strlen(name) > MBR_MAX_NAME_LEN)
		return mbr_modelfile__error(mf, MBR_ECORRUPT,
			"tensor name of %zu bytes is longer than %d bytes",
			strlen(name), MBR_MAX_NAME_LEN);
	t->name = strdup(name);
	MBR_CHECK_ALLOC(t->name);
	if (!json_is_object(entry))
		return mbr_modelfile__error(mf, MBR_ECORRUPT,
			"tensor '%s' is not a JSON object", name);
	if ((err = read_dtype(mf, t, json_object_get(entry, "dtype"))) < 0 ||
	    (err = read_shape(mf, t, json_object_get(entry, "shape"))) < 0)
		return err;
	return read_offsets(mf, t, json_object_get(entry, "data_offsets"),
			    data_start);
}

static int read_entries(struct mbr_modelfile *mf, const json_t *root,
			uint64_t data_start)
{
	const json_t *meta = json_object_get(root, ST_METADATA_KEY);
	size_t n = json_object_size(root) - (meta != NULL);
	const char *key;
	json_t *v;
	size_t i = 0;
	int err;

	if (meta && (err = read_metadata(mf, meta)) < 0)
		return err;
	if (!n)
		return 0;
	mf->tensors = calloc(n, sizeof(*mf->tensors));
	MBR_CHECK_ALLOC(mf->tensors);
	mf->n_tensors = n;
	json_object_foreach((json_t *)root, key, v) {
		if (v == meta)
			continue;
		err = read_tensor(mf, &mf->tensors[i++], key, v, data_start);
		if (err < 0)
			return err;
	}
	return 0;
}

int mbr_safetensors__parse(struct mbr_modelfile *mf, uint64_t *header_end)
{
	uint64_t n = 0;
	json_error_t jerr;
	json_t *root;
	int err;

	for (int i = 7; i >= 0; i--)
		n = n << 8 | mf->data[i];
	if (n > mf->data_len - 8)
		return mbr_modelfile__error(mf, MBR_ECORRUPT,
			"header size %llu runs past the end of the file (size %llu)",
			(unsigned long long)n, (unsigned long long)mf->size);
	if (n > ST_MAX_HEADER)
		return mbr_modelfile__error(mf, MBR_EUNSUPPORTED,
			"header of %llu bytes is larger than %u bytes",
			(unsigned long long)n, ST_MAX_HEADER);
	root = json_loadb((const char *)mf->data + 8, n,
			  JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return mbr_modelfile__error(mf, MBR_ECORRUPT,
			"invalid JSON header at byte %llu: %s",
			(unsigned long long)(8 + jerr.position), jerr.text);
	if (!json_is_object(root))
		err = mbr_modelfile__error(mf, MBR_ECORRUPT,
			"JSON header is not an object");
	else
		err = read_entries(mf, root, 8 + n);
	json_decref(root);
	if (err < 0)
		return err;
	mf->version = 0;
	mf->alignment = 1;
	mf->data_offset = 8 + n;
	*header_end = 8 + n;
	return 0;
}
