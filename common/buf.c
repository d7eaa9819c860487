#include "buf.h"

#include <stdlib.h>
#include <string.h>

#define BUF_MIN 256

void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

char *buf_reserve(struct buf *b, size_t n)
{
	if (n > b->max - b->len)
		return NULL;
	if (b->off + b->len + n <= b->cap)
		return b->data + b->off + b->len;
	if (b->len + n <= b->cap) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
		return b->data + b->len;
	}
	size_t cap = b->cap ? b->cap : BUF_MIN;
	while (cap < b->len + n)
		cap *= 2;
	if (cap > b->max)
		cap = b->max;
	char *d = malloc(cap);
	if (!d)
		return NULL;
	if (b->len)
		memcpy(d, b->data + b->off, b->len);
	free(b->data);
	b->data = d;
	b->cap = cap;
	b->off = 0;
	return d + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	char *w = buf_reserve(b, n);
	if (!w)
		return -1;
	memcpy(w, p, n);
	b->len += n;
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		/* Empty: give the memory back so idle connections stay small. */
		buf_free(b);
		return;
	}
	b->off += n;
	b->len -= n;
}

void buf_unappend(struct buf *b, size_t n)
{
	b->len -= n < b->len ? n : b->len;
}

char *buf_take(struct buf *b, size_t *len)
{
	char *d = b->data;
	*len = b->len;
	if (!d)
		return malloc(1);
	if (b->off)
		memmove(d, d + b->off, b->len);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
	return d;
}

enum line_status line_frame(const char *p, size_t len, size_t max, size_t *linelen,
                            size_t *consumed, int *flags)
{
	const char *lf = memchr(p, '\n', len);
	*flags = 0;
	if (!lf) {
		*linelen = *consumed = 0;
		return len > max + 1 ? LINE_TOO_LONG : LINE_NEED;
	}
	size_t n = (size_t)(lf - p);
	*consumed = n + 1;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	else
		*flags |= LINE_BARE_LF;
	if (n > max) {
		*linelen = 0;
		return LINE_TOO_LONG;
	}
	if (memchr(p, '\0', n))
		*flags |= LINE_HAS_NUL;
	*linelen = n;
	return LINE_OK;
}
