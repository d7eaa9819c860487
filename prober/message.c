#include "message.h"

#include <stdio.h>
#include <string.h>

const char message_default_text[] =
    "Date: {date}\n"
    "From: relaytrap <{sender}@{helo}>\n"
    "To: <{user}@{sink}>\n"
    "Subject: relaytrap relay test {user}\n"
    "Message-ID: <{user}@{sink}>\n"
    "X-Relaytrap-Token: {token}\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "This is an automated relay test sent by relaytrap. It is not spam.\n"
    "\n"
    "The mail server at {target_literal} port {port} accepted this message\n"
    "from {prober} for relaying to another domain (test \"{test}\").\n"
    "A server that does this will pass on mail from anyone to anyone;\n"
    "its administrator should restrict relaying to local users.\n"
    "\n"
    "Scan contact: {contact}\n"
    "Token: {user}\n";

const char *const message_macros[] = {
    "user",        "token",         "sink",   "sink_literal", "target_literal",
    "target_host", "target_domain", "sender", "helo",         "date",
    "port",        "test",          "prober", "contact",      NULL,
};

static int known(const char *name, size_t n)
{
	for (int i = 0; message_macros[i]; i++)
		if (strlen(message_macros[i]) == n && memcmp(message_macros[i], name, n) == 0)
			return 1;
	return 0;
}

int message_check(const char *tmpl, const char *origin, char *err, size_t errlen)
{
	size_t len = strlen(tmpl);
	if (len > MESSAGE_TMPL_MAX) {
		snprintf(err, errlen, "%s: template larger than %d bytes", origin,
		         MESSAGE_TMPL_MAX);
		return -1;
	}
	int lineno = 1, in_header = 1, fields = 0;
	for (const char *l = tmpl; *l; lineno++) {
		const char *e = strchr(l, '\n');
		size_t raw = e ? (size_t)(e - l) : strlen(l), n = raw;
		if (n && l[n - 1] == '\r')
			n--;
		for (const char *p = l; p < l + n; p++) {
			if (*p != '{')
				continue;
			const char *close = memchr(p, '}', (size_t)(l + n - p));
			if (!close || !known(p + 1, (size_t)(close - p - 1))) {
				snprintf(err, errlen, "%s:%d: unknown {macro} or unbalanced brace",
				         origin, lineno);
				return -1;
			}
			p = close;
		}
		if (in_header && n == 0) {
			in_header = 0;
		} else if (in_header && (l[0] == ' ' || l[0] == '\t')) {
			if (!fields) {
				snprintf(err, errlen, "%s:%d: continuation line before any field",
				         origin, lineno);
				return -1;
			}
		} else if (in_header) {
			const char *colon = memchr(l, ':', n);
			if (!colon || colon == l) {
				snprintf(err, errlen, "%s:%d: header line without \"Name:\"",
				         origin, lineno);
				return -1;
			}
			fields++;
		}
		l = e ? e + 1 : l + raw; /* not l + n: a last line ending in CR alone */
	}
	if (in_header) {
		snprintf(err, errlen, "%s: no blank line between header and body", origin);
		return -1;
	}
	return 0;
}

static const char *lookup(const struct kv *vars, int n, const char *name, size_t len)
{
	for (int i = 0; i < n; i++)
		if (strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0)
			return vars[i].value ? vars[i].value : "";
	return NULL;
}

/* Appends one expanded line (without its end) plus CRLF, dot-stuffed. */
static int put_line(const char *l, size_t n, const struct kv *vars, int nvars, struct buf *out,
                    size_t start)
{
	size_t line0 = buf_len(out);
	for (size_t i = 0; i < n; i++) {
		const char *v = NULL;
		size_t vl = 1;
		if (l[i] == '{') {
			const char *close = memchr(l + i, '}', n - i);
			if (!close ||
			    !(v = lookup(vars, nvars, l + i + 1, (size_t)(close - l - i - 1))))
				return -1;
			vl = strlen(v);
			i = (size_t)(close - l);
		}
		if (buf_len(out) - start + vl + 5 > MESSAGE_MAX ||
		    buf_append(out, v ? v : l + i, vl) < 0)
			return -1;
	}
	/* A value may hold line breaks; they become spaces so it cannot end the data. */
	char *p = (char *)buf_head(out);
	for (size_t i = line0; i < buf_len(out); i++)
		if (p[i] == '\r' || p[i] == '\n')
			p[i] = ' ';
	if (buf_len(out) > line0 && p[line0] == '.') {
		if (buf_append(out, ".", 1) < 0)
			return -1;
		p = (char *)buf_head(out);
		memmove(p + line0 + 1, p + line0, buf_len(out) - line0 - 1);
	}
	return buf_append(out, "\r\n", 2);
}

int message_render(const char *tmpl, const struct kv *vars, int nvars, struct buf *out)
{
	size_t start = buf_len(out);
	for (const char *l = tmpl; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		size_t adv = e ? n + 1 : n;
		if (n && l[n - 1] == '\r')
			n--;
		if (put_line(l, n, vars, nvars, out, start) < 0)
			return -1;
		l += adv;
	}
	return buf_append(out, ".\r\n", 3);
}
