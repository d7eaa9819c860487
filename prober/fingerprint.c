#define PCRE2_CODE_UNIT_WIDTH 8
#include "fingerprint.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgline.h"

/* Generous for the short texts matched, small enough that a catastrophic pattern or a hostile
 * text gives up in well under a millisecond. */
#define FP_MATCH_LIMIT 20000
#define FP_DEPTH_LIMIT 400
#define FP_HEAP_LIMIT_KIB 256

const char *const fp_source_names[FP_SOURCES] = {"banner", "ehlo", "error"};

struct fp_rule {
	char product[FP_PRODUCT_MAX];
	char os[FP_OS_MAX]; /* os=TEXT: fixed, when the product implies it */
	enum fp_source where;
	pcre2_code *re;
	int version_group, os_group; /* named groups "version" and "os"; -1 none */
	int line;
};

struct fptable {
	struct fp_rule *r;
	int n;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
};

void fp_free(struct fptable *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n; i++)
		pcre2_code_free(t->r[i].re);
	free(t->r);
	pcre2_match_context_free(t->mctx);
	pcre2_match_data_free(t->md);
	free(t);
}

int fp_count(const struct fptable *t)
{
	return t->n;
}

int fp_products(const struct fptable *t)
{
	int n = 0;
	for (int i = 0; i < t->n; i++) {
		int seen = 0;
		for (int k = 0; k < i && !seen; k++)
			seen = strcmp(t->r[k].product, t->r[i].product) == 0;
		n += !seen;
	}
	return n;
}

static int valid_product(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

static int printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

static int compile_rule(struct fp_rule *r, const char *pat, char *why, size_t whylen)
{
	int ec;
	PCRE2_SIZE off;
	r->re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	                      PCRE2_CASELESS | PCRE2_NO_AUTO_CAPTURE, &ec, &off, NULL);
	if (!r->re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(why, whylen, "pattern: %s at offset %zu", (char *)msg, (size_t)off);
		return -1;
	}
	uint32_t names = 0;
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMECOUNT, &names);
	r->version_group = pcre2_substring_number_from_name(r->re, (PCRE2_SPTR) "version");
	r->os_group = pcre2_substring_number_from_name(r->re, (PCRE2_SPTR) "os");
	if ((int)names != (r->version_group > 0) + (r->os_group > 0)) {
		snprintf(why, whylen, "pattern: the only group names are version and os");
		return -1;
	}
	return 0;
}

/* One rule: PRODUCT WHERE "PATTERN" [os=TEXT]. */
static int parse_rule(struct cfgline *c, struct fp_rule *r, char *why, size_t whylen)
{
	char where[16], pat[CFGLINE_MAX], opt[80];
	memset(r, 0, sizeof(*r));
	r->line = c->lineno;
	if (cfgline_field(c, r->product, sizeof(r->product)) != 1 || !valid_product(r->product)) {
		snprintf(why, whylen, "expected a product name (a-z, 0-9, '-', at most %d)",
		         FP_PRODUCT_MAX - 1);
		return -1;
	}
	if (cfgline_field(c, where, sizeof(where)) != 1) {
		snprintf(why, whylen, "expected banner, ehlo or error after the product");
		return -1;
	}
	int w = 0;
	while (w < FP_SOURCES && strcmp(fp_source_names[w], where) != 0)
		w++;
	if (w == FP_SOURCES) {
		snprintf(why, whylen, "'%s': expected banner, ehlo or error", where);
		return -1;
	}
	r->where = (enum fp_source)w;
	if (cfgline_field(c, pat, sizeof(pat)) != 1 || !*pat) {
		snprintf(why, whylen, "expected a \"quoted\" pattern");
		return -1;
	}
	int rc;
	while ((rc = cfgline_field(c, opt, sizeof(opt))) == 1) {
		if (strncmp(opt, "os=", 3) != 0 || !opt[3] || strlen(opt + 3) >= sizeof(r->os) ||
		    !printable(opt + 3)) {
			snprintf(why, whylen, "expected os=TEXT (printable ASCII, at most %d)",
			         FP_OS_MAX - 1);
			return -1;
		}
		memcpy(r->os, opt + 3, strlen(opt + 3) + 1); /* its length checked above */
	}
	if (rc < 0) {
		snprintf(why, whylen, "option too long or quote not closed");
		return -1;
	}
	return compile_rule(r, pat, why, whylen);
}

static struct fptable *table_new(void)
{
	struct fptable *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->mctx = pcre2_match_context_create(NULL);
	t->md = pcre2_match_data_create(8, NULL);
	if (!t->mctx || !t->md) {
		fp_free(t);
		return NULL;
	}
	pcre2_set_match_limit(t->mctx, FP_MATCH_LIMIT);
	pcre2_set_depth_limit(t->mctx, FP_DEPTH_LIMIT);
	pcre2_set_heap_limit(t->mctx, FP_HEAP_LIMIT_KIB);
	return t;
}

struct fptable *fp_parse(const char *text, const char *origin, char *err, size_t errlen)
{
	struct fptable *t = table_new();
	struct cfgline c;
	char why[300] = "";
	int rc = 0;
	if (!t) {
		snprintf(err, errlen, "%s: out of memory", origin);
		return NULL;
	}
	cfgline_init(&c, text);
	while ((rc = cfgline_next(&c)) == 1) {
		struct fp_rule *grown =
		    t->n < FP_RULES_MAX ? realloc(t->r, sizeof(*t->r) * (size_t)(t->n + 1)) : NULL;
		if (!grown) {
			snprintf(why, sizeof(why), "more than %d rules, or out of memory",
			         FP_RULES_MAX);
			rc = -1;
			break;
		}
		t->r = grown;
		if (parse_rule(&c, &t->r[t->n], why, sizeof(why)) < 0) {
			pcre2_code_free(t->r[t->n].re);
			rc = -1;
			break;
		}
		t->n++;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s:%d: %s", origin, c.lineno,
		         why[0] ? why : "line too long");
		fp_free(t);
		return NULL;
	}
	return t;
}

/* A captured group as plain text: printable ASCII only, bounded. */
static void take_group(const struct fptable *t, int group, const char *subj, char *out,
                       size_t outlen)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
	out[0] = '\0';
	if (group <= 0 || (uint32_t)group >= pcre2_get_ovector_count(t->md) ||
	    ov[2 * group] == PCRE2_UNSET)
		return;
	size_t o = 0;
	for (PCRE2_SIZE i = ov[2 * group]; i < ov[2 * group + 1] && o + 1 < outlen; i++)
		if (subj[i] >= 0x20 && subj[i] < 0x7f)
			out[o++] = subj[i];
	out[o] = '\0';
}

static int try_rule(const struct fptable *t, const struct fp_rule *r, const char *text,
                    struct fp_result *out)
{
	if (!text)
		return 0;
	size_t n = strnlen(text, FP_TEXT_MAX);
	if (pcre2_match(r->re, (PCRE2_SPTR)text, n, 0, 0, t->md, t->mctx) < 0)
		return 0; /* no match, or a limit reached: the rule says nothing */
	memset(out, 0, sizeof(*out));
	snprintf(out->product, sizeof(out->product), "%s", r->product);
	take_group(t, r->version_group, text, out->version, sizeof(out->version));
	take_group(t, r->os_group, text, out->os, sizeof(out->os));
	if (!out->os[0])
		snprintf(out->os, sizeof(out->os), "%s", r->os);
	out->source = r->where;
	out->line = r->line;
	return 1;
}

/* The EHLO lines as one text, one line each, bounded. */
static void join_lines(const char *const *v, int n, char *out, size_t outlen)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < n && v[i]; i++) {
		int w = snprintf(out + o, outlen - o, "%s%s", o ? "\n" : "", v[i]);
		if (w < 0 || (size_t)w >= outlen - o)
			break;
		o += (size_t)w;
	}
}

int fp_identify(const struct fptable *t, const struct fp_texts *in, struct fp_result *out)
{
	char ehlo[FP_TEXT_MAX];
	join_lines(in->ehlo, in->nehlo, ehlo, sizeof(ehlo));
	for (int i = 0; i < t->n; i++) {
		const struct fp_rule *r = &t->r[i];
		if (r->where == FP_BANNER && try_rule(t, r, in->banner, out))
			return 1;
		if (r->where == FP_EHLO && ehlo[0] && try_rule(t, r, ehlo, out))
			return 1;
		for (int k = 0; r->where == FP_ERROR && k < in->nerrors; k++)
			if (try_rule(t, r, in->errors[k], out))
				return 1;
	}
	memset(out, 0, sizeof(*out));
	return 0;
}
