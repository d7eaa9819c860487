#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "spool.h"

/* Every prefix of a header shorter than itself needs more; the whole gives its length. */
static void test_header_round_trip_byte_by_byte(void **st)
{
	(void)st;
	char h[SPOOL_HEADER_MAX];
	size_t m, r, n = spool_header(h, 1523, 987);
	assert_int_equal(n, 14);
	assert_memory_equal(h, "RTS1 1523 987\n", 14);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(spool_header_parse(h, i, &m, &r), 0);
	m = r = 7;
	assert_int_equal(spool_header_parse(h, n, &m, &r), 14);
	assert_int_equal(m, 1523);
	assert_int_equal(r, 987);
	char more[64] = "RTS1 0 1\nX";
	assert_int_equal(spool_header_parse(more, strlen(more), &m, &r), 9);
	assert_int_equal(m, 0);
	assert_int_equal(r, 1);
	n = spool_header(h, (size_t)-1, 1);
	assert_int_equal(spool_header_parse(h, n, &m, &r), -1); /* 20 digits: more than 19 */
}

static void test_header_rejects(void **st)
{
	(void)st;
	size_t m, r;
	const char *bad[] = {"X",           "rts1 1 1\n",
	                     "RTS1  1 1\n", "RTS1 01 1\n",
	                     "RTS1 1 1 ",   "RTS1 1\n",
	                     "RTS1 -1 1\n", "RTS1 1 1\r\n",
	                     "\0\0\0\0",    "RTS1 12345678901234567890 1\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i][0] ? strlen(bad[i]) : 4;
		assert_int_equal(spool_header_parse(bad[i], len, &m, &r), -1);
	}
	assert_int_equal(spool_header_parse("RTS1 1234567890123456789", 24, &m, &r), 0);
	assert_int_equal(spool_header_parse("RTS1 12345678901234567890", 25, &m, &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_round_trip_byte_by_byte),
	    cmocka_unit_test(test_header_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
