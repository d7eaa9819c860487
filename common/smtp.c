#include "smtp.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"

const char *const smtp_verb_names[] = {"HELO", "EHLO",     "MAIL", "RCPT", "DATA",
                                       "RSET", "NOOP",     "QUIT", "VRFY", "EXPN",
                                       "HELP", "STARTTLS", "AUTH", "BDAT", "UNKNOWN"};

const char *const smtp_reply_status_names[] = {"ok",          "need-more",     "bad-syntax",
                                               "mixed-codes", "line-too-long", "too-many-lines"};

void smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	size_t v = 0;
	while (v < len && line[v] != ' ')
		v++;
	cmd->verb = SMTP_UNKNOWN;
	for (int i = 0; i < SMTP_UNKNOWN; i++) {
		if (strlen(smtp_verb_names[i]) == v &&
		    strncasecmp(line, smtp_verb_names[i], v) == 0) {
			cmd->verb = (enum smtp_verb)i;
			break;
		}
	}
	while (v < len && line[v] == ' ')
		v++;
	cmd->arg = line + v;
	cmd->arglen = len - v;
	/* Trailing spaces are common from hand-typed sessions and mean nothing. */
	while (cmd->arglen && cmd->arg[cmd->arglen - 1] == ' ')
		cmd->arglen--;
}

/* End of a quoted string starting at p[i] == '"'; returns the index after the closing quote or
 * len when unterminated. */
static size_t skip_quoted(const char *p, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		if (p[i] == '\\' && i + 1 < len)
			i++;
		else if (p[i] == '"')
			return i + 1;
	}
	return len;
}

/* Splits a mailbox into local part and domain at the last '@' outside quotes. */
static void split_mailbox(struct smtp_path *p)
{
	const char *s = p->addr;
	size_t at = p->addrlen;
	for (size_t i = 0; i < p->addrlen;) {
		if (s[i] == '"') {
			i = skip_quoted(s, i, p->addrlen);
			continue;
		}
		if (s[i] == '@')
			at = i;
		i++;
	}
	p->local = s;
	p->locallen = at < p->addrlen ? at : p->addrlen;
	p->domain = at < p->addrlen ? s + at + 1 : s + p->addrlen;
	p->domainlen = at < p->addrlen ? p->addrlen - at - 1 : 0;
}

int smtp_path_parse(const char *arg, size_t len, const char *keyword, struct smtp_path *p,
                    const char **why)
{
	size_t kl = strlen(keyword);
	memset(p, 0, sizeof(*p));
	if (len < kl + 1 || strncasecmp(arg, keyword, kl) != 0 || arg[kl] != ':') {
		*why = "syntax: expected keyword and ':'";
		return -1;
	}
	size_t i = kl + 1;
	while (i < len && arg[i] == ' ')
		i++;
	size_t end;
	if (i < len && arg[i] == '<') {
		p->bracketed = 1;
		i++;
		end = i;
		while (end < len && arg[end] != '>') {
			if (arg[end] == '"')
				end = skip_quoted(arg, end, len);
			else
				end++;
		}
		if (end >= len) {
			*why = "syntax: missing '>'";
			return -1;
		}
		p->params = arg + end + 1;
		p->paramslen = len - end - 1;
	} else {
		end = i;
		while (end < len && arg[end] != ' ') {
			if (arg[end] == '"')
				end = skip_quoted(arg, end, len);
			else
				end++;
		}
		p->params = arg + end;
		p->paramslen = len - end;
	}
	while (p->paramslen && p->params[0] == ' ') {
		p->params++;
		p->paramslen--;
	}
	/* A source route "@a,@b:" precedes the mailbox; RFC 5321 says to ignore it. */
	if (i < end && arg[i] == '@') {
		const char *colon = memchr(arg + i, ':', end - i);
		if (!colon) {
			*why = "syntax: source route without ':'";
			return -1;
		}
		p->source_route = 1;
		i = (size_t)(colon - arg) + 1;
	}
	p->addr = arg + i;
	p->addrlen = end - i;
	if (p->addrlen == 0) {
		if (!p->bracketed) {
			*why = "syntax: empty address";
			return -1;
		}
		p->null_path = 1;
	}
	split_mailbox(p);
	return 0;
}

const char *smtp_param(const char *params, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	size_t i = 0;
	while (i < len) {
		size_t s = i;
		while (i < len && params[i] != ' ')
			i++;
		if (i - s > nl && strncasecmp(params + s, name, nl) == 0 && params[s + nl] == '=') {
			*vlen = i - s - nl - 1;
			return params + s + nl + 1;
		}
		while (i < len && params[i] == ' ')
			i++;
	}
	return NULL;
}

enum smtp_reply_status smtp_reply_parse(const char *p, size_t len, size_t maxline, int maxlines,
                                        struct smtp_reply *r)
{
	size_t off = 0;
	if (maxlines > SMTP_REPLY_MAXLINES)
		maxlines = SMTP_REPLY_MAXLINES;
	r->code = 0;
	r->nlines = 0;
	r->bytes = 0;
	r->bare_lf = 0;
	for (;;) {
		size_t ll, used;
		int flags;
		enum line_status st = line_frame(p + off, len - off, maxline, &ll, &used, &flags);
		if (st == LINE_TOO_LONG)
			return REPLY_TOO_LONG;
		if (st == LINE_NEED)
			return REPLY_NEED;
		const char *l = p + off;
		if (ll < 3 || !isdigit((unsigned char)l[0]) || !isdigit((unsigned char)l[1]) ||
		    !isdigit((unsigned char)l[2]) || l[0] < '1' || l[0] > '5' ||
		    (ll > 3 && l[3] != ' ' && l[3] != '-'))
			return REPLY_BAD_SYNTAX;
		int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (r->nlines && code != r->code)
			return REPLY_MIXED_CODE;
		if (r->nlines >= maxlines)
			return REPLY_TOO_MANY;
		r->code = code;
		r->lines[r->nlines].text = ll > 4 ? l + 4 : l + ll;
		r->lines[r->nlines].len = ll > 4 ? ll - 4 : 0;
		r->nlines++;
		r->bare_lf |= (flags & LINE_BARE_LF) != 0;
		off += used;
		if (ll == 3 || l[3] == ' ') {
			r->bytes = off;
			return REPLY_OK;
		}
	}
}

/* ---- what may go on the wire ---- */

const char *smtp_check_domain(const char *s)
{
	size_t n = strlen(s), label = 0;
	if (n == 0 || n > 253)
		return "not a domain name (1 to 253 characters)";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return "not a domain name (an empty label, or one ending in '-')";
			label = 0;
			continue;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_')
			return "not a domain name (letters, digits, '-', '_' and dots only)";
		if (label == 0 && ch == '-')
			return "not a domain name (a label starting with '-')";
		if (++label > 63)
			return "not a domain name (a label longer than 63)";
	}
	return label == 0 ? "not a domain name (it ends in a dot)" : NULL;
}

const char *smtp_check_helo(const char *s)
{
	struct ipaddr ip;
	size_t n = strlen(s);
	if (n && s[0] == '[')
		return ipaddr_parse_literal(s, n, &ip) == 0
		           ? NULL
		           : "not an address literal ([192.0.2.1])";
	return smtp_check_domain(s);
}

const char *smtp_check_localpart(const char *s)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return "not a local part (1 to 64 characters)";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.' && i > 0 && i + 1 < n && s[i - 1] != '.')
			continue;
		if (!isalnum(ch) && !strchr(atext, ch))
			return "not a local part (letters, digits and !#$%&'*+-/=?^_`{|}~, dots "
			       "between them)";
	}
	return NULL;
}

const char *smtp_check_text(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max)
		return "too long";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "control characters or line breaks";
	return NULL;
}
