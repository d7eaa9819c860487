#include "advice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgline.h"

void advice_free(struct advice *a)
{
	free(a);
}

/* "[postfix exim] Postfix" into e; -1 with why. */
static int header(char *line, struct advice_entry *e, char *why, size_t whylen)
{
	char *close = strchr(line, ']');
	char *name = close ? close + 1 : NULL;
	while (name && (*name == ' ' || *name == '\t'))
		name++;
	if (!close || close == line + 1 || !*name) {
		snprintf(why, whylen, "expected [PRODUCT ...] NAME");
		return -1;
	}
	*close = '\0';
	if (strlen(line + 1) + 3 > sizeof(e->products) || strlen(name) >= sizeof(e->name)) {
		snprintf(why, whylen, "products or name too long");
		return -1;
	}
	snprintf(e->products, sizeof(e->products), " %s ", line + 1);
	for (char *p = e->products; *p; p++)
		if (*p == '\t')
			*p = ' ';
	snprintf(e->name, sizeof(e->name), "%s", name);
	return 0;
}

static int add_line(struct advice_entry *e, const char *line, char *why, size_t whylen)
{
	size_t n = strlen(e->text);
	if (n + strlen(line) + 2 > sizeof(e->text)) {
		snprintf(why, whylen, "paragraph longer than %d bytes", ADVICE_TEXT_MAX - 1);
		return -1;
	}
	snprintf(e->text + n, sizeof(e->text) - n, "%s%s", n ? " " : "", line);
	return 0;
}

static int check_entries(struct advice *a, char *why, size_t whylen, int *line)
{
	a->generic = -1;
	for (int i = 0; i < a->n; i++) {
		if (!a->e[i].text[0]) {
			*line = a->e[i].line;
			int n = (int)strlen(a->e[i].products) - 2; /* without the blanks around */
			snprintf(why, whylen, "[%.*s] has no paragraph", n < 60 ? n : 60,
			         a->e[i].products + 1);
			return -1;
		}
		if (strstr(a->e[i].products, " generic "))
			a->generic = i;
	}
	if (a->generic < 0) {
		snprintf(why, whylen, "no [generic] paragraph");
		return -1;
	}
	return 0;
}

struct advice *advice_parse(const char *text, const char *origin, char *err, size_t errlen)
{
	struct advice *a = calloc(1, sizeof(*a));
	struct cfgline c;
	char why[200] = "";
	int rc = a ? 0 : -1, line = 0;
	cfgline_init(&c, text);
	while (rc == 0 && (rc = cfgline_next(&c)) == 1) {
		line = c.lineno;
		rc = 0;
		if (c.pos[0] == '[') {
			if (a->n == ADVICE_MAX) {
				snprintf(why, sizeof(why), "more than %d paragraphs", ADVICE_MAX);
				rc = -1;
			} else {
				a->e[a->n].line = c.lineno;
				rc = header(c.pos, &a->e[a->n], why, sizeof(why));
				a->n += rc == 0;
			}
		} else if (!a->n) {
			snprintf(why, sizeof(why), "text before the first [PRODUCT] NAME line");
			rc = -1;
		} else {
			rc = add_line(&a->e[a->n - 1], c.pos, why, sizeof(why));
		}
	}
	if (rc == 0)
		rc = check_entries(a, why, sizeof(why), &line);
	else if (rc < 0 && !why[0])
		line = c.lineno;
	if (rc < 0) {
		snprintf(err, errlen, "%s:%d: %s", origin, line,
		         !a       ? "out of memory"
		         : why[0] ? why
		                  : "line too long");
		advice_free(a);
		return NULL;
	}
	return a;
}

const struct advice_entry *advice_for(const struct advice *a, const char *product)
{
	char key[40];
	if (product && *product && strlen(product) + 3 <= sizeof(key)) {
		snprintf(key, sizeof(key), " %s ", product);
		for (int i = 0; i < a->n; i++)
			if (strstr(a->e[i].products, key))
				return &a->e[i];
	}
	return &a->e[a->generic];
}
