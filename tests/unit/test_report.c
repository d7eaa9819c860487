/* Report escaping and rows: HTML and CSV escaping byte by byte, the address sort key, the CSV
 * row and the text-summary line of a host, exact bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "report.h"

/* Runs fn on a memory stream and returns what it wrote (static, overwritten each call). */
static const char *captured(void (*fn)(FILE *, const char *), const char *in)
{
	static char *out;
	size_t n;
	free(out);
	out = NULL;
	FILE *f = open_memstream(&out, &n);
	assert_non_null(f);
	fn(f, in);
	fclose(f);
	return out;
}

static void html_escapes(void **state)
{
	(void)state;
	assert_string_equal(captured(esc_html, "<script>alert(1)</script>"),
	                    "&lt;script&gt;alert(1)&lt;/script&gt;");
	assert_string_equal(captured(esc_html, "\"><img src=x onerror='y'>"),
	                    "&quot;&gt;&lt;img src=x onerror=&#39;y&#39;&gt;");
	assert_string_equal(captured(esc_html, "a&b"), "a&amp;b");
	assert_string_equal(captured(esc_html, "tab\there\nnext"), "tab\there\nnext");
	assert_string_equal(captured(esc_html, "esc\x1b[31m bell\x07 del\x7f cr\r"),
	                    "esc\\x1b[31m bell\\x07 del\\x7f cr\\x0d");
	/* U+202E RIGHT-TO-LEFT OVERRIDE and U+2066 LEFT-TO-RIGHT ISOLATE are shown, not obeyed */
	assert_string_equal(captured(esc_html, "x\xe2\x80\xaey \xe2\x81\xa6z"),
	                    "x\\u202ey \\u2066z");
	/* other UTF-8 passes: e-acute, an en dash (E2 80 93), U+2069's neighbour U+206A */
	assert_string_equal(captured(esc_html, "caf\xc3\xa9 \xe2\x80\x93 \xe2\x81\xaa"),
	                    "caf\xc3\xa9 \xe2\x80\x93 \xe2\x81\xaa");
	assert_string_equal(captured(esc_html, ""), "");
	assert_string_equal(captured(esc_html, NULL), "");
}

static void html_escapes_every_byte(void **state)
{
	(void)state;
	/* one byte at a time: nothing that could open a tag, an entity or end an attribute */
	static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
	for (int c = 1; c < 256; c++) {
		char in[2] = {(char)c, 0};
		const char *o = captured(esc_html, in);
		assert_null(strpbrk(o, "<>\"'"));
		if (strchr("&<>\"'", c)) {
			int known = 0;
			for (int i = 0; i < 5; i++)
				known |= strcmp(o, ents[i]) == 0;
			assert_true(known);
		} else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
			char want[8];
			snprintf(want, sizeof(want), "\\x%02x", c);
			assert_string_equal(o, want);
		} else {
			assert_string_equal(o, in);
		}
	}
}

static void csv_fields(void **state)
{
	(void)state;
	assert_string_equal(captured(esc_csv, "plain"), "plain");
	assert_string_equal(captured(esc_csv, "a,b"), "\"a,b\"");
	assert_string_equal(captured(esc_csv, "say \"hi\""), "\"say \"\"hi\"\"\"");
	assert_string_equal(captured(esc_csv, "two\r\nlines"), "\"two\r\nlines\"");
	assert_string_equal(captured(esc_csv, "=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
	assert_string_equal(captured(esc_csv, "+1"), "\"'+1\"");
	assert_string_equal(captured(esc_csv, "-x"), "\"'-x\"");
	assert_string_equal(captured(esc_csv, "@SUM"), "\"'@SUM\"");
	assert_string_equal(captured(esc_csv, "a=b"), "a=b");
	assert_string_equal(captured(esc_csv, ""), "");
}

static void sort_keys(void **state)
{
	(void)state;
	const char *order[] = {"0.0.0.1",     "9.255.255.255",   "10.0.0.0", "10.0.0.2",
	                       "192.0.2.1",   "255.255.255.255", "::",       "::1",
	                       "2001:db8::1", "fe80::1"};
	char prev[ADDR_SORT_KEY] = "", k[ADDR_SORT_KEY];
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct ipaddr ip;
		assert_int_equal(ipaddr_parse(order[i], &ip), 0);
		addr_sort_key(&ip, k);
		assert_int_equal(strlen(k), ADDR_SORT_KEY - 1);
		assert_true(strcmp(prev, k) < 0);
		memcpy(prev, k, sizeof(k));
	}
	struct ipaddr ip;
	ipaddr_parse("10.1.2.255", &ip);
	addr_sort_key(&ip, k);
	assert_string_equal(k, "40a0102ff000000000000000000000000");
}

static const char host_line[] =
    "{\"type\":\"host\",\"addr\":\"192.0.2.25\",\"port\":25,\"verdict\":\"open\","
    "\"flags\":[\"multi_hop\",\"interrupted\"],\"delivered_via\":\"192.0.2.26\","
    "\"fingerprint\":\"postfix\",\"banner\":\"mx.example ESMTP, \\\"hi\\\"\\nsecond\","
    "\"target_host\":\"mx.example\",\"tests_accepted\":3,\"tests_delivered\":2,"
    "\"tests\":[{\"name\":\"plain\",\"outcome\":\"rejected\",\"delivered\":false},"
    "{\"name\":\"percent\",\"outcome\":\"accepted\",\"delivered\":true},"
    "{\"name\":\"bang\",\"outcome\":\"accepted\",\"delivered\":false},"
    "{\"name\":\"quoted\",\"outcome\":\"accepted\",\"delivered\":true}]}";

static const char *row_of(void (*fn)(FILE *, const json_t *), const char *line)
{
	static char *out;
	size_t n;
	free(out);
	out = NULL;
	json_t *h = json_loads(line, 0, NULL);
	assert_non_null(h);
	FILE *f = open_memstream(&out, &n);
	fn(f, h);
	fclose(f);
	json_decref(h);
	return out;
}

static void csv_row(void **state)
{
	(void)state;
	assert_string_equal(row_of(report_csv_row, host_line),
	                    "192.0.2.25,25,open,multi_hop interrupted,postfix,percent,2,"
	                    "\"mx.example ESMTP, \"\"hi\"\"\nsecond\",,,,\r\n");
	/* the fingerprint object of this version */
	assert_string_equal(
	    row_of(
	        report_csv_row,
	        "{\"addr\":\"192.0.2.2\",\"port\":25,\"verdict\":\"closed\",\"flags\":[],"
	        "\"fingerprint\":{\"product\":\"exim\",\"version\":\"4.96\",\"os\":\"Debian\","
	        "\"source\":\"banner\"},\"banner\":\"mx ESMTP Exim 4.96\",\"tests_delivered\":0}"),
	    "192.0.2.2,25,closed,,exim,,0,mx ESMTP Exim 4.96,4.96,Debian,banner,\r\n");
	assert_string_equal(row_of(report_csv_row, "{\"addr\":\"2001:db8::1\",\"port\":587,"
	                                           "\"verdict\":\"unreachable\",\"flags\":[]}"),
	                    "2001:db8::1,587,unreachable,,,,0,,,,,\r\n");
}

static void text_line(void **state)
{
	(void)state;
	assert_string_equal(row_of(report_text_line, host_line),
	                    "  192.0.2.25 port 25 (mx.example) [postfix] via 192.0.2.26: fell for "
	                    "percent, quoted (2 delivered of 3 accepted)\n");
	/* accepted hosts list what they accepted */
	assert_string_equal(
	    row_of(report_text_line,
	           "{\"addr\":\"192.0.2.9\",\"port\":25,\"verdict\":\"accepted\",\"fingerprint\":"
	           "\"unknown\",\"tests_accepted\":1,\"tests_delivered\":0,\"tests\":[{\"name\":"
	           "\"plain\",\"outcome\":\"accepted\",\"delivered\":false}]}"),
	    "  192.0.2.9 port 25: accepted plain (0 delivered of 1 accepted)\n");
	/* the fingerprint object: product, version and OS */
	assert_string_equal(
	    row_of(report_text_line,
	           "{\"addr\":\"192.0.2.9\",\"port\":25,\"verdict\":\"accepted\",\"fingerprint\":"
	           "{\"product\":\"postfix\",\"version\":\"3.7.11\",\"os\":\"Debian\",\"source\":"
	           "\"banner\"},\"tests_accepted\":1,\"tests_delivered\":0,\"tests\":[{\"name\":"
	           "\"plain\",\"outcome\":\"accepted\",\"delivered\":false}]}"),
	    "  192.0.2.9 port 25 [postfix 3.7.11 (Debian)]: accepted plain (0 delivered of 1 "
	    "accepted)\n");
	/* advisories: a second line that says what the match rests on */
	static const char adv[] =
	    "{\"addr\":\"192.0.2.3\",\"port\":25,\"verdict\":\"open\",\"fingerprint\":{\"product\":"
	    "\"exim\",\"version\":\"4.91\",\"os\":null,\"source\":\"banner\"},\"advisories\":[{"
	    "\"id\":\"CVE-2019-10149\",\"severity\":\"critical\",\"by\":\"banner\"},{\"id\":"
	    "\"CVE-2023-51766\",\"severity\":\"medium\",\"by\":\"banner\"}],\"tests_accepted\":1,"
	    "\"tests_delivered\":1,\"tests\":[{\"name\":\"plain\",\"outcome\":\"accepted\","
	    "\"delivered\":true}]}";
	assert_string_equal(row_of(report_text_line, adv),
	                    "  192.0.2.3 port 25 [exim 4.91]: fell for plain (1 delivered of 1 "
	                    "accepted)\n    known holes by banner: CVE-2019-10149 (critical), "
	                    "CVE-2023-51766 (medium)\n");
	assert_string_equal(row_of(report_csv_row, adv),
	                    "192.0.2.3,25,open,,exim,plain,1,,4.91,,banner,\"CVE-2019-10149 "
	                    "(critical), CVE-2023-51766 (medium)\"\r\n");
	/* a name from PTR says so */
	assert_string_equal(
	    row_of(report_text_line,
	           "{\"addr\":\"192.0.2.7\",\"port\":25,\"verdict\":\"open\",\"target_host\":"
	           "\"mx7.example\",\"target_host_from\":\"ptr\",\"tests_accepted\":1,"
	           "\"tests_delivered\":1,\"tests\":[{\"name\":\"plain\",\"outcome\":"
	           "\"accepted\",\"delivered\":true}]}"),
	    "  192.0.2.7 port 25 (mx7.example, PTR): fell for plain (1 delivered of 1 accepted)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(html_escapes), cmocka_unit_test(html_escapes_every_byte),
	    cmocka_unit_test(csv_fields),   cmocka_unit_test(sort_keys),
	    cmocka_unit_test(csv_row),      cmocka_unit_test(text_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
