/* The prober's SMTP client state machine, driven by scripted server replies (whole and byte by
 * byte), without sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "message.h"

static struct catalog cat;
static const uint8_t key[32] = {1, 2, 3};

/* A kept test's parts as the results file shows them (computed again, outcome.h). */
struct targs {
	struct test_args a;
	char text[REPLY_TEXT_MAX + 2 * CATALOG_FIELD];
};
static struct targs ta[4]; /* a few at once in one assertion */
static int tai;
static struct targs *slot_of(const struct client *c, int i)
{
	struct targs *t = &ta[tai++ % 4];
	client_test_args(c, i, &t->a);
	return t;
}
static const struct test_args *args_of(const struct client *c, int i)
{
	return &slot_of(c, i)->a;
}
static const char *token_of(const struct client *c, int i)
{
	return args_of(c, i)->token;
}
static const char *text_of(const struct client *c, int i, enum stage s)
{
	struct targs *t = slot_of(c, i);
	client_reply_text(c, i, s, t->a.rcpt, t->a.token, t->text, sizeof(t->text));
	return t->text;
}

static void params(struct client_params *p)
{
	char err[256];
	memset(p, 0, sizeof(*p));
	cat.n = 0;
	assert_int_equal(
	    catalog_parse(&cat,
	                  "plain <{sender}@{sink}> <{user}@{sink}>\n"
	                  "percent <{sender}@{target_host}> <{user}%{sink}>\n"
	                  "helo-trick <{sender}@{sink}> <{user}@{sink}> helo=[1.2.3.4]\n",
	                  "t", err, sizeof(err)),
	    0);
	p->cat = &cat;
	p->key = key;
	p->keylen = sizeof(key);
	p->scan_id = 0x01020304;
	ipaddr_parse("192.0.2.25", &p->target);
	p->port = 25;
	p->helo = "prober.test";
	p->sender = "relaytest";
	p->contact = "noc@example.net";
	p->sink_domain = "sink.test";
	p->message_tmpl = message_default_text;
	p->date = "Sat, 21 Nov 2026 10:00:00 +0000";
	p->max_reconnects = 2;
	p->max_line = 2048;
	p->max_lines = 128;
}

/* A client for the catalogue above, connected from 0.0.0.0, waiting for the greeting. */
static void start(struct client *c, struct client_params *p)
{
	static const struct ipaddr local = {0};
	params(p);
	assert_int_equal(client_init(c, p), 0);
	client_connected(c, &local, 0);
}

/* Feeds replies one by one, answering whatever the client sent; the commands' verbs are
 * logged ("MSG" for message data). Stops at the first status other than CONTINUE. */
static enum client_status drive(struct client *c, const char *const *replies, int n, int bytewise,
                                char *log, size_t loglen, int *used)
{
	struct buf in;
	buf_init(&in, 64 * 1024);
	log[0] = '\0';
	enum client_status st = CL_CONTINUE;
	int i;
	for (i = 0; i < n && st == CL_CONTINUE; i++) {
		const char *r = replies[i];
		size_t len = strlen(r);
		if (bytewise) {
			for (size_t k = 0; k < len && st == CL_CONTINUE; k++) {
				buf_append(&in, r + k, 1);
				st = client_input(c, &in, 1.0 + i);
				if (k + 1 < len)
					assert_int_equal(buf_len(&c->out),
					                 0); /* nothing before a reply */
			}
		} else {
			buf_append(&in, r, len);
			st = client_input(c, &in, 1.0 + i);
		}
		const char *o = buf_head(&c->out);
		size_t ol = buf_len(&c->out);
		if (ol) {
			/* one entry per write: its commands' verbs joined by '+' */
			char batch[128] = "";
			if (ol > 20 && memmem(o, ol, "\r\n.\r\n", 5)) {
				snprintf(batch, sizeof(batch), "MSG");
			} else {
				for (size_t at = 0; at < ol;) {
					size_t v = at;
					while (v < ol && v - at < 15 && o[v] != ' ' && o[v] != '\r')
						v++;
					if (batch[0])
						strncat(batch, "+",
						        sizeof(batch) - strlen(batch) - 1);
					strncat(batch, o + at, v - at);
					const char *nl = memchr(o + at, '\n', ol - at);
					at = nl ? (size_t)(nl - o) + 1 : ol;
				}
			}
			if (log[0])
				strncat(log, "|", loglen - strlen(log) - 1);
			strncat(log, batch, loglen - strlen(log) - 1);
			buf_consume(&c->out, ol);
		}
	}
	if (used)
		*used = i;
	buf_free(&in);
	return st;
}

static const char *const open_script[] = {
    "220 mx.example.net ESMTP Postfix (Debian/GNU)\r\n",
    "250-mx.example.net Hello prober.test [198.51.100.7]\r\n250-PIPELINING\r\n250-SIZE "
    "10240000\r\n250 8BITMIME\r\n",
    "250 2.1.0 Ok\r\n",
    "250 2.1.5 Ok\r\n",
    "354 End data with <CR><LF>.<CR><LF>\r\n",
    "250 2.0.0 Ok: queued as 1\r\n",
    "250 2.0.0 Ok\r\n", /* RSET */
    "250 2.1.0 Ok\r\n",
    "251 2.1.5 will forward\r\n",
    "354 go\r\n",
    "250 queued\r\n",
    "250 Ok\r\n",                             /* RSET */
    "250-mx.example.net\r\n250 8BITMIME\r\n", /* EHLO [1.2.3.4] for helo-trick */
    "250 Ok\r\n",
    "550 5.7.1 Relay access denied\r\n", /* helo-trick rejected */
};
/* PIPELINING: MAIL+RCPT in one write, RSET with the next test's MAIL+RCPT; not across the
 * helo-trick's EHLO, whose reply does not announce PIPELINING (so lockstep after it). */
#define OPEN_LOG "EHLO|MAIL+RCPT|DATA|MSG|RSET+MAIL+RCPT|DATA|MSG|RSET|EHLO|MAIL|RCPT|QUIT"

static void check_open(int bytewise)
{
	struct client_params p;
	struct client c;
	struct ipaddr local;
	char log[512];
	params(&p);
	ipaddr_parse("10.0.0.9", &local);
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	int n = (int)(sizeof(open_script) / sizeof(open_script[0]));
	assert_int_equal(drive(&c, open_script, n, bytewise, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, OPEN_LOG);
	/* the last test's refusal ends the session: QUIT, not RSET, and its 221 not waited for */
	assert_int_equal(c.state, CS_DONE);
	assert_int_equal(c.round_trips, 12); /* the greeting and every '|' but the QUIT */
	assert_int_equal(c.end, END_TESTS);
	assert_int_equal(c.t[0].outcome, OUT_ACCEPTED);
	assert_int_equal(c.t[1].outcome, OUT_ACCEPTED); /* 251 counts */
	assert_int_equal(c.t[2].outcome, OUT_REJECTED);
	assert_int_equal(c.t[2].code[ST_RCPT], 550);
	assert_string_equal(text_of(&c, 2, ST_RCPT), "5.7.1 Relay access denied");
	assert_int_equal(c.t[2].code[ST_DATA], 0); /* no DATA after a refused RCPT */
	assert_string_equal(args_of(&c, 2)->helo, "[1.2.3.4]");
	assert_string_equal(client_host(&c), "mx.example.net");
	assert_int_equal(c.esmtp, 1);
	assert_int_equal(c.n_ext, 3);
	assert_string_equal(c.ehlo_ext, "PIPELINING\nSIZE 10240000\n8BITMIME\n");
	char a[64];
	assert_string_equal(ipaddr_str(&c.ehlo_reported, a, sizeof(a)), "198.51.100.7");
	/* the token names target, port and test; the recipient carries it */
	struct token_fields f;
	assert_int_equal(
	    token_decode(key, sizeof(key), token_of(&c, 1), strlen(token_of(&c, 1)), &f),
	    TOKEN_VALID);
	assert_int_equal(f.test, 1);
	assert_int_equal(f.port, 25);
	assert_int_equal(f.scan_id, 0x01020304);
	char want[128];
	snprintf(want, sizeof(want), "<rt-%s%%sink.test>", token_of(&c, 1));
	assert_string_equal(args_of(&c, 1)->rcpt, want);
	assert_string_equal(args_of(&c, 1)->mail, "<relaytest@mx.example.net>");
	client_free(&c);
}

static void test_open_whole(void **st)
{
	(void)st;
	check_open(0);
}

static void test_open_bytewise(void **st)
{
	(void)st;
	check_open(1);
}

static void test_helo_fallback_and_refusals(void **st)
{
	(void)st;
	struct client_params p;
	struct client c;
	struct ipaddr local = {0};
	char log[512];
	params(&p);
	catalog_select(&cat, "plain,percent", log, sizeof(log));
	const char *const script[] = {
	    "220 old.example.org SMTP\r\n",
	    "502 5.5.2 Error: command not recognized\r\n", /* EHLO */
	    "250 old.example.org\r\n",                     /* HELO */
	    "250 ok\r\n",
	    "450 4.7.1 Greylisted\r\n",
	    "250 ok\r\n", /* RSET */
	    "530 5.7.0 Authentication required\r\n",
	};
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	assert_int_equal(drive(&c, script, 7, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|HELO|MAIL|RCPT|RSET|MAIL|QUIT");
	assert_int_equal(c.esmtp, 0);
	assert_int_equal(c.t[0].outcome, OUT_DEFERRED);
	assert_int_equal(c.t[1].outcome, OUT_AUTH);
	assert_int_equal(c.t[1].code[ST_MAIL], 530);
	client_free(&c);
}

static void test_421_reconnects_then_gives_up(void **st)
{
	(void)st;
	struct client_params p;
	struct client c;
	struct ipaddr local = {0};
	char log[512];
	start(&c, &p);
	const char *const s1[] = {"220 a.example ESMTP\r\n", "250 a.example\r\n", "250 ok\r\n",
	                          "421 4.7.0 too many errors\r\n"};
	assert_int_equal(drive(&c, s1, 4, 0, log, sizeof(log), NULL), CL_RECONNECT);
	assert_int_equal(c.t[0].outcome, OUT_ERROR); /* 421 to RCPT: not a relay answer */
	client_connected(&c, &local, 5);
	const char *const s2[] = {"220 a.example ESMTP\r\n", "250 a.example\r\n", "250 ok\r\n"};
	assert_int_equal(drive(&c, s2, 3, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL|RCPT"); /* carries on with test 1 */
	assert_int_equal(client_closed(&c, "connection closed by peer"), CL_RECONNECT);
	assert_int_equal(c.t[1].outcome, OUT_ERROR);
	client_connected(&c, &local, 9);
	const char *const s3[] = {"421 4.3.2 shutting down\r\n"};
	assert_int_equal(drive(&c, s3, 1, 0, log, sizeof(log), NULL), CL_DONE);
	assert_int_equal(c.connects, 3);
	/* no test was decided: the host ends in error */
	assert_int_equal(c.end, END_ERROR);
	assert_non_null(strstr(c.reason, "gave up after 2 reconnects"));
	client_free(&c);
}

static void end_after_modes(const char *const *script, int n, enum session_end want,
                            const char *reason, int modes)
{
	struct client_params p;
	struct client c;
	struct ipaddr local = {0};
	char log[512];
	for (int bytewise = 0; bytewise < modes; bytewise++) {
		params(&p);
		assert_int_equal(client_init(&c, &p), 0);
		client_connected(&c, &local, 0);
		assert_int_equal(drive(&c, script, n, bytewise, log, sizeof(log), NULL), CL_DONE);
		assert_int_equal(c.end, want);
		if (!strstr(c.reason, reason))
			fail_msg("reason '%s' lacks '%s'", c.reason, reason);
		client_free(&c);
	}
}

static void end_after(const char *const *script, int n, enum session_end want, const char *reason)
{
	end_after_modes(script, n, want, reason, 2);
}

static void test_session_ends(void **st)
{
	(void)st;
	const char *const refused[] = {"554 5.7.1 go away\r\n"};
	end_after(refused, 1, END_REFUSED, "greeting 554 5.7.1 go away");
	const char *const ssh[] = {"SSH-2.0-OpenSSH_9.2\r\n"};
	end_after(ssh, 1, END_NOT_SMTP, "not an SMTP reply");
	const char *const early[] = {"220 hi\r\n250 surprise\r\n"};
	/* only visible when both arrive together; byte by byte the 250 answers EHLO */
	end_after_modes(early, 1, END_ERROR, "reply before the command was sent", 1);
	const char *const garbage[] = {"220 hi\r\n", "\x01\x02\xff garbage\r\n"};
	end_after(garbage, 2, END_ERROR, "not an SMTP reply while waiting for EHLO reply");
	const char *const mixed[] = {"220 hi\r\n", "250-a\r\n251 b\r\n"};
	end_after(mixed, 2, END_ERROR, "reply mixed-codes");
	static char endless[200 * 8 + 1];
	for (int i = 0; i < 200; i++)
		memcpy(endless + i * 8, "250-xx\r\n", 8);
	const char *const cont[] = {"220 hi\r\n", endless};
	end_after(cont, 2, END_ERROR, "reply too-many-lines");
}

static void test_long_line(void **st)
{
	(void)st;
	char *big = malloc(5000);
	memcpy(big, "220 ", 4);
	memset(big + 4, 'x', 4995);
	big[4999] = '\0';
	const char *const s[] = {big};
	end_after(s, 1, END_NOT_SMTP, "reply line-too-long");
	free(big);
}

static void test_timeouts_and_closes(void **st)
{
	(void)st;
	struct client_params p;
	struct client c;
	struct ipaddr local = {0};
	params(&p);
	client_init(&c, &p);
	assert_int_equal(client_connect_failed(&c, "connect: Connection refused"), CL_DONE);
	assert_int_equal(c.end, END_UNREACHABLE);
	client_free(&c);

	client_init(&c, &p);
	client_connected(&c, &local, 0);
	assert_int_equal(client_timeout(&c, 30), CL_DONE);
	assert_int_equal(c.end, END_NOT_SMTP);
	assert_string_equal(c.reason, "no greeting reply within 30 s");
	client_free(&c);

	client_init(&c, &p);
	client_connected(&c, &local, 0);
	assert_int_equal(client_closed(&c, "connection closed by peer"), CL_DONE);
	assert_int_equal(c.end, END_NOT_SMTP);
	client_free(&c);
}

/* A PIPELINING server answering each write in one chunk: MAIL+RCPT, then RSET with the next
 * test's MAIL+RCPT; a refused MAIL's pipelined RCPT answer is skipped, not kept (one refused
 * odd sender does not stop pipelining); the helo-trick's EHLO is never pipelined behind an
 * RSET. */
static const char *const pipe_script[] = {
    "220 mx.example.net ESMTP\r\n",
    "250-mx.example.net\r\n250 PIPELINING\r\n",
    "250 2.1.0 Ok\r\n554 5.7.1 Relay access denied\r\n",
    "250 2.0.0 Ok\r\n553 5.1.8 sender refused\r\n503 5.5.1 need MAIL command\r\n",
    "250 2.0.0 Ok\r\n",
    "250-mx.example.net\r\n250 PIPELINING\r\n",
    "250 2.1.0 Ok\r\n",
    "421 4.7.0 closing\r\n",
};

static void check_pipelined(int bytewise)
{
	struct client_params p;
	struct client c;
	char log[512];
	start(&c, &p);
	int n = (int)(sizeof(pipe_script) / sizeof(pipe_script[0]));
	assert_int_equal(drive(&c, pipe_script, n, bytewise, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|MAIL+RCPT|RSET+MAIL+RCPT|RSET|EHLO|MAIL+RCPT");
	assert_int_equal(c.t[0].outcome, OUT_REJECTED);
	assert_int_equal(c.t[0].code[ST_RCPT], 554);
	assert_int_equal(c.t[1].outcome, OUT_REJECTED);
	assert_int_equal(c.t[1].code[ST_MAIL], 553);
	assert_int_equal(c.t[1].code[ST_RCPT], 0);   /* the 503 answers our pipelining only */
	assert_int_equal(c.t[2].outcome, OUT_ERROR); /* 421 instead of a RCPT answer */
	assert_int_equal(c.end, END_TESTS);
	assert_int_equal(c.pending, 0);
	client_free(&c);
}

static void test_pipelined_whole(void **st)
{
	(void)st;
	check_pipelined(0);
}

static void test_pipelined_bytewise(void **st)
{
	(void)st;
	check_pipelined(1);
}

/* A server that wants TLS or AUTH first refuses every MAIL, and would answer each pipelined
 * RCPT (and RSET) with one more error from its budget: lockstep after the first such refusal,
 * and after two MAIL refusals in a row whatever they say. */
static void test_pipelining_stops(void **st)
{
	(void)st;
	struct client_params p;
	struct client c;
	char log[512];
	start(&c, &p);
	const char *const s1[] = {"220 mx ESMTP\r\n", "250-mx\r\n250 PIPELINING\r\n",
	                          "530 5.7.0 Must issue a STARTTLS command first\r\n"
	                          "530 5.7.0 Must issue a STARTTLS command first\r\n",
	                          "530 5.7.0 Must issue a STARTTLS command first\r\n"};
	assert_int_equal(drive(&c, s1, 4, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL+RCPT|RSET|MAIL");
	assert_int_equal(c.t[0].outcome, OUT_AUTH);
	client_free(&c);

	start(&c, &p);
	const char *const s2[] = {"220 mx ESMTP\r\n", "250-mx\r\n250 PIPELINING\r\n",
	                          "550 no\r\n503 need MAIL\r\n",
	                          "250 reset\r\n550 no\r\n503 need MAIL\r\n", "250 reset\r\n"};
	assert_int_equal(drive(&c, s2, 5, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL+RCPT|RSET+MAIL+RCPT|RSET|EHLO");
	assert_int_equal(c.lockstep, 1);
	client_free(&c);
}

/* A 421 to the RSET that carried the next test's MAIL+RCPT: that test was not answered, so
 * the reconnection starts with it. An extra reply nobody asked for is still caught. */
static void test_pipelined_421_and_unsolicited(void **st)
{
	(void)st;
	struct client_params p;
	struct client c;
	struct ipaddr local = {0};
	char log[512];
	start(&c, &p);
	const char *const s1[] = {"220 mx ESMTP\r\n", "250-mx\r\n250 PIPELINING\r\n",
	                          "250 Ok\r\n554 no\r\n", "421 4.7.0 bye\r\n"};
	assert_int_equal(drive(&c, s1, 4, 0, log, sizeof(log), NULL), CL_RECONNECT);
	assert_string_equal(log, "EHLO|MAIL+RCPT|RSET+MAIL+RCPT");
	assert_int_equal(c.cur, 1);
	assert_int_equal(c.t[1].outcome, OUT_NOTRUN);
	client_connected(&c, &local, 1);
	const char *const s2[] = {"220 mx ESMTP\r\n", "250-mx\r\n250 PIPELINING\r\n"};
	assert_int_equal(drive(&c, s2, 2, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL+RCPT");
	assert_int_equal(c.cur, 1);
	const char *const s3[] = {"250 Ok\r\n554 no\r\n250 extra\r\n"};
	assert_int_equal(drive(&c, s3, 1, 0, log, sizeof(log), NULL), CL_DONE);
	assert_int_equal(c.end, END_TESTS); /* tests were decided before the protocol error */
	assert_non_null(strstr(c.reason, "reply before the command was sent"));
	client_free(&c);
}

static void test_first_hit(void **st)
{
	(void)st;
	struct client_params p;
	struct client c;
	struct ipaddr local = {0};
	char log[512];
	params(&p);
	p.first_hit = 1;
	client_init(&c, &p);
	client_connected(&c, &local, 0);
	assert_int_equal(drive(&c, open_script, 6, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|MAIL+RCPT|DATA|MSG|QUIT");
	assert_int_equal(c.end, END_TESTS);
	assert_int_equal(c.t[1].outcome, OUT_NOTRUN);
	client_free(&c);
}

static void test_message_sent(void **st)
{
	(void)st;
	struct client_params p;
	struct client c;
	struct ipaddr local;
	params(&p);
	ipaddr_parse("10.0.0.9", &local);
	client_init(&c, &p);
	client_connected(&c, &local, 0);
	struct buf in;
	buf_init(&in, 4096);
	const char *s[] = {"220 mx.example.net ESMTP\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n",
	                   "354 go\r\n"};
	for (int i = 0; i < 5; i++) {
		buf_consume(&c.out, buf_len(&c.out));
		buf_append(&in, s[i], strlen(s[i]));
		assert_int_equal(client_input(&c, &in, 0), CL_CONTINUE);
	}
	char *msg = strndup(buf_head(&c.out), buf_len(&c.out));
	char want[200];
	snprintf(want, sizeof(want), "Subject: relaytrap relay test rt-%s\r\n", token_of(&c, 0));
	assert_non_null(strstr(msg, want));
	snprintf(want, sizeof(want), "X-Relaytrap-Token: %s\r\n", token_of(&c, 0));
	assert_non_null(strstr(msg, want));
	snprintf(want, sizeof(want), "Message-ID: <rt-%s@sink.test>\r\n", token_of(&c, 0));
	assert_non_null(strstr(msg, want));
	assert_non_null(strstr(msg, "from 10.0.0.9 for relaying"));
	assert_non_null(strstr(msg, "Scan contact: noc@example.net\r\n"));
	size_t n = strlen(msg);
	assert_true(n < 1024);
	assert_string_equal(msg + n - 5, "\r\n.\r\n");
	free(msg);
	buf_free(&in);
	client_free(&c);
}

/* A server that repeats each recipient in its refusal (Postfix: "554 5.7.1 <rcpt>: Relay
 * access denied") costs one kept text for all tests, and each reads back as it came. */
static void test_echoed_replies_kept_once(void **st)
{
	(void)st;
	struct client_params p;
	struct client c;
	char log[512], refusal[3][CATALOG_FIELD * 2 + 64];
	start(&c, &p);
	for (int i = 0; i < 3; i++)
		snprintf(refusal[i], sizeof(refusal[i]), "554 5.7.1 %s: Relay access denied\r\n",
		         args_of(&c, i)->rcpt);
	const char *const script[] = {
	    "220 mx.example.net ESMTP\r\n",
	    "250 mx.example.net\r\n",
	    "250 2.1.0 Ok\r\n",
	    refusal[0],
	    "250 2.0.0 Ok\r\n",
	    "250 2.1.0 Ok\r\n",
	    refusal[1],
	    "250 2.0.0 Ok\r\n",
	    "250 mx.example.net\r\n",
	    "250 2.1.0 Ok\r\n",
	    refusal[2],
	};
	assert_int_equal(drive(&c, script, 11, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|MAIL|RCPT|RSET|MAIL|RCPT|RSET|EHLO|MAIL|RCPT|QUIT");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c.t[i].outcome, OUT_REJECTED);
		assert_int_equal(c.t[i].code[ST_RCPT], 554);
		refusal[i][strlen(refusal[i]) - 2] = '\0';
		assert_string_equal(text_of(&c, i, ST_RCPT), refusal[i] + 4);
		assert_string_equal(text_of(&c, i, ST_MAIL), "2.1.0 Ok");
		assert_int_equal(c.t[i].text[ST_RCPT], c.t[0].text[ST_RCPT]);
	}
	static const char kept[] = "\0"
	                           "2.1.0 Ok\0"
	                           "5.7.1 \x01: Relay access denied";
	assert_int_equal(c.texts.len, sizeof(kept));
	assert_memory_equal(c.texts.b, kept, sizeof(kept));
	client_free(&c);
}

/* The arguments are computed again for the results, so the name they use is fixed once the
 * first test expanded: the EHLO of a later connection that names the host does not rename
 * it, and the test run on that connection says what the first one did. */
static void test_name_fixed_by_the_first_test(void **st)
{
	(void)st;
	struct client_params p;
	struct client c;
	struct ipaddr local = {0};
	char log[512];
	start(&c, &p);
	const char *const s1[] = {"220 ESMTP\r\n", "250 ok\r\n", "250 2.1.0 Ok\r\n",
	                          "554 5.7.1 no\r\n", "421 4.3.2 bye\r\n"};
	assert_int_equal(drive(&c, s1, 5, 0, log, sizeof(log), NULL), CL_RECONNECT);
	assert_string_equal(log, "EHLO|MAIL|RCPT|RSET");
	client_connected(&c, &local, 5);
	const char *const s2[] = {"220 ESMTP\r\n", "250 mx.later.example\r\n", "250 2.1.0 Ok\r\n"};
	assert_int_equal(drive(&c, s2, 3, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL|RCPT");
	assert_string_equal(client_host(&c), "");
	assert_null(c.host_from);
	assert_string_equal(args_of(&c, 1)->mail, "<relaytest@[192.0.2.25]>");
	client_free(&c);
}

static void test_helpers(void **st)
{
	(void)st;
	assert_int_equal(reply_outcome(550, "5.7.1 Relay access denied"), OUT_REJECTED);
	assert_int_equal(reply_outcome(554, "5.7.1 <x>: Relay access denied"), OUT_REJECTED);
	assert_int_equal(reply_outcome(450, "4.7.1 Greylisted"), OUT_DEFERRED);
	assert_int_equal(reply_outcome(530, "5.7.0 Must issue a STARTTLS command first"), OUT_AUTH);
	assert_int_equal(reply_outcome(550, "5.7.0 Authentication needed"), OUT_AUTH);
	assert_int_equal(reply_outcome(553, "5.7.1 <a@b>: Sender address rejected: not logged in"),
	                 OUT_AUTH);
	assert_int_equal(reply_outcome(451, "4.7.0 temporary failure"), OUT_DEFERRED);
	/* a refusal of syntax, by code or by enhanced status, says nothing of the policy */
	assert_true(reply_syntax_only(501, "Syntax error"));
	assert_true(reply_syntax_only(555, ""));
	assert_true(reply_syntax_only(553, "5.1.3 Bad recipient address syntax"));
	assert_true(reply_syntax_only(550, "5.5.2"));
	assert_false(reply_syntax_only(550, "5.5.21 not one"));
	assert_false(reply_syntax_only(554, "5.7.1 Relay access denied"));
	assert_false(reply_syntax_only(505, NULL));
	struct ipaddr ip;
	char a[64];
	assert_int_equal(reported_addr("mx Hello x [IPv6:2001:db8::7], pleased", &ip), 0);
	assert_string_equal(ipaddr_str(&ip, a, sizeof(a)), "2001:db8::7");
	assert_int_equal(reported_addr("mx Hello x (192.0.2.4)", &ip), 0);
	assert_string_equal(ipaddr_str(&ip, a, sizeof(a)), "192.0.2.4");
	assert_int_equal(reported_addr("mx Hello [not an address]", &ip), -1);
	char h[64];
	assert_int_equal(host_name_of("MX1.Example.NET ESMTP", h, sizeof(h)), 0);
	assert_string_equal(h, "mx1.example.net");
	assert_int_equal(host_name_of("localhost ESMTP", h, sizeof(h)), -1);
	assert_int_equal(host_name_of("<script>.x ESMTP", h, sizeof(h)), -1);
	assert_int_equal(host_name_of("192.0.2.1 ESMTP", h, sizeof(h)), -1); /* an address */
	assert_int_equal(host_name_of("mx.10", h, sizeof(h)), -1);
	assert_int_equal(host_name_of("mx.3com.example", h, sizeof(h)), 0);
	assert_int_equal(host_name_of("mx.example.", h, sizeof(h)), -1);
}

/* Greeting (two lines) and EHLO without a name: the client asks for the PTR name before any
 * test. tests: a catalogue selection, or NULL for all three. The transcript is kept. */
static void name_wanted(struct client *c, struct client_params *p, const char *tests)
{
	static const struct ipaddr local = {0};
	char log[256];
	params(p);
	if (tests)
		assert_int_equal(catalog_select(&cat, tests, log, sizeof(log)), 0);
	p->want_name = 1;
	p->transcript = 1;
	assert_int_equal(client_init(c, p), 0);
	client_connected(c, &local, 0);
	const char *const script[] = {"220-first\r\n220 ESMTP ready\r\n",
	                              "250-Hello prober.test\r\n250 PIPELINING\r\n"};
	assert_int_equal(drive(c, script, 2, 0, log, sizeof(log), NULL), CL_NAME);
	assert_string_equal(log, "EHLO");
	assert_int_equal(buf_len(&c->out), 0);
	assert_string_equal(client_host(c), "");
}

static void test_ptr_name(void **st)
{
	(void)st;
	struct client_params p;
	struct client c;
	/* the PTR name is {target_host} */
	name_wanted(&c, &p, "percent,helo-trick");
	assert_int_equal(client_named(&c, "Mail.PTR.example", 2), CL_CONTINUE);
	assert_string_equal(client_host(&c), "mail.ptr.example");
	assert_string_equal(c.host_from, "ptr");
	char want[256];
	snprintf(want, sizeof(want),
	         "MAIL FROM:<relaytest@mail.ptr.example>\r\nRCPT TO:<rt-%s%%sink.test>\r\n",
	         token_of(&c, 0));
	assert_int_equal(buf_len(&c.out), strlen(want));
	assert_memory_equal(buf_head(&c.out), want, strlen(want));
	/* asked once per host: after a reconnect the next test goes on at once */
	static const struct ipaddr local = {0};
	buf_consume(&c.out, buf_len(&c.out));
	assert_int_equal(client_closed(&c, "connection reset"), CL_RECONNECT);
	client_connected(&c, &local, 3);
	char log[256];
	const char *const again[] = {"220 ESMTP ready\r\n", "250 Hello\r\n"};
	assert_int_equal(drive(&c, again, 2, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|EHLO"); /* helo-trick announces itself as [1.2.3.4] */
	client_free(&c);

	/* no name, or an unusable one: the address literal */
	const char *const none[] = {NULL, "bad name!", "localhost", "192.0.2.25"};
	for (int i = 0; i < 4; i++) {
		name_wanted(&c, &p, "percent");
		assert_int_equal(client_named(&c, none[i], 2), CL_CONTINUE);
		assert_string_equal(client_host(&c), "");
		assert_null(c.host_from);
		const char *mail = "MAIL FROM:<relaytest@[192.0.2.25]>\r\n";
		assert_memory_equal(buf_head(&c.out), mail, strlen(mail));
		client_free(&c);
	}
	/* a reply while nothing was asked ends the host; so does one glued to the EHLO reply */
	name_wanted(&c, &p, NULL);
	struct buf in;
	buf_init(&in, 1024);
	buf_append(&in, "250 ok\r\n", 8);
	assert_int_equal(client_input(&c, &in, 2), CL_DONE);
	assert_int_equal(c.end, END_ERROR);
	assert_non_null(strstr(c.reason, "reply before the command was sent"));
	assert_int_equal(client_named(&c, "mx.example", 3), CL_DONE);
	client_free(&c);
	start(&c, &p);
	c.p.want_name = 1;
	buf_consume(&in, buf_len(&in));
	const char *glued = "220 ESMTP\r\n";
	buf_append(&in, glued, strlen(glued));
	assert_int_equal(client_input(&c, &in, 1), CL_CONTINUE);
	glued = "250 Hello\r\n250 surprise\r\n";
	buf_append(&in, glued, strlen(glued));
	assert_int_equal(client_input(&c, &in, 1), CL_DONE);
	assert_non_null(strstr(c.reason, "reply before the command was sent"));
	client_free(&c);
	/* the server hangs up during the lookup: reconnect, and no second lookup */
	name_wanted(&c, &p, NULL);
	assert_int_equal(client_closed(&c, "connection closed"), CL_RECONNECT);
	assert_int_equal(client_named(&c, "late.example", 4), CL_CONTINUE);
	assert_int_equal(buf_len(&c.out), 0); /* not waiting for it any more */
	client_connected(&c, &local, 5);
	assert_int_equal(drive(&c, again, 2, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL"); /* this EHLO reply announced no PIPELINING */
	buf_free(&in);
	client_free(&c);
	/* the transcript: a line per reply line, the lookup's answer between EHLO and MAIL */
	name_wanted(&c, &p, "percent");
	assert_int_equal(client_named(&c, "mx.example", 2), CL_CONTINUE);
	char script[512];
	snprintf(script, sizeof(script),
	         "< 220-first\n< 220 ESMTP ready\n> EHLO prober.test\n# greeting -> ehlo\n"
	         "< 250-Hello prober.test\n< 250 PIPELINING\n# ehlo -> name\n"
	         "- (PTR: mx.example)\n> MAIL FROM:<relaytest@mx.example>\n# name -> mail\n"
	         "> RCPT TO:<rt-%s%%sink.test>\n",
	         token_of(&c, 0));
	assert_int_equal(buf_len(&c.transcript), strlen(script));
	assert_memory_equal(buf_head(&c.transcript), script, strlen(script));
	client_free(&c);
	/* not wanted (--no-ptr): the literal at once */
	start(&c, &p);
	const char *const plain[] = {"220 ESMTP\r\n", "250 Hello\r\n"};
	assert_int_equal(drive(&c, plain, 2, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL");
	client_free(&c);
}

/* STARTTLS when offered (--starttls auto): 220 hands the connection to the engine
 * (CL_STARTTLS), the handshake's end (client_tls_up) brings EHLO again, and the tests run
 * with transport "starttls". A refused STARTTLS leaves the tests in the clear; a failed
 * handshake reconnects and does not try again. */
static int transcript_has(const struct client *c, const char *want);

static void test_starttls(void **st)
{
	(void)st;
	struct client c;
	struct client_params p;
	char log[256];
	const struct io_tls_info ti = {.version = "TLSv1.3", .cipher = "TLS_AES_128_GCM_SHA256"};
	static const struct ipaddr local = {0};
	params(&p);
	p.starttls = 1;
	p.transcript = 1;
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	const char *const hello[] = {"220 mx ESMTP\r\n",
	                             "250-mx\r\n250-STARTTLS\r\n250 PIPELINING\r\n",
	                             "220 2.0.0 Ready to start TLS\r\n"};
	assert_int_equal(drive(&c, hello, 3, 0, log, sizeof(log), NULL), CL_STARTTLS);
	assert_string_equal(log, "EHLO|STARTTLS");
	assert_int_equal(c.state, CS_TLS);
	assert_int_equal(client_tls_up(&c, &ti, 3), CL_CONTINUE);
	assert_int_equal(buf_len(&c.out), strlen("EHLO prober.test\r\n"));
	assert_memory_equal(buf_head(&c.out), "EHLO prober.test\r\n", buf_len(&c.out));
	buf_consume(&c.out, buf_len(&c.out));
	const char *const again[] = {"250-mx\r\n250-STARTTLS\r\n250 PIPELINING\r\n",
	                             "250 ok\r\n250 ok\r\n"};
	assert_int_equal(drive(&c, again, 2, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "MAIL+RCPT|DATA"); /* no second STARTTLS */
	assert_string_equal(transport_names[c.t[0].transport], "starttls");
	assert_string_equal(c.tls->version, "TLSv1.3");
	static const char want[] = "# starttls -> tls\n- (TLS: TLSv1.3 TLS_AES_128_GCM_SHA256)\n"
	                           "> EHLO prober.test\n# tls -> ehlo\n";
	assert_non_null(
	    memmem(buf_head(&c.transcript), buf_len(&c.transcript), want, sizeof(want) - 1));
	client_free(&c);
	/* refused: the tests in the clear */
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	const char *const refused[] = {"220 mx ESMTP\r\n", "250-mx\r\n250 STARTTLS\r\n",
	                               "454 4.7.0 TLS not available\r\n"};
	assert_int_equal(drive(&c, refused, 3, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|STARTTLS|MAIL");
	assert_string_equal(transport_names[c.t[0].transport], "plain");
	client_free(&c);
	/* a failed handshake: a new connection, in the clear, no STARTTLS */
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	assert_int_equal(drive(&c, hello, 3, 0, log, sizeof(log), NULL), CL_STARTTLS);
	assert_int_equal(client_tls_failed(&c, "TLS handshake: wrong version number"),
	                 CL_RECONNECT);
	client_connected(&c, &local, 1);
	const char *const plain[] = {"220 mx ESMTP\r\n", "250-mx\r\n250 STARTTLS\r\n"};
	assert_int_equal(drive(&c, plain, 2, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL");
	assert_string_equal(transport_names[c.t[0].transport], "plain");
	client_free(&c);
	/* no handshake before the reply timeout: the same as a failed one */
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	assert_int_equal(drive(&c, hello, 3, 0, log, sizeof(log), NULL), CL_STARTTLS);
	assert_int_equal(client_timeout(&c, 2), CL_RECONNECT);
	assert_int_equal(c.starttls_off, 1);
	assert_true(transcript_has(&c, "- no TLS handshake within 2 s; again without STARTTLS\n"));
	client_free(&c);
	/* --starttls never */
	p.starttls = 0;
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	assert_int_equal(drive(&c, plain, 2, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL");
	client_free(&c);
}

/* The client for a catalogue of its own, connected, transcript on. */
static void start_with(struct client *c, struct client_params *p, const char *catalogue)
{
	char err[256];
	static const struct ipaddr local = {0};
	params(p);
	assert_int_equal(catalog_parse(&cat, catalogue, "t", err, sizeof(err)), 0);
	p->transcript = 1;
	assert_int_equal(client_init(c, p), 0);
	client_connected(c, &local, 0);
}

static int transcript_has(const struct client *c, const char *want)
{
	return memmem(buf_head(&c->transcript), buf_len(&c->transcript), want, strlen(want)) !=
	       NULL;
}

static const char paths_catalogue[] = "plain <{sender}@{sink}> <{user}@{sink}>\n"
                                      "ap <{sender}@{sink}> <{user}@{sink}> via=auth-plain\n"
                                      "al <{sender}@{sink}> <{user}@{sink}> via=auth-login\n"
                                      "aa <{sender}@{sink}> <{user}@{sink}> via=auth-anonymous\n"
                                      "xl <{sender}@{sink}> <{user}@{sink}> via=xclient\n"
                                      "xo <{sender}@{sink}> <{user}@{sink}> via=xclient-own\n";

static void test_auth_paths(void **st)
{
	(void)st;
	struct client c;
	struct client_params p;
	char log[256];
	static const struct ipaddr local = {0};
	start_with(&c, &p, paths_catalogue);
	const char *const first[] = {
	    "220 mx ESMTP\r\n",
	    "250-mx\r\n250 AUTH PLAIN LOGIN ANONYMOUS\r\n",
	    "250 ok\r\n",                          /* plain: MAIL */
	    "554 5.7.1 Relay access denied\r\n",   /* RCPT */
	    "250 ok\r\n",                          /* RSET */
	    "535 5.7.8 Authentication failed\r\n", /* AUTH PLAIN AAA= */
	    "334 VXNlcm5hbWU6\r\n",                /* AUTH LOGIN */
	    "334 UGFzc3dvcmQ6\r\n",                /* the empty user name */
	    "235 2.7.0 Authentication successful\r\n",
	    "250 ok\r\n",
	    "250 ok\r\n",
	    "354 go\r\n",
	    "250 queued\r\n"}; /* the session is spent: QUIT, and a new one for the next test */
	assert_int_equal(drive(&c, first, 13, 0, log, sizeof(log), NULL), CL_RECONNECT);
	assert_string_equal(log, "EHLO|MAIL|RCPT|RSET|AUTH|AUTH|||MAIL|RCPT|DATA|MSG|QUIT");
	assert_true(transcript_has(&c, "< 250 ok\n> AUTH PLAIN AAA=\n# rset -> auth\n"
	                               "< 535 5.7.8 Authentication failed\n> AUTH LOGIN\n"
	                               "< 334 VXNlcm5hbWU6\n> \n# auth -> auth-user\n"
	                               "< 334 UGFzc3dvcmQ6\n> \n# auth-user -> auth-pass\n"
	                               "< 235 2.7.0 Authentication successful\n"
	                               "> MAIL FROM:<relaytest@sink.test>\n"));
	assert_true(
	    transcript_has(&c, "> QUIT\n# body -> quit\n- (a new session for the next test)\n"));
	assert_int_equal(c.t[1].outcome, OUT_REJECTED);
	assert_int_equal(c.t[1].code[ST_PATH], 535);
	assert_int_equal(c.t[1].code[ST_MAIL], 0);
	assert_int_equal(c.t[2].outcome, OUT_ACCEPTED);
	assert_int_equal(c.t[2].code[ST_PATH], 235);
	assert_int_equal(c.planned, 1);
	assert_int_equal(c.cur, 3);
	client_connected(&c, &local, 20);
	/* announcements are per session: this one names ANONYMOUS (the old "AUTH=" form) */
	const char *const second[] = {"220 mx ESMTP\r\n", "250-mx\r\n250 AUTH=PLAIN ANONYMOUS\r\n",
	                              "504 5.5.4 Unrecognized authentication type\r\n"};
	assert_int_equal(drive(&c, second, 3, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|AUTH|QUIT"); /* no XCLIENT announced: xl, xo not run */
	assert_true(transcript_has(&c, "> AUTH ANONYMOUS cmVsYXl0cmFw\n"));
	assert_int_equal(c.t[3].outcome, OUT_REJECTED);
	assert_int_equal(c.t[4].outcome, OUT_NOTRUN);
	assert_false(c.t[4].prepared);
	assert_int_equal(c.end, END_TESTS);
	client_free(&c);

	/* no new session for a test whose path this server does not offer */
	start_with(&c, &p,
	           "al <{sender}@{sink}> <{user}@{sink}> via=auth-login\n"
	           "aa <{sender}@{sink}> <{user}@{sink}> via=auth-anonymous\n");
	const char *const once[] = {"220 mx ESMTP\r\n",     "250-mx\r\n250 AUTH LOGIN\r\n",
	                            "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n",
	                            "235 ok\r\n",           "250 ok\r\n",
	                            "250 ok\r\n",           "354 go\r\n",
	                            "250 queued\r\n"};
	assert_int_equal(drive(&c, once, 9, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|AUTH|||MAIL|RCPT|DATA|MSG|QUIT");
	assert_int_equal(c.connects, 1);
	assert_int_equal(c.t[1].outcome, OUT_NOTRUN);
	client_free(&c);

	/* AUTH that names neither PLAIN nor LOGIN nor ANONYMOUS: no AUTH is tried */
	start_with(&c, &p, paths_catalogue);
	const char *const other[] = {"220 mx ESMTP\r\n", "250-mx\r\n250 AUTH CRAM-MD5 PLAINX\r\n",
	                             "554 no\r\n"};
	assert_int_equal(drive(&c, other, 3, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|MAIL|QUIT");
	assert_int_equal(c.auth_mechs, 0);
	client_free(&c);

	/* a server that answers every AUTH line with 334: one "*", then the path is refused */
	start_with(&c, &p, "ap <{sender}@{sink}> <{user}@{sink}> via=auth-plain\n");
	const char *const endless[] = {"220 mx ESMTP\r\n", "250-mx\r\n250 AUTH PLAIN\r\n",
	                               "334 \r\n", "334 \r\n", "334 \r\n"};
	assert_int_equal(drive(&c, endless, 5, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|AUTH|AAA=|*|QUIT");
	assert_int_equal(c.t[0].outcome, OUT_REJECTED);
	client_free(&c);

	/* no AUTH announced, but the plain test met a 530: the AUTH paths are tried */
	start_with(&c, &p, paths_catalogue);
	const char *const asked[] = {"220 mx ESMTP\r\n", "250 mx\r\n",
	                             "530 5.7.0 Authentication required\r\n", "250 ok\r\n",
	                             "535 no\r\n"};
	assert_int_equal(drive(&c, asked, 5, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL|RSET|AUTH|AUTH");
	assert_int_equal(c.t[0].outcome, OUT_AUTH);
	client_free(&c);
}

static void test_xclient_paths(void **st)
{
	(void)st;
	struct client c;
	struct client_params p;
	char log[256];
	start_with(&c, &p, paths_catalogue);
	const char *const script[] = {
	    "220 mx ESMTP\r\n",
	    "250-mx\r\n250-XCLIENT NAME ADDR PROTO HELO\r\n250 PIPELINING\r\n",
	    "250 ok\r\n554 5.7.1 Relay access denied\r\n", /* plain: MAIL+RCPT pipelined */
	    "250 ok\r\n",                                  /* RSET */
	    "550 5.7.0 insufficient authorization\r\n",    /* XCLIENT ADDR=127.0.0.1 */
	    "220 mx ESMTP\r\n",                            /* XCLIENT ADDR=192.0.2.25 */
	    "250-mx\r\n250 PIPELINING\r\n",                /* EHLO again */
	    "250 ok\r\n250 ok\r\n",
	    "354 go\r\n",
	    "250 queued\r\n"};
	assert_int_equal(drive(&c, script, 10, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|MAIL+RCPT|RSET|XCLIENT|XCLIENT|EHLO|MAIL+RCPT|DATA|MSG|"
	                         "QUIT"); /* the last test: QUIT, no new session */
	assert_true(transcript_has(&c, "> XCLIENT ADDR=127.0.0.1 NAME=localhost\n"));
	assert_true(transcript_has(&c, "> XCLIENT ADDR=192.0.2.25\n< 220 mx ESMTP\n"
	                               "> EHLO prober.test\n# xclient -> testhelo\n"));
	assert_int_equal(c.t[4].outcome, OUT_REJECTED);
	assert_int_equal(c.t[4].code[ST_PATH], 550);
	assert_int_equal(c.t[5].outcome, OUT_ACCEPTED);
	assert_int_equal(c.t[5].via, VIA_XCLIENT_OWN);
	assert_int_equal(c.t[1].outcome, OUT_NOTRUN); /* no AUTH: the AUTH paths not run */
	assert_int_equal(c.planned, 0);               /* the last test: no new session */
	client_free(&c);
}

static void test_starttls_530_and_both(void **st)
{
	(void)st;
	struct client c;
	struct client_params p;
	char log[256];
	const struct io_tls_info ti = {.version = "TLSv1.3", .cipher = "TLS_AES_128_GCM_SHA256"};
	/* 530 asks for STARTTLS that the EHLO reply did not announce: upgrade, same test again */
	start_with(&c, &p, "plain <{sender}@{sink}> <{user}@{sink}>\n");
	c.p.starttls = 1;
	const char *const asked[] = {"220 mx ESMTP\r\n", "250 mx\r\n",
	                             "530 5.7.0 Must issue a STARTTLS command first\r\n",
	                             "250 ok\r\n", "220 go ahead\r\n"};
	assert_int_equal(drive(&c, asked, 5, 0, log, sizeof(log), NULL), CL_STARTTLS);
	assert_string_equal(log, "EHLO|MAIL|RSET|STARTTLS");
	assert_int_equal(c.t[0].outcome, OUT_NOTRUN); /* forgotten: it runs again */
	assert_int_equal(c.t[0].code[ST_MAIL], 0);
	assert_int_equal(client_tls_up(&c, &ti, 6), CL_CONTINUE);
	buf_consume(&c.out, buf_len(&c.out));
	const char *const over[] = {"250 mx\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
	                            "250 queued\r\n"};
	assert_int_equal(drive(&c, over, 5, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "MAIL|RCPT|DATA|MSG|QUIT");
	assert_int_equal(c.t[0].outcome, OUT_ACCEPTED);
	assert_string_equal(transport_names[c.t[0].transport], "starttls");
	client_free(&c);
	/* the same refused: the 530 stands */
	start_with(&c, &p, "plain <{sender}@{sink}> <{user}@{sink}>\n");
	c.p.starttls = 1;
	const char *const no[] = {"220 mx ESMTP\r\n", "250 mx\r\n",
	                          "530 5.7.0 Must issue a STARTTLS command first\r\n", "250 ok\r\n",
	                          "502 5.5.1 not implemented\r\n"};
	assert_int_equal(drive(&c, no, 5, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|MAIL|RSET|STARTTLS|QUIT");
	assert_int_equal(c.t[0].outcome, OUT_AUTH);
	client_free(&c);
	/* --starttls both: the twins after the tests in the clear, one STARTTLS for them all */
	char err[256];
	start_with(&c, &p,
	           "plain <{sender}@{sink}> <{user}@{sink}>\n"
	           "bang <{sender}@{sink}> <{sink}!{user}>\n");
	client_free(&c);
	assert_int_equal(catalog_add_starttls_twins(&cat, err, sizeof(err)), 0);
	static const struct ipaddr local = {0};
	p.cat = &cat;
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	const char *const both[] = {"220 mx ESMTP\r\n", "250-mx\r\n250 STARTTLS\r\n",
	                            "554 no\r\n",       "250 ok\r\n",
	                            "554 no\r\n",       "250 ok\r\n",
	                            "220 go ahead\r\n"};
	assert_int_equal(drive(&c, both, 7, 0, log, sizeof(log), NULL), CL_STARTTLS);
	assert_string_equal(log, "EHLO|MAIL|RSET|MAIL|RSET|STARTTLS");
	assert_int_equal(client_tls_up(&c, &ti, 8), CL_CONTINUE);
	buf_consume(&c.out, buf_len(&c.out));
	const char *const twins[] = {"250-mx\r\n250 8BITMIME\r\n", "554 no\r\n", "250 ok\r\n",
	                             "554 no\r\n"};
	assert_int_equal(drive(&c, twins, 4, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "MAIL|RSET|MAIL|QUIT");
	assert_string_equal(transport_names[c.t[0].transport], "plain");
	assert_string_equal(transport_names[c.t[2].transport], "starttls");
	assert_string_equal(transport_names[c.t[3].transport], "starttls");
	assert_int_equal(c.t[2].code[ST_PATH], 220);
	assert_int_equal(c.t[3].code[ST_PATH], 0);
	client_free(&c);
}

/* The smuggling phase: asked for once the host relayed, one new session per variant, the
 * message as sent byte by byte, and a lenient server's answers to the smuggled commands. */
static void test_smuggling(void **st)
{
	(void)st;
	struct client c;
	struct client_params p;
	char log[256], err[256];
	static const struct ipaddr local = {0};
	params(&p);
	assert_int_equal(
	    catalog_parse(&cat, "plain <{sender}@{sink}> <{user}@{sink}>\n", "t", err, sizeof(err)),
	    0);
	assert_int_equal(catalog_add_smuggling(&cat, err, sizeof(err)), 0);
	assert_int_equal(
	    catalog_select(&cat, "plain,smuggle-lf-dot-crlf,smuggle-crlf-dot-lf", err, sizeof(err)),
	    0);
	assert_int_equal(cat.n, 5); /* each with its inner message */
	p.transcript = 1;
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	const char *const main_phase[] = {"220 mx ESMTP\r\n", "250 mx\r\n", "250 ok\r\n",
	                                  "250 ok\r\n",       "354 go\r\n", "250 queued\r\n"};
	assert_int_equal(drive(&c, main_phase, 6, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|MAIL|RCPT|DATA|MSG|QUIT"); /* not in this phase */
	assert_int_equal(c.t[1].outcome, OUT_NOTRUN);
	assert_int_equal(client_can_smuggle(&c), 1);
	assert_int_equal(client_smuggle(&c), CL_RECONNECT);
	assert_int_equal(client_can_smuggle(&c), 0);
	assert_int_equal(client_smuggle(&c), CL_DONE); /* once */
	client_connected(&c, &local, 10);
	const char *const strict[] = {"220 mx ESMTP\r\n", "250 mx\r\n", "250 ok\r\n", "250 ok\r\n"};
	assert_int_equal(drive(&c, strict, 4, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL|RCPT|DATA");
	struct buf in;
	buf_init(&in, 1024);
	buf_append(&in, "354 go\r\n", 8);
	assert_int_equal(client_input(&c, &in, 11), CL_CONTINUE);
	buf_free(&in);
	/* the message: the outer one without its end, <LF>.<CR><LF>, the smuggled commands, the
	 * inner message with the one true end */
	const char *o = buf_head(&c.out);
	size_t ol = buf_len(&c.out);
	char want[700];
	snprintf(want, sizeof(want),
	         "\n.\r\nMAIL FROM:<relaytest@sink.test>\r\nRCPT TO:<rt-%s@sink.test>\r\nDATA\r\n",
	         token_of(&c, 2));
	const char *at = memmem(o, ol, want, strlen(want));
	assert_non_null(at);
	assert_int_equal((const char *)memmem(o, ol, "\r\n.\r\n", 5) - o,
	                 (long)ol - 5);                          /* one end */
	assert_true(at > o && at[-1] != '\n' && at[-1] != '\r'); /* right after the body text */
	assert_non_null(
	    memmem(at, ol - (size_t)(at - o), token_of(&c, 2), strlen(token_of(&c, 2))));
	assert_true(c.t[2].prepared); /* expanded when the message was made */
	buf_consume(&c.out, ol);
	const char *const strict_end[] = {"250 queued as 1\r\n", "221 bye\r\n"};
	assert_int_equal(drive(&c, strict_end, 2, 0, log, sizeof(log), NULL), CL_RECONNECT);
	assert_string_equal(log, "QUIT");
	assert_int_equal(c.t[1].outcome, OUT_ACCEPTED);
	assert_int_equal(c.t[2].outcome, OUT_NOTRUN); /* taken as data, as it should */
	assert_int_equal(c.t[2].code[ST_MAIL], 0);
	/* a lenient server answers the smuggled commands; the pipelined replies are no error */
	client_connected(&c, &local, 20);
	const char *const lenient[] = {
	    "220 mx ESMTP\r\n",
	    "250 mx\r\n",
	    "250 ok\r\n",
	    "250 ok\r\n",
	    "354 go\r\n",
	    "250 queued as 2\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued as 3\r\n",
	    "221 bye\r\n"};
	assert_int_equal(drive(&c, lenient, 7, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|MAIL|RCPT|DATA|MSG|QUIT");
	assert_int_equal(c.t[3].outcome, OUT_ACCEPTED);
	assert_int_equal(c.t[4].outcome, OUT_ACCEPTED);
	assert_int_equal(c.t[4].code[ST_DATA], 354);
	assert_int_equal(c.t[4].code[ST_END], 250);
	assert_true(c.t[4].accepted_at > 0);
	assert_int_equal(c.planned, 2);
	assert_int_equal(c.end, END_TESTS);
	assert_true(transcript_has(&c, "- (the host relayed: the smuggling tests)\n"));
	client_free(&c);
	/* a refused smuggled RCPT: the rest is not its */
	assert_int_equal(client_init(&c, &p), 0);
	c.smuggle_phase = 1;
	c.cur = 3;
	client_connected(&c, &local, 0);
	const char *const refused[] = {
	    "220 mx ESMTP\r\n",
	    "250 mx\r\n",
	    "250 ok\r\n",
	    "250 ok\r\n",
	    "354 go\r\n",
	    "250 queued\r\n250 ok\r\n554 5.7.1 Relay access denied\r\n503 no rcpt\r\n",
	    "500 what\r\n221 bye\r\n"};
	assert_int_equal(drive(&c, refused, 7, 0, log, sizeof(log), NULL), CL_DONE);
	assert_int_equal(c.t[4].outcome, OUT_REJECTED);
	assert_int_equal(c.t[4].code[ST_RCPT], 554);
	assert_int_equal(c.t[4].code[ST_DATA], 0);
	client_free(&c);
	/* the smuggling phase runs only its own tests, whatever the catalogue holds after them:
	 * a smuggling test refused at MAIL goes on to the next variant, not to a twin */
	assert_int_equal(catalog_add_starttls_twins(&cat, err, sizeof(err)), 0);
	assert_int_equal(cat.n, 6);
	assert_int_equal(client_init(&c, &p), 0);
	c.smuggle_phase = 1;
	c.cur = 1;
	client_connected(&c, &local, 0);
	const char *const twins[] = {"220 mx ESMTP\r\n", "250 mx\r\n", "452 no\r\n", "250 ok\r\n",
	                             "452 no\r\n"};
	assert_int_equal(drive(&c, twins, 5, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|MAIL|RSET|MAIL|QUIT");
	assert_int_equal(c.t[5].outcome, OUT_NOTRUN); /* plain-starttls: not this phase's */
	client_free(&c);
	cat.n = 5;
	/* with --first-hit, or after a session that broke, no smuggling */
	p.first_hit = 1;
	assert_int_equal(client_init(&c, &p), 0);
	c.state = CS_DONE;
	c.end = END_TESTS;
	assert_int_equal(client_smuggle(&c), CL_DONE);
	client_free(&c);
	/* nor after the host timeout or an interrupt ended the tests */
	p.first_hit = 0;
	assert_int_equal(catalog_parse(&cat,
	                               "plain <{sender}@{sink}> <{user}@{sink}>\n"
	                               "second <{sender}@{sink}> <{user}@{sink}>\n",
	                               "t", err, sizeof(err)),
	                 0);
	assert_int_equal(catalog_add_smuggling(&cat, err, sizeof(err)), 0);
	assert_int_equal(catalog_select(&cat, "plain,second,smuggle-lf-dot-crlf", err, sizeof(err)),
	                 0);
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	assert_int_equal(drive(&c, main_phase, 6, 0, log, sizeof(log), NULL), CL_CONTINUE);
	assert_string_equal(log, "EHLO|MAIL|RCPT|DATA|MSG|RSET");
	client_abort(&c, "host timeout after 60 s"); /* waiting for the RSET reply */
	assert_int_equal(c.end, END_TESTS);
	assert_int_equal(client_smuggle(&c), CL_DONE);
	client_free(&c);
}

/* --proxy-spoof: the first test gets a connection of its own that starts with a PROXY v1
 * header; a server that takes the header for a command answers it before its EHLO reply. */
static void test_proxy(void **st)
{
	(void)st;
	struct client c;
	struct client_params p;
	char log[256], err[256];
	static const struct ipaddr local = {0};
	start_with(&c, &p, "plain <{sender}@{sink}> <{user}@{sink}>\n");
	client_free(&c);
	assert_int_equal(catalog_add_proxy(&cat, err, sizeof(err)), 0);
	assert_string_equal(cat.t[0].name, "proxy-localhost");
	assert_string_equal(cat.t[1].name, "plain");
	/* a server that speaks PROXY: greeting after the header, the test, then a new session */
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	static const char header[] = "PROXY TCP4 127.0.0.1 192.0.2.25 49152 25\r\n";
	assert_int_equal(buf_len(&c.out), sizeof(header) - 1);
	assert_memory_equal(buf_head(&c.out), header, sizeof(header) - 1);
	buf_consume(&c.out, buf_len(&c.out));
	const char *const speaks[] = {"220 mx ESMTP\r\n", "250 ok\r\n", "250 mx\r\n",
	                              "250 ok\r\n",       "250 ok\r\n", "354 go\r\n",
	                              "250 queued\r\n",   "221 bye\r\n"};
	assert_int_equal(drive(&c, speaks, 8, 0, log, sizeof(log), NULL), CL_RECONNECT);
	assert_string_equal(log, "NOOP|EHLO|MAIL|RCPT|DATA|MSG|QUIT");
	assert_int_equal(c.t[0].code[ST_PATH], 0); /* nothing answered the header */
	assert_int_equal(c.t[0].outcome, OUT_ACCEPTED);
	assert_int_equal(c.t[0].via, VIA_PROXY);
	client_connected(&c, &local, 10);
	assert_int_equal(buf_len(&c.out), 0); /* no header on the next connection */
	const char *const rest[] = {"220 mx ESMTP\r\n", "250 mx\r\n", "554 no\r\n"};
	assert_int_equal(drive(&c, rest, 3, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|MAIL|QUIT");
	assert_int_equal(c.t[1].outcome, OUT_REJECTED);
	assert_int_equal(c.planned, 1);
	client_free(&c);
	/* one that does not: its 500 to the header comes with the EHLO reply, no protocol error,
	 * and the catalogue goes on on the same connection */
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	buf_consume(&c.out, buf_len(&c.out));
	const char *const not_proxy[] = {"220 mx ESMTP\r\n",
	                                 "500 5.5.2 Error: command not recognized\r\n250 ok\r\n",
	                                 "250 mx\r\n", "554 no\r\n"};
	assert_int_equal(drive(&c, not_proxy, 4, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "NOOP|EHLO|MAIL|QUIT");
	assert_int_equal(c.t[0].outcome, OUT_REJECTED);
	assert_int_equal(c.t[0].code[ST_PATH], 500);
	assert_int_equal(c.t[0].code[ST_MAIL], 0);
	assert_int_equal(c.t[1].outcome, OUT_REJECTED);
	assert_int_equal(c.connects, 1);
	client_free(&c);
	/* one that speaks PROXY but refuses EHLO: HELO, as anywhere else */
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	buf_consume(&c.out, buf_len(&c.out));
	const char *const no_ehlo[] = {"220 mx ESMTP\r\n", "250 ok\r\n", "502 no EHLO\r\n",
	                               "250 mx\r\n", "554 no\r\n"};
	assert_int_equal(drive(&c, no_ehlo, 5, 0, log, sizeof(log), NULL), CL_RECONNECT);
	assert_string_equal(log, "NOOP|EHLO|HELO|MAIL|QUIT"); /* the PROXY session is spent */
	assert_int_equal(c.t[0].code[ST_PATH], 0);
	assert_int_equal(c.t[0].outcome, OUT_REJECTED);
	client_free(&c);
	/* with implicit TLS there is no PROXY test */
	p.implicit_tls = 1;
	assert_int_equal(client_init(&c, &p), 0);
	client_connected(&c, &local, 0);
	assert_int_equal(buf_len(&c.out), 0);
	const char *const tls[] = {"220 mx ESMTP\r\n", "250 mx\r\n", "554 no\r\n"};
	assert_int_equal(drive(&c, tls, 3, 0, log, sizeof(log), NULL), CL_DONE);
	assert_string_equal(log, "EHLO|MAIL|QUIT");
	assert_false(c.t[0].prepared);
	client_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_whole),
	    cmocka_unit_test(test_open_bytewise),
	    cmocka_unit_test(test_helo_fallback_and_refusals),
	    cmocka_unit_test(test_421_reconnects_then_gives_up),
	    cmocka_unit_test(test_session_ends),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_timeouts_and_closes),
	    cmocka_unit_test(test_first_hit),
	    cmocka_unit_test(test_pipelined_whole),
	    cmocka_unit_test(test_pipelined_bytewise),
	    cmocka_unit_test(test_pipelined_421_and_unsolicited),
	    cmocka_unit_test(test_pipelining_stops),
	    cmocka_unit_test(test_ptr_name),
	    cmocka_unit_test(test_message_sent),
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_echoed_replies_kept_once),
	    cmocka_unit_test(test_name_fixed_by_the_first_test),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_auth_paths),
	    cmocka_unit_test(test_xclient_paths),
	    cmocka_unit_test(test_starttls_530_and_both),
	    cmocka_unit_test(test_smuggling),
	    cmocka_unit_test(test_proxy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
