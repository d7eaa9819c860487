#include "results.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"
#include "jsonx.h"
#include "knowledge.h"

/* docs/results-format.md: a value that is not there is null, never "". */
static json_t *or_null(const char *s)
{
	return s && *s ? jsonx_str(s) : json_null();
}

static json_t *reply_json(const struct client *c, int i, enum stage s, const char *rcpt,
                          const char *token)
{
	char text[REPLY_TEXT_MAX + 2 * CATALOG_FIELD];
	client_reply_text(c, i, s, rcpt, token, text, sizeof(text));
	json_t *o = json_object();
	json_object_set_new(o, "code", json_integer(c->t[i].code[s]));
	json_object_set_new(o, "text", jsonx_str(text));
	return o;
}

static int test_delivered(json_t *deliveries, int test)
{
	size_t i;
	json_t *d;
	json_array_foreach(deliveries, i, d)
	{
		if (json_integer_value(json_object_get(d, "test_number")) == test)
			return 1;
	}
	return 0;
}

static json_t *tests_json(const struct host_facts *h)
{
	json_t *arr = json_array();
	for (int i = 0; i < h->c->nt; i++) {
		const struct test_result *t = &h->c->t[i];
		if (t->outcome == OUT_NOTRUN && !t->prepared)
			continue;
		struct test_args a;
		client_test_args(h->c, i, &a);
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(h->cat->t[t->test].name));
		json_object_set_new(o, "test_number", json_integer(t->test));
		json_object_set_new(o, "token", json_string(a.token));
		json_object_set_new(o, "mail_from", or_null(t->prepared ? a.mail : NULL));
		json_object_set_new(o, "rcpt_to", or_null(t->prepared ? a.rcpt : NULL));
		if (t->prepared && a.helo[0])
			json_object_set_new(o, "helo", jsonx_str(a.helo));
		json_object_set_new(o, "outcome", json_string(outcome_names[t->outcome]));
		json_object_set_new(o, "transport", or_null(transport_names[t->transport]));
		json_object_set_new(o, "via",
		                    t->via ? json_string(via_names[t->via]) : json_null());
		if (t->accepted_at > 0)
			json_object_set_new(o, "accepted_at", json_real(t->accepted_at));
		json_object_set_new(o, "delivered",
		                    json_boolean(test_delivered(h->deliveries, t->test)));
		json_t *rep = json_object();
		for (int s = 0; s < ST_COUNT; s++)
			if (t->code[s])
				json_object_set_new(rep, stage_names[s],
				                    reply_json(h->c, i, s, a.rcpt, a.token));
		json_object_set_new(o, "replies", rep);
		json_array_append_new(arr, o);
	}
	return arr;
}

/* The last TLS session's facts (a certificate that does not verify never stopped the scan). */
static json_t *tls_json(const struct io_tls_info *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "version", or_null(t->version));
	json_object_set_new(o, "cipher", or_null(t->cipher));
	json_object_set_new(o, "subject", or_null(t->has_cert ? t->subject : NULL));
	json_object_set_new(o, "issuer", or_null(t->has_cert ? t->issuer : NULL));
	json_object_set_new(o, "names", or_null(t->has_cert ? t->names : NULL));
	json_object_set_new(o, "not_after", or_null(t->has_cert ? t->not_after : NULL));
	json_object_set_new(o, "self_signed", json_boolean(t->has_cert && t->self_signed));
	json_object_set_new(o, "verified", json_boolean(t->has_cert && t->verified));
	return o;
}

json_t *verdict_flags(const struct verdict_out *v, const json_t *keep)
{
	static const char *const decided[] = {"multi_hop", "tokens_disagree", "bounces",
	                                      "partial",   "auth_bypass",     "xclient_spoof",
	                                      "smuggling", "proxy_spoof"};
	const int on[] = {v->multi_hop,   v->tokens_disagree, v->bounces,   v->partial,
	                  v->auth_bypass, v->xclient_spoof,   v->smuggling, v->proxy_spoof};
	const size_t n = sizeof(decided) / sizeof(decided[0]);
	json_t *flags = json_array();
	size_t i;
	json_t *f;
	json_array_foreach(keep, i, f)
	{
		int other = json_is_string(f);
		for (size_t k = 0; other && k < n; k++)
			other = strcmp(json_string_value(f), decided[k]) != 0;
		if (other)
			json_array_append(flags, f);
	}
	for (size_t k = 0; k < n; k++)
		if (on[k])
			json_array_append_new(flags, json_string(decided[k]));
	return flags;
}

int results_redone(const json_t *host)
{
	return json_is_false(json_object_get(host, "final")) ||
	       (json_is_null(json_object_get(host, "addr")) &&
	        json_is_string(json_object_get(host, "name")));
}

json_t *host_json(const struct host_facts *h)
{
	const struct client *c = h->c;
	char a[ADDR_TEXT_MAX];
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("host"));
	json_object_set_new(o, "addr", json_string(ipaddr_str(&h->addr, a, sizeof(a))));
	json_object_set_new(o, "port", json_integer(h->port));
	json_object_set_new(o, "scan_id", json_string(h->scan_id));
	json_object_set_new(o, "verdict", json_string(verdict_names[h->v->v]));
	json_t *flags = verdict_flags(h->v, NULL);
	if (h->interrupted)
		json_array_append_new(flags, json_string("interrupted"));
	json_object_set_new(o, "flags", flags);
	json_object_set_new(
	    o, "delivered_via",
	    or_null(h->v->multi_hop ? ipaddr_str(&h->v->delivered_via, a, sizeof(a)) : NULL));
	json_object_set_new(o, "session_end", json_string(session_end_names[c->end]));
	json_object_set_new(o, "reason", or_null(h->v->reason[0] ? h->v->reason : c->reason));
	json_object_set_new(o, "fingerprint", json_null()); /* knowledge_annotate, below */
	json_object_set_new(o, "banner", or_null(c->banner));
	json_object_set_new(o, "target_host", or_null(c->target_host));
	json_object_set_new(o, "target_host_from", or_null(c->host_from));
	json_object_set_new(o, "esmtp", json_boolean(c->esmtp));
	json_t *ext = json_array();
	for (const char *e = c->ehlo_ext, *nl; e && (nl = strchr(e, '\n')) != NULL; e = nl + 1)
		json_array_append_new(ext, jsonx_bytes(e, (size_t)(nl - e)));
	json_object_set_new(o, "ehlo", ext);
	json_t *pa = json_array();
	for (int i = 0; i < h->nprober; i++)
		json_array_append_new(pa, json_string(ipaddr_str(&h->prober[i], a, sizeof(a))));
	json_object_set_new(o, "prober_addrs", pa);
	json_object_set_new(
	    o, "ehlo_reported",
	    or_null(c->ehlo_reported.family ? ipaddr_str(&c->ehlo_reported, a, sizeof(a)) : NULL));
	json_object_set_new(o, "connections", json_integer(c->connects));
	json_object_set_new(o, "round_trips", json_integer(c->round_trips));
	json_object_set_new(o, "tls", c->tls ? tls_json(c->tls) : json_null());
	json_object_set_new(o, "tests_accepted", json_integer(h->v->accepted));
	json_object_set_new(o, "tests_delivered", json_integer(h->v->delivered));
	json_object_set_new(o, "tests_bounced", json_integer(h->v->bounced));
	json_object_set_new(o, "tests", tests_json(h));
	json_object_set_new(o, "deliveries", correl_list(h->deliveries));
	json_object_set_new(o, "bounces", correl_list(h->bounces));
	json_object_set_new(o, "auto_replies", correl_list(h->auto_replies));
	json_object_set_new(o, "started", json_real(h->started));
	json_object_set_new(o, "seconds", json_real(h->ended - h->started));
	if (c->p.transcript) {
		jsonx_set_bytes(o, "transcript", buf_head(&c->transcript), buf_len(&c->transcript));
		if (c->transcript_truncated)
			json_object_set_new(o, "transcript_truncated", json_true());
	}
	knowledge_annotate(knowledge_active(), o);
	return o;
}

json_t *unresolved_json(const char *name, const char *why, const char *scan_id)
{
	char reason[400];
	snprintf(reason, sizeof(reason), "DNS: %s: %s", name, why);
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("host"));
	json_object_set_new(o, "addr", json_null());
	json_object_set_new(o, "port", json_null());
	json_object_set_new(o, "name", jsonx_str(name));
	json_object_set_new(o, "scan_id", json_string(scan_id));
	json_object_set_new(o, "verdict", json_string(verdict_names[V_ERROR]));
	json_object_set_new(o, "flags", json_array());
	json_object_set_new(o, "session_end", json_string(session_end_names[END_ERROR]));
	json_object_set_new(o, "reason", jsonx_str(reason));
	json_object_set_new(o, "fingerprint", json_null());
	json_object_set_new(o, "advisories", json_array());
	json_object_set_new(o, "banner", json_null());
	json_object_set_new(o, "target_host", jsonx_str(name));
	json_object_set_new(o, "tests_accepted", json_integer(0));
	json_object_set_new(o, "tests_delivered", json_integer(0));
	json_object_set_new(o, "tests_bounced", json_integer(0));
	json_object_set_new(o, "tests", json_array());
	json_object_set_new(o, "deliveries", json_array());
	json_object_set_new(o, "bounces", json_array());
	json_object_set_new(o, "auto_replies", json_array());
	return o;
}

json_t *catalog_json(const struct catalog *cat)
{
	json_t *arr = json_array();
	for (int i = 0; i < cat->n; i++) {
		json_t *t = json_object();
		json_object_set_new(t, "name", json_string(cat->t[i].name));
		json_object_set_new(t, "mail_from", json_string(cat->t[i].mail));
		json_object_set_new(t, "rcpt_to", json_string(cat->t[i].rcpt));
		if (cat->t[i].helo[0])
			json_object_set_new(t, "helo", json_string(cat->t[i].helo));
		json_array_append_new(arr, t);
	}
	return arr;
}

/* ---- the done set ---- */

struct done_ent {
	struct done_ent *next;
	struct ipaddr ip;
	uint16_t port;
};

static size_t done_hash(const struct ipaddr *ip, uint16_t port, size_t nb)
{
	return (size_t)(ipaddr_hash(ip, 16, port) & (nb - 1));
}

int doneset_has(const struct doneset *d, const struct ipaddr *ip, uint16_t port)
{
	if (!d->nb)
		return 0;
	for (struct done_ent *e = d->b[done_hash(ip, port, d->nb)]; e; e = e->next)
		if (e->port == port && ipaddr_eq(&e->ip, ip))
			return 1;
	return 0;
}

int doneset_add(struct doneset *d, const struct ipaddr *ip, uint16_t port)
{
	if (doneset_has(d, ip, port))
		return 0;
	if (d->n >= d->nb) { /* grow: double the buckets, rehash */
		size_t nb = d->nb ? d->nb * 2 : 1024;
		struct done_ent **b = calloc(nb, sizeof(*b));
		if (!b)
			return -1;
		for (size_t i = 0; i < d->nb; i++)
			for (struct done_ent *e = d->b[i], *nx; e; e = nx) {
				nx = e->next;
				size_t k = done_hash(&e->ip, e->port, nb);
				e->next = b[k];
				b[k] = e;
			}
		free(d->b);
		d->b = b;
		d->nb = nb;
	}
	struct done_ent *e = malloc(sizeof(*e));
	if (!e)
		return -1;
	e->ip = *ip;
	e->port = port;
	size_t k = done_hash(ip, port, d->nb);
	e->next = d->b[k];
	d->b[k] = e;
	d->n++;
	return 0;
}

void doneset_free(struct doneset *d)
{
	for (size_t i = 0; i < d->nb; i++)
		for (struct done_ent *e = d->b[i], *nx; e; e = nx) {
			nx = e->next;
			free(e);
		}
	free(d->b);
	memset(d, 0, sizeof(*d));
}

/* ---- JSON-lines files ---- */

/* Reads one line (terminator kept) into r->line, growing it to at most JSONL_LINE_MAX bytes.
 * Returns its length, 0 at the end, -1 when it is longer (the rest of it is skipped). */
static long read_line(struct jsonl *r)
{
	size_t n = 0;
	for (;;) {
		if (r->cap - n < 2) {
			if (r->cap >= JSONL_LINE_MAX) {
				int c;
				while ((c = getc(r->f)) != EOF && c != '\n')
					;
				return -1;
			}
			size_t ncap = r->cap ? r->cap * 2 : 4096;
			char *b = realloc(r->line, ncap > JSONL_LINE_MAX ? JSONL_LINE_MAX : ncap);
			if (!b)
				return -1;
			r->line = b;
			r->cap = ncap > JSONL_LINE_MAX ? JSONL_LINE_MAX : ncap;
		}
		if (!fgets(r->line + n, (int)(r->cap - n), r->f))
			return (long)n;
		n += strlen(r->line + n);
		if (n && r->line[n - 1] == '\n')
			return (long)n;
	}
}

enum jsonl_status jsonl_next(struct jsonl *r, json_t **o)
{
	*o = NULL;
	for (;;) {
		long n = read_line(r);
		if (n == 0)
			return JSONL_END;
		r->lineno++;
		if (n < 0)
			return JSONL_TOO_LONG;
		if (n == 1 && r->line[0] == '\n')
			continue;
		int complete = r->line[n - 1] == '\n';
		*o = json_loadb(r->line, (size_t)n, 0, &r->je);
		if (*o && json_is_object(*o))
			return JSONL_OBJECT;
		if (*o)
			snprintf(r->je.text, sizeof(r->je.text), "not an object");
		json_decref(*o);
		*o = NULL;
		return complete ? JSONL_BAD : JSONL_TORN;
	}
}

void jsonl_free(struct jsonl *r)
{
	free(r->line);
	r->line = NULL;
	r->cap = 0;
}

int resume_load(const char *path, struct doneset *d, json_t **run, char *err, size_t errlen)
{
	struct jsonl r = {.f = fopen(path, "r")};
	*run = NULL;
	if (!r.f) {
		snprintf(err, errlen, "--resume %s: %s%s", path, strerror(errno),
		         errno == ENOENT
		             ? " (nothing to resume: leave out --resume to start a scan)"
		             : "");
		return -1;
	}
	int rc = 0;
	json_t *o;
	enum jsonl_status st;
	while (rc == 0 && (st = jsonl_next(&r, &o)) != JSONL_END && st != JSONL_TORN) {
		if (st == JSONL_TOO_LONG || st == JSONL_BAD) {
			snprintf(err, errlen, "%s:%d: %s", path, r.lineno,
			         st == JSONL_TOO_LONG ? "line too long" : "not a JSON object");
			rc = -1;
			break;
		}
		const char *type = json_string_value(json_object_get(o, "type"));
		if (type && strcmp(type, "run") == 0 && !*run)
			*run = json_incref(o);
		if (type && strcmp(type, "host") == 0 && results_redone(o)) {
			/* not done: this run does it again */
		} else if (type && strcmp(type, "host") == 0) {
			struct ipaddr ip;
			const char *a = json_string_value(json_object_get(o, "addr"));
			json_int_t port = json_integer_value(json_object_get(o, "port"));
			if (!a || ipaddr_parse(a, &ip) < 0 || port <= 0 || port > 65535) {
				snprintf(err, errlen, "%s:%d: host line without a valid addr/port",
				         path, r.lineno);
				rc = -1;
			} else if (doneset_add(d, &ip, (uint16_t)port) < 0) {
				snprintf(err, errlen, "%s:%d: out of memory", path, r.lineno);
				rc = -1;
			}
		}
		json_decref(o);
	}
	jsonl_free(&r);
	fclose(r.f);
	if (rc == 0 && !*run) {
		snprintf(err, errlen, "--resume %s: no run line: not a relaytrap results file",
		         path);
		rc = -1;
	}
	if (rc < 0) {
		json_decref(*run);
		*run = NULL;
	}
	return rc;
}
