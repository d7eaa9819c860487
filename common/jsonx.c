#include "jsonx.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len;
	unsigned min;
	unsigned cp;
	if (c >= 0x01 && c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The length of the valid UTF-8 (without NUL) prefix of p[0..n). */
static size_t utf8_valid_prefix(const unsigned char *p, size_t n)
{
	size_t i = 0, l;
	while (i < n && (l = utf8_seq(p + i, n - i)))
		i += l;
	return i;
}

json_t *jsonx_bytes(const char *p, size_t n)
{
	if (!p)
		return json_null();
	/* the common case, valid text: checked once here, not copied nor checked again */
	if (utf8_valid_prefix((const unsigned char *)p, n) == n)
		return json_stringn_nocheck(p, n);
	char *out = malloc(n * 3 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	const unsigned char *u = (const unsigned char *)p;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq(u + i, n - i);
		if (l) {
			memcpy(out + o, u + i, l);
			o += l;
			i += l;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	json_t *j = json_stringn_nocheck(out, o);
	free(out);
	return j;
}

json_t *jsonx_str(const char *s)
{
	return s ? jsonx_bytes(s, strlen(s)) : json_null();
}

void jsonx_set_bytes(json_t *obj, const char *key, const char *p, size_t n)
{
	json_object_set_new(obj, key, jsonx_bytes(p, n));
}

char *jsonx_line(const json_t *obj, size_t *len)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return line;
}

int jsonx_line_append(const json_t *obj, char **buf, size_t *len, size_t *cap)
{
	const size_t flags = JSON_COMPACT | JSON_ENSURE_ASCII;
	for (;;) {
		size_t room = *cap - *len;
		size_t n = json_dumpb(obj, room ? *buf + *len : NULL, room, flags);
		if (n == 0)
			return -1;
		if (n < room) { /* room for the newline too */
			(*buf)[*len + n] = '\n';
			*len += n + 1;
			return 0;
		}
		size_t ncap = *cap ? *cap : 4096;
		while (ncap - *len <= n)
			ncap *= 2;
		char *b = realloc(*buf, ncap);
		if (!b)
			return -1;
		*buf = b;
		*cap = ncap;
	}
}

int jsonx_array_has(const json_t *arr, const char *s)
{
	size_t i;
	const json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	}
	return 0;
}
