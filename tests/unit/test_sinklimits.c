/* The sink's per-client key (IPv4 per address, IPv6 per /64) and its idle wait under stress. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "sink_int.h"

static struct ipaddr key_of(const char *text)
{
	struct ipaddr ip, key;
	assert_int_equal(ipaddr_parse(text, &ip), 0);
	sink_client_key(&ip, &key);
	return key;
}

static int same_client(const char *a, const char *b)
{
	struct ipaddr ka = key_of(a), kb = key_of(b);
	return ipaddr_eq(&ka, &kb);
}

static void test_ipv6_counts_per_64(void **st)
{
	(void)st;
	assert_true(same_client("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	assert_true(same_client("2001:db8:1:2::1", "2001:db8:1:2:8000::25"));
	assert_false(same_client("2001:db8:1:2::1", "2001:db8:1:3::1"));
	assert_false(same_client("2001:db8:1:2::1", "2001:db9:1:2::1"));
	assert_false(same_client("2001:db8:1:2::1", "::1"));
	struct ipaddr k = key_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), want;
	assert_int_equal(ipaddr_parse("2001:db8:1:2::", &want), 0);
	assert_true(ipaddr_eq(&k, &want)); /* the key is the /64 itself */
}

static void test_ipv4_counts_per_address(void **st)
{
	(void)st;
	assert_true(same_client("192.0.2.1", "192.0.2.1"));
	assert_false(same_client("192.0.2.1", "192.0.2.2"));
	assert_false(same_client("127.0.1.1", "127.0.1.2"));
	struct ipaddr k = key_of("198.51.100.7"), want;
	assert_int_equal(ipaddr_parse("198.51.100.7", &want), 0);
	assert_true(ipaddr_eq(&k, &want));
}

/* On a dual-stack listener IPv4 clients arrive as ::ffff:a.b.c.d, all in one /64: they must
 * still count per address, or every IPv4 client would share one limit. */
static void test_ipv4_mapped_counts_per_address(void **st)
{
	(void)st;
	struct sockaddr_in6 sa;
	struct ipaddr a, b, ka, kb;
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.1", &sa.sin6_addr), 1);
	ipaddr_from_sa((struct sockaddr *)&sa, &a, NULL);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.2", &sa.sin6_addr), 1);
	ipaddr_from_sa((struct sockaddr *)&sa, &b, NULL);
	sink_client_key(&a, &ka);
	sink_client_key(&b, &kb);
	assert_int_equal(ka.family, AF_INET);
	assert_false(ipaddr_eq(&ka, &kb));
}

static void test_idle_timeout_under_stress(void **st)
{
	(void)st;
	struct sink sk;
	memset(&sk, 0, sizeof(sk));
	sink_config_defaults(&sk.cfg);
	assert_true(sink_idle_timeout(&sk) == 300.0);
	sk.stressed = 1;
	assert_true(sink_idle_timeout(&sk) == 10.0);
	sk.cfg.timeout_cmd = 5; /* never longer than --timeout */
	assert_true(sink_idle_timeout(&sk) == 5.0);
	sk.stressed = 0;
	sk.cfg.timeout_cmd = 300;
	sk.cfg.timeout_stress = 2;
	assert_true(sink_idle_timeout(&sk) == 300.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv6_counts_per_64),
	    cmocka_unit_test(test_ipv4_counts_per_address),
	    cmocka_unit_test(test_ipv4_mapped_counts_per_address),
	    cmocka_unit_test(test_idle_timeout_under_stress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
