#include "received.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATCH_LIMIT 200000
#define DEPTH_LIMIT 5000

/* Pieces shared by the family patterns. */
#define ADDR "(?:IPv6:)?(?<addr>[0-9A-Fa-f:.]+)"
#define FOR "(?:\\s+for\\s+<?(?<for>[^\\s<>;]+)>?)?"
#define DATE "\\s*;\\s*(?<date>.*?)\\s*$"
#define COMMENTS "(?:\\s+\\((?:[^()]|\\([^()]*\\))*\\))*"

int received_jit_wanted(void)
{
	/* RELAYTRAP_NO_JIT=1: the interpreter only, for valgrind, which cannot follow JIT code
	 * (its vectorised reads past a string's end are false positives there) */
	const char *e = getenv("RELAYTRAP_NO_JIT");
	return !(e && *e == '1');
}

static const struct {
	const char *family;
	const char *pattern;
} families[] = {
    {"postfix",
     "^from\\s+(?<helo>\\S+)\\s+\\((?<rdns>[^\\s()\\[\\]]+)\\s+\\[" ADDR "\\]\\)" COMMENTS
     "\\s+by\\s+(?<by>\\S+)\\s+\\(Postfix[^)]*\\)\\s+with\\s+(?<proto>\\S+)"
     "\\s+id\\s+(?<id>[^\\s;]+)" FOR DATE},
    {"exim", "^from\\s+(?:(?<rdns>[^\\s()\\[\\]]+)\\s+\\(\\[" ADDR "\\](?::\\d+)?"
             "(?:\\s+helo=(?<helo>[^\\s)]+))?(?:\\s+ident=[^\\s)]*)?\\)"
             "|\\[" ADDR "\\](?::\\d+)?(?:\\s+\\((?:port=\\d+\\s*)?(?:helo=(?<helo>[^\\s)]+))?"
             "(?:\\s*ident=[^)]*)?\\))?)"
             "\\s+by\\s+(?<by>\\S+)\\s+with\\s+(?<proto>\\S+)" COMMENTS "(?:\\s+tls\\s+\\S+)?"
             "\\s+\\(Exim\\s[^)]*\\)(?:\\s+\\(envelope-from\\s+<[^>]*>\\))?"
             "\\s+id\\s+(?<id>[^\\s;]+)" FOR DATE},
    {"opensmtpd", "^from\\s+(?<helo>\\S+)\\s+\\((?:(?<rdns>[^\\s()\\[\\]]+)\\s+)?\\[" ADDR "\\]\\)"
                  "\\s+by\\s+(?<by>\\S+)\\s+\\(OpenSMTPD\\)\\s+with\\s+(?<proto>\\S+)"
                  "\\s+id\\s+(?<id>[^\\s;]+)" COMMENTS FOR DATE},
    {"sendmail",
     "^from\\s+(?<helo>\\S+)\\s+\\((?:(?<rdns>[^\\s()\\[\\]]+)\\s+)?\\[" ADDR "\\]"
     "(?:\\s+\\(may\\s+be\\s+forged\\))?\\)"
     "\\s+by\\s+(?<by>\\S+)\\s+\\(\\d+\\.\\d+\\.\\d+[^)]*\\)\\s+with\\s+(?<proto>\\S+)" COMMENTS
     "\\s+id\\s+(?<id>[^\\s;]+)" FOR DATE},
    {"exchange", "^from\\s+(?<helo>\\S+)\\s+\\((?:(?<rdns>[^\\s()\\[\\]]+)\\s+)?\\[?" ADDR "\\]?\\)"
                 "\\s+by\\s+(?<by>\\S+)(?:\\s+\\([^)]*\\))?"
                 "\\s+with\\s+(?<proto>Microsoft\\s+SMTP\\s+Server(?:\\s+\\([^)]*\\))?)"
                 "\\s+id\\s+(?<id>[^\\s;]+)" DATE},
    {"qmail", "^from\\s+(?<rdns>\\S+)\\s+(?:\\(HELO\\s+(?<helo>[^)]*)\\)\\s+)?"
              "\\((?:[^@)\\s]+@)?\\[?" ADDR "\\]?\\)\\s+by\\s+(?<by>\\S+)"
              "\\s+with\\s+(?<proto>\\S+)(?:\\s+\\([^)]*\\))?" DATE},
    {"qmail", "^\\(qmail\\s+(?<id>\\d+)\\s+invoked\\s+(?:from\\s+network|by\\s+[^)]*)\\)" DATE},
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

/* The generic fallback: each clause found on its own. */
enum { G_FROM, G_BY, G_WITH, G_ID, G_FOR, G_DATE, NGENERIC };
static const char *const generic[NGENERIC] = {
    "^\\s*from\\s+(?<v>[^\\s();]+)(?<rest>.*?)(?=\\sby\\s|;|$)",
    "(?:^|\\s)by\\s+(?<v>[^\\s();]+)",
    "(?:^|\\s)with\\s+(?<v>[^\\s();]+)",
    "(?:^|\\s)id\\s+(?<v>[^\\s();]+)",
    "(?:^|\\s)for\\s+<?(?<v>[^\\s<>();]+)>?",
    ";\\s*(?<v>[^;]*?)\\s*$",
};

static const char IPV4[] = "(?<![0-9.:])(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?:25[0-5]|2["
                           "0-4]\\d|1\\d\\d|[1-9]?\\d)){3}"
                           "(?![0-9]|\\.[0-9])";
static const char IPV6[] =
    "(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\\d{1,3}\\.){3}\\d{1,3}|"
    "[0-9A-Fa-f]{1,4})?(?![0-9A-Za-z:.])";

struct received_parser {
	pcre2_code *fam[NFAMILIES];
	pcre2_code *gen[NGENERIC];
	pcre2_code *ipv4, *ipv6;
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

static pcre2_code *compile(const char *pat, char *err, size_t errlen)
{
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *re =
	    pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	                  PCRE2_CASELESS | PCRE2_DUPNAMES | PCRE2_NO_UTF_CHECK, &ec, &eo, NULL);
	if (!re) {
		PCRE2_UCHAR msg[128];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(err, errlen, "regex at %zu: %s", (size_t)eo, (char *)msg);
		return NULL;
	}
	if (received_jit_wanted())
		pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
	return re;
}

struct received_parser *received_parser_new(char *err, size_t errlen)
{
	struct received_parser *rp = calloc(1, sizeof(*rp));
	if (!rp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < NFAMILIES; i++)
		if (!(rp->fam[i] = compile(families[i].pattern, err, errlen)))
			goto fail;
	for (size_t i = 0; i < NGENERIC; i++)
		if (!(rp->gen[i] = compile(generic[i], err, errlen)))
			goto fail;
	if (!(rp->ipv4 = compile(IPV4, err, errlen)) || !(rp->ipv6 = compile(IPV6, err, errlen)))
		goto fail;
	rp->md = pcre2_match_data_create(32, NULL);
	rp->mc = pcre2_match_context_create(NULL);
	if (!rp->md || !rp->mc)
		goto fail;
	pcre2_set_match_limit(rp->mc, MATCH_LIMIT);
	pcre2_set_depth_limit(rp->mc, DEPTH_LIMIT);
	return rp;
fail:
	received_parser_free(rp);
	return NULL;
}

void received_parser_free(struct received_parser *rp)
{
	if (!rp)
		return;
	for (size_t i = 0; i < NFAMILIES; i++)
		pcre2_code_free(rp->fam[i]);
	for (size_t i = 0; i < NGENERIC; i++)
		pcre2_code_free(rp->gen[i]);
	pcre2_code_free(rp->ipv4);
	pcre2_code_free(rp->ipv6);
	pcre2_match_data_free(rp->md);
	pcre2_match_context_free(rp->mc);
	free(rp);
}

static int match(struct received_parser *rp, pcre2_code *re, const char *s, size_t len,
                 size_t start)
{
	return pcre2_match(re, (PCRE2_SPTR)s, len, start, 0, rp->md, rp->mc);
}

/* Copies named group name (the first that is set, with duplicate names) into dst. */
static void group(struct received_parser *rp, pcre2_code *re, const char *s, const char *name,
                  char *dst, size_t dstlen)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rp->md);
	uint32_t count = pcre2_get_ovector_count(rp->md);
	PCRE2_SPTR first, last;
	int esize = pcre2_substring_nametable_scan(re, (PCRE2_SPTR)name, &first, &last);
	for (PCRE2_SPTR e = first; esize > 0 && e <= last; e += esize) {
		uint32_t num = (uint32_t)(e[0] << 8 | e[1]);
		if (num >= count || ov[2 * num] == PCRE2_UNSET)
			continue;
		size_t l = ov[2 * num + 1] - ov[2 * num];
		if (l >= dstlen)
			l = dstlen - 1;
		memcpy(dst, s + ov[2 * num], l);
		dst[l] = '\0';
		return;
	}
}

static void fill(struct received_parser *rp, pcre2_code *re, const char *s, struct received *o)
{
	group(rp, re, s, "helo", o->helo, sizeof(o->helo));
	group(rp, re, s, "rdns", o->from_rdns, sizeof(o->from_rdns));
	group(rp, re, s, "addr", o->from_addr, sizeof(o->from_addr));
	group(rp, re, s, "by", o->by, sizeof(o->by));
	group(rp, re, s, "proto", o->proto, sizeof(o->proto));
	group(rp, re, s, "id", o->id, sizeof(o->id));
	group(rp, re, s, "for", o->for_addr, sizeof(o->for_addr));
	group(rp, re, s, "date", o->date, sizeof(o->date));
}

static int parse_generic(struct received_parser *rp, const char *s, size_t len, struct received *o)
{
	char *dst[NGENERIC] = {o->helo, o->by, o->proto, o->id, o->for_addr, o->date};
	size_t dlen[NGENERIC] = {sizeof(o->helo), sizeof(o->by),       sizeof(o->proto),
	                         sizeof(o->id),   sizeof(o->for_addr), sizeof(o->date)};
	for (int i = 0; i < NGENERIC; i++)
		if (match(rp, rp->gen[i], s, len, 0) > 0)
			group(rp, rp->gen[i], s, "v", dst[i], dlen[i]);
	if (!o->helo[0] && !o->by[0])
		return -1;
	/* The client's address: the first address inside the from clause. */
	if (o->helo[0] && match(rp, rp->gen[G_FROM], s, len, 0) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rp->md);
		struct ipaddr ip;
		if (received_ips(rp, s + ov[0], ov[1] - ov[0], &ip, 1) == 1)
			ipaddr_str(&ip, o->from_addr, sizeof(o->from_addr));
	}
	o->family = "generic";
	return 0;
}

int received_parse(struct received_parser *rp, const char *value, size_t len, struct received *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < NFAMILIES; i++) {
		if (match(rp, rp->fam[i], value, len, 0) > 0) {
			fill(rp, rp->fam[i], value, out);
			out->family = families[i].family;
			return 0;
		}
	}
	return parse_generic(rp, value, len, out);
}

static int scan_ips(struct received_parser *rp, pcre2_code *re, int family, const char *text,
                    size_t len, struct ipaddr *out, int n, int max)
{
	size_t start = 0;
	while (n < max && start < len && match(rp, re, text, len, start) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rp->md);
		char tmp[64];
		size_t l = ov[1] - ov[0];
		start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		if (l == 0 || l >= sizeof(tmp))
			continue;
		memcpy(tmp, text + ov[0], l);
		tmp[l] = '\0';
		struct ipaddr ip;
		if (ipaddr_parse(tmp, &ip) < 0 || ip.family != family)
			continue;
		int dup = 0;
		for (int k = 0; k < n && !dup; k++)
			dup = ipaddr_eq(&out[k], &ip);
		if (!dup)
			out[n++] = ip;
	}
	return n;
}

int received_ips(struct received_parser *rp, const char *text, size_t len, struct ipaddr *out,
                 int max)
{
	int n = scan_ips(rp, rp->ipv4, AF_INET, text, len, out, 0, max);
	return scan_ips(rp, rp->ipv6, AF_INET6, text, len, out, n, max);
}
