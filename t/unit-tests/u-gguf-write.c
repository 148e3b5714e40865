#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "mbr/gguf-write.h"
#include "mbr/modelfile.h"
#include "mbr/strbuf.h"
#include "mbr/types.h"

static char tmpdir[256];

static const char *scratch(struct strbuf *sb, const char *name)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/u-gguf-write-XXXXXX",
			 base && *base ? base : "/tmp");
		if (!mkdtemp(tmpdir))
			tmpdir[0] = '\0';
	}
	strbuf_reset(sb);
	strbuf_addf(sb, "%s/%s", tmpdir, name);
	return sb->buf;
}

static int count_dir_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static unsigned char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t le32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Raw element bytes of a GGUF string array. */
static void add_gguf_string(struct strbuf *sb, const char *s)
{
	uint64_t n = strlen(s);

	strbuf_add(sb, &n, sizeof(n));
	strbuf_add(sb, s, n);
}

static float f32_data[6] = { 1, -2, 3.5f, 0.25f, -1e9f, 7 };	/* [3, 2] */
static unsigned char q8_data[2 * 34];				/* Q8_0 [32, 2] */
static uint16_t f16_data[5] = { 0x3c00, 0xc000, 0, 0x7bff, 1 };

static int fill_f16(void *payload, void *buf, uint64_t size)
{
	int *calls = payload;

	(*calls)++;
	memcpy(buf, f16_data, size);
	return 0;
}

/* A writer with one entry of every kind and three awkwardly sized tensors. */
static int build_sample(struct mbr_gguf_writer **out, uint32_t alignment, int *fill_calls)
{
	static const int32_t ints[3] = { -1, 0, 70000 };
	struct strbuf strs = STRBUF_INIT;
	uint64_t ne_f32[2] = { 3, 2 }, ne_q8[2] = { 32, 2 }, ne_f16[1] = { 5 };
	struct mbr_gguf_writer *w;
	int error;

	for (size_t i = 0; i < sizeof(q8_data); i++)
		q8_data[i] = (unsigned char)(i * 7 + 1);
	add_gguf_string(&strs, "<s>");
	add_gguf_string(&strs, "");
	add_gguf_string(&strs, "h\xc3\xa9llo");
	if ((error = mbr_gguf_writer_new(&w, alignment)) < 0)
		return error;
	if (mbr_gguf_writer_add_kv_string(w, "general.architecture", "llama") ||
	    mbr_gguf_writer_add_kv_string_len(w, "nul.string", "a\0b", 3) ||
	    mbr_gguf_writer_add_kv_u8(w, "t.u8", 200) ||
	    mbr_gguf_writer_add_kv_i8(w, "t.i8", -100) ||
	    mbr_gguf_writer_add_kv_u16(w, "t.u16", 60000) ||
	    mbr_gguf_writer_add_kv_i16(w, "t.i16", -30000) ||
	    mbr_gguf_writer_add_kv_u32(w, "t.u32", 4000000000u) ||
	    mbr_gguf_writer_add_kv_i32(w, "t.i32", -2000000000) ||
	    mbr_gguf_writer_add_kv_f32(w, "t.f32", 1e-5f) ||
	    mbr_gguf_writer_add_kv_u64(w, "t.u64", UINT64_MAX - 1) ||
	    mbr_gguf_writer_add_kv_i64(w, "t.i64", INT64_MIN + 1) ||
	    mbr_gguf_writer_add_kv_f64(w, "t.f64", 0.1) ||
	    mbr_gguf_writer_add_kv_bool(w, "t.bool", 7) ||
	    mbr_gguf_writer_add_kv_array(w, "t.ints", MBR_GGUF_INT32, 3, ints, sizeof(ints)) ||
	    mbr_gguf_writer_add_kv_array(w, "t.strs", MBR_GGUF_STRING, 3, strs.buf, strs.len) ||
	    mbr_gguf_writer_add_kv_array(w, "t.empty", MBR_GGUF_FLOAT32, 0, NULL, 0) ||
	    mbr_gguf_writer_add_tensor(w, "a.f32", MBR_TYPE_F32, 2, ne_f32, f32_data, sizeof(f32_data)) ||
	    mbr_gguf_writer_add_tensor(w, "b.q8", MBR_TYPE_Q8_0, 2, ne_q8, q8_data, sizeof(q8_data)) ||
	    mbr_gguf_writer_add_tensor_fn(w, "c.f16", MBR_TYPE_F16, 1, ne_f16, fill_f16, fill_calls))
		error = -1;
	strbuf_release(&strs);
	if (error)
		mbr_gguf_writer_free(w);
	else
		*out = w;
	return error;
}

static const struct mbr_kv *kv_of(const struct mbr_modelfile *mf, const char *key, int type)
{
	const struct mbr_kv *kv = mbr_modelfile_kv(mf, key);

	return kv && kv->type == type ? kv : NULL;
}

static void check_sample_kv(const struct mbr_modelfile *mf)
{
	const struct mbr_kv *kv;

	UT_ASSERT((kv = kv_of(mf, "general.architecture", MBR_GGUF_STRING)));
	UT_EQ_STR(kv->str, "llama");
	UT_ASSERT((kv = kv_of(mf, "nul.string", MBR_GGUF_STRING)));
	UT_CHECK(kv->str_len == 3 && !memcmp(kv->str, "a\0b", 3));
	UT_CHECK((kv = kv_of(mf, "t.u8", MBR_GGUF_UINT8)) && kv->v.u == 200);
	UT_CHECK((kv = kv_of(mf, "t.i8", MBR_GGUF_INT8)) && kv->v.i == -100);
	UT_CHECK((kv = kv_of(mf, "t.u16", MBR_GGUF_UINT16)) && kv->v.u == 60000);
	UT_CHECK((kv = kv_of(mf, "t.i16", MBR_GGUF_INT16)) && kv->v.i == -30000);
	UT_CHECK((kv = kv_of(mf, "t.u32", MBR_GGUF_UINT32)) && kv->v.u == 4000000000u);
	UT_CHECK((kv = kv_of(mf, "t.i32", MBR_GGUF_INT32)) && kv->v.i == -2000000000);
	UT_CHECK((kv = kv_of(mf, "t.f32", MBR_GGUF_FLOAT32)) && kv->v.f == (double)1e-5f);
	UT_CHECK((kv = kv_of(mf, "t.u64", MBR_GGUF_UINT64)) && kv->v.u == UINT64_MAX - 1);
	UT_CHECK((kv = kv_of(mf, "t.i64", MBR_GGUF_INT64)) && kv->v.i == INT64_MIN + 1);
	UT_CHECK((kv = kv_of(mf, "t.f64", MBR_GGUF_FLOAT64)) && kv->v.f == 0.1);
	UT_CHECK((kv = kv_of(mf, "t.bool", MBR_GGUF_BOOL)) && kv->v.u == 1);
	UT_ASSERT((kv = kv_of(mf, "t.ints", MBR_GGUF_ARRAY)));
	UT_CHECK(kv->elem_type == MBR_GGUF_INT32 && kv->count == 3 && kv->value_len == 12);
	UT_CHECK(le32(mf->data + kv->value_offset + 8) == 70000);
	UT_ASSERT((kv = kv_of(mf, "t.strs", MBR_GGUF_ARRAY)));
	UT_CHECK(kv->elem_type == MBR_GGUF_STRING && kv->count == 3);
	UT_CHECK(le64(mf->data + kv->value_offset) == 3 &&
		 !memcmp(mf->data + kv->value_offset + 8, "<s>", 3));
	UT_ASSERT((kv = kv_of(mf, "t.empty", MBR_GGUF_ARRAY)));
	UT_CHECK(kv->count == 0 && kv->elem_type == MBR_GGUF_FLOAT32);
}

static void check_tensor(const struct mbr_modelfile *mf, const char *name, int type,
			 uint32_t n_dims, uint64_t ne0, uint64_t ne1,
			 const void *data, size_t size)
{
	const struct mbr_tensor_info *t = mbr_modelfile_tensor(mf, name);

	UT_ASSERT(t);
	UT_EQ_INT(t->type, type);
	UT_EQ_INT(t->n_dims, n_dims);
	UT_EQ_INT(t->ne[0], ne0);
	if (n_dims > 1)
		UT_EQ_INT(t->ne[1], ne1);
	UT_EQ_INT(t->size, size);
	UT_EQ_INT(t->offset % mf->alignment, 0);
	UT_CHECK(!memcmp(mf->data + t->offset, data, size));
}

static void test_gguf_write__roundtrip(void)
{
	struct strbuf path = STRBUF_INIT;
	struct mbr_gguf_writer *w = NULL;
	struct mbr_modelfile *mf = NULL;
	unsigned char *buf;
	size_t len = 0;
	int calls = 0;

	UT_ASSERT(build_sample(&w, 64, &calls) == 0);
	UT_ASSERT(mbr_gguf_writer_write_file(w, scratch(&path, "sample.gguf")) == 0);
	mbr_gguf_writer_free(w);
	UT_EQ_INT(calls, 1);
	UT_EQ_INT(count_dir_entries(), 1);	/* no temporary left behind */
	UT_ASSERT((buf = read_whole(path.buf, &len)));

	/* header by hand: magic, version 3, 3 tensors, 17 entries, and
	 * general.alignment first because the alignment is not 32 */
	UT_CHECK(!memcmp(buf, "GGUF", 4));
	UT_EQ_INT(le32(buf + 4), 3);
	UT_EQ_INT(le64(buf + 8), 3);
	UT_EQ_INT(le64(buf + 16), 17);
	UT_EQ_INT(le64(buf + 24), 17);
	UT_CHECK(!memcmp(buf + 32, "general.alignment", 17));
	UT_EQ_INT(le32(buf + 49), MBR_GGUF_UINT32);
	UT_EQ_INT(le32(buf + 53), 64);
	UT_EQ_INT(len % 64, 0);

	UT_ASSERT(mbr_modelfile_parse(&mf, buf, len, "sample.gguf") == 0);
	UT_EQ_INT(mf->version, 3);
	UT_EQ_INT(mf->alignment, 64);
	UT_EQ_INT(mf->n_kv, 17);
	UT_EQ_INT(mf->n_tensors, 3);
	UT_EQ_INT(mf->data_offset % 64, 0);
	check_sample_kv(mf);
	check_tensor(mf, "a.f32", MBR_TYPE_F32, 2, 3, 2, f32_data, sizeof(f32_data));
	check_tensor(mf, "b.q8", MBR_TYPE_Q8_0, 2, 32, 2, q8_data, sizeof(q8_data));
	check_tensor(mf, "c.f16", MBR_TYPE_F16, 1, 5, 0, f16_data, sizeof(f16_data));
	/* the 24 bytes after a.f32 are zero padding */
	for (int i = 0; i < 40; i++)
		UT_CHECK(mf->data[mf->tensors[0].offset + 24 + i] == 0);
	mbr_modelfile_free(mf);
	free(buf);
	unlink(path.buf);
	strbuf_release(&path);
}

/* Copying every entry and tensor of a file reproduces it byte for byte. */
static void test_gguf_write__copy_is_identical(void)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	struct mbr_gguf_writer *w = NULL;
	struct mbr_modelfile *mf = NULL;
	unsigned char *buf_a, *buf_b;
	size_t len_a = 0, len_b = 0;
	int calls = 0;

	UT_ASSERT(build_sample(&w, 0, &calls) == 0);
	UT_ASSERT(mbr_gguf_writer_write_file(w, scratch(&a, "a.gguf")) == 0);
	mbr_gguf_writer_free(w);
	UT_ASSERT((buf_a = read_whole(a.buf, &len_a)));
	UT_EQ_INT(le64(buf_a + 16), 16);	/* default alignment: no key */
	UT_ASSERT(mbr_modelfile_parse(&mf, buf_a, len_a, "a.gguf") == 0);
	UT_EQ_INT(mf->alignment, 32);

	UT_ASSERT(mbr_gguf_writer_new(&w, 0) == 0);
	for (size_t i = 0; i < mf->n_kv; i++)
		UT_CHECK(mbr_gguf_writer_copy_kv(w, mf, &mf->kv[i]) == 0);
	for (size_t i = 0; i < mf->n_tensors; i++) {
		const struct mbr_tensor_info *t = &mf->tensors[i];

		UT_CHECK(mbr_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne,
						    mf->data + t->offset, t->size) == 0);
	}
	UT_ASSERT(mbr_gguf_writer_write_file(w, scratch(&b, "b.gguf")) == 0);
	UT_ASSERT((buf_b = read_whole(b.buf, &len_b)));
	UT_EQ_INT(len_b, len_a);
	UT_CHECK(len_a == len_b && !memcmp(buf_a, buf_b, len_a));

	mbr_gguf_writer_free(w);
	mbr_modelfile_free(mf);
	free(buf_a);
	free(buf_b);
	unlink(a.buf);
	unlink(b.buf);
	strbuf_release(&a);
	strbuf_release(&b);
}

static void test_gguf_write__rejects_bad_input(void)
{
	static const unsigned char bad_strs[] = { 5, 0, 0, 0, 0, 0, 0, 0, 'a', 'b' };
	uint64_t ne[5] = { 32, 2, 1, 1, 1 }, one = 1;
	struct mbr_gguf_writer *w = NULL;
	char long_name[80];

	UT_CHECK(mbr_gguf_writer_new(&w, 48) == MBR_EINVALID);
	UT_CHECK(w == NULL);
	UT_ASSERT(mbr_gguf_writer_new(&w, 0) == 0);
	UT_CHECK(mbr_gguf_writer_add_kv_u32(w, "k", 1) == 0);
	UT_CHECK(mbr_gguf_writer_add_kv_string(w, "k", "again") == MBR_EEXISTS);
	UT_CHECK(strstr(mbr_error_last(), "'k'") != NULL);
	UT_CHECK(mbr_gguf_writer_add_kv_u32(w, "", 1) == MBR_EINVALID);
	UT_CHECK(mbr_gguf_writer_add_kv_u64(w, "general.alignment", 64) == MBR_EINVALID);
	UT_CHECK(mbr_gguf_writer_add_kv_array(w, "a", MBR_GGUF_UINT16, 3, "abcde", 5) == MBR_EINVALID);
	UT_CHECK(mbr_gguf_writer_add_kv_array(w, "s", MBR_GGUF_STRING, 1, bad_strs, sizeof(bad_strs)) == MBR_EINVALID);
	UT_CHECK(mbr_gguf_writer_add_kv_array(w, "n", MBR_GGUF_ARRAY, 0, NULL, 0) == MBR_EUNSUPPORTED);
	/* a failed add leaves nothing behind: the key is still free */
	UT_CHECK(mbr_gguf_writer_add_kv_string(w, "s", "ok") == 0);

	UT_CHECK(mbr_gguf_writer_add_tensor(w, "t", MBR_TYPE_Q8_0, 2, ne, q8_data, 67) == MBR_EINVALID);
	UT_CHECK(mbr_gguf_writer_add_tensor(w, "t", MBR_TYPE_Q8_0, 5, ne, q8_data, 68) == MBR_EINVALID);
	UT_CHECK(mbr_gguf_writer_add_tensor(w, "t", MBR_TYPE_Q4_K, 1, &one, q8_data, 144) == MBR_EINVALID);
	UT_CHECK(mbr_gguf_writer_add_tensor(w, "t", MBR_TYPE_U8, 1, &one, q8_data, 1) == MBR_EINVALID);
	memset(long_name, 'x', 64);
	long_name[64] = '\0';
	UT_CHECK(mbr_gguf_writer_add_tensor(w, long_name, MBR_TYPE_F32, 1, &one, f32_data, 4) == MBR_EINVALID);
	long_name[63] = '\0';
	UT_CHECK(mbr_gguf_writer_add_tensor(w, long_name, MBR_TYPE_F32, 1, &one, f32_data, 4) == 0);
	UT_CHECK(mbr_gguf_writer_add_tensor(w, "t", MBR_TYPE_Q8_0, 2, ne, q8_data, 68) == 0);
	UT_CHECK(mbr_gguf_writer_add_tensor(w, "t", MBR_TYPE_Q8_0, 2, ne, q8_data, 68) == MBR_EEXISTS);
	UT_CHECK(mbr_gguf_writer_write_file(w, "/nonexistent-dir/x.gguf") == MBR_EIO);
	UT_CHECK(strstr(mbr_error_last(), "/nonexistent-dir/x.gguf") != NULL);
	mbr_gguf_writer_free(w);
	mbr_gguf_writer_free(NULL);
}

static int fill_fails(void *payload, void *buf, uint64_t size)
{
	return -42;
}

static void test_gguf_write__failed_fill_leaves_nothing(void)
{
	struct strbuf path = STRBUF_INIT;
	struct mbr_gguf_writer *w = NULL;
	uint64_t ne = 8;
	struct stat st;
	int before = count_dir_entries();

	UT_ASSERT(mbr_gguf_writer_new(&w, 0) == 0);
	UT_ASSERT(mbr_gguf_writer_add_tensor_fn(w, "x", MBR_TYPE_F32, 1, &ne, fill_fails, NULL) == 0);
	UT_CHECK(mbr_gguf_writer_write_file(w, scratch(&path, "never.gguf")) == -42);
	UT_CHECK(stat(path.buf, &st) < 0 && errno == ENOENT);
	UT_EQ_INT(count_dir_entries(), before < 0 ? 0 : before);
	mbr_gguf_writer_free(w);
	strbuf_release(&path);
}

static uint64_t written_alignment(uint32_t initial, uint32_t added, int *add_result)
{
	struct strbuf path = STRBUF_INIT;
	struct mbr_gguf_writer *w = NULL;
	struct mbr_modelfile *mf = NULL;
	uint64_t ne = 3, alignment = 0;

	if (mbr_gguf_writer_new(&w, initial) < 0)
		return 0;
	*add_result = mbr_gguf_writer_add_kv_u32(w, "general.alignment", added);
	if (!mbr_gguf_writer_add_tensor(w, "a", MBR_TYPE_F32, 1, &ne, f32_data, 12) &&
	    !mbr_gguf_writer_add_tensor(w, "b", MBR_TYPE_F32, 1, &ne, f32_data, 12) &&
	    !mbr_gguf_writer_write_file(w, scratch(&path, "align.gguf")) &&
	    !mbr_modelfile_open(&mf, path.buf) &&
	    mf->tensors[1].offset - mf->tensors[0].offset == mf->alignment)
		alignment = mf->alignment;
	mbr_modelfile_free(mf);
	mbr_gguf_writer_free(w);
	unlink(path.buf);
	strbuf_release(&path);
	return alignment;
}

static void test_gguf_write__alignment_key(void)
{
	int added = 1;

	UT_EQ_INT(written_alignment(0, 128, &added), 128);
	UT_EQ_INT(added, 0);
	/* a second general.alignment is refused and changes nothing */
	UT_EQ_INT(written_alignment(64, 128, &added), 64);
	UT_EQ_INT(added, MBR_EEXISTS);
	UT_EQ_INT(written_alignment(0, 24, &added), 32);
	UT_EQ_INT(added, MBR_EINVALID);
}

/* ---- test-tool mkmodel, driven as the shell tests will drive it */

static const char *test_tool(void)
{
	static const char *const candidates[] = {
		"../../../t/helper/test-tool",	/* from build/t/unit-tests */
		"t/helper/test-tool",		/* from the top directory */
	};
	const char *env = getenv("MBR_TEST_TOOL");

	if (env && *env)
		return env;
	for (size_t i = 0; i < MBR_ARRAY_SIZE(candidates); i++)
		if (!access(candidates[i], X_OK))
			return candidates[i];
	return NULL;
}

/* A 40-token SentencePiece-style vocabulary plus a key that is no tokenizer's. */
static int write_vocab(const char *path)
{
	struct strbuf toks = STRBUF_INIT;
	struct mbr_gguf_writer *w;
	float scores[40];
	int32_t types[40];
	char tok[16];
	int error;

	for (int i = 0; i < 40; i++) {
		snprintf(tok, sizeof(tok), i ? "tok%d" : "<unk>", i);
		add_gguf_string(&toks, tok);
		scores[i] = -(float)i;
		types[i] = i < 3 ? 3 : 1;
	}
	if ((error = mbr_gguf_writer_new(&w, 0)) < 0)
		return error;
	error = mbr_gguf_writer_add_kv_string(w, "general.name", "vocab only") ||
		mbr_gguf_writer_add_kv_string(w, "tokenizer.ggml.model", "llama") ||
		mbr_gguf_writer_add_kv_array(w, "tokenizer.ggml.tokens", MBR_GGUF_STRING,
					     40, toks.buf, toks.len) ||
		mbr_gguf_writer_add_kv_array(w, "tokenizer.ggml.scores", MBR_GGUF_FLOAT32,
					     40, scores, sizeof(scores)) ||
		mbr_gguf_writer_add_kv_array(w, "tokenizer.ggml.token_type", MBR_GGUF_INT32,
					     40, types, sizeof(types)) ||
		mbr_gguf_writer_add_kv_u32(w, "tokenizer.ggml.bos_token_id", 1) ||
		mbr_gguf_writer_add_kv_bool(w, "tokenizer.ggml.add_bos_token", 1) ||
		mbr_gguf_writer_write_file(w, path);
	mbr_gguf_writer_free(w);
	strbuf_release(&toks);
	return error;
}

static int run_mkmodel(const char *tool, const char *args)
{
	struct strbuf cmd = STRBUF_INIT;
	int status;

	strbuf_addf(&cmd, "'%s' mkmodel %s >/dev/null", tool, args);
	status = system(cmd.buf);
	strbuf_release(&cmd);
	return status;
}

static void check_u32(const struct mbr_modelfile *mf, const char *key, uint64_t want)
{
	const struct mbr_kv *kv = kv_of(mf, key, MBR_GGUF_UINT32);

	if (!kv || kv->v.u != want)
		printf("# %s: want %llu\n", key, (unsigned long long)want);
	UT_CHECK(kv && kv->v.u == want);
}

static void check_model_kv(const struct mbr_modelfile *mf)
{
	const struct mbr_kv *kv;

	UT_CHECK((kv = kv_of(mf, "general.architecture", MBR_GGUF_STRING)) &&
		 !strcmp(kv->str, "llama"));
	UT_CHECK((kv = kv_of(mf, "general.name", MBR_GGUF_STRING)) &&
		 !strcmp(kv->str, "tiny test"));
	UT_CHECK((kv = kv_of(mf, "general.license", MBR_GGUF_STRING)) &&
		 !strcmp(kv->str, "MIT"));
	check_u32(mf, "llama.context_length", 256);
	check_u32(mf, "llama.embedding_length", 64);
	check_u32(mf, "llama.block_count", 2);
	check_u32(mf, "llama.feed_forward_length", 96);
	check_u32(mf, "llama.rope.dimension_count", 16);
	check_u32(mf, "llama.attention.head_count", 4);
	check_u32(mf, "llama.attention.head_count_kv", 2);
	check_u32(mf, "llama.vocab_size", 40);
	check_u32(mf, "general.file_type", 7);
	check_u32(mf, "tokenizer.ggml.bos_token_id", 1);
	UT_CHECK((kv = kv_of(mf, "llama.rope.freq_base", MBR_GGUF_FLOAT32)) && kv->v.f == 500000);
	UT_CHECK((kv = kv_of(mf, "llama.attention.layer_norm_rms_epsilon", MBR_GGUF_FLOAT32)) &&
		 kv->v.f == (double)1e-5f);
	UT_CHECK((kv = kv_of(mf, "tokenizer.ggml.model", MBR_GGUF_STRING)) &&
		 !strcmp(kv->str, "llama"));
	UT_CHECK((kv = kv_of(mf, "tokenizer.ggml.tokens", MBR_GGUF_ARRAY)) && kv->count == 40 &&
		 le64(mf->data + kv->value_offset) == 5 &&
		 !memcmp(mf->data + kv->value_offset + 8, "<unk>", 5));
	UT_CHECK((kv = kv_of(mf, "tokenizer.ggml.scores", MBR_GGUF_ARRAY)) && kv->count == 40);
	UT_CHECK((kv = kv_of(mf, "tokenizer.ggml.add_bos_token", MBR_GGUF_BOOL)) && kv->v.u == 1);
}

static void check_model_tensors(const struct mbr_modelfile *mf, int tied)
{
	static const struct { const char *name; int type; uint32_t n_dims; uint64_t ne0, ne1; } want[] = {
		{ "token_embd.weight", MBR_TYPE_Q8_0, 2, 64, 40 },
		{ "blk.0.attn_norm.weight", MBR_TYPE_F32, 1, 64, 0 },
		{ "blk.0.attn_q.weight", MBR_TYPE_Q8_0, 2, 64, 64 },
		{ "blk.0.attn_k.weight", MBR_TYPE_Q8_0, 2, 64, 32 },
		{ "blk.0.attn_v.weight", MBR_TYPE_Q8_0, 2, 64, 32 },
		{ "blk.0.attn_output.weight", MBR_TYPE_Q8_0, 2, 64, 64 },
		{ "blk.0.ffn_norm.weight", MBR_TYPE_F32, 1, 64, 0 },
		{ "blk.0.ffn_gate.weight", MBR_TYPE_Q8_0, 2, 64, 96 },
		{ "blk.0.ffn_up.weight", MBR_TYPE_Q8_0, 2, 64, 96 },
		{ "blk.0.ffn_down.weight", MBR_TYPE_Q8_0, 2, 96, 64 },
		{ "blk.1.ffn_down.weight", MBR_TYPE_Q8_0, 2, 96, 64 },
		{ "output_norm.weight", MBR_TYPE_F32, 1, 64, 0 },
		{ "output.weight", MBR_TYPE_Q8_0, 2, 64, 40 },
	};

	UT_EQ_INT(mf->n_tensors, 2 + 9 * 2 + !tied);
	for (size_t i = 0; i < MBR_ARRAY_SIZE(want); i++) {
		const struct mbr_tensor_info *t = mbr_modelfile_tensor(mf, want[i].name);

		if (tied && !strcmp(want[i].name, "output.weight")) {
			UT_CHECK(t == NULL);
			continue;
		}
		if (!t)
			printf("# missing %s\n", want[i].name);
		UT_ASSERT(t);
		UT_EQ_INT(t->type, want[i].type);
		UT_EQ_INT(t->n_dims, want[i].n_dims);
		UT_EQ_INT(t->ne[0], want[i].ne0);
		if (want[i].n_dims == 2)
			UT_EQ_INT(t->ne[1], want[i].ne1);
	}
}

/* Norms are 1 plus small noise; matrices have deviation ~1/sqrt(ne0). */
static void check_model_values(const struct mbr_modelfile *mf)
{
	const struct mbr_tensor_info *norm = mbr_modelfile_tensor(mf, "blk.1.ffn_norm.weight");
	const struct mbr_tensor_info *q = mbr_modelfile_tensor(mf, "blk.0.attn_q.weight");
	double sum = 0, sq = 0;

	UT_ASSERT(norm && q);
	for (int i = 0; i < 64; i++) {
		float v;

		memcpy(&v, mf->data + norm->offset + 4 * i, 4);
		sum += v;
	}
	UT_CHECK(fabs(sum / 64 - 1) < 0.05);
	/* Q8_0 blocks: the scale d (fp16) then 32 int8 */
	for (uint64_t b = 0; b < q->size / 34; b++) {
		const unsigned char *blk = mf->data + q->offset + 34 * b;

		for (int j = 0; j < 32; j++) {
			double v = (int8_t)blk[2 + j];

			sq += v * v;
		}
	}
	/* each block's largest value maps to +-127; for about-gaussian data
	 * that is 2..3.5 deviations, so the codes have deviation 35..65 */
	sq = sqrt(sq / (q->size / 34 * 32));
	if (sq < 30 || sq > 70)
		printf("# code deviation %.1f\n", sq);
	UT_CHECK(sq > 30 && sq < 70);
}

static void test_gguf_write__mkmodel(void)
{
	static const char args[] =
		"--dim 64 --layers 2 --heads 4 --kv-heads 2 --ff 96 --ctx 256 "
		"--rope-base 5e5 --type Q8_0 --seed 3 --name 'tiny test' --set general.license=MIT";
	struct strbuf vocab = STRBUF_INIT, out = STRBUF_INIT, cmd = STRBUF_INIT;
	struct mbr_modelfile *mf = NULL, *again = NULL;
	const char *tool = test_tool();

	if (!tool)
		printf("# t/helper/test-tool not found; build it or set MBR_TEST_TOOL\n");
	UT_ASSERT(tool);
	UT_ASSERT(write_vocab(scratch(&vocab, "vocab.gguf")) == 0);

	strbuf_addf(&cmd, "-o '%s' --vocab '%s' %s", scratch(&out, "model.gguf"), vocab.buf, args);
	UT_ASSERT(run_mkmodel(tool, cmd.buf) == 0);
	UT_ASSERT(mbr_modelfile_open(&mf, out.buf) == 0);
	UT_CHECK(mbr_modelfile_kv(mf, "general.name") &&
		 mbr_modelfile_kv(mf, "general.name") < mbr_modelfile_kv(mf, "tokenizer.ggml.model"));
	check_model_kv(mf);
	check_model_tensors(mf, 0);
	check_model_values(mf);

	/* same options, same bytes; --tied drops output.weight only */
	strbuf_reset(&cmd);
	strbuf_addf(&cmd, "-o '%s' --vocab '%s' %s --tied", scratch(&out, "tied.gguf"), vocab.buf, args);
	UT_ASSERT(run_mkmodel(tool, cmd.buf) == 0);
	UT_ASSERT(mbr_modelfile_open(&again, out.buf) == 0);
	check_model_tensors(again, 1);
	UT_CHECK(!memcmp(mf->data + mbr_modelfile_tensor(mf, "blk.1.ffn_up.weight")->offset,
			 again->data + mbr_modelfile_tensor(again, "blk.1.ffn_up.weight")->offset,
			 mbr_modelfile_tensor(mf, "blk.1.ffn_up.weight")->size));
	UT_CHECK(mbr_modelfile_kv(again, "tokenizer.ggml.model") != NULL);

	/* a string override of a number is refused, a bad shape too */
	strbuf_reset(&cmd);
	strbuf_addf(&cmd, "-o '%s' --vocab '%s' --dim 64 --layers 1 --heads 4 --ff 96 "
		    "--set llama.block_count=3 2>/dev/null", scratch(&out, "bad.gguf"), vocab.buf);
	UT_CHECK(run_mkmodel(tool, cmd.buf) != 0);
	strbuf_reset(&cmd);
	strbuf_addf(&cmd, "-o '%s' --vocab '%s' --dim 48 --heads 4 --type Q8_0 2>/dev/null",
		    out.buf, vocab.buf);
	UT_CHECK(run_mkmodel(tool, cmd.buf) != 0);
	UT_CHECK(access(out.buf, F_OK) < 0);

	mbr_modelfile_free(mf);
	mbr_modelfile_free(again);
	unlink(vocab.buf);
	unlink(scratch(&out, "model.gguf"));
	unlink(scratch(&out, "tied.gguf"));
	strbuf_release(&vocab);
	strbuf_release(&out);
	strbuf_release(&cmd);
}

static void test_gguf_write__cleanup(void)
{
	UT_EQ_INT(count_dir_entries(), 0);
	UT_CHECK(rmdir(tmpdir) == 0);
}

/* What a progress hook heard: each report's delta and total, in order. */
struct heard {
	uint64_t delta[8], total[8];
	int n;
};

static void hear(void *payload, uint64_t delta, uint64_t total)
{
	struct heard *h = payload;

	if (h->n < 8) {
		h->delta[h->n] = delta;
		h->total[h->n] = total;
	}
	h->n++;
}

/* One report per tensor, after it is written, in table order, each with
 * its size and the sum of all three (the sample's sizes: 3 x 2 F32,
 * two rows of one Q8_0 block, 5 F16); nothing once the hook is taken
 * away. */
static void test_gguf_write__progress(void)
{
	static const uint64_t sizes[] = { 3 * 2 * 4, 2 * 34, 5 * 2 };
	struct mbr_progress progress = { hear, NULL };
	struct strbuf path = STRBUF_INIT;
	struct mbr_gguf_writer *w = NULL;
	struct heard h = { { 0 }, { 0 }, 0 };
	int calls = 0;

	progress.payload = &h;
	UT_ASSERT(build_sample(&w, 32, &calls) == 0);
	mbr_gguf_writer_set_progress(w, &progress);
	UT_ASSERT(mbr_gguf_writer_write_file(w, scratch(&path, "progress.gguf")) == 0);
	UT_EQ_INT(h.n, 3);
	for (int i = 0; i < 3; i++) {
		UT_CHECK(h.delta[i] == sizes[i]);
		UT_CHECK(h.total[i] == sizes[0] + sizes[1] + sizes[2]);
	}
	mbr_gguf_writer_set_progress(w, NULL);
	UT_ASSERT(mbr_gguf_writer_write_file(w, path.buf) == 0);
	UT_EQ_INT(h.n, 3);
	mbr_gguf_writer_free(w);
	unlink(path.buf);
	strbuf_release(&path);
}

static const struct unit_test tests[] = {
	UT(test_gguf_write__roundtrip),
	UT(test_gguf_write__copy_is_identical),
	UT(test_gguf_write__rejects_bad_input),
	UT(test_gguf_write__failed_fill_leaves_nothing),
	UT(test_gguf_write__alignment_key),
	UT(test_gguf_write__progress),
	UT(test_gguf_write__mkmodel),
	UT(test_gguf_write__cleanup),
	{ 0 }
};
UNIT_MAIN(tests)
