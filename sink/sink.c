#include "sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "msgscan.h"
#include "sink_int.h"
#include "store.h"

#define IPHASH 4096

struct ipcount {
	struct ipcount *next;
	struct ipaddr ip;
	long n;
};

void sink_config_defaults(struct sink_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_sessions = 10000;
	c->max_per_ip = 128;
	c->max_rcpts = 100; /* RFC 5321 4.5.3.1.8: at least 100 */
	c->max_errors = 10;
	c->received_max = 50;
	c->max_size = 10 * 1024 * 1024;
	c->max_line = 2048; /* RFC says 512; accepted (and flagged) up to this */
	c->header_max = 64 * 1024;
	c->timeout_cmd = 300;  /* RFC 5321 4.5.3.2.7 */
	c->timeout_data = 600; /* 4.5.3.2.6 */
	c->timeout_session = 1800;
	c->timeout_stress = 10; /* Postfix smtpd_timeout under stress */
}

void sink_config_free(struct sink_config *c)
{
	strlist_free(&c->listen);
	strlist_free(&c->domains);
	strlist_free(&c->literals);
	free(c->hostname);
	free(c->store);
	free(c->maildir);
	free(c->spool);
	free(c->receipts);
	free(c->tls_cert);
	free(c->tls_key);
	memset(c, 0, sizeof(*c));
}

static unsigned ip_hash(const struct ipaddr *ip)
{
	unsigned h = 2166136261u;
	for (int i = 0; i < (ip->family == AF_INET ? 4 : 16); i++)
		h = (h ^ ip->a[i]) * 16777619u;
	return h % IPHASH;
}

void sink_client_key(const struct ipaddr *peer, struct ipaddr *key)
{
	*key = *peer;
	if (key->family == AF_INET6)
		memset(key->a + 8, 0, 8);
}

/* The per-client count for peer's key (see sink_client_key). */
static struct ipcount **ip_slot(struct sink *sk, const struct ipaddr *peer)
{
	struct ipaddr ip;
	sink_client_key(peer, &ip);
	struct ipcount **p = &sk->ipcount[ip_hash(&ip)];
	while (*p && !ipaddr_eq(&(*p)->ip, &ip))
		p = &(*p)->next;
	return p;
}

/* Stress, as in Postfix's smtpd: when sessions reach 3/4 of --max-sessions, idle sessions
 * get at most --stress-timeout to send a command, so clients that connect and say nothing
 * cannot hold every slot for the whole --timeout. It ends below 1/2 (hysteresis: walking the
 * sessions happens once per episode, not on every connection near the line). */
#define STRESS_ON(max) (((max)*3 + 3) / 4)
#define STRESS_OFF(max) ((max) / 2)

static void stress_update(struct sink *sk)
{
	long now = (long)sk->st.sessions_now, max = sk->cfg.max_sessions;
	if (!sk->stressed && now >= STRESS_ON(max)) {
		sk->stressed = 1;
		log_msg(LOG_WARN, 0, "event=stress state=on sessions=%ld max=%ld timeout=%g", now,
		        max, sk->cfg.timeout_stress);
		for (struct session *s = sk->sessions; s; s = session_next(s))
			session_stress(s);
	} else if (sk->stressed && now < STRESS_OFF(max)) {
		sk->stressed = 0;
		log_msg(LOG_INFO, 0, "event=stress state=off sessions=%ld max=%ld", now, max);
	}
}

double sink_idle_timeout(const struct sink *sk)
{
	double t = sk->cfg.timeout_cmd;
	return sk->stressed && sk->cfg.timeout_stress < t ? sk->cfg.timeout_stress : t;
}

static void refuse(struct sink *sk, int fd, const char *text)
{
	/* Best effort: the greeting fits any socket buffer, and we will not wait. */
	ssize_t rc = send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)rc;
	close(fd);
	sk->st.refused++;
}

static void on_accept(int fd, const struct sockaddr *peer, socklen_t peerlen, void *arg)
{
	struct sink *sk = arg;
	struct ipaddr ip;
	ipaddr_from_sa(peer, &ip, NULL);
	if (sk->draining) {
		refuse(sk, fd, "421 4.3.2 Service shutting down\r\n");
		return;
	}
	if ((long)sk->st.sessions_now >= sk->cfg.max_sessions) {
		refuse(sk, fd, "421 4.3.2 Too many sessions, try again later\r\n");
		return;
	}
	struct ipcount **slot = ip_slot(sk, &ip);
	if (*slot && (*slot)->n >= sk->cfg.max_per_ip) {
		refuse(sk, fd, "421 4.7.0 Too many connections from your address\r\n");
		return;
	}
	if (!*slot) {
		*slot = calloc(1, sizeof(**slot));
		if (!*slot) {
			refuse(sk, fd, "421 4.3.0 Out of memory\r\n");
			return;
		}
		sink_client_key(&ip, &(*slot)->ip);
	}
	(*slot)->n++;
	sk->st.sessions++;
	sk->st.sessions_now++;
	stress_update(sk);
	session_start(sk, fd, peer, peerlen);
}

static void maybe_done(struct sink *sk)
{
	if (!sk->draining || sk->sessions || !sk->done_cb)
		return;
	void (*cb)(void *) = sk->done_cb;
	sk->done_cb = NULL;
	if (sk->grace)
		io_timer_stop(sk->grace);
	cb(sk->done_arg);
}

void sink_session_gone(struct sink *sk, const struct ipaddr *peer)
{
	struct ipcount **slot = ip_slot(sk, peer);
	if (*slot && --(*slot)->n <= 0) {
		struct ipcount *dead = *slot;
		*slot = dead->next;
		free(dead);
	}
	sk->st.sessions_now--;
	stress_update(sk);
	maybe_done(sk);
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* "event=stored": who sent what to whom, and which test it is (all escaped). */
static void log_stored(const json_t *r, size_t size)
{
	char from[200], to[200], subj[200], target[80] = "-", where[160];
	const json_t *rc = json_object_get(r, "rcpt"),
	             *tk = json_array_get(json_object_get(r, "tokens"), 0);
	const char *to0 = json_string_value(json_array_get(rc, 0)) ?: "";
	log_escape(from, sizeof(from), jstr(r, "mail_from"), strlen(jstr(r, "mail_from")));
	log_escape(to, sizeof(to), to0, strlen(to0));
	log_escape(subj, sizeof(subj), jstr(r, "subject"), strlen(jstr(r, "subject")));
	if (*jstr(tk, "target"))
		snprintf(target, sizeof(target), "%s:%lld/%lld", jstr(tk, "target"),
		         (long long)json_integer_value(json_object_get(tk, "port")),
		         (long long)json_integer_value(json_object_get(tk, "test")));
	log_msg(LOG_INFO, (unsigned long)json_integer_value(json_object_get(r, "session")),
	        "event=stored peer=%s from=\"%s\" to=\"%s\" rcpts=%zu subject=\"%s\" size=%zu "
	        "class=%s token=%s test=%s file=%s",
	        jstr(r, "peer_addr"), from, to, json_array_size(rc), subj, size, jstr(r, "class"),
	        tk ? jstr(tk, "status") : "none", target, store_where(r, where, sizeof(where)));
}

void sink_delivered(struct sink *sk, const json_t *receipt, size_t size)
{
	sk->st.messages++;
	sk->st.stored_bytes += size;
	if (log_enabled(LOG_INFO))
		log_stored(receipt, size);
	if (sk->receipt_cb)
		sk->receipt_cb(receipt, sk->receipt_arg);
}

static int sink_bind(struct sink *sk, char *err, size_t errlen)
{
	sk->ls = calloc((size_t)sk->cfg.listen.n, sizeof(*sk->ls));
	if (!sk->ls) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < sk->cfg.listen.n; i++) {
		struct ipaddr ip;
		uint16_t port;
		struct sockaddr_storage ss;
		char sub[160];
		if (hostport_parse(sk->cfg.listen.v[i], 25, &ip, &port, sub, sizeof(sub)) < 0) {
			snprintf(err, errlen, "listen address %s", sub);
			return -1;
		}
		socklen_t sl = ipaddr_to_sa(&ip, port, &ss);
		sk->ls[i] = io_listen(sk->loop, (struct sockaddr *)&ss, sl, on_accept, sk, sub,
		                      sizeof(sub));
		if (!sk->ls[i]) {
			snprintf(err, errlen, "listen %s: %s", sk->cfg.listen.v[i], sub);
			return -1;
		}
		sk->nls++;
	}
	return 0;
}

/* The sink keeps its own copy: the caller may free its configuration after sink_new. */
static int config_copy(struct sink_config *dst, const struct sink_config *src)
{
	*dst = *src;
	memset(&dst->listen, 0, sizeof(dst->listen));
	memset(&dst->domains, 0, sizeof(dst->domains));
	memset(&dst->literals, 0, sizeof(dst->literals));
	dst->hostname = src->hostname ? strdup(src->hostname) : NULL;
	dst->store = src->store ? strdup(src->store) : NULL;
	dst->maildir = src->maildir ? strdup(src->maildir) : NULL;
	dst->spool = src->spool ? strdup(src->spool) : NULL;
	dst->receipts = src->receipts ? strdup(src->receipts) : NULL;
	dst->tls_cert = dst->tls_key = NULL; /* read once, in sink_new */
	int bad = (src->hostname && !dst->hostname) || (src->maildir && !dst->maildir) ||
	          (src->store && !dst->store) || (src->spool && !dst->spool) ||
	          (src->receipts && !dst->receipts);
	for (int i = 0; i < src->listen.n; i++)
		bad |= strlist_add(&dst->listen, src->listen.v[i]) < 0;
	for (int i = 0; i < src->domains.n; i++)
		bad |= strlist_add(&dst->domains, src->domains.v[i]) < 0;
	for (int i = 0; i < src->literals.n; i++)
		bad |= strlist_add(&dst->literals, src->literals.v[i]) < 0;
	return bad ? -1 : 0;
}

struct sink *sink_new(struct io_loop *loop, const struct sink_config *c, const uint8_t *key,
                      size_t keylen, char *err, size_t errlen)
{
	struct sink *sk = calloc(1, sizeof(*sk));
	if (!sk || !(sk->ipcount = calloc(IPHASH, sizeof(*sk->ipcount)))) {
		free(sk);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sk->loop = loop;
	if (config_copy(&sk->cfg, c) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (c->hostname)
		snprintf(sk->hostname, sizeof(sk->hostname), "%s", c->hostname);
	else if (gethostname(sk->hostname, sizeof(sk->hostname) - 1) < 0)
		snprintf(sk->hostname, sizeof(sk->hostname), "relaytrap-sink");
	if (!c->listen.n) {
		snprintf(err, errlen, "no listen address");
		goto fail;
	}
	if (!(sk->scan =
	          msgscan_new(key, keylen, c->header_max, (int)c->received_max, err, errlen)))
		goto fail;
	if (!c->no_tls &&
	    !(sk->tls = io_tls_server_ctx(c->tls_cert, c->tls_key, sk->hostname, err, errlen)))
		goto fail;
	if (sink_bind(sk, err, errlen) < 0)
		goto fail;
	if (!(sk->store = store_open(loop, &sk->cfg, err, errlen)))
		goto fail;
	return sk;
fail:
	sink_free(sk);
	return NULL;
}

void sink_set_receipt_cb(struct sink *s, void (*cb)(const json_t *, void *), void *arg)
{
	s->receipt_cb = cb;
	s->receipt_arg = arg;
}

static void on_grace(void *arg)
{
	struct sink *sk = arg;
	while (sk->sessions)
		session_abort(sk->sessions);
	maybe_done(sk);
}

void sink_shutdown(struct sink *sk, double grace, void (*done)(void *), void *arg)
{
	sk->draining = 1;
	sk->done_cb = done;
	sk->done_arg = arg;
	for (int i = 0; i < sk->nls; i++)
		io_listener_pause(sk->ls[i], 1);
	io_timer_free(sk->grace);
	sk->grace = io_timer_new(sk->loop, on_grace, sk);
	io_timer_start(sk->grace, grace, 0);
	for (struct session *s = sk->sessions; s; s = session_next(s))
		session_drain(s);
	maybe_done(sk);
}

void sink_reopen(struct sink *sk)
{
	store_reopen(sk->store);
}

void sink_stats(const struct sink *sk, struct sink_stats *out)
{
	*out = sk->st;
}

void sink_free(struct sink *sk)
{
	if (!sk)
		return;
	while (sk->sessions)
		session_abort(sk->sessions);
	io_tls_ctx_free(sk->tls);
	store_close(sk->store);
	for (int i = 0; i < sk->nls; i++)
		io_listener_free(sk->ls[i]);
	free(sk->ls);
	msgscan_free(sk->scan);
	io_timer_free(sk->grace);
	for (int i = 0; sk->ipcount && i < IPHASH; i++)
		while (sk->ipcount[i]) {
			struct ipcount *n = sk->ipcount[i]->next;
			free(sk->ipcount[i]);
			sk->ipcount[i] = n;
		}
	free(sk->ipcount);
	sink_config_free(&sk->cfg);
	free(sk);
}
