/*
 * u-tokenizer.c - the tokenizers on vocabularies small enough to work
 * their merges out by hand, hostile metadata, and round trips through
 * the pieces on the real vocabularies in t/fixtures/vocab.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "mbr/gguf-write.h"
#include "mbr/modelfile.h"
#include "mbr/strbuf.h"
#include "mbr/tokenizer.h"
#include "tokenizer-internal.h"

#define SP "\xe2\x96\x81"	/* SentencePiece's "▁" */

static char tmpdir[] = "/tmp/u-tokenizer-XXXXXX";

static const char *tmp_path(void)
{
	static char path[64];

	if (tmpdir[sizeof(tmpdir) - 2] == 'X' && !mkdtemp(tmpdir))
		return NULL;
	snprintf(path, sizeof(path), "%s/vocab.gguf", tmpdir);
	return path;
}

static struct mbr_gguf_writer *new_writer(const char *model)
{
	struct mbr_gguf_writer *w = NULL;

	mbr_gguf_writer_new(&w, 0);
	if (w && model)
		mbr_gguf_writer_add_kv_string(w, "tokenizer.ggml.model", model);
	return w;
}

/* A GGUF string array: per element a u64 length, then the bytes. */
static void add_strings(struct mbr_gguf_writer *w, const char *key,
			const char *const *s, size_t n)
{
	struct strbuf raw = STRBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		uint64_t len = strlen(s[i]);
		unsigned char le[8];

		for (int b = 0; b < 8; b++)
			le[b] = (unsigned char)(len >> (8 * b));
		strbuf_add(&raw, le, 8);
		strbuf_add(&raw, s[i], len);
	}
	mbr_gguf_writer_add_kv_array(w, key, MBR_GGUF_STRING, n, raw.buf, raw.len);
	strbuf_release(&raw);
}

static void add_numbers(struct mbr_gguf_writer *w, const char *key, int type,
			const void *v, size_t n)
{
	mbr_gguf_writer_add_kv_array(w, key, type, n, v, 4 * n);
}

/* Write w out, parse it and load its tokenizer; frees w. */
static int load(struct mbr_tokenizer **t, struct mbr_gguf_writer *w)
{
	struct mbr_modelfile *mf = NULL;
	const char *path = tmp_path();
	int err;

	*t = NULL;
	if (!w || !path)
		return -100;
	err = mbr_gguf_writer_write_file(w, path);
	mbr_gguf_writer_free(w);
	if (err || (err = mbr_modelfile_open(&mf, path)))
		return -101;
	err = mbr_tokenizer_load(t, mf);
	mbr_modelfile_free(mf);
	unlink(path);
	return err;
}

/* The ids of text, space-separated, in a static buffer. */
static const char *ids_of(const struct mbr_tokenizer *t, const char *text, int bos)
{
	static char out[1024];
	int32_t *ids;
	size_t n, len = 0;

	if (mbr_tokenize(t, text, strlen(text), bos, &ids, &n))
		return "(error)";
	out[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(out) - 16; i++)
		len += snprintf(out + len, sizeof(out) - len, i ? " %d" : "%d", ids[i]);
	free(ids);
	return out;
}

/* ---- SentencePiece ---- */

static const char *const spm_tokens[] = {
	"<unk>", "<s>", "</s>", "<0xC3>", "<0xA9>",	/* 0-4 */
	SP, "a", "b", "ab", SP "a", "aa"		/* 5-10 */
};
static const int32_t spm_types[] = { 2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1 };

static struct mbr_gguf_writer *spm_writer(float score_ab, float score_sp_a)
{
	struct mbr_gguf_writer *w = new_writer("llama");
	float scores[MBR_ARRAY_SIZE(spm_tokens)] = {
		0, 0, 0, 0, 0, -1, -1, -1, score_ab, score_sp_a, -1
	};

	add_strings(w, "tokenizer.ggml.tokens", spm_tokens, MBR_ARRAY_SIZE(spm_tokens));
	add_numbers(w, "tokenizer.ggml.scores", MBR_GGUF_FLOAT32, scores,
		    MBR_ARRAY_SIZE(scores));
	add_numbers(w, "tokenizer.ggml.token_type", MBR_GGUF_INT32, spm_types,
		    MBR_ARRAY_SIZE(spm_types));
	return w;
}

/* "ab" is "▁ab" to SentencePiece: the pair with the higher score merges
 * first, and decides the result. */
static void test_tokenizer__spm_highest_score_merges_first(void)
{
	struct mbr_tokenizer *t;

	UT_ASSERT(!load(&t, spm_writer(-1.0f, -2.0f)));
	UT_EQ_STR(ids_of(t, "ab", 0), "5 8");		/* ▁ ab */
	mbr_tokenizer_free(t);
	UT_ASSERT(!load(&t, spm_writer(-2.0f, -1.0f)));
	UT_EQ_STR(ids_of(t, "ab", 0), "9 7");		/* ▁a b */
	UT_EQ_STR(ids_of(t, "ab", 1), "1 9 7");	/* BOS first */
	UT_EQ_STR(ids_of(t, "", 0), "");		/* no space prefix alone */
	UT_EQ_STR(ids_of(t, "", 1), "1");
	UT_EQ_INT(mbr_tokenizer_bos(t), 1);
	UT_EQ_INT(mbr_tokenizer_eos(t), 2);
	UT_EQ_INT(mbr_tokenizer_unk(t), 0);
	UT_EQ_INT(mbr_tokenizer_n_vocab(t), 11);
	UT_EQ_INT(mbr_tokenizer_add_bos(t), 1);
	UT_EQ_INT(mbr_tokenizer_type(t), MBR_TOKENIZER_SPM);
	mbr_tokenizer_free(t);
}

static void test_tokenizer__spm_byte_fallback_and_ties(void)
{
	struct mbr_gguf_writer *w = spm_writer(-2.0f, -1.0f);
	struct mbr_tokenizer *t;

	mbr_gguf_writer_add_kv_bool(w, "tokenizer.ggml.add_space_prefix", 0);
	UT_ASSERT(!load(&t, w));
	/* é (C3 A9) is no token: its byte tokens */
	UT_EQ_STR(ids_of(t, "\xc3\xa9", 0), "3 4");
	/* "aa" twice at the same score: the left pair wins */
	UT_EQ_STR(ids_of(t, "aaa", 0), "10 6");
	/* a space is "▁", with no prefix added */
	UT_EQ_STR(ids_of(t, " a", 0), "9");
	/* no <0x7A> and no "z" token: <unk> */
	UT_EQ_STR(ids_of(t, "z", 0), "0");
	mbr_tokenizer_free(t);
}

static void test_tokenizer__spm_pieces(void)
{
	struct mbr_tokenizer *t;
	struct strbuf sb = STRBUF_INIT;
	size_t len;

	UT_ASSERT(!load(&t, spm_writer(-1.0f, -2.0f)));
	UT_EQ_STR(mbr_token_piece(t, 9, &len), " a");
	UT_EQ_INT(len, 2);
	UT_EQ_STR(mbr_token_piece(t, 1, NULL), "<s>");
	UT_CHECK(mbr_token_piece(t, 11, NULL) == NULL);
	UT_CHECK(mbr_token_piece(t, -1, NULL) == NULL);
	UT_EQ_INT(mbr_detokenize_piece(t, 3, &sb), 0);
	UT_EQ_INT(mbr_detokenize_piece(t, 4, &sb), 0);
	UT_EQ_INT(mbr_detokenize_piece(t, 8, &sb), 0);
	UT_EQ_STR(sb.buf, "\xc3\xa9" "ab");
	UT_EQ_INT(mbr_detokenize_piece(t, 99, &sb), MBR_EINVALID);
	strbuf_release(&sb);
	mbr_tokenizer_free(t);
}

/* ---- byte-level BPE ---- */

/* A byte-level vocabulary: the 256 byte symbols (token id = byte), then
 * the merged tokens; "<|endoftext|>" last. */
static struct mbr_gguf_writer *bpe_writer(const char *pre, const char *const *extra,
					  size_t n_extra, const char *const *merges,
					  size_t n_merges)
{
	struct mbr_gguf_writer *w = new_writer("gpt2");
	const char *tokens[256 + 16];
	char bytes[256][4];
	size_t n = 0;

	for (int b = 0; b < 256; b++) {
		size_t len = mbr_tok__utf8_encode(mbr_tok__byte_to_cp((unsigned char)b),
						  bytes[b]);

		bytes[b][len] = '\0';
		tokens[n++] = bytes[b];
	}
	for (size_t i = 0; i < n_extra && n < MBR_ARRAY_SIZE(tokens) - 1; i++)
		tokens[n++] = extra[i];
	tokens[n++] = "<|endoftext|>";
	if (pre)
		mbr_gguf_writer_add_kv_string(w, "tokenizer.ggml.pre", pre);
	add_strings(w, "tokenizer.ggml.tokens", tokens, n);
	add_strings(w, "tokenizer.ggml.merges", merges, n_merges);
	mbr_gguf_writer_add_kv_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)n - 1);
	return w;
}

static const char *const hello_tokens[] = {
	"ll", "he", "hell", "hello", "\xc4\xa0w"		/* 256-260: Ġw */
};
static const char *const hello_merges[] = {
	"l l", "h e", "he ll", "hell o", "\xc4\xa0 w"
};

/* "hello" merges ll, then he, then he+ll, then hell+o; " wo" is its own
 * word, Ġw then o. */
static void test_tokenizer__bpe_merges_by_rank(void)
{
	struct mbr_tokenizer *t;

	UT_ASSERT(!load(&t, bpe_writer("gpt-2", hello_tokens, 5, hello_merges, 5)));
	UT_EQ_STR(ids_of(t, "hello wo", 0), "259 260 111");
	/* two "l l" at one rank: the left one */
	UT_EQ_STR(ids_of(t, "lll", 0), "256 108");
	/* the last merge "hell o" never applies to "helo" */
	UT_EQ_STR(ids_of(t, "helo", 0), "257 108 111");
	UT_EQ_STR(ids_of(t, "hello", 1), "261 259");
	UT_EQ_INT(mbr_tokenizer_add_bos(t), 0);
	UT_EQ_INT(mbr_tokenizer_type(t), MBR_TOKENIZER_BPE);
	mbr_tokenizer_free(t);

	/* without "h e", "hello" stays apart but for "ll" */
	UT_ASSERT(!load(&t, bpe_writer("gpt-2", hello_tokens, 5, hello_merges, 1)));
	UT_EQ_STR(ids_of(t, "hello", 0), "104 101 256 111");
	mbr_tokenizer_free(t);
}

static void test_tokenizer__bpe_pieces(void)
{
	struct mbr_tokenizer *t;
	size_t len;
	const char *p;

	UT_ASSERT(!load(&t, bpe_writer("gpt-2", hello_tokens, 5, hello_merges, 5)));
	UT_EQ_STR(mbr_token_piece(t, 260, NULL), " w");
	p = mbr_token_piece(t, 0, &len);	/* byte 0 is Ā, U+0100 */
	UT_CHECK(p && len == 1 && p[0] == '\0');
	UT_EQ_STR(mbr_token_piece(t, 10, NULL), "\n");
	UT_EQ_STR(mbr_token_piece(t, 261, NULL), "<|endoftext|>");
	mbr_tokenizer_free(t);
}

static void test_tokenizer__byte_alphabet(void)
{
	UT_EQ_INT(mbr_tok__byte_to_cp(' '), 0x120);	/* Ġ */
	UT_EQ_INT(mbr_tok__byte_to_cp('\n'), 0x10A);	/* Ċ */
	UT_EQ_INT(mbr_tok__byte_to_cp('A'), 'A');
	UT_EQ_INT(mbr_tok__byte_to_cp(0xAD), 0x143);	/* the last one */
	for (int b = 0; b < 256; b++)
		UT_EQ_INT(mbr_tok__cp_to_byte(mbr_tok__byte_to_cp((unsigned char)b)), b);
	UT_EQ_INT(mbr_tok__cp_to_byte(0x144), -1);
	UT_EQ_INT(mbr_tok__cp_to_byte(0x20), -1);
}

/* Each pre-tokenizer cuts words where its regex does; merges across a cut
 * never apply. Tokens 256-: the merged pieces below. */
static const char *const pre_tokens[] = {
	"12", "123", "1234", "'S", "\xc4\xa0!"	/* 256-260: Ġ! */
};
static const char *const pre_merges[] = {
	"1 2", "12 3", "123 4", "' S", "\xc4\xa0 !"
};

static void test_tokenizer__pretokenizers(void)
{
	static const struct {
		const char *pre, *text, *ids;
	} cases[] = {
		/* gpt-2: \p{N}+ is one word; 'S is no contraction */
		{ "gpt-2", "1234", "258" },
		{ "gpt-2", "it'S", "105 116 39 83" },
		{ "gpt-2", " !", "260" },
		/* llama3: \p{N}{1,3}; contractions in any case */
		{ "llama3", "1234", "257 52" },
		{ "llama3", "it'S", "105 116 259" },
		{ "llama3", " !", "260" },
		/* default: [0-9]{3} and punctuation runs cut further */
		{ "default", "1234", "257 52" },
		{ "default", " !", "32 33" },
		{ NULL, " !", "32 33" },
	};

	for (size_t i = 0; i < MBR_ARRAY_SIZE(cases); i++) {
		struct mbr_tokenizer *t;

		UT_ASSERT(!load(&t, bpe_writer(cases[i].pre, pre_tokens, 5, pre_merges, 5)));
		if (strcmp(ids_of(t, cases[i].text, 0), cases[i].ids))
			printf("# pre %s, '%s'\n", cases[i].pre ? cases[i].pre : "(none)",
			       cases[i].text);
		UT_EQ_STR(ids_of(t, cases[i].text, 0), cases[i].ids);
		mbr_tokenizer_free(t);
	}
}

/* ---- hostile metadata ---- */

static int load_spm_with(const char *key, int type, const void *v, size_t n)
{
	struct mbr_gguf_writer *w = new_writer("llama");
	struct mbr_tokenizer *t;
	int err;

	add_strings(w, "tokenizer.ggml.tokens", spm_tokens, MBR_ARRAY_SIZE(spm_tokens));
	if (type == MBR_GGUF_UINT32)
		mbr_gguf_writer_add_kv_u32(w, key, *(const uint32_t *)v);
	else if (type == MBR_GGUF_STRING)
		add_strings(w, key, v, n);
	else
		add_numbers(w, key, type, v, n);
	err = load(&t, w);
	mbr_tokenizer_free(t);
	return err;
}

static void test_tokenizer__hostile_counts_and_ids(void)
{
	static const float scores[3] = { 0 };
	static const int32_t types[12] = { 1 };
	static const int32_t bad_byte_types[] = { 2, 3, 3, 6, 6, 6, 1, 1, 1, 1, 1 };
	uint32_t id = 11;

	UT_EQ_INT(load_spm_with("tokenizer.ggml.scores", MBR_GGUF_FLOAT32, scores, 3),
		  MBR_ECORRUPT);
	UT_CHECK(strstr(mbr_error_last(), "vocab.gguf"));
	UT_CHECK(strstr(mbr_error_last(), "scores"));
	UT_EQ_INT(load_spm_with("tokenizer.ggml.token_type", MBR_GGUF_INT32, types, 12),
		  MBR_ECORRUPT);
	UT_EQ_INT(load_spm_with("tokenizer.ggml.scores", MBR_GGUF_INT32, types, 11),
		  MBR_ECORRUPT);
	UT_EQ_INT(load_spm_with("tokenizer.ggml.bos_token_id", MBR_GGUF_UINT32, &id, 1),
		  MBR_ECORRUPT);
	UT_CHECK(strstr(mbr_error_last(), "bos_token_id"));
	id = 10;
	UT_EQ_INT(load_spm_with("tokenizer.ggml.eos_token_id", MBR_GGUF_UINT32, &id, 1), 0);
	/* "▁" (token 5) typed as a byte token */
	UT_EQ_INT(load_spm_with("tokenizer.ggml.token_type", MBR_GGUF_INT32,
				bad_byte_types, 11), MBR_ECORRUPT);
}

static void test_tokenizer__hostile_strings(void)
{
	static const char *const dup[] = { "<unk>", "a", "b", "a" };
	struct mbr_gguf_writer *w;
	struct mbr_tokenizer *t;
	char *long_token = malloc(MBR_TOKEN_MAX_LEN + 2);
	const char *tokens[2] = { "a", long_token };
	int32_t ints[4] = { 0 };

	UT_ASSERT(long_token);
	memset(long_token, 'x', MBR_TOKEN_MAX_LEN + 1);
	long_token[MBR_TOKEN_MAX_LEN + 1] = '\0';

	w = new_writer("llama");
	add_strings(w, "tokenizer.ggml.tokens", dup, 4);
	UT_EQ_INT(load(&t, w), MBR_ECORRUPT);
	UT_CHECK(strstr(mbr_error_last(), "duplicates"));

	w = new_writer("llama");
	add_strings(w, "tokenizer.ggml.tokens", tokens, 2);
	UT_EQ_INT(load(&t, w), MBR_ECORRUPT);
	free(long_token);

	w = new_writer("llama");
	add_numbers(w, "tokenizer.ggml.tokens", MBR_GGUF_INT32, ints, 4);
	UT_EQ_INT(load(&t, w), MBR_ECORRUPT);

	w = new_writer("llama");
	add_strings(w, "tokenizer.ggml.tokens", dup, 0);
	UT_EQ_INT(load(&t, w), MBR_ECORRUPT);

	/* a gpt2 tokenizer needs its merges */
	w = new_writer("gpt2");
	add_strings(w, "tokenizer.ggml.tokens", dup, 3);
	UT_EQ_INT(load(&t, w), MBR_ECORRUPT);
	UT_CHECK(strstr(mbr_error_last(), "merges"));
}

static void test_tokenizer__unsupported_and_missing(void)
{
	struct mbr_gguf_writer *w;
	struct mbr_tokenizer *t;

	w = new_writer("bert");
	add_strings(w, "tokenizer.ggml.tokens", spm_tokens, 3);
	UT_EQ_INT(load(&t, w), MBR_EUNSUPPORTED);
	UT_CHECK(strstr(mbr_error_last(), "'bert'"));
	UT_CHECK(strstr(mbr_error_last(), "vocab.gguf"));

	UT_EQ_INT(load(&t, bpe_writer("qwen9", NULL, 0, NULL, 0)), MBR_EUNSUPPORTED);
	UT_CHECK(strstr(mbr_error_last(), "'qwen9'"));

	w = new_writer(NULL);
	mbr_gguf_writer_add_kv_string(w, "general.name", "no tokenizer");
	UT_EQ_INT(load(&t, w), MBR_ENOTFOUND);

	w = new_writer(NULL);
	mbr_gguf_writer_add_kv_u32(w, "tokenizer.ggml.model", 1);
	UT_EQ_INT(load(&t, w), MBR_ECORRUPT);
}

/* ---- the real vocabularies ---- */

static int open_fixture(struct mbr_tokenizer **t, const char *name)
{
	const char *root = getenv("MBR_FIXTURES");
	struct mbr_modelfile *mf;
	char path[4096];
	int err;

	snprintf(path, sizeof(path), "%s/vocab/%s", root ? root : "../../../t/fixtures",
		 name);
	if ((err = mbr_modelfile_open(&mf, path)))
		return err;
	err = mbr_tokenizer_load(t, mf);
	mbr_modelfile_free(mf);
	return err;
}

/* The pieces of a text's tokens spell the text again (after the space
 * SentencePiece puts first). */
static void check_round_trip(const struct mbr_tokenizer *t, const char *text,
			     const char *prefix)
{
	struct strbuf sb = STRBUF_INIT, expect = STRBUF_INIT;
	int32_t *ids;
	size_t n;

	UT_ASSERT(!mbr_tokenize(t, text, strlen(text), 0, &ids, &n));
	for (size_t i = 0; i < n; i++)
		UT_CHECK(!mbr_detokenize_piece(t, ids[i], &sb));
	strbuf_addstr(&expect, prefix);
	strbuf_addstr(&expect, text);
	UT_EQ_STR(sb.buf, expect.buf);
	free(ids);
	strbuf_release(&sb);
	strbuf_release(&expect);
}

static void test_tokenizer__fixture_round_trips(void)
{
	static const char *const texts[] = {
		"Hello world", "  two  spaces ", "\tx\n\ny", "C\xe1\xbb\xadu Vi\xe1\xbb\x87t",
		"\xf0\x9f\xa6\x99.cpp", "I've been 'told he's there", "3333 33"
	};
	struct mbr_tokenizer *spm, *bpe;

	UT_ASSERT(!open_fixture(&spm, "ggml-vocab-llama-spm.gguf"));
	UT_ASSERT(!open_fixture(&bpe, "ggml-vocab-gpt-2.gguf"));
	for (size_t i = 0; i < MBR_ARRAY_SIZE(texts); i++) {
		check_round_trip(spm, texts[i], " ");
		check_round_trip(bpe, texts[i], "");
	}
	UT_EQ_INT(mbr_tokenizer_n_vocab(bpe), 50257);
	UT_EQ_INT(mbr_tokenizer_bos(bpe), 50256);
	UT_EQ_STR(mbr_token_piece(spm, 13, NULL), "\n");	/* <0x0A> */
	mbr_tokenizer_free(spm);
	mbr_tokenizer_free(bpe);
}

static void cleanup(void)
{
	rmdir(tmpdir);
}

static const struct unit_test tests[] = {
	UT(test_tokenizer__spm_highest_score_merges_first),
	UT(test_tokenizer__spm_byte_fallback_and_ties),
	UT(test_tokenizer__spm_pieces),
	UT(test_tokenizer__bpe_merges_by_rank),
	UT(test_tokenizer__bpe_pieces),
	UT(test_tokenizer__byte_alphabet),
	UT(test_tokenizer__pretokenizers),
	UT(test_tokenizer__hostile_counts_and_ids),
	UT(test_tokenizer__hostile_strings),
	UT(test_tokenizer__unsupported_and_missing),
	UT(test_tokenizer__fixture_round_trips),
	{ 0 }
};

int main(void)
{
	int rc = unit_main(tests);

	cleanup();
	return rc;
}
