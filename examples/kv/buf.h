/*
 * buf.h: a growable byte buffer in malloc'd memory, for a connection's input
 * and output and for building a response. It never holds heap pointers (the
 * collectors do not scan malloc'd memory), only bytes.
 */
#ifndef KV_BUF_H
#define KV_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Makes room for `more` bytes after len. Running out of malloc memory ends
 * the server: it cannot answer anyone without buffers. */
static inline void buf_reserve(struct buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;

	if (b->len + more <= b->cap)
		return;
	while (cap < b->len + more)
		cap *= 2;
	b->data = realloc(b->data, cap);
	if (b->data == NULL) {
		fputs("kvserver: out of memory for a buffer\n", stderr);
		abort();
	}
	b->cap = cap;
}

static inline void buf_put(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;   /* p may be NULL then, which memcpy does not allow */
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void buf_putc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
}

static inline void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static inline void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Drops the first n bytes. */
static inline void buf_consume(struct buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

static inline void buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){ 0 };
}

#endif
