#include "cfgline.h"

#include <string.h>

void cfgline_init(struct cfgline *c, const char *text)
{
	memset(c, 0, sizeof(*c));
	c->next = text;
}

int cfgline_next(struct cfgline *c)
{
	while (c->next && *c->next) {
		const char *s = c->next, *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		c->next = e ? e + 1 : s + n;
		c->lineno++;
		if (n && s[n - 1] == '\r')
			n--;
		if (n >= sizeof(c->line))
			return -1;
		memcpy(c->line, s, n);
		c->line[n] = '\0';
		c->pos = c->line;
		while (*c->pos == ' ' || *c->pos == '\t')
			c->pos++;
		if (*c->pos && *c->pos != '#')
			return 1;
	}
	return 0;
}

int cfgline_field(struct cfgline *c, char *out, size_t outlen)
{
	char *p = c->pos;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return 0;
	char *s = p, *e;
	if (*p == '"') {
		s = p + 1;
		if (!(e = strchr(s, '"')))
			return -1;
		c->pos = e + 1;
	} else {
		e = p + strcspn(p, " \t");
		c->pos = e;
	}
	if ((size_t)(e - s) >= outlen)
		return -1;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	return 1;
}
