/*
 * u-manifest.c - manifests built from hand-made modelfiles, their canonical
 * text, round trips, and hostile input.
 */
#include <math.h>
#include "unit.h"
#include "mbr/manifest.h"
#include "mbr/types.h"

static struct mbr_oid oid_of(unsigned char byte)
{
	struct mbr_oid id;

	memset(id.id, byte, sizeof(id.id));
	return id;
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_f32(unsigned char *p, float f)
{
	memcpy(p, &f, 4);	/* the test runs on little-endian hosts */
}

/*
 * A fake 4840-byte GGUF: only the array element bytes are real, as the
 * manifest reads nothing else from the data. Regions: header [0,256),
 * scores array [256,4656), header [4656,4672), tensor 0 [4672,4704),
 * zero padding [4704,4736), tensor 1 [4736,4838) in three chunks of 40,
 * trailing bytes [4838,4840).
 */
#define BIG_SIZE 4840
static unsigned char big_data[BIG_SIZE];

static struct mbr_kv big_kv[] = {
	{ .key = "general.architecture", .type = MBR_GGUF_STRING, .str = "llama", .str_len = 5 },
	{ .key = "general.name", .type = MBR_GGUF_STRING, .str = "tiny\0x", .str_len = 6 },
	{ .key = "tokenizer.ggml.model", .type = MBR_GGUF_STRING, .str = "gpt2", .str_len = 4 },
	{ .key = "tokenizer.ggml.tokens", .type = MBR_GGUF_ARRAY, .elem_type = MBR_GGUF_STRING,
	  .count = 3, .value_offset = 100, .value_len = 29 },
	{ .key = "test.i8s", .type = MBR_GGUF_ARRAY, .elem_type = MBR_GGUF_INT8,
	  .count = 2, .value_offset = 140, .value_len = 2 },
	{ .key = "test.f32s", .type = MBR_GGUF_ARRAY, .elem_type = MBR_GGUF_FLOAT32,
	  .count = 2, .value_offset = 150, .value_len = 8 },
	{ .key = "tokenizer.ggml.scores", .type = MBR_GGUF_ARRAY, .elem_type = MBR_GGUF_FLOAT32,
	  .count = 1100, .value_offset = 256, .value_len = 4400 },
	{ .key = "test.u64", .type = MBR_GGUF_UINT64, .v.u = UINT64_MAX },
	{ .key = "test.u64small", .type = MBR_GGUF_UINT64, .v.u = 5 },
	{ .key = "test.eps", .type = MBR_GGUF_FLOAT32, .v.f = 1e-5f },
	{ .key = "test.neginf", .type = MBR_GGUF_FLOAT64, .v.f = -INFINITY },
	{ .key = "test.bool", .type = MBR_GGUF_BOOL, .v.u = 1 },
	{ .key = "test.i32", .type = MBR_GGUF_INT32, .v.i = -7 },
	{ .key = "test.raw", .type = MBR_GGUF_STRING, .str = "\xff\xfe", .str_len = 2 },
	{ .key = "test.nested", .type = MBR_GGUF_ARRAY, .elem_type = MBR_GGUF_ARRAY,
	  .count = 2, .value_offset = 160, .value_len = 24 },
};

static struct mbr_tensor_info big_tensors[] = {
	{ .name = "token_embd.weight", .type = MBR_TYPE_F32, .n_dims = 2, .ne = { 4, 2 },
	  .offset = 4672, .size = 32 },
	{ .name = "blk.0.attn_q.weight", .type = MBR_TYPE_Q8_0, .n_dims = 2, .ne = { 32, 3 },
	  .offset = 4736, .size = 102 },
};

static struct mbr_region big_regions[] = {
	{ 0, 256, MBR_REGION_HEADER, 0 },
	{ 256, 4400, MBR_REGION_ARRAY, 6 },
	{ 4656, 16, MBR_REGION_HEADER, 0 },
	{ 4672, 32, MBR_REGION_TENSOR, 0 },
	{ 4704, 32, MBR_REGION_PADDING, 0 },
	{ 4736, 102, MBR_REGION_TENSOR, 1 },
	{ 4838, 2, MBR_REGION_PADDING, 0 },
};

static struct mbr_oid ids[8];
static struct mbr_region_store big_stores[7];

static struct mbr_modelfile big_mf = {
	.path = "big.gguf", .format = MBR_FORMAT_GGUF, .version = 3, .alignment = 32,
	.data_offset = 4672, .data = big_data, .size = BIG_SIZE,
	.kv = big_kv, .n_kv = MBR_ARRAY_SIZE(big_kv),
	.tensors = big_tensors, .n_tensors = MBR_ARRAY_SIZE(big_tensors),
	.regions = big_regions, .n_regions = MBR_ARRAY_SIZE(big_regions),
};

static void setup_big(void)
{
	unsigned char *p = big_data + 100;

	for (size_t i = 0; i < MBR_ARRAY_SIZE(big_kv); i++)
		big_kv[i].key_len = strlen(big_kv[i].key);
	memset(big_data, 0, sizeof(big_data));
	put_u64(p, 1);
	memcpy(p + 8, "a", 1);
	put_u64(p + 9, 3);
	memcpy(p + 17, "b\xc3\xa9", 3);
	put_u64(p + 20, 1);
	p[28] = 0xff;			/* not UTF-8: listed as null */
	big_data[140] = 0xff;		/* int8 -1 */
	big_data[141] = 5;
	put_f32(big_data + 150, 1.5f);
	put_f32(big_data + 154, NAN);
	for (int i = 0; i < 1100; i++)
		put_f32(big_data + 256 + 4 * i, i * 0.5f);
	big_data[4838] = 0xab;
	big_data[4839] = 0xcd;

	for (int i = 0; i < 8; i++)
		ids[i] = oid_of((unsigned char)(0xa0 + i));
	memset(big_stores, 0, sizeof(big_stores));
	big_stores[0] = (struct mbr_region_store){ .ids = &ids[0], .n_ids = 1 };
	big_stores[1] = (struct mbr_region_store){ .ids = &ids[1], .n_ids = 1 };
	big_stores[2] = (struct mbr_region_store){ .ids = &ids[2], .n_ids = 1 };
	big_stores[3] = (struct mbr_region_store){ .ids = &ids[3], .n_ids = 1, .chunk_size = 32 };
	big_stores[4] = (struct mbr_region_store){ .zeros = 1 };
	big_stores[5] = (struct mbr_region_store){ .ids = &ids[4], .n_ids = 3, .chunk_size = 40 };
	big_stores[6] = (struct mbr_region_store){ .ids = &ids[7], .n_ids = 1 };
}

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int tensors_equal(const struct mbr_manifest_tensor *a, const struct mbr_manifest_tensor *b)
{
	return !strcmp(a->name, b->name) && a->type == b->type && a->n_dims == b->n_dims &&
		!memcmp(a->ne, b->ne, sizeof(a->ne)) && a->offset == b->offset &&
		a->size == b->size && a->chunk_size == b->chunk_size &&
		a->n_chunks == b->n_chunks &&
		!memcmp(a->chunks, b->chunks, a->n_chunks * sizeof(*a->chunks));
}

static int segments_equal(const struct mbr_manifest_segment *a, const struct mbr_manifest_segment *b)
{
	return a->kind == b->kind && a->size == b->size &&
		(a->kind != MBR_SEG_OBJECT || !mbr_oid_cmp(&a->id, &b->id)) &&
		(a->kind != MBR_SEG_TENSOR || a->tensor == b->tensor);
}

static int manifests_equal(const struct mbr_manifest *a, const struct mbr_manifest *b)
{
	if (a->format != b->format || a->format_version != b->format_version ||
	    a->alignment != b->alignment || mbr_oid_cmp(&a->file_sha256, &b->file_sha256) ||
	    a->file_size != b->file_size || !str_eq(a->license, b->license) ||
	    !json_equal(a->metadata, b->metadata) || a->n_tensors != b->n_tensors ||
	    a->n_segments != b->n_segments || a->n_params != b->n_params ||
	    !str_eq(a->architecture, b->architecture) || !str_eq(a->tokenizer, b->tokenizer) ||
	    !str_eq(a->model_name, b->model_name))
		return 0;
	for (size_t i = 0; i < a->n_tensors; i++)
		if (!tensors_equal(&a->tensors[i], &b->tensors[i]))
			return 0;
	for (size_t i = 0; i < a->n_segments; i++)
		if (!segments_equal(&a->segments[i], &b->segments[i]))
			return 0;
	return 1;
}

static const char *meta_str(const struct mbr_manifest *m, const char *key, const char *field)
{
	return json_string_value(json_object_get(mbr_manifest_meta(m, key), field));
}

static char *dump(json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

#define META_VALUE_IS(m, key, text) do { \
	char *ut_s = dump(json_object_get(mbr_manifest_meta(m, key), "value")); \
	UT_EQ_STR(ut_s, text); free(ut_s); } while (0)

/* Every value form of the schema, from the modelfile. */
static void check_big_metadata(const struct mbr_manifest *m)
{
	json_t *tokens = mbr_manifest_meta(m, "tokenizer.ggml.tokens");
	json_t *scores = mbr_manifest_meta(m, "tokenizer.ggml.scores");
	char *s;

	UT_EQ_INT(json_array_size(m->metadata), MBR_ARRAY_SIZE(big_kv));
	UT_EQ_STR(meta_str(m, "general.architecture", "value"), "llama");
	UT_EQ_INT(json_string_length(json_object_get(mbr_manifest_meta(m, "general.name"), "value")), 6);
	UT_EQ_STR(meta_str(m, "test.raw", "hex"), "fffe");
	UT_CHECK(!json_object_get(mbr_manifest_meta(m, "test.raw"), "value"));
	META_VALUE_IS(m, "test.u64", "\"18446744073709551615\"");
	META_VALUE_IS(m, "test.u64small", "5");
	META_VALUE_IS(m, "test.neginf", "\"-inf\"");
	META_VALUE_IS(m, "test.bool", "true");
	META_VALUE_IS(m, "test.i32", "-7");
	UT_CHECK(json_real_value(json_object_get(mbr_manifest_meta(m, "test.eps"), "value"))
		 == (double)1e-5f);

	UT_EQ_STR(meta_str(m, "tokenizer.ggml.tokens", "elem_type"), "string");
	UT_EQ_STR(meta_str(m, "tokenizer.ggml.tokens", "digest"),
		  "sha256:821e0da49d054861cee7f4c3160ff12bf93ca8c49215553dee0afdf73124d2a0");
	s = dump(json_object_get(tokens, "values"));
	UT_EQ_STR(s, "[\"a\",\"b\xc3\xa9\",null]");
	free(s);
	s = dump(json_object_get(mbr_manifest_meta(m, "test.i8s"), "values"));
	UT_EQ_STR(s, "[-1,5]");
	free(s);
	s = dump(json_object_get(mbr_manifest_meta(m, "test.f32s"), "values"));
	UT_EQ_STR(s, "[1.5,\"nan\"]");
	free(s);
	s = dump(json_object_get(mbr_manifest_meta(m, "test.nested"), "values"));
	UT_EQ_STR(s, "[null,null]");
	free(s);

	UT_EQ_INT(json_integer_value(json_object_get(scores, "count")), 1100);
	UT_CHECK(!json_object_get(scores, "values"));
	UT_EQ_STR(json_string_value(json_object_get(scores, "digest")),
		  "sha256:abfb4d28d52b79620a21c8b76480c49b93b100db99855e05e90169bdd226e69f");
}

struct seen_objects {
	struct mbr_oid ids[16];
	uint64_t sizes[16];
	size_t n;
};

static int collect_object(const struct mbr_oid *id, uint64_t size, void *payload)
{
	struct seen_objects *seen = payload;

	if (seen->n == 16)
		return -1;
	seen->ids[seen->n] = *id;
	seen->sizes[seen->n++] = size;
	return 0;
}

static void check_big_structure(const struct mbr_manifest *m)
{
	static const unsigned char want_ids[] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7 };
	static const uint64_t want_sizes[] = { 256, 4400, 16, 32, 40, 40, 22, 2 };
	struct seen_objects seen = { .n = 0 };
	const struct mbr_manifest_tensor *t;

	UT_EQ_INT(m->n_params, 8 + 96);
	UT_EQ_STR(m->architecture, "llama");
	UT_EQ_STR(m->tokenizer, "gpt2");
	UT_CHECK(!m->model_name);	/* general.name holds a NUL */
	UT_EQ_INT(m->n_segments, 7);
	UT_EQ_INT(m->segments[4].kind, MBR_SEG_ZEROS);
	UT_EQ_INT(m->segments[5].kind, MBR_SEG_TENSOR);
	UT_EQ_INT(m->segments[5].tensor, 1);

	UT_ASSERT((t = mbr_manifest_tensor(m, "blk.0.attn_q.weight")));
	UT_EQ_INT(t->n_chunks, 3);
	UT_EQ_INT(t->chunk_size, 40);
	UT_ASSERT((t = mbr_manifest_tensor(m, "token_embd.weight")));
	UT_EQ_INT(t->n_chunks, 1);
	UT_EQ_INT(t->chunk_size, 32);
	UT_CHECK(!mbr_manifest_tensor(m, "nope"));

	UT_EQ_INT(mbr_manifest_foreach_object(m, collect_object, &seen), 0);
	UT_EQ_INT(seen.n, 8);
	for (size_t i = 0; i < seen.n && i < 8; i++) {
		struct mbr_oid want = oid_of(want_ids[i]);

		UT_CHECK(!mbr_oid_cmp(&seen.ids[i], &want));
		UT_EQ_INT(seen.sizes[i], want_sizes[i]);
	}
}

static int stop_at_two(const struct mbr_oid *id, uint64_t size, void *payload)
{
	return ++*(int *)payload == 2 ? 42 : 0;
}

static void test_manifest__from_modelfile_round_trip(void)
{
	struct mbr_manifest *m = NULL, *back = NULL;
	struct strbuf text = STRBUF_INIT, again = STRBUF_INIT;
	struct mbr_oid file_id = oid_of(0x5f);
	int calls = 0;

	setup_big();
	UT_ASSERT(!mbr_manifest_from_modelfile(&m, &big_mf, big_stores, &file_id, "Apache-2.0"));
	check_big_metadata(m);
	check_big_structure(m);
	UT_EQ_INT(mbr_manifest_foreach_object(m, stop_at_two, &calls), 42);

	UT_ASSERT(!mbr_manifest_write_json(&text, m));
	/* one entry per line */
	UT_CHECK(strstr(text.buf, "\n{\"key\":\"test.i32\",\"type\":\"int32\",\"value\":-7},\n"));
	UT_CHECK(strstr(text.buf, "\n{\"name\":\"blk.0.attn_q.weight\",\"type\":\"Q8_0\","
			"\"shape\":[32,3],\"offset\":4736,\"size\":102,\"chunk_size\":40,"
			"\"objects\":[\"sha256:a4a4"));
	UT_CHECK(strstr(text.buf, "\n{\"zeros\":32},\n{\"tensor\":1},\n"));
	UT_CHECK(strstr(text.buf, "\"tensor_types\":{\"F32\":1,\"Q8_0\":1}"));
	UT_CHECK(text.buf[text.len - 1] == '\n' && text.buf[text.len - 2] == '}');

	UT_ASSERT(!mbr_manifest_parse(&back, text.buf, text.len, "big:manifest.json"));
	UT_CHECK(manifests_equal(m, back));
	UT_ASSERT(!mbr_manifest_write_json(&again, back));
	UT_EQ_STR(again.buf, text.buf);

	strbuf_release(&text);
	strbuf_release(&again);
	mbr_manifest_free(m);
	mbr_manifest_free(back);
}

static void test_manifest__bad_region_stores(void)
{
	struct mbr_manifest *m = (void *)1;
	struct mbr_oid file_id = oid_of(0x5f);

	setup_big();
	big_stores[5].n_ids = 2;	/* 102 bytes in chunks of 40 need 3 */
	UT_EQ_INT(mbr_manifest_from_modelfile(&m, &big_mf, big_stores, &file_id, NULL),
		  MBR_EINVALID);
	UT_CHECK(!m);
	setup_big();
	big_regions[2].len = 15;	/* a gap before tensor 0 */
	UT_EQ_INT(mbr_manifest_from_modelfile(&m, &big_mf, big_stores, &file_id, NULL),
		  MBR_EINVALID);
	big_regions[2].len = 16;
}

/*
 * The golden text, written by hand from the schema: a 40-byte file of a
 * 32-byte header and one F32 tensor of two elements.
 */
#define H11 "1111111111111111111111111111111111111111111111111111111111111111"
#define H22 "2222222222222222222222222222222222222222222222222222222222222222"
#define H33 "3333333333333333333333333333333333333333333333333333333333333333"
static const char golden[] =
	"{\n"
	"\"schema\":\"mbr.manifest/1\",\n"
	"\"format\":\"gguf\",\n"
	"\"format_version\":3,\n"
	"\"alignment\":32,\n"
	"\"file\":{\"sha256\":\"sha256:" H33 "\",\"size\":40},\n"
	"\"license\":\"MIT\",\n"
	"\"summary\":{\"architecture\":\"llama\",\"name\":null,\"tokenizer\":null,"
	"\"parameters\":2,\"tensor_types\":{\"F32\":1},\"tensors\":1},\n"
	"\"metadata\":[\n"
	"{\"key\":\"general.architecture\",\"type\":\"string\",\"value\":\"llama\"},\n"
	"{\"key\":\"llama.block_count\",\"type\":\"uint32\",\"value\":2}\n"
	"],\n"
	"\"tensors\":[\n"
	"{\"name\":\"w\",\"type\":\"F32\",\"shape\":[2],\"offset\":32,\"size\":8,"
	"\"object\":\"sha256:" H22 "\"}\n"
	"],\n"
	"\"layout\":[\n"
	"{\"object\":\"sha256:" H11 "\",\"size\":32},\n"
	"{\"tensor\":0}\n"
	"]\n"
	"}\n";

static void test_manifest__golden_text(void)
{
	static unsigned char data[40];
	struct mbr_kv kv[] = {
		{ .key = "general.architecture", .key_len = 20, .type = MBR_GGUF_STRING,
		  .str = "llama", .str_len = 5 },
		{ .key = "llama.block_count", .key_len = 17, .type = MBR_GGUF_UINT32, .v.u = 2 },
	};
	struct mbr_tensor_info t = { .name = "w", .type = MBR_TYPE_F32, .n_dims = 1,
				     .ne = { 2 }, .offset = 32, .size = 8 };
	struct mbr_region regions[] = {
		{ 0, 32, MBR_REGION_HEADER, 0 }, { 32, 8, MBR_REGION_TENSOR, 0 }
	};
	struct mbr_oid a = oid_of(0x11), b = oid_of(0x22), file_id = oid_of(0x33);
	struct mbr_region_store stores[] = {
		{ .ids = &a, .n_ids = 1 }, { .ids = &b, .n_ids = 1, .chunk_size = 8 }
	};
	struct mbr_modelfile mf = {
		.path = "tiny.gguf", .format = MBR_FORMAT_GGUF, .version = 3,
		.alignment = 32, .data_offset = 32, .data = data, .size = 40,
		.kv = kv, .n_kv = 2, .tensors = &t, .n_tensors = 1,
		.regions = regions, .n_regions = 2,
	};
	struct mbr_manifest *m = NULL, *back = NULL;
	struct strbuf text = STRBUF_INIT;

	UT_ASSERT(!mbr_manifest_from_modelfile(&m, &mf, stores, &file_id, "MIT"));
	UT_ASSERT(!mbr_manifest_write_json(&text, m));
	UT_EQ_STR(text.buf, golden);
	UT_ASSERT(!mbr_manifest_parse(&back, golden, strlen(golden), "tiny:manifest.json"));
	UT_CHECK(manifests_equal(m, back));
	strbuf_reset(&text);
	UT_ASSERT(!mbr_manifest_write_json(&text, back));
	UT_EQ_STR(text.buf, golden);
	strbuf_release(&text);
	mbr_manifest_free(m);
	mbr_manifest_free(back);
	mbr_manifest_free(NULL);
}

/* golden with the one occurrence of old replaced by new; malloc'd */
static char *edit(const char *old, const char *new)
{
	const char *at = strstr(golden, old);
	size_t lo = strlen(old), ln = strlen(new);
	char *s;

	if (!at || strstr(at + 1, old))
		return NULL;
	s = malloc(sizeof(golden) - lo + ln);
	memcpy(s, golden, (size_t)(at - golden));
	memcpy(s + (at - golden), new, ln);
	strcpy(s + (at - golden) + ln, at + lo);
	return s;
}

static const struct hostile {
	const char *old, *new;
	int code;
	const char *message;
} hostile[] = {
	{ "{\n\"schema\"", "{\n\"schema\"", MBR_OK, NULL },	/* control */
	{ "{\n\"schema\"", "x{\n\"schema\"", MBR_ECORRUPT, "not valid JSON" },
	{ "\"tensors\":1}", "\"tensors\":1}}", MBR_ECORRUPT, "not valid JSON" },
	{ "\"format\":\"gguf\"", "\"format\":\"gguf\",\"format\":\"gguf\"",
	  MBR_ECORRUPT, "duplicate object key" },
	{ "mbr.manifest/1", "mbr.manifest/2", MBR_EUNSUPPORTED, "unsupported manifest schema" },
	{ "\"schema\":\"mbr.manifest/1\",\n", "", MBR_ECORRUPT, "schema is missing" },
	{ "\"alignment\":32,\n", "", MBR_ECORRUPT, "alignment is missing" },
	{ "\"alignment\":32", "\"alignment\":0", MBR_ECORRUPT, "alignment is zero" },
	{ "\"alignment\":32", "\"alignment\":\"32\"", MBR_ECORRUPT,
	  "alignment is not a non-negative integer" },
	{ "\"format\":\"gguf\"", "\"format\":\"onnx\"", MBR_ECORRUPT, "format 'onnx'" },
	{ "\"license\":\"MIT\"", "\"license\":5", MBR_ECORRUPT, "license is not a string" },
	{ "\"license\":\"MIT\"", "\"license\":\"MIT\",\"extra\":1", MBR_ECORRUPT,
	  "extra is not a known field" },
	{ "\"size\":40}", "\"size\":-40}", MBR_ECORRUPT, "file.size is not a non-negative" },
	{ "\"size\":40}", "\"size\":41}", MBR_ECORRUPT,
	  "layout covers 40 bytes, but file.size is 41" },
	{ "\"size\":40}", "\"size\":99999999999999999999}", MBR_ECORRUPT, "not valid JSON" },
	{ "sha256:3333", "sha256:Z333", MBR_ECORRUPT, "file.sha256 is not a sha256:<hex> id" },
	{ "sha256:3333", "sha256:A333", MBR_ECORRUPT, "file.sha256 is not a sha256:<hex> id" },
	{ "\"sha256:" H22 "\"", "\"" H22 "\"", MBR_ECORRUPT,
	  "tensors[0].object is not a sha256:<hex> id" },
	{ "\"size\":8,", "\"size\":-8,", MBR_ECORRUPT,
	  "tensors[0].size is not a non-negative integer" },
	{ "\"size\":8,", "\"size\":12,", MBR_ECORRUPT,
	  "tensors[0].size does not match its type and shape" },
	{ "\"type\":\"F32\"", "\"type\":\"Q9_9\"", MBR_ECORRUPT,
	  "tensors[0].type 'Q9_9' is not a known tensor type" },
	{ "\"shape\":[2]", "\"shape\":[2,1,1,1,1,1,1,1,1]", MBR_ECORRUPT,
	  "tensors[0].shape has more than 8 dimensions" },
	{ "\"shape\":[2]", "\"shape\":[2.0]", MBR_ECORRUPT,
	  "tensors[0].shape[0] is not a non-negative integer" },
	{ "\"name\":\"w\",", "", MBR_ECORRUPT, "tensors[0].name is missing" },
	{ "\"offset\":32,", "\"offset\":36,", MBR_ECORRUPT, "tensors[0] lies beyond the end" },
	{ "\"object\":\"sha256:" H22 "\"", "\"chunk_size\":4,\"objects\":[\"sha256:" H22 "\"]",
	  MBR_ECORRUPT, "tensors[0].objects has 1 ids, but size and chunk_size need 2" },
	{ "\"object\":\"sha256:" H22 "\"", "\"chunk_size\":0,\"objects\":[]",
	  MBR_ECORRUPT, "tensors[0].chunk_size must be positive" },
	{ "\"object\":\"sha256:" H22 "\"", "\"objects\":[]", MBR_ECORRUPT,
	  "tensors[0].chunk_size is missing" },
	{ "\"object\":\"sha256:" H22 "\"", "\"object\":null", MBR_ECORRUPT,
	  "tensors[0].object is not a sha256:<hex> id" },
	{ "\"tensors\":[\n{\"name\":\"w\"", "\"tensors\":null,\"x\":[\n{\"name\":\"w\"",
	  MBR_ECORRUPT, "x is not a known field" },
	{ "\"metadata\":[\n{\"key\":\"general.architecture\",\"type\":\"string\",\"value\":\"llama\"},\n"
	  "{\"key\":\"llama.block_count\",\"type\":\"uint32\",\"value\":2}\n]",
	  "\"metadata\":{}", MBR_ECORRUPT, "metadata is not an array" },
	{ "{\"name\":\"w\",\"type\":\"F32\",\"shape\":[2],\"offset\":32,\"size\":8,"
	  "\"object\":\"sha256:" H22 "\"}", "7", MBR_ECORRUPT, "tensors[0] is not an object" },
	{ "\"type\":\"uint32\",\"value\":2", "\"type\":\"uint32\",\"value\":-2",
	  MBR_ECORRUPT, "metadata[1].value is not a valid uint32" },
	{ "\"type\":\"uint32\",\"value\":2", "\"type\":\"uint32\",\"value\":4294967296",
	  MBR_ECORRUPT, "metadata[1].value is not a valid uint32" },
	{ "\"type\":\"uint32\",\"value\":2", "\"type\":\"float32\",\"value\":0.1",
	  MBR_ECORRUPT, "metadata[1].value is not a valid float32" },
	{ "\"type\":\"uint32\",\"value\":2", "\"type\":\"uint64\",\"value\":\"2\"",
	  MBR_ECORRUPT, "metadata[1].value is not a valid uint64" },
	{ "\"type\":\"uint32\",\"value\":2", "\"type\":\"uint33\",\"value\":2",
	  MBR_ECORRUPT, "metadata[1].type 'uint33' is not a metadata type" },
	{ "\"type\":\"uint32\",\"value\":2", "\"type\":\"uint32\"",
	  MBR_ECORRUPT, "metadata[1].value is missing" },
	{ "\"value\":\"llama\"", "\"hex\":\"6c6c616d6\"", MBR_ECORRUPT,
	  "metadata[0] needs a string value or an even-length hex" },
	{ "\"value\":\"llama\"", "\"hex\":\"6c6c616dXX\"", MBR_ECORRUPT,
	  "metadata[0].hex is not lowercase hex" },
	{ "\"type\":\"uint32\",\"value\":2", "\"type\":\"array\",\"elem_type\":\"uint8\","
	  "\"count\":2,\"digest\":\"sha256:" H11 "\",\"values\":[1,256]",
	  MBR_ECORRUPT, "metadata[1].values[1] is not a valid uint8" },
	{ "\"type\":\"uint32\",\"value\":2", "\"type\":\"array\",\"elem_type\":\"uint8\","
	  "\"count\":3,\"digest\":\"sha256:" H11 "\",\"values\":[1,2]",
	  MBR_ECORRUPT, "metadata[1].values is not an array of count elements" },
	{ "\"type\":\"uint32\",\"value\":2", "\"type\":\"array\",\"elem_type\":\"uint8\","
	  "\"count\":65,\"digest\":\"sha256:" H11 "\",\"values\":[]",
	  MBR_ECORRUPT, "metadata[1].values is listed for more than 64 elements" },
	{ "\"parameters\":2", "\"parameters\":3", MBR_ECORRUPT,
	  "summary.parameters does not agree with the metadata and tensors" },
	{ "\"architecture\":\"llama\"", "\"architecture\":\"gpt2\"", MBR_ECORRUPT,
	  "summary.architecture does not agree" },
	{ "{\"F32\":1}", "{\"F32\":1,\"F16\":0}", MBR_ECORRUPT,
	  "summary.tensor_types does not agree" },
	{ "\"tokenizer\":null,", "", MBR_ECORRUPT, "summary.tokenizer is missing" },
	{ "{\"tensor\":0}", "{\"tensor\":1}", MBR_ECORRUPT, "layout[1].tensor 1 is out of range" },
	{ "{\"tensor\":0}", "{\"tensor\":-1}", MBR_ECORRUPT,
	  "layout[1].tensor is not a non-negative integer" },
	{ "{\"tensor\":0}", "{\"tensor\":0},\n{\"tensor\":0}", MBR_ECORRUPT,
	  "layout[2] refers to tensors[0] a second time" },
	{ "{\"tensor\":0}", "{\"zeros\":8}", MBR_ECORRUPT, "tensors[0] is not in the layout" },
	{ "{\"tensor\":0}", "{\"tensor\":0,\"size\":8}", MBR_ECORRUPT,
	  "layout[1].size is not a known field" },
	{ "{\"tensor\":0}", "{\"blob\":0}", MBR_ECORRUPT,
	  "layout[1] is not an object, zeros or tensor segment" },
	{ "{\"tensor\":0}", "[]", MBR_ECORRUPT,
	  "layout[1] is not an object, zeros or tensor segment" },
	{ "\"size\":32}", "\"size\":31}", MBR_ECORRUPT,
	  "layout[1] puts tensors[0] at 31, but its offset is 32" },
	{ "{\"object\":\"sha256:" H11 "\",\"size\":32}",
	  "{\"zeros\":9223372036854775807},{\"zeros\":9223372036854775807},"
	  "{\"zeros\":9223372036854775807}", MBR_ECORRUPT, "layout sizes overflow" },
};

static void test_manifest__hostile(void)
{
	for (size_t i = 0; i < MBR_ARRAY_SIZE(hostile); i++) {
		const struct hostile *h = &hostile[i];
		struct mbr_manifest *m = (void *)1;
		char *text = edit(h->old, h->new);
		int err;

		UT_ASSERT(text);
		mbr_error_clear();
		err = mbr_manifest_parse(&m, text, strlen(text), "tiny:manifest.json");
		if (err != h->code)
			printf("# case %zu: got %d\n", i, err);
		UT_EQ_INT(err, h->code);
		UT_CHECK(h->code ? !m : !!m);
		if (h->message && (strncmp(mbr_error_last(), "tiny:manifest.json: ", 20) ||
				   !strstr(mbr_error_last(), h->message))) {
			printf("# case %zu: want '%s'\n", i, h->message);
			UT_CHECK(!"message names the file and the field");
		}
		mbr_manifest_free(h->code ? NULL : m);
		free(text);
	}
}

static void test_manifest__not_json(void)
{
	struct mbr_manifest *m;

	UT_EQ_INT(mbr_manifest_parse(&m, "", 0, "x"), MBR_ECORRUPT);
	UT_EQ_INT(mbr_manifest_parse(&m, "[1]", 3, "x"), MBR_ECORRUPT);
	UT_EQ_STR(mbr_error_last(), "x: not a JSON object");
	UT_EQ_INT(mbr_manifest_parse(&m, "{}", 2, "x"), MBR_ECORRUPT);
	UT_EQ_STR(mbr_error_last(), "x: schema is missing");
	UT_EQ_INT(mbr_manifest_parse(&m, golden, strlen(golden) - 3, "x"), MBR_ECORRUPT);
}

/* Every truncation and many one-byte changes: errors, never a crash. */
static void test_manifest__mangled(void)
{
	static const char subst[] = "0-9\"}]x ";
	size_t len = strlen(golden), ok = 0;
	char *buf = malloc(len + 1);

	UT_ASSERT(buf);
	/* only the final newline may be lost */
	for (size_t n = 0; n < len - 1; n++) {
		struct mbr_manifest *m;

		UT_EQ_INT(mbr_manifest_parse(&m, golden, n, "x"), MBR_ECORRUPT);
	}
	for (size_t i = 0; i < len; i++) {
		for (const char *c = subst; *c; c++) {
			struct mbr_manifest *m = NULL;
			struct strbuf sb = STRBUF_INIT;
			int err;

			memcpy(buf, golden, len + 1);
			buf[i] = *c;
			err = mbr_manifest_parse(&m, buf, len, "x");
			UT_CHECK(err == 0 || err == MBR_ECORRUPT || err == MBR_EUNSUPPORTED);
			if (!err) {
				ok++;
				UT_CHECK(!mbr_manifest_write_json(&sb, m));
			}
			strbuf_release(&sb);
			mbr_manifest_free(m);
		}
	}
	UT_CHECK(ok > 0);	/* e.g. a space where one is harmless */
	free(buf);
}

/* Non-canonical but valid input is accepted and written canonically. */
static void test_manifest__canonicalises(void)
{
	char *text = edit("\"value\":\"llama\"", "\"hex\":\"6c6c616d61\"");
	struct mbr_manifest *m = NULL;
	struct strbuf sb = STRBUF_INIT;

	UT_ASSERT(text);
	UT_ASSERT(!mbr_manifest_parse(&m, text, strlen(text), "x"));
	UT_ASSERT(!mbr_manifest_write_json(&sb, m));
	UT_EQ_STR(sb.buf, golden);
	strbuf_release(&sb);
	mbr_manifest_free(m);
	free(text);
}

static void test_manifest__chunk_size(void)
{
	unsetenv("MBR_TEST_CHUNK_SIZE");
	UT_EQ_INT(mbr_chunk_size(), 1 << 30);
	setenv("MBR_TEST_CHUNK_SIZE", "4096", 1);
	UT_EQ_INT(mbr_chunk_size(), 4096);
	setenv("MBR_TEST_CHUNK_SIZE", "0", 1);
	UT_EQ_INT(mbr_chunk_size(), 1 << 30);
	setenv("MBR_TEST_CHUNK_SIZE", "-5", 1);
	UT_EQ_INT(mbr_chunk_size(), 1 << 30);
	setenv("MBR_TEST_CHUNK_SIZE", "12x", 1);
	UT_EQ_INT(mbr_chunk_size(), 1 << 30);
	unsetenv("MBR_TEST_CHUNK_SIZE");
}

static const struct unit_test tests[] = {
	UT(test_manifest__from_modelfile_round_trip),
	UT(test_manifest__bad_region_stores),
	UT(test_manifest__golden_text),
	UT(test_manifest__hostile),
	UT(test_manifest__not_json),
	UT(test_manifest__mangled),
	UT(test_manifest__canonicalises),
	UT(test_manifest__chunk_size),
	{ 0 }
};
UNIT_MAIN(tests)
