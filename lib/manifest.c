/*
 * manifest.c - build, write and parse manifests (mbr.manifest/1, jansson).
 *
 * The canonical text is one JSON object written one member per line, with
 * the metadata, tensors and layout arrays one element per line, so that a
 * `git diff` of two versions reads as a list of what changed. Manifests come
 * back from a user-editable git repository, so parsing checks every field's
 * type and range and that the redundant parts (summary, tensor sizes,
 * layout) agree with one another.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mbr/error.h"
#include "mbr/manifest.h"
#include "mbr/types.h"

#define DUMP_FLAGS (JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_ENCODE_ANY)
/* Arrays with at most this many elements are listed in full. */
#define META_VALUES_MAX 64

/* How each GGUF value type is held in struct mbr_kv and in JSON. */
enum { K_UINT, K_INT, K_FLOAT, K_BOOL, K_STRING, K_ARRAY };
static const struct {
	unsigned char kind, size;
} gguf_types[] = {
	[MBR_GGUF_UINT8] = { K_UINT, 1 },	[MBR_GGUF_INT8] = { K_INT, 1 },
	[MBR_GGUF_UINT16] = { K_UINT, 2 },	[MBR_GGUF_INT16] = { K_INT, 2 },
	[MBR_GGUF_UINT32] = { K_UINT, 4 },	[MBR_GGUF_INT32] = { K_INT, 4 },
	[MBR_GGUF_FLOAT32] = { K_FLOAT, 4 },	[MBR_GGUF_BOOL] = { K_BOOL, 1 },
	[MBR_GGUF_STRING] = { K_STRING, 0 },	[MBR_GGUF_ARRAY] = { K_ARRAY, 0 },
	[MBR_GGUF_UINT64] = { K_UINT, 8 },	[MBR_GGUF_INT64] = { K_INT, 8 },
	[MBR_GGUF_FLOAT64] = { K_FLOAT, 8 },
};

static int gguf_type_valid(int type)
{
	return type >= 0 && (size_t)type < MBR_ARRAY_SIZE(gguf_types);
}

static int gguf_type_by_name(const char *name)
{
	for (int t = 0; gguf_type_valid(t); t++) {
		const char *n = mbr_gguf_type_name(t);

		if (n && !strcmp(n, name))
			return t;
	}
	return -1;
}

static int oom(void)
{
	mbr_error_oom();
	return MBR_ENOMEM;
}

__attribute__((format(printf, 2, 3)))
static int fail(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mbr_error_set(MBR_ERROR_MANIFEST, "%s", msg);
	return code;
}

static json_t *oid_json(const struct mbr_oid *id)
{
	char str[MBR_OID_STRSZ];

	return json_string(mbr_oid_fmt(str, id));
}

/*
 * A string as JSON: 0 with *out set, 1 when the bytes are not valid UTF-8,
 * MBR_ENOMEM. json_stringn fails alike on bad UTF-8 and on OOM; the
 * unchecked copy tells the two apart.
 */
static int utf8_json(json_t **out, const char *s, size_t len)
{
	json_t *probe;

	if ((*out = json_stringn(s, len)))
		return 0;
	if (!(probe = json_stringn_nocheck(s, len)))
		return oom();
	json_decref(probe);
	return 1;
}

/*
 * Metadata values. Builders shared by the add path (values from a parsed
 * file) and the parse path (values read back from JSON, then rebuilt), so
 * both produce the same canonical entries.
 */

static json_t *float_json(double f)
{
	if (isnan(f))
		return json_string("nan");
	if (isinf(f))
		return json_string(f > 0 ? "inf" : "-inf");
	return json_real(f);
}

/* A scalar (not string, not array) value of kv->type as JSON. */
static json_t *scalar_json(const struct mbr_kv *kv)
{
	switch (gguf_types[kv->type].kind) {
	case K_UINT:
		/* json integers are signed 64-bit */
		if (kv->v.u > INT64_MAX)
			return json_sprintf("%" PRIu64, kv->v.u);
		return json_integer((json_int_t)kv->v.u);
	case K_INT:
		return json_integer(kv->v.i);
	case K_BOOL:
		return json_boolean(kv->v.u);
	default:
		return float_json(kv->v.f);
	}
}

static json_t *scalar_entry(json_t *key, const struct mbr_kv *kv)
{
	return json_pack("{s:o, s:s, s:o}", "key", key,
			 "type", mbr_gguf_type_name(kv->type),
			 "value", scalar_json(kv));
}

static json_t *hex_json(const unsigned char *s, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = malloc(2 * len + 1);
	json_t *j;

	if (!hex)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[s[i] >> 4];
		hex[2 * i + 1] = digits[s[i] & 15];
	}
	j = json_stringn_nocheck(hex, 2 * len);
	free(hex);
	return j;
}

/* Key and string value; bytes that are not UTF-8 go in "hex" instead. */
static int string_entry(json_t **out, json_t *key, const char *s, size_t len)
{
	json_t *v;
	int err = utf8_json(&v, s, len);

	if (err < 0) {
		json_decref(key);
		return err;
	}
	*out = json_pack("{s:o, s:s, s:o}", "key", key, "type", "string",
			 err ? "hex" : "value",
			 err ? hex_json((const unsigned char *)s, len) : v);
	return *out ? 0 : oom();
}

static json_t *array_entry(json_t *key, int elem_type, uint64_t count,
			   const struct mbr_oid *digest, json_t *values)
{
	return json_pack("{s:o, s:s, s:s, s:I, s:o, s:o*}", "key", key,
			 "type", "array",
			 "elem_type", mbr_gguf_type_name(elem_type),
			 "count", (json_int_t)count, "digest", oid_json(digest),
			 "values", values);
}

/* Little-endian reads from a modelfile's bytes, bounded by left. */
struct cursor {
	const unsigned char *p;
	uint64_t left;
};

static int read_le(uint64_t *out, struct cursor *c, unsigned n)
{
	if (c->left < n)
		return -1;
	*out = 0;
	for (unsigned i = 0; i < n; i++)
		*out |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	c->left -= n;
	return 0;
}

static void scalar_from_bits(struct mbr_kv *kv, uint64_t bits)
{
	unsigned size = gguf_types[kv->type].size;
	uint32_t b32 = (uint32_t)bits;
	float f32;

	switch (gguf_types[kv->type].kind) {
	case K_INT:
		kv->v.i = (int64_t)bits;
		/* sign-extend from size bytes */
		if (size < 8 && bits >> (8 * size - 1))
			kv->v.i -= INT64_C(1) << (8 * size);
		break;
	case K_FLOAT:
		if (size == 4) {
			memcpy(&f32, &b32, 4);
			kv->v.f = f32;
		} else {
			memcpy(&kv->v.f, &bits, 8);
		}
		break;
	case K_BOOL:
		kv->v.u = bits != 0;
		break;
	default:
		kv->v.u = bits;
	}
}

/*
 * One element of a scalar or string array. Strings that are not UTF-8
 * are listed as null: the array's digest still pins their bytes.
 * Returns 0, -1 when the bytes run out, or MBR_ENOMEM.
 */
static int decode_element(json_t **out, int type, struct cursor *c)
{
	struct mbr_kv el = { .type = type };
	uint64_t bits;
	int err;

	if (type != MBR_GGUF_STRING) {
		if (read_le(&bits, c, gguf_types[type].size))
			return -1;
		scalar_from_bits(&el, bits);
		return (*out = scalar_json(&el)) ? 0 : oom();
	}
	if (read_le(&bits, c, 8) || bits > c->left)
		return -1;
	err = utf8_json(out, (const char *)c->p, bits);
	c->p += bits;
	c->left -= bits;
	if (err == 1)
		*out = json_null();
	return err < 0 ? err : 0;
}

static int array_values(json_t **out, const struct mbr_modelfile *mf,
			const struct mbr_kv *kv)
{
	struct cursor c = { mf->data + kv->value_offset, kv->value_len };
	json_t *values = json_array();

	if (!values)
		return oom();
	for (uint64_t i = 0; i < kv->count; i++) {
		json_t *v = json_null();
		int err = 0;

		/* nested arrays are described only by the digest */
		if (kv->elem_type != MBR_GGUF_ARRAY)
			err = decode_element(&v, kv->elem_type, &c);
		if (!err && json_array_append_new(values, v))
			err = oom();
		if (err) {
			json_decref(values);
			return err != -1 ? err : fail(MBR_ECORRUPT,
				"%s: metadata %s: array elements overrun their bytes",
				mf->path, kv->key);
		}
	}
	*out = values;
	return 0;
}

static int meta_entry(json_t **out, const struct mbr_modelfile *mf,
		      const struct mbr_kv *kv)
{
	json_t *key, *values = NULL;
	struct mbr_oid digest;
	int err;

	if (!gguf_type_valid(kv->type) ||
	    (kv->type == MBR_GGUF_ARRAY && !gguf_type_valid(kv->elem_type)))
		return fail(MBR_EINVALID, "%s: metadata %s has an unknown type",
			    mf->path, kv->key);
	err = utf8_json(&key, kv->key, kv->key_len);
	if (err == 1)
		return fail(MBR_EUNSUPPORTED, "%s: a metadata key is not valid UTF-8",
			    mf->path);
	if (err)
		return err;

	if (kv->type == MBR_GGUF_STRING)
		return string_entry(out, key, kv->str, kv->str_len);
	if (kv->type != MBR_GGUF_ARRAY)
		return (*out = scalar_entry(key, kv)) ? 0 : oom();

	if (kv->value_offset > mf->size || kv->value_len > mf->size - kv->value_offset) {
		json_decref(key);
		return fail(MBR_EINVALID, "%s: metadata %s lies beyond the end of the file",
			    mf->path, kv->key);
	}
	if (kv->count <= META_VALUES_MAX && (err = array_values(&values, mf, kv))) {
		json_decref(key);
		return err;
	}
	mbr_sha256(&digest, mf->data + kv->value_offset, kv->value_len);
	*out = array_entry(key, kv->elem_type, kv->count, &digest, values);
	return *out ? 0 : oom();
}

/* The metadata entry for key; NULL when absent. */
static json_t *find_entry(const json_t *metadata, const char *key)
{
	size_t i, len = strlen(key);
	json_t *e;

	json_array_foreach(metadata, i, e) {
		json_t *k = json_object_get(e, "key");

		if (json_string_length(k) == len &&
		    !memcmp(json_string_value(k), key, len))
			return e;
	}
	return NULL;
}

/* A string-typed metadata value as a C string (no NUL inside), or NULL. */
static const char *meta_cstring(const json_t *metadata, const char *key)
{
	json_t *e = find_entry(metadata, key), *v;

	if (!e || strcmp(json_string_value(json_object_get(e, "type")), "string"))
		return NULL;
	v = json_object_get(e, "value");
	if (!v || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* Element count of every tensor together; 1 on overflow. */
static int count_params(uint64_t *out, const struct mbr_manifest *m)
{
	*out = 0;
	for (size_t i = 0; i < m->n_tensors; i++) {
		const struct mbr_manifest_tensor *t = &m->tensors[i];
		uint64_t n = 1;

		for (uint32_t d = 0; d < t->n_dims; d++)
			if (MBR_MUL_OVERFLOW(&n, n, t->ne[d]))
				return 1;
		if (MBR_ADD_OVERFLOW(out, *out, n))
			return 1;
	}
	return 0;
}

/* The summary fields, derived from metadata and tensors. */
static int summarise(struct mbr_manifest *m, const char *what)
{
	const char *arch = meta_cstring(m->metadata, "general.architecture");
	const char *name = meta_cstring(m->metadata, "general.name");
	const char *tok = meta_cstring(m->metadata, "tokenizer.ggml.model");

	if (count_params(&m->n_params, m))
		return fail(MBR_ECORRUPT, "%s: the parameter count overflows", what);
	if ((arch && !(m->architecture = strdup(arch))) ||
	    (name && !(m->model_name = strdup(name))) ||
	    (tok && !(m->tokenizer = strdup(tok))))
		return oom();
	return 0;
}

/*
 * Building from a parsed model file.
 */

static int build_metadata(struct mbr_manifest *m, const struct mbr_modelfile *mf)
{
	if (!(m->metadata = json_array()))
		return oom();
	for (size_t i = 0; i < mf->n_kv; i++) {
		json_t *e;
		int err = meta_entry(&e, mf, &mf->kv[i]);

		if (err)
			return err;
		if (json_array_append_new(m->metadata, e))
			return oom();
	}
	return 0;
}

static int build_tensors(struct mbr_manifest *m, const struct mbr_modelfile *mf)
{
	if (mf->n_tensors && !(m->tensors = calloc(mf->n_tensors, sizeof(*m->tensors))))
		return oom();
	m->n_tensors = mf->n_tensors;
	for (size_t i = 0; i < mf->n_tensors; i++) {
		const struct mbr_tensor_info *ti = &mf->tensors[i];
		struct mbr_manifest_tensor *t = &m->tensors[i];
		json_t *probe;
		int err;

		err = utf8_json(&probe, ti->name, strlen(ti->name));
		if (err == 1)
			return fail(MBR_EUNSUPPORTED,
				    "%s: tensor %zu's name is not valid UTF-8", mf->path, i);
		if (err)
			return err;
		json_decref(probe);
		if (!mbr_type_get(ti->type) || ti->n_dims > MBR_MAX_DIMS)
			return fail(MBR_EINVALID,
				    "%s: tensor %s has an unknown type or too many dimensions",
				    mf->path, ti->name);
		MBR_CHECK_ALLOC(t->name = strdup(ti->name));
		t->type = ti->type;
		t->n_dims = ti->n_dims;
		memcpy(t->ne, ti->ne, sizeof(t->ne));
		t->offset = ti->offset;
		t->size = ti->size;
	}
	return 0;
}

/* Give tensor t the chunk ids the store wrote for its region. */
static int take_chunks(struct mbr_manifest_tensor *t, const struct mbr_region_store *rs,
		       const char *path)
{
	uint64_t cs = rs->n_ids == 1 ? t->size : rs->chunk_size;

	if (t->chunks || !rs->n_ids || (rs->n_ids > 1 && (!cs ||
	    rs->n_ids != t->size / cs + !!(t->size % cs))))
		return fail(MBR_EINVALID,
			    "%s: tensor %s: the stored chunks do not fit the tensor",
			    path, t->name);
	MBR_CHECK_ALLOC(t->chunks = malloc(rs->n_ids * sizeof(*t->chunks)));
	memcpy(t->chunks, rs->ids, rs->n_ids * sizeof(*t->chunks));
	t->n_chunks = rs->n_ids;
	t->chunk_size = cs;
	return 0;
}

/*
 * One segment per region. The regions must tile the file and tensors must
 * sit where their offsets say, which is what mbr_manifest_parse will demand
 * of the text written from this manifest.
 */
static int build_segment(struct mbr_manifest *m, size_t i,
			 const struct mbr_modelfile *mf,
			 const struct mbr_region_store *rs)
{
	const struct mbr_region *r = &mf->regions[i];
	struct mbr_manifest_segment *s = &m->segments[i];

	s->size = r->len;
	if (r->kind == MBR_REGION_TENSOR) {
		if (r->index >= m->n_tensors || m->tensors[r->index].size != r->len ||
		    m->tensors[r->index].offset != r->offset)
			return fail(MBR_EINVALID, "%s: region %zu does not match its tensor",
				    mf->path, i);
		s->kind = MBR_SEG_TENSOR;
		s->tensor = r->index;
		return take_chunks(&m->tensors[r->index], rs, mf->path);
	}
	if (rs->zeros) {
		s->kind = MBR_SEG_ZEROS;
	} else if (rs->n_ids == 1) {
		s->kind = MBR_SEG_OBJECT;
		s->id = rs->ids[0];
	} else {
		return fail(MBR_EINVALID, "%s: region %zu has no object", mf->path, i);
	}
	return 0;
}

static int build_layout(struct mbr_manifest *m, const struct mbr_modelfile *mf,
			const struct mbr_region_store *regions)
{
	uint64_t pos = 0;

	if (mf->n_regions && !(m->segments = calloc(mf->n_regions, sizeof(*m->segments))))
		return oom();
	m->n_segments = mf->n_regions;
	for (size_t i = 0; i < mf->n_regions; i++) {
		int err;

		if (mf->regions[i].offset != pos)
			return fail(MBR_EINVALID, "%s: region %zu is not where the last ended",
				    mf->path, i);
		if ((err = build_segment(m, i, mf, &regions[i])))
			return err;
		pos += mf->regions[i].len;
	}
	if (pos != mf->size)
		return fail(MBR_EINVALID, "%s: the regions do not cover the file", mf->path);
	for (size_t i = 0; i < m->n_tensors; i++)
		if (!m->tensors[i].chunks)
			return fail(MBR_EINVALID, "%s: tensor %s has no region", mf->path,
				    m->tensors[i].name);
	return 0;
}

int mbr_manifest_from_modelfile(struct mbr_manifest **out,
				const struct mbr_modelfile *mf,
				const struct mbr_region_store *regions,
				const struct mbr_oid *file_sha256,
				const char *license)
{
	struct mbr_manifest *m = calloc(1, sizeof(*m));
	int err;

	*out = NULL;
	MBR_CHECK_ALLOC(m);
	m->format = mf->format;
	m->format_version = mf->version;
	m->alignment = mf->alignment;
	m->file_sha256 = *file_sha256;
	m->file_size = mf->size;
	if (license && !(m->license = strdup(license)))
		err = oom();
	else if (!(err = build_metadata(m, mf)) && !(err = build_tensors(m, mf)) &&
		 !(err = build_layout(m, mf, regions)))
		err = summarise(m, mf->path);
	if (err) {
		mbr_manifest_free(m);
		return err;
	}
	*out = m;
	return 0;
}

/*
 * Writing.
 */

static const char *format_name(int format)
{
	return format == MBR_FORMAT_GGUF ? "gguf" :
		format == MBR_FORMAT_SAFETENSORS ? "safetensors" : NULL;
}

static int cmp_type_names(const void *a, const void *b)
{
	return strcmp((*(const struct mbr_type_info *const *)a)->name,
		      (*(const struct mbr_type_info *const *)b)->name);
}

/* {"F32": n, "Q8_0": n, ...}, sorted by type name. */
static json_t *tensor_types_json(const struct mbr_manifest *m)
{
	/* type ids are below 128 (types.h) */
	const struct mbr_type_info *seen[128];
	size_t counts[128] = { 0 }, n = 0;
	json_t *obj = json_object();

	for (size_t i = 0; i < m->n_tensors && obj; i++) {
		const struct mbr_type_info *ti = mbr_type_get(m->tensors[i].type);

		if (!ti || (size_t)ti->type >= MBR_ARRAY_SIZE(counts)) {
			json_decref(obj);
			return NULL;
		}
		if (!counts[ti->type]++)
			seen[n++] = ti;
	}
	qsort(seen, n, sizeof(*seen), cmp_type_names);
	for (size_t i = 0; i < n && obj; i++) {
		if (json_object_set_new(obj, seen[i]->name,
					json_integer((json_int_t)counts[seen[i]->type]))) {
			json_decref(obj);
			obj = NULL;
		}
	}
	return obj;
}

static json_t *summary_json(const struct mbr_manifest *m)
{
	return json_pack("{s:s?, s:s?, s:s?, s:I, s:o, s:I}",
			 "architecture", m->architecture, "name", m->model_name,
			 "tokenizer", m->tokenizer,
			 "parameters", (json_int_t)m->n_params,
			 "tensor_types", tensor_types_json(m),
			 "tensors", (json_int_t)m->n_tensors);
}

static json_t *head_json(const struct mbr_manifest *m)
{
	char id[MBR_OID_STRSZ];

	return json_pack("{s:s, s:s, s:I, s:I, s:{s:s, s:I}, s:s?, s:o}",
			 "schema", MBR_MANIFEST_SCHEMA,
			 "format", format_name(m->format),
			 "format_version", (json_int_t)m->format_version,
			 "alignment", (json_int_t)m->alignment,
			 "file", "sha256", mbr_oid_fmt(id, &m->file_sha256),
			 "size", (json_int_t)m->file_size,
			 "license", m->license, "summary", summary_json(m));
}

static json_t *meta_json(const struct mbr_manifest *m, size_t i)
{
	return json_incref(json_array_get(m->metadata, i));
}

static json_t *tensor_json(const struct mbr_manifest *m, size_t i)
{
	const struct mbr_manifest_tensor *t = &m->tensors[i];
	const struct mbr_type_info *ti = mbr_type_get(t->type);
	json_t *shape = json_array(), *objects = json_array();

	for (uint32_t d = 0; d < t->n_dims; d++)
		json_array_append_new(shape, json_integer((json_int_t)t->ne[d]));
	for (size_t c = 0; c < t->n_chunks; c++)
		json_array_append_new(objects, oid_json(&t->chunks[c]));
	/* an append that failed for lack of memory shows as a short array */
	if (json_array_size(shape) != t->n_dims || json_array_size(objects) != t->n_chunks) {
		json_decref(shape);
		json_decref(objects);
		return NULL;
	}
	if (t->n_chunks == 1) {
		json_decref(objects);
		return json_pack("{s:s, s:s, s:o, s:I, s:I, s:o}", "name", t->name,
				 "type", ti ? ti->name : NULL, "shape", shape,
				 "offset", (json_int_t)t->offset,
				 "size", (json_int_t)t->size,
				 "object", oid_json(&t->chunks[0]));
	}
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:o}", "name", t->name,
			 "type", ti ? ti->name : NULL, "shape", shape,
			 "offset", (json_int_t)t->offset, "size", (json_int_t)t->size,
			 "chunk_size", (json_int_t)t->chunk_size, "objects", objects);
}

static json_t *segment_json(const struct mbr_manifest *m, size_t i)
{
	const struct mbr_manifest_segment *s = &m->segments[i];

	switch (s->kind) {
	case MBR_SEG_OBJECT:
		return json_pack("{s:o, s:I}", "object", oid_json(&s->id),
				 "size", (json_int_t)s->size);
	case MBR_SEG_ZEROS:
		return json_pack("{s:I}", "zeros", (json_int_t)s->size);
	default:
		return json_pack("{s:I}", "tensor", (json_int_t)s->tensor);
	}
}

/* Append v's compact text; v is consumed. */
static int add_json(struct strbuf *sb, json_t *v)
{
	char *text = v ? json_dumps(v, DUMP_FLAGS) : NULL;

	json_decref(v);
	if (!text)
		return fail(MBR_ENOMEM, "cannot encode manifest: out of memory or invalid field");
	strbuf_addstr(sb, text);
	free(text);
	return 0;
}

/* "key":[ then one element per line, then ] */
static int add_array(struct strbuf *sb, const char *key, size_t n,
		     json_t *(*elem)(const struct mbr_manifest *, size_t),
		     const struct mbr_manifest *m)
{
	strbuf_addf(sb, "\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		int err;

		strbuf_addstr(sb, i ? ",\n" : "\n");
		if ((err = add_json(sb, elem(m, i))))
			return err;
	}
	strbuf_addstr(sb, n ? "\n]" : "]");
	return 0;
}

int mbr_manifest_write_json(struct strbuf *out, const struct mbr_manifest *m)
{
	json_t *head = head_json(m), *v;
	const char *key;
	int err = 0;

	if (!head)
		return add_json(out, NULL);
	strbuf_addstr(out, "{\n");
	json_object_foreach(head, key, v) {
		strbuf_addf(out, "\"%s\":", key);
		if ((err = add_json(out, json_incref(v))))
			break;
		strbuf_addstr(out, ",\n");
	}
	json_decref(head);
	if (err || (err = add_array(out, "metadata", json_array_size(m->metadata), meta_json, m)))
		return err;
	strbuf_addstr(out, ",\n");
	if ((err = add_array(out, "tensors", m->n_tensors, tensor_json, m)))
		return err;
	strbuf_addstr(out, ",\n");
	if ((err = add_array(out, "layout", m->n_segments, segment_json, m)))
		return err;
	strbuf_addstr(out, "\n}\n");
	return 0;
}

/*
 * Parsing. Every failure names the source and the field, e.g.
 * "tiny:manifest.json: tensors[3].size does not match its type and shape".
 */

struct parser {
	const char *what;
	struct mbr_manifest *m;
};

__attribute__((format(printf, 2, 3)))
static int corrupt(const struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fail(MBR_ECORRUPT, "%s: %s", p->what, msg);
}

/* "where.key", or "key" at the top level, for messages. */
static const char *field(char *buf, size_t size, const char *where, const char *key)
{
	snprintf(buf, size, "%s%s%s", where, *where ? "." : "", key);
	return buf;
}
#define FIELD(where, key) field((char[128]){ 0 }, 128, where, key)

/* Every member of obj must be one of allowed (NULL-terminated). */
static int check_keys(const struct parser *p, const json_t *obj, const char *where,
		      const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		const char *const *a = allowed;

		while (*a && strcmp(*a, key))
			a++;
		if (!*a)
			return corrupt(p, "%s is not a known field", FIELD(where, key));
	}
	return 0;
}

static int get(json_t **out, const struct parser *p, const json_t *obj,
	       const char *where, const char *key)
{
	if (!(*out = json_object_get(obj, key)))
		return corrupt(p, "%s is missing", FIELD(where, key));
	return 0;
}

static int get_typed(json_t **out, const struct parser *p, const json_t *obj,
		     const char *where, const char *key, json_type type)
{
	static const char *const names[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array"
	};
	int err = get(out, p, obj, where, key);

	if (!err && json_typeof(*out) != type)
		return corrupt(p, "%s is not %s", FIELD(where, key), names[type]);
	return err;
}

static int as_u64(uint64_t *out, const struct parser *p, const json_t *v,
		  const char *where, const char *key)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return corrupt(p, "%s is not a non-negative integer", FIELD(where, key));
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_u64(uint64_t *out, const struct parser *p, const json_t *obj,
		   const char *where, const char *key)
{
	json_t *v;
	int err = get(&v, p, obj, where, key);

	return err ? err : as_u64(out, p, v, where, key);
}

/* A string without NUL bytes; *out is NULL for a null when nullable. */
static int get_str(const char **out, const struct parser *p, const json_t *obj,
		   const char *where, const char *key, int nullable)
{
	json_t *v;
	int err = get(&v, p, obj, where, key);

	if (err)
		return err;
	*out = NULL;
	if (nullable && json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return corrupt(p, "%s is not a string", FIELD(where, key));
	*out = json_string_value(v);
	return 0;
}

static int as_oid(struct mbr_oid *out, const struct parser *p, const json_t *v,
		  const char *where, const char *key)
{
	const char *s = json_string_value(v);

	if (!s || strncmp(s, "sha256:", 7) || strlen(s) != MBR_OID_STRSZ - 1 ||
	    mbr_oid_parse(out, s))
		return corrupt(p, "%s is not a sha256:<hex> id", FIELD(where, key));
	return 0;
}

static int get_oid(struct mbr_oid *out, const struct parser *p, const json_t *obj,
		   const char *where, const char *key)
{
	json_t *v;
	int err = get(&v, p, obj, where, key);

	return err ? err : as_oid(out, p, v, where, key);
}

/* A canonical decimal uint64 above INT64_MAX (how larger values are written). */
static int big_u64(uint64_t *out, const char *s)
{
	size_t len = strlen(s);
	char *end;

	if (!len || len > 20 || s[0] == '0' || strspn(s, "0123456789") != len)
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *out <= INT64_MAX ? -1 : 0;
}

/* Read a scalar of kv->type back from JSON; -1 when v is not one. */
static int scalar_parse(struct mbr_kv *kv, const json_t *v)
{
	unsigned bits = 8 * gguf_types[kv->type].size;
	const char *s = json_string_value(v);
	json_int_t i = json_integer_value(v);

	switch (gguf_types[kv->type].kind) {
	case K_UINT:
		if (bits == 64 && s)
			return big_u64(&kv->v.u, s);
		if (!json_is_integer(v) || i < 0 || (bits < 64 && i >> bits))
			return -1;
		kv->v.u = (uint64_t)i;
		return 0;
	case K_INT:
		if (!json_is_integer(v) || (bits < 64 &&
		    (i < -(INT64_C(1) << (bits - 1)) || i >= INT64_C(1) << (bits - 1))))
			return -1;
		kv->v.i = i;
		return 0;
	case K_BOOL:
		kv->v.u = json_is_true(v);
		return json_is_boolean(v) ? 0 : -1;
	default:
		if (s) {
			kv->v.f = !strcmp(s, "nan") ? NAN : !strcmp(s, "inf") ? INFINITY :
				!strcmp(s, "-inf") ? -INFINITY : 0;
			return isfinite(kv->v.f) ? -1 : 0;
		}
		kv->v.f = json_real_value(v);
		/* a float32 must be exactly representable as one */
		if (!json_is_real(v) || (bits == 32 && (fabs(kv->v.f) > FLT_MAX ||
		    (double)(float)kv->v.f != kv->v.f)))
			return -1;
		return 0;
	}
}

static int hex_digit(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int parse_string_entry(json_t **out, const struct parser *p, const json_t *e,
			      const char *where, json_t *key)
{
	static const char *const keys[] = { "key", "type", "value", "hex", NULL };
	json_t *v = json_object_get(e, "value"), *hex = json_object_get(e, "hex");
	const char *h = json_string_value(hex);
	size_t len = json_string_length(hex);
	unsigned char *bytes;
	int err;

	if ((err = check_keys(p, e, where, keys)))
		return err;
	if (json_is_string(v) && !hex)
		return string_entry(out, json_incref(key), json_string_value(v),
				    json_string_length(v));
	if (v || !h || len % 2)
		return corrupt(p, "%s needs a string value or an even-length hex", where);
	MBR_CHECK_ALLOC(bytes = malloc(len / 2 + 1));
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_digit(h[2 * i]), lo = hex_digit(h[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(bytes);
			return corrupt(p, "%s is not lowercase hex", FIELD(where, "hex"));
		}
		bytes[i] = (unsigned char)(hi << 4 | lo);
	}
	err = string_entry(out, json_incref(key), (const char *)bytes, len / 2);
	free(bytes);
	return err;
}

static int parse_array_values(json_t **out, const struct parser *p, const json_t *e,
			      const char *where, int elem_type, uint64_t count)
{
	json_t *values = json_object_get(e, "values"), *v;
	size_t i;

	*out = NULL;
	if (count > META_VALUES_MAX)
		return values ? corrupt(p, "%s is listed for more than %d elements",
					FIELD(where, "values"), META_VALUES_MAX) : 0;
	if (!json_is_array(values) || json_array_size(values) != count)
		return corrupt(p, "%s is not an array of count elements", FIELD(where, "values"));
	MBR_CHECK_ALLOC(*out = json_array());
	json_array_foreach(values, i, v) {
		struct mbr_kv el = { .type = elem_type };
		json_t *nv;

		if (elem_type == MBR_GGUF_ARRAY ? !json_is_null(v) :
		    elem_type == MBR_GGUF_STRING ? !json_is_string(v) && !json_is_null(v) :
		    scalar_parse(&el, v)) {
			json_decref(*out);
			return corrupt(p, "%s.values[%zu] is not a valid %s", where, i,
				       mbr_gguf_type_name(elem_type));
		}
		nv = elem_type == MBR_GGUF_ARRAY || elem_type == MBR_GGUF_STRING ?
			json_incref(v) : scalar_json(&el);
		if (json_array_append_new(*out, nv)) {
			json_decref(*out);
			return oom();
		}
	}
	return 0;
}

static int parse_array_entry(json_t **out, const struct parser *p, const json_t *e,
			     const char *where, json_t *key)
{
	static const char *const keys[] = {
		"key", "type", "elem_type", "count", "digest", "values", NULL
	};
	const char *elem_name;
	struct mbr_oid digest;
	json_t *values;
	uint64_t count;
	int elem_type, err;

	if ((err = check_keys(p, e, where, keys)) ||
	    (err = get_str(&elem_name, p, e, where, "elem_type", 0)) ||
	    (err = get_u64(&count, p, e, where, "count")) ||
	    (err = get_oid(&digest, p, e, where, "digest")))
		return err;
	if ((elem_type = gguf_type_by_name(elem_name)) < 0)
		return corrupt(p, "%s '%s' is not a metadata type",
			       FIELD(where, "elem_type"), elem_name);
	if ((err = parse_array_values(&values, p, e, where, elem_type, count)))
		return err;
	*out = array_entry(json_incref(key), elem_type, count, &digest, values);
	return *out ? 0 : oom();
}

/* Validate one metadata entry and rebuild it in canonical form. */
static int parse_meta_entry(json_t **out, const struct parser *p, const json_t *e, size_t i)
{
	static const char *const keys[] = { "key", "type", "value", NULL };
	char where[48];
	const char *type_name;
	struct mbr_kv kv = { 0 };
	json_t *key, *v;
	int err;

	snprintf(where, sizeof(where), "metadata[%zu]", i);
	if (!json_is_object(e))
		return corrupt(p, "%s is not an object", where);
	if ((err = get(&key, p, e, where, "key")) ||
	    (err = get_str(&type_name, p, e, where, "type", 0)))
		return err;
	if (!json_is_string(key))
		return corrupt(p, "%s is not a string", FIELD(where, "key"));
	if ((kv.type = gguf_type_by_name(type_name)) < 0)
		return corrupt(p, "%s '%s' is not a metadata type",
			       FIELD(where, "type"), type_name);
	if (kv.type == MBR_GGUF_STRING)
		return parse_string_entry(out, p, e, where, key);
	if (kv.type == MBR_GGUF_ARRAY)
		return parse_array_entry(out, p, e, where, key);
	if ((err = check_keys(p, e, where, keys)) ||
	    (err = get(&v, p, e, where, "value")))
		return err;
	if (scalar_parse(&kv, v))
		return corrupt(p, "%s is not a valid %s", FIELD(where, "value"), type_name);
	return (*out = scalar_entry(json_incref(key), &kv)) ? 0 : oom();
}

static int parse_metadata(const struct parser *p, const json_t *root)
{
	json_t *arr, *e;
	size_t i;
	int err = get_typed(&arr, p, root, "", "metadata", JSON_ARRAY);

	if (err)
		return err;
	json_t *seen = json_object();

	MBR_CHECK_ALLOC(seen);
	MBR_CHECK_ALLOC(p->m->metadata = json_array());
	json_array_foreach(arr, i, e) {
		json_t *entry;
		const char *key;

		if ((err = parse_meta_entry(&entry, p, e, i)))
			break;
		/* lookups take the first entry of a key: a second would be invisible */
		key = json_string_value(json_object_get(entry, "key"));
		if (json_object_get(seen, key)) {
			json_decref(entry);
			err = corrupt(p, "metadata[%zu].key '%s' appears twice", i, key);
			break;
		}
		if (json_object_set_new(seen, key, json_true()) ||
		    json_array_append_new(p->m->metadata, entry)) {
			err = oom();
			break;
		}
	}
	json_decref(seen);
	return err;
}

static int parse_ids(const struct parser *p, struct mbr_manifest_tensor *t,
		     const json_t *arr, const char *where)
{
	char key[32];
	json_t *v;
	size_t i;

	MBR_CHECK_ALLOC(t->chunks = calloc(json_array_size(arr), sizeof(*t->chunks)));
	t->n_chunks = json_array_size(arr);
	json_array_foreach(arr, i, v) {
		int err;

		snprintf(key, sizeof(key), "objects[%zu]", i);
		if ((err = as_oid(&t->chunks[i], p, v, where, key)))
			return err;
	}
	return 0;
}

/* "object" for a one-chunk tensor, else "chunk_size" and "objects". */
static int parse_chunks(const struct parser *p, struct mbr_manifest_tensor *t,
			const json_t *j, const char *where)
{
	json_t *one = json_object_get(j, "object"), *many = json_object_get(j, "objects");
	uint64_t want;
	int err;

	if (one && !many && !json_object_get(j, "chunk_size")) {
		MBR_CHECK_ALLOC(t->chunks = calloc(1, sizeof(*t->chunks)));
		t->n_chunks = 1;
		t->chunk_size = t->size;
		return as_oid(t->chunks, p, one, where, "object");
	}
	if (one || !json_is_array(many))
		return corrupt(p, "%s needs either object, or chunk_size and objects", where);
	if ((err = get_u64(&t->chunk_size, p, j, where, "chunk_size")))
		return err;
	if (!t->chunk_size || t->chunk_size >= t->size)
		return corrupt(p, "%s must be positive and less than the size",
			       FIELD(where, "chunk_size"));
	want = t->size / t->chunk_size + !!(t->size % t->chunk_size);
	if (json_array_size(many) != want)
		return corrupt(p, "%s has %zu ids, but size and chunk_size need %" PRIu64,
			       FIELD(where, "objects"), json_array_size(many), want);
	return parse_ids(p, t, many, where);
}

static int parse_shape(const struct parser *p, struct mbr_manifest_tensor *t,
		       const json_t *j, const char *where)
{
	json_t *shape, *v;
	size_t i;
	int err = get_typed(&shape, p, j, where, "shape", JSON_ARRAY);

	if (err)
		return err;
	if (json_array_size(shape) > MBR_MAX_DIMS)
		return corrupt(p, "%s has more than %d dimensions",
			       FIELD(where, "shape"), MBR_MAX_DIMS);
	t->n_dims = (uint32_t)json_array_size(shape);
	json_array_foreach(shape, i, v) {
		char key[32];

		snprintf(key, sizeof(key), "shape[%zu]", i);
		if ((err = as_u64(&t->ne[i], p, v, where, key)))
			return err;
	}
	return 0;
}

static int parse_tensor(const struct parser *p, struct mbr_manifest_tensor *t,
			const json_t *j, size_t i)
{
	static const char *const keys[] = {
		"name", "type", "shape", "offset", "size", "object",
		"chunk_size", "objects", NULL
	};
	const struct mbr_type_info *ti;
	const char *name, *type;
	char where[48];
	uint64_t nbytes, end;
	int err;

	snprintf(where, sizeof(where), "tensors[%zu]", i);
	if (!json_is_object(j))
		return corrupt(p, "%s is not an object", where);
	if ((err = check_keys(p, j, where, keys)) ||
	    (err = get_str(&name, p, j, where, "name", 0)) ||
	    (err = get_str(&type, p, j, where, "type", 0)) ||
	    (err = parse_shape(p, t, j, where)) ||
	    (err = get_u64(&t->offset, p, j, where, "offset")) ||
	    (err = get_u64(&t->size, p, j, where, "size")))
		return err;
	MBR_CHECK_ALLOC(t->name = strdup(name));
	if (!(ti = mbr_type_by_name(type)))
		return corrupt(p, "%s '%s' is not a known tensor type",
			       FIELD(where, "type"), type);
	t->type = ti->type;
	if (mbr_type_nbytes(&nbytes, t->type, t->ne, t->n_dims) || nbytes != t->size)
		return corrupt(p, "%s does not match its type and shape", FIELD(where, "size"));
	if (MBR_ADD_OVERFLOW(&end, t->offset, t->size) || end > p->m->file_size)
		return corrupt(p, "%s lies beyond the end of the file", where);
	return parse_chunks(p, t, j, where);
}

static int cmp_tensor_names(const void *a, const void *b)
{
	return strcmp((*(struct mbr_manifest_tensor *const *)a)->name,
		      (*(struct mbr_manifest_tensor *const *)b)->name);
}

static int check_unique_names(const struct parser *p)
{
	const struct mbr_manifest *m = p->m;
	struct mbr_manifest_tensor **sorted;
	int err = 0;

	if (m->n_tensors < 2)
		return 0;
	MBR_CHECK_ALLOC(sorted = malloc(m->n_tensors * sizeof(*sorted)));
	for (size_t i = 0; i < m->n_tensors; i++)
		sorted[i] = &m->tensors[i];
	qsort(sorted, m->n_tensors, sizeof(*sorted), cmp_tensor_names);
	for (size_t i = 1; i < m->n_tensors && !err; i++)
		if (!strcmp(sorted[i - 1]->name, sorted[i]->name))
			err = corrupt(p, "tensor name '%s' appears twice", sorted[i]->name);
	free(sorted);
	return err;
}

static int parse_tensors(const struct parser *p, const json_t *root)
{
	struct mbr_manifest *m = p->m;
	json_t *arr, *j;
	size_t i;
	int err = get_typed(&arr, p, root, "", "tensors", JSON_ARRAY);

	if (err)
		return err;
	if (json_array_size(arr))
		MBR_CHECK_ALLOC(m->tensors = calloc(json_array_size(arr), sizeof(*m->tensors)));
	json_array_foreach(arr, i, j) {
		m->n_tensors = i + 1;
		if ((err = parse_tensor(p, &m->tensors[i], j, i)))
			return err;
	}
	return check_unique_names(p);
}

/* One layout segment; pos is where it starts, used marks tensors seen. */
static int parse_segment(const struct parser *p, struct mbr_manifest_segment *s,
			 const json_t *j, size_t i, uint64_t pos, unsigned char *used)
{
	static const char *const object_keys[] = { "object", "size", NULL };
	static const char *const zeros_keys[] = { "zeros", NULL };
	static const char *const tensor_keys[] = { "tensor", NULL };
	const struct mbr_manifest_tensor *t;
	char where[48];
	uint64_t index;
	int err;

	snprintf(where, sizeof(where), "layout[%zu]", i);
	if (json_object_get(j, "object")) {
		s->kind = MBR_SEG_OBJECT;
		if ((err = check_keys(p, j, where, object_keys)) ||
		    (err = get_oid(&s->id, p, j, where, "object")))
			return err;
		return get_u64(&s->size, p, j, where, "size");
	}
	if (json_object_get(j, "zeros")) {
		s->kind = MBR_SEG_ZEROS;
		if ((err = check_keys(p, j, where, zeros_keys)))
			return err;
		return get_u64(&s->size, p, j, where, "zeros");
	}
	if (!json_object_get(j, "tensor"))
		return corrupt(p, "%s is not an object, zeros or tensor segment", where);
	s->kind = MBR_SEG_TENSOR;
	if ((err = check_keys(p, j, where, tensor_keys)) ||
	    (err = get_u64(&index, p, j, where, "tensor")))
		return err;
	if (index >= p->m->n_tensors)
		return corrupt(p, "%s %" PRIu64 " is out of range", FIELD(where, "tensor"), index);
	if (used[index]++)
		return corrupt(p, "%s refers to tensors[%" PRIu64 "] a second time", where, index);
	t = &p->m->tensors[index];
	if (t->offset != pos)
		return corrupt(p, "%s puts tensors[%" PRIu64 "] at %" PRIu64
			       ", but its offset is %" PRIu64, where, index, pos, t->offset);
	s->tensor = (size_t)index;
	s->size = t->size;
	return 0;
}

static int parse_layout(const struct parser *p, const json_t *root)
{
	struct mbr_manifest *m = p->m;
	unsigned char *used;
	uint64_t pos = 0;
	json_t *arr, *j;
	size_t i;
	int err = get_typed(&arr, p, root, "", "layout", JSON_ARRAY);

	if (err)
		return err;
	if (json_array_size(arr))
		MBR_CHECK_ALLOC(m->segments = calloc(json_array_size(arr),
						     sizeof(*m->segments)));
	MBR_CHECK_ALLOC(used = calloc(m->n_tensors + 1, 1));
	json_array_foreach(arr, i, j) {
		if (err)
			break;
		m->n_segments = i + 1;
		if (!(err = parse_segment(p, &m->segments[i], j, i, pos, used)) &&
		    MBR_ADD_OVERFLOW(&pos, pos, m->segments[i].size))
			err = corrupt(p, "layout sizes overflow");
	}
	for (i = 0; !err && i < m->n_tensors; i++)
		if (!used[i])
			err = corrupt(p, "tensors[%zu] is not in the layout", i);
	free(used);
	if (!err && pos != m->file_size)
		err = corrupt(p, "layout covers %" PRIu64 " bytes, but file.size is %" PRIu64,
			      pos, m->file_size);
	return err;
}

/* The summary must say what the metadata and tensors say. */
static int check_summary(const struct parser *p, const json_t *root)
{
	static const char *const keys[] = {
		"architecture", "name", "tokenizer", "parameters",
		"tensor_types", "tensors", NULL
	};
	json_t *summary, *want;
	int err = get_typed(&summary, p, root, "", "summary", JSON_OBJECT);

	if (err || (err = check_keys(p, summary, "summary", keys)) ||
	    (err = summarise(p->m, p->what)))
		return err;
	if (!(want = summary_json(p->m)))
		return oom();
	for (const char *const *k = keys; *k && !err; k++) {
		json_t *v;

		if (!(err = get(&v, p, summary, "summary", *k)) &&
		    !json_equal(v, json_object_get(want, *k)))
			err = corrupt(p, "summary.%s does not agree with the metadata and tensors",
				      *k);
	}
	json_decref(want);
	return err;
}

static int parse_schema(const struct parser *p, const json_t *root)
{
	const char *schema;
	int err = get_str(&schema, p, root, "", "schema", 0);

	if (err)
		return err;
	if (strcmp(schema, MBR_MANIFEST_SCHEMA))
		return fail(MBR_EUNSUPPORTED, "%s: unsupported manifest schema '%s'",
			    p->what, schema);
	return 0;
}

static int parse_head(const struct parser *p, const json_t *root)
{
	static const char *const keys[] = {
		"schema", "format", "format_version", "alignment", "file",
		"license", "summary", "metadata", "tensors", "layout", NULL
	};
	static const char *const file_keys[] = { "sha256", "size", NULL };
	struct mbr_manifest *m = p->m;
	const char *format, *license;
	uint64_t version;
	json_t *file;
	int err;

	if ((err = parse_schema(p, root)) || (err = check_keys(p, root, "", keys)) ||
	    (err = get_str(&format, p, root, "", "format", 0)) ||
	    (err = get_u64(&version, p, root, "", "format_version")) ||
	    (err = get_u64(&m->alignment, p, root, "", "alignment")) ||
	    (err = get_typed(&file, p, root, "", "file", JSON_OBJECT)) ||
	    (err = check_keys(p, file, "file", file_keys)) ||
	    (err = get_oid(&m->file_sha256, p, file, "file", "sha256")) ||
	    (err = get_u64(&m->file_size, p, file, "file", "size")) ||
	    (err = get_str(&license, p, root, "", "license", 1)))
		return err;
	m->format = !strcmp(format, "gguf") ? MBR_FORMAT_GGUF :
		!strcmp(format, "safetensors") ? MBR_FORMAT_SAFETENSORS : 0;
	if (!m->format)
		return corrupt(p, "format '%s' is neither gguf nor safetensors", format);
	if (version > UINT32_MAX)
		return corrupt(p, "format_version is out of range");
	m->format_version = (uint32_t)version;
	if (!m->alignment)
		return corrupt(p, "alignment is zero");
	if (license && !(m->license = strdup(license)))
		return oom();
	return 0;
}

int mbr_manifest_parse(struct mbr_manifest **out, const char *buf, size_t len,
		       const char *what)
{
	struct parser p = { what, calloc(1, sizeof(struct mbr_manifest)) };
	json_error_t jerr;
	json_t *root;
	int err;

	*out = NULL;
	MBR_CHECK_ALLOC(p.m);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!root)
		err = corrupt(&p, "not valid JSON: %s (line %d, column %d)",
			      jerr.text, jerr.line, jerr.column);
	else if (!json_is_object(root))
		err = corrupt(&p, "not a JSON object");
	else if (!(err = parse_head(&p, root)) && !(err = parse_tensors(&p, root)) &&
		 !(err = parse_metadata(&p, root)) && !(err = parse_layout(&p, root)))
		err = check_summary(&p, root);
	json_decref(root);
	if (err) {
		mbr_manifest_free(p.m);
		return err;
	}
	*out = p.m;
	return 0;
}

void mbr_manifest_free(struct mbr_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_tensors; i++) {
		free(m->tensors[i].name);
		free(m->tensors[i].chunks);
	}
	free(m->tensors);
	free(m->segments);
	json_decref(m->metadata);
	free(m->license);
	free(m->architecture);
	free(m->tokenizer);
	free(m->model_name);
	free(m);
}

/*
 * Lookups.
 */

static int foreach_chunk(const struct mbr_manifest_tensor *t,
			 mbr_manifest_object_cb cb, void *payload)
{
	for (size_t c = 0; c < t->n_chunks; c++) {
		uint64_t left = t->size - c * t->chunk_size;
		int err = cb(&t->chunks[c], left < t->chunk_size ? left : t->chunk_size,
			     payload);

		if (err)
			return err;
	}
	return 0;
}

int mbr_manifest_foreach_object(const struct mbr_manifest *m,
				mbr_manifest_object_cb cb, void *payload)
{
	for (size_t i = 0; i < m->n_segments; i++) {
		const struct mbr_manifest_segment *s = &m->segments[i];
		int err = 0;

		if (s->kind == MBR_SEG_OBJECT)
			err = cb(&s->id, s->size, payload);
		else if (s->kind == MBR_SEG_TENSOR)
			err = foreach_chunk(&m->tensors[s->tensor], cb, payload);
		if (err)
			return err;
	}
	return 0;
}

const struct mbr_manifest_tensor *mbr_manifest_tensor(const struct mbr_manifest *m,
						      const char *name)
{
	for (size_t i = 0; i < m->n_tensors; i++)
		if (!strcmp(m->tensors[i].name, name))
			return &m->tensors[i];
	return NULL;
}

json_t *mbr_manifest_meta(const struct mbr_manifest *m, const char *key)
{
	return find_entry(m->metadata, key);
}

uint64_t mbr_chunk_size(void)
{
	const char *env = getenv("MBR_TEST_CHUNK_SIZE");
	unsigned long long v;
	char *end;

	if (env && *env >= '1' && *env <= '9') {
		errno = 0;
		v = strtoull(env, &end, 10);
		if (!errno && !*end)
			return v;
	}
	return UINT64_C(1) << 30;
}
