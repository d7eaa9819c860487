#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dotdata.h"

struct result {
	char out[512];
	size_t outlen;
	size_t consumed; /* where the end was found, or n */
	int done, flags;
};

/* Feeds in with every chunk size from 1 to n and checks all splits agree. */
static void feed(const char *in, size_t n, size_t limit, struct result *res)
{
	for (size_t chunk = 1; chunk <= n; chunk++) {
		struct dotdata d;
		struct buf out;
		size_t pos = 0;
		int done = 0;
		dotdata_init(&d, limit);
		buf_init(&out, limit);
		while (pos < n && !done) {
			size_t len = n - pos < chunk ? n - pos : chunk;
			pos += dotdata_feed(&d, in + pos, len, &out, &done);
		}
		if (chunk == 1) {
			res->outlen = buf_len(&out);
			memcpy(res->out, buf_head(&out), res->outlen);
			res->consumed = pos;
			res->done = done;
			res->flags = d.flags;
		} else {
			assert_int_equal(buf_len(&out), res->outlen);
			assert_memory_equal(buf_head(&out), res->out, res->outlen);
			assert_int_equal(pos, res->consumed);
			assert_int_equal(done, res->done);
			assert_int_equal(d.flags, res->flags);
		}
		buf_free(&out);
	}
}

#define FEED(lit, limit, res) feed(lit, sizeof(lit) - 1, limit, res)

static void test_simple_and_leftover(void **st)
{
	(void)st;
	struct result r;
	FEED("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n", 512, &r);
	assert_true(r.done);
	assert_int_equal(r.consumed, 24); /* QUIT stays for the command parser */
	assert_int_equal(r.outlen, 21);
	assert_memory_equal(r.out, "Subject: x\r\n\r\nhello\r\n", 21);
	assert_int_equal(r.flags, 0);
}

static void test_unstuffing(void **st)
{
	(void)st;
	struct result r;
	FEED("a\r\n..b\r\n...\r\n.\r\n", 512, &r);
	assert_true(r.done);
	assert_int_equal(r.outlen, 11);
	assert_memory_equal(r.out, "a\r\n.b\r\n..\r\n", 11);
	FEED(".\r\n", 512, &r); /* empty message */
	assert_true(r.done);
	assert_int_equal(r.outlen, 0);
}

static void test_smuggling_not_end(void **st)
{
	(void)st;
	struct result r;
	FEED("a\n.\r\nb\r\n.\r\n", 512, &r); /* <LF>.<CR><LF> */
	assert_true(r.done);
	assert_int_equal(r.consumed, 11);
	assert_true(r.flags & DD_SMUGGLE);
	assert_true(r.flags & DD_BARE_LF);
	assert_int_equal(r.outlen, 8);
	assert_memory_equal(r.out, "a\n.\r\nb\r\n", 8);

	FEED("a\r\n.\nb\r\n.\r\n", 512, &r); /* <CR><LF>.<LF> */
	assert_true(r.done);
	assert_true(r.flags & DD_SMUGGLE);
	assert_memory_equal(r.out, "a\r\n\nb\r\n", 7);

	FEED("a\r\n.\rb\r\n.\r\n", 512, &r); /* <CR><LF>.<CR>x */
	assert_true(r.done);
	assert_true(r.flags & DD_SMUGGLE);
	assert_true(r.flags & DD_BARE_CR);

	FEED("a\n.\nb", 512, &r); /* <LF>.<LF>: never the end */
	assert_false(r.done);
	assert_true(r.flags & DD_SMUGGLE);

	FEED("x\ry\r\n.\r\n", 512, &r);
	assert_true(r.done);
	assert_int_equal(r.flags, DD_BARE_CR);
}

/* Every published end-of-data variant (SEC Consult's SMTP smuggling list) that is not the
 * real end sets DD_SMUGGLE: a dot line after any bare line end, or after a NUL at a line
 * start. Before, \r.\r, \r.\r\n, \n.\r and \r\n\0.\r\n were only bare CR/LF or NUL. */
static void test_smuggling_variants(void **st)
{
	(void)st;
	static const struct {
		const char *msg;
		size_t len;
		int flags;
	} v[] = {
#define V(s, f) {s, sizeof(s) - 1, f}
	    V("a\r.\rb\r\n.\r\n", DD_SMUGGLE | DD_BARE_CR),              /* <CR>.<CR> */
	    V("a\r.\r\nb\r\n.\r\n", DD_SMUGGLE | DD_BARE_CR),            /* <CR>.<CR><LF> */
	    V("a\r.\nb\r\n.\r\n", DD_SMUGGLE | DD_BARE_CR | DD_BARE_LF), /* <CR>.<LF> */
	    V("a\n.\rb\r\n.\r\n", DD_SMUGGLE | DD_BARE_LF | DD_BARE_CR), /* <LF>.<CR> */
	    V("a\r\n\0.\r\nb\r\n.\r\n", DD_SMUGGLE | DD_NUL),            /* <CRLF><NUL>.<CRLF> */
	    V("a\n.\r\nb\r\n.\r\n", DD_SMUGGLE | DD_BARE_LF),            /* <LF>.<CR><LF> */
	    V("a\r\n.\nb\r\n.\r\n", DD_SMUGGLE | DD_BARE_LF),            /* <CRLF>.<LF> */
	    V("a\r\n.\rb\r\n.\r\n", DD_SMUGGLE | DD_BARE_CR),            /* <CRLF>.<CR> */
	    V("a\n.\nb\r\n.\r\n", DD_SMUGGLE | DD_BARE_LF),              /* <LF>.<LF> */
	    /* not smuggling: a dot inside a line after a bare CR, a NUL elsewhere */
	    V("a\rb.c\r\n.\r\n", DD_BARE_CR),
	    V("a\0.b\r\n.\r\n", DD_NUL),
	    V("a\r\n\0x.\r\n.\r\n", DD_NUL),
#undef V
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct result r;
		feed(v[i].msg, v[i].len, 512, &r);
		assert_true(r.done);
		assert_int_equal(r.consumed, v[i].len);
		if (r.flags != v[i].flags)
			fail_msg("variant %zu: flags %#x, want %#x", i, r.flags, v[i].flags);
	}
}

static void test_limits(void **st)
{
	(void)st;
	struct result r;
	FEED("0123456789\r\n.\r\n", 8, &r);
	assert_true(r.done);
	assert_true(r.flags & DD_OVERSIZE);
	assert_int_equal(r.outlen, 8);
	char longline[1100];
	memset(longline, 'x', 1000);
	memcpy(longline + 1000, "\r\n.\r\n", 5);
	struct dotdata d;
	struct buf out;
	int done;
	dotdata_init(&d, 4096);
	buf_init(&out, 4096);
	dotdata_feed(&d, longline, 1005, &out, &done);
	assert_true(done);
	assert_true(d.flags & DD_LONG_LINE);
	buf_free(&out);
	FEED("a\0b\r\n.\r\n", 512, &r);
	assert_true(r.flags & DD_NUL);
	assert_int_equal(r.outlen, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple_and_leftover),
	    cmocka_unit_test(test_unstuffing),
	    cmocka_unit_test(test_smuggling_not_end),
	    cmocka_unit_test(test_smuggling_variants),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
