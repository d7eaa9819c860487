#include "notice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "knowledge.h"
#include "legend.h"

/* Where a macro may stand: anywhere (one line), or only in the body (several lines). */
enum place { ANY, BODY };
static const struct {
	const char *name;
	enum place where;
} macros[] = {
    {"date", ANY},        {"contact_address", ANY},
    {"contact", ANY},     {"target_literal", ANY},
    {"addr", ANY},        {"port", ANY},
    {"message_id", ANY},  {"token", ANY},
    {"target_host", ANY}, {"verdict", ANY},
    {"meaning", ANY},     {"software", ANY},
    {"started", ANY},     {"prober", ANY},
    {"scan_id", ANY},     {"fix_name", ANY},
    {"accepted", BODY},   {"evidence", BODY},
    {"fix", BODY},        {"advisories", BODY},
};
#define NMACROS (sizeof(macros) / sizeof(macros[0]))

static int macro_index(const char *name, size_t n)
{
	for (size_t i = 0; i < NMACROS; i++)
		if (strlen(macros[i].name) == n && !strncmp(macros[i].name, name, n))
			return (int)i;
	return -1;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

int notice_check(const char *tmpl, const char *origin, char *err, size_t errlen)
{
	int line = 1, header = 1, fields = 0;
	for (const char *p = tmpl; *p; p++) {
		if (*p == '\n') {
			line++;
			if (header && p[1] == '\n')
				header = 0;
			continue;
		}
		if (header && (p == tmpl || p[-1] == '\n') && *p != ' ' && *p != '\t') {
			size_t n = strcspn(p, ":\n");
			if (p[n] != ':' || n == 0 || strcspn(p, " \t") < n) {
				snprintf(err, errlen,
				         "%s:%d: expected a header field (Name: value), "
				         "then a blank line and the body",
				         origin, line);
				return -1;
			}
			fields++;
		}
		if (*p != '{')
			continue;
		const char *close = strchr(p, '}');
		size_t n = close ? (size_t)(close - p - 1) : 0;
		int m = close && !memchr(p, '\n', (size_t)(close - p)) ? macro_index(p + 1, n) : -1;
		if (m < 0) {
			snprintf(err, errlen, "%s:%d: unknown macro %.*s", origin, line,
			         close && n < 40 ? (int)n + 2 : 1, p);
			return -1;
		}
		if (header && macros[m].where == BODY) {
			snprintf(err, errlen, "%s:%d: {%s} goes in the body only", origin, line,
			         macros[m].name);
			return -1;
		}
		p = close;
	}
	if (header || !fields) {
		snprintf(err, errlen, "%s: no header section and body (a blank line between)",
		         origin);
		return -1;
	}
	return 0;
}

/* ---- values ---- */

/* Text from the network or a results file, for the body: printable ASCII, other bytes as
 * \xNN, each line at most 900 bytes. */
static void untrusted(FILE *f, const char *s)
{
	size_t col = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n') {
			fputc('\n', f);
			col = 0;
			continue;
		}
		if (col >= 900)
			continue;
		col += c >= 0x20 && c < 0x7f ? 1 : 4;
		if (c >= 0x20 && c < 0x7f)
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

/* Text from conf/ (ours, or the desk's in its own language): as written, wrapped at 76
 * columns with indent before every line. */
static void wrapped(FILE *f, const char *text, const char *indent)
{
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, "\n"), cut = n;
		if (n > 76 - strlen(indent)) {
			cut = 76 - strlen(indent);
			while (cut > 20 && p[cut] != ' ')
				cut--;
		}
		fprintf(f, "%s%.*s\n", indent, (int)cut, p);
		p += cut;
		while (*p == ' ' || *p == '\n')
			p++;
	}
}

static void iso_time(FILE *f, double t)
{
	char b[40];
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", &tm);
	fputs(b, f);
}

static const json_t *test_by_number(const json_t *host, json_int_t n)
{
	size_t i;
	const json_t *t;
	json_array_foreach(json_object_get(host, "tests"), i, t)
	{
		if (json_integer_value(json_object_get(t, "test_number")) == n)
			return t;
	}
	return NULL;
}

static const json_t *first_delivery(const json_t *host)
{
	return json_array_get(json_object_get(host, "deliveries"), 0);
}

static void accepted(FILE *f, const json_t *host)
{
	static const char *const stages[] = {"mail", "rcpt", "data", "end"};
	size_t i;
	const json_t *t;
	json_array_foreach(json_object_get(host, "tests"), i, t)
	{
		if (strcmp(str(t, "outcome"), "accepted") && strcmp(str(t, "outcome"), "bounced"))
			continue;
		fputs("  test ", f);
		untrusted(f, str(t, "name"));
		fputs(*str(t, "transport") ? " over " : "", f);
		untrusted(f, str(t, "transport"));
		fputs(json_is_true(json_object_get(t, "delivered")) ? " (it arrived)\n" : "\n", f);
		const json_t *rep = json_object_get(t, "replies");
		for (size_t s = 0; s < sizeof(stages) / sizeof(stages[0]); s++) {
			const json_t *r = json_object_get(rep, stages[s]);
			if (!r)
				continue;
			fputs(s == 0   ? "    MAIL FROM:"
			      : s == 1 ? "    RCPT TO:"
			      : s == 2 ? "    DATA"
			               : "    (message) .",
			      f);
			untrusted(f, s == 0   ? str(t, "mail_from")
			             : s == 1 ? str(t, "rcpt_to")
			                      : "");
			fprintf(f, "  ->  %lld ",
			        (long long)json_integer_value(json_object_get(r, "code")));
			char one[200];
			snprintf(one, sizeof(one), "%s", str(r, "text"));
			one[strcspn(one, "\n")] = '\0';
			untrusted(f, one);
			fputc('\n', f);
		}
	}
}

static void evidence(FILE *f, const json_t *host)
{
	const json_t *d = first_delivery(host);
	if (!d) {
		fputs("  (none recorded)\n", f);
		return;
	}
	fputs("  arrived ", f);
	iso_time(f, json_number_value(json_object_get(d, "unix_time")));
	fputs(" UTC from ", f);
	untrusted(f, str(d, "peer_addr"));
	fputs(", test ", f);
	untrusted(f, str(d, "test"));
	fputs("\n", f);
	size_t i;
	const json_t *r;
	json_array_foreach(json_object_get(d, "received"), i, r)
	{
		fputs("    Received: ", f);
		char one[600];
		snprintf(one, sizeof(one), "%s", str(r, "raw"));
		for (char *p = one; *p; p++)
			if (*p == '\n' || *p == '\r' || *p == '\t')
				*p = ' ';
		untrusted(f, one);
		fputc('\n', f);
	}
	if (json_is_false(json_object_get(d, "prober_visible")))
		fputs("  The prober's address is not in these headers: the server removed or\n"
		      "  rewrote them, so mail sent through it cannot be traced back.\n",
		      f);
}

static void advisories(FILE *f, const json_t *host)
{
	const json_t *arr = json_object_get(host, "advisories");
	if (!json_array_size(arr))
		return;
	fputs("\nKnown holes for that software and version, by banner (the version it shows;\n"
	      "a distribution may have fixed them without changing it):\n",
	      f);
	size_t i;
	const json_t *a;
	json_array_foreach(arr, i, a)
	{
		char line[600];
		snprintf(line, sizeof(line), "%s (%s): %s %s", str(a, "id"), str(a, "severity"),
		         str(a, "text"), str(a, "reference"));
		wrapped(f, line, "  ");
	}
	fputc('\n', f); /* a blank line before what follows */
}

/* The first addr-spec in --contact, else postmaster at this host. */
static void contact_address(FILE *f, const struct notice_ctx *c)
{
	static const char atext[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "0123456789.!#$%&'*+/=?^_`{|}~-";
	const char *s = c->contact ? c->contact : "";
	for (const char *at = strchr(s, '@'); at; at = strchr(at + 1, '@')) {
		const char *b = at;
		while (b > s && strchr(atext, b[-1]))
			b--;
		size_t dl = strspn(at + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                           "0123456789.-");
		if (b < at && dl && b[0] != '.' && at[dl] != '.') {
			fprintf(f, "%.*s", (int)(at + 1 + dl - b), b);
			return;
		}
	}
	fprintf(f, "postmaster@%s", c->prober_host);
}

static void literal(FILE *f, const char *addr)
{
	struct ipaddr ip;
	if (ipaddr_parse(addr, &ip) < 0)
		fputs("[0.0.0.0]", f);
	else
		fprintf(f, ip.family == AF_INET6 ? "[IPv6:%s]" : "[%s]", addr);
}

static void value(FILE *f, const char *name, const json_t *h, const struct notice_ctx *c)
{
	const json_t *d = first_delivery(h);
	const json_t *t =
	    d ? test_by_number(h, json_integer_value(json_object_get(d, "test_number"))) : NULL;
	int v = verdict_from_name(str(h, "verdict"));
	char label[200];
	if (!strcmp(name, "date")) {
		char b[64];
		time_t now = (time_t)c->now;
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(b, sizeof(b), "%a, %d %b %Y %H:%M:%S +0000", &tm);
		fputs(b, f);
	} else if (!strcmp(name, "contact_address")) {
		contact_address(f, c);
	} else if (!strcmp(name, "contact")) {
		untrusted(f, c->contact ? c->contact : "");
	} else if (!strcmp(name, "target_literal")) {
		literal(f, str(h, "addr"));
	} else if (!strcmp(name, "addr")) {
		untrusted(f, str(h, "addr"));
	} else if (!strcmp(name, "port")) {
		fprintf(f, "%lld", (long long)json_integer_value(json_object_get(h, "port")));
	} else if (!strcmp(name, "message_id")) {
		fprintf(f, "relaytrap-notice.%s.", str(h, "scan_id"));
		for (const char *p = str(h, "addr"); *p; p++)
			fputc(strchr("0123456789abcdefABCDEF.", *p) ? *p : '-', f);
		fprintf(f, ".%lld.%lld@%s",
		        (long long)json_integer_value(json_object_get(h, "port")),
		        (long long)c->now, c->prober_host);
	} else if (!strcmp(name, "token")) {
		untrusted(f, str(t, "token"));
	} else if (!strcmp(name, "target_host")) {
		untrusted(f, *str(h, "target_host") ? str(h, "target_host") : str(h, "addr"));
	} else if (!strcmp(name, "verdict")) {
		untrusted(f, str(h, "verdict"));
	} else if (!strcmp(name, "meaning")) {
		fputs(v >= 0 ? verdict_legend[v].meaning : "", f);
	} else if (!strcmp(name, "software")) {
		knowledge_label(h, label, sizeof(label));
		untrusted(f, *label ? label : "unknown (it does not say)");
	} else if (!strcmp(name, "started")) {
		iso_time(f, json_number_value(json_object_get(h, "started")));
	} else if (!strcmp(name, "prober")) {
		size_t i;
		const json_t *a;
		json_array_foreach(json_object_get(h, "prober_addrs"), i, a)
		{
			fputs(i ? ", " : "", f);
			untrusted(f, json_string_value(a) ? json_string_value(a) : "");
		}
	} else if (!strcmp(name, "scan_id")) {
		untrusted(f, str(h, "scan_id"));
	} else if (!strcmp(name, "fix_name")) {
		fputs(c->fix ? c->fix->name : "", f);
	} else if (!strcmp(name, "fix")) {
		wrapped(f, c->fix ? c->fix->text : "", "");
	} else if (!strcmp(name, "accepted")) {
		accepted(f, h);
	} else if (!strcmp(name, "evidence")) {
		evidence(f, h);
	} else if (!strcmp(name, "advisories")) {
		advisories(f, h);
	}
}

/* ---- the message ---- */

/* A header field as expanded: one line of printable ASCII (anything else a '?', so no value
 * can end the field or start another), folded at blanks before 78 columns, cut at 998. */
static void header_line(FILE *out, const char *s, size_t n)
{
	char line[4096];
	size_t k = 0;
	for (size_t i = 0; i < n && k < 998; i++) {
		unsigned char ch = (unsigned char)s[i];
		line[k++] = ch == '\t' ? ' ' : ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	while (k && line[k - 1] == ' ')
		k--;
	if (!k)
		return; /* an empty line would end the header section */
	size_t start = 0;
	const char *colon = memchr(line, ':', k);
	size_t least = colon ? (size_t)(colon - line) + 2 : 10; /* not right after "Name:" */
	while (k - start > 78) {
		size_t cut = start + 78;
		while (cut > start + least && line[cut] != ' ')
			cut--;
		if (cut <= start + least)
			break; /* no blank to fold at: one long line (at most 998) */
		least = 10;
		fprintf(out, "%.*s\n", (int)(cut - start), line + start);
		start = cut; /* the blank starts the continuation line */
	}
	fprintf(out, "%.*s\n", (int)(k - start), line + start);
}

static void expand(FILE *out, const char *s, size_t n, const json_t *h, const struct notice_ctx *c)
{
	for (size_t i = 0; i < n; i++) {
		const char *close = s[i] == '{' ? memchr(s + i, '}', n - i) : NULL;
		int m = close ? macro_index(s + i + 1, (size_t)(close - s - i - 1)) : -1;
		if (m < 0) {
			fputc(s[i], out);
			continue;
		}
		char *v = NULL;
		size_t vl = 0;
		FILE *vf = open_memstream(&v, &vl);
		if (vf) {
			value(vf, macros[m].name, h, c);
			fclose(vf);
			/* a block that ends in a line break, alone on its line, keeps one */
			if (vl && v[vl - 1] == '\n' && (size_t)(close - s) + 1 < n &&
			    close[1] == '\n')
				vl--;
			fwrite(v, 1, vl, out);
		}
		free(v);
		i = (size_t)(close - s);
	}
}

char *notice_render(const char *tmpl, const json_t *host, const struct notice_ctx *ctx)
{
	char *msg = NULL, *line = NULL;
	size_t len = 0, llen = 0;
	FILE *out = open_memstream(&msg, &len);
	if (!out)
		return NULL;
	const char *p = tmpl;
	while (*p && *p != '\n') { /* the header section, a field at a time */
		size_t n = strcspn(p, "\n");
		FILE *lf = open_memstream(&line, &llen);
		if (lf) {
			expand(lf, p, n, host, ctx);
			fclose(lf);
			header_line(out, line, llen);
		}
		free(line);
		line = NULL;
		p += n + (p[n] == '\n');
	}
	expand(out, p, strlen(p), host, ctx);
	if (fclose(out) != 0) {
		free(msg);
		return NULL;
	}
	return msg;
}

void notice_filename(const json_t *host, char *out, size_t outlen)
{
	char a[64];
	size_t k = 0;
	for (const char *p = str(host, "addr"); *p && k + 1 < sizeof(a); p++)
		a[k++] = strchr("0123456789abcdefABCDEF.", *p) ? *p : '_';
	a[k] = '\0';
	snprintf(out, outlen, "relay-%s-%lld.eml", a,
	         (long long)json_integer_value(json_object_get(host, "port")));
}
