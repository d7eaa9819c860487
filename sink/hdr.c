#include "hdr.h"

#include <string.h>
#include <strings.h>

int hdr_next(const char *msg, size_t len, size_t *pos, struct hdr_field *f)
{
	size_t p = *pos;
	if (p >= len)
		return 0;
	if (msg[p] == '\n' || (msg[p] == '\r' && p + 1 < len && msg[p + 1] == '\n')) {
		*pos = p + (msg[p] == '\r' ? 2 : 1);
		return 0;
	}
	size_t n = p;
	while (n < len && msg[n] != ':' && msg[n] > ' ' && msg[n] < 0x7f)
		n++;
	if (n == p || n >= len || msg[n] != ':')
		return -1;
	f->name = msg + p;
	f->namelen = n - p;
	size_t v = n + 1, e = v;
	for (;;) {
		const char *lf = memchr(msg + e, '\n', len - e);
		if (!lf) {
			e = len;
			break;
		}
		e = (size_t)(lf - msg) + 1;
		if (e >= len || (msg[e] != ' ' && msg[e] != '\t'))
			break;
	}
	size_t vend = e;
	if (vend > v && msg[vend - 1] == '\n')
		vend--;
	if (vend > v && msg[vend - 1] == '\r')
		vend--;
	f->value = msg + v;
	f->valuelen = vend - v;
	*pos = e;
	return 1;
}

size_t hdr_unfold(const char *v, size_t n, char *dst, size_t cap)
{
	size_t o = 0;
	int space = 1; /* drops leading white space */
	for (size_t i = 0; i < n && o < cap; i++) {
		char c = v[i];
		if (c == '\r' || c == '\n' || c == ' ' || c == '\t') {
			if (!space)
				dst[o++] = ' ';
			space = 1;
			continue;
		}
		dst[o++] = c;
		space = 0;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	return o;
}

int hdr_is(const struct hdr_field *f, const char *name)
{
	return strlen(name) == f->namelen && strncasecmp(name, f->name, f->namelen) == 0;
}
