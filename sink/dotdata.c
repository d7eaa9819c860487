#include "dotdata.h"

#include <string.h>

#define LINE_MAX_OCTETS 998 /* without the CRLF */

enum {
	S_BOL,      /* after CRLF */
	S_BOL_BARE, /* after a bare LF: not a real line start, a '.' here is data */
	S_DOT,      /* "." at a line start */
	S_DOT_CR,   /* ".\r" at a line start */
	S_BOL_NUL,  /* a NUL at a line start (MTAs that drop NULs see a line start after it) */
	S_BDOT,     /* "." after a bare line end (LF or CR) or after a NUL at a line start */
	S_BDOT_CR,  /* ".\r" there */
	S_TEXT,
	S_CR,
};

void dotdata_init(struct dotdata *d, size_t limit)
{
	memset(d, 0, sizeof(*d));
	d->limit = limit;
}

static void emit(struct dotdata *d, struct buf *out, const char *p, size_t n)
{
	size_t keep = 0;
	if (d->size < d->limit)
		keep = d->limit - d->size < n ? d->limit - d->size : n;
	if (keep && buf_append(out, p, keep) < 0)
		keep = 0;
	if (keep < n)
		d->flags |= DD_OVERSIZE;
	d->size += n;
}

static void line_add(struct dotdata *d, size_t n)
{
	d->line += n;
	if (d->line > LINE_MAX_OCTETS)
		d->flags |= DD_LONG_LINE;
}

/* One byte of ordinary text (state S_TEXT semantics). */
static void text_byte(struct dotdata *d, struct buf *out, char c)
{
	if (c == '\r') {
		d->state = S_CR;
	} else if (c == '\n') {
		d->flags |= DD_BARE_LF;
		emit(d, out, "\n", 1);
		d->line = 0;
		d->state = S_BOL_BARE;
	} else {
		if (c == '\0')
			d->flags |= DD_NUL;
		emit(d, out, &c, 1);
		line_add(d, 1);
		d->state = S_TEXT;
	}
}

/* The byte after a CR: CRLF ends a line, anything else makes the CR a bare CR. */
static void after_cr(struct dotdata *d, struct buf *out, char c)
{
	if (c == '\n') {
		emit(d, out, "\r\n", 2);
		d->line = 0;
		d->state = S_BOL;
		return;
	}
	d->flags |= DD_BARE_CR;
	emit(d, out, "\r", 1);
	line_add(d, 1);
	if (c == '.') { /* a dot after a bare CR: some MTAs take the CR for a line end */
		emit(d, out, ".", 1);
		line_add(d, 1);
		d->state = S_BDOT;
		return;
	}
	text_byte(d, out, c);
}

size_t dotdata_feed(struct dotdata *d, const char *in, size_t n, struct buf *out, int *done)
{
	*done = 0;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		switch (d->state) {
		case S_TEXT: {
			/* Fast path: copy a run of plain bytes at once. */
			size_t j = i;
			while (j < n && in[j] != '\r' && in[j] != '\n' && in[j] != '\0')
				j++;
			if (j > i) {
				emit(d, out, in + i, j - i);
				line_add(d, j - i);
				i = j - 1;
				continue;
			}
			text_byte(d, out, c);
			break;
		}
		case S_CR:
			after_cr(d, out, c);
			break;
		case S_BOL:
			if (c == '.') {
				d->state = S_DOT; /* dropped: it is either stuffing or the end */
			} else {
				text_byte(d, out, c);
				if (c == '\0')
					d->state = S_BOL_NUL;
			}
			break;
		case S_BOL_NUL:
			if (c == '.') {
				emit(d, out, ".", 1);
				line_add(d, 1);
				d->state = S_BDOT;
			} else {
				text_byte(d, out, c);
			}
			break;
		case S_BOL_BARE:
			if (c == '.') {
				emit(d, out, ".", 1);
				line_add(d, 1);
				d->state = S_BDOT;
			} else {
				text_byte(d, out, c);
			}
			break;
		case S_DOT:
			if (c == '\r') {
				d->state = S_DOT_CR;
			} else {
				if (c == '\n')
					d->flags |= DD_SMUGGLE; /* "<CRLF>.<LF>" */
				line_add(d, 1);
				text_byte(d, out, c);
			}
			break;
		case S_DOT_CR:
			if (c == '\n') {
				*done = 1;
				d->state = S_BOL;
				return i + 1;
			}
			d->flags |= DD_SMUGGLE; /* "<CRLF>.<CR>x" */
			after_cr(d, out, c);
			break;
		case S_BDOT:
			if (c == '\r') {
				d->state = S_BDOT_CR;
			} else {
				if (c == '\n')
					d->flags |= DD_SMUGGLE; /* "<LF>.<LF>", "<CR>.<LF>" */
				text_byte(d, out, c);
			}
			break;
		case S_BDOT_CR: /* a dot line after a bare line end, ended by a CR: "<LF>.<CR><LF>",
		                 * "<CR>.<CR>", "<LF>.<CR>x", "<CRLF><NUL>.<CRLF>" */
			d->flags |= DD_SMUGGLE;
			after_cr(d, out, c);
			break;
		}
	}
	return n;
}

int dotdata_flag_names(int flags, const char **names, int max)
{
	static const struct {
		int flag;
		const char *name;
	} tab[] = {{DD_BARE_LF, "bare_lf"},     {DD_BARE_CR, "bare_cr"}, {DD_SMUGGLE, "smuggling"},
	           {DD_LONG_LINE, "long_line"}, {DD_NUL, "nul"},         {DD_OVERSIZE, "oversize"}};
	int n = 0;
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]) && n < max; i++)
		if (flags & tab[i].flag)
			names[n++] = tab[i].name;
	return n;
}
