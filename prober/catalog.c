#include "catalog.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "smuggle.h"

const char catalog_default_text[] =
    "plain                 <{sender}@{sink}>            <{user}@{sink}>\n"
    "null-sender           <>                           <{user}@{sink}>\n"
    "unqualified-sender    <{sender}>                   <{user}@{sink}>\n"
    "sender-target-host    <{sender}@{target_host}>     <{user}@{sink}>\n"
    "sender-target-domain  <{sender}@{target_domain}>   <{user}@{sink}>\n"
    "sender-target-literal <{sender}@{target_literal}>  <{user}@{sink}>\n"
    "sender-localhost      <{sender}@localhost>         <{user}@{sink}>\n"
    "sender-postmaster     <postmaster@{target_domain}> <{user}@{sink}>\n"
    "rcpt-unbracketed      <{sender}@{sink}>            {user}@{sink}\n"
    "quoted                <{sender}@{target_host}>     <\"{user}@{sink}\">\n"
    "quoted-percent        <{sender}@{target_host}>     <\"{user}%{sink}\">\n"
    "percent               <{sender}@{target_host}>     <{user}%{sink}>\n"
    "percent-at-literal    <{sender}@{target_host}>     <{user}%{sink}@{target_literal}>\n"
    "percent-at-host       <{sender}@{target_host}>     <{user}%{sink}@{target_host}>\n"
    "double-at-literal     <{sender}@{target_host}>     <{user}@{sink}@{target_literal}>\n"
    "double-at-host        <{sender}@{target_host}>     <{user}@{sink}@{target_host}>\n"
    "quoted-at-literal     <{sender}@{target_host}>     <\"{user}@{sink}\"@{target_literal}>\n"
    "source-route-literal  <{sender}@{target_host}>     <@{target_literal}:{user}@{sink}>\n"
    "source-route-host     <{sender}@{target_host}>     <@{target_host}:{user}@{sink}>\n"
    "bang                  <{sender}@{target_host}>     <{sink}!{user}>\n"
    "bang-at-literal       <{sender}@{target_host}>     <{sink}!{user}@{target_literal}>\n"
    "bang-at-host          <{sender}@{target_host}>     <{sink}!{user}@{target_host}>\n"
    "trailing-at           <{sender}@{target_host}>     <{user}@{sink}@>\n"
    "sink-literal          <{sender}@{target_host}>     <{user}@{sink_literal}>\n"
    "auth-plain-empty      <{sender}@{sink}>            <{user}@{sink}>  via=auth-plain\n"
    "auth-login-empty      <{sender}@{sink}>            <{user}@{sink}>  via=auth-login\n"
    "auth-anonymous        <{sender}@{sink}>            <{user}@{sink}>  via=auth-anonymous\n"
    "xclient-localhost     <{sender}@{sink}>            <{user}@{sink}>  via=xclient\n"
    "xclient-own           <{sender}@{sink}>            <{user}@{sink}>  via=xclient-own\n";

static const char *const macro_names[] = {"user",           "sink",        "sink_literal",
                                          "target_literal", "target_host", "target_domain",
                                          "sender",         "helo",        NULL};

static const char *macro_value(const struct macros *m, const char *name, size_t n)
{
	const char *vals[] = {m->user,        m->sink,          m->sink_literal, m->target_literal,
	                      m->target_host, m->target_domain, m->sender,       m->helo};
	for (int i = 0; macro_names[i]; i++)
		if (strlen(macro_names[i]) == n && !strncmp(macro_names[i], name, n))
			return vals[i] ? vals[i] : "";
	return NULL;
}

int catalog_expand(const char *tmpl, const struct macros *m, char *out, size_t outlen)
{
	size_t o = 0;
	for (const char *p = tmpl; *p; p++) {
		const char *v = NULL;
		size_t vl = 1;
		if (*p == '{') {
			const char *close = strchr(p, '}');
			if (!close || !(v = macro_value(m, p + 1, (size_t)(close - p - 1))))
				return -1;
			vl = strlen(v);
			p = close;
		}
		if (o + vl + 1 > outlen)
			return -1;
		memcpy(out + o, v ? v : p, vl);
		o += vl;
	}
	out[o] = '\0';
	return (int)o;
}

const char *catalog_domain_of(const char *host)
{
	const char *dot = strchr(host, '.');
	return host[0] != '[' && dot && dot[1] ? dot + 1 : host;
}

/* Next whitespace-separated field, "quoted" allowed; 0 at end of line, -1 on error. */
static int next_field(const char **pp, char *out, size_t outlen, const char **why)
{
	const char *p = *pp;
	size_t o = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '#')
		return 0;
	int quoted = *p == '"';
	if (quoted)
		p++;
	while (*p && (quoted ? *p != '"' : (*p != ' ' && *p != '\t'))) {
		char c = *p++;
		if (quoted && c == '\\' && (*p == '"' || *p == '\\'))
			c = *p++;
		if (o + 1 >= outlen) {
			*why = "field too long";
			return -1;
		}
		out[o++] = c;
	}
	if (quoted) {
		if (*p != '"') {
			*why = "unterminated quote";
			return -1;
		}
		p++;
	}
	out[o] = '\0';
	*pp = p;
	return 1;
}

static int check_macros(const char *tmpl, const char **why)
{
	struct macros m = {0};
	char tmp[1024];
	if (catalog_expand(tmpl, &m, tmp, sizeof(tmp)) < 0) {
		*why = "unknown {macro} or unbalanced brace";
		return -1;
	}
	return 0;
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-')
			return 0;
	return 1;
}

static int parse_line(struct catalog *c, const char *line, const char **why)
{
	struct rtest t;
	char extra[CATALOG_FIELD];
	const char *p = line;
	memset(&t, 0, sizeof(t));
	int r = next_field(&p, t.name, sizeof(t.name), why);
	if (r <= 0)
		return r;
	if (!valid_name(t.name))
		return *why = "test names use a-z, 0-9 and '-'", -1;
	if (catalog_find(c, t.name) >= 0)
		return *why = "duplicate test name", -1;
	if (next_field(&p, t.mail, sizeof(t.mail), why) <= 0 ||
	    next_field(&p, t.rcpt, sizeof(t.rcpt), why) <= 0)
		return *why =
		           *why ? *why : "expected: name MAIL-FROM RCPT-TO [helo=NAME] [via=PATH]",
		       -1;
	while ((r = next_field(&p, extra, sizeof(extra), why)) == 1) {
		if (strncmp(extra, "helo=", 5) == 0 && extra[5] && !t.helo[0]) {
			memcpy(t.helo, extra + 5, strlen(extra + 5) + 1);
		} else if (strncmp(extra, "via=", 4) == 0 && t.via == VIA_NONE) {
			int v = via_from_name(extra + 4);
			if (v <= VIA_NONE || v == VIA_STARTTLS)
				return *why =
				           "via= is one of auth-plain, auth-login, auth-anonymous, "
				           "xclient, xclient-own",
				       -1;
			t.via = (enum via)v;
		} else {
			return *why = "after RCPT-TO: at most one helo=NAME and one via=PATH", -1;
		}
	}
	if (r < 0)
		return -1;
	if (check_macros(t.mail, why) < 0 || check_macros(t.rcpt, why) < 0 ||
	    check_macros(t.helo, why) < 0)
		return -1;
	if (c->n >= CATALOG_MAX)
		return *why = "more than 255 tests", -1;
	c->t[c->n++] = t;
	return 1;
}

int catalog_parse(struct catalog *c, const char *text, const char *origin, char *err, size_t errlen)
{
	int lineno = 0;
	c->n = 0;
	while (*text) {
		char line[1024];
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		lineno++;
		const char *why = NULL;
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "%s:%d: line too long", origin, lineno);
			return -1;
		}
		memcpy(line, text, n);
		line[n] = '\0';
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		if (parse_line(c, line, &why) < 0) {
			snprintf(err, errlen, "%s:%d: %s", origin, lineno, why);
			return -1;
		}
		text += nl ? n + 1 : n;
	}
	if (c->n == 0) {
		snprintf(err, errlen, "%s: no tests", origin);
		return -1;
	}
	return 0;
}

int catalog_add_starttls_twins(struct catalog *c, char *err, size_t errlen)
{
	int n = c->n;
	for (int i = 0; i < n; i++) {
		if (c->t[i].via != VIA_NONE)
			continue;
		struct rtest t = c->t[i];
		if (snprintf(t.name, sizeof(t.name), "%s-starttls", c->t[i].name) >=
		        (int)sizeof(t.name) ||
		    catalog_find(c, t.name) >= 0) {
			snprintf(err, errlen, "--starttls both: no room for the twin of test '%s'",
			         c->t[i].name);
			return -1;
		}
		if (c->n >= CATALOG_MAX) {
			snprintf(err, errlen,
			         "--starttls both: more than %d tests with their twins",
			         CATALOG_MAX);
			return -1;
		}
		t.via = VIA_STARTTLS;
		c->t[c->n++] = t;
	}
	return 0;
}

int catalog_add_smuggling(struct catalog *c, char *err, size_t errlen)
{
	if (c->n + 2 * SMUGGLE_VARIANTS > CATALOG_MAX) {
		snprintf(err, errlen,
		         "more than %d tests with the %d smuggling tests (--no-smuggling)",
		         CATALOG_MAX, 2 * SMUGGLE_VARIANTS);
		return -1;
	}
	for (int v = 0; v < SMUGGLE_VARIANTS; v++) {
		for (int inner = 0; inner < 2; inner++) {
			struct rtest *t = &c->t[c->n++];
			memset(t, 0, sizeof(*t));
			snprintf(t->name, sizeof(t->name), "smuggle-%s%s", smuggle_variants[v].name,
			         inner ? "-inner" : "");
			snprintf(t->mail, sizeof(t->mail), "<{sender}@{sink}>");
			snprintf(t->rcpt, sizeof(t->rcpt), "<{user}@{sink}>");
			t->via = inner ? VIA_SMUGGLED : VIA_SMUGGLE;
			t->variant = v;
		}
	}
	return 0;
}

int catalog_add_proxy(struct catalog *c, char *err, size_t errlen)
{
	if (c->n >= CATALOG_MAX) {
		snprintf(err, errlen, "--proxy-spoof: more than %d tests", CATALOG_MAX);
		return -1;
	}
	memmove(&c->t[1], &c->t[0], (size_t)c->n * sizeof(c->t[0])); /* first: the connection */
	c->n++;
	struct rtest *t = &c->t[0];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "proxy-localhost");
	snprintf(t->mail, sizeof(t->mail), "<{sender}@{sink}>");
	snprintf(t->rcpt, sizeof(t->rcpt), "<{user}@{sink}>");
	t->via = VIA_PROXY;
	return 0;
}

int catalog_find(const struct catalog *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->t[i].name, name))
			return i;
	return -1;
}

int catalog_select(struct catalog *c, const char *names, char *err, size_t errlen)
{
	unsigned char keep[CATALOG_MAX] = {0};
	const char *p = names;
	while (*p) {
		size_t n = strcspn(p, ",");
		char name[48];
		if (n == 0 || n >= sizeof(name)) {
			snprintf(err, errlen, "--tests: empty or overlong name in '%.60s'", names);
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		int i = catalog_find(c, name);
		if (i < 0) {
			snprintf(err, errlen, "--tests: no test named '%s' (see --list-tests)",
			         name);
			return -1;
		}
		if (c->t[i].via == VIA_SMUGGLED) {
			snprintf(err, errlen,
			         "--tests: '%s' goes inside the test before it; name that one",
			         name);
			return -1;
		}
		keep[i] = 1;
		if (c->t[i].via == VIA_SMUGGLE && i + 1 < c->n) /* with the message it smuggles */
			keep[i + 1] = 1;
		p += n + (p[n] == ',');
	}
	int o = 0;
	for (int i = 0; i < c->n; i++)
		if (keep[i])
			c->t[o++] = c->t[i];
	c->n = o;
	return 0;
}
