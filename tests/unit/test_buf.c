#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_buf_append_consume(void **st)
{
	(void)st;
	struct buf b;
	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "abcd", 4), 0);
	assert_int_equal(buf_append(&b, "efgh", 4), 0);
	assert_int_equal(buf_append(&b, "i", 1), -1); /* over the cap: nothing appended */
	assert_int_equal(buf_len(&b), 8);
	buf_consume(&b, 3);
	assert_memory_equal(buf_head(&b), "defgh", 5);
	assert_int_equal(buf_append(&b, "ijk", 3), 0); /* compacts instead of growing past max */
	assert_memory_equal(buf_head(&b), "defghijk", 8);
	buf_consume(&b, 8);
	assert_null(b.data); /* empty buffers give their memory back */
	buf_free(&b);
	/* taking back what was appended last */
	buf_init(&b, 64);
	buf_append(&b, "hello world", 11);
	buf_consume(&b, 2);
	buf_unappend(&b, 6);
	assert_int_equal(buf_len(&b), 3);
	assert_memory_equal(buf_head(&b), "llo", 3);
	buf_unappend(&b, 99);
	assert_int_equal(buf_len(&b), 0);
	buf_free(&b);
}

static void test_buf_take(void **st)
{
	(void)st;
	struct buf b;
	size_t n;
	buf_init(&b, 64);
	buf_append(&b, "xxhello", 7);
	buf_consume(&b, 2); /* what was consumed is not handed over */
	char *p = buf_take(&b, &n);
	assert_non_null(p);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "hello", 5);
	assert_null(b.data); /* empty and reusable: the block is the caller's now */
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(buf_append(&b, "again", 5), 0);
	free(p);
	buf_free(&b);
	p = buf_take(&b, &n); /* nothing there: still a block to free */
	assert_non_null(p);
	assert_int_equal(n, 0);
	free(p);
}

static void test_line_frame_whole(void **st)
{
	(void)st;
	size_t ll, used;
	int fl;
	assert_int_equal(line_frame("HELO x\r\nNOOP\r\n", 14, 100, &ll, &used, &fl), LINE_OK);
	assert_int_equal(ll, 6);
	assert_int_equal(used, 8);
	assert_int_equal(fl, 0);
	assert_int_equal(line_frame("NOOP\n", 5, 100, &ll, &used, &fl), LINE_OK);
	assert_int_equal(ll, 4);
	assert_int_equal(used, 5);
	assert_int_equal(fl, LINE_BARE_LF);
	assert_int_equal(line_frame("a\0b\r\n", 5, 100, &ll, &used, &fl), LINE_OK);
	assert_int_equal(fl, LINE_HAS_NUL);
	assert_int_equal(line_frame("\r\n", 2, 100, &ll, &used, &fl), LINE_OK);
	assert_int_equal(ll, 0);
}

static void test_line_frame_limits(void **st)
{
	(void)st;
	size_t ll, used;
	int fl;
	/* exactly max bytes plus CRLF fits */
	assert_int_equal(line_frame("abcd\r\n", 6, 4, &ll, &used, &fl), LINE_OK);
	assert_int_equal(ll, 4);
	/* max bytes and a CR: still waiting for the LF */
	assert_int_equal(line_frame("abcd\r", 5, 4, &ll, &used, &fl), LINE_NEED);
	assert_int_equal(line_frame("abcde\r\n", 7, 4, &ll, &used, &fl), LINE_TOO_LONG);
	assert_int_equal(used, 7); /* the terminator was seen: the caller can skip the line */
	assert_int_equal(line_frame("abcdef", 6, 4, &ll, &used, &fl), LINE_TOO_LONG);
	assert_int_equal(used, 0); /* no terminator yet: the caller must discard */
}

static void test_line_frame_bytewise(void **st)
{
	(void)st;
	const char *in = "EHLO a\r\nMAIL FROM:<x@y>\nRSET\r\n";
	const size_t want[] = {6, 15, 4};
	struct buf b;
	buf_init(&b, 64);
	int got = 0;
	for (size_t i = 0; i < strlen(in); i++) {
		buf_append(&b, in + i, 1);
		size_t ll, used;
		int fl;
		while (line_frame(buf_head(&b), buf_len(&b), 32, &ll, &used, &fl) == LINE_OK) {
			assert_int_equal(ll, want[got]);
			got++;
			buf_consume(&b, used);
		}
	}
	assert_int_equal(got, 3);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_append_consume),  cmocka_unit_test(test_buf_take),
	    cmocka_unit_test(test_line_frame_whole),    cmocka_unit_test(test_line_frame_limits),
	    cmocka_unit_test(test_line_frame_bytewise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
