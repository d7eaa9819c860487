#include "scan.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "correlate.h"
#include "io.h"
#include "jsonx.h"
#include "log.h"
#include "pace.h"
#include "perm.h"
#include "rdns.h"

#define PENDING_MAX 256
#define HOST_BUCKETS 16384
#define NEXT_SCAN_MAX 4096 /* targets examined per launch attempt (exclusions, resume) */
#define PROBER_ADDRS 4
#define PTR_WAIT_MAX 10.0 /* seconds a connected host waits for its PTR name */

/* A target in flight. Until it answers, a host is its address, port, connection and
 * deadline: the session state (client, test table, correlation) comes when it connects, or
 * when its connect fails and a host line must be written (docs/design.md "Scan engine: memory
 * and pace"). */
struct host {
	struct scan *s;
	struct host *prev, *next, *hnext;
	struct host *pnext; /* parked: connected once while its network was full */
	struct ipaddr addr;
	uint16_t port;
	unsigned connected : 1, session_done : 1, in_net : 1, parked : 1;
	unsigned smuggle_wanted : 1; /* in the scan's smuggle queue */
	TAILQ_ENTRY(host) sq;        /* relayed during --wait: its smuggling session waits */
	struct io *io;
	struct io_timer *timer;
	double started, ended;
	struct session *ss; /* NULL until needed (session_of) */
};

struct session {
	struct client c;
	struct correl corr;     /* what the sink received for this host */
	struct rdns_query *ptr; /* PTR lookup in flight */
	struct ipaddr prober[PROBER_ADDRS];
	int nprober;
	char date[40];
};

struct target {
	struct ipaddr ip;
	uint16_t port;
};

struct scan {
	struct io_loop *loop;
	const struct rt_options *o;
	struct scan_input in;
	struct perm perm;
	struct shard shard;
	uint64_t space;
	struct bucket bucket;
	struct netcap nets;
	struct target pending[PENDING_MAX + 1];
	int npending;
	struct host *hosts, *index[HOST_BUCKETS];
	struct host
	    *parked; /* connected while their network was full; reconnect when it has room */
	long inflight, cap, nhosts;
	TAILQ_HEAD(, host) smuggle_q; /* hosts waiting for room for their smuggling session */
	int exhausted, stopping, ended, launching;
	double backoff_until;
	struct io_timer *tick, *progress;
	int tty;                /* stderr is a terminal: the progress line is redrawn in place */
	struct rdns *rdns;      /* NULL: --no-ptr */
	struct io_tls_ctx *tls; /* the client side of STARTTLS and implicit TLS */
	struct scan_stats st;
	void (*done)(void *arg);
	void *done_arg;
};

static void launch_some(struct scan *s);
static void maybe_end(struct scan *s);

static double now_of(struct scan *s)
{
	return io_now(s->loop);
}

/* How long a host waits for relayed mail: nothing can arrive without a sink (--no-sink). */
static double wait_of(const struct scan *s)
{
	return s->o->no_sink ? 0 : s->o->wait;
}

/* Takes h off the parked list (a short list: see admit()). */
static void unpark(struct host *h)
{
	struct host **pp = &h->s->parked;
	while (*pp && *pp != h)
		pp = &(*pp)->pnext;
	if (*pp)
		*pp = h->pnext;
	h->pnext = NULL;
	h->parked = 0;
}

static size_t host_slot(const struct ipaddr *ip, uint16_t port)
{
	return (size_t)(ipaddr_hash(ip, 16, port) % HOST_BUCKETS);
}

static struct host *host_find(struct scan *s, const struct ipaddr *ip, uint16_t port)
{
	for (struct host *h = s->index[host_slot(ip, port)]; h; h = h->hnext)
		if (h->port == port && ipaddr_eq(&h->addr, ip))
			return h;
	return NULL;
}

static void host_unlink(struct host *h)
{
	struct scan *s = h->s;
	struct host **pp = &s->index[host_slot(&h->addr, h->port)];
	while (*pp && *pp != h)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = h->hnext;
	if (h->parked)
		unpark(h);
	if (h->prev)
		h->prev->next = h->next;
	else
		s->hosts = h->next;
	if (h->next)
		h->next->prev = h->prev;
	s->nhosts--;
}

static void session_free(struct session *ss)
{
	if (!ss)
		return;
	rdns_cancel(ss->ptr);
	client_free(&ss->c);
	correl_free(&ss->corr);
	free(ss);
}

static void host_free(struct host *h)
{
	if (h->io)
		io_free(h->io);
	if (h->timer)
		io_timer_free(h->timer);
	session_free(h->ss);
	free(h);
}

static void rfc5322_date(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* The host's session state, made on first need: when it connects, or when its connect failed
 * and its line needs a client to say so. NULL: out of memory. */
static struct session *session_of(struct host *h)
{
	if (h->ss)
		return h->ss;
	struct scan *s = h->s;
	struct session *ss = calloc(1, sizeof(*ss));
	if (!ss)
		return NULL;
	rfc5322_date(ss->date, sizeof(ss->date));
	struct client_params p;
	scan_client_params(s->o, &s->in, &h->addr, h->port, ss->date, &p);
	if (correl_init(&ss->corr, s->in.cat->n) < 0) {
		free(ss);
		return NULL;
	}
	if (client_init(&ss->c, &p) < 0) {
		correl_free(&ss->corr);
		free(ss);
		return NULL;
	}
	h->ss = ss;
	return ss;
}

/* Connecting failed (the first time: unreachable). */
static enum client_status connect_failed(struct host *h, const char *why)
{
	return session_of(h) ? client_connect_failed(&h->ss->c, why) : CL_DONE;
}

/* ---- final ---- */

static void finalize(struct host *h, int interrupted)
{
	struct scan *s = h->s;
	if (h->smuggle_wanted) { /* the wait ended first (Ctrl-C) */
		h->smuggle_wanted = 0;
		TAILQ_REMOVE(&s->smuggle_q, h, sq);
	}
	if (!session_of(h)) {
		char a[ADDR_TEXT_MAX];
		log_msg(LOG_ERR, 0, "host=%s port=%u not written: out of memory",
		        ipaddr_str(&h->addr, a, sizeof(a)), h->port);
		s->st.unfinished++;
		host_unlink(h);
		host_free(h);
		if (s->cap < s->o->concurrency)
			s->cap++;
		return;
	}
	struct verdict_out vo;
	correl_verdict(&h->ss->corr, h->ss->c.end == END_RUNNING ? END_ERROR : h->ss->c.end,
	               h->ss->c.t, h->ss->c.nt, &h->addr, h->ss->prober, h->ss->nprober, &vo);
	char sid[16];
	snprintf(sid, sizeof(sid), "%08x", s->in.scan_id);
	struct host_facts f = {
	    .addr = h->addr,
	    .port = h->port,
	    .scan_id = sid,
	    .c = &h->ss->c,
	    .cat = s->in.cat,
	    .v = &vo,
	    .prober = h->ss->prober,
	    .nprober = h->ss->nprober,
	    .deliveries = h->ss->corr.deliveries,
	    .bounces = h->ss->corr.bounces,
	    .auto_replies = h->ss->corr.auto_replies,
	    .started = h->started,
	    .ended = h->ended ? h->ended : now_of(s),
	    .interrupted = interrupted,
	};
	/* Interrupted while waiting for relayed mail, with none arrived: not final. Its line
	 * says so ("final": false), --resume tests it again, the reports leave it out. */
	int final = !interrupted || vo.v == V_OPEN || vo.v == V_OPEN_ANONYMOUS;
	json_t *o = host_json(&f);
	if (o && !final)
		json_object_set_new(o, "final", json_false());
	size_t len;
	char *line = o ? jsonx_line(o, &len) : NULL;
	if (!line || fwrite(line, 1, len, s->in.out) != len || fflush(s->in.out) != 0)
		log_msg(LOG_ERR, 0, "writing results: %s", strerror(errno));
	if (o && final && s->in.on_host)
		s->in.on_host(o, s->in.on_host_arg);
	free(line);
	json_decref(o);
	if (final) {
		s->st.final++;
		s->st.counts[vo.v]++;
	} else {
		s->st.unfinished++;
	}
	if (log_enabled(LOG_INFO)) {
		char a[ADDR_TEXT_MAX];
		log_msg(LOG_INFO, 0, "host=%s port=%u verdict=%s accepted=%d delivered=%d",
		        ipaddr_str(&h->addr, a, sizeof(a)), h->port, verdict_names[vo.v],
		        vo.accepted, vo.delivered);
	}
	host_unlink(h);
	host_free(h);
	if (s->cap < s->o->concurrency)
		s->cap++;
}

static void host_timer_cb(void *arg);

/* A PTR answer no longer wanted (the session ended, or the connection went). */
static void drop_ptr(struct host *h)
{
	if (!h->ss)
		return;
	rdns_cancel(h->ss->ptr);
	h->ss->ptr = NULL;
}

static int host_connect(struct host *h);
static void session_done(struct host *h);

/* A host that relayed gets the smuggling tests once its own are done: on a new connection
 * now (from session_done), or, when its first delivery arrives later, on a new session. */
static int smuggle_now(struct host *h)
{
	if (!h->ss || !h->ss->corr.nd || client_smuggle(&h->ss->c) != CL_RECONNECT)
		return 0;
	io_free(h->io);
	h->io = NULL;
	if (host_connect(h) < 0) {
		client_connect_failed(&h->ss->c, strerror(errno));
		return 0;
	}
	io_timer_stop(h->timer);
	io_timer_start(h->timer, h->s->o->host_timeout, 0);
	return 1;
}

/* A host that relayed while it waited: it keeps waiting until launch_some has room for its
 * smuggling session under --concurrency, --per-net and --rate (smuggle_start). */
static void smuggle_later(struct host *h)
{
	struct scan *s = h->s;
	if (s->stopping || !h->session_done || !h->ss || !h->ss->corr.nd || h->smuggle_wanted ||
	    !client_can_smuggle(&h->ss->c))
		return;
	h->smuggle_wanted = 1;
	TAILQ_INSERT_TAIL(&s->smuggle_q, h, sq);
}

/* Starts a waiting host's smuggling session (room checked by the caller). */
static void smuggle_start(struct host *h)
{
	struct scan *s = h->s;
	h->smuggle_wanted = 0;
	TAILQ_REMOVE(&s->smuggle_q, h, sq);
	if (client_smuggle(&h->ss->c) != CL_RECONNECT) { /* cannot be: queued by the same rule */
		finalize(h, 0);
		return;
	}
	h->session_done = 0;
	s->inflight++;
	if (netcap_inc(&s->nets, &h->addr) == 0)
		h->in_net = 1;
	io_timer_stop(h->timer);
	io_timer_start(h->timer, s->o->host_timeout, 0);
	if (host_connect(h) < 0) {
		client_connect_failed(&h->ss->c, strerror(errno));
		session_done(h); /* h may be gone */
	}
}

static void session_done(struct host *h)
{
	struct scan *s = h->s;
	if (!s->stopping && smuggle_now(h))
		return;
	drop_ptr(h);
	if (h->io) {
		io_free(h->io);
		h->io = NULL;
	}
	h->session_done = 1;
	h->ended = now_of(s);
	s->inflight--;
	if (h->in_net) {
		netcap_dec(&s->nets, &h->addr);
		h->in_net = 0;
	}
	io_timer_stop(h->timer);
	double left =
	    h->ss ? correl_deadline(h->ss->c.t, h->ss->c.nt, now_of(s), wait_of(s)) - now_of(s) : 0;
	if (left > 0 && !correl_settled(&h->ss->corr, h->ss->c.t, h->ss->c.nt)) {
		io_timer_start(h->timer, left, 0);
	} else {
		finalize(h, 0);
	}
	launch_some(s);
	maybe_end(s);
}

static void host_timer_cb(void *arg)
{
	struct host *h = arg;
	struct scan *s = h->s;
	if (h->session_done) { /* --wait is over */
		if (h->smuggle_wanted)
			return; /* its smuggling session comes first (launch_some) */
		finalize(h, 0);
		launch_some(s);
		maybe_end(s);
		return;
	}
	char m[80];
	snprintf(m, sizeof(m), "host timeout after %g s", s->o->host_timeout);
	if (h->parked)
		unpark(h);
	if (session_of(h))
		client_abort(&h->ss->c, m);
	session_done(h);
}

/* ---- connections ---- */

static void host_io_cb(struct io *io, enum io_event ev, void *arg);

static int is_resource_error(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM || e == EADDRNOTAVAIL ||
	       e == EAGAIN;
}

/* 0: connecting; -1 with errno: the socket could not be made. */
static int host_connect(struct host *h)
{
	struct scan *s = h->s;
	struct sockaddr_storage ss, src;
	socklen_t sl = ipaddr_to_sa(&h->addr, h->port, &ss), srcl = 0;
	if (s->o->source_addr.family)
		srcl = ipaddr_to_sa(&s->o->source_addr, 0, &src);
	h->connected = 0;
	h->io =
	    io_connect(s->loop, (struct sockaddr *)&ss, sl, srcl ? (struct sockaddr *)&src : NULL,
	               srcl, 64 * 1024, 128 * 1024, host_io_cb, h);
	if (!h->io)
		return -1;
	io_set_timeout(h->io, s->o->connect_timeout);
	return 0;
}

static void ask_name(struct host *h);
static void start_tls(struct host *h);

/* CL_DONE or CL_RECONNECT: the parting QUIT, if the client queued one, goes out now and the
 * connection closes without waiting for its 221 (client.h). */
static void part(struct host *h)
{
	struct buf *out = &h->ss->c.out;
	if (h->io && h->connected && buf_len(out) &&
	    io_write(h->io, buf_head(out), buf_len(out)) == 0) {
		io_close(h->io);
		h->io = NULL;
	}
	buf_consume(out, buf_len(out));
}

static void handle(struct host *h, enum client_status st)
{
	if (st == CL_CONTINUE)
		return;
	if ((st == CL_DONE || st == CL_RECONNECT) && h->ss)
		part(h);
	if (st == CL_NAME) {
		ask_name(h);
		return;
	}
	if (st == CL_STARTTLS) {
		start_tls(h);
		return;
	}
	if (st == CL_RECONNECT) {
		io_free(h->io);
		h->io = NULL;
		if (host_connect(h) < 0) {
			connect_failed(h, strerror(errno));
			session_done(h);
		}
		return;
	}
	session_done(h);
}

/* Sends what the client queued. -1 when that ended the host (h is gone). */
static int flush_out(struct host *h)
{
	struct buf *out = &h->ss->c.out;
	if (!buf_len(out))
		return 0;
	if (io_write(h->io, buf_head(out), buf_len(out)) < 0) {
		client_abort(&h->ss->c, "output buffer full");
		buf_consume(out, buf_len(out));
		session_done(h);
		return -1;
	}
	buf_consume(out, buf_len(out));
	io_set_timeout(h->io, h->s->o->timeout);
	return 0;
}

/* ---- the target's PTR name, when its banner and EHLO gave none ---- */

static void named(struct host *h, const char *name)
{
	enum client_status st = client_named(&h->ss->c, name, now_of(h->s));
	if (st != CL_CONTINUE) {
		handle(h, st);
		return;
	}
	if (flush_out(h) == 0)
		io_read_more(h->io);
}

static void ptr_cb(const char *name, void *arg)
{
	struct host *h = arg;
	h->ss->ptr = NULL;
	named(h, name);
}

static void ask_name(struct host *h)
{
	struct scan *s = h->s;
	h->ss->ptr = s->rdns ? rdns_lookup(s->rdns, &h->addr, ptr_cb, h) : NULL;
	if (!h->ss->ptr) {
		named(h, NULL);
		return;
	}
	io_set_timeout(h->io, s->o->timeout < PTR_WAIT_MAX ? s->o->timeout : PTR_WAIT_MAX);
}

/* ---- TLS: STARTTLS when the client asks, implicit on port 465 and with --tls ---- */

static int implicit_tls(const struct host *h)
{
	return h->s->o->tls || h->port == 465;
}

static void start_tls(struct host *h)
{
	struct buf *rb = io_rbuf(h->io);
	buf_consume(rb, buf_len(rb)); /* plaintext behind the 220 is never read as TLS */
	if (io_tls_start(h->io, h->s->tls, 0, client_host(&h->ss->c)) < 0) {
		handle(h, client_tls_failed(&h->ss->c, "TLS could not start"));
		return;
	}
	io_set_timeout(h->io, h->s->o->timeout);
}

static void tls_up(struct host *h)
{
	struct io_tls_info ti;
	io_tls_info(h->io, &ti);
	enum client_status st = client_tls_up(&h->ss->c, &ti, now_of(h->s));
	if (h->ss->c.state == CS_GREETING || st != CL_CONTINUE) { /* implicit: the greeting */
		io_set_timeout(h->io, h->s->o->timeout);
		if (st != CL_CONTINUE)
			handle(h, st);
		return;
	}
	if (flush_out(h) == 0)
		io_read_more(h->io);
}

static void note_prober(struct host *h, const struct ipaddr *ip)
{
	if (!ip->family)
		return;
	for (int i = 0; i < h->ss->nprober; i++)
		if (ipaddr_eq(&h->ss->prober[i], ip))
			return;
	if (h->ss->nprober < PROBER_ADDRS)
		h->ss->prober[h->ss->nprober++] = *ip;
}

/* --per-net counts sessions with servers that answered: a connect nobody answers costs the
 * target network nothing, and --rate paces those. So a host joins its network's count when it
 * connects. Connects already in flight when the network filled up (at most about --rate x
 * round-trip time of them) are closed and parked; a parked host reconnects when a session
 * there ends, counted from the start since it is known to answer. 1: admitted. */
static int admit(struct host *h)
{
	struct scan *s = h->s;
	if (!netcap_room(&s->nets, &h->addr)) {
		io_free(h->io);
		h->io = NULL;
		h->parked = 1;
		h->pnext = s->parked;
		s->parked = h;
		s->st.parked++;
		return 0;
	}
	if (netcap_inc(&s->nets, &h->addr) == 0)
		h->in_net = 1;
	return 1;
}

/* Reconnects the parked hosts whose network has room, at --rate. */
static void unpark_some(struct scan *s, double now)
{
	struct host *h = s->parked, *nx;
	for (; h && bucket_wait(&s->bucket, now) <= 0; h = nx) {
		nx = h->pnext;
		if (!netcap_room(&s->nets, &h->addr))
			continue;
		unpark(h);
		if (host_connect(h) < 0) {
			int e = errno;
			if (is_resource_error(e)) { /* out of sockets: stay parked */
				h->parked = 1;
				h->pnext = s->parked;
				s->parked = h;
				return;
			}
			bucket_take(&s->bucket, now);
			connect_failed(h, strerror(e));
			session_done(h); /* frees h alone: launch_some and unparking are held */
			continue;
		}
		bucket_take(&s->bucket, now);
		if (netcap_inc(&s->nets, &h->addr) == 0)
			h->in_net = 1;
		io_timer_start(h->timer, s->o->host_timeout, 0);
	}
}

static void host_io_cb(struct io *io, enum io_event ev, void *arg)
{
	struct host *h = arg;
	struct scan *s = h->s;
	enum client_status st = CL_CONTINUE;
	(void)io;
	switch (ev) {
	case IO_CONNECTED: {
		struct sockaddr_storage ss;
		socklen_t sl;
		struct ipaddr local = {0};
		uint16_t lport;
		if (io_local_addr(h->io, &ss, &sl) == 0)
			ipaddr_from_sa((struct sockaddr *)&ss, &local, &lport);
		if (!h->in_net && !admit(h))
			return;
		if (!session_of(h)) {
			session_done(h);
			return;
		}
		h->connected = 1;
		note_prober(h, &local);
		client_connected(&h->ss->c, &local, now_of(s));
		io_set_timeout(h->io, s->o->timeout);
		if (flush_out(h) < 0) /* what goes before the greeting (a PROXY header) */
			return;
		if (implicit_tls(h) && io_tls_start(h->io, s->tls, 0, NULL) < 0)
			handle(h, client_closed(&h->ss->c, "TLS could not start"));
		return;
	}
	case IO_TLS_UP:
		tls_up(h);
		return;
	case IO_DATAIN: {
		int before = h->ss->c.ehlo_reported.family;
		st = client_input(&h->ss->c, io_rbuf(h->io), now_of(s));
		if (!before && h->ss->c.ehlo_reported.family)
			note_prober(h, &h->ss->c.ehlo_reported);
		if (st == CL_CONTINUE) {
			if (flush_out(h) == 0)
				io_read_more(h->io);
			return;
		}
		break;
	}
	case IO_LOWAT:
		return;
	case IO_TIMEOUT:
		if (h->ss && h->ss->ptr) { /* no name in time: the literal it is */
			drop_ptr(h);
			named(h, NULL);
			return;
		}
		st = h->connected ? client_timeout(&h->ss->c, s->o->timeout)
		                  : connect_failed(h, "connect timeout");
		break;
	case IO_DISCONNECTED:
	case IO_ERROR:
		drop_ptr(h);
		if (h->connected && h->ss->c.state == CS_TLS) /* the STARTTLS handshake failed */
			st = client_tls_failed(&h->ss->c, io_strerror(h->io));
		else
			st = h->connected ? client_closed(&h->ss->c, io_strerror(h->io))
			                  : connect_failed(h, io_strerror(h->io));
		break;
	}
	handle(h, st);
}

/* ---- launching ---- */

static int next_target(struct scan *s, struct target *t)
{
	uint64_t pos;
	for (int i = 0; i < NEXT_SCAN_MAX; i++) {
		if (!shard_next(&s->shard, s->space, &pos)) {
			s->exhausted = 1;
			return 0;
		}
		targets_at(s->in.targets, s->o->port_list, s->o->nports, perm_at(&s->perm, pos),
		           &t->ip, &t->port);
		if (targets_reserved(&t->ip)) {
			s->st.reserved++;
			continue;
		}
		if (s->in.exclude && targets_contains(s->in.exclude, &t->ip)) {
			s->st.excluded++;
			continue;
		}
		if (s->in.done && doneset_has(s->in.done, &t->ip, t->port)) {
			s->st.skipped++;
			continue;
		}
		return 1;
	}
	return 0; /* come back on the next tick */
}

/* A target whose network has room: from the pending list first, then the permutation. */
static int pick(struct scan *s, struct target *t)
{
	for (int i = 0; i < s->npending; i++)
		if (netcap_room(&s->nets, &s->pending[i].ip)) {
			*t = s->pending[i];
			memmove(&s->pending[i], &s->pending[i + 1],
			        (size_t)(s->npending - i - 1) * sizeof(*t));
			s->npending--;
			return 1;
		}
	while (s->npending < PENDING_MAX && !s->exhausted) {
		if (!next_target(s, t))
			return 0;
		if (netcap_room(&s->nets, &t->ip))
			return 1;
		s->pending[s->npending++] = *t;
	}
	return 0;
}

void scan_client_params(const struct rt_options *o, const struct scan_input *in,
                        const struct ipaddr *ip, uint16_t port, const char *date,
                        struct client_params *p)
{
	*p = (struct client_params){
	    .cat = in->cat,
	    .key = in->key,
	    .keylen = in->keylen,
	    .scan_id = in->scan_id,
	    .target = *ip,
	    .port = port,
	    .helo = o->helo,
	    .sender = o->sender,
	    .contact = o->contact,
	    .sink_domain = o->sink_domain,
	    .sink_addr = o->sink_addr,
	    .message_tmpl = in->message_tmpl,
	    .date = date,
	    .first_hit = o->first_hit,
	    .max_reconnects = o->max_reconnects,
	    .max_line = o->max_reply_line,
	    .max_lines = o->max_reply_lines,
	    .transcript = o->transcript,
	    .want_name = !o->no_ptr,
	    .starttls = !o->starttls || strcmp(o->starttls, "auto") == 0, /* both: twins */
	    .implicit_tls = o->tls || port == 465,
	};
}

static int launch(struct scan *s, const struct target *t)
{
	struct host *h = calloc(1, sizeof(*h));
	if (!h)
		return -1;
	h->s = s;
	h->addr = t->ip;
	h->port = t->port;
	h->timer = io_timer_new(s->loop, host_timer_cb, h);
	if (!h->timer) {
		host_free(h);
		errno = ENOMEM;
		return -1;
	}
	int failed = 0;
	if (host_connect(h) < 0) {
		failed = errno;
		if (is_resource_error(failed)) {
			host_free(h);
			errno = failed;
			return -1;
		}
	}
	h->started = now_of(s);
	size_t k = host_slot(&h->addr, h->port);
	h->hnext = s->index[k];
	s->index[k] = h;
	h->next = s->hosts;
	if (s->hosts)
		s->hosts->prev = h;
	s->hosts = h;
	s->nhosts++;
	s->inflight++;
	s->st.launched++;
	if (failed) { /* refused or unreachable at once: the host is final */
		connect_failed(h, strerror(failed));
		session_done(h);
		return 0;
	}
	io_timer_start(h->timer, s->o->host_timeout, 0);
	return 0;
}

static void launch_some(struct scan *s)
{
	if (s->stopping || s->ended || s->launching)
		return;
	s->launching = 1;
	double now = now_of(s);
	/* hosts that relayed while they waited get their smuggling session first */
	for (struct host *h = TAILQ_FIRST(&s->smuggle_q); h && s->inflight < s->cap;) {
		struct host *next = TAILQ_NEXT(h, sq);
		if (netcap_room(&s->nets, &h->addr)) {
			if (bucket_wait(&s->bucket, now) > 0)
				break;
			bucket_take(&s->bucket, now);
			smuggle_start(h); /* may free h, never next */
		}
		h = next;
	}
	if (s->parked && now >= s->backoff_until)
		unpark_some(s, now);
	while (s->inflight < s->cap && now >= s->backoff_until) {
		if (bucket_wait(&s->bucket, now) > 0)
			break;
		struct target t;
		if (!pick(s, &t))
			break;
		bucket_take(&s->bucket, now);
		if (launch(s, &t) < 0) {
			/* Out of sockets or ports: put it back, slow down, retry shortly. */
			if (s->npending <= PENDING_MAX)
				s->pending[s->npending++] = t;
			s->cap = s->inflight > 8   ? s->inflight - 4
			         : s->inflight > 0 ? s->inflight
			                           : 1;
			s->backoff_until = now + 0.2;
			if (!s->st.backoffs++)
				log_msg(LOG_WARN, 0,
				        "cannot open more connections (%s): slowing down",
				        strerror(errno));
			break;
		}
		if (s->stopping || s->ended)
			break;
	}
	s->launching = 0;
}

static void tick_cb(void *arg)
{
	struct scan *s = arg;
	launch_some(s);
	maybe_end(s);
}

/* ---- deliveries ---- */

void scan_receipt(const json_t *r, void *arg)
{
	struct scan *s = arg;
	char sid[16], a[ADDR_TEXT_MAX];
	snprintf(sid, sizeof(sid), "%08x", s->in.scan_id);
	struct receipt_ref refs[16];
	int n = correl_refs(r, refs, 16), matched = 0;
	for (int i = 0; i < n; i++) {
		if (strcmp(refs[i].scan_id, sid) != 0)
			continue;
		struct host *h = host_find(s, &refs[i].target, refs[i].port);
		if (h && !h->ss) /* not connected: no test of it was sent */
			continue;
		int test = refs[i].test;
		matched = 1;
		int same =
		    0; /* a host an earlier token of this message named (and may have ended) */
		for (int k = 0; k < i && !same; k++)
			same = ipaddr_eq(&refs[k].target, &refs[i].target) &&
			       refs[k].port == refs[i].port;
		if (!h && same)
			continue;
		if (!h) {
			s->st.late_deliveries++;
			log_msg(LOG_WARN, 0, "%s for %s port %u test %d after its host was final",
			        json_string_value(json_object_get(r, "class")) ?: "delivery",
			        ipaddr_str(&refs[i].target, a, sizeof(a)), refs[i].port, test);
			continue;
		}
		if (test >= h->ss->c.nt)
			continue;
		struct test_args ta;
		client_test_args(&h->ss->c, test, &ta);
		correl_add(&h->ss->corr, r, &h->ss->c.t[test], s->in.cat->t[test].name, ta.token,
		           h->ss->prober, h->ss->nprober);
		smuggle_later(h);
		if (h->session_done && !h->smuggle_wanted &&
		    correl_settled(&h->ss->corr, h->ss->c.t, h->ss->c.nt)) {
			finalize(h, 0);
			launch_some(s);
			maybe_end(s);
		}
	}
	if (!matched)
		s->st.foreign_messages++;
	if (!TAILQ_EMPTY(&s->smuggle_q))
		launch_some(s);
}

/* ---- progress, lifecycle ---- */

/* Seconds until the scan should be over: the targets not yet launched at the rate seen so
 * far, or the latest --wait deadline of the hosts waiting for relayed mail, whichever is
 * later. */
static double eta(struct scan *s, double rate)
{
	uint64_t gone = s->st.launched + s->st.excluded + s->st.reserved + s->st.skipped;
	double launching = s->st.total > gone && rate > 0 ? (double)(s->st.total - gone) / rate : 0;
	double waiting = 0;
	for (struct host *h = s->hosts; h; h = h->next)
		if (h->session_done) {
			double d = correl_deadline(h->ss->c.t, h->ss->c.nt, h->ended, wait_of(s)) -
			           now_of(s);
			if (d > waiting)
				waiting = d;
		}
	return launching > waiting ? launching : waiting;
}

static void progress_cb(void *arg)
{
	struct scan *s = arg;
	uint64_t done = s->st.final + s->st.excluded + s->st.reserved + s->st.skipped;
	double el = now_of(s) - s->st.started;
	double rate = el > 0 ? (double)s->st.launched / el : 0;
	long sec = (long)(eta(s, rate) + 0.5);
	char left[32];
	snprintf(left, sizeof(left), "%ldh%02ldm%02lds", sec / 3600, sec / 60 % 60, sec % 60);
	/* on a terminal one line redrawn in place; elsewhere (a log file) plain lines */
	fprintf(stderr,
	        "%s%llu/%llu done (%.1f%%) %.0f connects/s, %ld active | anon %llu open %llu "
	        "accepted %llu "
	        "deferred %llu closed %llu unreach %llu | ETA %s%s",
	        s->tty ? "\r" : "", (unsigned long long)done, (unsigned long long)s->st.total,
	        s->st.total ? 100.0 * (double)done / (double)s->st.total : 100.0, rate, s->nhosts,
	        (unsigned long long)s->st.counts[V_OPEN_ANONYMOUS],
	        (unsigned long long)s->st.counts[V_OPEN],
	        (unsigned long long)s->st.counts[V_ACCEPTED],
	        (unsigned long long)s->st.counts[V_DEFERRED],
	        (unsigned long long)s->st.counts[V_CLOSED],
	        (unsigned long long)s->st.counts[V_UNREACHABLE], left, s->tty ? "\033[K" : "\n");
	fflush(stderr);
}

static void maybe_end(struct scan *s)
{
	if (s->ended || s->nhosts || (!s->stopping && (!s->exhausted || s->npending)))
		return;
	s->ended = 1;
	s->st.seconds = now_of(s) - s->st.started;
	io_timer_stop(s->tick);
	if (s->progress) {
		io_timer_stop(s->progress);
		progress_cb(s);
		if (s->tty)
			fputc('\n', stderr);
	}
	if (s->done)
		s->done(s->done_arg);
}

struct scan *scan_new(struct io_loop *loop, const struct rt_options *o, const struct scan_input *in,
                      char *err, size_t errlen)
{
	struct scan *s = calloc(1, sizeof(*s));
	if (!s || netcap_init(&s->nets, o->per_net, 4096) < 0) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	TAILQ_INIT(&s->smuggle_q);
	s->loop = loop;
	s->o = o;
	s->in = *in;
	s->space = targets_space(in->targets, o->nports);
	perm_init(&s->perm, s->space, (uint64_t)o->seed);
	shard_init(&s->shard, o->shard_k, o->shard_n);
	s->st.total = shard_size(s->space, o->shard_k, o->shard_n);
	s->cap = o->concurrency;
	s->tty = isatty(2);
	s->tick = io_timer_new(loop, tick_cb, s);
	if (o->progress)
		s->progress = io_timer_new(loop, progress_cb, s);
	if (!s->tick || (o->progress && !s->progress)) {
		snprintf(err, errlen, "out of memory");
		scan_free(s);
		return NULL;
	}
	if (!(s->tls = io_tls_client_ctx(err, errlen))) {
		scan_free(s);
		return NULL;
	}
	if (!o->no_ptr && !(s->rdns = rdns_new(loop, o->resolver, err, errlen))) {
		scan_free(s);
		return NULL;
	}
	return s;
}

void scan_start(struct scan *s, void (*done)(void *arg), void *arg)
{
	s->done = done;
	s->done_arg = arg;
	s->st.started = now_of(s);
	bucket_init(&s->bucket, s->o->rate, now_of(s));
	io_timer_start(s->tick, 0, s->o->rate >= 100 ? 0.01 : 0.05);
	if (s->progress) /* four times a second on a terminal, every 10 s into a file */
		io_timer_start(s->progress, s->tty ? 0.25 : 10, s->tty ? 0.25 : 10);
	launch_some(s);
	maybe_end(s);
}

void scan_interrupt(struct scan *s)
{
	if (s->ended || s->stopping)
		return;
	s->stopping = 1;
	s->st.interrupted = 1;
	while (s->hosts) {
		struct host *h = s->hosts;
		if (h->session_done) {
			finalize(h, 1);
		} else if (h->ss &&
		           h->ss->corr.nd) { /* open already (smuggling session): its line */
			client_abort(&h->ss->c, "interrupted");
			drop_ptr(h);
			io_free(h->io);
			h->io = NULL;
			s->inflight--;
			if (h->in_net)
				netcap_dec(&s->nets, &h->addr);
			h->in_net = 0;
			finalize(h, 1);
		} else {
			s->st.unfinished++;
			s->inflight--;
			if (h->in_net)
				netcap_dec(&s->nets, &h->addr);
			host_unlink(h);
			host_free(h);
		}
	}
	s->st.unfinished += (uint64_t)s->npending;
	s->npending = 0;
	maybe_end(s);
}

void scan_get_stats(const struct scan *s, struct scan_stats *st)
{
	*st = s->st;
}

json_t *scan_summary_json(const struct scan_stats *st)
{
	json_t *o = json_object(), *c = json_object();
	json_object_set_new(o, "type", json_string("summary"));
	json_object_set_new(o, "targets", json_integer((json_int_t)st->total));
	json_object_set_new(o, "hosts", json_integer((json_int_t)st->final));
	for (int v = 0; v < V_COUNT; v++)
		json_object_set_new(c, verdict_names[v], json_integer((json_int_t)st->counts[v]));
	json_object_set_new(o, "counts", c);
	json_object_set_new(o, "excluded", json_integer((json_int_t)st->excluded));
	json_object_set_new(o, "reserved", json_integer((json_int_t)st->reserved));
	json_object_set_new(o, "unresolved", json_integer((json_int_t)st->unresolved));
	json_object_set_new(o, "skipped_resume", json_integer((json_int_t)st->skipped));
	json_object_set_new(o, "unfinished", json_integer((json_int_t)st->unfinished));
	json_object_set_new(o, "late_deliveries", json_integer((json_int_t)st->late_deliveries));
	json_object_set_new(o, "foreign_messages", json_integer((json_int_t)st->foreign_messages));
	json_object_set_new(o, "seconds", json_real(st->seconds));
	json_object_set_new(o, "parked_connects", json_integer((json_int_t)st->parked));
	json_object_set_new(o, "connections_per_second",
	                    json_real(st->seconds > 0 ? (double)st->launched / st->seconds : 0));
	json_object_set_new(o, "interrupted", json_boolean(st->interrupted));
	json_object_set_new(o, "verdicts_pending", json_boolean(st->pending));
	return o;
}

void scan_free(struct scan *s)
{
	if (!s)
		return;
	while (s->hosts) {
		struct host *h = s->hosts;
		host_unlink(h);
		host_free(h);
	}
	if (s->tick)
		io_timer_free(s->tick);
	if (s->progress)
		io_timer_free(s->progress);
	rdns_free(s->rdns); /* after the hosts: they cancelled their lookups */
	io_tls_ctx_free(s->tls);
	netcap_free(&s->nets);
	free(s);
}
