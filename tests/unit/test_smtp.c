#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "smtp.h"

static void test_cmd_parse(void **st)
{
	(void)st;
	struct smtp_cmd c;
	smtp_cmd_parse("ehlo  client.example ", 21, &c);
	assert_int_equal(c.verb, SMTP_EHLO);
	assert_int_equal(c.arglen, 14);
	assert_memory_equal(c.arg, "client.example", 14);
	smtp_cmd_parse("DATA", 4, &c);
	assert_int_equal(c.verb, SMTP_DATA);
	assert_int_equal(c.arglen, 0);
	smtp_cmd_parse("DATAX", 5, &c);
	assert_int_equal(c.verb, SMTP_UNKNOWN);
	smtp_cmd_parse("", 0, &c);
	assert_int_equal(c.verb, SMTP_UNKNOWN);
	smtp_cmd_parse("StartTLS", 8, &c);
	assert_int_equal(c.verb, SMTP_STARTTLS);
}

static void path(const char *arg, const char *kw, const char *addr, const char *local,
                 const char *domain, const char *params)
{
	struct smtp_path p;
	const char *why = NULL;
	assert_int_equal(smtp_path_parse(arg, strlen(arg), kw, &p, &why), 0);
	assert_int_equal(p.addrlen, strlen(addr));
	assert_memory_equal(p.addr, addr, p.addrlen);
	assert_int_equal(p.locallen, strlen(local));
	assert_memory_equal(p.local, local, p.locallen);
	assert_int_equal(p.domainlen, strlen(domain));
	assert_memory_equal(p.domain, domain, p.domainlen);
	assert_int_equal(p.paramslen, strlen(params));
	assert_memory_equal(p.params, params, p.paramslen);
}

static void test_path_forms(void **st)
{
	(void)st;
	/* the forms the relay-test catalogue sends, and what relays forward */
	path("TO:<rt-x@sink.lab>", "TO", "rt-x@sink.lab", "rt-x", "sink.lab", "");
	path("to: <rt-x@sink.lab> NOTIFY=NEVER", "TO", "rt-x@sink.lab", "rt-x", "sink.lab",
	     "NOTIFY=NEVER");
	path("TO:rt-x@sink.lab", "TO", "rt-x@sink.lab", "rt-x", "sink.lab", "");
	path("TO:<\"rt-x@sink.lab\">", "TO", "\"rt-x@sink.lab\"", "\"rt-x@sink.lab\"", "", "");
	path("TO:<\"rt-x@sink\"@[192.0.2.1]>", "TO", "\"rt-x@sink\"@[192.0.2.1]", "\"rt-x@sink\"",
	     "[192.0.2.1]", "");
	path("TO:<rt-x%sink.lab@[192.0.2.1]>", "TO", "rt-x%sink.lab@[192.0.2.1]", "rt-x%sink.lab",
	     "[192.0.2.1]", "");
	path("TO:<rt-x@sink.lab@target>", "TO", "rt-x@sink.lab@target", "rt-x@sink.lab", "target",
	     "");
	path("TO:<@[192.0.2.1],@b.example:rt-x@sink.lab>", "TO", "rt-x@sink.lab", "rt-x",
	     "sink.lab", "");
	path("TO:<sink.lab!rt-x>", "TO", "sink.lab!rt-x", "sink.lab!rt-x", "", "");
	path("TO:<\"a>b\"@c>", "TO", "\"a>b\"@c", "\"a>b\"", "c", ""); /* '>' inside quotes */
	path("FROM:<> SIZE=100 BODY=8BITMIME", "FROM", "", "", "", "SIZE=100 BODY=8BITMIME");
	path("FROM:<postmaster>", "FROM", "postmaster", "postmaster", "", "");
}

static void test_path_errors(void **st)
{
	(void)st;
	struct smtp_path p;
	const char *why;
	assert_int_equal(smtp_path_parse("TO <a@b>", 8, "TO", &p, &why), -1);
	assert_int_equal(smtp_path_parse("TO:<a@b", 7, "TO", &p, &why), -1);
	assert_int_equal(smtp_path_parse("TO:", 3, "TO", &p, &why), -1);
	assert_int_equal(smtp_path_parse("FROM:<a@b>", 10, "TO", &p, &why), -1);
	assert_int_equal(smtp_path_parse("TO:<@a.b>", 9, "TO", &p, &why), -1);
	struct smtp_path q;
	assert_int_equal(smtp_path_parse("FROM:<>", 7, "FROM", &q, &why), 0);
	assert_true(q.null_path);
}

static void test_param(void **st)
{
	(void)st;
	size_t vl;
	const char *v = smtp_param("BODY=8BITMIME SIZE=12345", 24, "size", &vl);
	assert_non_null(v);
	assert_int_equal(vl, 5);
	assert_memory_equal(v, "12345", 5);
	assert_null(smtp_param("SIZEX=1", 7, "SIZE", &vl));
}

static const char EHLO_REPLY[] = "250-mx.example Hello [192.0.2.9]\r\n"
                                 "250-PIPELINING\r\n"
                                 "250-SIZE 10240000\r\n"
                                 "250 8BITMIME\r\n";

static void check_ehlo(const struct smtp_reply *r)
{
	assert_int_equal(r->code, 250);
	assert_int_equal(r->nlines, 4);
	assert_int_equal(r->lines[0].len, 28);
	assert_memory_equal(r->lines[0].text, "mx.example Hello [192.0.2.9]", 28);
	assert_memory_equal(r->lines[3].text, "8BITMIME", 8);
	assert_int_equal(r->bytes, sizeof(EHLO_REPLY) - 1);
}

static void test_reply_whole(void **st)
{
	(void)st;
	struct smtp_reply r;
	char two[256];
	snprintf(two, sizeof(two), "%s250 2.1.0 Ok\r\n", EHLO_REPLY);
	assert_int_equal(smtp_reply_parse(two, strlen(two), 512, 100, &r), REPLY_OK);
	check_ehlo(&r); /* the second reply is left for the next call */
	assert_int_equal(smtp_reply_parse(two + r.bytes, strlen(two) - r.bytes, 512, 100, &r),
	                 REPLY_OK);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 1);
	assert_int_equal(smtp_reply_parse("220\r\n", 5, 512, 100, &r), REPLY_OK);
	assert_int_equal(r.code, 220);
	assert_int_equal(r.lines[0].len, 0);
}

static void test_reply_bytewise(void **st)
{
	(void)st;
	struct smtp_reply r;
	size_t n = strlen(EHLO_REPLY);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(smtp_reply_parse(EHLO_REPLY, i, 512, 100, &r), REPLY_NEED);
	assert_int_equal(smtp_reply_parse(EHLO_REPLY, n, 512, 100, &r), REPLY_OK);
	check_ehlo(&r);
}

static void test_reply_errors(void **st)
{
	(void)st;
	struct smtp_reply r;
	assert_int_equal(smtp_reply_parse("hello\r\n", 7, 512, 100, &r), REPLY_BAD_SYNTAX);
	assert_int_equal(smtp_reply_parse("25\r\n", 4, 512, 100, &r), REPLY_BAD_SYNTAX);
	assert_int_equal(smtp_reply_parse("250x\r\n", 6, 512, 100, &r), REPLY_BAD_SYNTAX);
	assert_int_equal(smtp_reply_parse("650 no\r\n", 8, 512, 100, &r), REPLY_BAD_SYNTAX);
	assert_int_equal(smtp_reply_parse("250-a\r\n251 b\r\n", 14, 512, 100, &r),
	                 REPLY_MIXED_CODE);
	assert_int_equal(smtp_reply_parse("250 abcdefghij\r\n", 16, 8, 100, &r), REPLY_TOO_LONG);
	char many[64 * 8];
	size_t o = 0;
	for (int i = 0; i < 60; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "250-x\r\n");
	assert_int_equal(smtp_reply_parse(many, o, 512, 50, &r), REPLY_TOO_MANY);
	assert_int_equal(smtp_reply_parse(many, o, 512, 100, &r), REPLY_NEED);
	assert_int_equal(smtp_reply_parse("250 ok\n", 7, 512, 100, &r), REPLY_OK);
	assert_true(r.bare_lf);
}

static void test_wire_checks(void **st)
{
	(void)st;
	const char *good_domains[] = {"sink.example", "a", "relaytest.example.net", "x_y.lab",
	                              "xn--bcher-kva.example"};
	const char *bad_domains[] = {"",           "bad domain", "a..b",
	                             "-a.example", "a-.example", "trailing.",
	                             ".lead",      "semi;colon", "a\r\nb"};
	for (size_t i = 0; i < sizeof(good_domains) / sizeof(*good_domains); i++)
		assert_null(smtp_check_domain(good_domains[i]));
	for (size_t i = 0; i < sizeof(bad_domains) / sizeof(*bad_domains); i++)
		assert_non_null(smtp_check_domain(bad_domains[i]));
	char label[80];
	memset(label, 'a', 64);
	label[64] = '\0';
	assert_string_equal(smtp_check_domain(label), "not a domain name (a label longer than 63)");
	assert_null(smtp_check_helo("[192.0.2.1]"));
	assert_null(smtp_check_helo("[IPv6:2001:db8::1]"));
	assert_null(smtp_check_helo("scanner.example"));
	assert_non_null(smtp_check_helo("[192.0.2.300]"));
	assert_non_null(smtp_check_helo(""));
	assert_null(smtp_check_localpart("relaytest"));
	assert_null(smtp_check_localpart("first.last+tag"));
	assert_non_null(smtp_check_localpart("a b"));
	assert_non_null(smtp_check_localpart(".lead"));
	assert_non_null(smtp_check_localpart("a..b"));
	assert_non_null(smtp_check_localpart("a@b"));
	assert_non_null(smtp_check_localpart(""));
	assert_null(smtp_check_text("noc@example.net, +1 555 0100", 200));
	assert_string_equal(smtp_check_text("a\r\n.\r\n", 200),
	                    "control characters or line breaks");
	assert_string_equal(smtp_check_text("abc", 2), "too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cmd_parse),    cmocka_unit_test(test_path_forms),
	    cmocka_unit_test(test_path_errors),  cmocka_unit_test(test_param),
	    cmocka_unit_test(test_reply_whole),  cmocka_unit_test(test_reply_bytewise),
	    cmocka_unit_test(test_reply_errors), cmocka_unit_test(test_wire_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
