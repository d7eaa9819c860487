#include "advisory.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfgline.h"

/* The next run of digits or letters at *p (separators skipped): 'd', 'a', or 0 at the end. */
static int next_run(const char **p, const char **start, size_t *len)
{
	while (**p && !isalnum((unsigned char)**p))
		(*p)++;
	if (!**p)
		return 0;
	int digit = !!isdigit((unsigned char)**p);
	*start = *p;
	while (**p && isalnum((unsigned char)**p) && !!isdigit((unsigned char)**p) == digit)
		(*p)++;
	*len = (size_t)(*p - *start);
	return digit ? 'd' : 'a';
}

static int cmp_numbers(const char *a, size_t al, const char *b, size_t bl)
{
	while (al > 1 && *a == '0')
		a++, al--;
	while (bl > 1 && *b == '0')
		b++, bl--;
	if (al != bl)
		return al < bl ? -1 : 1;
	int c = memcmp(a, b, al);
	return c < 0 ? -1 : c > 0;
}

/* Letters that mark a release before the number they follow ("2.0rc1" < "2.0"); any other
 * letters mark a later one ("6.6.1p1", "8.5.3FP6"). */
static int prerelease(const char *s, size_t n)
{
	static const char *const marks[] = {"rc", "alpha", "beta", "pre", "dev", NULL};
	for (int i = 0; marks[i]; i++)
		if (strlen(marks[i]) == n && strncasecmp(s, marks[i], n) == 0)
			return 1;
	return 0;
}

/* How what remains of a version compares with nothing at all: numbers that are all zeros are
 * nothing ("3.0" = "3"), a pre-release mark is less, anything else more. */
static int against_nothing(const char *p)
{
	const char *s;
	size_t n;
	int k;
	while ((k = next_run(&p, &s, &n)) == 'd' && strspn(s, "0") == n)
		;
	return !k ? 0 : k == 'a' && prerelease(s, n) ? -1 : 1;
}

int advis_vercmp(const char *a, const char *b)
{
	for (;;) {
		const char *as = NULL, *bs = NULL, *a0 = a, *b0 = b;
		size_t al = 0, bl = 0;
		int ka = next_run(&a, &as, &al), kb = next_run(&b, &bs, &bl);
		if (!ka || !kb)
			return !ka ? -against_nothing(b0) : against_nothing(a0);
		if (ka != kb) /* a number against letters: the letters' kind decides */
			return ka == 'a' ? (prerelease(as, al) ? -1 : 1)
			                 : (prerelease(bs, bl) ? 1 : -1);
		int c;
		if (ka == 'd') {
			c = cmp_numbers(as, al, bs, bl);
		} else {
			size_t n = al < bl ? al : bl;
			c = strncasecmp(as, bs, n);
			c = c ? (c < 0 ? -1 : 1) : al == bl ? 0 : al < bl ? -1 : 1;
		}
		if (c)
			return c;
	}
}

/* One range; -1 malformed. */
static int in_one(const char *r, const char *v)
{
	const char *dots = strstr(r, "..");
	if (!strcmp(r, "*"))
		return 1;
	if (!*r)
		return -1;
	if (dots) {
		char lo[64];
		size_t n = (size_t)(dots - r);
		if (!n || n >= sizeof(lo) || !dots[2])
			return -1;
		memcpy(lo, r, n);
		lo[n] = '\0';
		return *v && advis_vercmp(v, lo) >= 0 && advis_vercmp(v, dots + 2) <= 0;
	}
	static const char *const ops[] = {"<=", ">=", "<", ">", "="};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i]);
		if (strncmp(r, ops[i], n) != 0)
			continue;
		if (!r[n] || !isalnum((unsigned char)r[n]))
			return -1;
		if (!*v)
			return 0;
		int c = advis_vercmp(v, r + n);
		return i == 0 ? c <= 0 : i == 1 ? c >= 0 : i == 2 ? c < 0 : i == 3 ? c > 0 : c == 0;
	}
	return -1;
}

int advis_in_range(const char *ranges, const char *version)
{
	char buf[200];
	int hit = 0;
	size_t len = strlen(ranges);
	if (len >= sizeof(buf) || strstr(ranges, ",,") || ranges[0] == ',' ||
	    (len && ranges[len - 1] == ','))
		return -1; /* every range between commas says something */
	snprintf(buf, sizeof(buf), "%s", ranges);
	char *save = NULL;
	int parts = 0;
	for (char *r = strtok_r(buf, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
		int m = in_one(r, version ? version : "");
		if (m < 0)
			return -1;
		hit |= m;
		parts++;
	}
	return parts ? hit : -1;
}

void advis_free(struct advtable *t)
{
	if (t)
		free(t->a);
	free(t);
}

static int field(struct cfgline *c, char *out, size_t outlen, const char *what, char *why,
                 size_t whylen)
{
	if (cfgline_field(c, out, outlen) == 1 && *out)
		return 0;
	snprintf(why, whylen, "expected %s (at most %zu bytes)", what, outlen - 1);
	return -1;
}

static int parse_entry(struct cfgline *c, struct advisory *a, char *why, size_t whylen)
{
	static const char *const sev[] = {"critical", "high", "medium", "low", "info", NULL};
	char extra[8];
	memset(a, 0, sizeof(*a));
	a->line = c->lineno;
	if (field(c, a->product, sizeof(a->product), "a product", why, whylen) < 0 ||
	    field(c, a->versions, sizeof(a->versions), "versions", why, whylen) < 0)
		return -1;
	if (advis_in_range(a->versions, "1") < 0) {
		snprintf(why, whylen,
		         "'%s': expected versions *, <V, <=V, >V, >=V, =V or A..B, "
		         "comma-separated",
		         a->versions);
		return -1;
	}
	if (field(c, a->id, sizeof(a->id), "an identifier", why, whylen) < 0 ||
	    field(c, a->severity, sizeof(a->severity), "a severity", why, whylen) < 0)
		return -1;
	int s = 0;
	while (sev[s] && strcmp(sev[s], a->severity) != 0)
		s++;
	if (!sev[s]) {
		snprintf(why, whylen, "'%s': expected critical, high, medium, low or info",
		         a->severity);
		return -1;
	}
	if (field(c, a->text, sizeof(a->text), "a \"quoted\" text", why, whylen) < 0 ||
	    field(c, a->reference, sizeof(a->reference), "a reference", why, whylen) < 0)
		return -1;
	if (cfgline_field(c, extra, sizeof(extra)) != 0) {
		snprintf(why, whylen, "unexpected text after the reference");
		return -1;
	}
	return 0;
}

struct advtable *advis_parse(const char *text, const char *origin, char *err, size_t errlen)
{
	struct advtable *t = calloc(1, sizeof(*t));
	struct cfgline c;
	char why[300] = "";
	int rc = t ? 0 : -1;
	cfgline_init(&c, text);
	while (rc == 0 && (rc = cfgline_next(&c)) == 1) {
		struct advisory *grown =
		    t->n < ADVIS_MAX ? realloc(t->a, sizeof(*t->a) * (size_t)(t->n + 1)) : NULL;
		if (!grown) {
			snprintf(why, sizeof(why), "more than %d entries, or out of memory",
			         ADVIS_MAX);
			rc = -1;
			break;
		}
		t->a = grown;
		rc = parse_entry(&c, &t->a[t->n], why, sizeof(why)) < 0 ? -1 : 0;
		t->n += rc == 0;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s:%d: %s", origin, c.lineno,
		         !t       ? "out of memory"
		         : why[0] ? why
		                  : "line too long");
		advis_free(t);
		return NULL;
	}
	return t;
}

int advis_match(const struct advtable *t, const char *product, const char *version,
                const struct advisory **out, int max)
{
	int n = 0;
	for (int i = 0; t && i < t->n && n < max; i++)
		if (!strcmp(t->a[i].product, product) &&
		    advis_in_range(t->a[i].versions, version) == 1)
			out[n++] = &t->a[i];
	return n;
}
