/*
 * tokenizer.h - text to token ids and back, from a GGUF file's tokenizer
 * metadata, as llama.cpp does it (src/llama-vocab.cpp).
 *
 * Two tokenizer models are supported, named by tokenizer.ggml.model:
 *
 *   "llama"  SentencePiece BPE (LLaMA 1/2, Mistral): the text, with a
 *            leading space when add_space_prefix is set and every space
 *            written as U+2581 "▁", is split into UTF-8 characters; the
 *            adjacent pair whose concatenation is the token with the
 *            highest score is merged until no pair is a token. A character
 *            that is no token falls back to its byte tokens <0xNN>.
 *   "gpt2"   byte-level BPE: the text is cut into words by the
 *            pre-tokenizer (tokenizer.ggml.pre: "default", "gpt-2" and
 *            its aliases, "llama3" and its aliases), each byte of a word
 *            is written as a printable character (GPT-2's byte-to-unicode
 *            table) and pairs are merged in the order of
 *            tokenizer.ggml.merges.
 *
 *	struct mbr_tokenizer *t;
 *	int32_t *ids;
 *	size_t n;
 *
 *	if (mbr_tokenizer_load(&t, mf) < 0 ||
 *	    mbr_tokenize(t, "Hello world", 11, 1, &ids, &n) < 0)
 *		... mbr_error_last() ...
 *	free(ids);
 *	mbr_tokenizer_free(t);
 *
 * Special tokens written in the text ("<s>") are tokenized as plain text,
 * and user-defined tokens are not split out first: llama.cpp's
 * parse_special=false without its user-defined partition.
 */
#ifndef MBR_TOKENIZER_H
#define MBR_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include "modelfile.h"
#include "strbuf.h"

struct mbr_tokenizer;

enum mbr_tokenizer_type {
	MBR_TOKENIZER_SPM = 1,	/* "llama" */
	MBR_TOKENIZER_BPE = 2	/* "gpt2" */
};

/* The longest token or merge string accepted, in bytes. */
#define MBR_TOKEN_MAX_LEN 65536

/*
 * Read the tokenizer from mf's metadata (mf may be a header-only parse:
 * only the metadata bytes are read). Everything is copied: mf may be freed
 * afterwards. A missing tokenizer is MBR_ENOTFOUND, an unknown
 * tokenizer.ggml.model or pre-tokenizer MBR_EUNSUPPORTED; wrong types,
 * counts that do not match, duplicate tokens, ids out of range or overlong
 * strings are MBR_ECORRUPT, each with a message naming mf->path.
 */
int mbr_tokenizer_load(struct mbr_tokenizer **out,
		       const struct mbr_modelfile *mf);
void mbr_tokenizer_free(struct mbr_tokenizer *t);

/*
 * Tokenize len bytes of text (any bytes; invalid UTF-8 is handled as
 * llama.cpp does). With add_bos, the BOS token comes first (MBR_EINVALID
 * when the vocabulary has none); no EOS is ever added. *out is allocated
 * (free() it; non-NULL even for no tokens) and holds *n_out ids.
 * t is only read: several threads may tokenize with one tokenizer.
 */
int mbr_tokenize(const struct mbr_tokenizer *t, const char *text, size_t len,
		 int add_bos, int32_t **out, size_t *n_out);

/*
 * The text of token id as llama.cpp's token_to_piece renders it with
 * special=true: SentencePiece "▁" becomes a space and <0xNN> the byte;
 * byte-level BPE pieces are mapped back to their bytes; control, unknown
 * and user-defined tokens are their text ("<s>"); unused ones are empty.
 * NUL-terminated, but may hold NUL bytes: *len (when len is not NULL)
 * is its length. NULL
 * when id is out of range. Borrowed until mbr_tokenizer_free.
 */
const char *mbr_token_piece(const struct mbr_tokenizer *t, int32_t id,
			    size_t *len);
/* Append that piece to out; MBR_EINVALID when id is out of range. */
int mbr_detokenize_piece(const struct mbr_tokenizer *t, int32_t id,
			 struct strbuf *out);

/* The special token ids, or -1 when the vocabulary has none. */
int32_t mbr_tokenizer_bos(const struct mbr_tokenizer *t);
int32_t mbr_tokenizer_eos(const struct mbr_tokenizer *t);
int32_t mbr_tokenizer_unk(const struct mbr_tokenizer *t);
int32_t mbr_tokenizer_n_vocab(const struct mbr_tokenizer *t);
/* Whether the model wants a BOS first (tokenizer.ggml.add_bos_token, or
 * the tokenizer's default: yes for "llama" and llama3 pre-tokenizers). */
int mbr_tokenizer_add_bos(const struct mbr_tokenizer *t);
int mbr_tokenizer_type(const struct mbr_tokenizer *t);

#endif
