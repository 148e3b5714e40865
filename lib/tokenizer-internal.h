/*
 * tokenizer-internal.h - what tokenizer.c (loading, lookup, the merge
 * queue) shares with the two algorithms, tokenizer-spm.c and
 * tokenizer-bpe.c.
 */
#ifndef MBR_TOKENIZER_INTERNAL_H
#define MBR_TOKENIZER_INTERNAL_H

#include "mbr/tokenizer.h"

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum {
	MBR_TOKTYPE_UNDEFINED = 0, MBR_TOKTYPE_NORMAL = 1,
	MBR_TOKTYPE_UNKNOWN = 2, MBR_TOKTYPE_CONTROL = 3,
	MBR_TOKTYPE_USER_DEFINED = 4, MBR_TOKTYPE_UNUSED = 5,
	MBR_TOKTYPE_BYTE = 6
};

/* Pre-tokenizers of byte-level BPE (llama.cpp's llama_vocab_pre_type). */
enum mbr_pretok {
	MBR_PRETOK_DEFAULT = 0,
	MBR_PRETOK_GPT2,
	MBR_PRETOK_LLAMA3
};

struct mbr_token {
	uint32_t off, len;		/* the vocabulary text in t->text */
	uint32_t piece_off, piece_len;	/* rendered piece in t->pieces */
	float score;
	int32_t type;
};

/* An open-addressing hash table of string ids: slot holds id + 1, 0 free. */
struct mbr_strtab {
	uint32_t *slots;
	uint32_t mask;
};

/* A merge "left right": left is bytes [off, off + left_len) of t->text. */
struct mbr_merge {
	uint32_t off, left_len, len;
};

struct mbr_tokenizer {
	char *name;			/* the file, for messages */
	int type;			/* enum mbr_tokenizer_type */
	int pretok;			/* enum mbr_pretok (BPE) */
	int add_bos, add_space_prefix, ignore_merges;
	int32_t bos, eos, unk;		/* -1: none */
	int32_t n_vocab;
	struct mbr_token *tokens;
	struct mbr_strtab token_index;
	struct mbr_merge *merges;	/* rank order */
	uint32_t n_merges;
	struct mbr_strtab merge_index;	/* merge rank + 1 */
	char *text;			/* token and merge strings */
	char *pieces;
	int32_t byte_token[256];	/* SPM byte fallback; -1: none */
};

/* A growing list of ids. */
struct mbr_idvec {
	int32_t *v;
	size_t n, alloc;
};
int mbr_idvec_push(struct mbr_idvec *vec, int32_t id);

/* FNV-1a, continued from h (start with MBR_FNV_INIT). */
#define MBR_FNV_INIT 2166136261u
uint32_t mbr_tok__hash(uint32_t h, const void *s, size_t len);

/* The token whose text is s[0..len), or -1. */
int32_t mbr_tok__find(const struct mbr_tokenizer *t, const char *s, size_t len);
/* The rank of the merge "left right", or -1. */
int32_t mbr_tok__merge_rank(const struct mbr_tokenizer *t,
			    const char *left, size_t left_len,
			    const char *right, size_t right_len);

/*
 * The symbols being merged: a doubly linked list over a text, and a
 * priority queue of candidate pairs. Higher key first, then the pair
 * further left: SentencePiece keys by score, BPE by minus the rank.
 */
struct mbr_sym {
	int32_t prev, next;
	uint32_t start, n;		/* n == 0: merged into its left */
};

struct mbr_bigram {
	double key;
	int32_t left, right;
	uint32_t size;			/* left.n + right.n when queued */
};

struct mbr_symbols {
	struct mbr_sym *sym;
	size_t n, alloc;
	struct mbr_bigram *heap;
	size_t n_heap, alloc_heap;
};

/* Reset to the characters of text[0..len): runs of one UTF-8 lead byte
 * and its continuation length, as llama.cpp's unicode_len_utf8. */
int mbr_symbols_split(struct mbr_symbols *s, const char *text, size_t len);
int mbr_symbols_push(struct mbr_symbols *s, const struct mbr_bigram *b);
/* Pop the best pair still valid (both sides unchanged); 0 when none. */
int mbr_symbols_pop(struct mbr_symbols *s, struct mbr_bigram *b);
/* Merge b.right into b.left. */
void mbr_symbols_merge(struct mbr_symbols *s, const struct mbr_bigram *b);
void mbr_symbols_release(struct mbr_symbols *s);

/* Length of the UTF-8 sequence that starts with byte c (1 for a stray
 * continuation byte), as llama.cpp's unicode_len_utf8. */
static inline size_t mbr_utf8_len(unsigned char c)
{
	static const unsigned char len[16] = {
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4
	};
	return len[c >> 4];
}

int mbr_tok__spm(const struct mbr_tokenizer *t, const char *text, size_t len,
		 struct mbr_idvec *out);
int mbr_tok__bpe(const struct mbr_tokenizer *t, const char *text, size_t len,
		 struct mbr_idvec *out);

/* GPT-2's byte-level alphabet: the code point byte b is written as, and
 * back (-1 when cp stands for no byte). */
uint32_t mbr_tok__byte_to_cp(unsigned char b);
int mbr_tok__cp_to_byte(uint32_t cp);
/* Decode one code point leniently, as llama.cpp's unicode_cpts_from_utf8:
 * a bad sequence is U+FFFD and consumes one byte. */
uint32_t mbr_tok__utf8_decode(const unsigned char *s, size_t len, size_t *adv);
/* Encode cp (<= 0x10FFFF) into buf; returns its length. */
size_t mbr_tok__utf8_encode(uint32_t cp, char *buf);

#endif
