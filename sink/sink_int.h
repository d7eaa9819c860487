/* Shared between sink.c (listeners, accounting) and session.c (the SMTP dialogue). */
#ifndef RT_SINK_INT_H
#define RT_SINK_INT_H

#include "addr.h"
#include "sink.h"

struct session;
struct store;
struct msgscan;

struct sink {
	struct io_loop *loop;
	struct sink_config cfg; /* borrowed pointers into the caller's config */
	char hostname[256];
	struct io_listener **ls;
	int nls;
	struct store *store;
	struct io_tls_ctx *tls; /* STARTTLS offered; NULL with --no-tls */
	struct msgscan *scan;
	struct session *sessions; /* list of live sessions */
	struct ipcount **ipcount; /* per-IP session counts, hashed */
	void (*receipt_cb)(const json_t *, void *);
	void *receipt_arg;
	int draining;
	int stressed; /* sessions past STRESS_ON of the limit, and not yet back under STRESS_OFF */
	struct io_timer *grace;
	void (*done_cb)(void *);
	void *done_arg;
	struct sink_stats st;
	unsigned long next_id;
};

/* session.c */
void session_start(struct sink *sk, int fd, const struct sockaddr *peer, socklen_t peerlen);
void session_drain(struct session *s);
void session_abort(struct session *s);
/* The sink came under stress: shorten this session's wait for a command. */
void session_stress(struct session *s);
struct session *session_next(const struct session *s);

/* sink.c */
void sink_session_gone(struct sink *sk, const struct ipaddr *peer);
void sink_delivered(struct sink *sk, const json_t *receipt, size_t size);
/* How long a session may wait for a command now: --timeout, or under stress at most
 * --stress-timeout. */
double sink_idle_timeout(const struct sink *sk);
/* The key per-client limits count under: the address for IPv4, its /64 for IPv6 (one host
 * there usually holds a whole /64). Pure. */
void sink_client_key(const struct ipaddr *peer, struct ipaddr *key);

#endif
