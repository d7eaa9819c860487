#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

static struct catalog cat;

static void test_default_catalogue(void **st)
{
	(void)st;
	char err[256];
	assert_int_equal(catalog_parse(&cat, catalog_default_text, "default", err, sizeof(err)), 0);
	assert_int_equal(cat.n, 29);
	assert_string_equal(cat.t[0].name, "plain");
	assert_string_equal(cat.t[9].rcpt, "<\"{user}@{sink}\">");
	assert_string_equal(cat.t[23].name, "sink-literal");
	assert_int_equal(cat.t[23].via, VIA_NONE);
	/* the relay paths of today, each with the plain test's addresses */
	static const enum via paths[] = {VIA_AUTH_PLAIN, VIA_AUTH_LOGIN, VIA_AUTH_ANON, VIA_XCLIENT,
	                                 VIA_XCLIENT_OWN};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(cat.t[24 + i].via, paths[i]);
		assert_string_equal(cat.t[24 + i].mail, cat.t[0].mail);
		assert_string_equal(cat.t[24 + i].rcpt, cat.t[0].rcpt);
	}
	assert_string_equal(cat.t[26].name, "auth-anonymous");
}

static void test_shipped_file_matches_default(void **st)
{
	(void)st;
	static struct catalog file;
	char err[256], text[8192];
	FILE *f = fopen("conf/tests.conf", "r"); /* make test-unit runs from the top directory */
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_int_equal(catalog_parse(&file, text, "conf/tests.conf", err, sizeof(err)), 0);
	assert_int_equal(catalog_parse(&cat, catalog_default_text, "default", err, sizeof(err)), 0);
	assert_int_equal(file.n, cat.n);
	assert_memory_equal(file.t, cat.t, sizeof(cat.t[0]) * (size_t)cat.n);
}

static void test_expand(void **st)
{
	(void)st;
	struct macros m = {.user = "rt-abc",
	                   .sink = "sink.lab",
	                   .sink_literal = "[192.0.2.53]",
	                   .target_literal = "[IPv6:2001:db8::25]",
	                   .target_host = "mx1.example.net",
	                   .sender = "relaytest",
	                   .helo = "prober.example"};
	m.target_domain = catalog_domain_of(m.target_host);
	char out[256];
	assert_int_equal(
	    catalog_expand("<\"{user}@{sink}\"@{target_literal}>", &m, out, sizeof(out)), 39);
	assert_string_equal(out, "<\"rt-abc@sink.lab\"@[IPv6:2001:db8::25]>");
	catalog_expand("<postmaster@{target_domain}>", &m, out, sizeof(out));
	assert_string_equal(out, "<postmaster@example.net>");
	catalog_expand("<@{target_host}:{user}@{sink_literal}>", &m, out, sizeof(out));
	assert_string_equal(out, "<@mx1.example.net:rt-abc@[192.0.2.53]>");
	assert_int_equal(catalog_expand("{user}{user}", &m, out, 12), -1); /* 12 bytes + NUL */
	assert_int_equal(catalog_expand("{nope}", &m, out, sizeof(out)), -1);
	assert_int_equal(catalog_expand("{user", &m, out, sizeof(out)), -1);
	assert_string_equal(catalog_domain_of("localhost"), "localhost");
	assert_string_equal(catalog_domain_of("[192.0.2.1]"), "[192.0.2.1]");
}

static void expect_err(const char *text, const char *want)
{
	static struct catalog c;
	char err[256];
	assert_int_equal(catalog_parse(&c, text, "t.conf", err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void test_parse_forms_and_errors(void **st)
{
	(void)st;
	static struct catalog c;
	char err[256];
	assert_int_equal(
	    catalog_parse(&c, "# c\n\nx  \"<a b>\"  <{user}@{sink}>  \"helo=odd \\\"name\\\"\"\r\n",
	                  "t.conf", err, sizeof(err)),
	    0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.t[0].mail, "<a b>");
	assert_string_equal(c.t[0].helo, "odd \"name\"");
	expect_err("x <a>\n", "t.conf:1: expected: name MAIL-FROM RCPT-TO [helo=NAME] [via=PATH]");
	expect_err("ok <a> <b>\nBad <a> <b>\n", "t.conf:2: test names use a-z, 0-9 and '-'");
	expect_err("a <a> <b>\na <c> <d>\n", "t.conf:2: duplicate test name");
	expect_err("a <{usr}> <b>\n", "t.conf:1: unknown {macro} or unbalanced brace");
	expect_err("a <a> <b> extra\n",
	           "t.conf:1: after RCPT-TO: at most one helo=NAME and one via=PATH");
	expect_err("a <a> <b> helo=x helo=y\n",
	           "t.conf:1: after RCPT-TO: at most one helo=NAME and one via=PATH");
	expect_err("a <a> <b> via=xclient via=xclient\n",
	           "t.conf:1: after RCPT-TO: at most one helo=NAME and one via=PATH");
	expect_err("a <a> <b> via=starttls\n", "t.conf:1: via= is one of auth-plain, auth-login, "
	                                       "auth-anonymous, xclient, xclient-own");
	expect_err("a <a> <b> via=\n", "t.conf:1: via= is one of auth-plain, auth-login, "
	                               "auth-anonymous, xclient, xclient-own");
	assert_int_equal(
	    catalog_parse(&c, "a <a> <b> via=auth-login helo=h\n", "t.conf", err, sizeof(err)), 0);
	assert_int_equal(c.t[0].via, VIA_AUTH_LOGIN);
	assert_string_equal(c.t[0].helo, "h");
	expect_err("a \"<a> <b>\n", "t.conf:1: unterminated quote");
	expect_err("# nothing\n", "t.conf: no tests");
}

static void test_select(void **st)
{
	(void)st;
	char err[256];
	catalog_parse(&cat, catalog_default_text, "default", err, sizeof(err));
	assert_int_equal(catalog_select(&cat, "percent,plain,bang", err, sizeof(err)), 0);
	assert_int_equal(cat.n, 3); /* catalogue order kept */
	assert_string_equal(cat.t[0].name, "plain");
	assert_string_equal(cat.t[1].name, "percent");
	assert_string_equal(cat.t[2].name, "bang");
	assert_int_equal(catalog_select(&cat, "plain,nosuch", err, sizeof(err)), -1);
	assert_string_equal(err, "--tests: no test named 'nosuch' (see --list-tests)");
}

static void test_starttls_twins(void **st)
{
	(void)st;
	char err[256];
	catalog_parse(&cat, catalog_default_text, "default", err, sizeof(err));
	assert_int_equal(catalog_select(&cat, "plain,bang,auth-plain-empty", err, sizeof(err)), 0);
	assert_int_equal(catalog_add_starttls_twins(&cat, err, sizeof(err)), 0);
	assert_int_equal(cat.n, 5); /* a path's test has no twin */
	assert_string_equal(cat.t[3].name, "plain-starttls");
	assert_string_equal(cat.t[4].name, "bang-starttls");
	assert_int_equal(cat.t[3].via, VIA_STARTTLS);
	assert_string_equal(cat.t[4].rcpt, cat.t[1].rcpt);
	static struct catalog c;
	catalog_parse(&c, "a <a> <b>\na-starttls <c> <d>\n", "t.conf", err, sizeof(err));
	assert_int_equal(catalog_add_starttls_twins(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "--starttls both: no room for the twin of test 'a'");
	c.n = 0;
	for (int i = 0; i < 200; i++)
		snprintf(c.t[c.n++].name, sizeof(c.t[0].name), "t%d", i);
	assert_int_equal(catalog_add_starttls_twins(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "--starttls both: more than 255 tests with their twins");
	assert_int_equal(c.n, 255);
	assert_int_equal(via_from_name("xclient-own"), VIA_XCLIENT_OWN);
	assert_int_equal(via_from_name("xclient-"), -1);
}

static void test_smuggling_tests(void **st)
{
	(void)st;
	char err[256];
	catalog_parse(&cat, catalog_default_text, "default", err, sizeof(err));
	assert_int_equal(catalog_add_smuggling(&cat, err, sizeof(err)), 0);
	assert_int_equal(cat.n, 29 + 18);
	assert_string_equal(cat.t[29].name, "smuggle-lf-dot-lf");
	assert_string_equal(cat.t[30].name, "smuggle-lf-dot-lf-inner");
	assert_string_equal(cat.t[46].name, "smuggle-crlf-nul-dot-inner");
	assert_int_equal(cat.t[45].via, VIA_SMUGGLE);
	assert_int_equal(cat.t[46].via, VIA_SMUGGLED);
	assert_int_equal(cat.t[46].variant, 8);
	assert_string_equal(cat.t[46].rcpt, "<{user}@{sink}>");
	/* chosen by name: the inner message comes along; alone it is an error */
	assert_int_equal(catalog_select(&cat, "smuggle-cr-dot-cr,plain", err, sizeof(err)), 0);
	assert_int_equal(cat.n, 3);
	assert_string_equal(cat.t[1].name, "smuggle-cr-dot-cr");
	assert_string_equal(cat.t[2].name, "smuggle-cr-dot-cr-inner");
	assert_int_equal(catalog_select(&cat, "smuggle-cr-dot-cr-inner", err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "--tests: 'smuggle-cr-dot-cr-inner' goes inside the test before it; "
	                    "name that one");
	static struct catalog c;
	c.n = 240;
	assert_int_equal(catalog_add_smuggling(&c, err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "more than 255 tests with the 18 smuggling tests (--no-smuggling)");
	assert_int_equal(c.n, 240);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_catalogue),
	    cmocka_unit_test(test_shipped_file_matches_default),
	    cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_parse_forms_and_errors),
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_starttls_twins),
	    cmocka_unit_test(test_smuggling_tests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
