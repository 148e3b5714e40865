/*
 * tokenizer.c - load a tokenizer from GGUF metadata (untrusted: every
 * type, count, length and id is checked), look tokens and merges up, and
 * the merge queue both algorithms share. The algorithms themselves are in
 * tokenizer-spm.c and tokenizer-bpe.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tokenizer-internal.h"
#include "modelfile-internal.h"
#include "mbr/error.h"

#define KEY_PREFIX "tokenizer.ggml."

/* ---- lookup ---- */

uint32_t mbr_tok__hash(uint32_t h, const void *s, size_t len)
{
	const unsigned char *p = s;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static int strtab_init(struct mbr_strtab *tab, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	tab->slots = calloc(cap, sizeof(*tab->slots));
	MBR_CHECK_ALLOC(tab->slots);
	tab->mask = (uint32_t)(cap - 1);
	return 0;
}

int32_t mbr_tok__find(const struct mbr_tokenizer *t, const char *s, size_t len)
{
	uint32_t i = mbr_tok__hash(MBR_FNV_INIT, s, len);

	for (;; i++) {
		uint32_t slot = t->token_index.slots[i & t->token_index.mask];
		const struct mbr_token *tok;

		if (!slot)
			return -1;
		tok = &t->tokens[slot - 1];
		if (tok->len == len && !memcmp(t->text + tok->off, s, len))
			return (int32_t)slot - 1;
	}
}

int32_t mbr_tok__merge_rank(const struct mbr_tokenizer *t,
			    const char *left, size_t left_len,
			    const char *right, size_t right_len)
{
	/* The hash of "left right", as the merge string was hashed. */
	uint32_t i = mbr_tok__hash(MBR_FNV_INIT, left, left_len);

	i = mbr_tok__hash(i, " ", 1);
	i = mbr_tok__hash(i, right, right_len);
	for (;; i++) {
		uint32_t slot = t->merge_index.slots[i & t->merge_index.mask];
		const struct mbr_merge *m;

		if (!slot)
			return -1;
		m = &t->merges[slot - 1];
		if (m->left_len == left_len && m->len == left_len + 1 + right_len &&
		    !memcmp(t->text + m->off, left, left_len) &&
		    !memcmp(t->text + m->off + left_len + 1, right, right_len))
			return (int32_t)slot - 1;
	}
}

/* ---- ids and the merge queue ---- */

int mbr_idvec_push(struct mbr_idvec *vec, int32_t id)
{
	if (vec->n == vec->alloc) {
		size_t alloc = vec->alloc ? 2 * vec->alloc : 64;
		int32_t *v = realloc(vec->v, alloc * sizeof(*v));

		MBR_CHECK_ALLOC(v);
		vec->v = v;
		vec->alloc = alloc;
	}
	vec->v[vec->n++] = id;
	return 0;
}

int mbr_symbols_split(struct mbr_symbols *s, const char *text, size_t len)
{
	s->n = 0;
	s->n_heap = 0;
	if (len >= INT32_MAX) {
		mbr_error_set(MBR_ERROR_INVALID,
			      "text too long to tokenize (%zu bytes)", len);
		return MBR_EINVALID;
	}
	if (s->alloc < len) {
		struct mbr_sym *sym = realloc(s->sym, len * sizeof(*sym));

		MBR_CHECK_ALLOC(sym);
		s->sym = sym;
		s->alloc = len;
	}
	for (size_t off = 0; off < len; s->n++) {
		struct mbr_sym *y = &s->sym[s->n];
		size_t n = mbr_utf8_len((unsigned char)text[off]);

		y->start = (uint32_t)off;
		y->n = (uint32_t)(n < len - off ? n : len - off);
		off += y->n;
		y->prev = (int32_t)s->n - 1;
		y->next = off == len ? -1 : (int32_t)s->n + 1;
	}
	return 0;
}

/* Whether a should come out of the queue before b. */
static int bigram_before(const struct mbr_bigram *a, const struct mbr_bigram *b)
{
	return a->key > b->key || (a->key == b->key && a->left < b->left);
}

int mbr_symbols_push(struct mbr_symbols *s, const struct mbr_bigram *b)
{
	size_t i;

	if (s->n_heap == s->alloc_heap) {
		size_t alloc = s->alloc_heap ? 2 * s->alloc_heap : 64;
		struct mbr_bigram *h = realloc(s->heap, alloc * sizeof(*h));

		MBR_CHECK_ALLOC(h);
		s->heap = h;
		s->alloc_heap = alloc;
	}
	for (i = s->n_heap++; i > 0; i = (i - 1) / 2) {
		struct mbr_bigram *parent = &s->heap[(i - 1) / 2];

		if (!bigram_before(b, parent))
			break;
		s->heap[i] = *parent;
	}
	s->heap[i] = *b;
	return 0;
}

static void heap_pop(struct mbr_symbols *s, struct mbr_bigram *top)
{
	struct mbr_bigram last = s->heap[--s->n_heap];
	size_t i = 0;

	*top = s->heap[0];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->n_heap)
			break;
		if (c + 1 < s->n_heap && bigram_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!bigram_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->n_heap)
		s->heap[i] = last;
}

int mbr_symbols_pop(struct mbr_symbols *s, struct mbr_bigram *b)
{
	/* A pair is stale when either side has merged since it was queued:
	 * sides only grow, so their lengths tell. */
	while (s->n_heap) {
		const struct mbr_sym *l, *r;

		heap_pop(s, b);
		l = &s->sym[b->left];
		r = &s->sym[b->right];
		if (l->n && r->n && l->n + r->n == b->size)
			return 1;
	}
	return 0;
}

void mbr_symbols_merge(struct mbr_symbols *s, const struct mbr_bigram *b)
{
	struct mbr_sym *l = &s->sym[b->left], *r = &s->sym[b->right];

	l->n += r->n;
	r->n = 0;
	l->next = r->next;
	if (r->next >= 0)
		s->sym[r->next].prev = b->left;
}

void mbr_symbols_release(struct mbr_symbols *s)
{
	free(s->sym);
	free(s->heap);
	memset(s, 0, sizeof(*s));
}

/* ---- reading the metadata ---- */

struct loader {
	const struct mbr_modelfile *mf;
	struct mbr_tokenizer *t;
	size_t text_len;
};

#define corrupt(ld, ...) \
	mbr_modelfile__error((ld)->mf, MBR_ECORRUPT, __VA_ARGS__)

/* The element bytes of array key, of elem_type; NULL kv when absent. */
static int get_array(struct loader *ld, const char *key, int elem_type,
		     const struct mbr_kv **out)
{
	const struct mbr_kv *kv = mbr_modelfile_kv(ld->mf, key);
	uint64_t end;

	*out = NULL;
	if (!kv)
		return 0;
	if (kv->type != MBR_GGUF_ARRAY || kv->elem_type != elem_type)
		return corrupt(ld, "%s is not an array of %s", key,
			       mbr_gguf_type_name(elem_type));
	if (MBR_ADD_OVERFLOW(&end, kv->value_offset, kv->value_len) ||
	    end > ld->mf->data_len)
		return corrupt(ld, "%s lies outside the metadata read", key);
	*out = kv;
	return 0;
}

/* An array of 4-byte numbers with one per token. */
static int get_per_token(struct loader *ld, const char *key, int elem_type,
			 const unsigned char **out)
{
	const struct mbr_kv *kv;
	int err = get_array(ld, key, elem_type, &kv);

	*out = NULL;
	if (err || !kv)
		return err;
	if (kv->count != (uint64_t)ld->t->n_vocab || kv->value_len != kv->count * 4)
		return corrupt(ld, "%s has %llu entries for %ld tokens", key,
			       (unsigned long long)kv->count, (long)ld->t->n_vocab);
	*out = ld->mf->data + kv->value_offset;
	return 0;
}

struct str_iter {
	const unsigned char *p, *end;
	const char *key;
};

static int next_str(struct loader *ld, struct str_iter *it,
		    const char **s, size_t *len)
{
	uint64_t n = 0;

	if (it->end - it->p < 8)
		return corrupt(ld, "%s ends inside an element", it->key);
	for (int i = 7; i >= 0; i--)
		n = n << 8 | it->p[i];
	it->p += 8;
	if (n > MBR_TOKEN_MAX_LEN || n > (uint64_t)(it->end - it->p))
		return corrupt(ld, "%s holds a string of %llu bytes", it->key,
			       (unsigned long long)n);
	*s = (const char *)it->p;
	*len = (size_t)n;
	it->p += n;
	return 0;
}

/* Copy a string into t->text; its offset in *off. */
static void add_text(struct loader *ld, const char *s, size_t len, uint32_t *off)
{
	memcpy(ld->t->text + ld->text_len, s, len);
	*off = (uint32_t)ld->text_len;
	ld->text_len += len;
}

static void strtab_insert(struct mbr_strtab *tab, uint32_t h, uint32_t value)
{
	while (tab->slots[h & tab->mask])
		h++;
	tab->slots[h & tab->mask] = value;
}

static int load_tokens(struct loader *ld, const struct mbr_kv *kv)
{
	struct mbr_tokenizer *t = ld->t;
	struct str_iter it = { ld->mf->data + kv->value_offset,
			       ld->mf->data + kv->value_offset + kv->value_len,
			       KEY_PREFIX "tokens" };
	int err;

	t->tokens = calloc(t->n_vocab, sizeof(*t->tokens));
	MBR_CHECK_ALLOC(t->tokens);
	if ((err = strtab_init(&t->token_index, t->n_vocab)))
		return err;
	for (int32_t i = 0; i < t->n_vocab; i++) {
		struct mbr_token *tok = &t->tokens[i];
		const char *s;
		size_t len;
		int32_t dup;

		if ((err = next_str(ld, &it, &s, &len)))
			return err;
		/* An empty token can never be matched: leave it unindexed. */
		if (!len)
			continue;
		if ((dup = mbr_tok__find(t, s, len)) >= 0)
			return corrupt(ld, "token %ld duplicates token %ld",
				       (long)i, (long)dup);
		add_text(ld, s, len, &tok->off);
		tok->len = (uint32_t)len;
		strtab_insert(&t->token_index,
			      mbr_tok__hash(MBR_FNV_INIT, s, len), (uint32_t)i + 1);
	}
	return 0;
}

static int load_scores_and_types(struct loader *ld)
{
	struct mbr_tokenizer *t = ld->t;
	const unsigned char *scores, *types;
	int err;

	if ((err = get_per_token(ld, KEY_PREFIX "scores", MBR_GGUF_FLOAT32, &scores)) ||
	    (err = get_per_token(ld, KEY_PREFIX "token_type", MBR_GGUF_INT32, &types)))
		return err;
	for (int32_t i = 0; i < t->n_vocab; i++) {
		t->tokens[i].type = MBR_TOKTYPE_NORMAL;
		if (scores) {
			memcpy(&t->tokens[i].score, scores + 4 * (size_t)i, 4);
			/* the merge queue orders by score */
			if (isnan(t->tokens[i].score))
				return corrupt(ld, "token %ld has a NaN score", (long)i);
		}
		if (types)
			memcpy(&t->tokens[i].type, types + 4 * (size_t)i, 4);
	}
	return 0;
}

/* Merges "left right", split at the first space after the first byte as
 * llama.cpp does; the first of duplicates keeps its rank. */
static int load_merges(struct loader *ld)
{
	struct mbr_tokenizer *t = ld->t;
	const struct mbr_kv *kv;
	struct str_iter it;
	int err = get_array(ld, KEY_PREFIX "merges", MBR_GGUF_STRING, &kv);

	if (err)
		return err;
	if (!kv)
		return corrupt(ld, "a gpt2 tokenizer without " KEY_PREFIX "merges");
	if (kv->count >= INT32_MAX)
		return corrupt(ld, KEY_PREFIX "merges has %llu entries",
			       (unsigned long long)kv->count);
	t->merges = calloc(kv->count ? kv->count : 1, sizeof(*t->merges));
	MBR_CHECK_ALLOC(t->merges);
	if ((err = strtab_init(&t->merge_index, kv->count)))
		return err;
	it.p = ld->mf->data + kv->value_offset;
	it.end = it.p + kv->value_len;
	it.key = KEY_PREFIX "merges";
	for (uint64_t i = 0; i < kv->count; i++) {
		struct mbr_merge *m = &t->merges[t->n_merges];
		const char *s, *space;
		size_t len;

		if ((err = next_str(ld, &it, &s, &len)))
			return err;
		space = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
		/* Without a space it is the pair ("", ""), which no pair of
		 * symbols ever is. */
		if (!space)
			continue;
		m->left_len = (uint32_t)(space - s);
		if (mbr_tok__merge_rank(t, s, m->left_len, space + 1,
					len - m->left_len - 1) >= 0)
			continue;
		add_text(ld, s, len, &m->off);
		m->len = (uint32_t)len;
		t->n_merges++;
		strtab_insert(&t->merge_index, mbr_tok__hash(MBR_FNV_INIT, s, len),
			      t->n_merges);
	}
	return 0;
}

/* An optional token id: absent leaves *id as it is. */
static int load_id(struct loader *ld, const char *key, int32_t *id)
{
	const struct mbr_kv *kv = mbr_modelfile_kv(ld->mf, key);
	int64_t v;

	if (!kv)
		return 0;
	if (mbr_kv_int(&v, kv))
		return corrupt(ld, "%s is a %s, not an integer", key,
			       mbr_gguf_type_name(kv->type));
	if (v < 0 || v >= ld->t->n_vocab)
		return corrupt(ld, "%s is %lld, outside the %ld tokens", key,
			       (long long)v, (long)ld->t->n_vocab);
	*id = (int32_t)v;
	return 0;
}

/* An optional boolean: absent leaves *flag as it is. */
static int load_bool(struct loader *ld, const char *key, int *flag)
{
	const struct mbr_kv *kv = mbr_modelfile_kv(ld->mf, key);

	if (!kv)
		return 0;
	if (kv->type != MBR_GGUF_BOOL)
		return corrupt(ld, "%s is a %s, not a bool", key,
			       mbr_gguf_type_name(kv->type));
	*flag = kv->v.u != 0;
	return 0;
}

/* The string value of key, NUL-terminated, or NULL when absent. */
static int load_string(struct loader *ld, const char *key, const char **out)
{
	const struct mbr_kv *kv = mbr_modelfile_kv(ld->mf, key);

	*out = NULL;
	if (!kv)
		return 0;
	if (kv->type != MBR_GGUF_STRING || strlen(kv->str) != kv->str_len)
		return corrupt(ld, "%s is not a string", key);
	*out = kv->str;
	return 0;
}

static const char *const pretok_gpt2[] = {
	"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
	"jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "jina-v1-en",
	"jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "exaone4",
	"trillion", "granite-docling", NULL
};
static const char *const pretok_llama3[] = {
	"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
	"midm-2.0", "lfm2", "jina-v5-nano", "dbrx", "smaug-bpe", NULL
};

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

/* tokenizer.ggml.model, and the defaults that come with it. */
static int load_model(struct loader *ld)
{
	struct mbr_tokenizer *t = ld->t;
	const char *model, *pre;
	int err;

	if ((err = load_string(ld, KEY_PREFIX "model", &model)) ||
	    (err = load_string(ld, KEY_PREFIX "pre", &pre)))
		return err;
	if (!model)
		return mbr_modelfile__error(ld->mf, MBR_ENOTFOUND,
			"no tokenizer (" KEY_PREFIX "model is missing)");
	t->bos = t->eos = t->unk = -1;
	if (!strcmp(model, "llama")) {
		t->type = MBR_TOKENIZER_SPM;
		t->add_bos = t->add_space_prefix = 1;
		return 0;
	}
	if (strcmp(model, "gpt2"))
		return mbr_modelfile__error(ld->mf, MBR_EUNSUPPORTED,
			"tokenizer model '%s' is not supported (llama and gpt2 are)",
			model);
	t->type = MBR_TOKENIZER_BPE;
	if (!pre || !strcmp(pre, "default")) {
		t->pretok = MBR_PRETOK_DEFAULT;
	} else if (in_list(pre, pretok_gpt2)) {
		t->pretok = MBR_PRETOK_GPT2;
	} else if (in_list(pre, pretok_llama3)) {
		t->pretok = MBR_PRETOK_LLAMA3;
		t->ignore_merges = 1;
		t->add_bos = 1;
	} else {
		return mbr_modelfile__error(ld->mf, MBR_EUNSUPPORTED,
			"pre-tokenizer '%s' is not supported", pre);
	}
	return 0;
}

static int load_specials(struct loader *ld)
{
	struct mbr_tokenizer *t = ld->t;
	int unused_eos = 0, err;

	/* SentencePiece's usual ids, when the vocabulary has them. */
	if (t->type == MBR_TOKENIZER_SPM) {
		t->unk = 0;
		t->bos = t->n_vocab > 1 ? 1 : -1;
		t->eos = t->n_vocab > 2 ? 2 : -1;
	}
	if ((err = load_id(ld, KEY_PREFIX "bos_token_id", &t->bos)) ||
	    (err = load_id(ld, KEY_PREFIX "eos_token_id", &t->eos)) ||
	    (err = load_id(ld, KEY_PREFIX "unknown_token_id", &t->unk)) ||
	    (err = load_bool(ld, KEY_PREFIX "add_bos_token", &t->add_bos)) ||
	    (err = load_bool(ld, KEY_PREFIX "add_eos_token", &unused_eos)) ||
	    (err = load_bool(ld, KEY_PREFIX "add_space_prefix", &t->add_space_prefix)))
		return err;
	if (t->add_bos && t->bos < 0)
		return corrupt(ld, KEY_PREFIX "add_bos_token is set but there is no BOS token");
	return 0;
}

/* ---- pieces ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The byte of a "<0xNN>" token, or -1. */
static int byte_of(const char *s, size_t len)
{
	int hi, lo;

	if (len != 6 || memcmp(s, "<0x", 3) || s[5] != '>')
		return -1;
	hi = hexval(s[3]);
	lo = hexval(s[4]);
	return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

/* A byte-level BPE piece back to its bytes, llama.cpp's llama_decode_text. */
static void render_bytelevel(struct strbuf *sb, const char *s, size_t len)
{
	for (size_t off = 0, adv; off < len; off += adv) {
		uint32_t cp = mbr_tok__utf8_decode((const unsigned char *)s + off,
						   len - off, &adv);
		int b = mbr_tok__cp_to_byte(cp);
		char utf8[4];
		size_t n;

		if (b >= 0) {
			strbuf_addch(sb, b);
			continue;
		}
		n = mbr_tok__utf8_encode(cp, utf8);
		strbuf_addstr(sb, "[UNK_BYTE_0x");
		for (size_t i = 0; i < n; i++)
			strbuf_addf(sb, "%02x", (unsigned char)utf8[i]);
		strbuf_add(sb, s, len);
		strbuf_addch(sb, ']');
	}
}

static void render_spm(struct strbuf *sb, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (i + 3 <= len && !memcmp(s + i, "\xe2\x96\x81", 3)) {
			strbuf_addch(sb, ' ');
			i += 2;
		} else {
			strbuf_addch(sb, s[i]);
		}
	}
}

/* Each token's piece, as llama.cpp's token_to_piece(special=true). */
static int render_pieces(struct loader *ld)
{
	struct mbr_tokenizer *t = ld->t;
	struct strbuf sb = STRBUF_INIT;

	for (int32_t i = 0; i < t->n_vocab; i++) {
		struct mbr_token *tok = &t->tokens[i];
		const char *s = t->text + tok->off;
		int b;

		tok->piece_off = (uint32_t)sb.len;
		switch (tok->type) {
		case MBR_TOKTYPE_NORMAL:
			if (t->type == MBR_TOKENIZER_SPM)
				render_spm(&sb, s, tok->len);
			else
				render_bytelevel(&sb, s, tok->len);
			break;
		case MBR_TOKTYPE_BYTE:
			if ((b = byte_of(s, tok->len)) < 0) {
				strbuf_release(&sb);
				return corrupt(ld, "byte token %ld is not <0xNN>", (long)i);
			}
			strbuf_addch(&sb, b);
			break;
		case MBR_TOKTYPE_UNKNOWN:
		case MBR_TOKTYPE_CONTROL:
		case MBR_TOKTYPE_USER_DEFINED:
			strbuf_add(&sb, s, tok->len);
			break;
		default:	/* unused and undefined tokens render as nothing */
			break;
		}
		if (sb.len > UINT32_MAX) {
			strbuf_release(&sb);
			return corrupt(ld, "the token pieces exceed 4 GiB");
		}
		tok->piece_len = (uint32_t)(sb.len - tok->piece_off);
		/* each piece NUL-terminated, for callers that print it */
		strbuf_addch(&sb, '\0');
	}
	t->pieces = strbuf_detach(&sb, NULL);
	return 0;
}

/* SentencePiece's byte fallback: "<0xNN>", else the byte itself. */
static void find_byte_tokens(struct mbr_tokenizer *t)
{
	for (int b = 0; b < 256; b++) {
		char hex[8], c = (char)b;

		snprintf(hex, sizeof(hex), "<0x%02X>", b);
		t->byte_token[b] = mbr_tok__find(t, hex, 6);
		if (t->byte_token[b] < 0)
			t->byte_token[b] = mbr_tok__find(t, &c, 1);
	}
}

static int load_vocab(struct loader *ld)
{
	const struct mbr_kv *tokens, *merges = NULL;
	size_t cap;
	int err;

	if ((err = get_array(ld, KEY_PREFIX "tokens", MBR_GGUF_STRING, &tokens)))
		return err;
	if (!tokens)
		return corrupt(ld, "no " KEY_PREFIX "tokens");
	if (!tokens->count || tokens->count >= INT32_MAX)
		return corrupt(ld, KEY_PREFIX "tokens has %llu entries",
			       (unsigned long long)tokens->count);
	ld->t->n_vocab = (int32_t)tokens->count;
	if (ld->t->type == MBR_TOKENIZER_BPE &&
	    (err = get_array(ld, KEY_PREFIX "merges", MBR_GGUF_STRING, &merges)))
		return err;
	/* The strings are shorter than the element bytes holding them. */
	cap = tokens->value_len + (merges ? merges->value_len : 0);
	if (cap >= UINT32_MAX)
		return mbr_modelfile__error(ld->mf, MBR_EUNSUPPORTED,
					    "tokenizer strings exceed 4 GiB");
	ld->t->text = malloc(cap + 1);
	MBR_CHECK_ALLOC(ld->t->text);
	if ((err = load_tokens(ld, tokens)) ||
	    (err = load_scores_and_types(ld)))
		return err;
	return ld->t->type == MBR_TOKENIZER_BPE ? load_merges(ld) : 0;
}

int mbr_tokenizer_load(struct mbr_tokenizer **out,
		       const struct mbr_modelfile *mf)
{
	struct mbr_tokenizer *t = calloc(1, sizeof(*t));
	struct loader ld = { mf, t, 0 };
	int err;

	*out = NULL;
	MBR_CHECK_ALLOC(t);
	t->name = strdup(mf->path ? mf->path : "(buffer)");
	if (!t->name) {
		mbr_tokenizer_free(t);
		mbr_error_oom();
		return MBR_ENOMEM;
	}
	if ((err = load_model(&ld)) || (err = load_vocab(&ld)) ||
	    (err = load_specials(&ld)) || (err = render_pieces(&ld))) {
		mbr_tokenizer_free(t);
		return err;
	}
	find_byte_tokens(t);
	*out = t;
	return 0;
}

void mbr_tokenizer_free(struct mbr_tokenizer *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->tokens);
	free(t->token_index.slots);
	free(t->merges);
	free(t->merge_index.slots);
	free(t->text);
	free(t->pieces);
	free(t);
}

/* ---- use ---- */

int mbr_tokenize(const struct mbr_tokenizer *t, const char *text, size_t len,
		 int add_bos, int32_t **out, size_t *n_out)
{
	struct mbr_idvec vec = { 0 };
	int err = 0;

	*out = NULL;
	*n_out = 0;
	if (add_bos && t->bos < 0) {
		mbr_error_set(MBR_ERROR_INVALID, "%s: the vocabulary has no BOS token",
			      t->name);
		return MBR_EINVALID;
	}
	if (add_bos)
		err = mbr_idvec_push(&vec, t->bos);
	if (!err && t->type == MBR_TOKENIZER_SPM)
		err = mbr_tok__spm(t, text, len, &vec);
	else if (!err)
		err = mbr_tok__bpe(t, text, len, &vec);
	/* Never NULL on success, even for no tokens. */
	if (!err && !vec.v && !(vec.v = malloc(sizeof(*vec.v)))) {
		mbr_error_oom();
		err = MBR_ENOMEM;
	}
	if (err) {
		free(vec.v);
		return err;
	}
	*out = vec.v;
	*n_out = vec.n;
	return 0;
}

const char *mbr_token_piece(const struct mbr_tokenizer *t, int32_t id,
			    size_t *len)
{
	if (id < 0 || id >= t->n_vocab)
		return NULL;
	if (len)
		*len = t->tokens[id].piece_len;
	return t->pieces + t->tokens[id].piece_off;
}

int mbr_detokenize_piece(const struct mbr_tokenizer *t, int32_t id,
			 struct strbuf *out)
{
	size_t len;
	const char *piece = mbr_token_piece(t, id, &len);

	if (!piece) {
		mbr_error_set(MBR_ERROR_INVALID, "%s: token id %ld is outside the %ld tokens",
			      t->name, (long)id, (long)t->n_vocab);
		return MBR_EINVALID;
	}
	strbuf_add(out, piece, len);
	return 0;
}

int32_t mbr_tokenizer_bos(const struct mbr_tokenizer *t) { return t->bos; }
int32_t mbr_tokenizer_eos(const struct mbr_tokenizer *t) { return t->eos; }
int32_t mbr_tokenizer_unk(const struct mbr_tokenizer *t) { return t->unk; }
int32_t mbr_tokenizer_n_vocab(const struct mbr_tokenizer *t) { return t->n_vocab; }
int mbr_tokenizer_add_bos(const struct mbr_tokenizer *t) { return t->add_bos; }
int mbr_tokenizer_type(const struct mbr_tokenizer *t) { return t->type; }
