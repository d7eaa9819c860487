/* A test's expansion: its token, its MAIL, RCPT and HELO arguments (conf/tests.conf macros)
 * and the message (conf/message.txt variables), from the client's parameters and what the
 * session learnt (our address, the server's name). Pure. */
#include "expand.h"

#include <stdio.h>
#include <string.h>

#include "message.h"

/* The per-test names the catalogue and the message template share. */
struct test_names {
	char user[TOKEN_MAX + 8], sinklit[ADDR_TEXT_MAX], tlit[ADDR_TEXT_MAX];
	const char *sink, *host, *domain;
};

void expand_token(const struct expand *x, int test, char *token)
{
	const struct client_params *p = x->p;
	struct token_fields f = {
	    .scan_id = p->scan_id, .target = p->target, .port = p->port, .test = (uint8_t)test};
	if (token_encode(p->key, p->keylen, &f, token) < 0)
		token[0] = '\0';
}

static void test_names(const struct expand *x, const char *token, struct test_names *n)
{
	snprintf(n->user, sizeof(n->user), TOKEN_PREFIX "%s", token);
	const struct client_params *p = x->p;
	ipaddr_literal(p->sink_addr.family ? &p->sink_addr : x->local, n->sinklit,
	               sizeof(n->sinklit));
	ipaddr_literal(&p->target, n->tlit, sizeof(n->tlit));
	n->sink = p->sink_domain ? p->sink_domain : n->sinklit;
	n->host = x->target_host[0] ? x->target_host : n->tlit;
	n->domain = catalog_domain_of(n->host);
}

void expand_test(const struct expand *x, int test, struct test_args *a)
{
	const struct client_params *p = x->p;
	const struct rtest *rt = &p->cat->t[test];
	const size_t len = sizeof(a->mail);
	char *mail = a->mail, *rcpt = a->rcpt, *helo = a->helo;
	expand_token(x, test, a->token);
	struct test_names n;
	test_names(x, a->token, &n);
	struct macros m = {
	    .user = n.user,
	    .sink = n.sink,
	    .sink_literal = n.sinklit,
	    .target_literal = n.tlit,
	    .target_host = n.host,
	    .target_domain = n.domain,
	    .sender = p->sender,
	    .helo = p->helo,
	};
	if (catalog_expand(rt->mail, &m, mail, len) < 0)
		mail[0] = '\0';
	if (catalog_expand(rt->rcpt, &m, rcpt, len) < 0)
		rcpt[0] = '\0';
	helo[0] = '\0';
	if (rt->helo[0] && catalog_expand(rt->helo, &m, helo, len) < 0)
		helo[0] = '\0';
}

int expand_message(const struct expand *x, int test, struct buf *out)
{
	const struct client_params *p = x->p;
	const struct rtest *rt = &p->cat->t[test];
	char port[8], prober[ADDR_TEXT_MAX], token[TOKEN_MAX + 1];
	expand_token(x, test, token);
	struct test_names n;
	test_names(x, token, &n);
	ipaddr_str(x->local, prober, sizeof(prober));
	snprintf(port, sizeof(port), "%u", p->port);
	struct kv vars[] = {
	    {"user", n.user},
	    {"token", token},
	    {"sink", n.sink},
	    {"sink_literal", n.sinklit},
	    {"target_literal", n.tlit},
	    {"target_host", n.host},
	    {"target_domain", n.domain},
	    {"sender", p->sender},
	    {"helo", p->helo},
	    {"date", p->date},
	    {"port", port},
	    {"test", rt->name},
	    {"prober", prober},
	    {"contact", p->contact},
	};
	return message_render(p->message_tmpl, vars, (int)(sizeof(vars) / sizeof(vars[0])), out);
}
