/*
 * strbuf.h - a growable byte buffer (git's strbuf).
 *
 * buf is always NUL-terminated and never NULL (it points at a static empty
 * string until the first growth). Allocation failure aborts: a strbuf is for
 * small text (messages, JSON, paths), never for tensor data.
 */
#ifndef MBR_STRBUF_H
#define MBR_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf {
	size_t alloc;
	size_t len;
	char *buf;
};

extern char strbuf_slopbuf[];
#define STRBUF_INIT { 0, 0, strbuf_slopbuf }

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_release(struct strbuf *sb);
/* Hand the buffer to the caller (free() it); sb is reset. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_setlen(struct strbuf *sb, size_t len);
static inline void strbuf_reset(struct strbuf *sb) { strbuf_setlen(sb, 0); }
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* Human size: "1.2 GiB", "312 KiB", "17 B". */
void strbuf_humanise_bytes(struct strbuf *sb, uint64_t bytes);

#endif
