/* Per-host verdicts (docs/design.md "Verdicts"): from the session's end, the tests' outcomes and
 * the messages that reached the sink. Pure. */
#ifndef RT_VERDICT_H
#define RT_VERDICT_H

#include "addr.h"
#include "outcome.h"

enum verdict {
	V_OPEN_ANONYMOUS,
	V_OPEN,
	V_ACCEPTED,
	V_DEFERRED,
	V_AUTH_REQUIRED,
	V_CLOSED,
	V_REFUSED,
	V_NOT_SMTP,
	V_UNREACHABLE,
	V_ERROR,
	V_COUNT,
};
extern const char *const verdict_names[];
int verdict_from_name(const char *s);

#define DELIVERY_MAX_IPS 32

/* One relayed message that arrived, as far as the verdict cares. */
struct delivery {
	int test;
	struct ipaddr peer; /* who handed it to the sink */
	struct ipaddr trace[DELIVERY_MAX_IPS];
	int ntrace;
	int tokens_disagree;
};

struct verdict_in {
	enum session_end end;
	const struct test_result *t;
	int nt;
	const struct delivery *d;
	int nd;
	struct ipaddr target;
	const struct ipaddr *prober; /* our local address(es) and what the target reported */
	int nprober;
	const char *bounce_status; /* the DSN status of the first bounce; NULL or "" if none */
	int auto_replies;          /* auto-replies to the tests' sender (never counted) */
};

struct verdict_out {
	enum verdict v;
	int multi_hop;
	struct ipaddr delivered_via; /* family 0 unless multi_hop */
	int tokens_disagree;
	int delivered;     /* tests whose message arrived */
	int accepted;      /* tests accepted at end of data (bounced ones included) */
	int bounced;       /* tests returned to their sender as undeliverable */
	int bounces;       /* flag: it returns what it accepted (a backscatter source) */
	int partial;       /* flag: open, but fewer tests delivered than accepted */
	int auth_bypass;   /* flag: a test relayed after AUTH with empty credentials or ANONYMOUS */
	int xclient_spoof; /* flag: a test relayed after XCLIENT claimed a trusted address */
	int smuggling;     /* flag: a smuggled message arrived as a message of its own */
	int proxy_spoof;   /* flag: a test relayed on a connection a PROXY header said was local */
	char reason[160];  /* the verdict in words when the tests say more than the session; "" */
};

/* 1 when one of the prober's addresses appears in the delivery's trace headers. */
int delivery_shows_prober(const struct delivery *d, const struct ipaddr *prober, int n);
void verdict_decide(const struct verdict_in *in, struct verdict_out *out);

#endif
