/* prober/texts.c: a host's reply texts kept once, with the test's RCPT and token as marks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "outcome.h"
#include "texts.h"

#define TOK "abcdefghijklmnopqrstuvwxyz234567"
#define RCPT "<rt-" TOK "@sink.test>"

static const char *get(const struct texts *ts, uint16_t off, const char *rcpt, const char *tok)
{
	static char out[REPLY_TEXT_MAX + 128];
	size_t n = texts_get(ts, off, rcpt, tok, out, sizeof(out));
	assert_int_equal(n, strlen(out));
	return out;
}

/* The same text twice is kept once; different texts each once, byte for byte. */
static void test_kept_once(void **st)
{
	(void)st;
	struct texts ts = {0};
	assert_int_equal(texts_put(&ts, "", 0, NULL, NULL), 0);
	assert_string_equal(get(&ts, 0, NULL, NULL), "");
	uint16_t a = texts_put(&ts, "2.1.0 Ok", 8, RCPT, TOK);
	uint16_t b = texts_put(&ts, "5.7.1 Relay access denied", 25, RCPT, TOK);
	assert_int_equal(a, 1);
	assert_int_equal(b, 10);
	assert_int_equal(texts_put(&ts, "2.1.0 Ok", 8, RCPT, TOK), a);
	assert_int_equal(texts_put(&ts, "5.7.1 Relay access denied", 25, "<x@y>", "zz"), b);
	/* a text that is the end of a kept one is not that one */
	uint16_t c = texts_put(&ts, "Ok", 2, NULL, NULL);
	assert_int_not_equal(c, a + 6);
	assert_int_equal(ts.len, 1 + 9 + 26 + 3);
	assert_memory_equal(ts.b,
	                    "\0"
	                    "2.1.0 Ok\0"
	                    "5.7.1 Relay access denied\0"
	                    "Ok\0",
	                    ts.len);
	assert_string_equal(get(&ts, a, RCPT, TOK), "2.1.0 Ok");
	assert_string_equal(get(&ts, c, RCPT, TOK), "Ok");
	/* n bounds what is read; a NUL ends it */
	assert_int_equal(texts_put(&ts, "2.1.0 Ok and more", 8, NULL, NULL), a);
	assert_int_equal(texts_put(&ts, "Ok\0hidden", 9, NULL, NULL), c);
	texts_free(&ts);
	assert_null(ts.b);
	assert_int_equal(ts.len, 0);
}

/* Postfix repeats the recipient: every test's refusal is one text; reading it gives each
 * test's own recipient back. The token alone is marked where the address is not whole. */
static void test_marks(void **st)
{
	(void)st;
	struct texts ts = {0};
	char r1[200], r2[200];
	snprintf(r1, sizeof(r1), "5.7.1 %s: Relay access denied", RCPT);
	snprintf(r2, sizeof(r2), "5.7.1 %s: Relay access denied", "<rt-other@sink.test>");
	uint16_t a = texts_put(&ts, r1, strlen(r1), RCPT, TOK);
	uint16_t b = texts_put(&ts, r2, strlen(r2), "<rt-other@sink.test>", "other");
	assert_int_equal(a, b);
	assert_string_equal(ts.b + a, "5.7.1 \x01: Relay access denied");
	assert_string_equal(get(&ts, a, RCPT, TOK), r1);
	assert_string_equal(get(&ts, a, "<rt-other@sink.test>", "other"), r2);
	/* rewritten address: the token inside it is marked */
	const char *t3 = "5.1.1 <RT-x@sink.test>... rt-" TOK "@sink.test unknown";
	uint16_t c = texts_put(&ts, t3, strlen(t3), RCPT, TOK);
	assert_string_equal(ts.b + c, "5.1.1 <RT-x@sink.test>... rt-\x02@sink.test unknown");
	assert_string_equal(get(&ts, c, RCPT, TOK), t3);
	/* the marks' own bytes from a server become '?'; nothing else changes */
	const char t4[] = "bad \x01\x02 bytes \x7f\xff";
	uint16_t d = texts_put(&ts, t4, sizeof(t4) - 1, RCPT, TOK);
	assert_string_equal(get(&ts, d, RCPT, TOK), "bad ?? bytes \x7f\xff");
	/* no rcpt or token: nothing is marked */
	uint16_t e = texts_put(&ts, r1, strlen(r1), NULL, "");
	assert_string_equal(get(&ts, e, NULL, NULL), r1);
	/* a small out buffer is filled and ended, never overrun */
	char small[10];
	assert_int_equal(texts_get(&ts, a, RCPT, TOK, small, sizeof(small)), 9);
	assert_string_equal(small, "5.7.1 <rt");
	texts_free(&ts);
}

/* Bounded: past 64 KiB a text is not kept and reads as TEXTS_DROPPED; kept ones still read. */
static void test_bounded(void **st)
{
	(void)st;
	struct texts ts = {0};
	char t[REPLY_TEXT_MAX + 100];
	uint16_t first = 0, last = 0;
	int kept = 0, dropped = 0;
	for (int i = 0; i < 200; i++) {
		memset(t, 'a' + i % 26, sizeof(t));
		int n = snprintf(t, sizeof(t), "%d ", i);
		t[n] = 'x';
		uint16_t off = texts_put(&ts, t, sizeof(t), NULL, NULL); /* cut to 511 bytes */
		if (i == 0)
			first = off;
		if (off == UINT16_MAX) {
			dropped++;
		} else {
			kept++;
			last = off;
		}
		assert_true(ts.len <= TEXTS_MAX + 1);
	}
	assert_int_equal(kept, TEXTS_MAX / REPLY_TEXT_MAX); /* 511 bytes and a NUL each */
	assert_int_equal(dropped, 200 - kept);
	assert_string_equal(get(&ts, UINT16_MAX, NULL, NULL), TEXTS_DROPPED);
	assert_int_equal(strlen(get(&ts, first, NULL, NULL)), REPLY_TEXT_MAX - 1);
	assert_int_equal(strncmp(get(&ts, last, NULL, NULL), "126 ", 4),
	                 0); /* the 127th, i = 126 */
	/* a text kept before is still found when the store is full */
	memset(t, 'a', sizeof(t));
	t[snprintf(t, sizeof(t), "%d ", 0)] = 'x';
	assert_int_equal(texts_put(&ts, t, sizeof(t), NULL, NULL), first);
	texts_free(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kept_once),
	    cmocka_unit_test(test_marks),
	    cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
