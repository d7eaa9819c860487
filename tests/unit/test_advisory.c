/* Advisories: the version comparison, version ranges, parse errors naming FILE:LINE, and the
 * shipped conf/advisories.conf at the edges of every range it states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "advisory.h"

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static void vercmp(void **st)
{
	(void)st;
	static const struct {
		const char *a, *b;
		int want;
	} c[] = {
	    {"4.92", "4.92", 0},
	    {"4.92.1", "4.92", 1},
	    {"4.9", "4.10", -1},
	    {"4.09", "4.9", 0},
	    {"2.0rc1", "2.0", -1},
	    {"8.5.3FP6", "8.5.3", 1},
	    {"8.5.3FP6", "8.5.4", -1},
	    {"5.5.2448.0", "5.5.2448", 0},
	    {"3.8.4", "3.8.5", -1},
	    {"6.6.1p1", "6.6.1", 1},
	    {"6.6.2p1", "6.6.1", 1},
	    {"10.0", "9.99", 1},
	    {"1.0a", "1.0b", -1},
	    {"1.0A", "1.0a", 0},
	    {"", "", 0},
	    {"", "1", -1},
	    {"3.0.0", "3", 0},
	    {"2.0beta", "2.0.1", -1},
	    {"1", "", 1},
	    {"99999999999999999999", "9", 1},
	    {"6.7.3-B2425", "6.7.3", 1},
	    {"8.22 2167-1", "8.22", 1},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (sign(advis_vercmp(c[i].a, c[i].b)) != c[i].want)
			fail_msg("%s vs %s: %d", c[i].a, c[i].b, advis_vercmp(c[i].a, c[i].b));
		if (sign(advis_vercmp(c[i].b, c[i].a)) != -c[i].want)
			fail_msg("%s vs %s (reversed)", c[i].b, c[i].a);
	}
}

static void ranges(void **st)
{
	(void)st;
	assert_int_equal(advis_in_range("*", ""), 1);
	assert_int_equal(advis_in_range("*", "1.2"), 1);
	assert_int_equal(advis_in_range("<8.8.9", "8.8.8"), 1);
	assert_int_equal(advis_in_range("<8.8.9", "8.8.9"), 0);
	assert_int_equal(advis_in_range("<8.8.9", ""), 0); /* unknown version: not claimed */
	assert_int_equal(advis_in_range("<=3", "3.0"), 1);
	assert_int_equal(advis_in_range(">3", "3.0.1"), 1);
	assert_int_equal(advis_in_range(">=3.1", "3.0.9"), 0);
	assert_int_equal(advis_in_range("=4.96", "4.96"), 1);
	assert_int_equal(advis_in_range("4.87..4.91", "4.87"), 1);
	assert_int_equal(advis_in_range("4.87..4.91", "4.91"), 1);
	assert_int_equal(advis_in_range("4.87..4.91", "4.92"), 0);
	assert_int_equal(advis_in_range("4.87..4.91", "4.86.2"), 0);
	assert_int_equal(advis_in_range("<1,2.0..2.5", "2.3"), 1);
	static const char *const bad[] = {"", ",", "..4", "4..", "<", "<=", "~1", "1.0", "<1,,"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (advis_in_range(bad[i], "1") != -1)
			fail_msg("'%s' accepted", bad[i]);
}

static void expect_err(const char *text, const char *want)
{
	char err[400];
	assert_null(advis_parse(text, "a.conf", err, sizeof(err)));
	assert_string_equal(err, want);
}

static void parse_errors(void **st)
{
	(void)st;
	expect_err("x\n", "a.conf:1: expected versions (at most 159 bytes)");
	expect_err("# c\nx ~1 ID high \"t\" r\n",
	           "a.conf:2: '~1': expected versions *, <V, <=V, >V, >=V, =V or A..B, "
	           "comma-separated");
	expect_err("x * ID\n", "a.conf:1: expected a severity (at most 11 bytes)");
	expect_err("x * ID severe \"t\" r\n",
	           "a.conf:1: 'severe': expected critical, high, medium, low or info");
	expect_err("x * ID high \"t\"\n", "a.conf:1: expected a reference (at most 199 bytes)");
	expect_err("x * ID high \"t\" r more\n", "a.conf:1: unexpected text after the reference");
	char err[400];
	struct advtable *t =
	    advis_parse("x * ID info \"a text\" ref\n", "a.conf", err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->n, 1);
	assert_string_equal(t->a[0].text, "a text");
	assert_int_equal(t->a[0].line, 1);
	advis_free(t);
}

/* The identifiers the shipped file gives product at version, space-separated. */
static const char *ids(const struct advtable *t, const char *product, const char *version)
{
	static char out[400];
	const struct advisory *a[16];
	int n = advis_match(t, product, version, a, 16);
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? " " : "",
		         a[i]->id);
	return out;
}

static void shipped_entries(void **st)
{
	(void)st;
	char err[400];
	struct advtable *t = advis_parse(advisories_default_text, "default", err, sizeof(err));
	if (!t)
		fail_msg("%s", err);
	assert_int_equal(t->n, 11);
	assert_string_equal(ids(t, "sendmail", "8.8.8"), "classic-sendmail-helo CVE-2023-51765");
	assert_string_equal(ids(t, "sendmail", "8.8.9"), "CVE-2023-51765");
	assert_string_equal(ids(t, "sendmail", "8.9.0"), "classic-sendmail-colon CVE-2023-51765");
	assert_string_equal(ids(t, "sendmail", "8.9.1"), "classic-sendmail-colon CVE-2023-51765");
	assert_string_equal(ids(t, "sendmail", "8.9.3"), "CVE-2023-51765");
	assert_string_equal(ids(t, "sendmail", "8.17.2"), "CVE-2023-51765");
	assert_string_equal(ids(t, "sendmail", "8.18.1"), "");
	assert_string_equal(ids(t, "sendmail", ""), "");
	assert_string_equal(ids(t, "exchange", "5.5.1960.6"), "classic-exchange-55");
	assert_string_equal(ids(t, "exchange", "5.5.2448.0"), "");
	assert_string_equal(ids(t, "exchange", ""), "");
	assert_string_equal(ids(t, "domino", "4.6.1"), "classic-notes-462");
	assert_string_equal(ids(t, "domino", "4.6.2"), "");
	assert_string_equal(ids(t, "domino", "8.5.3FP6"), "");
	assert_string_equal(ids(t, "qmail", ""), "classic-qmail-relayclient");
	assert_string_equal(ids(t, "exim", "4.86.2"), "CVE-2020-28017 CVE-2023-51766");
	assert_string_equal(ids(t, "exim", "4.87"), "CVE-2019-10149 CVE-2020-28017 CVE-2023-51766");
	assert_string_equal(ids(t, "exim", "4.91"), "CVE-2019-10149 CVE-2020-28017 CVE-2023-51766");
	assert_string_equal(ids(t, "exim", "4.92"), "CVE-2020-28017 CVE-2023-51766");
	assert_string_equal(ids(t, "exim", "4.94.2"), "CVE-2023-51766");
	assert_string_equal(ids(t, "exim", "4.97"), "CVE-2023-51766");
	assert_string_equal(ids(t, "exim", "4.97.1"), "");
	assert_string_equal(ids(t, "opensmtpd", "6.3.9"), "");
	assert_string_equal(ids(t, "opensmtpd", "6.4.0"), "CVE-2020-7247");
	assert_string_equal(ids(t, "opensmtpd", "6.6.1"), "CVE-2020-7247");
	assert_string_equal(ids(t, "opensmtpd", "6.6.1p1"), "CVE-2020-7247");
	assert_string_equal(ids(t, "opensmtpd", "6.6.2"), "");
	assert_string_equal(ids(t, "opensmtpd", "6.6.2p1"), "");
	/* the releases that brought smtpd_forbid_bare_newline are the first not listed */
	assert_string_equal(ids(t, "postfix", "2.11.3"), "CVE-2023-51764");
	assert_string_equal(ids(t, "postfix", "3.5.22"), "CVE-2023-51764");
	assert_string_equal(ids(t, "postfix", "3.5.23"), "");
	assert_string_equal(ids(t, "postfix", "3.6.0"), "CVE-2023-51764");
	assert_string_equal(ids(t, "postfix", "3.6.12"), "CVE-2023-51764");
	assert_string_equal(ids(t, "postfix", "3.6.13"), "");
	assert_string_equal(ids(t, "postfix", "3.7.8"), "CVE-2023-51764");
	assert_string_equal(ids(t, "postfix", "3.7.9"), "");
	assert_string_equal(ids(t, "postfix", "3.7.11"), "");
	assert_string_equal(ids(t, "postfix", "3.8.3"), "CVE-2023-51764");
	assert_string_equal(ids(t, "postfix", "3.8.4"), "");
	assert_string_equal(ids(t, "postfix", "3.9.0"), "");
	assert_string_equal(ids(t, "postfix", ""), "");
	advis_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(vercmp),
	    cmocka_unit_test(ranges),
	    cmocka_unit_test(parse_errors),
	    cmocka_unit_test(shipped_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
