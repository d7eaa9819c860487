/* Fix advice: the shipped conf/advice.conf (the compiled-in default is the same file), the
 * paragraph each product gets, which hosts get one, and parse errors naming FILE:LINE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "advice.h"
#include "knowledge.h"

static struct advice *shipped(void)
{
	static struct advice *a;
	char err[300];
	if (!a && !(a = advice_parse(advice_default_text, "default", err, sizeof(err))))
		fail_msg("%s", err);
	return a;
}

static void paragraphs(void **st)
{
	(void)st;
	static char text[65536];
	FILE *f = fopen("conf/advice.conf", "r");
	assert_non_null(f);
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	assert_string_equal(text, advice_default_text);
	const struct advice *a = shipped();
	assert_int_equal(a->n, 9);
	static const struct {
		const char *product, *name, *start, *has;
	} want[] = {
	    {"postfix", "Postfix", "Postfix relays for clients in mynetworks",
	     "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"},
	    {"exim", "Exim", "Exim decides relaying in the RCPT ACL", "hostlist relay_from_hosts"},
	    {"sendmail", "Sendmail", "Sendmail 8.9 and later refuse relaying",
	     "makemap hash /etc/mail/access < /etc/mail/access"},
	    {"exchange", "Microsoft Exchange", "Exchange 2007 and later relay",
	     "ms-Exch-SMTP-Accept-Any-Recipient"},
	    {"ms-smtp", "Microsoft SMTP service (IIS, Exchange 2000/2003)", "In IIS Manager",
	     "Relay restrictions"},
	    {"qmail", "qmail", "qmail-smtpd relays for clients", "RELAYCLIENT=\"\" only"},
	    {"opensmtpd", "OpenSMTPD", "OpenSMTPD relays when a match rule", "smtpd -n"},
	    {"domino", "IBM/Lotus Domino", "In the Domino Directory", "SMTP Inbound Controls"},
	    {"mdaemon", "any mail server", "This server passes on mail from anyone to anyone.",
	     "submission port 587"},
	    {"", "any mail server", "This server passes on", "Then test it again."},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct advice_entry *e = advice_for(a, want[i].product);
		assert_string_equal(e->name, want[i].name);
		if (strncmp(e->text, want[i].start, strlen(want[i].start)) != 0 ||
		    !strstr(e->text, want[i].has))
			fail_msg("%s: %s", want[i].product, e->text);
		assert_null(strstr(e->text, "  ")); /* lines joined with one space */
	}
}

static void who_gets_advice(void **st)
{
	(void)st;
	struct knowledge k = {.advice = shipped()};
	static const struct {
		const char *line;
		const char *name; /* NULL: none */
	} c[] = {
	    {"{\"verdict\":\"open\",\"fingerprint\":{\"product\":\"exim\"}}", "Exim"},
	    {"{\"verdict\":\"open-anonymous\",\"fingerprint\":null}", "any mail server"},
	    {"{\"verdict\":\"accepted\",\"fingerprint\":\"postfix\"}", "Postfix"},
	    {"{\"verdict\":\"closed\",\"flags\":[\"bounces\"],\"fingerprint\":{\"product\":"
	     "\"qmail\"}}",
	     "qmail"},
	    {"{\"verdict\":\"closed\",\"fingerprint\":{\"product\":\"exim\"}}", NULL},
	    {"{\"verdict\":\"deferred\"}", NULL},
	    {"{\"verdict\":\"unreachable\",\"flags\":[]}", NULL},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		json_t *h = json_loads(c[i].line, 0, NULL);
		assert_non_null(h);
		const struct advice_entry *e = knowledge_advice(&k, h);
		if (c[i].name)
			assert_string_equal(e ? e->name : "(none)", c[i].name);
		else
			assert_null(e);
		json_decref(h);
	}
	json_t *open = json_pack("{s:s}", "verdict", "open");
	assert_null(knowledge_advice(NULL, open)); /* nothing loaded: no advice */
	json_decref(open);
}

static void expect_err(const char *text, const char *want)
{
	char err[300];
	assert_null(advice_parse(text, "f.conf", err, sizeof(err)));
	assert_string_equal(err, want);
}

static void parse_errors(void **st)
{
	(void)st;
	expect_err("# c\nsome words\n", "f.conf:2: text before the first [PRODUCT] NAME line");
	expect_err("[postfix]\ntext\n", "f.conf:1: expected [PRODUCT ...] NAME");
	expect_err("[] Name\ntext\n", "f.conf:1: expected [PRODUCT ...] NAME");
	expect_err("[postfix] Postfix\ntext\n", "f.conf:2: no [generic] paragraph");
	expect_err("[generic] Any\ntext\n[exim] Exim\n", "f.conf:3: [exim] has no paragraph");
	char err[300];
	struct advice *a =
	    advice_parse("[generic  x] Any\n  one\n\n two \n", "f", err, sizeof(err));
	assert_non_null(a);
	assert_string_equal(advice_for(a, "x")->text, "one two ");
	advice_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(paragraphs),
	    cmocka_unit_test(who_gets_advice),
	    cmocka_unit_test(parse_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
