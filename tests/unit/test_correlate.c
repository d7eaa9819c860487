/* Correlation (prober/correlate.c): receipts as the sink writes them, matched to one host's
 * tests, and the verdict that follows. Receipts are JSON literals shaped like real
 * receipts.jsonl lines; the host is 192.0.2.25 port 25 of scan 01020304, probed from
 * 198.51.100.7, test 0 "plain" and test 1 "null-sender" accepted, test 2 "percent" refused.
 *
 * Tests named regression_* are bugs found by these tests, each failing before its fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"

#define T0 "asirr22yp5daaaqadealaovooksn3dkt"
#define T1 "asirr22yp5dacaqadeac5yrtotepszcu"
#define T2 "asirr22yp5daeaqadeaaajtkszzr64fd"

#define ACCEPTED_AT_0 1795340466.5
#define ACCEPTED_AT_1 1795340467.0

/* Receipts as the sink writes them (sink/session.c receipt_build, sink/msgscan.c). */
#define SESSION                                                                                    \
	"\"time\":\"2026-11-21T09:41:07.250Z\",\"unix_time\":1795340467.25,\"session\":3,"         \
	"\"peer_port\":40122,\"local_addr\":\"203.0.113.5\",\"local_port\":25,"                    \
	"\"helo\":\"mx.relay.example\",\"esmtp\":true,\"size\":1187,\"data_seconds\":0.004,"       \
	"\"flags\":[],\"received_count\":1,\"headers_truncated\":false,\"header_bytes\":612,"
#define WHERE_RELAYED "[\"rcpt\",\"subject\",\"message-id\",\"x-relaytrap-token\",\"body\"]"
#define TOKEN_REST "\"scan_id\":\"01020304\",\"target\":\"192.0.2.25\",\"port\":25,"

/* The test relayed by the target itself, the prober in its Received line. */
static const char RELAYED_0[] =
    "{\"type\":\"receipt\"," SESSION "\"peer_addr\":\"192.0.2.25\","
    "\"mail_from\":\"relaytest@sink.lab\",\"rcpt\":[\"rt-" T0 "@sink.lab\"],"
    "\"subject\":\"relaytrap relay test rt-" T0 "\",\"message_id\":\"<rt-" T0 "@sink.lab>\","
    "\"received\":[{\"raw\":\"from vm (unknown [198.51.100.7]) by mx.relay.example (Postfix) "
    "with SMTP id 4F2A1A90948 for <rt-" T0 "@sink.lab>; Sat, 21 Nov 2026 09:41:06 +0000\","
    "\"parsed\":true,\"family\":\"postfix\",\"helo\":\"vm\",\"from_rdns\":\"unknown\","
    "\"from_addr\":\"198.51.100.7\",\"by\":\"mx.relay.example\",\"id\":\"4F2A1A90948\"}],"
    "\"tokens\":[{\"token\":\"" T0 "\",\"status\":\"valid\",\"found_in\":" WHERE_RELAYED
    "," TOKEN_REST "\"test\":0}],\"tokens_disagree\":false,\"class\":\"relayed\","
    "\"class_why\":\"a valid token in the envelope recipient\","
    "\"trace_ips\":[\"198.51.100.7\"]}";
static const char RELAYED_1[] =
    "{\"type\":\"receipt\"," SESSION "\"peer_addr\":\"192.0.2.25\","
    "\"mail_from\":\"\",\"rcpt\":[\"rt-" T1 "@sink.lab\"],"
    "\"subject\":\"relaytrap relay test rt-" T1 "\",\"message_id\":\"<rt-" T1 "@sink.lab>\","
    "\"received\":[{\"raw\":\"from vm (unknown [198.51.100.7]) by mx.relay.example (Postfix) "
    "with SMTP id 5A3B2C10077 for <rt-" T1 "@sink.lab>; Sat, 21 Nov 2026 09:41:07 +0000\","
    "\"parsed\":true,\"family\":\"postfix\",\"helo\":\"vm\",\"from_rdns\":\"unknown\","
    "\"from_addr\":\"198.51.100.7\",\"by\":\"mx.relay.example\",\"id\":\"5A3B2C10077\"}],"
    "\"tokens\":[{\"token\":\"" T1 "\",\"status\":\"valid\",\"found_in\":" WHERE_RELAYED
    "," TOKEN_REST "\"test\":1}],\"tokens_disagree\":false,\"class\":\"relayed\","
    "\"class_why\":\"a valid token in the envelope recipient\","
    "\"trace_ips\":[\"198.51.100.7\"]}";
/* A relay whose header_checks hide the client: no prober address in the trace. */
static const char RELAYED_0_HIDDEN[] =
    "{\"type\":\"receipt\"," SESSION "\"peer_addr\":\"192.0.2.25\","
    "\"mail_from\":\"relaytest@sink.lab\",\"rcpt\":[\"rt-" T0 "@sink.lab\"],"
    "\"subject\":\"relaytrap relay test rt-" T0 "\",\"message_id\":\"<rt-" T0 "@sink.lab>\","
    "\"received\":[{\"raw\":\"from localhost (localhost [127.0.0.1]) by mx.relay.example "
    "(Postfix) with ESMTP id 9656DA9094B; Sat, 21 Nov 2026 09:41:06 +0000\",\"parsed\":true,"
    "\"family\":\"postfix\",\"helo\":\"localhost\",\"from_rdns\":\"localhost\","
    "\"from_addr\":\"127.0.0.1\",\"by\":\"mx.relay.example\",\"id\":\"9656DA9094B\"}],"
    "\"tokens\":[{\"token\":\"" T0 "\",\"status\":\"valid\",\"found_in\":" WHERE_RELAYED
    "," TOKEN_REST "\"test\":0}],\"tokens_disagree\":false,\"class\":\"relayed\","
    "\"class_why\":\"a valid token in the envelope recipient\",\"trace_ips\":[\"127.0.0.1\"]}";

/* Postfix bounce(8) DSNs of the tests, to the envelope sender. */
static const char BOUNCE_0[] =
    "{\"type\":\"receipt\"," SESSION "\"peer_addr\":\"192.0.2.25\","
    "\"mail_from\":\"\",\"rcpt\":[\"relaytest@sink.lab\"],"
    "\"subject\":\"Undelivered Mail Returned to Sender\","
    "\"message_id\":\"<20261121094107.4F2A1A90948@mx.relay.example>\",\"received\":[],"
    "\"tokens\":[{\"token\":\"" T0
    "\",\"status\":\"valid\",\"found_in\":[\"body\",\"attached\"]," TOKEN_REST
    "\"test\":0}],\"tokens_disagree\":false,\"class\":\"bounce\","
    "\"class_why\":\"a delivery status notification (multipart/report)\","
    "\"dsn\":{\"status\":\"5.7.1\",\"action\":\"failed\","
    "\"diagnostic_code\":\"smtp; 554 5.7.1 <rt-" T0 "@sink.lab>: Relay access denied\","
    "\"reporting_mta\":\"mx.relay.example\",\"final_recipient\":\"rt-" T0 "@sink.lab\"},"
    "\"trace_ips\":[]}";
static const char BOUNCE_1[] =
    "{\"type\":\"receipt\"," SESSION "\"peer_addr\":\"192.0.2.25\","
    "\"mail_from\":\"\",\"rcpt\":[\"relaytest@sink.lab\"],"
    "\"subject\":\"Undelivered Mail Returned to Sender\","
    "\"message_id\":\"<20261121094107.5A3B2C10077@mx.relay.example>\",\"received\":[],"
    "\"tokens\":[{\"token\":\"" T1
    "\",\"status\":\"valid\",\"found_in\":[\"body\",\"attached\"]," TOKEN_REST
    "\"test\":1}],\"tokens_disagree\":false,\"class\":\"bounce\","
    "\"class_why\":\"a delivery status notification (multipart/report)\","
    "\"dsn\":{\"status\":\"5.7.1\",\"action\":\"failed\","
    "\"diagnostic_code\":\"smtp; 554 5.7.1 <rt-" T1 "@sink.lab>: Relay access denied\","
    "\"reporting_mta\":\"mx.relay.example\",\"final_recipient\":\"rt-" T1 "@sink.lab\"},"
    "\"trace_ips\":[]}";
/* Postfix's delay warning (delay_warning_time): a notice, the test may still arrive. */
static const char DELAYED_0[] =
    "{\"type\":\"receipt\"," SESSION "\"peer_addr\":\"192.0.2.25\","
    "\"mail_from\":\"\",\"rcpt\":[\"relaytest@sink.lab\"],"
    "\"subject\":\"Delayed Mail (still being retried)\",\"received\":[],"
    "\"tokens\":[{\"token\":\"" T0
    "\",\"status\":\"valid\",\"found_in\":[\"body\",\"attached\"]," TOKEN_REST
    "\"test\":0}],\"tokens_disagree\":false,\"class\":\"bounce\","
    "\"class_why\":\"a delivery status notification (multipart/report)\","
    "\"dsn\":{\"status\":\"4.4.1\",\"action\":\"delayed\","
    "\"diagnostic_code\":null,\"reporting_mta\":\"mx.relay.example\","
    "\"final_recipient\":\"rt-" T0 "@sink.lab\"},\"trace_ips\":[]}";
static const char DELAYED_1[] =
    "{\"type\":\"receipt\"," SESSION "\"peer_addr\":\"192.0.2.25\","
    "\"mail_from\":\"\",\"rcpt\":[\"relaytest@sink.lab\"],"
    "\"subject\":\"Delayed Mail (still being retried)\",\"received\":[],"
    "\"tokens\":[{\"token\":\"" T1
    "\",\"status\":\"valid\",\"found_in\":[\"body\",\"attached\"]," TOKEN_REST
    "\"test\":1}],\"tokens_disagree\":false,\"class\":\"bounce\","
    "\"class_why\":\"a delivery status notification (multipart/report)\","
    "\"dsn\":{\"status\":\"4.4.1\",\"action\":\"delayed\","
    "\"diagnostic_code\":null,\"reporting_mta\":\"mx.relay.example\","
    "\"final_recipient\":\"rt-" T1 "@sink.lab\"},\"trace_ips\":[]}";

/* A vacation reply quoting the test's subject. */
static const char AUTO_0[] =
    "{\"type\":\"receipt\"," SESSION "\"peer_addr\":\"192.0.2.25\","
    "\"mail_from\":\"\",\"rcpt\":[\"relaytest@prober.example\"],"
    "\"subject\":\"Re: relaytrap relay test rt-" T0 "\",\"received\":[],"
    "\"tokens\":[{\"token\":\"" T0 "\",\"status\":\"valid\",\"found_in\":[\"subject\"]," TOKEN_REST
    "\"test\":0}],\"tokens_disagree\":false,\"class\":\"auto-reply\","
    "\"class_why\":\"an auto-reply\",\"auto_reply\":\"Auto-Submitted\",\"trace_ips\":[]}";

/* Someone forwarding a bounce as an attachment: the token only "attached". */
static const char RELAYED_ATTACHED_ONLY[] =
    "{\"type\":\"receipt\"," SESSION "\"peer_addr\":\"198.51.100.80\","
    "\"mail_from\":\"someone@example.org\",\"rcpt\":[\"relaytest@sink.lab\"],"
    "\"subject\":\"Fwd: what is this?\",\"received\":[],"
    "\"tokens\":[{\"token\":\"" T0 "\",\"status\":\"valid\",\"found_in\":[\"attached\"]," TOKEN_REST
    "\"test\":0}],\"tokens_disagree\":false,\"class\":\"relayed\","
    "\"class_why\":\"a valid token in the message's own header or body\",\"trace_ips\":[]}";

static const char FOREIGN_0[] =
    "{\"type\":\"receipt\"," SESSION "\"peer_addr\":\"198.51.100.80\","
    "\"mail_from\":\"abusedesk@example.com\",\"rcpt\":[\"abuse@sink.lab\"],"
    "\"subject\":\"abuse report\",\"received\":[],"
    "\"tokens\":[{\"token\":\"" T0 "\",\"status\":\"valid\",\"found_in\":[\"attached\"]," TOKEN_REST
    "\"test\":0}],\"tokens_disagree\":false,\"class\":\"foreign\","
    "\"class_why\":\"no valid token where a relay puts it\",\"trace_ips\":[]}";

/* A receipt from a sink older than the classifier: no class, no "attached". found_in is
 * set per case. */
static const char OLD_RECEIPT[] =
    "{\"type\":\"receipt\",\"time\":\"2026-10-01T12:00:00.000Z\",\"unix_time\":1790000000.0,"
    "\"peer_addr\":\"192.0.2.25\",\"mail_from\":\"\",\"rcpt\":[\"relaytest@sink.lab\"],"
    "\"tokens\":[{\"token\":\"" T0 "\",\"status\":\"valid\",\"found_in\":[\"body\"]," TOKEN_REST
    "\"test\":0}],\"tokens_disagree\":false,"
    "\"trace_ips\":[\"198.51.100.7\"],\"received\":[]}";

/* Other tokens, appended to a receipt's tokens[]. */
static const char TOKEN_1[] =
    "{\"token\":\"" T1 "\",\"status\":\"valid\",\"found_in\":[\"body\"]," TOKEN_REST "\"test\":1}";
static const char TOKEN_2[] =
    "{\"token\":\"" T2 "\",\"status\":\"valid\",\"found_in\":[\"body\"]," TOKEN_REST "\"test\":2}";

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
	if (!j)
		fail_msg("bad JSON literal: %s at %d: %.80s", e.text, e.position, s);
	return j;
}

static int refs_of(const char *receipt, struct receipt_ref *out, int max)
{
	json_t *r = parse(receipt);
	int n = correl_refs(r, out, max);
	json_decref(r);
	return n;
}

/* ---- which hosts a receipt names ---- */

static void test_refs(void **st)
{
	(void)st;
	struct receipt_ref ref[4];
	char a[64];
	assert_int_equal(refs_of(BOUNCE_1, ref, 4), 1);
	assert_string_equal(ref[0].scan_id, "01020304");
	assert_string_equal(ipaddr_str(&ref[0].target, a, sizeof(a)), "192.0.2.25");
	assert_int_equal(ref[0].port, 25);
	assert_int_equal(ref[0].test, 1);
	assert_int_equal(refs_of(RELAYED_0, ref, 4), 1);
	assert_int_equal(ref[0].test, 0);
	assert_int_equal(refs_of(AUTO_0, ref, 4), 1);
	assert_int_equal(refs_of(DELAYED_1, ref, 4), 1);
	/* a relayed receipt whose only token is attached names no host */
	assert_int_equal(refs_of(RELAYED_ATTACHED_ONLY, ref, 4), 0);
	assert_int_equal(refs_of(FOREIGN_0, ref, 4), 0);
}

static void test_refs_old_receipt(void **st)
{
	(void)st;
	static const struct {
		const char *found_in;
		int counts;
	} cases[] = {
	    {"[\"body\"]", 0},
	    {"[\"rcpt\"]", 1},
	    {"[\"subject\"]", 0}, /* a reply or a forward quotes the Subject */
	    {"[\"message-id\"]", 1},
	    {"[\"x-relaytrap-token\"]", 1},
	    {"[\"body\",\"attached\"]", 0},
	    {"[\"attached\"]", 0},
	    {"[]", 0},
	};
	struct receipt_ref ref[2];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = parse(OLD_RECEIPT);
		json_object_set_new(json_array_get(json_object_get(r, "tokens"), 0), "found_in",
		                    parse(cases[i].found_in));
		int n = correl_refs(r, ref, 2);
		json_decref(r);
		if (n != cases[i].counts)
			fail_msg("found_in %s: %d refs", cases[i].found_in, n);
	}
}

static void test_refs_bounds(void **st)
{
	(void)st;
	struct receipt_ref ref[3];
	/* three valid tokens, room for two */
	json_t *r = parse(RELAYED_0);
	json_t *toks = json_object_get(r, "tokens");
	json_array_append_new(toks, parse(TOKEN_1));
	json_array_append_new(toks, parse(TOKEN_2));
	assert_int_equal(correl_refs(r, ref, 3), 3);
	assert_int_equal(correl_refs(r, ref, 2), 2);
	assert_int_equal(ref[0].test, 0);
	assert_int_equal(ref[1].test, 1);
	json_decref(r);
	/* what a token must hold to name a host */
	static const struct {
		const char *key, *json;
		int counts;
	} cases[] = {
	    {"status", "\"forged\"", 0},
	    {"status", "\"unverified\"", 0},
	    {"status", "\"malformed\"", 0},
	    {"scan_id", "\"0102030\"", 0},
	    {"target", "\"not-an-ip\"", 0},
	    {"target", "\"2001:db8::25\"", 1},
	    {"port", "0", 0},
	    {"port", "65536", 0},
	    {"port", "65535", 1},
	    {"test", "-1", 0},
	    {"test", "255", 0},
	    {"test", "254", 1},
	    {"test", "\"1\"", 1}, /* not an integer: 0 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = parse(BOUNCE_1);
		json_t *tk = json_array_get(json_object_get(r, "tokens"), 0);
		json_object_set_new(tk, cases[i].key, parse(cases[i].json));
		int n = correl_refs(r, ref, 3);
		json_decref(r);
		if (n != cases[i].counts)
			fail_msg("%s=%s: %d refs", cases[i].key, cases[i].json, n);
	}
}

/* ---- one host ---- */

static const char *const test_names[] = {"plain", "null-sender", "percent"};

struct host {
	struct test_result t[3];
	const char *token[3];
	struct ipaddr target, prober;
	struct correl c;
};

static void host_init(struct host *h)
{
	static const char *const toks[] = {T0, T1, T2};
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 3; i++) {
		h->t[i].test = i;
		h->token[i] = toks[i];
	}
	h->t[0].outcome = OUT_ACCEPTED;
	h->t[0].accepted_at = ACCEPTED_AT_0;
	h->t[1].outcome = OUT_ACCEPTED;
	h->t[1].accepted_at = ACCEPTED_AT_1;
	h->t[2].outcome = OUT_REJECTED;
	assert_int_equal(ipaddr_parse("192.0.2.25", &h->target), 0);
	assert_int_equal(ipaddr_parse("198.51.100.7", &h->prober), 0);
	assert_int_equal(correl_init(&h->c, 3), 0);
}

static enum arrival add(struct host *h, const char *receipt, int test)
{
	json_t *r = parse(receipt);
	enum arrival a =
	    correl_add(&h->c, r, &h->t[test], test_names[test], h->token[test], &h->prober, 1);
	json_decref(r);
	return a;
}

/* correl_verdict also decides each accepted test's outcome (bounced or accepted). */
static void verdict_of(struct host *h, struct verdict_out *vo)
{
	correl_verdict(&h->c, END_TESTS, h->t, 3, &h->target, &h->prober, 1, vo);
}

static const char *evidence_str(const json_t *arr, size_t i, const char *k1, const char *k2)
{
	const json_t *v = json_object_get(json_array_get(arr, i), k1);
	if (k2)
		v = json_object_get(v, k2);
	return json_string_value(v);
}

static void test_bounce(void **st)
{
	(void)st;
	struct host h;
	struct verdict_out vo;
	host_init(&h);
	assert_int_equal(add(&h, BOUNCE_1, 1), ARRIVAL_BOUNCED);
	assert_string_equal(h.c.bounce_status, "5.7.1");
	assert_int_equal(h.c.nd, 0);
	verdict_of(&h, &vo);
	assert_int_equal(h.t[1].outcome, OUT_BOUNCED);
	assert_int_equal(h.t[0].outcome, OUT_ACCEPTED);
	assert_int_equal(vo.v, V_ACCEPTED);
	assert_int_equal(vo.accepted, 2);
	assert_int_equal(vo.bounced, 1);
	assert_int_equal(vo.bounces, 1);
	assert_int_equal(vo.delivered, 0);
	assert_int_equal(vo.partial, 0);
	assert_string_equal(
	    vo.reason, "accepted 2 relay tests, then returned 1 of them as undeliverable (5.7.1)");
	/* the evidence: who returned which test, with the DSN */
	assert_int_equal(json_array_size(h.c.bounces), 1);
	assert_int_equal(json_array_size(h.c.deliveries), 0);
	assert_string_equal(evidence_str(h.c.bounces, 0, "test", NULL), "null-sender");
	assert_int_equal(
	    json_integer_value(json_object_get(json_array_get(h.c.bounces, 0), "test_number")), 1);
	assert_string_equal(evidence_str(h.c.bounces, 0, "dsn", "status"), "5.7.1");
	assert_string_equal(evidence_str(h.c.bounces, 0, "mail_from", NULL), "");
	assert_string_equal(evidence_str(h.c.bounces, 0, "class_why", NULL),
	                    "a delivery status notification (multipart/report)");
	const json_t *e = json_array_get(h.c.bounces, 0);
	assert_int_equal(json_array_size(json_object_get(e, "found_in")), 2);
	assert_true(json_is_true(json_object_get(e, "returned")));
	assert_true(json_number_value(json_object_get(e, "delay")) == 0.25);
	/* test 0 is still owed */
	assert_int_equal(correl_settled(&h.c, h.t, 3), 0);
	/* the same bounce again (a second copy, a retry): ignored */
	assert_int_equal(add(&h, BOUNCE_1, 1), ARRIVAL_IGNORED);
	assert_int_equal(json_array_size(h.c.bounces), 1);
	/* both returned */
	assert_int_equal(add(&h, BOUNCE_0, 0), ARRIVAL_BOUNCED);
	verdict_of(&h, &vo);
	assert_int_equal(vo.v, V_ACCEPTED);
	assert_int_equal(vo.bounced, 2);
	assert_string_equal(vo.reason,
	                    "accepted 2 relay tests, then returned them as undeliverable (5.7.1)");
	assert_int_equal(correl_settled(&h.c, h.t, 3), 1);
	verdict_of(&h, &vo); /* deciding again changes nothing */
	assert_int_equal(vo.bounced, 2);
	assert_int_equal(h.t[0].outcome, OUT_BOUNCED);
	correl_free(&h.c);

	/* the bounce reaches the sink before the 250 that accepted its test reaches us */
	host_init(&h);
	h.t[1].outcome = OUT_NOTRUN;
	h.t[1].accepted_at = 0;
	assert_int_equal(add(&h, BOUNCE_1, 1), ARRIVAL_BOUNCED);
	assert_int_equal(h.t[1].outcome, OUT_NOTRUN);
	h.t[1].outcome = OUT_ACCEPTED;
	h.t[1].accepted_at = ACCEPTED_AT_1;
	verdict_of(&h, &vo);
	assert_int_equal(h.t[1].outcome, OUT_BOUNCED);
	assert_int_equal(vo.bounced, 1);
	correl_free(&h.c);
}

static void test_bounce_single_test(void **st)
{
	(void)st;
	struct host h;
	struct verdict_out vo;
	host_init(&h);
	h.t[0].outcome = OUT_REJECTED;
	assert_int_equal(add(&h, BOUNCE_1, 1), ARRIVAL_BOUNCED);
	verdict_of(&h, &vo);
	assert_int_equal(vo.v, V_ACCEPTED);
	assert_string_equal(vo.reason,
	                    "accepted 1 relay test, then returned it as undeliverable (5.7.1)");
	correl_free(&h.c);
	/* a bounce without a status (qmail): no parenthesis */
	host_init(&h);
	json_t *r = parse(BOUNCE_1);
	json_object_set_new(json_object_get(r, "dsn"), "status", json_null());
	json_object_set_new(json_object_get(r, "dsn"), "action", json_null());
	assert_int_equal(correl_add(&h.c, r, &h.t[1], "null-sender", h.token[1], &h.prober, 1),
	                 ARRIVAL_BOUNCED);
	json_decref(r);
	verdict_of(&h, &vo);
	assert_int_equal(h.t[1].outcome, OUT_BOUNCED);
	assert_string_equal(vo.reason,
	                    "accepted 2 relay tests, then returned 1 of them as undeliverable");
	correl_free(&h.c);
}

static void test_relayed_open(void **st)
{
	(void)st;
	struct host h;
	struct verdict_out vo;
	char a[64];
	host_init(&h);
	assert_int_equal(add(&h, RELAYED_0, 0), ARRIVAL_DELIVERED);
	assert_int_equal(h.c.nd, 1);
	verdict_of(&h, &vo);
	/* only the first test relayed: open, partial */
	assert_int_equal(vo.v, V_OPEN);
	assert_int_equal(vo.delivered, 1);
	assert_int_equal(vo.accepted, 2);
	assert_int_equal(vo.partial, 1);
	assert_int_equal(vo.multi_hop, 0);
	assert_int_equal(vo.bounces, 0);
	assert_string_equal(vo.reason, "relayed 1 of the 2 relay tests it accepted");
	const json_t *e = json_array_get(h.c.deliveries, 0);
	assert_string_equal(json_string_value(json_object_get(e, "test")), "plain");
	assert_true(json_is_true(json_object_get(e, "prober_visible")));
	assert_true(json_is_false(json_object_get(e, "tokens_disagree")));
	assert_true(json_number_value(json_object_get(e, "delay")) == 0.75);
	assert_int_equal(json_array_size(json_object_get(e, "found_in")), 5);
	assert_int_equal(correl_settled(&h.c, h.t, 3), 0);
	/* the same test again: the first arrival counts */
	assert_int_equal(add(&h, RELAYED_0, 0), ARRIVAL_IGNORED);
	assert_int_equal(h.c.nd, 1);
	/* both relayed: not partial, settled */
	assert_int_equal(add(&h, RELAYED_1, 1), ARRIVAL_DELIVERED);
	verdict_of(&h, &vo);
	assert_int_equal(vo.v, V_OPEN);
	assert_int_equal(vo.delivered, 2);
	assert_int_equal(vo.partial, 0);
	assert_string_equal(vo.reason, "");
	assert_int_equal(correl_settled(&h.c, h.t, 3), 1);
	correl_free(&h.c);

	/* the prober's address nowhere in the trace: anonymous */
	host_init(&h);
	assert_int_equal(add(&h, RELAYED_0_HIDDEN, 0), ARRIVAL_DELIVERED);
	verdict_of(&h, &vo);
	assert_int_equal(vo.v, V_OPEN_ANONYMOUS);
	assert_true(
	    json_is_false(json_object_get(json_array_get(h.c.deliveries, 0), "prober_visible")));
	correl_free(&h.c);

	/* handed to the sink by another machine: multi-hop */
	host_init(&h);
	json_t *r = parse(RELAYED_0);
	json_object_set_new(r, "peer_addr", json_string("192.0.2.99"));
	assert_int_equal(correl_add(&h.c, r, &h.t[0], "plain", h.token[0], &h.prober, 1),
	                 ARRIVAL_DELIVERED);
	json_decref(r);
	verdict_of(&h, &vo);
	assert_int_equal(vo.v, V_OPEN);
	assert_int_equal(vo.multi_hop, 1);
	assert_string_equal(ipaddr_str(&vo.delivered_via, a, sizeof(a)), "192.0.2.99");
	correl_free(&h.c);
}

/* SMTP smuggling: the smuggling test's message carries its inner message's token in its
 * body (tokens that disagree, by design); the inner test counts only when it arrives as a
 * message of its own, its token in the envelope. */
static void test_smuggling(void **st)
{
	(void)st;
	struct host h;
	struct verdict_out vo;
	host_init(&h);
	h.t[0].via = VIA_SMUGGLE;
	h.t[1].via = VIA_SMUGGLED;
	h.t[1].outcome = OUT_NOTRUN; /* the server took the smuggled commands as data */
	json_t *r = parse(RELAYED_0);
	json_array_append_new(json_object_get(r, "tokens"),
	                      parse("{\"token\":\"" T1 "\",\"status\":\"valid\","
	                            "\"found_in\":[\"body\"]," TOKEN_REST "\"test\":1}"));
	json_object_set_new(r, "tokens_disagree", json_true());
	struct receipt_ref refs[4];
	assert_int_equal(correl_refs(r, refs, 4), 2); /* both name the host... */
	assert_int_equal(
	    correl_add(&h.c, r, &h.t[0], "smuggle-lf-dot-lf", h.token[0], &h.prober, 1),
	    ARRIVAL_DELIVERED);
	assert_int_equal(
	    correl_add(&h.c, r, &h.t[1], "smuggle-lf-dot-lf-inner", h.token[1], &h.prober, 1),
	    ARRIVAL_IGNORED); /* ...but the inner one is only text in the body */
	json_decref(r);
	assert_true(
	    json_is_false(json_object_get(json_array_get(h.c.deliveries, 0), "tokens_disagree")));
	verdict_of(&h, &vo);
	assert_int_equal(vo.v, V_OPEN);
	assert_int_equal(vo.tokens_disagree, 0);
	assert_int_equal(vo.smuggling, 0);
	assert_int_equal(vo.partial, 0);
	/* the smuggled message arrives as one of its own: the flag */
	assert_int_equal(add(&h, RELAYED_1, 1), ARRIVAL_DELIVERED);
	verdict_of(&h, &vo);
	assert_int_equal(vo.smuggling, 1);
	assert_int_equal(vo.delivered, 2);
	correl_free(&h.c);
}

static void test_bounce_then_relayed(void **st)
{
	(void)st;
	struct host h;
	struct verdict_out vo;
	host_init(&h);
	assert_int_equal(add(&h, BOUNCE_0, 0), ARRIVAL_BOUNCED);
	verdict_of(&h, &vo);
	assert_int_equal(h.t[0].outcome, OUT_BOUNCED);
	assert_int_equal(vo.v, V_ACCEPTED);
	/* it arrived after all: a delivery outweighs the bounce */
	assert_int_equal(add(&h, RELAYED_0, 0), ARRIVAL_DELIVERED);
	verdict_of(&h, &vo);
	assert_int_equal(h.t[0].outcome, OUT_ACCEPTED);
	assert_int_equal(vo.v, V_OPEN);
	assert_int_equal(vo.bounced, 0);
	assert_int_equal(vo.bounces, 0);
	assert_string_equal(vo.reason, "relayed 1 of the 2 relay tests it accepted");
	/* the same bounce again: ignored, the delivery stands */
	assert_int_equal(add(&h, BOUNCE_0, 0), ARRIVAL_IGNORED);
	verdict_of(&h, &vo);
	assert_int_equal(h.t[0].outcome, OUT_ACCEPTED);
	/* in the other order too */
	correl_free(&h.c);
	host_init(&h);
	assert_int_equal(add(&h, RELAYED_0, 0), ARRIVAL_DELIVERED);
	assert_int_equal(add(&h, BOUNCE_0, 0), ARRIVAL_BOUNCED);
	verdict_of(&h, &vo);
	assert_int_equal(h.t[0].outcome, OUT_ACCEPTED);
	assert_int_equal(vo.bounced, 0);
	correl_free(&h.c);
}

static void test_delayed_is_no_bounce(void **st)
{
	(void)st;
	struct host h;
	struct verdict_out vo;
	host_init(&h);
	assert_int_equal(add(&h, DELAYED_1, 1), ARRIVAL_BOUNCED); /* recorded as a DSN */
	assert_string_equal(h.c.bounce_status, "");
	assert_int_equal(json_array_size(h.c.bounces), 1);
	assert_string_equal(evidence_str(h.c.bounces, 0, "dsn", "action"), "delayed");
	assert_true(json_is_false(json_object_get(json_array_get(h.c.bounces, 0), "returned")));
	verdict_of(&h, &vo);
	assert_int_equal(h.t[1].outcome, OUT_ACCEPTED);
	assert_int_equal(vo.v, V_ACCEPTED);
	assert_int_equal(vo.bounced, 0);
	assert_int_equal(vo.bounces, 0);
	assert_string_equal(vo.reason, "");
	assert_int_equal(correl_settled(&h.c, h.t, 3), 0);
	correl_free(&h.c);
	/* a "relayed" DSN neither */
	host_init(&h);
	json_t *r = parse(BOUNCE_1);
	json_object_set_new(json_object_get(r, "dsn"), "action", json_string("relayed"));
	correl_add(&h.c, r, &h.t[1], "null-sender", h.token[1], &h.prober, 1);
	json_decref(r);
	verdict_of(&h, &vo);
	assert_int_equal(h.t[1].outcome, OUT_ACCEPTED);
	assert_int_equal(vo.bounces, 0);
	correl_free(&h.c);
}

static void test_auto_reply(void **st)
{
	(void)st;
	struct host h;
	struct verdict_out vo;
	host_init(&h);
	assert_int_equal(add(&h, AUTO_0, 0), ARRIVAL_AUTO_REPLY);
	assert_int_equal(add(&h, AUTO_0, 0), ARRIVAL_IGNORED);
	assert_int_equal(json_array_size(h.c.auto_replies), 1);
	assert_string_equal(evidence_str(h.c.auto_replies, 0, "auto_reply", NULL),
	                    "Auto-Submitted");
	assert_int_equal(json_array_size(h.c.bounces), 0);
	assert_int_equal(h.t[0].outcome, OUT_ACCEPTED);
	verdict_of(&h, &vo);
	assert_int_equal(vo.v, V_ACCEPTED);
	/* said in words, as a bounce is: an auto-reply is not relayed mail */
	assert_string_equal(vo.reason, "accepted 2 relay tests; nothing relayed arrived, only 1 "
	                               "auto-reply to the sender (not counted)");
	assert_int_equal(correl_settled(&h.c, h.t, 3), 0);
	correl_free(&h.c);
}

static void test_settled_and_deadline(void **st)
{
	(void)st;
	struct host h;
	host_init(&h);
	assert_int_equal(correl_settled(&h.c, h.t, 3), 0);
	/* a returned test is settled, a delivered one too */
	add(&h, BOUNCE_1, 1);
	assert_int_equal(correl_settled(&h.c, h.t, 3), 0);
	add(&h, RELAYED_0, 0);
	assert_int_equal(correl_settled(&h.c, h.t, 3), 1);
	correl_free(&h.c);
	host_init(&h);
	add(&h, DELAYED_1, 1); /* a warning is not the end */
	add(&h, RELAYED_0, 0);
	assert_int_equal(correl_settled(&h.c, h.t, 3), 0);
	/* --wait after the last acceptance, or the session's end, whichever is later */
	assert_true(correl_deadline(h.t, 3, 1795340470.0, 60) == ACCEPTED_AT_1 + 60);
	assert_true(correl_deadline(h.t, 3, 1795340470.0, 1) == 1795340470.0);
	/* a bounced test was accepted too; a refused one's time does not count */
	h.t[1].outcome = OUT_BOUNCED;
	h.t[2].accepted_at = 1795349999.0;
	assert_true(correl_deadline(h.t, 3, 1795340470.0, 60) == ACCEPTED_AT_1 + 60);
	h.t[1].outcome = OUT_DEFERRED;
	assert_true(correl_deadline(h.t, 3, 1795340470.0, 60) == ACCEPTED_AT_0 + 60);
	/* nothing accepted: the session's end; nothing owed */
	h.t[0].outcome = OUT_REJECTED;
	assert_true(correl_deadline(h.t, 3, 1795340470.0, 60) == 1795340470.0);
	assert_int_equal(correl_settled(&h.c, h.t, 3), 1);
	assert_int_equal(correl_settled(&h.c, h.t, 0), 1);
	correl_free(&h.c);
}

/* ---- what a results file holds ---- */

/* The host line the live run writes for h (the fields correlation reads back). */
static json_t *host_line(const struct host *h)
{
	json_t *o = json_object(), *tests = json_array();
	json_object_set_new(o, "type", json_string("host"));
	json_object_set_new(o, "addr", json_string("192.0.2.25"));
	json_object_set_new(o, "port", json_integer(25));
	for (int i = 0; i < 3; i++) {
		json_t *t = json_object();
		json_object_set_new(t, "test_number", json_integer(h->t[i].test));
		json_object_set_new(t, "name", json_string(test_names[i]));
		json_object_set_new(t, "outcome", json_string(outcome_names[h->t[i].outcome]));
		json_object_set_new(t, "token", json_string(h->token[i]));
		json_object_set_new(t, "accepted_at", json_real(h->t[i].accepted_at));
		json_array_append_new(tests, t);
	}
	json_object_set_new(o, "tests", tests);
	json_object_set(o, "deliveries", h->c.deliveries);
	json_object_set(o, "bounces", h->c.bounces);
	json_object_set(o, "auto_replies", h->c.auto_replies);
	/* through text, as a results file would carry it */
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_non_null(text);
	json_t *back = parse(text);
	free(text);
	return back;
}

static int outcome_of(const char *name)
{
	for (int i = 0; i < OUT_COUNT; i++)
		if (!strcmp(outcome_names[i], name))
			return i;
	return -1;
}

/* A fresh host from a host line: the tests' outcomes as recorded, then correl_load. */
static void host_load(struct host *h, const json_t *line)
{
	host_init(h);
	for (int i = 0; i < 3; i++) {
		const json_t *t = json_array_get(json_object_get(line, "tests"), (size_t)i);
		h->t[i].outcome =
		    (enum outcome)outcome_of(json_string_value(json_object_get(t, "outcome")));
	}
	correl_load(&h->c, line, h->t, 3);
}

static void assert_same_verdict(const struct verdict_out *a, const struct verdict_out *b)
{
	assert_int_equal(a->v, b->v);
	assert_int_equal(a->accepted, b->accepted);
	assert_int_equal(a->delivered, b->delivered);
	assert_int_equal(a->bounced, b->bounced);
	assert_int_equal(a->bounces, b->bounces);
	assert_int_equal(a->partial, b->partial);
	assert_int_equal(a->multi_hop, b->multi_hop);
	assert_int_equal(a->tokens_disagree, b->tokens_disagree);
	assert_string_equal(a->reason, b->reason);
}

static void test_load_restores_verdict(void **st)
{
	(void)st;
	struct host live, again;
	struct verdict_out v1, v2;
	/* a bounce and a delivery */
	host_init(&live);
	assert_int_equal(add(&live, BOUNCE_1, 1), ARRIVAL_BOUNCED);
	assert_int_equal(add(&live, RELAYED_0_HIDDEN, 0), ARRIVAL_DELIVERED);
	verdict_of(&live, &v1);
	assert_int_equal(v1.v, V_OPEN_ANONYMOUS);
	assert_int_equal(v1.bounces, 1);
	assert_int_equal(v1.partial, 1);
	json_t *line = host_line(&live);
	host_load(&again, line);
	assert_int_equal(again.c.nd, 1);
	assert_string_equal(again.c.bounce_status, "5.7.1");
	verdict_of(&again, &v2);
	assert_same_verdict(&v1, &v2);
	/* loading twice adds nothing */
	correl_load(&again.c, line, again.t, 3);
	assert_int_equal(again.c.nd, 1);
	assert_int_equal(json_array_size(again.c.bounces), 1);
	/* a receipt already in the line arrives again (--report over the same receipts) */
	assert_int_equal(add(&again, BOUNCE_1, 1), ARRIVAL_IGNORED);
	assert_int_equal(add(&again, RELAYED_0_HIDDEN, 0), ARRIVAL_IGNORED);
	json_decref(line);
	correl_free(&again.c);
	correl_free(&live.c);

	/* bounces only */
	host_init(&live);
	add(&live, BOUNCE_1, 1);
	add(&live, AUTO_0, 0);
	verdict_of(&live, &v1);
	line = host_line(&live);
	host_load(&again, line);
	verdict_of(&again, &v2);
	assert_same_verdict(&v1, &v2);
	assert_string_equal(
	    v2.reason, "accepted 2 relay tests, then returned 1 of them as undeliverable (5.7.1)");
	assert_int_equal(json_array_size(again.c.auto_replies), 1);
	json_decref(line);
	correl_free(&again.c);
	correl_free(&live.c);
}

/* A host line as relaytrap writes it (abridged to what correlation reads). */
static const char HOST_LINE[] =
    "{\"type\":\"host\",\"addr\":\"192.0.2.25\",\"port\":25,\"scan_id\":\"01020304\","
    "\"verdict\":\"open\",\"session_end\":\"tests\",\"prober_addrs\":[\"198.51.100.7\"],"
    "\"tests\":["
    "{\"test_number\":0,\"name\":\"plain\",\"outcome\":\"bounced\",\"token\":\"" T0 "\","
    "\"accepted_at\":1795340466.5,\"delivered\":false},"
    "{\"test_number\":1,\"name\":\"null-sender\",\"outcome\":\"bounced\",\"token\":\"" T1 "\","
    "\"accepted_at\":1795340467.0,\"delivered\":true},"
    "{\"test_number\":2,\"name\":\"percent\",\"outcome\":\"rejected\",\"token\":\"" T2 "\"}],"
    "\"deliveries\":[{\"test\":\"null-sender\",\"test_number\":1,\"peer_addr\":\"192.0.2.25\","
    "\"mail_from\":\"\",\"rcpt\":[\"rt-" T1 "@sink.lab\"],\"trace_ips\":[\"198.51.100.7\"],"
    "\"unix_time\":1795340468.0,\"tokens_disagree\":false,\"prober_visible\":true}],"
    "\"bounces\":["
    "{\"test\":\"plain\",\"test_number\":0,\"peer_addr\":\"192.0.2.25\",\"mail_from\":\"\","
    "\"dsn\":{\"status\":\"5.7.1\",\"action\":\"failed\",\"diagnostic_code\":null,"
    "\"reporting_mta\":\"mx.relay.example\",\"final_recipient\":null},\"returned\":true},"
    "{\"test\":\"null-sender\",\"test_number\":1,\"peer_addr\":\"192.0.2.25\","
    "\"dsn\":{\"status\":\"5.1.1\",\"action\":\"failed\"},\"returned\":true}],"
    "\"auto_replies\":[]}";

static void test_load_host_line(void **st)
{
	(void)st;
	struct host h;
	struct verdict_out vo;
	json_t *line = parse(HOST_LINE);
	host_load(&h, line);
	/* "bounced" is decided again by the verdict */
	assert_int_equal(h.t[0].outcome, OUT_ACCEPTED);
	assert_int_equal(h.t[1].outcome, OUT_ACCEPTED);
	assert_int_equal(h.c.nd, 1);
	assert_int_equal(h.c.d[0].test, 1);
	assert_int_equal(h.c.d[0].ntrace, 1);
	assert_string_equal(h.c.bounce_status, "5.7.1");
	verdict_of(&h, &vo);
	/* test 1 was delivered too: its bounce does not count */
	assert_int_equal(h.t[0].outcome, OUT_BOUNCED);
	assert_int_equal(h.t[1].outcome, OUT_ACCEPTED);
	assert_int_equal(vo.v, V_OPEN);
	assert_int_equal(vo.accepted, 2);
	assert_int_equal(vo.delivered, 1);
	assert_int_equal(vo.bounced, 1);
	assert_int_equal(vo.bounces, 1);
	assert_int_equal(vo.partial, 1);
	assert_string_equal(vo.reason, "relayed 1 of the 2 relay tests it accepted");
	assert_int_equal(correl_settled(&h.c, h.t, 3), 1);
	json_decref(line);
	correl_free(&h.c);
}

/* A "delayed" DSN for one test, a failure for another: --report over the results file names
 * the failure's status, as the live run did. */
static void test_load_delayed_status(void **st)
{
	(void)st;
	struct host live, again;
	struct verdict_out v1, v2;
	host_init(&live);
	add(&live, DELAYED_0, 0);
	add(&live, BOUNCE_1, 1);
	verdict_of(&live, &v1);
	assert_string_equal(
	    v1.reason, "accepted 2 relay tests, then returned 1 of them as undeliverable (5.7.1)");
	json_t *line = host_line(&live);
	host_load(&again, line);
	verdict_of(&again, &v2);
	json_decref(line);
	correl_free(&again.c);
	correl_free(&live.c);
	assert_string_equal(v2.reason, v1.reason);
}

/* ---- regressions: bugs these tests found, fixed ---- */

/* A relay warns first ("delayed", RFC 3464) and returns the test later ("failed"): the
 * warning takes the test's place in bounces[], so the failure is ignored and the test never
 * becomes "bounced". */
static void regression_delayed_then_failed(void **st)
{
	(void)st;
	struct host h;
	host_init(&h);
	assert_int_equal(add(&h, DELAYED_1, 1), ARRIVAL_BOUNCED);
	enum arrival a = add(&h, BOUNCE_1, 1);
	struct verdict_out vo;
	verdict_of(&h, &vo);
	enum outcome o = h.t[1].outcome;
	correl_free(&h.c);
	assert_int_equal(a, ARRIVAL_BOUNCED);
	assert_int_equal(o, OUT_BOUNCED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refs),
	    cmocka_unit_test(test_refs_old_receipt),
	    cmocka_unit_test(test_refs_bounds),
	    cmocka_unit_test(test_bounce),
	    cmocka_unit_test(test_bounce_single_test),
	    cmocka_unit_test(test_relayed_open),
	    cmocka_unit_test(test_smuggling),
	    cmocka_unit_test(test_bounce_then_relayed),
	    cmocka_unit_test(test_delayed_is_no_bounce),
	    cmocka_unit_test(test_auto_reply),
	    cmocka_unit_test(test_settled_and_deadline),
	    cmocka_unit_test(test_load_restores_verdict),
	    cmocka_unit_test(test_load_host_line),
	    cmocka_unit_test(test_load_delayed_status),
	    cmocka_unit_test(regression_delayed_then_failed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
