#include "client.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "expand.h"
#include "smtp.h"
#include "smuggle.h"

const char *const client_state_names[] = {
    [CS_GREETING] = "greeting",
    [CS_EHLO] = "ehlo",
    [CS_HELO] = "helo",
    [CS_TESTHELO] = "testhelo",
    [CS_MAIL] = "mail",
    [CS_RCPT] = "rcpt",
    [CS_RCPT_SKIP] = "rcpt-skip",
    [CS_DATA] = "data",
    [CS_BODY] = "body",
    [CS_RSET] = "rset",
    [CS_QUIT] = "quit",
    [CS_NAME] = "name",
    [CS_STARTTLS] = "starttls",
    [CS_TLS] = "tls",
    [CS_AUTH] = "auth",
    [CS_AUTH_USER] = "auth-user",
    [CS_AUTH_PASS] = "auth-pass",
    [CS_XCLIENT] = "xclient",
    [CS_PROXY_NOOP] = "proxy-noop",
    [CS_DONE] = "done",
};
_Static_assert(sizeof(client_state_names) / sizeof(client_state_names[0]) == CS_COUNT,
               "a name for every state");

/* What a state waits for, as the messages say it ("no EHLO reply within 30 s"). */
static const char *const state_cmd[] = {
    [CS_GREETING] = "greeting",
    [CS_EHLO] = "EHLO",
    [CS_HELO] = "HELO",
    [CS_TESTHELO] = "EHLO",
    [CS_MAIL] = "MAIL",
    [CS_RCPT] = "RCPT",
    [CS_RCPT_SKIP] = "RCPT",
    [CS_DATA] = "DATA",
    [CS_BODY] = ".",
    [CS_RSET] = "RSET",
    [CS_QUIT] = "QUIT",
    [CS_NAME] = "PTR",
    [CS_STARTTLS] = "STARTTLS",
    [CS_TLS] = "TLS handshake",
    [CS_AUTH] = "AUTH",
    [CS_AUTH_USER] = "AUTH",
    [CS_AUTH_PASS] = "AUTH",
    [CS_XCLIENT] = "XCLIENT",
    [CS_PROXY_NOOP] = "NOOP",
    [CS_DONE] = "-",
};
_Static_assert(sizeof(state_cmd) / sizeof(state_cmd[0]) == CS_COUNT, "a command for every state");

/* ---- transcript and kept replies ---- */

static void note(struct client *c, const char *dir, const char *p, size_t n)
{
	if (!c->p.transcript || c->transcript_truncated)
		return;
	if (buf_len(&c->transcript) + n + 4 > TRANSCRIPT_MAX) {
		c->transcript_truncated = 1;
		return;
	}
	buf_append(&c->transcript, dir, strlen(dir));
	buf_append(&c->transcript, p, n);
	buf_append(&c->transcript, "\n", 1);
}

/* A reply as it came, one transcript line per reply line, without the line ends. */
static void note_reply(struct client *c, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n, next = nl ? len + 1 : n;
		if (len && p[len - 1] == '\r')
			len--;
		note(c, "< ", p, len);
		p += next;
		n -= next;
	}
}

/* Every state change goes through here, and the transcript says it: "# mail -> rcpt". */
static void set_state(struct client *c, enum client_state s)
{
	if (c->state != s) {
		char m[48];
		int n = snprintf(m, sizeof(m), "%s -> %s", client_state_names[c->state],
		                 client_state_names[s]);
		note(c, "# ", m, (size_t)n);
	}
	c->state = s;
}

/* The reply's lines joined by '\n', bounded (tmp[REPLY_TEXT_MAX]); returns its length. */
static size_t reply_join(const struct smtp_reply *r, char *tmp)
{
	size_t o = 0;
	for (int i = 0; i < r->nlines && o + 1 < REPLY_TEXT_MAX; i++) {
		if (i)
			tmp[o++] = '\n';
		size_t n = r->lines[i].len;
		if (n && r->lines[i].text[n - 1] == '\r')
			n--;
		if (n > REPLY_TEXT_MAX - 1 - o)
			n = REPLY_TEXT_MAX - 1 - o;
		memcpy(tmp + o, r->lines[i].text, n);
		o += n;
	}
	tmp[o] = '\0';
	return o;
}

static char *reply_text(const struct smtp_reply *r)
{
	char tmp[REPLY_TEXT_MAX];
	reply_join(r, tmp);
	return strdup(tmp);
}

/* What the expansion of every test is computed from: our address on the first connection
 * that ran a test and the server's name then, fixed from that moment so that the arguments
 * computed again for the results are the ones sent. */
static struct expand expansion(struct client *c)
{
	if (!c->names_fixed) {
		c->names_fixed = 1;
		c->exp_local = c->local;
	}
	return (struct expand){&c->p, &c->exp_local, client_host(c)};
}

void client_test_args(const struct client *c, int i, struct test_args *a)
{
	struct expand x = {&c->p, c->names_fixed ? &c->exp_local : &c->local, client_host(c)};
	expand_test(&x, c->t[i].test, a);
}

size_t client_reply_text(const struct client *c, int i, enum stage s, const char *rcpt,
                         const char *token, char *out, size_t outlen)
{
	return texts_get(&c->texts, c->t[i].text[s], rcpt, token, out, outlen);
}

/* Keeps reply r as stage s of test tr (its text in the host's store, marked); its joined
 * text in txt[REPLY_TEXT_MAX] for the caller. Only a text with the token's prefix in it can
 * repeat the recipient or the token: the others are kept without expanding the test. */
static void keep(struct client *c, struct test_result *tr, enum stage s, const struct smtp_reply *r,
                 char *txt)
{
	struct test_args a = {.token = "", .rcpt = ""};
	size_t n = reply_join(r, txt);
	if (strcasestr(txt, TOKEN_PREFIX)) {
		expansion(c);
		client_test_args(c, (int)(tr - c->t), &a);
	}
	tr->code[s] = (uint16_t)(r->code > 0 && r->code < 1000 ? r->code : 0);
	tr->text[s] = texts_put(&c->texts, txt, n, a.rcpt, a.token);
	tr->syntax = reply_syntax_only(r->code, txt);
}

/* ---- sending ---- */

static void send_cmd(struct client *c, const char *fmt, const char *arg)
{
	char line[1100];
	int n = snprintf(line, sizeof(line), fmt, arg);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		n = (int)sizeof(line) - 3;
	note(c, "> ", line, (size_t)n);
	memcpy(line + n, "\r\n", 2);
	buf_append(&c->out, line, (size_t)n + 2);
	c->pending++;
}

static void finish(struct client *c, enum session_end end, const char *why)
{
	if (c->end == END_RUNNING || c->end == END_TESTS) {
		int decided = 0;
		for (int i = 0; i < c->nt; i++)
			decided |= c->t[i].outcome != OUT_NOTRUN && c->t[i].outcome != OUT_ERROR;
		/* An error after some test was decided still leaves a verdict from the tests. */
		c->end = decided && end == END_ERROR ? END_TESTS : end;
	}
	if (why && !c->reason)
		c->reason = strdup(why);
	if (c->state != CS_QUIT) /* only a parting QUIT goes out after the end */
		buf_consume(&c->out, buf_len(&c->out));
	int sent = 0;
	for (int i = 0; i < c->nt && !sent; i++)
		sent = c->t[i].prepared;
	if (c->end == END_TESTS && !sent && !c->reason)
		c->reason = strdup("none of the selected tests applies to this server (their paths "
		                   "are not offered)");
	set_state(c, CS_DONE);
}

static void start_test(struct client *c);

static void send_quit(struct client *c)
{
	send_cmd(c, "QUIT", NULL);
	set_state(c, CS_QUIT);
}

static void next_test(struct client *c)
{
	c->path_done = 0;
	if (c->tls_530) { /* RFC 3207: STARTTLS between transactions, then this test again */
		send_cmd(c, "STARTTLS", NULL);
		set_state(c, CS_STARTTLS);
		return;
	}
	c->cur++;
	start_test(c);
}

/* Expands test i into a (fixing the names it uses, expansion()); -1 when it expands to
 * nothing. */
static int expand_args(struct client *c, int i, struct test_args *a)
{
	struct expand x = expansion(c);
	expand_test(&x, c->t[i].test, a);
	return !a->mail[0] && !a->rcpt[0] ? -1 : 0;
}

/* Test i is about to run: its arguments expand, into a (-1 when they expand to nothing). */
static int prepare_test(struct client *c, int i, struct test_args *a)
{
	if (expand_args(c, i, a) < 0)
		return -1;
	c->t[i].prepared = 1;
	return 0;
}

/* The name announced on this connection ("" before any). Held by size, not in a field sized
 * for the longest: it is one of the few strings every session keeps. */
static const char *helo_sent(const struct client *c)
{
	return c->cur_helo ? c->cur_helo : "";
}

static void set_helo(struct client *c, const char *name)
{
	free(c->cur_helo);
	c->cur_helo = name ? strdup(name) : NULL;
}

/* The name a test announces (its own HELO, or --helo), from its arguments a. */
static const char *test_helo(const struct client *c, const struct test_args *a)
{
	return a->helo[0] ? a->helo : c->p.helo;
}

/* With PIPELINING (RFC 2920) a test's MAIL and RCPT travel in one write, and the RSET that
 * ends a test travels with the next test's MAIL and RCPT: one round trip per refused test
 * instead of three. EHLO, DATA and the message are never pipelined. A server that refuses
 * MAIL as such (TLS or AUTH first, say) would answer every pipelined RCPT with one more error
 * from its budget (Postfix sleeps after 10 and hangs up after 20): after an auth-class MAIL
 * refusal, or two MAIL refusals in a row, the rest of the host goes lockstep. A single
 * refused odd sender (syntax) does not stop pipelining. */
static int pipelined(const struct client *c)
{
	return c->pipelining && !c->lockstep;
}

/* The current test's MAIL, and its RCPT with it when pipelining; a: its arguments, or NULL
 * to expand them here. */
static void send_mail(struct client *c, const struct test_args *a)
{
	struct test_args own;
	if (!a) {
		expand_args(c, c->cur, &own);
		a = &own;
	}
	c->t[c->cur].transport = transport_of(c->transport);
	send_cmd(c, "MAIL FROM:%s", a->mail);
	set_state(c, CS_MAIL);
	c->rcpt_queued = pipelined(c);
	if (c->rcpt_queued)
		send_cmd(c, "RCPT TO:%s", a->rcpt);
}

/* Whether the test's path is open on this connection (catalog.h enum via); a test whose path
 * is not offered is not run and leaves no trace in the results. */
static int path_offered(const struct client *c, enum via v)
{
	switch (v) {
	case VIA_NONE:
		return 1;
	case VIA_STARTTLS: /* the twins of --starttls both; implicit TLS has none to run */
		return !strcmp(c->transport, "starttls") ||
		       (!strcmp(c->transport, "plain") && c->ann_starttls && !c->starttls_off);
	case VIA_AUTH_PLAIN:
	case VIA_AUTH_LOGIN:
	case VIA_AUTH_ANON: /* a mechanism AUTH names; any, when only a 530 asked for AUTH */
		return c->ann_auth ? (int)((c->auth_mechs >> v) & 1u) : c->saw_530;
	case VIA_XCLIENT:
	case VIA_XCLIENT_OWN:
		return c->ann_xclient;
	case VIA_SMUGGLE: /* only in their own phase, after the host relayed */
		return c->smuggle_phase;
	case VIA_PROXY: /* the header goes before TLS: not with implicit TLS */
		return !c->p.implicit_tls;
	case VIA_SMUGGLED: /* goes inside the test before it */
	case VIA_COUNT:
		break;
	}
	return 0;
}

/* A test after the current one that this phase runs (the smuggling tests have their own),
 * judged by what this session offered: a new session for a test whose path the server does
 * not offer would be spent for nothing. */
static int more_tests(const struct client *c)
{
	for (int j = c->cur + 1; j < c->nt; j++) {
		enum via v = c->t[j].via;
		if (v == VIA_SMUGGLED || (v == VIA_SMUGGLE) != c->smuggle_phase)
			continue;
		if (v == VIA_STARTTLS ? !c->starttls_off : v == VIA_SMUGGLE || path_offered(c, v))
			return 1;
	}
	return 0;
}

/* RFC 4616 PLAIN with an empty authorization id, user name and password: "\0\0". */
#define AUTH_PLAIN_EMPTY "AAA="
/* RFC 4505 ANONYMOUS trace information: base64 of "relaytrap". */
#define AUTH_ANON_TRACE "cmVsYXl0cmFw"

/* Sends the command that opens the current test's path. */
static void send_path(struct client *c)
{
	char cmd[128];
	switch (c->t[c->cur].via) {
	case VIA_STARTTLS:
		send_cmd(c, "STARTTLS", NULL);
		set_state(c, CS_STARTTLS);
		return;
	case VIA_AUTH_PLAIN:
		send_cmd(c, "AUTH PLAIN %s", AUTH_PLAIN_EMPTY);
		break;
	case VIA_AUTH_LOGIN:
		send_cmd(c, "AUTH LOGIN", NULL);
		break;
	case VIA_AUTH_ANON:
		send_cmd(c, "AUTH ANONYMOUS %s", AUTH_ANON_TRACE);
		break;
	case VIA_XCLIENT_OWN: {
		char a[64];
		ipaddr_str(&c->p.target, a, sizeof(a));
		snprintf(cmd, sizeof(cmd), "XCLIENT ADDR=%s%s",
		         c->p.target.family == 6 ? "IPV6:" : "", a);
		send_cmd(c, "%s", cmd);
		set_state(c, CS_XCLIENT);
		return;
	}
	case VIA_XCLIENT:
		send_cmd(c, "XCLIENT ADDR=127.0.0.1 NAME=localhost", NULL);
		set_state(c, CS_XCLIENT);
		return;
	case VIA_NONE:
	case VIA_SMUGGLE:
	case VIA_SMUGGLED:
	case VIA_PROXY:
	case VIA_COUNT:
		return;
	}
	set_state(c, CS_AUTH);
}

static void run_test(struct client *c, const struct test_args *a);

static void start_test(struct client *c)
{
	struct test_args a;
	for (;;) {
		if (c->cur >= c->nt) {
			send_quit(c);
			return;
		}
		enum via pv = c->t[c->cur].via;
		if ((pv == VIA_SMUGGLE) != c->smuggle_phase || !path_offered(c, pv)) {
			c->cur++; /* not this phase's, or its path is not offered */
			continue;
		}
		if (prepare_test(c, c->cur, &a) == 0)
			break;
		c->t[c->cur].outcome = OUT_ERROR;
		c->cur++;
	}
	enum via v = c->t[c->cur].via;
	if (v == VIA_PROXY && !c->proxy_conn) { /* a connection of its own, header first */
		c->proxy_wanted = 1;
		send_quit(c);
		return;
	}
	if (v == VIA_PROXY && c->t[c->cur].outcome != OUT_NOTRUN) { /* the header was refused */
		c->cur++;
		start_test(c);
		return;
	}
	if (v == VIA_PROXY) /* the server took the header: this session is not ours to reuse */
		c->fresh_needed = 1;
	if (via_is_command(v) && !c->path_done &&
	    !(v == VIA_STARTTLS && strcmp(c->transport, "plain"))) {
		send_path(c);
		return;
	}
	run_test(c, &a);
}

/* The test itself, its path (if any) open: its own HELO if it has one, then MAIL; a: its
 * arguments, or NULL to expand them here. */
static void run_test(struct client *c, const struct test_args *a)
{
	struct test_args own;
	if (!a) {
		expand_args(c, c->cur, &own);
		a = &own;
	}
	const char *want = test_helo(c, a);
	if (strcmp(want, helo_sent(c)) != 0) {
		set_helo(c, want);
		send_cmd(c, c->esmtp ? "EHLO %s" : "HELO %s", helo_sent(c));
		set_state(c, CS_TESTHELO);
		return;
	}
	send_mail(c, a);
}

/* RSET after a test; pipelined with the next test's MAIL and RCPT when allowed. */
static void end_test(struct client *c)
{
	if (c->fresh_needed && more_tests(c)) { /* a path changed the session: a new one */
		send_quit(c);
		return;
	}
	if (!c->tls_530 && !more_tests(c)) { /* the last test: QUIT ends the transaction too */
		c->cur = c->nt;
		send_quit(c);
		return;
	}
	send_cmd(c, "RSET", NULL);
	set_state(c, CS_RSET);
	c->next_queued = 0;
	int j = c->cur + 1;
	struct test_args a;
	if (!pipelined(c) || c->tls_530 || j >= c->nt || c->t[j].via != VIA_NONE ||
	    prepare_test(c, j, &a) < 0 || strcmp(test_helo(c, &a), helo_sent(c)) != 0)
		return;
	c->t[j].transport = transport_of(c->transport);
	send_cmd(c, "MAIL FROM:%s", a.mail);
	send_cmd(c, "RCPT TO:%s", a.rcpt);
	c->next_queued = 1;
}

/* The smuggling test's message: its own, a lenient end of data, and the next test's (its
 * inner message) with MAIL, RCPT and DATA; a vulnerable server answers those too. */
static int send_smuggled(struct client *c, const struct expand *x)
{
	struct test_result *tr = &c->t[c->cur];
	int in = c->cur + 1;
	struct test_args a;
	if (in >= c->nt || c->t[in].via != VIA_SMUGGLED || prepare_test(c, in, &a) < 0)
		return -1;
	c->t[in].transport = transport_of(c->transport);
	c->inner_stage = 0;
	c->pending += 4; /* replies that may come to the smuggled MAIL, RCPT, DATA and data */
	return smuggle_message(x, tr->test, c->t[in].test, c->p.cat->t[tr->test].variant, &c->out);
}

static void send_message(struct client *c)
{
	struct expand x = expansion(c);
	size_t before = buf_len(&c->out);
	int r = c->t[c->cur].via == VIA_SMUGGLE ? send_smuggled(c, &x)
	                                        : expand_message(&x, c->t[c->cur].test, &c->out);
	if (r < 0) {
		/* Cannot happen with a checked template; end the data cleanly anyway. */
		buf_append(&c->out, "\r\n.\r\n", 5);
	}
	char what[64];
	int wl = snprintf(what, sizeof(what), "(message, %zu bytes)", buf_len(&c->out) - before);
	note(c, "> ", what, (size_t)wl);
	c->pending++;
	set_state(c, CS_BODY);
}

/* ---- lifecycle ---- */

int client_init(struct client *c, const struct client_params *p)
{
	memset(c, 0, sizeof(*c));
	c->p = *p;
	c->nt = p->cat->n;
	c->t = calloc((size_t)(c->nt ? c->nt : 1), sizeof(*c->t));
	if (!c->t)
		return -1;
	for (int i = 0; i < c->nt; i++) {
		c->t[i].test = i;
		c->t[i].via = p->cat->t[i].via;
	}
	c->proxy_wanted = c->nt && c->t[0].via == VIA_PROXY && !p->implicit_tls;
	buf_init(&c->out, 64 * 1024);
	buf_init(&c->transcript, TRANSCRIPT_MAX);
	c->end = END_RUNNING;
	return 0;
}

void client_free(struct client *c)
{
	free(c->t);
	texts_free(&c->texts);
	free(c->banner);
	free(c->tls);
	free(c->reason);
	free(c->cur_helo);
	free(c->ehlo_ext);
	free(c->target_host);
	buf_free(&c->out);
	buf_free(&c->transcript);
	memset(c, 0, sizeof(*c));
}

/* PROXY protocol v1 (HAProxy's proxy-protocol.txt 2.1): this connection claims to come from
 * the loopback address. Sent before the greeting; a server that speaks it answers nothing,
 * one that does not takes it for a command (CS_EHLO). */
static void send_proxy_header(struct client *c)
{
	char dst[64], line[160];
	int v6 = c->p.target.family == 6;
	ipaddr_str(&c->p.target, dst, sizeof(dst));
	int n = snprintf(line, sizeof(line), "PROXY %s %s %s 49152 %u", v6 ? "TCP6" : "TCP4",
	                 v6 ? "::1" : "127.0.0.1", dst, c->p.port);
	note(c, "> ", line, (size_t)n);
	buf_append(&c->out, line, (size_t)n);
	buf_append(&c->out, "\r\n", 2);
	c->pending++; /* the answer of a server that takes it for a command */
}

void client_connected(struct client *c, const struct ipaddr *local, double now)
{
	c->connects++;
	c->local = *local;
	c->now = now;
	c->got_bytes = 0;
	set_helo(c, NULL);
	c->transport = c->p.implicit_tls ? "tls" : "plain";
	set_state(c, CS_GREETING);
	c->pending = 1; /* the greeting */
	c->rcpt_queued = c->next_queued = 0;
	c->ann_starttls = c->ann_auth = c->ann_xclient = 0;
	c->path_done = c->fresh_needed = c->tls_530 = 0;
	buf_consume(&c->out, buf_len(&c->out));
	if (c->connects > 1) {
		char m[48];
		int n = snprintf(m, sizeof(m), "(reconnect %d)", c->connects - 1);
		note(c, "- ", m, (size_t)n);
	}
	c->proxy_conn = c->proxy_wanted;
	c->proxy_wanted = c->proxy_answered = 0;
	if (c->proxy_conn)
		send_proxy_header(c);
}

/* A test is under way: its MAIL, RCPT or data, or its path (AUTH, XCLIENT and the EHLO after
 * an accepted XCLIENT). */
static int in_test(const struct client *c)
{
	return (c->state >= CS_MAIL && c->state <= CS_BODY) ||
	       (c->state >= CS_AUTH && c->state <= CS_XCLIENT) ||
	       (c->state == CS_TESTHELO && c->path_done);
}

/* The test in progress, if any, broke with the session. */
static void test_broken(struct client *c)
{
	if (in_test(c) && c->t[c->cur].outcome == OUT_NOTRUN)
		c->t[c->cur].outcome = OUT_ERROR;
}

/* A 421 or a drop: reconnect and go on with the next test, or give up. */
static enum client_status lost(struct client *c, const char *why)
{
	if (in_test(c)) {
		test_broken(c);
		c->cur++;
	} else if (c->state == CS_RSET) {
		c->cur++;
	}
	if (c->state == CS_QUIT || c->cur >= c->nt) {
		finish(c, END_TESTS, NULL);
		return CL_DONE;
	}
	if (c->smuggle_phase && in_test(c))
		c->planned++; /* a server may well hang up on a lenient end of data: not a failure
		               */
	if (c->connects - c->planned > c->p.max_reconnects) {
		char m[300];
		snprintf(m, sizeof(m), "%s; gave up after %d reconnects", why, c->p.max_reconnects);
		finish(c, END_ERROR, m);
		return CL_DONE;
	}
	note(c, "- ", why, strlen(why));
	buf_consume(&c->out, buf_len(&c->out)); /* nothing more for this connection */
	set_state(c, CS_GREETING);
	return CL_RECONNECT;
}

/* Names the server after text's first word when nothing named it yet and no test has been
 * expanded with the name it had (expansion()); 1 when it did. */
static int name_host(struct client *c, const char *text)
{
	char name[256];
	if (c->target_host || c->names_fixed || host_name_of(text, name, sizeof(name)) != 0)
		return 0;
	c->target_host = strdup(name);
	return c->target_host != NULL;
}

static void set_greeting(struct client *c, const struct smtp_reply *r)
{
	char *t = reply_text(r);
	if (!c->banner) {
		c->banner = t;
		if (name_host(c, t ? t : ""))
			c->host_from = "banner";
	} else {
		free(t);
	}
}

/* An EHLO reply with an extension line starting with word (PIPELINING, STARTTLS). */
static int announces(const struct smtp_reply *r, const char *word)
{
	size_t wl = strlen(word);
	for (int i = 1; i < r->nlines; i++) {
		size_t l = r->lines[i].len;
		while (l && (r->lines[i].text[l - 1] == '\r' || r->lines[i].text[l - 1] == ' '))
			l--;
		if (l >= wl && strncasecmp(r->lines[i].text, word, wl) == 0 &&
		    (l == wl || r->lines[i].text[wl] == ' '))
			return 1;
	}
	return 0;
}

/* The mechanisms of an "AUTH PLAIN LOGIN" (or old "AUTH=PLAIN LOGIN") line that relaytrap
 * tries, as 1 << VIA_AUTH_*. */
static unsigned auth_mechs_of(const struct smtp_reply *r)
{
	static const struct {
		const char *name;
		enum via v;
	} mechs[] = {
	    {"PLAIN", VIA_AUTH_PLAIN}, {"LOGIN", VIA_AUTH_LOGIN}, {"ANONYMOUS", VIA_AUTH_ANON}};
	unsigned m = 0;
	for (int i = 1; i < r->nlines; i++) {
		const char *p = r->lines[i].text, *end = p + r->lines[i].len;
		if (end - p < 5 || strncasecmp(p, "AUTH", 4) != 0 || (p[4] != ' ' && p[4] != '='))
			continue;
		for (p += 5; p < end;) {
			const char *w = p;
			while (p < end && *p != ' ' && *p != '\r')
				p++;
			for (size_t k = 0; k < sizeof(mechs) / sizeof(mechs[0]); k++)
				if ((size_t)(p - w) == strlen(mechs[k].name) &&
				    strncasecmp(w, mechs[k].name, (size_t)(p - w)) == 0)
					m |= 1u << mechs[k].v;
			while (p < end && (*p == ' ' || *p == '\r'))
				p++;
		}
	}
	return m;
}

/* What an EHLO reply offers; every EHLO reply says it again. */
static void set_offers(struct client *c, const struct smtp_reply *r)
{
	int ok = r->code == 250;
	c->pipelining = ok && announces(r, "PIPELINING");
	c->ann_starttls = ok && announces(r, "STARTTLS");
	c->auth_mechs = ok ? auth_mechs_of(r) : 0;
	c->ann_auth = ok && (announces(r, "AUTH") || c->auth_mechs);
	c->ann_xclient = ok && announces(r, "XCLIENT");
}

static void set_ehlo(struct client *c, const struct smtp_reply *r)
{
	c->esmtp = 1;
	set_offers(c, r);
	if (c->n_ext)
		return; /* first connection's list is kept */
	char first[REPLY_TEXT_MAX];
	size_t n = r->lines[0].len < sizeof(first) - 1 ? r->lines[0].len : sizeof(first) - 1;
	memcpy(first, r->lines[0].text, n);
	first[n] = '\0';
	if (n && first[n - 1] == '\r')
		first[n - 1] = '\0';
	if (name_host(c, first))
		c->host_from = "ehlo";
	const char *hello = strcasestr(first, "hello");
	if (reported_addr(hello ? hello : first, &c->ehlo_reported) < 0)
		c->ehlo_reported.family = 0;
	char ext[EHLO_EXT_MAX * (EHLO_EXT_LEN + 1) + 1];
	size_t o = 0;
	int n_ext = 0;
	for (int i = 1; i < r->nlines && n_ext < EHLO_EXT_MAX; i++) {
		size_t l = strnlen(r->lines[i].text, r->lines[i].len);
		if (l && r->lines[i].text[l - 1] == '\r')
			l--;
		if (l > EHLO_EXT_LEN)
			l = EHLO_EXT_LEN;
		memcpy(ext + o, r->lines[i].text, l);
		o += l;
		ext[o++] = '\n';
		n_ext++;
	}
	ext[o] = '\0';
	if (n_ext && (c->ehlo_ext = strdup(ext)) != NULL)
		c->n_ext = n_ext;
}

/* STARTTLS when offered, once a connection, as a spammer's MTA would (--starttls auto). */
static int want_starttls(const struct client *c)
{
	return c->p.starttls && !c->starttls_off && !strcmp(c->transport, "plain");
}

/* After EHLO or HELO: the tests, or first the PTR name when nothing named the host. */
static enum client_status begin_tests(struct client *c)
{
	if (!c->target_host && c->p.want_name && !c->name_asked) {
		c->name_asked = 1;
		set_state(c, CS_NAME);
		return CL_NAME;
	}
	start_test(c);
	return CL_CONTINUE;
}

/* A test whose path was refused: rejected or deferred, never "auth-required" (a refused
 * AUTH is not a relay answer; outcome_path_only keeps it out of the verdict). */
static void path_refused(struct test_result *tr, const struct smtp_reply *r)
{
	tr->outcome = r->code >= 400 && r->code < 500 ? OUT_DEFERRED : OUT_REJECTED;
}

/* Forgets a test's outcome so that it runs again (after a 530 asked for STARTTLS). */
static void reset_test(struct client *c, int i)
{
	struct test_result *tr = &c->t[i];
	memset(tr->code, 0, sizeof(tr->code));
	memset(tr->text, 0, sizeof(tr->text)); /* the texts stay in the store, kept once */
	tr->outcome = OUT_NOTRUN;
	tr->transport = TR_NONE;
	tr->syntax = 0;
	tr->accepted_at = 0;
}

/* After QUIT, the smuggling phase still waits: what follows its end of data may be the
 * replies to the smuggled commands (inner_reply). Everywhere else the 221 is not waited for:
 * the engine sends the QUIT and closes (one round trip less per session). */
static int quit_waits(const struct client *c)
{
	return c->state == CS_QUIT && c->cur + 1 < c->nt && c->t[c->cur].via == VIA_SMUGGLE &&
	       c->inner_stage < 4;
}

/* The QUIT's end (its answer, or, unless quit_waits, its sending): the end, or (a path changed
 * the last session) a fresh session for the next test, not counted against --max-reconnects. */
static enum client_status quit_done(struct client *c)
{
	if (c->proxy_wanted) { /* the same test, on a connection that starts with the header */
		c->planned++;
		set_state(c, CS_GREETING);
		return CL_RECONNECT;
	}
	if (c->fresh_needed && more_tests(c)) {
		c->planned++;
		c->cur++;
		static const char fresh[] = "(a new session for the next test)";
		note(c, "- ", fresh, sizeof(fresh) - 1);
		set_state(c, CS_GREETING);
		return CL_RECONNECT;
	}
	finish(c, END_TESTS, NULL);
	return CL_DONE;
}

/* A reply to the smuggled message's commands, which a strict server took as data: it parsed
 * them as commands of their own. They are the inner test's, MAIL, RCPT, DATA and end. */
static enum client_status inner_reply(struct client *c, struct test_result *in,
                                      const struct smtp_reply *r)
{
	static const enum stage stages[] = {ST_MAIL, ST_RCPT, ST_DATA, ST_END};
	static const int ok[] = {250, 250, 354, 250};
	int k = c->inner_stage++;
	char txt[REPLY_TEXT_MAX];
	keep(c, in, stages[k], r, txt);
	int good = r->code == ok[k] || (k == 1 && r->code == 251);
	if (!good && in->outcome == OUT_NOTRUN) {
		in->outcome = reply_outcome(r->code, txt);
		if (in->outcome == OUT_ACCEPTED)
			in->outcome = OUT_REJECTED;
		c->inner_stage = 4; /* the rest is not the smuggled message's */
	} else if (good && k == 3) {
		in->outcome = OUT_ACCEPTED;
		in->accepted_at = c->now;
	}
	return CL_CONTINUE;
}

/* AUTH with empty credentials or ANONYMOUS: 235 opens the path, 334 asks for the next
 * (empty) answer, anything else refuses it. */
static enum client_status on_auth_reply(struct client *c, struct test_result *tr,
                                        const struct smtp_reply *r)
{
	if (r->code == 421)
		return lost(c, "421 after AUTH");
	char txtbuf[REPLY_TEXT_MAX];
	keep(c, tr, ST_PATH, r, txtbuf);
	if (c->auth_cancelled) { /* the answer to "*", whatever it is: the path is refused */
		c->auth_cancelled = 0;
		path_refused(tr, r);
		next_test(c);
		return CL_CONTINUE;
	}
	if (r->code == 235) {
		c->path_done = c->fresh_needed = 1;
		run_test(c, NULL);
		return CL_CONTINUE;
	}
	if (r->code == 334 && c->state != CS_AUTH_PASS) {
		enum via v = tr->via;
		if (v == VIA_AUTH_LOGIN && c->state == CS_AUTH) {
			send_cmd(c, "%s", ""); /* the user name */
			set_state(c, CS_AUTH_USER);
		} else {
			send_cmd(c, "%s",
			         v == VIA_AUTH_LOGIN  ? ""
			         : v == VIA_AUTH_ANON ? AUTH_ANON_TRACE
			                              : AUTH_PLAIN_EMPTY);
			set_state(c, CS_AUTH_PASS);
		}
		return CL_CONTINUE;
	}
	if (r->code == 334) { /* a third challenge: give up on this path (RFC 4954 "*") */
		send_cmd(c, "*", NULL);
		c->auth_cancelled = 1;
		return CL_CONTINUE;
	}
	path_refused(tr, r);
	next_test(c);
	return CL_CONTINUE;
}

/* One reply in the current state. */
static enum client_status on_reply(struct client *c, const struct smtp_reply *r)
{
	struct test_result *tr = c->cur < c->nt ? &c->t[c->cur] : NULL;
	char *txt = NULL, txtbuf[REPLY_TEXT_MAX];
	switch (c->state) {
	case CS_GREETING:
		if (r->code != 220) {
			txt = reply_text(r);
			char m[REPLY_TEXT_MAX + 16];
			snprintf(m, sizeof(m), "greeting %d %s", r->code, txt ? txt : "");
			free(txt);
			if (c->connects > 1) /* a reconnect refused: keep what we have */
				return lost(c, m);
			set_greeting(c, r);
			finish(c, r->code >= 400 ? END_REFUSED : END_ERROR, m);
			return CL_DONE;
		}
		c->greeted = 1;
		set_greeting(c, r);
		set_helo(c, c->p.helo);
		if (c->proxy_conn) {
			send_cmd(c, "NOOP", NULL);
			set_state(c, CS_PROXY_NOOP);
			return CL_CONTINUE;
		}
		send_cmd(c, "EHLO %s", helo_sent(c));
		set_state(c, CS_EHLO);
		return CL_CONTINUE;
	case CS_PROXY_NOOP:
		if (r->code == 421)
			return lost(c, "421 after NOOP");
		if (r->code >= 400 && !c->proxy_answered && tr && tr->via == VIA_PROXY) {
			c->proxy_answered = 1; /* the header's answer; the NOOP's comes next */
			keep(c, tr, ST_PATH, r, txtbuf);
			path_refused(tr, r);
			return CL_CONTINUE;
		}
		if (!c->proxy_answered && c->pending > 0)
			c->pending--; /* the header's answer that a PROXY server never gives */
		send_cmd(c, "EHLO %s", helo_sent(c));
		set_state(c, CS_EHLO);
		return CL_CONTINUE;
	case CS_EHLO:
		if (r->code == 421)
			return lost(c, "421 after EHLO");
		if (r->code == 250) {
			set_ehlo(c, r);
			if (want_starttls(c) && c->ann_starttls) {
				send_cmd(c, "STARTTLS", NULL);
				set_state(c, CS_STARTTLS);
				return CL_CONTINUE;
			}
			return begin_tests(c);
		} else {
			send_cmd(c, "HELO %s", helo_sent(c));
			set_state(c, CS_HELO);
		}
		return CL_CONTINUE;
	case CS_HELO:
		if (r->code == 421)
			return lost(c, "421 after HELO");
		if (r->code != 250) {
			txt = reply_text(r);
			char m[REPLY_TEXT_MAX + 32];
			snprintf(m, sizeof(m), "EHLO and HELO refused: %d %s", r->code,
			         txt ? txt : "");
			free(txt);
			finish(c, END_ERROR, m);
			return CL_DONE;
		}
		c->esmtp = 0;
		c->pipelining = 0;
		return begin_tests(c);
	case CS_TESTHELO:
		if (r->code == 421)
			return lost(c, "421 after EHLO");
		/* a new EHLO's reply says again what may be pipelined */
		if (c->esmtp)
			set_offers(c, r);
		send_mail(c, NULL);
		return CL_CONTINUE;
	case CS_MAIL:
	case CS_RCPT:
	case CS_DATA:
	case CS_BODY: {
		enum stage st = c->state == CS_MAIL   ? ST_MAIL
		                : c->state == CS_RCPT ? ST_RCPT
		                : c->state == CS_DATA ? ST_DATA
		                                      : ST_END;
		keep(c, tr, st, r, txtbuf);
		if (st == ST_END &&
		    tr->via == VIA_SMUGGLE) { /* whatever comes next: a new session */
			tr->outcome = reply_outcome(r->code, txtbuf);
			if (tr->outcome == OUT_ACCEPTED && r->code != 250)
				tr->outcome = OUT_REJECTED; /* an odd 2xx/3xx: not a yes */
			if (tr->outcome == OUT_ACCEPTED)
				tr->accepted_at = c->now;
			c->fresh_needed = 1;
			send_quit(c);
			return CL_CONTINUE;
		}
		int ok = st == ST_DATA   ? r->code == 354
		         : st == ST_RCPT ? r->code == 250 || r->code == 251
		                         : r->code == 250;
		if (!ok) {
			tr->outcome = reply_outcome(r->code, txtbuf);
			if (tr->outcome == OUT_ACCEPTED) /* an odd 2xx/3xx: not a yes */
				tr->outcome = OUT_REJECTED;
			if (r->code == 421) { /* closing the connection: not a relay answer */
				tr->outcome = OUT_ERROR;
				return lost(c, "421");
			}
			/* "530 Must issue a STARTTLS command first" where none was announced asks
			 * for TLS, not for AUTH */
			int wants_tls = r->code == 530 && strcasestr(txtbuf, "STARTTLS");
			c->saw_530 |= tr->outcome == OUT_AUTH && !wants_tls;
			if (wants_tls && st <= ST_RCPT && want_starttls(c))
				c->tls_530 = 1;
			if (st == ST_MAIL && (tr->outcome == OUT_AUTH || ++c->mail_refused >= 2))
				c->lockstep = 1;
			if (st == ST_MAIL && c->rcpt_queued)
				set_state(c, CS_RCPT_SKIP);
			else
				end_test(c);
			return CL_CONTINUE;
		}
		if (st == ST_MAIL) {
			c->mail_refused = 0;
			if (!c->rcpt_queued) {
				struct test_args a;
				expand_args(c, c->cur, &a);
				send_cmd(c, "RCPT TO:%s", a.rcpt);
			}
			c->rcpt_queued = 0;
			set_state(c, CS_RCPT);
		} else if (st == ST_RCPT) {
			send_cmd(c, "DATA", NULL);
			set_state(c, CS_DATA);
		} else if (st == ST_DATA) {
			send_message(c);
		} else {
			tr->outcome = OUT_ACCEPTED;
			tr->accepted_at = c->now;
			if (c->p.first_hit) {
				c->cur = c->nt;
				send_quit(c);
			} else {
				end_test(c);
			}
		}
		return CL_CONTINUE;
	}
	case CS_RCPT_SKIP: /* MAIL was refused; this answers the RCPT sent with it */
		if (r->code == 421)
			return lost(c, "421");
		c->rcpt_queued = 0;
		end_test(c);
		return CL_CONTINUE;
	case CS_RSET:
		if (r->code == 421)
			return lost(c, "421 after RSET");
		if (c->next_queued) { /* the next test's MAIL and RCPT are on their way */
			c->next_queued = 0;
			c->cur++;
			set_state(c, CS_MAIL);
			c->rcpt_queued = 1;
		} else {
			next_test(c);
		}
		return CL_CONTINUE;
	case CS_QUIT:
		if (r->code != 221 && tr && tr->via == VIA_SMUGGLE && c->inner_stage < 4 &&
		    c->cur + 1 < c->nt)
			return inner_reply(c, &c->t[c->cur + 1], r);
		return quit_done(c);
	case CS_STARTTLS:
		if (r->code == 421)
			return lost(c, "421 after STARTTLS");
		if (tr && tr->via == VIA_STARTTLS && !c->tls_530)
			keep(c, tr, ST_PATH, r, txtbuf);
		if (r->code == 220) {
			if (c->tls_530) /* the test that met the 530 runs again over TLS */
				reset_test(c, c->cur);
			c->tls_530 = 0;
			set_state(c, CS_TLS);
			return CL_STARTTLS;
		}
		c->starttls_off = 1; /* refused: the tests run in the clear */
		if (c->tls_530 || (tr && tr->via == VIA_STARTTLS)) {
			c->tls_530 = 0;
			if (tr && tr->via == VIA_STARTTLS)
				path_refused(tr, r);
			c->cur++;
			start_test(c);
			return CL_CONTINUE;
		}
		return begin_tests(c);
	case CS_AUTH:
	case CS_AUTH_USER:
	case CS_AUTH_PASS:
		return on_auth_reply(c, tr, r);
	case CS_XCLIENT:
		if (r->code == 421)
			return lost(c, "421 after XCLIENT");
		keep(c, tr, ST_PATH, r, txtbuf);
		if (r->code != 220) {
			path_refused(tr, r);
			next_test(c);
			return CL_CONTINUE;
		}
		/* a new session as the address given: EHLO again, then the test */
		c->path_done = c->fresh_needed = 1;
		struct test_args a;
		expand_args(c, c->cur, &a);
		set_helo(c, test_helo(c, &a));
		send_cmd(c, c->esmtp ? "EHLO %s" : "HELO %s", helo_sent(c));
		set_state(c, CS_TESTHELO);
		return CL_CONTINUE;
	case CS_TLS:  /* the engine takes no reply while the handshake runs */
	case CS_NAME: /* nothing was sent: client_input does not get here */
	case CS_DONE: /* nor here */
	case CS_COUNT:
		break;
	}
	return CL_CONTINUE;
}

/* What ended a session that did not reach its QUIT reply. */
enum ending {
	ENDING_GARBAGE, /* what came was not an SMTP reply */
	ENDING_CLOSED,  /* the peer closed or reset the connection */
	ENDING_TIMEOUT, /* no reply in time */
	ENDING_CONNECT, /* a connection could not be made */
	ENDING_ABORT,   /* the engine ended it (host timeout, interrupt) */
};

/* How the session ended, the one place that decides it: after QUIT was sent anything is the
 * normal end; with no connection ever made the host is unreachable; on the first connection,
 * before any greeting, garbage or silence means no SMTP server (a close after some bytes is an
 * error); everything else is an error (finish() keeps a verdict from tests already decided). */
static enum session_end ended_as(const struct client *c, enum ending e)
{
	if (c->state == CS_QUIT)
		return END_TESTS;
	if (c->connects == 0)
		return END_UNREACHABLE;
	if (e != ENDING_CONNECT && e != ENDING_ABORT && c->state == CS_GREETING &&
	    c->connects == 1 && !c->greeted && (e == ENDING_GARBAGE || !c->got_bytes))
		return END_NOT_SMTP;
	return END_ERROR;
}

static enum client_status protocol_error(struct client *c, const char *what)
{
	char m[128];
	snprintf(m, sizeof(m), "%s while waiting for %s reply", what, state_cmd[c->state]);
	enum session_end end = ended_as(c, ENDING_GARBAGE);
	finish(c, end, end == END_TESTS ? NULL : m);
	return CL_DONE;
}

static int looks_like_reply_start(const char *p, size_t n)
{
	for (size_t i = 0; i < n && i < 4; i++) {
		char ch = p[i];
		if (i == 0 && (ch < '1' || ch > '5'))
			return 0;
		if (i > 0 && i < 3 && !isdigit((unsigned char)ch))
			return 0;
		if (i == 3 && ch != ' ' && ch != '-' && ch != '\r' && ch != '\n')
			return 0;
	}
	return 1;
}

enum client_status client_input(struct client *c, struct buf *in, double now)
{
	c->now = now;
	if (c->state == CS_DONE)
		return CL_DONE;
	if (buf_len(in))
		c->got_bytes = 1;
	while (buf_len(in)) {
		const char *p = buf_head(in);
		size_t n = buf_len(in);
		if (c->state == CS_NAME)
			return protocol_error(c, "reply before the command was sent");
		if (!looks_like_reply_start(p, n))
			return protocol_error(c, "not an SMTP reply");
		struct smtp_reply *r = malloc(sizeof(*r));
		if (!r) {
			finish(c, END_ERROR, "out of memory");
			return CL_DONE;
		}
		enum smtp_reply_status st =
		    smtp_reply_parse(p, n, c->p.max_line, c->p.max_lines, r);
		if (st == REPLY_NEED) {
			free(r);
			if (n >= in->max)
				return protocol_error(c, "reply larger than the read buffer");
			return CL_CONTINUE;
		}
		if (st != REPLY_OK) {
			free(r);
			char m[64];
			snprintf(m, sizeof(m), "reply %s", smtp_reply_status_names[st]);
			return protocol_error(c, m);
		}
		if (c->p.transcript)
			note_reply(c, p, r->bytes);
		if (c->pending > 0)
			c->pending--;
		if (c->pending == 0) /* every reply owed is in: one round trip */
			c->round_trips++;
		/* bytes beyond this reply while no other command awaits one */
		int unsolicited = r->bytes < n && c->pending == 0 && c->state != CS_QUIT;
		enum client_status cs = on_reply(c, r);
		buf_consume(in, r->bytes);
		free(r);
		if (unsolicited && (cs == CL_CONTINUE || cs == CL_NAME))
			return protocol_error(c, "reply before the command was sent");
		if (cs == CL_CONTINUE && c->state == CS_QUIT && !quit_waits(c))
			return quit_done(c);
		if (cs != CL_CONTINUE)
			return cs;
	}
	return CL_CONTINUE;
}

enum client_status client_closed(struct client *c, const char *why)
{
	if (c->state == CS_DONE)
		return CL_DONE;
	char m[200];
	snprintf(m, sizeof(m), "%s while waiting for %s reply", why, state_cmd[c->state]);
	if (c->state == CS_QUIT && c->fresh_needed)
		return quit_done(c);
	if (c->state == CS_QUIT || (c->state == CS_GREETING && c->connects == 1)) {
		enum session_end end = ended_as(c, ENDING_CLOSED);
		finish(c, end, end == END_TESTS ? NULL : m);
		return CL_DONE;
	}
	return lost(c, m); /* a 421 or a drop mid-host: reconnect and go on */
}

enum client_status client_connect_failed(struct client *c, const char *why)
{
	char m[200];
	snprintf(m, sizeof(m), "%s%s", c->connects ? "reconnect failed: " : "", why);
	finish(c, ended_as(c, ENDING_CONNECT), m);
	return CL_DONE;
}

enum client_status client_timeout(struct client *c, double seconds)
{
	if (c->state == CS_DONE)
		return CL_DONE;
	char m[128];
	if (c->state == CS_TLS) { /* a handshake that never came: as one that failed */
		snprintf(m, sizeof(m), "no TLS handshake within %g s", seconds);
		return client_tls_failed(c, m);
	}
	snprintf(m, sizeof(m), "no %s reply within %g s", state_cmd[c->state], seconds);
	enum session_end end = ended_as(c, ENDING_TIMEOUT);
	if (end == END_ERROR)
		test_broken(c);
	finish(c, end, end == END_TESTS ? NULL : m);
	return CL_DONE;
}

enum client_status client_named(struct client *c, const char *name, double now)
{
	if (c->state != CS_NAME)
		return c->state == CS_DONE ? CL_DONE : CL_CONTINUE;
	c->now = now;
	int named = name && name_host(c, name);
	if (named)
		c->host_from = "ptr";
	char m[300];
	int n = snprintf(m, sizeof(m), "(PTR: %s)", named ? client_host(c) : "no usable name");
	note(c, "- ", m, (size_t)n);
	start_test(c);
	return c->state == CS_QUIT ? quit_done(c) : CL_CONTINUE;
}

enum client_status client_tls_up(struct client *c, const struct io_tls_info *ti, double now)
{
	c->now = now;
	/* kept apart: few sessions reach TLS, and the certificate's fields are large */
	if (!c->tls && !(c->tls = malloc(sizeof(*c->tls))))
		return client_tls_failed(c, "out of memory");
	*c->tls = *ti;
	char m[128];
	int n = snprintf(m, sizeof(m), "(TLS: %s %s)", ti->version, ti->cipher);
	note(c, "- ", m, (size_t)n);
	if (c->state != CS_TLS) /* implicit TLS: the greeting comes next */
		return CL_CONTINUE;
	/* RFC 3207 4.2: everything learnt before is forgotten; EHLO again */
	c->transport = "starttls";
	c->pipelining = 0;
	send_cmd(c, "EHLO %s", helo_sent(c));
	set_state(c, CS_EHLO);
	return CL_CONTINUE;
}

enum client_status client_tls_failed(struct client *c, const char *why)
{
	if (c->state == CS_DONE)
		return CL_DONE;
	char m[240];
	snprintf(m, sizeof(m), "%s; again without STARTTLS", why);
	c->starttls_off = 1;
	if (c->cur < c->nt && c->t[c->cur].via == VIA_STARTTLS)
		c->t[c->cur].outcome = OUT_ERROR;
	return lost(c, m);
}

void client_abort(struct client *c, const char *why)
{
	if (c->state == CS_DONE)
		return;
	test_broken(c);
	c->aborted = 1;
	finish(c, ended_as(c, ENDING_ABORT), why);
}

/* The first smuggling test, or -1 when the phase may not start (not after a session that
 * broke, the host timeout or an interrupt, nor with --first-hit, nor twice). */
static int first_smuggle(const struct client *c)
{
	if (c->state != CS_DONE || c->smuggle_phase || c->end != END_TESTS || c->p.first_hit ||
	    c->aborted)
		return -1;
	for (int j = 0; j < c->nt; j++)
		if (c->t[j].via == VIA_SMUGGLE)
			return j;
	return -1;
}

int client_can_smuggle(const struct client *c)
{
	return first_smuggle(c) >= 0;
}

enum client_status client_smuggle(struct client *c)
{
	int j = first_smuggle(c);
	if (j < 0)
		return CL_DONE;
	c->smuggle_phase = 1;
	c->cur = j;
	c->planned++;
	static const char why[] = "(the host relayed: the smuggling tests)";
	note(c, "- ", why, sizeof(why) - 1);
	set_state(c, CS_GREETING);
	return CL_RECONNECT;
}
