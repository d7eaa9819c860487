#include "msgscan.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonx.h"
#include "mailclass.h"
#include "received.h"
#include "token.h"

#define MAX_TOKENS 16
#define MAX_TRACE_IPS 64
#define BODY_SCAN_MAX 65536

static const char TOKEN_RE[] = "rt-([a-z2-7]{32}(?:[a-z2-7]{24})?)(?![a-z2-7])";
/* X-Relaytrap-Token carries the token without the local-part prefix. */
static const char TOKEN_BARE_RE[] = "(?<![a-z0-9])([a-z2-7]{32}(?:[a-z2-7]{24})?)(?![a-z0-9])";
static const char *const trace_headers[] = {"Received",    "X-Originating-IP", "X-Forwarded-For",
                                            "X-Client-IP", "X-Real-IP",        "X-Sender-IP",
                                            "X-Remote-IP", "X-Source-IP",      NULL};

struct msgscan {
	uint8_t key[256];
	size_t keylen; /* 0: tokens are checked for shape only */
	size_t header_max;
	int received_max;
	pcre2_code *tok, *bare;
	pcre2_match_data *md;
	struct received_parser *rp;
	char *unfold; /* header_max bytes of scratch */
};

struct found {
	char text[TOKEN_MAX + 1];
	int where;
};

struct scan_state {
	struct found tok[MAX_TOKENS];
	int ntok;
	struct ipaddr ips[MAX_TRACE_IPS];
	int nips;
};

struct msgscan *msgscan_new(const uint8_t *key, size_t keylen, size_t header_max, int received_max,
                            char *err, size_t errlen)
{
	struct msgscan *ms = calloc(1, sizeof(*ms));
	int ec;
	PCRE2_SIZE eo;
	if (!ms || keylen > sizeof(ms->key)) {
		snprintf(err, errlen, ms ? "secret longer than 256 bytes" : "out of memory");
		free(ms);
		return NULL;
	}
	if (key)
		memcpy(ms->key, key, keylen);
	ms->keylen = key ? keylen : 0;
	ms->header_max = header_max;
	ms->received_max = received_max;
	ms->unfold = malloc(header_max + 1);
	ms->tok = pcre2_compile((PCRE2_SPTR)TOKEN_RE, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS, &ec,
	                        &eo, NULL);
	ms->bare = pcre2_compile((PCRE2_SPTR)TOKEN_BARE_RE, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS,
	                         &ec, &eo, NULL);
	ms->md = pcre2_match_data_create(4, NULL);
	if (!ms->unfold || !ms->tok || !ms->bare || !ms->md) {
		snprintf(err, errlen, "msgscan: initialisation failed");
		msgscan_free(ms);
		return NULL;
	}
	if (!(ms->rp = received_parser_new(err, errlen))) {
		msgscan_free(ms);
		return NULL;
	}
	if (received_jit_wanted()) {
		pcre2_jit_compile(ms->tok, PCRE2_JIT_COMPLETE);
		pcre2_jit_compile(ms->bare, PCRE2_JIT_COMPLETE);
	}
	return ms;
}

void msgscan_free(struct msgscan *ms)
{
	if (!ms)
		return;
	pcre2_code_free(ms->tok);
	pcre2_code_free(ms->bare);
	pcre2_match_data_free(ms->md);
	received_parser_free(ms->rp);
	free(ms->unfold);
	free(ms);
}

static void add_token(struct scan_state *st, const char *t, size_t n, int where)
{
	char low[TOKEN_MAX + 1];
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)t[i]);
	low[n] = '\0';
	for (int i = 0; i < st->ntok; i++) {
		if (!strcmp(st->tok[i].text, low)) {
			st->tok[i].where |= where;
			return;
		}
	}
	if (st->ntok < MAX_TOKENS) {
		memcpy(st->tok[st->ntok].text, low, n + 1);
		st->tok[st->ntok++].where = where;
	}
}

/* Tokens in s[0..n). With shape (the body), a token inside an enclosed part (an attached
 * original, a delivery-status part) is WHERE_ENCLOSED; s starts at offset base. */
static void find_tokens_in(struct msgscan *ms, struct scan_state *st, const char *s, size_t n,
                           int where, const struct mail_shape *shape, size_t base)
{
	size_t start = 0;
	pcre2_code *re = where == WHERE_HEADER ? ms->bare : ms->tok;
	while (start < n && pcre2_match(re, (PCRE2_SPTR)s, n, start, 0, ms->md, NULL) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ms->md);
		int w = shape && mailclass_enclosed(shape, base + ov[2]) ? WHERE_ENCLOSED : where;
		add_token(st, s + ov[2], ov[3] - ov[2], w);
		start = ov[1];
	}
}

static void find_tokens(struct msgscan *ms, struct scan_state *st, const char *s, size_t n,
                        int where)
{
	find_tokens_in(ms, st, s, n, where, NULL, 0);
}

int msgscan_has_token(struct msgscan *ms, const char *text, size_t len, struct token_fields *out)
{
	size_t start = 0;
	while (start < len &&
	       pcre2_match(ms->tok, (PCRE2_SPTR)text, len, start, 0, ms->md, NULL) > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ms->md);
		struct token_fields f;
		if (token_decode(NULL, 0, text + ov[2], ov[3] - ov[2], &f) != TOKEN_MALFORMED) {
			if (out)
				*out = f;
			return 1;
		}
		start = ov[1];
	}
	return 0;
}

static int is_trace_header(const struct hdr_field *f)
{
	for (int i = 0; trace_headers[i]; i++)
		if (strlen(trace_headers[i]) == f->namelen &&
		    strncasecmp(trace_headers[i], f->name, f->namelen) == 0)
			return 1;
	return 0;
}

static json_t *received_json(const struct received *r, const char *raw, size_t rawlen)
{
	json_t *o = json_object();
	jsonx_set_bytes(o, "raw", raw, rawlen);
	json_object_set_new(o, "parsed", json_boolean(r->family != NULL));
	if (!r->family)
		return o;
	json_object_set_new(o, "family", json_string(r->family));
	const struct {
		const char *key;
		const char *val;
	} f[] = {{"helo", r->helo},           {"from_rdns", r->from_rdns},
	         {"from_addr", r->from_addr}, {"by", r->by},
	         {"proto", r->proto},         {"id", r->id},
	         {"for", r->for_addr},        {"date", r->date}};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].val[0])
			json_object_set_new(o, f[i].key, jsonx_str(f[i].val));
	return o;
}

/* Walks the header section: Received chain, trace IPs, token-bearing fields. */
static size_t scan_headers(struct msgscan *ms, struct scan_state *st, const char *msg, size_t len,
                           json_t *out)
{
	json_t *chain = json_array();
	size_t pos = 0, limit = len < ms->header_max ? len : ms->header_max;
	struct hdr_field f;
	int nrcv = 0, r;
	while ((r = hdr_next(msg, limit, &pos, &f)) == 1) {
		size_t n = hdr_unfold(f.value, f.valuelen, ms->unfold, ms->header_max);
		if (is_trace_header(&f))
			st->nips += received_ips(ms->rp, ms->unfold, n, st->ips + st->nips,
			                         MAX_TRACE_IPS - st->nips);
		if (hdr_is(&f, "Received") && nrcv++ < ms->received_max) {
			struct received rc;
			received_parse(ms->rp, ms->unfold, n, &rc);
			json_array_append_new(chain, received_json(&rc, ms->unfold, n));
		} else if (hdr_is(&f, "Subject")) {
			find_tokens(ms, st, ms->unfold, n, WHERE_SUBJECT);
			jsonx_set_bytes(out, "subject", ms->unfold, n);
		} else if (hdr_is(&f, "Message-ID")) {
			find_tokens(ms, st, ms->unfold, n, WHERE_MESSAGE_ID);
			jsonx_set_bytes(out, "message_id", ms->unfold, n);
		} else if (hdr_is(&f, "X-Relaytrap-Token")) {
			find_tokens(ms, st, ms->unfold, n, WHERE_HEADER);
		}
	}
	/* received_ips dedupes within one header only; dedupe across headers here. */
	int k = 0;
	for (int i = 0; i < st->nips; i++) {
		int dup = 0;
		for (int j = 0; j < k && !dup; j++)
			dup = ipaddr_eq(&st->ips[j], &st->ips[i]);
		if (!dup)
			st->ips[k++] = st->ips[i];
	}
	st->nips = k;
	json_object_set_new(out, "received", chain);
	json_object_set_new(out, "received_count", json_integer(nrcv));
	/* cut by the limit: it ended no blank line, whether inside a value (r == 0 at the limit)
	 * or inside a name (r < 0 with no line end before the limit) */
	int cut = limit < len && (r == 0 ? pos >= limit : !memchr(msg + pos, '\n', limit - pos));
	json_object_set_new(out, "headers_truncated", json_boolean(cut));
	return pos;
}

struct token_places {
	int disagree; /* valid tokens outside enclosed parts that differ */
	int rcpt,
	    top; /* a valid token in an envelope recipient; in Message-ID or X-Relaytrap-Token */
};

static json_t *tokens_json(struct msgscan *ms, const struct scan_state *st, struct token_places *tp)
{
	static const struct {
		int bit;
		const char *name;
	} places[] = {{WHERE_RCPT, "rcpt"},
	              {WHERE_SUBJECT, "subject"},
	              {WHERE_MESSAGE_ID, "message-id"},
	              {WHERE_HEADER, "x-relaytrap-token"},
	              {WHERE_BODY, "body"},
	              {WHERE_ENCLOSED, "attached"}};
	json_t *arr = json_array();
	int valid = 0;
	memset(tp, 0, sizeof(*tp));
	for (int i = 0; i < st->ntok; i++) {
		struct token_fields tf;
		const struct found *t = &st->tok[i];
		enum token_status s = token_decode(ms->keylen ? ms->key : NULL, ms->keylen, t->text,
		                                   strlen(t->text), &tf);
		json_t *o = json_object();
		json_object_set_new(o, "token", json_string(t->text));
		json_object_set_new(o, "status", json_string(token_status_names[s]));
		json_t *where = json_array();
		for (size_t p = 0; p < sizeof(places) / sizeof(places[0]); p++)
			if (t->where & places[p].bit)
				json_array_append_new(where, json_string(places[p].name));
		json_object_set_new(o, "found_in", where);
		if (s != TOKEN_MALFORMED) {
			char a[INET6_ADDRSTRLEN], sid[16];
			snprintf(sid, sizeof(sid), "%08x", tf.scan_id);
			json_object_set_new(o, "scan_id", json_string(sid));
			json_object_set_new(o, "target",
			                    json_string(ipaddr_str(&tf.target, a, sizeof(a))));
			json_object_set_new(o, "port", json_integer(tf.port));
			json_object_set_new(o, "test", json_integer(tf.test));
		}
		if (s == TOKEN_VALID || s == TOKEN_UNVERIFIED) {
			valid += (t->where & ~WHERE_ENCLOSED) != 0;
			tp->rcpt |= (t->where & WHERE_RCPT) != 0;
			/* not Subject or body alone: a reply or a forward quotes those */
			tp->top |= (t->where & (WHERE_MESSAGE_ID | WHERE_HEADER)) != 0;
		}
		json_array_append_new(arr, o);
	}
	tp->disagree = valid > 1;
	return arr;
}

static json_t *dsn_json(const struct dsn_fields *d)
{
	json_t *o = json_object();
	const struct {
		const char *key, *val;
	} f[] = {{"status", d->status},
	         {"action", d->action},
	         {"diagnostic_code", d->diagnostic},
	         {"reporting_mta", d->reporting_mta},
	         {"final_recipient", d->final_recipient}};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		json_object_set_new(o, f[i].key, f[i].val[0] ? jsonx_str(f[i].val) : json_null());
	return o;
}

static void class_json(json_t *out, const struct mail_shape *sh, const struct token_places *tp)
{
	const char *why;
	enum mail_class mc = mailclass_decide(sh, tp->rcpt, tp->top, &why);
	json_object_set_new(out, "class", json_string(mail_class_names[mc]));
	json_object_set_new(out, "class_why", json_string(why));
	if (mc == MC_AUTO_REPLY)
		json_object_set_new(out, "auto_reply", json_string(sh->auto_reply));
	if (mc == MC_BOUNCE)
		json_object_set_new(out, "dsn", dsn_json(&sh->dsn));
}

json_t *msgscan_run(struct msgscan *ms, const char *sender, const char *msg, size_t len,
                    const struct strlist *rcpts)
{
	struct scan_state *st = calloc(1, sizeof(*st));
	struct mail_shape *sh = malloc(sizeof(*sh));
	json_t *out = json_object();
	if (!st || !sh || !out) {
		free(st);
		free(sh);
		json_decref(out);
		return NULL;
	}
	mailclass_shape(sender, msg, len, sh);
	for (int i = 0; rcpts && i < rcpts->n; i++)
		find_tokens(ms, st, rcpts->v[i], strlen(rcpts->v[i]), WHERE_RCPT);
	size_t body = scan_headers(ms, st, msg, len, out);
	if (body < len) {
		size_t n = len - body < BODY_SCAN_MAX ? len - body : BODY_SCAN_MAX;
		find_tokens_in(ms, st, msg + body, n, WHERE_BODY, sh, body);
	}
	json_object_set_new(out, "header_bytes", json_integer((json_int_t)body));
	struct token_places tp;
	json_object_set_new(out, "tokens", tokens_json(ms, st, &tp));
	json_object_set_new(out, "tokens_disagree", json_boolean(tp.disagree));
	class_json(out, sh, &tp);
	json_t *ips = json_array();
	for (int i = 0; i < st->nips; i++) {
		char a[INET6_ADDRSTRLEN];
		json_array_append_new(ips, json_string(ipaddr_str(&st->ips[i], a, sizeof(a))));
	}
	json_object_set_new(out, "trace_ips", ips);
	free(sh);
	free(st);
	return out;
}
