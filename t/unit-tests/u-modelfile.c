#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "unit.h"
#include "mbr/modelfile.h"
#include "mbr/strbuf.h"
#include "mbr/types.h"

/*
 * Synthetic files are built here byte by byte, independently of the parser,
 * recording where each field lies so that hostile variants can patch it.
 */

static void put_le(struct strbuf *sb, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		strbuf_addch(sb, (v >> (8 * i)) & 0xff);
}

static void put_str(struct strbuf *sb, const char *s)
{
	put_le(sb, strlen(s), 8);
	strbuf_addstr(sb, s);
}

/* A key and a value type; the caller appends the value. */
static void put_key(struct strbuf *sb, const char *key, uint32_t type)
{
	put_str(sb, key);
	put_le(sb, type, 4);
}

static void put_scalar(struct strbuf *sb, const char *key, uint32_t type,
		       uint64_t v, int n)
{
	put_key(sb, key, type);
	put_le(sb, v, n);
}

static void put_array_head(struct strbuf *sb, uint32_t elem_type, uint64_t n)
{
	put_le(sb, elem_type, 4);
	put_le(sb, n, 8);
}

static void put_tensor(struct strbuf *sb, const char *name, uint32_t n_dims,
		       const uint64_t *ne, uint32_t type, uint64_t offset)
{
	put_str(sb, name);
	put_le(sb, n_dims, 4);
	for (uint32_t d = 0; d < n_dims; d++)
		put_le(sb, ne[d], 8);
	put_le(sb, type, 4);
	put_le(sb, offset, 8);
}

static void pad_to(struct strbuf *sb, size_t align, int byte)
{
	while (sb->len % align)
		strbuf_addch(sb, byte);
}

static void patch_le(struct strbuf *sb, size_t at, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		sb->buf[at + i] = (v >> (8 * i)) & 0xff;
}

static uint32_t f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

static uint64_t f64_bits(double f)
{
	uint64_t u;

	memcpy(&u, &f, 8);
	return u;
}

/* Where the builder put things (absolute file offsets). */
struct layout {
	size_t version, n_tensors, n_kv;
	size_t arch_len;		/* u64 length of the "llama" value */
	size_t key_u8;			/* bytes of the key "test.u8" */
	size_t alignment_value;
	size_t type_after_u16;		/* value type of test.i16 */
	size_t big_array_count, big_array_data, big_array_len;
	size_t strs_count;
	size_t tensor_n_dims[3], tensor_ne0[3], tensor_type[3];
	size_t tensor_offset[3], tensor_name[3];
	size_t header_end, data_offset, data_end;
	uint64_t data_rel[3], data_size[3];
};

#define BIG_ARRAY_N 1100	/* 4400 bytes of int32: its own region */

/*
 * Tensors in table order tok (Q4_0 64x3), norm (F32 64), out (Q8_0 32x2x2),
 * stored in the data section as norm, out, tok with gaps between them.
 */
static const char *const tensor_names[3] = { "tok.weight", "norm.weight", "out.weight" };
static const uint32_t tensor_types[3] = { MBR_TYPE_Q4_0, MBR_TYPE_F32, MBR_TYPE_Q8_0 };
static const uint32_t tensor_dims[3] = { 2, 1, 3 };
static const uint64_t tensor_ne[3][3] = { { 64, 3 }, { 64 }, { 32, 2, 2 } };

static void put_kvs(struct strbuf *sb, struct layout *l, uint32_t alignment)
{
	put_key(sb, "general.architecture", MBR_GGUF_STRING);
	l->arch_len = sb->len;
	put_str(sb, "llama");
	if (alignment) {
		put_key(sb, "general.alignment", MBR_GGUF_UINT32);
		l->alignment_value = sb->len;
		put_le(sb, alignment, 4);
	}
	l->key_u8 = sb->len + 8;
	put_scalar(sb, "test.u8", MBR_GGUF_UINT8, 200, 1);
	put_scalar(sb, "test.i8", MBR_GGUF_INT8, (uint8_t)-5, 1);
	put_scalar(sb, "test.u16", MBR_GGUF_UINT16, 65000, 2);
	l->type_after_u16 = sb->len + 8 + strlen("test.i16");
	put_scalar(sb, "test.i16", MBR_GGUF_INT16, (uint16_t)-30000, 2);
	put_scalar(sb, "test.i32", MBR_GGUF_INT32, (uint32_t)-123456, 4);
	put_scalar(sb, "test.f32", MBR_GGUF_FLOAT32, f32_bits(0.5f), 4);
	put_scalar(sb, "test.bool", MBR_GGUF_BOOL, 1, 1);
	put_scalar(sb, "test.u64", MBR_GGUF_UINT64, UINT64_MAX, 8);
	put_scalar(sb, "test.i64", MBR_GGUF_INT64, (uint64_t)INT64_MIN, 8);
	put_scalar(sb, "test.f64", MBR_GGUF_FLOAT64, f64_bits(-2.25), 8);

	put_key(sb, "test.small_arr", MBR_GGUF_ARRAY);
	put_array_head(sb, MBR_GGUF_UINT32, 3);
	for (int i = 1; i <= 3; i++)
		put_le(sb, i, 4);

	put_key(sb, "test.big_arr", MBR_GGUF_ARRAY);
	l->big_array_count = sb->len + 4;
	put_array_head(sb, MBR_GGUF_INT32, BIG_ARRAY_N);
	l->big_array_data = sb->len;
	for (int i = 0; i < BIG_ARRAY_N; i++)
		put_le(sb, (uint32_t)(i * 7 - 3000), 4);
	l->big_array_len = sb->len - l->big_array_data;

	put_key(sb, "test.strs", MBR_GGUF_ARRAY);
	l->strs_count = sb->len + 4;
	put_array_head(sb, MBR_GGUF_STRING, 3);
	put_str(sb, "a");
	put_str(sb, "bc");
	put_str(sb, "");

	/* [[7, 8], []]: arrays of arrays are legal GGUF */
	put_key(sb, "test.nested", MBR_GGUF_ARRAY);
	put_array_head(sb, MBR_GGUF_ARRAY, 2);
	put_array_head(sb, MBR_GGUF_UINT8, 2);
	strbuf_addch(sb, 7);
	strbuf_addch(sb, 8);
	put_array_head(sb, MBR_GGUF_UINT8, 0);
}

#define N_KV_BASE 15	/* put_kvs's entries without general.alignment */

/* alignment 0: no general.alignment key, the default 32 applies. */
static void build_gguf(struct strbuf *sb, struct layout *l, uint32_t version,
		       uint32_t alignment)
{
	uint64_t align = alignment ? alignment : 32, pos = 0;
	static const int data_order[3] = { 1, 2, 0 };

	memset(l, 0, sizeof(*l));
	strbuf_reset(sb);
	strbuf_add(sb, "GGUF", 4);
	l->version = sb->len;
	put_le(sb, version, 4);
	l->n_tensors = sb->len;
	put_le(sb, 3, 8);
	l->n_kv = sb->len;
	put_le(sb, N_KV_BASE + !!alignment, 8);
	put_kvs(sb, l, alignment);

	/* norm at 0, out after it, tok after a gap of one alignment unit */
	for (int k = 0; k < 3; k++) {
		int i = data_order[k];
		const struct mbr_type_info *ti = mbr_type_get(tensor_types[i]);
		uint64_t rows = 1;

		for (uint32_t d = 1; d < tensor_dims[i]; d++)
			rows *= tensor_ne[i][d];
		l->data_size[i] = tensor_ne[i][0] / ti->block_elems *
				  ti->block_bytes * rows;
		l->data_rel[i] = pos;
		pos = (pos + l->data_size[i] + align - 1) / align * align;
		if (k == 1)
			pos += align;
	}
	for (int i = 0; i < 3; i++) {
		l->tensor_name[i] = sb->len + 8;
		l->tensor_n_dims[i] = sb->len + 8 + strlen(tensor_names[i]);
		l->tensor_ne0[i] = l->tensor_n_dims[i] + 4;
		l->tensor_type[i] = l->tensor_ne0[i] + 8 * tensor_dims[i];
		l->tensor_offset[i] = l->tensor_type[i] + 4;
		put_tensor(sb, tensor_names[i], tensor_dims[i], tensor_ne[i],
			   tensor_types[i], l->data_rel[i]);
	}
	l->header_end = sb->len;
	pad_to(sb, align, 0);
	l->data_offset = sb->len;
	for (int k = 0; k < 3; k++) {
		int i = data_order[k];

		while (sb->len < l->data_offset + l->data_rel[i])
			strbuf_addch(sb, 0);
		for (uint64_t b = 0; b < l->data_size[i]; b++)
			strbuf_addch(sb, 0x11 * (i + 1) + b);
	}
	l->data_end = sb->len;
	/* trailing padding, as writers leave after the last tensor */
	strbuf_add(sb, "\0\0\0\0\0\0\0", 7);
}

/* Parse an exact-size copy, so that ASan sees any read past the end. */
static int parse_copy(struct mbr_modelfile **mf, const void *bytes,
		      size_t len, const char *name)
{
	void *copy = malloc(len ? len : 1);
	int err;

	memcpy(copy, bytes, len);
	err = mbr_modelfile_parse(mf, copy, len, name);
	if (err < 0) {
		free(copy);
		return err;
	}
	/* the caller frees (*mf)->data after mbr_modelfile_free */
	return err;
}

static void free_parsed(struct mbr_modelfile *mf)
{
	const void *data = mf ? mf->data : NULL;

	mbr_modelfile_free(mf);
	free((void *)data);
}

/* Whether msg contains one of the '|'-separated needles. */
static int has_any(const char *msg, const char *needles)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", needles);
	for (char *n = strtok_r(buf, "|", &save); n; n = strtok_r(NULL, "|", &save))
		if (strstr(msg, n))
			return 1;
	return 0;
}

/* Expect failure with code and a message "bad.gguf: ...needle...". */
static int fails_with(const struct strbuf *sb, size_t len, int code,
		      const char *needle)
{
	struct mbr_modelfile *mf = (void *)1;
	int err = parse_copy(&mf, sb->buf, len, "bad.gguf");
	const char *msg = mbr_error_last();
	int ok = err == code && mf == NULL &&
		 !strncmp(msg, "bad.gguf: ", 10) && has_any(msg, needle);

	if (!ok)
		printf("# want %d '%s', got %d: %s\n", code, needle, err, msg);
	if (err >= 0)
		free_parsed(mf);
	return ok;
}

/*
 * The tiling invariant, checked from first principles: regions follow each
 * other from 0 to the end with no gap, none is empty, each TENSOR region is
 * exactly its tensor's data, each ARRAY region exactly a large array's
 * elements, and every non-empty tensor and large array has one region.
 */
static int regions_tile(const struct mbr_modelfile *mf)
{
	uint64_t pos = 0;
	size_t seen_tensors = 0, seen_arrays = 0, want_tensors = 0, want_arrays = 0;

	for (size_t i = 0; i < mf->n_regions; i++) {
		const struct mbr_region *r = &mf->regions[i];

		if (r->offset != pos || !r->len)
			return 0;
		pos += r->len;
		if (r->kind == MBR_REGION_TENSOR) {
			const struct mbr_tensor_info *t = &mf->tensors[r->index];

			if (r->index >= mf->n_tensors || t->offset != r->offset ||
			    t->size != r->len)
				return 0;
			seen_tensors++;
		} else if (r->kind == MBR_REGION_ARRAY) {
			const struct mbr_kv *kv = &mf->kv[r->index];

			if (r->index >= mf->n_kv || kv->type != MBR_GGUF_ARRAY ||
			    kv->value_offset != r->offset ||
			    kv->value_len != r->len ||
			    r->len < MBR_ARRAY_REGION_MIN)
				return 0;
			seen_arrays++;
		} else if (r->kind != MBR_REGION_HEADER &&
			   r->kind != MBR_REGION_PADDING) {
			return 0;
		}
	}
	for (size_t i = 0; i < mf->n_tensors; i++)
		want_tensors += mf->tensors[i].size != 0;
	for (size_t i = 0; i < mf->n_kv; i++)
		want_arrays += mf->kv[i].type == MBR_GGUF_ARRAY &&
			       mf->kv[i].value_len >= MBR_ARRAY_REGION_MIN;
	return pos == mf->size && seen_tensors == want_tensors &&
	       seen_arrays == want_arrays;
}

static void check_kv_values(const struct mbr_modelfile *mf, const struct layout *l)
{
	const struct mbr_kv *kv;

	UT_ASSERT((kv = mbr_modelfile_kv(mf, "general.architecture")));
	UT_EQ_INT(kv->type, MBR_GGUF_STRING);
	UT_EQ_STR(kv->str, "llama");
	UT_EQ_INT(kv->str_len, 5);
	UT_EQ_INT(kv->value_offset, l->arch_len + 8);
	UT_EQ_INT(kv->value_len, 5);
	UT_EQ_INT(mbr_modelfile_kv(mf, "test.u8")->v.u, 200);
	UT_EQ_INT(mbr_modelfile_kv(mf, "test.i8")->v.i, -5);
	UT_EQ_INT(mbr_modelfile_kv(mf, "test.u16")->v.u, 65000);
	UT_EQ_INT(mbr_modelfile_kv(mf, "test.i16")->v.i, -30000);
	UT_EQ_INT(mbr_modelfile_kv(mf, "test.i32")->v.i, -123456);
	UT_CHECK(mbr_modelfile_kv(mf, "test.f32")->v.f == 0.5);
	UT_EQ_INT(mbr_modelfile_kv(mf, "test.bool")->v.u, 1);
	UT_CHECK(mbr_modelfile_kv(mf, "test.u64")->v.u == UINT64_MAX);
	UT_CHECK(mbr_modelfile_kv(mf, "test.i64")->v.i == INT64_MIN);
	UT_CHECK(mbr_modelfile_kv(mf, "test.f64")->v.f == -2.25);
	UT_EQ_INT(mbr_modelfile_kv(mf, "test.i64")->value_len, 8);

	UT_ASSERT((kv = mbr_modelfile_kv(mf, "test.small_arr")));
	UT_EQ_INT(kv->elem_type, MBR_GGUF_UINT32);
	UT_EQ_INT(kv->count, 3);
	UT_EQ_INT(kv->value_len, 12);
	UT_ASSERT((kv = mbr_modelfile_kv(mf, "test.big_arr")));
	UT_EQ_INT(kv->count, BIG_ARRAY_N);
	UT_EQ_INT(kv->value_offset, l->big_array_data);
	UT_EQ_INT(kv->value_len, l->big_array_len);
	UT_ASSERT((kv = mbr_modelfile_kv(mf, "test.strs")));
	UT_EQ_INT(kv->elem_type, MBR_GGUF_STRING);
	UT_EQ_INT(kv->value_len, 3 * 8 + 3);
	UT_ASSERT((kv = mbr_modelfile_kv(mf, "test.nested")));
	UT_EQ_INT(kv->elem_type, MBR_GGUF_ARRAY);
	UT_EQ_INT(kv->count, 2);
	UT_EQ_INT(kv->value_len, 12 + 2 + 12);
	UT_CHECK(mbr_modelfile_kv(mf, "test") == NULL);
	UT_CHECK(mbr_modelfile_kv(mf, "test.u8x") == NULL);
}

static void check_tensors(const struct mbr_modelfile *mf, const struct layout *l)
{
	UT_EQ_INT(mf->n_tensors, 3);
	for (int i = 0; i < 3; i++) {
		const struct mbr_tensor_info *t = &mf->tensors[i];

		UT_EQ_STR(t->name, tensor_names[i]);
		UT_CHECK(mbr_modelfile_tensor(mf, tensor_names[i]) == t);
		UT_EQ_INT(t->type, tensor_types[i]);
		UT_EQ_INT(t->n_dims, tensor_dims[i]);
		for (uint32_t d = 0; d < t->n_dims; d++)
			UT_EQ_INT(t->ne[d], tensor_ne[i][d]);
		UT_EQ_INT(t->offset, l->data_offset + l->data_rel[i]);
		UT_EQ_INT(t->size, l->data_size[i]);
		UT_EQ_INT(mf->data[t->offset], 0x11 * (i + 1));
	}
	/* hand-computed: 2 blocks x 18 x 3 rows; 64 x 4; 1 block x 34 x 4 */
	UT_EQ_INT(mf->tensors[0].size, 108);
	UT_EQ_INT(mf->tensors[1].size, 256);
	UT_EQ_INT(mf->tensors[2].size, 136);
	UT_CHECK(mbr_modelfile_tensor(mf, "nope") == NULL);
}

/*
 * Regions: header, the big array, header, padding up to the data, then the
 * data order norm, out, gap, tok, trailing padding.
 */
static void check_gguf_regions(const struct mbr_modelfile *mf,
			       const struct layout *l)
{
	static const int kinds[] = {
		MBR_REGION_HEADER, MBR_REGION_ARRAY, MBR_REGION_HEADER,
		MBR_REGION_PADDING, MBR_REGION_TENSOR, MBR_REGION_TENSOR,
		MBR_REGION_PADDING, MBR_REGION_TENSOR, MBR_REGION_PADDING
	};
	static const size_t tensor_at[] = { 4, 5, 7 }, tensor_is[] = { 1, 2, 0 };

	UT_CHECK(regions_tile(mf));
	UT_ASSERT(l->header_end != l->data_offset);
	UT_ASSERT(mf->n_regions == sizeof(kinds) / sizeof(kinds[0]));
	for (size_t i = 0; i < mf->n_regions; i++)
		UT_EQ_INT(mf->regions[i].kind, kinds[i]);
	UT_EQ_INT(mf->regions[1].offset, l->big_array_data);
	UT_EQ_INT(mf->regions[1].len, l->big_array_len);
	UT_CHECK(mbr_modelfile_kv(mf, "test.big_arr") ==
		 &mf->kv[mf->regions[1].index]);
	UT_EQ_INT(mf->regions[3].offset, l->header_end);
	UT_EQ_INT(mf->regions[3].len, l->data_offset - l->header_end);
	for (int k = 0; k < 3; k++)
		UT_EQ_INT(mf->regions[tensor_at[k]].index, tensor_is[k]);
	UT_EQ_INT(mf->regions[8].len, 7);
}

static void check_valid_gguf(uint32_t version, uint32_t alignment)
{
	struct strbuf sb = STRBUF_INIT;
	struct mbr_modelfile *mf;
	struct layout l;

	build_gguf(&sb, &l, version, alignment);
	UT_ASSERT(parse_copy(&mf, sb.buf, sb.len, "ok.gguf") == 0);
	UT_EQ_INT(mf->format, MBR_FORMAT_GGUF);
	UT_EQ_INT(mf->version, version);
	UT_EQ_INT(mf->alignment, alignment ? alignment : 32);
	UT_EQ_INT(mf->data_offset, l.data_offset);
	UT_EQ_INT(mf->size, sb.len);
	UT_EQ_INT(mf->n_kv, N_KV_BASE + !!alignment);
	UT_EQ_STR(mf->path, "ok.gguf");
	UT_EQ_INT(mf->mapped, 0);
	check_kv_values(mf, &l);
	check_tensors(mf, &l);
	check_gguf_regions(mf, &l);
	free_parsed(mf);
	strbuf_release(&sb);
}

static void test_modelfile__gguf_v3(void)
{
	check_valid_gguf(3, 64);
}

static void test_modelfile__gguf_v2_default_alignment(void)
{
	check_valid_gguf(2, 0);
}

/* Every prefix that cuts the header or a tensor must fail cleanly. */
static void test_modelfile__gguf_every_truncation(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct mbr_modelfile *mf = NULL;
	struct layout l;

	build_gguf(&sb, &l, 3, 32);
	for (size_t len = 0; len < l.data_end; len++) {
		/* in the header: a field cut short, a length or an array
		 * running past the end, or counts that cannot fit */
		const char *needle = len == 0 ? "empty file" :
				     len < 4 ? "bad magic" :
				     len < l.header_end ? "truncated at byte|runs past the end|cannot fit" :
				     "past the end of the file";

		if (!fails_with(&sb, len, MBR_ECORRUPT, needle)) {
			printf("# prefix of %zu bytes\n", len);
			UT_CHECK(0);
			break;
		}
	}
	/* without the trailing padding it is still a whole file */
	UT_CHECK(parse_copy(&mf, sb.buf, l.data_end, "ok.gguf") == 0);
	free_parsed(mf);
	strbuf_release(&sb);
}

static void test_modelfile__gguf_truncation_message(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct layout l;
	char want[128];

	build_gguf(&sb, &l, 3, 32);
	snprintf(want, sizeof(want), "truncated at byte %zu while reading tensor info 2 ('out.weight')",
		 l.tensor_offset[2] + 3);
	UT_CHECK(fails_with(&sb, l.tensor_offset[2] + 3, MBR_ECORRUPT, want));
	strbuf_release(&sb);
}

/* Build the valid file, patch one field, expect code and needle. */
static int patched(size_t (*where)(const struct layout *), uint64_t v,
		   int width, int code, const char *needle)
{
	struct strbuf sb = STRBUF_INIT;
	struct layout l;
	int ok;

	build_gguf(&sb, &l, 3, 32);
	patch_le(&sb, where(&l), v, width);
	ok = fails_with(&sb, sb.len, code, needle);
	strbuf_release(&sb);
	return ok;
}

static size_t at_magic(const struct layout *l) { return 0; }
static size_t at_version(const struct layout *l) { return l->version; }
static size_t at_n_tensors(const struct layout *l) { return l->n_tensors; }
static size_t at_n_kv(const struct layout *l) { return l->n_kv; }
static size_t at_arch_len(const struct layout *l) { return l->arch_len; }
static size_t at_key_u8_len(const struct layout *l) { return l->key_u8 - 8; }
static size_t at_key_u8(const struct layout *l) { return l->key_u8 + 5; }
static size_t at_value_type(const struct layout *l) { return l->type_after_u16; }
static size_t at_array_count(const struct layout *l) { return l->big_array_count; }
static size_t at_strs_count(const struct layout *l) { return l->strs_count; }
static size_t at_alignment(const struct layout *l) { return l->alignment_value; }
static size_t at_n_dims0(const struct layout *l) { return l->tensor_n_dims[0]; }
static size_t at_ne0_0(const struct layout *l) { return l->tensor_ne0[0]; }
static size_t at_ne0_1(const struct layout *l) { return l->tensor_ne0[1]; }
static size_t at_ne1_0(const struct layout *l) { return l->tensor_ne0[0] + 8; }
static size_t at_type0(const struct layout *l) { return l->tensor_type[0]; }
static size_t at_offset0(const struct layout *l) { return l->tensor_offset[0]; }
static size_t at_name0(const struct layout *l) { return l->tensor_name[0]; }
static size_t at_name0_byte3(const struct layout *l) { return l->tensor_name[0] + 3; }

static void test_modelfile__gguf_bad_header(void)
{
	UT_CHECK(patched(at_magic, 0x58554747, 4, MBR_ECORRUPT, "not a GGUF or safetensors file (bad magic)"));
	UT_CHECK(patched(at_version, 1, 4, MBR_EUNSUPPORTED, "GGUF version 1 is not supported"));
	UT_CHECK(patched(at_version, 99, 4, MBR_EUNSUPPORTED, "GGUF version 99"));
	UT_CHECK(patched(at_version, 0x03000000, 4, MBR_EUNSUPPORTED, "big-endian"));
	UT_CHECK(patched(at_n_tensors, 1ULL << 60, 8, MBR_ECORRUPT, "tensor count 1152921504606846976 cannot fit"));
	UT_CHECK(patched(at_n_kv, 1ULL << 62, 8, MBR_ECORRUPT, "metadata count"));
	UT_CHECK(patched(at_n_kv, UINT64_MAX, 8, MBR_ECORRUPT, "metadata count"));
}

static void test_modelfile__gguf_bad_metadata(void)
{
	UT_CHECK(patched(at_arch_len, 1ULL << 63, 8, MBR_ECORRUPT, "a string of 9223372036854775808 bytes"));
	UT_CHECK(patched(at_arch_len, 1ULL << 63, 8, MBR_ECORRUPT, "metadata entry 0 ('general.architecture')"));
	UT_CHECK(patched(at_key_u8_len, UINT64_MAX, 8, MBR_ECORRUPT, "runs past the end"));
	UT_CHECK(patched(at_value_type, 13, 4, MBR_ECORRUPT, "unknown metadata value type 13"));
	UT_CHECK(patched(at_array_count, 1ULL << 61, 8, MBR_ECORRUPT, "array of 2305843009213693952 elements"));
	UT_CHECK(patched(at_array_count, UINT64_MAX, 8, MBR_ECORRUPT, "array of"));
	UT_CHECK(patched(at_strs_count, 1ULL << 40, 8, MBR_ECORRUPT, "array of"));
	/* "test.u8" becomes "test.i8", which follows it */
	UT_CHECK(patched(at_key_u8, 'i', 1, MBR_ECORRUPT, "duplicate metadata key 'test.i8'"));
	UT_CHECK(patched(at_alignment, 0, 4, MBR_ECORRUPT, "general.alignment 0 is not a power of two"));
	UT_CHECK(patched(at_alignment, 3, 4, MBR_ECORRUPT, "general.alignment 3 is not a power of two"));
}

static void test_modelfile__gguf_bad_tensor_info(void)
{
	UT_CHECK(patched(at_n_dims0, 5, 4, MBR_ECORRUPT, "tensor 'tok.weight' has 5 dimensions"));
	UT_CHECK(patched(at_n_dims0, 0, 4, MBR_ECORRUPT, "has 0 dimensions"));
	UT_CHECK(patched(at_ne1_0, 0, 8, MBR_ECORRUPT, "tensor 'tok.weight' has a zero dimension (ne[1])"));
	UT_CHECK(patched(at_ne0_0, 48, 8, MBR_ECORRUPT, "ne[0] = 48 is not a multiple of the Q4_0 block size 32"));
	UT_CHECK(patched(at_ne0_1, 1ULL << 62, 8, MBR_ECORRUPT, "tensor 'norm.weight': size of its shape overflows"));
	UT_CHECK(patched(at_ne1_0, 1ULL << 62, 8, MBR_ECORRUPT, "overflows"));
	UT_CHECK(patched(at_type0, 77, 4, MBR_EUNSUPPORTED, "tensor 'tok.weight' has unknown type id 77"));
	UT_CHECK(patched(at_type0, MBR_TYPE_U8, 4, MBR_EUNSUPPORTED, "unknown type id 100"));
	UT_CHECK(patched(at_type0, 4, 4, MBR_EUNSUPPORTED, "unknown type id 4"));
	UT_CHECK(patched(at_offset0, 1 << 20, 8, MBR_ECORRUPT, "tensor 'tok.weight' data [")); 
	UT_CHECK(patched(at_offset0, 1 << 20, 8, MBR_ECORRUPT, "runs past the end of the file (size"));
	UT_CHECK(patched(at_offset0, UINT64_MAX - 31, 8, MBR_ECORRUPT, "tok.weight"));
	UT_CHECK(patched(at_offset0, 449, 8, MBR_ECORRUPT, "data offset 449 is not a multiple of the alignment 32"));
	UT_CHECK(patched(at_offset0, 256, 8, MBR_ECORRUPT, "overlaps tensor"));
	UT_CHECK(patched(at_offset0, 0, 8, MBR_ECORRUPT, "overlaps tensor"));
	/* "tok.weight" becomes "out.weight", the third tensor's name */
	UT_CHECK(patched(at_name0, 0x74756f, 3, MBR_ECORRUPT, "duplicate tensor name 'out.weight'"));
	UT_CHECK(patched(at_name0_byte3, 0, 1, MBR_ECORRUPT, "NUL byte"));
}

/* A file with just one metadata entry, given its value bytes. */
static void build_one_kv(struct strbuf *sb, const char *key, uint32_t type,
			 const void *value, size_t len)
{
	strbuf_reset(sb);
	strbuf_add(sb, "GGUF", 4);
	put_le(sb, 3, 4);
	put_le(sb, 0, 8);
	put_le(sb, 1, 8);
	put_key(sb, key, type);
	strbuf_add(sb, value, len);
}

static void test_modelfile__gguf_limits(void)
{
	struct strbuf sb = STRBUF_INIT, v = STRBUF_INIT;
	struct mbr_modelfile *mf = NULL;
	char *long_key = malloc(70001);

	memset(long_key, 'k', 70000);
	long_key[70000] = '\0';
	build_one_kv(&sb, long_key, MBR_GGUF_UINT8, "x", 1);
	UT_CHECK(fails_with(&sb, sb.len, MBR_ECORRUPT, "name of 70000 bytes at byte 32 is longer than 65535 bytes"));

	/* arrays nested 9 deep: refused before any recursion trouble */
	for (int i = 0; i < 8; i++)
		put_array_head(&v, MBR_GGUF_ARRAY, 1);
	put_array_head(&v, MBR_GGUF_UINT8, 0);
	build_one_kv(&sb, "deep", MBR_GGUF_ARRAY, v.buf, v.len);
	UT_CHECK(fails_with(&sb, sb.len, MBR_EUNSUPPORTED, "nested more than 8 deep"));

	/* 8 deep is fine; a file of metadata only needs no padding */
	strbuf_reset(&v);
	for (int i = 0; i < 7; i++)
		put_array_head(&v, MBR_GGUF_ARRAY, 1);
	put_array_head(&v, MBR_GGUF_UINT8, 0);
	build_one_kv(&sb, "deep", MBR_GGUF_ARRAY, v.buf, v.len);
	UT_ASSERT(parse_copy(&mf, sb.buf, sb.len, "ok.gguf") == 0);
	UT_EQ_INT(mf->n_tensors, 0);
	UT_EQ_INT(mf->data_offset, sb.len);
	UT_EQ_INT(mf->n_regions, 1);
	UT_CHECK(regions_tile(mf));
	free_parsed(mf);

	build_one_kv(&sb, "general.alignment", MBR_GGUF_UINT64, "\x20\0\0\0\0\0\0\0", 8);
	UT_CHECK(fails_with(&sb, sb.len, MBR_ECORRUPT, "general.alignment is a uint64, not a uint32"));
	free(long_key);
	strbuf_release(&v);
	strbuf_release(&sb);
}

/* safetensors: u64 header size, JSON, then data_len patterned bytes */
static void build_st(struct strbuf *sb, const char *json, size_t data_len)
{
	strbuf_reset(sb);
	put_le(sb, strlen(json), 8);
	strbuf_addstr(sb, json);
	for (size_t i = 0; i < data_len; i++)
		strbuf_addch(sb, 0x40 + i);
}

static int st_fails(const char *json, size_t data_len, int code,
		    const char *needle)
{
	struct strbuf sb = STRBUF_INIT;
	int ok;

	build_st(&sb, json, data_len);
	ok = fails_with(&sb, sb.len, code, needle);
	strbuf_release(&sb);
	return ok;
}

/* Key order b, a, s is not sorted: the parser must keep it. */
static const char st_valid[] =
	"{\"__metadata__\":{\"format\":\"pt\",\"note\":\"h\\u00e9\"},"
	"\"b.weight\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[24,36]},"
	"\"a.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]},"
	"\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[40,48]}}   ";
#define ST_DATA 52	/* a 4-byte gap at 36 and 4 trailing bytes */

static void test_modelfile__safetensors_valid(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct mbr_modelfile *mf;
	const struct mbr_tensor_info *t;
	uint64_t base = 8 + strlen(st_valid);
	static const int kinds[] = {
		MBR_REGION_HEADER, MBR_REGION_TENSOR, MBR_REGION_TENSOR,
		MBR_REGION_PADDING, MBR_REGION_TENSOR, MBR_REGION_PADDING
	};

	build_st(&sb, st_valid, ST_DATA);
	UT_ASSERT(parse_copy(&mf, sb.buf, sb.len, "m.safetensors") == 0);
	UT_EQ_INT(mf->format, MBR_FORMAT_SAFETENSORS);
	UT_EQ_INT(mf->version, 0);
	UT_EQ_INT(mf->alignment, 1);
	UT_EQ_INT(mf->data_offset, base);
	UT_EQ_INT(mf->n_tensors, 3);
	UT_EQ_STR(mf->tensors[0].name, "b.weight");
	UT_EQ_STR(mf->tensors[1].name, "a.weight");
	UT_EQ_STR(mf->tensors[2].name, "s");

	t = mbr_modelfile_tensor(mf, "b.weight");
	UT_ASSERT(t);
	UT_EQ_INT(t->type, MBR_TYPE_F16);
	UT_EQ_INT(t->n_dims, 2);
	UT_EQ_INT(t->ne[0], 3);		/* reversed: [2,3] -> ne {3,2} */
	UT_EQ_INT(t->ne[1], 2);
	UT_EQ_INT(t->offset, base + 24);
	UT_EQ_INT(t->size, 12);
	t = mbr_modelfile_tensor(mf, "a.weight");
	UT_EQ_INT(t->ne[0], 2);
	UT_EQ_INT(t->ne[1], 3);
	UT_EQ_INT(t->offset, base);
	t = mbr_modelfile_tensor(mf, "s");
	UT_EQ_INT(t->type, MBR_TYPE_I64);
	UT_EQ_INT(t->n_dims, 0);
	UT_EQ_INT(t->size, 8);

	UT_EQ_INT(mf->n_kv, 2);
	UT_EQ_STR(mf->kv[0].key, "format");
	UT_EQ_INT(mf->kv[0].type, MBR_GGUF_STRING);
	UT_EQ_STR(mbr_modelfile_kv(mf, "format")->str, "pt");
	UT_EQ_STR(mbr_modelfile_kv(mf, "note")->str, "h\xc3\xa9");
	UT_EQ_INT(mbr_modelfile_kv(mf, "note")->str_len, 3);

	UT_CHECK(regions_tile(mf));
	UT_ASSERT(mf->n_regions == sizeof(kinds) / sizeof(kinds[0]));
	for (size_t i = 0; i < mf->n_regions; i++)
		UT_EQ_INT(mf->regions[i].kind, kinds[i]);
	UT_EQ_INT(mf->regions[0].len, base);
	UT_EQ_INT(mf->regions[1].index, 1);	/* a.weight comes first */
	UT_EQ_INT(mf->regions[2].index, 0);
	UT_EQ_INT(mf->regions[3].len, 4);
	UT_EQ_INT(mf->regions[5].len, 4);
	free_parsed(mf);
	strbuf_release(&sb);
}

static void test_modelfile__safetensors_empty(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct mbr_modelfile *mf;

	build_st(&sb, "{}", 0);
	UT_ASSERT(parse_copy(&mf, sb.buf, sb.len, "e.safetensors") == 0);
	UT_EQ_INT(mf->n_tensors, 0);
	UT_EQ_INT(mf->n_kv, 0);
	UT_EQ_INT(mf->n_regions, 1);
	UT_CHECK(regions_tile(mf));
	free_parsed(mf);
	strbuf_release(&sb);
}

static void test_modelfile__safetensors_every_truncation(void)
{
	struct strbuf sb = STRBUF_INIT;
	size_t data_end = 8 + strlen(st_valid) + 48;

	build_st(&sb, st_valid, ST_DATA);
	for (size_t len = 0; len < data_end; len++) {
		const char *needle = len == 0 ? "empty file" :
				     len < 9 ? "bad magic" :
				     len < data_end - 48 ? "header size" :
				     "past the end";

		if (!fails_with(&sb, len, MBR_ECORRUPT, needle)) {
			printf("# prefix of %zu bytes\n", len);
			UT_CHECK(0);
			break;
		}
	}
	strbuf_release(&sb);
}

static void test_modelfile__safetensors_bad(void)
{
	struct strbuf sb = STRBUF_INIT;

	build_st(&sb, st_valid, ST_DATA);
	patch_le(&sb, 0, sb.len, 8);
	UT_CHECK(fails_with(&sb, sb.len, MBR_ECORRUPT, "header size"));
	patch_le(&sb, 0, UINT64_MAX, 8);
	UT_CHECK(fails_with(&sb, sb.len, MBR_ECORRUPT, "runs past the end of the file"));

	UT_CHECK(st_fails("{\"a\":", 0, MBR_ECORRUPT, "invalid JSON header"));
	UT_CHECK(st_fails("[1]", 0, MBR_ECORRUPT, "bad magic"));
	UT_CHECK(st_fails("{\"a\":1}", 0, MBR_ECORRUPT, "tensor 'a' is not a JSON object"));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, MBR_ECORRUPT, "tensor 'a' has no \"data_offsets\""));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, MBR_ECORRUPT, "data_offsets"));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,-8]}}", 8, MBR_ECORRUPT, "data_offsets"));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", 12, MBR_ECORRUPT, "data_offsets [0, 12) hold 12 bytes, its dtype and shape need 8"));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, MBR_ECORRUPT, "data_offsets [8, 0)"));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 8, MBR_ECORRUPT, "tensor 'a' data ["));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, MBR_EUNSUPPORTED, "tensor 'a' has unsupported dtype 'F7'"));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"Q4_0\",\"shape\":[32],\"data_offsets\":[0,18]}}", 18, MBR_EUNSUPPORTED, "unsupported dtype 'Q4_0'"));
	UT_CHECK(st_fails("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, MBR_ECORRUPT, "no string \"dtype\""));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, MBR_ECORRUPT, "shape[0] is not a non-negative integer"));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, MBR_ECORRUPT, "shape[0]"));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, MBR_ECORRUPT, "no array \"shape\""));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, MBR_EUNSUPPORTED, "9 dimensions"));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, MBR_ECORRUPT, "overflows"));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
			  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, MBR_ECORRUPT, "overlaps tensor 'a'"));
	UT_CHECK(st_fails("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
			  "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, MBR_ECORRUPT, "duplicate object key"));
	UT_CHECK(st_fails("{\"__metadata__\":{\"k\":1}}", 0, MBR_ECORRUPT, "__metadata__ value of 'k' is not a string"));
	UT_CHECK(st_fails("{\"__metadata__\":[]}", 0, MBR_ECORRUPT, "__metadata__ is not a JSON object"));
	strbuf_release(&sb);
}

/* mbr_modelfile_open maps the file and gives the same parse. */
static void test_modelfile__open(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct mbr_modelfile *mf = (void *)1;
	char path[] = "/tmp/u-modelfile-XXXXXX";
	struct layout l;
	int fd = mkstemp(path);

	UT_ASSERT(fd >= 0);
	UT_EQ_INT(mbr_modelfile_open(&mf, path), MBR_ECORRUPT);
	UT_CHECK(mf == NULL && strstr(mbr_error_last(), "empty file"));
	UT_CHECK(strstr(mbr_error_last(), path) != NULL);

	build_gguf(&sb, &l, 3, 64);
	UT_ASSERT(write(fd, sb.buf, sb.len) == (ssize_t)sb.len);
	close(fd);
	UT_ASSERT(mbr_modelfile_open(&mf, path) == 0);
	UT_EQ_INT(mf->mapped, 1);
	UT_EQ_INT(mf->size, sb.len);
	UT_CHECK(!memcmp(mf->data, sb.buf, sb.len));
	check_tensors(mf, &l);
	check_gguf_regions(mf, &l);
	mbr_modelfile_free(mf);
	unlink(path);

	UT_EQ_INT(mbr_modelfile_open(&mf, path), MBR_ENOTFOUND);
	UT_CHECK(strstr(mbr_error_last(), path) != NULL);
	UT_EQ_INT(mbr_modelfile_open(&mf, "/tmp"), MBR_EINVALID);
	UT_CHECK(strstr(mbr_error_last(), "not a regular file") != NULL);
	mbr_modelfile_free(NULL);
	strbuf_release(&sb);
}

static void test_modelfile__gguf_type_name(void)
{
	UT_EQ_STR(mbr_gguf_type_name(MBR_GGUF_UINT32), "uint32");
	UT_EQ_STR(mbr_gguf_type_name(MBR_GGUF_STRING), "string");
	UT_EQ_STR(mbr_gguf_type_name(MBR_GGUF_FLOAT64), "float64");
	UT_CHECK(mbr_gguf_type_name(13) == NULL);
	UT_CHECK(mbr_gguf_type_name(-1) == NULL);
}

static const struct unit_test tests[] = {
	UT(test_modelfile__gguf_v3),
	UT(test_modelfile__gguf_v2_default_alignment),
	UT(test_modelfile__gguf_every_truncation),
	UT(test_modelfile__gguf_truncation_message),
	UT(test_modelfile__gguf_bad_header),
	UT(test_modelfile__gguf_bad_metadata),
	UT(test_modelfile__gguf_bad_tensor_info),
	UT(test_modelfile__gguf_limits),
	UT(test_modelfile__safetensors_valid),
	UT(test_modelfile__safetensors_empty),
	UT(test_modelfile__safetensors_every_truncation),
	UT(test_modelfile__safetensors_bad),
	UT(test_modelfile__open),
	UT(test_modelfile__gguf_type_name),
	{ 0 }
};
UNIT_MAIN(tests)
