/*
 * tokenizer-spm.c - SentencePiece BPE (tokenizer.ggml.model "llama"), as
 * llama.cpp's llm_tokenizer_spm_session.
 *
 * The text is split into UTF-8 characters; every adjacent pair whose
 * concatenation is a token is queued by that token's score, and the best
 * pair is merged, queueing the new pairs on either side, until none is
 * left. Every merged symbol is a token by construction; a single
 * character that is not becomes its byte tokens.
 */
#include <stdlib.h>
#include <string.h>
#include "tokenizer-internal.h"
#include "mbr/error.h"

#define SPACE_ESCAPED "\xe2\x96\x81"	/* U+2581, SentencePiece's space */

/* Queue the pair (left, right) when their concatenation is a token. */
static int try_pair(const struct mbr_tokenizer *t, struct mbr_symbols *s,
		    const char *text, int32_t left, int32_t right)
{
	struct mbr_bigram b;
	int32_t id;

	if (left < 0 || right < 0)
		return 0;
	b.left = left;
	b.right = right;
	b.size = s->sym[left].n + s->sym[right].n;
	id = mbr_tok__find(t, text + s->sym[left].start, b.size);
	if (id < 0)
		return 0;
	b.key = t->tokens[id].score;
	return mbr_symbols_push(s, &b);
}

/* A symbol that is no token: its bytes, each as its <0xNN> token. */
static int emit_bytes(const struct mbr_tokenizer *t, const char *p, size_t n,
		      struct mbr_idvec *out)
{
	for (size_t i = 0; i < n; i++) {
		int32_t id = t->byte_token[(unsigned char)p[i]];

		if (id < 0)
			id = t->unk;
		if (id < 0) {
			mbr_error_set(MBR_ERROR_FORMAT,
				      "%s: no token for byte 0x%02X and no unknown token",
				      t->name, (unsigned char)p[i]);
			return MBR_EUNSUPPORTED;
		}
		if (mbr_idvec_push(out, id))
			return MBR_ENOMEM;
	}
	return 0;
}

/* Spaces written as "▁", after a leading one when add_space_prefix. */
static char *escape_spaces(const struct mbr_tokenizer *t, const char *text,
			   size_t len, size_t *out_len)
{
	size_t spaces = t->add_space_prefix, n = 0, cap;
	char *buf;

	for (size_t i = 0; i < len; i++)
		spaces += text[i] == ' ';
	if (MBR_MUL_OVERFLOW(&cap, spaces, (size_t)2) ||
	    MBR_ADD_OVERFLOW(&cap, cap, len + 1))
		return NULL;
	buf = malloc(cap);
	if (!buf)
		return NULL;
	if (t->add_space_prefix) {
		memcpy(buf, SPACE_ESCAPED, 3);
		n = 3;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ' ') {
			memcpy(buf + n, SPACE_ESCAPED, 3);
			n += 3;
		} else {
			buf[n++] = text[i];
		}
	}
	*out_len = n;
	return buf;
}

int mbr_tok__spm(const struct mbr_tokenizer *t, const char *text, size_t len,
		 struct mbr_idvec *out)
{
	struct mbr_symbols s = { 0 };
	struct mbr_bigram b;
	size_t n;
	char *buf;
	int err = 0;

	/* llama.cpp tokenizes no fragment at all for an empty text, so
	 * not even the space prefix becomes a token. */
	if (len == 0)
		return 0;
	buf = escape_spaces(t, text, len, &n);
	MBR_CHECK_ALLOC(buf);
	if ((err = mbr_symbols_split(&s, buf, n)))
		goto done;
	for (size_t i = 1; i < s.n && !err; i++)
		err = try_pair(t, &s, buf, (int32_t)i - 1, (int32_t)i);
	while (!err && mbr_symbols_pop(&s, &b)) {
		mbr_symbols_merge(&s, &b);
		err = try_pair(t, &s, buf, s.sym[b.left].prev, b.left);
		if (!err)
			err = try_pair(t, &s, buf, b.left, s.sym[b.left].next);
	}
	for (int32_t i = 0; !err && i >= 0; i = s.sym[i].next) {
		const char *p = buf + s.sym[i].start;
		int32_t id = mbr_tok__find(t, p, s.sym[i].n);

		if (id >= 0)
			err = mbr_idvec_push(out, id) ? MBR_ENOMEM : 0;
		else
			err = emit_bytes(t, p, s.sym[i].n, out);
	}
done:
	mbr_symbols_release(&s);
	free(buf);
	return err;
}
