/* Correlation (docs/design.md "What counts as a delivery"): what the sink received, matched to
 * the tests of one host, and the host's verdict from it. The one place for these rules: the
 * live scan (scan.c) and --report (merge.c) both call it, so an embedded run and a split
 * deployment merged afterwards cannot disagree. Pure over JSON receipts and test results.
 *
 * A receipt's class (sink/mailclass.h) decides what it is to the host it names: a relayed
 * delivery (makes the host open), a bounce (the test's outcome becomes "bounced"), an
 * auto-reply (recorded, never counted), or foreign (not matched to any host). */
#ifndef RT_CORRELATE_H
#define RT_CORRELATE_H

#include <jansson.h>
#include <stdint.h>

#include "addr.h"
#include "client.h"
#include "verdict.h"

/* A (scan, target, port, test) that a receipt is about. */
struct receipt_ref {
	char scan_id[9];
	struct ipaddr target;
	uint16_t port;
	int test;
};

enum arrival { ARRIVAL_DELIVERED, ARRIVAL_BOUNCED, ARRIVAL_AUTO_REPLY, ARRIVAL_IGNORED };

/* The hosts a receipt names, at most max: every valid token of a bounce or an auto-reply;
 * of a relayed delivery, the valid tokens outside attached parts. A receipt from a sink older
 * than the classifier (no "class") counts as relayed only for tokens in the recipient or the
 * header. Returns the count. */
int correl_refs(const json_t *receipt, struct receipt_ref *out, int max);

/* One host's arrivals. */
struct correl {
	struct delivery *d;  /* relayed deliveries, the first per test; grown as they arrive */
	int nd, nalloc, cap; /* cap: one per test */
	/* evidence for the host line, each NULL until its first entry (correl_list) */
	json_t *deliveries;     /* one per delivered test */
	json_t *bounces;        /* one per bounced test: who returned it, the DSN's fields */
	json_t *auto_replies;   /* recorded, never counted */
	char bounce_status[16]; /* the first bounce's DSN status */
};

int correl_init(struct correl *c, int ntests);
/* One of the evidence arrays for a host line: a new reference, an empty array for NULL. */
json_t *correl_list(const json_t *a);
void correl_free(struct correl *c);
/* What an earlier host line already holds (--report of a results file): its deliveries,
 * bounces and auto-replies. Its tests' "bounced" outcomes become accepted again, for
 * correl_verdict to decide anew. */
void correl_load(struct correl *c, const json_t *host, struct test_result *t, int nt);
/* Adds receipt r about test t (that test's result; its name and token). A second arrival of
 * the same kind for the same test is ignored. Arrival order does not matter: a bounce may
 * come before the 250 that accepted its test. */
enum arrival correl_add(struct correl *c, const json_t *r, const struct test_result *t,
                        const char *test_name, const char *token, const struct ipaddr *prober,
                        int nprober);
/* 1 when every accepted test was delivered or bounced: nothing more to wait for. */
int correl_settled(const struct correl *c, const struct test_result *t, int nt);
/* Until when arrivals count: --wait after the last acceptance, or the session's end,
 * whichever is later. */
double correl_deadline(const struct test_result *t, int nt, double ended, double wait);
/* The host's verdict (verdict_decide with the deliveries and bounces). Sets each accepted
 * test's outcome: OUT_BOUNCED when it was returned and not delivered, else OUT_ACCEPTED. */
void correl_verdict(const struct correl *c, enum session_end end, struct test_result *t, int nt,
                    const struct ipaddr *target, const struct ipaddr *prober, int nprober,
                    struct verdict_out *vo);

/* What the verdict needs of a delivered message, from a sink receipt or an evidence object
 * (peer_addr, trace_ips, tokens_disagree). */
void delivery_from_json(const json_t *r, int test, struct delivery *d);

#endif
