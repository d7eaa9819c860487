#include "dns.h"

#include <arpa/nameser.h>
#include <ares.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#define DNS_INFLIGHT 128

struct dns_ctx {
	ares_channel ch;
	int (*add)(const struct ipaddr *ip, const char *name, void *arg);
	void (*warn)(const char *name, const char *why, void *arg);
	void *arg;
	int failed, inflight;
	/* names still to look up (from the list, then from MX answers) */
	char **queue;
	int nq, capq, next;
};

struct query {
	struct dns_ctx *d;
	char name[256];
	int from_mx;
};

static int enqueue(struct dns_ctx *d, const char *name)
{
	if (d->nq == d->capq) {
		int cap = d->capq ? d->capq * 2 : 64;
		char **q = realloc(d->queue, (size_t)cap * sizeof(*q));
		if (!q)
			return -1;
		d->queue = q;
		d->capq = cap;
	}
	if (!(d->queue[d->nq] = strdup(name)))
		return -1;
	d->nq++;
	return 0;
}

static void addr_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	(void)timeouts;
	struct query *q = arg;
	struct dns_ctx *d = q->d;
	d->inflight--;
	if (status != ARES_SUCCESS) {
		d->failed++;
		d->warn(q->name, ares_strerror(status), d->arg);
	} else {
		int n = 0;
		for (struct ares_addrinfo_node *a = res->nodes; a; a = a->ai_next) {
			struct ipaddr ip;
			uint16_t port;
			if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
				continue;
			ipaddr_from_sa(a->ai_addr, &ip, &port);
			if (d->add(&ip, q->name, d->arg) == 0)
				n++;
		}
		if (!n) {
			d->failed++;
			d->warn(q->name, "no address", d->arg);
		}
	}
	if (res)
		ares_freeaddrinfo(res);
	free(q);
}

static void mx_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	(void)timeouts;
	struct query *q = arg;
	struct dns_ctx *d = q->d;
	struct ares_mx_reply *mx = NULL;
	d->inflight--;
	if (status == ARES_SUCCESS)
		status = ares_parse_mx_reply(abuf, alen, &mx);
	if (status != ARES_SUCCESS) {
		char m[300];
		snprintf(m, sizeof(m), "mx:%s", q->name);
		d->failed++;
		d->warn(m, ares_strerror(status), d->arg);
	} else {
		for (struct ares_mx_reply *m = mx; m; m = m->next)
			if (m->host[0] && enqueue(d, m->host) < 0)
				d->failed++;
		ares_free_data(mx);
	}
	free(q);
}

int dns_channel_new(ares_channel *ch, const char *server, struct ares_options *o, int optmask,
                    char *err, size_t errlen)
{
	int rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc == ARES_SUCCESS) {
		rc = ares_init_options(ch, o, optmask | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
		if (rc == ARES_SUCCESS && server &&
		    (rc = ares_set_servers_ports_csv(*ch, server)) != ARES_SUCCESS)
			ares_destroy(*ch);
		if (rc != ARES_SUCCESS)
			ares_library_cleanup();
	}
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "DNS resolver%s%s: %s", server ? " " : "",
		         server ? server : "", ares_strerror(rc));
		return -1;
	}
	return 0;
}

void dns_channel_free(ares_channel ch)
{
	ares_destroy(ch);
	ares_library_cleanup();
}

static void start_addr(struct dns_ctx *d, const char *name)
{
	struct query *q = calloc(1, sizeof(*q));
	if (!q) {
		d->failed++;
		return;
	}
	q->d = d;
	snprintf(q->name, sizeof(q->name), "%s", name);
	struct ares_addrinfo_hints h = {.ai_family = AF_UNSPEC, .ai_flags = ARES_AI_NOSORT};
	d->inflight++;
	ares_getaddrinfo(d->ch, q->name, NULL, &h, addr_cb, q);
}

static int pump(struct dns_ctx *d, double deadline)
{
	while (d->inflight || d->next < d->nq) {
		while (d->inflight < DNS_INFLIGHT && d->next < d->nq)
			start_addr(d, d->queue[d->next++]);
		if (!d->inflight)
			continue;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double t = (double)now.tv_sec + now.tv_nsec / 1e9;
		if (t >= deadline)
			return -1;
		fd_set r, w;
		FD_ZERO(&r);
		FD_ZERO(&w);
		int nfds = ares_fds(d->ch, &r, &w);
		struct timeval maxtv = {0, 100000}, tv, *tvp = ares_timeout(d->ch, &maxtv, &tv);
		if (select(nfds, &r, &w, NULL, tvp) < 0)
			return -1;
		ares_process(d->ch, &r, &w);
	}
	return 0;
}

int dns_resolve(const struct strlist *names, const struct strlist *mx_domains, const char *server,
                double timeout, int (*add)(const struct ipaddr *ip, const char *name, void *arg),
                void (*warn)(const char *name, const char *why, void *arg), void *arg, char *err,
                size_t errlen)
{
	if (!names->n && !mx_domains->n)
		return 0;
	struct dns_ctx d = {.add = add, .warn = warn, .arg = arg};
	struct ares_options o = {.timeout = 2000, .tries = 2};
	if (dns_channel_new(&d.ch, server, &o, 0, err, errlen) < 0)
		return -1;
	int rc = 0; /* -1: not finished in time */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double deadline = (double)now.tv_sec + now.tv_nsec / 1e9 + timeout;
	for (int i = 0; i < mx_domains->n; i++) {
		struct query *q = calloc(1, sizeof(*q));
		if (!q)
			break;
		q->d = &d;
		q->from_mx = 1;
		snprintf(q->name, sizeof(q->name), "%s", mx_domains->v[i]);
		d.inflight++;
		ares_query(d.ch, q->name, ns_c_in, ns_t_mx, mx_cb, q);
	}
	for (int i = 0; i < names->n; i++)
		if (enqueue(&d, names->v[i]) < 0)
			d.failed++;
	if (pump(&d, deadline) < 0) {
		snprintf(err, errlen, "DNS lookups did not finish within %g s", timeout);
		rc = -1;
	}
	dns_channel_free(d.ch); /* cancels what is left; callbacks free their queries */
	for (int i = 0; i < d.nq; i++)
		free(d.queue[i]);
	free(d.queue);
	return rc == -1 ? -1 : d.failed;
}
