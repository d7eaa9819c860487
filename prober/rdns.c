#include "rdns.h"

#include <ares.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "io.h"

/* A PTR name as c-ares hands it over: at most 255 octets, no trailing dot. */
#define RDNS_NAME_MAX 256

struct watch {
	struct io_fdwatch *fw;
	struct watch *next;
};

struct rdns_query {
	struct rdns *r;
	rdns_cb cb; /* NULL: cancelled */
	void *arg;
	char name[RDNS_NAME_MAX];
	struct rdns_query *next_ready;
};

struct rdns {
	struct io_loop *loop;
	ares_channel ch;
	int ch_ok;
	struct watch *watches;  /* c-ares's sockets */
	struct io_timer *timer; /* c-ares's own retry and timeout clock */
	struct io_timer *later; /* answers that came back inside ares_gethostbyaddr */
	struct rdns_query *ready, *ready_last;
	int inflight, starting, destroying;
};

static void rearm(struct rdns *r)
{
	struct timeval tv, *tvp = ares_timeout(r->ch, NULL, &tv);
	if (tvp)
		io_timer_start(r->timer, (double)tvp->tv_sec + (double)tvp->tv_usec / 1e6, 0);
	else
		io_timer_stop(r->timer);
}

static void on_fd(int fd, int readable, int writable, void *arg)
{
	struct rdns *r = arg;
	ares_process_fd(r->ch, readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD);
	rearm(r);
}

static void on_timer(void *arg)
{
	struct rdns *r = arg;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(r);
}

/* c-ares says which way each of its sockets wants watching; (0, 0): it is closing it. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct rdns *r = data;
	struct watch **pp = &r->watches;
	while (*pp && io_fdwatch_fd((*pp)->fw) != fd)
		pp = &(*pp)->next;
	if (!readable && !writable) {
		if (*pp) {
			struct watch *w = *pp;
			*pp = w->next;
			io_fdwatch_free(w->fw);
			free(w);
		}
		return;
	}
	if (!*pp) {
		struct watch *w = calloc(1, sizeof(*w));
		if (w && !(w->fw = io_fdwatch_new(r->loop, fd, on_fd, r))) {
			free(w);
			w = NULL;
		}
		if (!w)
			return; /* unwatched: the query ends at its timeout */
		w->next = r->watches;
		r->watches = w;
		pp = &r->watches;
	}
	io_fdwatch_set((*pp)->fw, readable, writable);
}

static void deliver(struct rdns_query *q)
{
	if (q->cb)
		q->cb(q->name[0] ? q->name : NULL, q->arg);
	free(q);
}

static void on_later(void *arg)
{
	struct rdns *r = arg;
	while (r->ready) {
		struct rdns_query *q = r->ready;
		r->ready = q->next_ready;
		if (!r->ready)
			r->ready_last = NULL;
		deliver(q);
	}
}

static void host_cb(void *arg, int status, int timeouts, struct hostent *he)
{
	(void)timeouts;
	struct rdns_query *q = arg;
	struct rdns *r = q->r;
	r->inflight--;
	if (status == ARES_SUCCESS && he && he->h_name) {
		snprintf(q->name, sizeof(q->name), "%s", he->h_name);
		size_t n = strlen(q->name);
		if (n && q->name[n - 1] == '.')
			q->name[n - 1] = '\0';
	}
	if (r->destroying) {
		free(q);
		return;
	}
	if (r->starting) { /* answered from /etc/hosts, or failed at once */
		if (r->ready_last)
			r->ready_last->next_ready = q;
		else
			r->ready = q;
		r->ready_last = q;
		io_timer_start(r->later, 0, 0);
		return;
	}
	deliver(q);
}

struct rdns *rdns_new(struct io_loop *l, const char *server, char *err, size_t errlen)
{
	struct rdns *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->loop = l;
	r->timer = io_timer_new(l, on_timer, r);
	r->later = io_timer_new(l, on_later, r);
	struct ares_options o = {
	    .timeout = 1500, .tries = 2, .sock_state_cb = sock_state, .sock_state_cb_data = r};
	snprintf(err, errlen, "out of memory");
	if (!r->timer || !r->later ||
	    dns_channel_new(&r->ch, server, &o, ARES_OPT_SOCK_STATE_CB, err, errlen) < 0) {
		rdns_free(r);
		return NULL;
	}
	r->ch_ok = 1;
	return r;
}

struct rdns_query *rdns_lookup(struct rdns *r, const struct ipaddr *ip, rdns_cb cb, void *arg)
{
	if (r->inflight >= RDNS_INFLIGHT_MAX || (ip->family != AF_INET && ip->family != AF_INET6))
		return NULL;
	struct rdns_query *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	r->inflight++;
	r->starting = 1;
	ares_gethostbyaddr(r->ch, ip->a, ip->family == AF_INET ? 4 : 16, ip->family, host_cb, q);
	r->starting = 0;
	rearm(r);
	return q;
}

void rdns_cancel(struct rdns_query *q)
{
	if (q)
		q->cb = NULL;
}

void rdns_free(struct rdns *r)
{
	if (!r)
		return;
	r->destroying = 1;
	if (r->ch_ok) /* callbacks free their queries; sockets are reported closed */
		dns_channel_free(r->ch);
	while (r->ready) {
		struct rdns_query *q = r->ready;
		r->ready = q->next_ready;
		free(q);
	}
	while (r->watches) {
		struct watch *w = r->watches;
		r->watches = w->next;
		io_fdwatch_free(w->fw);
		free(w);
	}
	io_timer_free(r->timer);
	io_timer_free(r->later);
	free(r);
}
