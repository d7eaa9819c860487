/* Verdict logic (docs/design.md "Verdicts"), message templates and scan pacing: pure functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "pace.h"
#include "replies.h"
#include "verdict.h"

static struct ipaddr ip(const char *s)
{
	struct ipaddr a;
	assert_int_equal(ipaddr_parse(s, &a), 0);
	return a;
}

static const int *rcpt_codes; /* the RCPT reply code per test, when set */

static enum verdict decide(enum session_end end, const enum outcome *o, int nt,
                           const struct delivery *d, int nd, struct verdict_out *out)
{
	struct test_result t[8];
	memset(t, 0, sizeof(t));
	for (int i = 0; i < nt; i++) {
		t[i].test = i;
		t[i].outcome = o[i];
		t[i].code[ST_RCPT] = (uint16_t)(rcpt_codes ? rcpt_codes[i] : 0);
		t[i].syntax = reply_syntax_only(t[i].code[ST_RCPT], "");
	}
	struct ipaddr prober[2] = {ip("198.51.100.7"), ip("203.0.113.9")};
	struct verdict_in in = {.end = end,
	                        .t = t,
	                        .nt = nt,
	                        .d = d,
	                        .nd = nd,
	                        .target = ip("192.0.2.25"),
	                        .prober = prober,
	                        .nprober = 2};
	verdict_decide(&in, out);
	return out->v;
}

static void test_verdict_table(void **st)
{
	(void)st;
	struct verdict_out v;
	enum outcome acc[] = {OUT_REJECTED, OUT_ACCEPTED, OUT_ACCEPTED};
	struct delivery d[2];
	memset(d, 0, sizeof(d));
	d[0].test = 1;
	d[0].peer = ip("192.0.2.25");
	d[0].trace[0] = ip("10.1.1.1");
	d[0].trace[1] = ip("198.51.100.7");
	d[0].ntrace = 2;
	assert_int_equal(decide(END_TESTS, acc, 3, d, 1, &v), V_OPEN);
	assert_int_equal(v.accepted, 2);
	assert_int_equal(v.delivered, 1);
	assert_int_equal(v.multi_hop, 0);
	/* the NAT case: only the address the target reported in EHLO is in the trace */
	d[0].trace[1] = ip("203.0.113.9");
	assert_int_equal(decide(END_TESTS, acc, 3, d, 1, &v), V_OPEN);
	/* a second message with its trace stripped makes the host anonymous */
	d[1].test = 2;
	d[1].peer = ip("192.0.2.99");
	d[1].ntrace = 0;
	assert_int_equal(decide(END_TESTS, acc, 3, d, 2, &v), V_OPEN_ANONYMOUS);
	assert_int_equal(v.multi_hop, 1);
	char a[64];
	assert_string_equal(ipaddr_str(&v.delivered_via, a, sizeof(a)), "192.0.2.99");
	assert_int_equal(v.delivered, 2);
	/* delivery beats an error ending */
	assert_int_equal(decide(END_ERROR, acc, 3, d, 1, &v), V_OPEN);
	/* accepted, nothing arrived */
	assert_int_equal(decide(END_TESTS, acc, 3, NULL, 0, &v), V_ACCEPTED);
	enum outcome grey[] = {OUT_DEFERRED, OUT_DEFERRED, OUT_ERROR};
	assert_int_equal(decide(END_TESTS, grey, 3, NULL, 0, &v), V_DEFERRED);
	enum outcome some[] = {OUT_REJECTED, OUT_DEFERRED}; /* a 554 and a 450 */
	assert_int_equal(decide(END_TESTS, some, 2, NULL, 0, &v), V_CLOSED);
	/* greylisting everything it can parse; odd addresses refused as bad syntax */
	int codes[] = {450, 501, 553};
	enum outcome grey2[] = {OUT_DEFERRED, OUT_REJECTED, OUT_REJECTED};
	rcpt_codes = codes;
	assert_int_equal(decide(END_TESTS, grey2, 2, NULL, 0, &v), V_DEFERRED);
	assert_int_equal(decide(END_TESTS, grey2, 3, NULL, 0, &v), V_CLOSED); /* bare 553 */
	rcpt_codes = NULL;
	enum outcome mix[] = {OUT_REJECTED, OUT_DEFERRED, OUT_AUTH};
	assert_int_equal(decide(END_TESTS, mix, 3, NULL, 0, &v), V_AUTH_REQUIRED);
	enum outcome auth[] = {OUT_REJECTED, OUT_AUTH, OUT_ERROR};
	assert_int_equal(decide(END_TESTS, auth, 3, NULL, 0, &v), V_AUTH_REQUIRED);
	enum outcome rej[] = {OUT_REJECTED, OUT_REJECTED, OUT_NOTRUN};
	assert_int_equal(decide(END_TESTS, rej, 3, NULL, 0, &v), V_CLOSED);
	enum outcome none[] = {OUT_ERROR, OUT_NOTRUN};
	assert_int_equal(decide(END_TESTS, none, 2, NULL, 0, &v), V_ERROR);
	assert_int_equal(decide(END_ERROR, none, 2, NULL, 0, &v), V_ERROR);
	assert_int_equal(decide(END_REFUSED, none, 2, NULL, 0, &v), V_REFUSED);
	assert_int_equal(decide(END_NOT_SMTP, none, 2, NULL, 0, &v), V_NOT_SMTP);
	assert_int_equal(decide(END_UNREACHABLE, none, 2, NULL, 0, &v), V_UNREACHABLE);
	for (int i = 0; i < V_COUNT; i++)
		assert_int_equal(verdict_from_name(verdict_names[i]), i);
	assert_int_equal(verdict_from_name("opened"), -1);
}

static char *render(const char *tmpl, const struct kv *vars, int n)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	if (message_render(tmpl, vars, n, &b) < 0) {
		buf_free(&b);
		return NULL;
	}
	char *s = strndup(buf_head(&b), buf_len(&b));
	buf_free(&b);
	return s;
}

/* The relay paths: a refused AUTH or XCLIENT says nothing about relaying; one that relayed
 * sets its flag. */
static void test_paths(void **st)
{
	(void)st;
	struct test_result t[4];
	memset(t, 0, sizeof(t));
	for (int i = 0; i < 4; i++)
		t[i].test = i;
	t[0].outcome = OUT_DEFERRED; /* the plain test: 450 */
	t[0].code[ST_RCPT] = 450;
	t[1].via = VIA_AUTH_PLAIN; /* AUTH refused 535 */
	t[1].outcome = OUT_REJECTED;
	t[1].code[ST_PATH] = 535;
	t[2].via = VIA_XCLIENT; /* XCLIENT refused 550 */
	t[2].outcome = OUT_REJECTED;
	t[2].code[ST_PATH] = 550;
	t[3].via = VIA_AUTH_LOGIN; /* AUTH accepted, then the test deferred at RCPT */
	t[3].outcome = OUT_DEFERRED;
	t[3].code[ST_PATH] = 235;
	t[3].code[ST_MAIL] = 250;
	t[3].code[ST_RCPT] = 451;
	struct ipaddr prober = ip("198.51.100.7");
	struct verdict_in in = {.end = END_TESTS,
	                        .t = t,
	                        .nt = 4,
	                        .target = ip("192.0.2.25"),
	                        .prober = &prober,
	                        .nprober = 1};
	struct verdict_out v;
	verdict_decide(&in, &v);
	assert_int_equal(v.v, V_DEFERRED); /* not "closed" by the refused paths */
	assert_int_equal(v.auth_bypass, 0);
	/* AUTH LOGIN relayed: open, auth_bypass, not xclient_spoof */
	t[3].outcome = OUT_ACCEPTED;
	t[3].code[ST_RCPT] = 250;
	struct delivery d;
	memset(&d, 0, sizeof(d));
	d.test = 3;
	d.peer = ip("192.0.2.25");
	d.trace[0] = prober;
	d.ntrace = 1;
	in.d = &d;
	in.nd = 1;
	verdict_decide(&in, &v);
	assert_int_equal(v.v, V_OPEN);
	assert_int_equal(v.auth_bypass, 1);
	assert_int_equal(v.xclient_spoof, 0);
	assert_int_equal(v.accepted, 1);
	/* the same through XCLIENT */
	t[3].via = VIA_XCLIENT_OWN;
	verdict_decide(&in, &v);
	assert_int_equal(v.auth_bypass, 0);
	assert_int_equal(v.xclient_spoof, 1);
	/* the twins of --starttls both are no path of abuse */
	t[3].via = VIA_STARTTLS;
	verdict_decide(&in, &v);
	assert_int_equal(v.auth_bypass + v.xclient_spoof, 0);
}

static void test_message(void **st)
{
	(void)st;
	struct kv v[] = {{"user", "rt-abc"}, {"sink", "s.test"}, {"test", "evil\r\n.\r\nQUIT"}};
	char *s = render("To: <{user}@{sink}>\n\n.hidden\nx {test}\n..\n", v, 3);
	assert_string_equal(
	    s, "To: <rt-abc@s.test>\r\n\r\n..hidden\r\nx evil  .  QUIT\r\n...\r\n.\r\n");
	free(s);
	s = render("A: b\r\n\r\nno final newline", v, 3);
	assert_string_equal(s, "A: b\r\n\r\nno final newline\r\n.\r\n");
	free(s);
	assert_null(render("A: {nosuch}\n\n", v, 3));
	assert_null(render("A: {user\n\n", v, 3));
	char *big = malloc(MESSAGE_MAX + 10);
	memset(big, 'x', MESSAGE_MAX + 9);
	big[MESSAGE_MAX + 9] = '\0';
	assert_null(render(big, v, 3));
	free(big);

	char err[256];
	assert_int_equal(message_check(message_default_text, "default", err, sizeof(err)), 0);
	assert_int_equal(message_check("A: b\nC: {bogus}\n\nbody\n", "m.txt", err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "m.txt:2: unknown {macro} or unbalanced brace");
	assert_int_equal(message_check("A: b\nno colon here\n\nbody\n", "m.txt", err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "m.txt:2: header line without \"Name:\"");
	assert_int_equal(
	    message_check("A: b\nbody without blank line\n", "m.txt", err, sizeof(err)), -1);
	assert_int_equal(message_check(" folded: first\n\nb\n", "m.txt", err, sizeof(err)), -1);
	assert_string_equal(err, "m.txt:1: continuation line before any field");
	/* found by fuzz_catalog: a last line ending in a lone CR looped for ever */
	assert_int_equal(message_check("A: b\n\nbody\r", "m.txt", err, sizeof(err)), 0);
	assert_int_equal(message_check("A: b\r", "m.txt", err, sizeof(err)), -1);
	assert_string_equal(err, "m.txt: no blank line between header and body");
}

static void test_shipped_message_matches_default(void **st)
{
	(void)st;
	FILE *f = fopen("conf/message.txt", "r");
	assert_non_null(f);
	char buf[MESSAGE_TMPL_MAX + 1];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, message_default_text);
}

static void test_bucket(void **st)
{
	(void)st;
	struct bucket b;
	bucket_init(&b, 10, 100.0); /* 10/s, bursts of 1 */
	assert_int_equal(bucket_take(&b, 100.0), 1);
	assert_int_equal(bucket_take(&b, 100.0), 0);
	assert_true(bucket_wait(&b, 100.0) > 0.099 && bucket_wait(&b, 100.0) < 0.101);
	assert_int_equal(bucket_take(&b, 100.05), 0);
	assert_int_equal(bucket_take(&b, 100.1), 1);
	assert_int_equal(bucket_take(&b, 105.0), 1); /* an idle spell does not bank 50 tokens */
	assert_int_equal(bucket_take(&b, 105.0), 0);
	bucket_init(&b, 1000, 0); /* bursts of 50 */
	int n = 0;
	while (bucket_take(&b, 10.0))
		n++;
	assert_int_equal(n, 50);
}

static void test_netcap(void **st)
{
	(void)st;
	struct netcap nc;
	assert_int_equal(netcap_init(&nc, 2, 7), 0);
	struct ipaddr a = ip("192.0.2.1"), b = ip("192.0.2.200"), c = ip("192.0.3.1");
	assert_int_equal(netcap_room(&nc, &a), 1);
	netcap_inc(&nc, &a);
	netcap_inc(&nc, &b);
	assert_int_equal(netcap_room(&nc, &a), 0); /* same /24 */
	assert_int_equal(netcap_room(&nc, &c), 1);
	netcap_dec(&nc, &a);
	assert_int_equal(netcap_room(&nc, &b), 1);
	struct ipaddr x = ip("2001:db8:0:1::1"), y = ip("2001:db8:0:1:ffff::9"),
	              z = ip("2001:db8:0:2::1");
	netcap_inc(&nc, &x);
	netcap_inc(&nc, &y);
	assert_int_equal(netcap_room(&nc, &x), 0); /* same /64 */
	assert_int_equal(netcap_room(&nc, &z), 1);
	assert_int_equal(nc.n, 2);
	netcap_dec(&nc, &x);
	netcap_dec(&nc, &y);
	netcap_dec(&nc, &b);
	assert_int_equal(nc.n, 0); /* empty networks are forgotten */
	netcap_free(&nc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verdict_table),
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_message),
	    cmocka_unit_test(test_shipped_message_matches_default),
	    cmocka_unit_test(test_bucket),
	    cmocka_unit_test(test_netcap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
