/* The reply texts of one host, each kept once, with the test's RCPT argument and token as
 * marks (texts.h). Pure. */
#include "texts.h"

#include <stdlib.h>
#include <string.h>

#include "outcome.h"

#define MARK_RCPT '\x01'
#define MARK_TOKEN '\x02'

static int at(const char *s, size_t n, size_t i, const char *w, size_t wl)
{
	return wl && i + wl <= n && memcmp(s + i, w, wl) == 0;
}

/* The text with its marks, between two NULs (as it would sit in the store); returns the
 * length between them. */
static size_t marked(const char *text, size_t n, const char *rcpt, const char *token, char *out)
{
	size_t rl = rcpt ? strlen(rcpt) : 0, tl = token ? strlen(token) : 0, o = 0;
	out[o++] = '\0';
	for (size_t i = 0; i < n && text[i]; i++) {
		if (at(text, n, i, rcpt, rl)) {
			out[o++] = MARK_RCPT;
			i += rl - 1;
		} else if (at(text, n, i, token, tl)) {
			out[o++] = MARK_TOKEN;
			i += tl - 1;
		} else {
			out[o++] = text[i] == MARK_RCPT || text[i] == MARK_TOKEN ? '?' : text[i];
		}
	}
	out[o] = '\0';
	return o - 1;
}

uint16_t texts_put(struct texts *ts, const char *text, size_t n, const char *rcpt,
                   const char *token)
{
	char m[REPLY_TEXT_MAX + 2];
	if (n > REPLY_TEXT_MAX - 1)
		n = REPLY_TEXT_MAX - 1;
	size_t ml = marked(text, n, rcpt, token, m);
	if (!ml)
		return 0; /* offset 0 is the empty text */
	if (ts->len) {
		const char *found = memmem(ts->b, ts->len, m, ml + 2);
		if (found)
			return (uint16_t)(found - ts->b + 1);
	}
	uint32_t need = (ts->len ? ts->len : 1) + (uint32_t)ml + 1;
	if (need > TEXTS_MAX + 1)
		return UINT16_MAX;
	if (need > ts->cap) {
		uint32_t cap = ts->cap ? ts->cap : 64;
		while (cap < need)
			cap *= 2;
		if (cap > TEXTS_MAX + 1)
			cap = TEXTS_MAX + 1;
		char *b = realloc(ts->b, cap);
		if (!b)
			return UINT16_MAX;
		ts->b = b;
		ts->cap = cap;
	}
	if (!ts->len)
		ts->b[ts->len++] = '\0';
	uint32_t off = ts->len;
	memcpy(ts->b + off, m + 1, ml + 1);
	ts->len += (uint32_t)ml + 1;
	return (uint16_t)off;
}

static void put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	if (n > outlen - 1 - *o)
		n = outlen - 1 - *o;
	memcpy(out + *o, s, n);
	*o += n;
}

size_t texts_get(const struct texts *ts, uint16_t off, const char *rcpt, const char *token,
                 char *out, size_t outlen)
{
	const char *s = off == UINT16_MAX ? TEXTS_DROPPED : off && off < ts->len ? ts->b + off : "";
	size_t o = 0;
	if (!outlen)
		return 0;
	for (; *s; s++) {
		if (*s == MARK_RCPT)
			put(out, outlen, &o, rcpt ? rcpt : "", rcpt ? strlen(rcpt) : 0);
		else if (*s == MARK_TOKEN)
			put(out, outlen, &o, token ? token : "", token ? strlen(token) : 0);
		else
			put(out, outlen, &o, s, 1);
	}
	out[o] = '\0';
	return o;
}

void texts_free(struct texts *ts)
{
	free(ts->b);
	memset(ts, 0, sizeof(*ts));
}
