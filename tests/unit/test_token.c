#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <string.h>

#include "token.h"

static const uint8_t KEY[] = "0123456789abcdef-test-key";
#define KEYLEN (sizeof(KEY) - 1)

static void test_base32_rfc4648(void **st)
{
	(void)st;
	/* RFC 4648 section 10 vectors, lower-cased and unpadded */
	const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *out[] = {"", "my", "mzxq", "mzxw6", "mzxw6yq", "mzxw6ytb", "mzxw6ytboi"};
	for (int i = 0; i < 7; i++) {
		char enc[32];
		uint8_t dec[16];
		assert_int_equal(
		    base32_encode((const uint8_t *)in[i], strlen(in[i]), enc, sizeof(enc)),
		    (int)strlen(out[i]));
		assert_string_equal(enc, out[i]);
		assert_int_equal(base32_decode(out[i], strlen(out[i]), dec, sizeof(dec)),
		                 (int)strlen(in[i]));
		assert_memory_equal(dec, in[i], strlen(in[i]));
	}
	uint8_t d[8];
	assert_int_equal(base32_decode("mz", 2, d, sizeof(d)), -1);   /* non-zero leftover bits */
	assert_int_equal(base32_decode("my1", 3, d, sizeof(d)), -1);  /* '1' is not base32 */
	assert_int_equal(base32_decode("MZXW6", 5, d, sizeof(d)), 3); /* case-insensitive */
}

static void roundtrip(const char *addr, uint16_t port, uint8_t test, size_t want_len)
{
	struct token_fields f = {.scan_id = 0xdeadbeef, .port = port, .test = test}, g;
	char tok[TOKEN_MAX + 1];
	assert_int_equal(ipaddr_parse(addr, &f.target), 0);
	assert_int_equal(token_encode(KEY, KEYLEN, &f, tok), (int)want_len);
	for (size_t i = 0; i < want_len; i++)
		assert_true(islower((unsigned char)tok[i]) || (tok[i] >= '2' && tok[i] <= '7'));
	assert_true(strlen(TOKEN_PREFIX) + want_len <= 64); /* fits a local part */
	assert_int_equal(token_decode(KEY, KEYLEN, tok, want_len, &g), TOKEN_VALID);
	assert_int_equal(g.scan_id, 0xdeadbeef);
	assert_true(ipaddr_eq(&g.target, &f.target));
	assert_int_equal(g.port, port);
	assert_int_equal(g.test, test);
}

static void test_token_roundtrip(void **st)
{
	(void)st;
	roundtrip("192.0.2.1", 25, 0, TOKEN_LEN_V4);
	roundtrip("255.255.255.255", 65535, 255, TOKEN_LEN_V4);
	roundtrip("2001:db8::1", 587, 23, TOKEN_LEN_V6);
	roundtrip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 2525, 7, TOKEN_LEN_V6);
}

static void test_token_tamper(void **st)
{
	(void)st;
	struct token_fields f = {.scan_id = 1, .port = 25, .test = 3}, g;
	char tok[TOKEN_MAX + 1];
	ipaddr_parse("198.51.100.7", &f.target);
	int n = token_encode(KEY, KEYLEN, &f, tok);
	/* Every single-character change is caught: forged (still decodes) or malformed. */
	for (int i = 0; i < n; i++) {
		char t[TOKEN_MAX + 1];
		memcpy(t, tok, (size_t)n + 1);
		t[i] = t[i] == 'a' ? 'b' : 'a';
		enum token_status s = token_decode(KEY, KEYLEN, t, (size_t)n, &g);
		assert_true(s == TOKEN_FORGED || s == TOKEN_MALFORMED);
	}
	/* A different key: forged. No key: shape only. */
	assert_int_equal(token_decode((const uint8_t *)"another-key-16by", 16, tok, (size_t)n, &g),
	                 TOKEN_FORGED);
	assert_int_equal(token_decode(NULL, 0, tok, (size_t)n, &g), TOKEN_UNVERIFIED);
	assert_int_equal(g.test, 3);
	assert_int_equal(token_decode(KEY, KEYLEN, tok, (size_t)n - 1, &g), TOKEN_MALFORMED);
	assert_int_equal(token_decode(KEY, KEYLEN, "", 0, &g), TOKEN_MALFORMED);
}

static void test_token_case_folding(void **st)
{
	(void)st;
	struct token_fields f = {.scan_id = 42, .port = 25, .test = 9}, g;
	char tok[TOKEN_MAX + 1];
	ipaddr_parse("2001:db8:1:2::25", &f.target);
	int n = token_encode(KEY, KEYLEN, &f, tok);
	for (int i = 0; i < n; i++)
		tok[i] = (char)toupper((unsigned char)tok[i]);
	assert_int_equal(token_decode(KEY, KEYLEN, tok, (size_t)n, &g), TOKEN_VALID);
	assert_int_equal(g.test, 9);
}

static void test_token_unique(void **st)
{
	(void)st;
	struct token_fields f = {.scan_id = 5, .port = 25};
	char a[TOKEN_MAX + 1], b[TOKEN_MAX + 1];
	ipaddr_parse("192.0.2.9", &f.target);
	token_encode(KEY, KEYLEN, &f, a);
	f.test = 1;
	token_encode(KEY, KEYLEN, &f, b);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base32_rfc4648), cmocka_unit_test(test_token_roundtrip),
	    cmocka_unit_test(test_token_tamper),   cmocka_unit_test(test_token_case_folding),
	    cmocka_unit_test(test_token_unique),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
