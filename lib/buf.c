/* buf.c — growable byte buffers, reused across records (reset keeps the capacity). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "pagepull.h"

void buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;	/* room for buf_str's NUL */
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void buf_add(struct buf *b, const void *s, size_t n)
{
	buf_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	/* Format straight into the spare room; only a result that does not fit is formatted
	 * a second time, after growing (one pass in the usual case, and no NULL buffer). */
	va_list ap;
	buf_grow(b, 64);
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

const char *buf_str(struct buf *b)
{
	buf_grow(b, 0);
	b->p[b->len] = 0;
	return b->p;
}

int buf_read(struct buf *b, FILE *f, size_t max)
{
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (n > max - b->len) {
			errno = EFBIG;
			return -1;
		}
		buf_add(b, chunk, n);
	}
	return ferror(f) ? -1 : 0;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
