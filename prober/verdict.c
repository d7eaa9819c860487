#include "verdict.h"

#include <stdio.h>
#include <string.h>

const char *const verdict_names[] = {"open-anonymous", "open",   "accepted", "deferred",
                                     "auth-required",  "closed", "refused",  "not-smtp",
                                     "unreachable",    "error"};

_Static_assert(sizeof(verdict_names) / sizeof(verdict_names[0]) == V_COUNT,
               "a name for every verdict");

int verdict_from_name(const char *s)
{
	for (int i = 0; i < V_COUNT; i++)
		if (strcmp(verdict_names[i], s) == 0)
			return i;
	return -1;
}

int delivery_shows_prober(const struct delivery *d, const struct ipaddr *prober, int n)
{
	for (int i = 0; i < d->ntrace; i++)
		for (int j = 0; j < n; j++)
			if (ipaddr_eq(&d->trace[i], &prober[j]))
				return 1;
	return 0;
}

/* Its last reply refused syntax (reply_syntax_only, set where the reply was kept): says
 * nothing about the relay policy. */
static int syntax_only(const struct test_result *t)
{
	return t->syntax;
}

/* "accepted 24 relay tests, then returned 2 of them as undeliverable (5.7.1)" */
static void bounce_reason(const struct verdict_in *in, struct verdict_out *out)
{
	const char *st = in->bounce_status && *in->bounce_status ? in->bounce_status : NULL;
	char which[32];
	if (out->bounced == out->accepted)
		snprintf(which, sizeof(which), "%s", out->accepted == 1 ? "it" : "them");
	else
		snprintf(which, sizeof(which), "%d of them", out->bounced);
	snprintf(out->reason, sizeof(out->reason),
	         "accepted %d relay test%s, then returned %s as undeliverable%s%s%s", out->accepted,
	         out->accepted == 1 ? "" : "s", which, st ? " (" : "", st ? st : "", st ? ")" : "");
}

void verdict_decide(const struct verdict_in *in, struct verdict_out *out)
{
	memset(out, 0, sizeof(*out));
	int anonymous = 0, deferred = 0, auth = 0, rejected = 0, policy = 0;
	for (int i = 0; i < in->nd; i++) {
		const struct delivery *d = &in->d[i];
		if (!delivery_shows_prober(d, in->prober, in->nprober))
			anonymous = 1;
		if (!ipaddr_eq(&d->peer, &in->target) && !out->multi_hop) {
			out->multi_hop = 1;
			out->delivered_via = d->peer;
		}
		out->tokens_disagree |= d->tokens_disagree;
	}
	for (int i = 0; i < in->nt; i++) {
		enum outcome o = in->t[i].outcome;
		for (int k = 0; k < in->nd; k++)
			if (in->d[k].test == in->t[i].test) {
				out->delivered++;
				out->auth_bypass |= via_is_auth(in->t[i].via);
				out->xclient_spoof |= via_is_xclient(in->t[i].via);
				out->smuggling |= in->t[i].via == VIA_SMUGGLED;
				out->proxy_spoof |= in->t[i].via == VIA_PROXY;
				break;
			}
		if (outcome_path_only(&in->t[i])) /* a refused AUTH says nothing about relaying */
			continue;
		out->accepted += outcome_accepted(o);
		out->bounced += o == OUT_BOUNCED;
		deferred += o == OUT_DEFERRED;
		auth += o == OUT_AUTH;
		if (o == OUT_REJECTED) {
			rejected++;
			policy += !syntax_only(&in->t[i]);
		}
	}
	out->bounces = out->bounced > 0;
	if (in->nd) {
		out->v = anonymous ? V_OPEN_ANONYMOUS : V_OPEN;
		out->partial = out->delivered < out->accepted;
		if (out->partial)
			snprintf(out->reason, sizeof(out->reason),
			         "relayed %d of the %d relay tests it accepted", out->delivered,
			         out->accepted);
		return;
	}
	switch (in->end) {
	case END_REFUSED:
		out->v = V_REFUSED;
		return;
	case END_NOT_SMTP:
		out->v = V_NOT_SMTP;
		return;
	case END_UNREACHABLE:
		out->v = V_UNREACHABLE;
		return;
	default:
		break;
	}
	if (out->accepted) {
		out->v = V_ACCEPTED;
		if (out->bounced)
			bounce_reason(in, out);
		else if (in->auto_replies)
			snprintf(out->reason, sizeof(out->reason),
			         "accepted %d relay test%s; nothing relayed arrived, only %d "
			         "auto-repl%s "
			         "to the sender (not counted)",
			         out->accepted, out->accepted == 1 ? "" : "s", in->auto_replies,
			         in->auto_replies == 1 ? "y" : "ies");
	} else if (deferred && !policy && !auth) /* only 4xx answers (and syntax errors) */
		out->v = V_DEFERRED;
	else if (auth)
		out->v = V_AUTH_REQUIRED;
	else if (rejected)
		out->v = V_CLOSED;
	else
		out->v = V_ERROR;
}
