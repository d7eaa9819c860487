#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "received.h"

static struct received_parser *rp;

static int setup(void **st)
{
	(void)st;
	char err[256];
	rp = received_parser_new(err, sizeof(err));
	return rp ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	received_parser_free(rp);
	return 0;
}

struct sample {
	const char *header, *family, *helo, *rdns, *addr, *by, *proto, *id, *for_addr, *date;
};

static const struct sample samples[] = {
    {"from mail.client.example (client.example [192.0.2.10]) by mx.example.org (Postfix) with "
     "ESMTP id 4Xy1Zq2abcz9sWm for <rt-abc@sink.lab>; Sat, 21 Nov 2026 07:00:00 +0000 (UTC)",
     "postfix", "mail.client.example", "client.example", "192.0.2.10", "mx.example.org", "ESMTP",
     "4Xy1Zq2abcz9sWm", "rt-abc@sink.lab", "Sat, 21 Nov 2026 07:00:00 +0000 (UTC)"},
    {"from helo.example (unknown [198.51.100.7]) (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 "
     "(256/256 bits) key-exchange X25519) (No client certificate requested) by mx.example.org "
     "(Postfix) with ESMTPS id 4Xy1Zq; Sat, 21 Nov 2026 07:00:00 +0000 (UTC)",
     "postfix", "helo.example", "unknown", "198.51.100.7", "mx.example.org", "ESMTPS", "4Xy1Zq", "",
     "Sat, 21 Nov 2026 07:00:00 +0000 (UTC)"},
    {"from localhost (localhost [IPv6:::1]) by mx (Postfix) with ESMTP id ABC; Sat, 21 Nov 2026",
     "postfix", "localhost", "localhost", "::1", "mx", "ESMTP", "ABC", "", "Sat, 21 Nov 2026"},
    {"from [192.0.2.20] (helo=client.example) by mx.example.net with esmtp (Exim 4.96) "
     "(envelope-from <a@b.example>) id 1tE5xY-000Abc-2Q for rt-abc@sink.lab; Sat, 21 Nov 2026 "
     "07:00:00 +0000",
     "exim", "client.example", "", "192.0.2.20", "mx.example.net", "esmtp", "1tE5xY-000Abc-2Q",
     "rt-abc@sink.lab", "Sat, 21 Nov 2026 07:00:00 +0000"},
    {"from client.example ([192.0.2.21] helo=hello.example) by mx.example.net with esmtps (TLS1.3) "
     "tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <a@b>) id 1tE5xY-000Abc-2R; Sat, 21 "
     "Nov 2026 07:00:00 +0000",
     "exim", "hello.example", "client.example", "192.0.2.21", "mx.example.net", "esmtps",
     "1tE5xY-000Abc-2R", "", "Sat, 21 Nov 2026 07:00:00 +0000"},
    {"from client.example (host.client.example [192.0.2.30]) by mx.example.com "
     "(8.17.1.9/8.17.1.9/Debian-2) with ESMTP id 5AL70000012345 for <rt-abc@sink.lab>; Sat, 21 "
     "Nov 2026 07:00:00 GMT",
     "sendmail", "client.example", "host.client.example", "192.0.2.30", "mx.example.com", "ESMTP",
     "5AL70000012345", "rt-abc@sink.lab", "Sat, 21 Nov 2026 07:00:00 GMT"},
    {"from fake.example (host.client.example [192.0.2.31] (may be forged)) by mx.example.com "
     "(8.15.2/8.15.2) with ESMTP id 5AL7; Sat, 21 Nov 2026",
     "sendmail", "fake.example", "host.client.example", "192.0.2.31", "mx.example.com", "ESMTP",
     "5AL7", "", "Sat, 21 Nov 2026"},
    {"from client.example (host.client.example [192.0.2.40]) by mx.example.org (OpenSMTPD) with "
     "ESMTP id 8f3a21c4 for <rt-abc@sink.lab>; Sat, 21 Nov 2026 07:00:00 +0000 (UTC)",
     "opensmtpd", "client.example", "host.client.example", "192.0.2.40", "mx.example.org", "ESMTP",
     "8f3a21c4", "rt-abc@sink.lab", "Sat, 21 Nov 2026 07:00:00 +0000 (UTC)"},
    {"from EXCH01.corp.example (10.1.2.3) by EXCH02.corp.example (10.1.2.4) with Microsoft SMTP "
     "Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.2.1118.40; Sat, "
     "21 Nov 2026 07:00:00 +0000",
     "exchange", "EXCH01.corp.example", "", "10.1.2.3", "EXCH02.corp.example",
     "Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)",
     "15.2.1118.40", "", "Sat, 21 Nov 2026 07:00:00 +0000"},
    {"from unknown (HELO client.example) (192.0.2.60) by mx.example.net with SMTP; 21 Nov 2026 "
     "07:00:00 -0000",
     "qmail", "client.example", "unknown", "192.0.2.60", "mx.example.net", "SMTP", "", "",
     "21 Nov 2026 07:00:00 -0000"},
    {"(qmail 12345 invoked from network); 21 Nov 2026 07:00:00 -0000", "qmail", "", "", "", "", "",
     "12345", "", "21 Nov 2026 07:00:00 -0000"},
    {"from weird-host [203.0.113.5] by relay.example with LMTP id abc for <u@v>; Sat, 21 Nov 2026",
     "generic", "weird-host", "", "203.0.113.5", "relay.example", "LMTP", "abc", "u@v",
     "Sat, 21 Nov 2026"},
};

static void check(const struct sample *s, const struct received *r)
{
	assert_non_null(r->family);
	assert_string_equal(r->family, s->family);
	assert_string_equal(r->helo, s->helo);
	assert_string_equal(r->from_rdns, s->rdns);
	assert_string_equal(r->from_addr, s->addr);
	assert_string_equal(r->by, s->by);
	assert_string_equal(r->proto, s->proto);
	assert_string_equal(r->id, s->id);
	assert_string_equal(r->for_addr, s->for_addr);
	assert_string_equal(r->date, s->date);
}

static void test_families(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct received r;
		print_message("sample %zu (%s)\n", i, samples[i].family);
		assert_int_equal(
		    received_parse(rp, samples[i].header, strlen(samples[i].header), &r), 0);
		check(&samples[i], &r);
	}
}

static void test_unparsable(void **st)
{
	(void)st;
	struct received r;
	const char *junk = "garbage without any structure";
	assert_int_equal(received_parse(rp, junk, strlen(junk), &r), -1);
	assert_null(r.family);
	assert_int_equal(received_parse(rp, "", 0, &r), -1);
	/* A pathological header must end within the match limit, not hang. */
	char big[8192];
	memset(big, '(', sizeof(big));
	memcpy(big, "from ", 5);
	received_parse(rp, big, sizeof(big), &r);
}

static void test_ips(void **st)
{
	(void)st;
	const char *t = "from a (b [192.0.2.1]) by c ([IPv6:2001:db8::5]) at 12:34:56 1.2.3.4.5 "
	                "999.1.1.1 198.51.100.2, 192.0.2.1 ::ffff:10.0.0.1";
	struct ipaddr ips[8];
	char s[64];
	int n = received_ips(rp, t, strlen(t), ips, 8);
	assert_int_equal(n, 4);
	assert_string_equal(ipaddr_str(&ips[0], s, sizeof(s)), "192.0.2.1");
	assert_string_equal(ipaddr_str(&ips[1], s, sizeof(s)), "198.51.100.2");
	assert_string_equal(ipaddr_str(&ips[2], s, sizeof(s)), "2001:db8::5");
	assert_string_equal(ipaddr_str(&ips[3], s, sizeof(s)), "::ffff:10.0.0.1");
	assert_int_equal(received_ips(rp, t, strlen(t), ips, 1), 1); /* bounded */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_families),
	    cmocka_unit_test(test_unparsable),
	    cmocka_unit_test(test_ips),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
