#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "msgscan.h"
#include "token.h"

static const uint8_t KEY[] = "msgscan-test-key-0123456789";
#define KEYLEN (sizeof(KEY) - 1)

static void test_hdr_next(void **st)
{
	(void)st;
	const char msg[] = "Received: from a\r\n\tby b; date\r\nSubject: hi\r\n\r\nbody\r\n";
	size_t pos = 0;
	struct hdr_field f;
	assert_int_equal(hdr_next(msg, sizeof(msg) - 1, &pos, &f), 1);
	assert_int_equal(f.namelen, 8);
	assert_memory_equal(f.name, "Received", 8);
	assert_int_equal(f.valuelen, 20);
	char u[64];
	size_t n = hdr_unfold(f.value, f.valuelen, u, sizeof(u));
	assert_int_equal(n, 17);
	assert_memory_equal(u, "from a by b; date", 17);
	assert_int_equal(hdr_next(msg, sizeof(msg) - 1, &pos, &f), 1);
	assert_memory_equal(f.value, " hi", 3);
	assert_int_equal(hdr_next(msg, sizeof(msg) - 1, &pos, &f), 0);
	assert_memory_equal(msg + pos, "body", 4);
	/* a line that is not a field ends the header section */
	pos = 0;
	assert_int_equal(hdr_next("no colon here\r\n", 15, &pos, &f), -1);
	/* bare LF line breaks too */
	pos = 0;
	assert_int_equal(hdr_next("A: 1\n b\nB: 2\n\nx", 15, &pos, &f), 1);
	assert_int_equal(f.valuelen, 5);
}

static void make_token(const char *addr, int test, char *out)
{
	struct token_fields f = {.scan_id = 0x01020304, .port = 25, .test = (uint8_t)test};
	ipaddr_parse(addr, &f.target);
	token_encode(KEY, KEYLEN, &f, out);
}

static const char *strs(json_t *arr, size_t i)
{
	return json_string_value(json_array_get(arr, i));
}

static void test_run_all_places(void **st)
{
	(void)st;
	char err[128], tok[TOKEN_MAX + 1], msg[2048], rcpt[128], upper[TOKEN_MAX + 1];
	make_token("192.0.2.7", 5, tok);
	for (size_t i = 0; i <= strlen(tok); i++)
		upper[i] = (char)(tok[i] >= 'a' && tok[i] <= 'z' ? tok[i] - 32 : tok[i]);
	struct msgscan *ms = msgscan_new(KEY, KEYLEN, 65536, 50, err, sizeof(err));
	assert_non_null(ms);
	snprintf(
	    msg, sizeof(msg),
	    "Received: from relay.example (relay.example [192.0.2.7])\r\n"
	    "\tby sink.lab (Postfix) with ESMTP id ABC for <rt-%s@sink.lab>; Sat, 21 Nov 2026\r\n"
	    "Received: from prober (prober [198.51.100.1]) by relay.example (Postfix) with SMTP "
	    "id XYZ; Sat, 21 Nov 2026\r\n"
	    "X-Originating-IP: [203.0.113.9]\r\n"
	    "Subject: relay test rt-%s\r\n"
	    "Message-ID: <rt-%s@relaytrap>\r\n"
	    "X-Relaytrap-Token: %s\r\n\r\nThis is a relay test rt-%s.\r\n",
	    tok, tok, tok, tok, upper);
	snprintf(rcpt, sizeof(rcpt), "rt-%s@sink.lab", tok);
	struct strlist rc = {0};
	strlist_add(&rc, rcpt);
	json_t *r = msgscan_run(ms, "relaytest@example.org", msg, strlen(msg), &rc);
	assert_non_null(r);
	json_t *toks = json_object_get(r, "tokens");
	assert_int_equal(json_array_size(toks), 1); /* case-folded copy is the same token */
	json_t *t = json_array_get(toks, 0);
	assert_string_equal(json_string_value(json_object_get(t, "status")), "valid");
	assert_string_equal(json_string_value(json_object_get(t, "target")), "192.0.2.7");
	assert_int_equal(json_integer_value(json_object_get(t, "test")), 5);
	json_t *where = json_object_get(t, "found_in");
	assert_int_equal(json_array_size(where), 5);
	assert_string_equal(strs(where, 0), "rcpt");
	assert_string_equal(strs(where, 4), "body");
	assert_false(json_boolean_value(json_object_get(r, "tokens_disagree")));
	json_t *chain = json_object_get(r, "received");
	assert_int_equal(json_array_size(chain), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(chain, 1), "from_addr")),
	    "198.51.100.1");
	json_t *ips = json_object_get(r, "trace_ips");
	assert_int_equal(json_array_size(ips), 3);
	assert_string_equal(strs(ips, 0), "192.0.2.7");
	assert_string_equal(strs(ips, 1), "198.51.100.1");
	assert_string_equal(strs(ips, 2), "203.0.113.9");
	json_decref(r);
	strlist_free(&rc);
	msgscan_free(ms);
}

static void test_disagree_and_forged(void **st)
{
	(void)st;
	char err[128], a[TOKEN_MAX + 1], b[TOKEN_MAX + 1], msg[1024];
	make_token("192.0.2.7", 1, a);
	make_token("192.0.2.7", 2, b);
	struct msgscan *ms = msgscan_new(KEY, KEYLEN, 65536, 50, err, sizeof(err));
	snprintf(msg, sizeof(msg), "Subject: rt-%s\r\nX-Relaytrap-Token: %s\r\n\r\n", a, b);
	json_t *r = msgscan_run(ms, "relaytest@example.org", msg, strlen(msg), NULL);
	assert_int_equal(json_array_size(json_object_get(r, "tokens")), 2);
	assert_true(json_boolean_value(json_object_get(r, "tokens_disagree")));
	json_decref(r);
	/* flip a character: the tag no longer verifies */
	a[10] = a[10] == 'a' ? 'b' : 'a';
	snprintf(msg, sizeof(msg), "Subject: rt-%s\r\n\r\n", a);
	r = msgscan_run(ms, "relaytest@example.org", msg, strlen(msg), NULL);
	const char *s = json_string_value(
	    json_object_get(json_array_get(json_object_get(r, "tokens"), 0), "status"));
	assert_true(!strcmp(s, "forged") || !strcmp(s, "malformed"));
	json_decref(r);
	assert_true(msgscan_has_token(ms, b, 0, NULL) == 0);
	char addr[80];
	snprintf(addr, sizeof(addr), "sink.lab!rt-%s", b);
	assert_true(msgscan_has_token(ms, addr, strlen(addr), NULL));
	msgscan_free(ms);
}

static void test_header_limit_and_binary(void **st)
{
	(void)st;
	char err[128];
	struct msgscan *ms = msgscan_new(NULL, 0, 1024, 2, err, sizeof(err));
	char msg[8192];
	size_t o = 0;
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(
		    msg + o, sizeof(msg) - o,
		    "Received: from h%d (h [192.0.2.%d]) by x (Postfix) with SMTP id %d; d\r\n", i,
		    i, i);
	msg[o++] = '\xff'; /* invalid UTF-8 must not break the JSON */
	json_t *r = msgscan_run(ms, "relaytest@example.org", msg, o, NULL);
	assert_non_null(r);
	assert_int_equal(json_array_size(json_object_get(r, "received")), 2);
	assert_true(json_boolean_value(json_object_get(r, "headers_truncated")));
	char *dump = json_dumps(r, 0);
	assert_non_null(dump);
	free(dump);
	json_decref(r);
	msgscan_free(ms);
}

/* Received headers exactly as the lab's real servers wrote them (tests/lab, captured from the
 * sink's Maildir): folded with CRLF TAB, Exim's spread over six lines, OpenSMTPD's "<unknown>"
 * rDNS, Postfix's two hops, and a Postfix header_checks REPLACE that hides the client. */
static const struct lab_sample {
	const char *header, *family, *helo, *rdns, *addr, *by, *id, *for_addr;
} lab_samples[] = {
    {"Received: from vm (unknown [127.70.9.1])\r\n\tby pf-open.lab (Postfix) with ESMTP id "
     "8D685A90948\r\n\tfor <rt-asirr22yp5daaaqadealaovooksn3dkt@sink.lab>; Sat, 21 Nov 2026 "
     "09:41:06 +0000 (UTC)\r\n",
     "postfix", "vm", "unknown", "127.70.9.1", "pf-open.lab", "8D685A90948",
     "rt-asirr22yp5daaaqadealaovooksn3dkt@sink.lab"},
    {"Received: from [127.70.9.1] (helo=vm)\r\n\tby exim-open.lab with esmtp (Exim 4.96)\r\n\t"
     "(envelope-from <relaytest@sink.lab>)\r\n\tid 1xUhak-0001II-1s\r\n\tfor "
     "rt-asirr22yp5dacaqadeac5yrtotepszcu@sink.lab;\r\n\tSat, 21 Nov 2026 09:41:06 +0000\r\n",
     "exim", "vm", "", "127.70.9.1", "exim-open.lab", "1xUhak-0001II-1s",
     "rt-asirr22yp5dacaqadeac5yrtotepszcu@sink.lab"},
    {"Received: from vm (<unknown> [127.70.9.1])\r\n\tby smtpd-open.lab (OpenSMTPD) with ESMTP "
     "id 155ccebf\r\n\tfor <rt-asirr22yp5daeaqadeaaajtkszzr64fd@sink.lab>;\r\n\tSat, 21 Nov "
     "2026 09:41:06 +0000 (UTC)\r\n",
     "opensmtpd", "vm", "<unknown>", "127.70.9.1", "smtpd-open.lab", "155ccebf",
     "rt-asirr22yp5daeaqadeaaajtkszzr64fd@sink.lab"},
    {"Received: from localhost (localhost [127.0.0.1])\r\n\tby pf-hide.lab (Postfix) with ESMTP "
     "id 9656DA9094B\r\n\tfor <rt-asirr22yp5daabiadeaesrnxvrdqu5gw@sink.lab>; Sat, 21 Nov 2026 "
     "09:41:06 +0000 (UTC)\r\n",
     "postfix", "localhost", "localhost", "127.0.0.1", "pf-hide.lab", "9656DA9094B",
     "rt-asirr22yp5daabiadeaesrnxvrdqu5gw@sink.lab"},
    {"Received: from pf-smarthost.lab (unknown [127.70.0.8])\r\n\tby pf-hub.lab (Postfix) with "
     "ESMTP id 9A08EA9095B\r\n\tfor <rt-asirr22yp5daacaadean2hv6ae7hzpyi@sink.lab>; Sat, 21 Nov "
     "2026 09:41:06 +0000 (UTC)\r\n",
     "postfix", "pf-smarthost.lab", "unknown", "127.70.0.8", "pf-hub.lab", "9A08EA9095B",
     "rt-asirr22yp5daacaadean2hv6ae7hzpyi@sink.lab"},
};

static const char *field(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static void test_lab_received(void **st)
{
	(void)st;
	char err[128];
	struct msgscan *ms = msgscan_new(NULL, 0, 65536, 50, err, sizeof(err));
	assert_non_null(ms);
	for (size_t i = 0; i < sizeof(lab_samples) / sizeof(lab_samples[0]); i++) {
		const struct lab_sample *s = &lab_samples[i];
		char msg[2048];
		int n = snprintf(msg, sizeof(msg), "%sSubject: t\r\n\r\nbody\r\n", s->header);
		assert_true(n > 0 && (size_t)n < sizeof(msg));
		json_t *r = msgscan_run(ms, "relaytest@example.org", msg, (size_t)n, NULL);
		assert_non_null(r);
		json_t *chain = json_object_get(r, "received");
		assert_int_equal(json_array_size(chain), 1);
		json_t *h = json_array_get(chain, 0);
		print_message("lab sample %zu (%s)\n", i, s->family);
		assert_true(json_is_true(json_object_get(h, "parsed")));
		assert_string_equal(field(h, "family"), s->family);
		assert_string_equal(field(h, "helo"), s->helo);
		assert_string_equal(field(h, "from_rdns"), s->rdns);
		assert_string_equal(field(h, "from_addr"), s->addr);
		assert_string_equal(field(h, "by"), s->by);
		assert_string_equal(field(h, "id"), s->id);
		assert_string_equal(field(h, "for"), s->for_addr);
		assert_true(strstr(field(h, "date"), "Sat, 21 Nov 2026 09:41:06 +0000") != NULL);
		json_t *ips = json_object_get(r, "trace_ips");
		assert_int_equal(json_array_size(ips), 1);
		assert_string_equal(strs(ips, 0), s->addr);
		json_decref(r);
	}
	msgscan_free(ms);
}

/* The header section is read up to header_max. When that limit falls inside a field's name,
 * the section is still cut, and says so (it used to say headers_truncated false, a 1.29 MB
 * header section reported as not truncated). Also inside a value, and not when it ends in
 * time. */
static void test_headers_truncated_anywhere(void **st)
{
	(void)st;
	char err[128], msg[2048];
	struct msgscan *ms = msgscan_new(KEY, KEYLEN, 1000, 50, err, sizeof(err));
	assert_non_null(ms);
	for (int cut = 0; cut < 3; cut++) {
		/* complete fields up to 990 bytes, then one whose name, value or end holds byte
		 * 1000 */
		size_t o = 0;
		while (o < 990 - 10) {
			int n = snprintf(msg + o, sizeof(msg) - o, "A: %.*s\r\n",
			                 (int)(990 - o - 5 < 40 ? 990 - o - 5 : 40),
			                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
			o += (size_t)n;
		}
		assert_int_equal(o, 990);
		const char *tail = cut == 0   ? "X-Header-Name-Longer-Than-Ten: v\r\n\r\nbody\r\n"
		                   : cut == 1 ? "B: 123456789012345678\r\n\r\nbody\r\n"
		                              : "B: 1\r\n\r\nbody\r\n";
		snprintf(msg + o, sizeof(msg) - o, "%s", tail);
		json_t *r = msgscan_run(ms, "a@b.example", msg, strlen(msg), NULL);
		assert_int_equal(json_is_true(json_object_get(r, "headers_truncated")), cut < 2);
		json_decref(r);
	}
	msgscan_free(ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hdr_next),
	    cmocka_unit_test(test_run_all_places),
	    cmocka_unit_test(test_disagree_and_forged),
	    cmocka_unit_test(test_header_limit_and_binary),
	    cmocka_unit_test(test_lab_received),
	    cmocka_unit_test(test_headers_truncated_anywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
