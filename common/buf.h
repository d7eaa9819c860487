/* Byte buffers and line framing: pure, no file descriptors. */
#ifndef RT_BUF_H
#define RT_BUF_H

#include <stddef.h>

/* A growable byte queue with a hard cap. Storage is allocated on first use and released
 * when the queue empties, so an idle connection costs no buffer memory. */
struct buf {
	char *data;
	size_t off; /* first unread byte */
	size_t len; /* unread bytes */
	size_t cap;
	size_t max; /* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Appends n bytes; -1 when that would exceed the cap (nothing is appended). */
int buf_append(struct buf *b, const void *p, size_t n);
/* Makes room for at least n more bytes and returns where to write them (NULL over the cap). */
char *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);
void buf_consume(struct buf *b, size_t n);
/* Takes back the last n bytes appended (all of them when n exceeds the length). */
void buf_unappend(struct buf *b, size_t n);
/* Hands the unread bytes over as one malloc'd block the caller frees (*len of them) and
 * leaves the buffer empty: no copy when nothing was consumed. NULL when out of memory. */
char *buf_take(struct buf *b, size_t *len);
static inline const char *buf_head(const struct buf *b)
{
	return b->data ? b->data + b->off : "";
}
static inline size_t buf_len(const struct buf *b)
{
	return b->len;
}
static inline size_t buf_room(const struct buf *b)
{
	return b->max - b->len;
}

enum line_status {
	LINE_OK,       /* a whole line; *linelen excludes the terminator */
	LINE_NEED,     /* no terminator yet and still under the limit */
	LINE_TOO_LONG, /* more than max bytes without a terminator */
};
#define LINE_BARE_LF 0x1 /* terminated by LF alone, not CRLF */
#define LINE_HAS_NUL 0x2

/* Frames one LF-terminated line at p. *consumed includes the terminator. Pure. */
enum line_status line_frame(const char *p, size_t len, size_t max, size_t *linelen,
                            size_t *consumed, int *flags);

#endif
