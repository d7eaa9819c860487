#include "correlate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "mailclass.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* ---- which hosts a receipt names ---- */

static int found_in(const json_t *tk, const char *place)
{
	return jsonx_array_has(json_object_get(tk, "found_in"), place);
}

/* Whether token tk of receipt r speaks for a host. */
static int token_counts(const json_t *r, const json_t *tk)
{
	const char *cls = str(r, "class");
	if (!*cls) /* a sink older than the classifier: mailclass_decide's places */
		return found_in(tk, "rcpt") || found_in(tk, "message-id") ||
		       found_in(tk, "x-relaytrap-token");
	if (!strcmp(cls, "bounce") || !strcmp(cls, "auto-reply"))
		return 1;
	if (!strcmp(cls, "relayed"))
		return json_array_size(json_object_get(tk, "found_in")) >
		       (size_t)found_in(tk, "attached");
	return 0;
}

int correl_refs(const json_t *receipt, struct receipt_ref *out, int max)
{
	int n = 0;
	size_t i;
	const json_t *tk;
	json_array_foreach(json_object_get(receipt, "tokens"), i, tk)
	{
		struct receipt_ref *ref = &out[n];
		const char *sid = str(tk, "scan_id");
		json_int_t port = json_integer_value(json_object_get(tk, "port"));
		json_int_t test = json_integer_value(json_object_get(tk, "test"));
		if (n >= max || strcmp(str(tk, "status"), "valid") != 0 || strlen(sid) != 8 ||
		    ipaddr_parse(str(tk, "target"), &ref->target) < 0 || port <= 0 ||
		    port > 65535 || test < 0 || test >= CATALOG_MAX || !token_counts(receipt, tk))
			continue;
		memcpy(ref->scan_id, sid, 9);
		ref->port = (uint16_t)port;
		ref->test = (int)test;
		n++;
	}
	return n;
}

/* ---- one host ---- */

int correl_init(struct correl *c, int ntests)
{
	memset(c, 0, sizeof(*c));
	c->cap = ntests > 0 ? ntests : 1;
	return 0; /* the evidence arrays come with their first entry (list_append) */
}

/* Appends e to the evidence array in *slot, made on first use: most hosts get none (issue
 * 18: three empty arrays were a tenth of a session). Steals e. */
static void list_append(json_t **slot, json_t *e)
{
	if (!*slot)
		*slot = json_array();
	json_array_append_new(*slot, e); /* on failure it drops e */
}

json_t *correl_list(const json_t *a)
{
	return a ? json_incref((json_t *)(uintptr_t)a) : json_array();
}

void correl_free(struct correl *c)
{
	free(c->d);
	json_decref(c->deliveries);
	json_decref(c->bounces);
	json_decref(c->auto_replies);
	memset(c, 0, sizeof(*c));
}

void delivery_from_json(const json_t *r, int test, struct delivery *d)
{
	memset(d, 0, sizeof(*d));
	d->test = test;
	ipaddr_parse(str(r, "peer_addr"), &d->peer);
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(r, "trace_ips"), i, v)
	{
		if (d->ntrace < DELIVERY_MAX_IPS &&
		    ipaddr_parse(json_string_value(v) ?: "", &d->trace[d->ntrace]) == 0)
			d->ntrace++;
	}
	d->tokens_disagree = json_is_true(json_object_get(r, "tokens_disagree"));
}

static int has_test(const json_t *arr, int test)
{
	size_t i;
	const json_t *e;
	json_array_foreach(arr, i, e)
	{
		if (json_integer_value(json_object_get(e, "test_number")) == test)
			return 1;
	}
	return 0;
}

/* A hostile relay chooses what it delivers: 99 recipients of 2 KB, a 20 KB subject. The
 * evidence keeps a bounded copy (the raw message stays in the store), so one host's line
 * stays far below what the readers take. */
#define EVIDENCE_TEXT_MAX 512
#define EVIDENCE_LIST_MAX 8

static json_t *bounded(json_t *v, int *cut)
{
	if (json_is_string(v)) {
		if (json_string_length(v) <= EVIDENCE_TEXT_MAX)
			return json_incref(v);
		*cut = 1;
		return jsonx_bytes(json_string_value(v), EVIDENCE_TEXT_MAX);
	}
	size_t i;
	json_t *e;
	if (json_is_array(v)) {
		json_t *a = json_array();
		json_array_foreach(v, i, e)
		{
			if (i >= EVIDENCE_LIST_MAX) {
				*cut = 1;
				break;
			}
			json_array_append_new(a, bounded(e, cut));
		}
		return a;
	}
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_object_foreach(v, k, e) json_object_set_new(o, k, bounded(e, cut));
		return o;
	}
	return json_incref(v);
}

/* Evidence for the host line: the receipt's facts that say what arrived, from whom. */
static json_t *evidence_json(const json_t *r, const char *test_name, const char *token,
                             const struct test_result *t, const char *const *keys)
{
	json_t *e = json_object();
	int cut = 0;
	json_object_set_new(e, "test", json_string(test_name));
	json_object_set_new(e, "test_number", json_integer(t->test));
	for (int i = 0; keys[i]; i++) {
		json_t *v = json_object_get(r, keys[i]);
		if (!v)
			continue;
		if (!strcmp(keys[i],
		            "trace_ips")) /* the sink's own bound; --report decides by it */
			json_object_set(e, keys[i], v);
		else
			json_object_set_new(e, keys[i], bounded(v, &cut));
	}
	if (json_array_size(json_object_get(r, "rcpt")) > EVIDENCE_LIST_MAX)
		json_object_set_new(
		    e, "rcpt_count",
		    json_integer((json_int_t)json_array_size(json_object_get(r, "rcpt"))));
	if (cut) /* the whole receipt is in receipts.jsonl, the message in the store */
		json_object_set_new(e, "truncated", json_true());
	size_t i;
	const json_t *tk;
	json_array_foreach(json_object_get(r, "tokens"), i, tk)
	{
		if (strcmp(str(tk, "token"), token) == 0)
			json_object_set(e, "found_in", json_object_get(tk, "found_in"));
	}
	if (t->accepted_at > 0)
		json_object_set_new(
		    e, "delay",
		    json_real(json_number_value(json_object_get(r, "unix_time")) - t->accepted_at));
	return e;
}

/* Room for one more delivery: the array grows with what arrives (most hosts get none, and
 * an entry is large), never past one per test. 0: none (full, or out of memory). */
static int delivery_room(struct correl *c)
{
	if (c->nd >= c->cap)
		return 0;
	if (c->nd < c->nalloc)
		return 1;
	int n = c->nalloc ? c->nalloc * 2 : 2;
	if (n > c->cap)
		n = c->cap;
	struct delivery *d = realloc(c->d, (size_t)n * sizeof(*d));
	if (!d)
		return 0;
	c->d = d;
	c->nalloc = n;
	return 1;
}

static void add_delivered(struct correl *c, const json_t *r, const struct test_result *t,
                          const char *name, const char *token, const struct ipaddr *prober,
                          int nprober)
{
	static const char *const keys[] = {"peer_addr",      "mail_from",    "rcpt",    "received",
	                                   "received_count", "trace_ips",    "subject", "unix_time",
	                                   "maildir_file",   "spool_offset", "flags",   NULL};
	struct delivery *d = &c->d[c->nd++];
	delivery_from_json(r, t->test, d);
	if (t->via == VIA_SMUGGLE) /* it carries its inner message's token by design */
		d->tokens_disagree = 0;
	json_t *e = evidence_json(r, name, token, t, keys);
	json_object_set_new(e, "tokens_disagree", json_boolean(d->tokens_disagree));
	json_object_set_new(e, "prober_visible",
	                    json_boolean(delivery_shows_prober(d, prober, nprober)));
	list_append(&c->deliveries, e);
}

/* A bounce whose test was returned undelivered (not a "delayed" or "relayed" notice). */
static int returned(const json_t *bounces, int test)
{
	size_t i;
	const json_t *e;
	json_array_foreach(bounces, i, e)
	{
		if (json_integer_value(json_object_get(e, "test_number")) == test &&
		    json_is_true(json_object_get(e, "returned")))
			return 1;
	}
	return 0;
}

static void add_returned(struct correl *c, const json_t *r, const struct test_result *t,
                         const char *name, const char *token, json_t **slot)
{
	static const char *const keys[] = {
	    "peer_addr",    "mail_from",    "rcpt", "subject",    "unix_time", "class_why",
	    "maildir_file", "spool_offset", "dsn",  "auto_reply", NULL};
	json_t *e = evidence_json(r, name, token, t, keys);
	if (slot == &c->bounces) {
		const json_t *dsn = json_object_get(r, "dsn");
		int ret = mailclass_returned(json_string_value(json_object_get(dsn, "action")));
		json_object_set_new(e, "returned", json_boolean(ret));
		const char *status = json_string_value(json_object_get(dsn, "status"));
		if (ret && status && !c->bounce_status[0])
			snprintf(c->bounce_status, sizeof(c->bounce_status), "%.15s", status);
	}
	list_append(slot, e); /* last: it may drop e */
}

/* A smuggled message counts only as a message of its own: its token in the envelope. */
static int in_envelope(const json_t *r, int test)
{
	size_t i;
	const json_t *tk;
	json_array_foreach(json_object_get(r, "tokens"), i, tk)
	{
		if (json_integer_value(json_object_get(tk, "test")) == test && found_in(tk, "rcpt"))
			return 1;
	}
	return 0;
}

enum arrival correl_add(struct correl *c, const json_t *r, const struct test_result *t,
                        const char *test_name, const char *token, const struct ipaddr *prober,
                        int nprober)
{
	const char *cls = str(r, "class");
	if (!strcmp(cls, "bounce")) {
		/* one notice per test (the first), but a failure after a "delayed" notice counts */
		int failure = mailclass_returned(
		    json_string_value(json_object_get(json_object_get(r, "dsn"), "action")));
		if (returned(c->bounces, t->test) || (!failure && has_test(c->bounces, t->test)))
			return ARRIVAL_IGNORED;
		add_returned(c, r, t, test_name, token, &c->bounces);
		return ARRIVAL_BOUNCED;
	}
	if (!strcmp(cls, "auto-reply")) {
		if (has_test(c->auto_replies, t->test))
			return ARRIVAL_IGNORED;
		add_returned(c, r, t, test_name, token, &c->auto_replies);
		return ARRIVAL_AUTO_REPLY;
	}
	/* relayed (or a receipt from before the classifier that correl_refs let through) */
	if (t->via == VIA_SMUGGLED && !in_envelope(r, t->test))
		return ARRIVAL_IGNORED; /* the text inside its smuggling test's message */
	if (has_test(c->deliveries, t->test) || !delivery_room(c))
		return ARRIVAL_IGNORED; /* the same test twice (a relay retried): first one counts
		                         */
	add_delivered(c, r, t, test_name, token, prober, nprober);
	return ARRIVAL_DELIVERED;
}

void correl_load(struct correl *c, const json_t *host, struct test_result *t, int nt)
{
	static const char *const arrays[] = {"deliveries", "bounces", "auto_replies"};
	json_t **mine[] = {&c->deliveries, &c->bounces, &c->auto_replies};
	for (int a = 0; a < 3; a++) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(host, arrays[a]), i, e)
		{
			int tn = (int)json_integer_value(json_object_get(e, "test_number"));
			int dup = a == 1 ? returned(*mine[a], tn) ||
			                       (!json_is_true(json_object_get(e, "returned")) &&
			                        has_test(*mine[a], tn))
			                 : has_test(*mine[a], tn);
			if (dup || (a == 0 && !delivery_room(c)))
				continue;
			list_append(mine[a], json_incref(e));
			if (a == 0)
				delivery_from_json(e, tn, &c->d[c->nd++]);
			const char *status =
			    json_string_value(json_object_get(json_object_get(e, "dsn"), "status"));
			if (a == 1 && status && json_is_true(json_object_get(e, "returned")) &&
			    !c->bounce_status[0])
				snprintf(c->bounce_status, sizeof(c->bounce_status), "%.15s",
				         status);
		}
	}
	for (int i = 0; i < nt; i++) /* decided again below, from the arrivals */
		if (t[i].outcome == OUT_BOUNCED)
			t[i].outcome = OUT_ACCEPTED;
}

int correl_settled(const struct correl *c, const struct test_result *t, int nt)
{
	for (int i = 0; i < nt; i++)
		if (outcome_accepted(t[i].outcome) && !has_test(c->deliveries, t[i].test) &&
		    !returned(c->bounces, t[i].test))
			return 0;
	return 1;
}

double correl_deadline(const struct test_result *t, int nt, double ended, double wait)
{
	double last = 0;
	for (int i = 0; i < nt; i++)
		if (outcome_accepted(t[i].outcome) && t[i].accepted_at > last)
			last = t[i].accepted_at;
	return last + wait > ended ? last + wait : ended;
}

void correl_verdict(const struct correl *c, enum session_end end, struct test_result *t, int nt,
                    const struct ipaddr *target, const struct ipaddr *prober, int nprober,
                    struct verdict_out *vo)
{
	/* A bounce may reach the sink before the 250 that accepted its test reaches us, so the
	 * outcome is decided here, from all that arrived: a delivery outweighs a bounce. */
	for (int i = 0; i < nt; i++) {
		if (outcome_accepted(t[i].outcome))
			t[i].outcome =
			    !has_test(c->deliveries, t[i].test) && returned(c->bounces, t[i].test)
			        ? OUT_BOUNCED
			        : OUT_ACCEPTED;
	}
	struct verdict_in vi = {
	    .end = end,
	    .t = t,
	    .nt = nt,
	    .d = c->d,
	    .nd = c->nd,
	    .target = *target,
	    .prober = prober,
	    .nprober = nprober,
	    .bounce_status = c->bounce_status,
	    .auto_replies = (int)json_array_size(c->auto_replies),
	};
	verdict_decide(&vi, vo);
}
