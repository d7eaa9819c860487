/* Notices: the shipped template, header fields kept on their lines and folded, values from
 * the network escaped, the file name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notice.h"

static const char host_line[] =
    "{\"addr\":\"2001:db8::25\",\"port\":587,\"scan_id\":\"0a0b0c0d\",\"verdict\":\"open\","
    "\"target_host\":\"a\\r\\nBcc: x@example.com\",\"fingerprint\":{\"product\":\"postfix\","
    "\"version\":\"3.7.11\",\"os\":null,\"source\":\"banner\"},\"started\":1795885169,"
    "\"prober_addrs\":[\"2001:db8::1\"],\"tests\":[{\"name\":\"plain\",\"test_number\":0,"
    "\"token\":\"abc\",\"outcome\":\"accepted\",\"delivered\":true}],\"deliveries\":[{"
    "\"test\":\"plain\",\"test_number\":0,\"peer_addr\":\"2001:db8::25\",\"unix_time\":"
    "1795885170,\"received\":[{\"raw\":\"from x\\n\\tby y\"}],\"prober_visible\":false}]}";

static char *render(const char *tmpl)
{
	json_t *h = json_loads(host_line, 0, NULL);
	assert_non_null(h);
	struct notice_ctx ctx = {.contact = "Abuse desk <abuse@desk.example>, +1 555",
	                         .prober_host = "prober.example",
	                         .now = 1795885200};
	char *m = notice_render(tmpl, h, &ctx);
	json_decref(h);
	assert_non_null(m);
	return m;
}

static void shipped_template(void **st)
{
	(void)st;
	char err[300];
	assert_int_equal(notice_check(notice_default_text, "default", err, sizeof(err)), 0);
	char *m = render(notice_default_text);
	assert_non_null(strstr(m, "Date: Sat, 28 Nov 2026 17:00:00 +0000\nFrom: "
	                          "abuse@desk.example\nTo: postmaster@[IPv6:2001:db8::25]\n"));
	assert_non_null(strstr(m, "\nX-Relaytrap-Token: abc\n\nHello,\n"));
	assert_non_null(strstr(m, "(a\\x0d\nBcc: x@example.com) relays mail"));
	assert_non_null(strstr(m, "    Received: from x  by y\n  The prober's address is not"));
	assert_non_null(strstr(m, "The server says it is: postfix 3.7.11\n\nHow to close"));
	free(m);
}

static void header_fields(void **st)
{
	(void)st;
	char *m = render("Subject: {target_host} " /* long: folded at a blank */
	                 "aaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff "
	                 "gggggggggg\nX-Empty: x\n {fix_name}\nMessage-ID: <{message_id}>\n\n"
	                 "{contact}\n");
	assert_string_equal(
	    m, "Subject: a\\x0d?Bcc: x@example.com aaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd\n"
	       " eeeeeeeeee ffffffffff gggggggggg\nX-Empty: x\n"
	       "Message-ID: <relaytrap-notice.0a0b0c0d.2001-db8--25.587.1795885200@prober."
	       "example>\n\nAbuse desk <abuse@desk.example>, +1 555\n");
	free(m);
	char name[100];
	json_t *h = json_loads(host_line, 0, NULL);
	notice_filename(h, name, sizeof(name));
	assert_string_equal(name, "relay-2001_db8__25-587.eml");
	json_decref(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shipped_template),
	    cmocka_unit_test(header_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
