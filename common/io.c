#include "io.h"
#include "io_int.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IO_ACCEPT_BURST 64

const char *const io_event_names[] = {"CONNECTED",    "DATAIN", "LOWAT", "TIMEOUT",
                                      "DISCONNECTED", "ERROR",  "TLS_UP"};

struct io_listener {
	struct io_loop *loop;
	ev_io w;
	ev_timer retry; /* after EMFILE, wait instead of spinning */
	io_accept_cb cb;
	void *arg;
};

struct io_timer {
	ev_timer t;
	struct io_loop *loop;
	io_fn cb;
	void *arg;
};

struct io_async {
	ev_async a;
	struct io_loop *loop;
	io_fn cb;
	void *arg;
};

struct io_prepare {
	ev_prepare p;
	struct io_loop *loop;
	io_fn cb;
	void *arg;
};

struct io_signal {
	ev_signal s;
	struct io_loop *loop;
	io_fn cb;
	void *arg;
};

struct io_fdwatch {
	ev_io w;
	struct io_loop *loop;
	io_fdwatch_cb cb;
	void *arg;
};

struct io_loop *io_loop_new(void)
{
	struct io_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!l->ev) {
		free(l);
		return NULL;
	}
	return l;
}

void io_loop_free(struct io_loop *l)
{
	if (!l)
		return;
	ev_loop_destroy(l->ev);
	free(l);
}

void io_loop_run(struct io_loop *l)
{
	if (!l->broken) /* ev_run forgets a break asked for before it started */
		ev_run(l->ev, 0);
	l->broken = 0;
}

void io_loop_break(struct io_loop *l)
{
	l->broken = 1;
	ev_break(l->ev, EVBREAK_ALL);
}

double io_now(struct io_loop *l)
{
	return ev_now(l->ev);
}

void io_fail(struct io *io, const char *what, int e)
{
	if (!(e == EPROTO && io->ssl)) /* a TLS error: iotls_read said why already */
		snprintf(io->err, sizeof(io->err), "%s: %s", what, strerror(e));
	ev_io_stop(io->loop->ev, &io->rw);
	ev_io_stop(io->loop->ev, &io->ww);
	io->cb(io, IO_ERROR, io->arg);
}

static void io_on_read(struct ev_loop *ev, ev_io *w, int revents)
{
	(void)ev;
	(void)revents;
	struct io *io = w->data;
	size_t want = buf_room(&io->rbuf);
	if (want > IO_READ_CHUNK)
		want = IO_READ_CHUNK;
	if (want == 0) {
		/* The consumer has not made room; stop reading until io_read_more. */
		ev_io_stop(io->loop->ev, &io->rw);
		return;
	}
	if (io->tls_handshaking) {
		io->tls_peer_spoke = 1; /* readable: the ClientHello (or an end) is there */
		iotls_handshake(io);
		return;
	}
	if (io->tls_waiting) { /* nothing is read until the 220 is out and the handshake runs */
		ev_io_stop(io->loop->ev, &io->rw);
		return;
	}
	if (io->tls_write_blocked) { /* SSL_write waited for this */
		io->tls_write_blocked = 0;
		ev_feed_event(io->loop->ev, &io->ww, EV_WRITE);
	}
	char *p = io->loop->rscratch;
	ssize_t n = io->ssl ? iotls_read(io, p, want) : read(io->fd, p, want);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		io_fail(io, "read", errno);
		return;
	}
	if (n == 0) {
		io->eof = 1;
		ev_io_stop(io->loop->ev, &io->rw);
		snprintf(io->err, sizeof(io->err), "connection closed by peer");
		io->cb(io, IO_DISCONNECTED, io->arg);
		return;
	}
	if (buf_append(&io->rbuf, p, (size_t)n) < 0) {
		io_fail(io, "read", ENOMEM);
		return;
	}
	io->cb(io, IO_DATAIN, io->arg); /* may free io: nothing after this */
}

static void io_on_connect(struct io *io)
{
	int e = 0;
	socklen_t len = sizeof(e);
	ev_io_stop(io->loop->ev, &io->ww);
	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e) {
		io_fail(io, "connect", e);
		return;
	}
	io->connecting = 0;
	if (!io->paused)
		ev_io_start(io->loop->ev, &io->rw);
	if (buf_len(&io->wbuf))
		ev_io_start(io->loop->ev, &io->ww);
	io->cb(io, IO_CONNECTED, io->arg);
}

/* Sends what it can: 1 when the buffer drained, 0 when the socket is full, -1 on error. */
static int io_send(struct io *io)
{
	while (buf_len(&io->wbuf)) {
		ssize_t n =
		    io->ssl && !io->tls_waiting
		        ? iotls_write(io, buf_head(&io->wbuf), buf_len(&io->wbuf))
		        : send(io->fd, buf_head(&io->wbuf), buf_len(&io->wbuf), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1; /* errno says why */
		}
		buf_consume(&io->wbuf, (size_t)n);
	}
	return 1;
}

static void io_on_write(struct ev_loop *ev, ev_io *w, int revents)
{
	(void)revents;
	struct io *io = w->data;
	if (io->connecting) {
		io_on_connect(io);
		return;
	}
	if (io->tls_handshaking) {
		iotls_handshake(io);
		return;
	}
	if (io->tls_read_blocked) { /* SSL_read wanted to write first */
		io->tls_read_blocked = 0;
		ev_io_stop(ev, &io->ww);
		ev_feed_event(ev, &io->rw, EV_READ);
		return;
	}
	int r = io_send(io);
	if (r < 0) {
		io_fail(io, "write", errno);
		return;
	}
	if (r == 0) {
		ev_io_start(ev, &io->ww); /* socket full: wait until it is writable */
		return;
	}
	ev_io_stop(ev, &io->ww);
	if (io->tls_waiting) { /* the plaintext before the handshake is out: begin it */
		io->tls_waiting = 0;
		io->tls_handshaking = 1;
		iotls_handshake(io);
		return;
	}
	io->cb(io, IO_LOWAT, io->arg);
}

void io_read_more(struct io *io)
{
	if (!io->paused && !io->eof && !io->connecting && buf_room(&io->rbuf))
		ev_io_start(io->loop->ev, &io->rw);
}

static void io_on_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
	(void)ev;
	(void)revents;
	struct io *io = t->data;
	snprintf(io->err, sizeof(io->err), "timeout");
	io->cb(io, IO_TIMEOUT, io->arg);
}

static void io_on_again(struct ev_loop *ev, ev_idle *w, int revents)
{
	(void)revents;
	struct io *io = w->data;
	ev_idle_stop(ev, w);
	if (!io->paused && buf_len(&io->rbuf))
		io->cb(io, IO_DATAIN, io->arg);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Replies are already coalesced into one write per loop iteration, so Nagle only adds a
 * delayed-ACK stall (about 40 ms) to every request/reply turn. */
static void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static struct io *io_alloc(struct io_loop *l, int fd, size_t rmax, size_t wmax, io_cb cb, void *arg)
{
	struct io *io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	io->loop = l;
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	buf_init(&io->rbuf, rmax);
	buf_init(&io->wbuf, wmax);
	ev_io_init(&io->rw, io_on_read, fd, EV_READ);
	ev_io_init(&io->ww, io_on_write, fd, EV_WRITE);
	ev_init(&io->tm, io_on_timeout);
	ev_idle_init(&io->again, io_on_again);
	io->rw.data = io->ww.data = io->tm.data = io->again.data = io;
	return io;
}

struct io *io_new(struct io_loop *l, int fd, size_t rmax, size_t wmax, io_cb cb, void *arg)
{
	if (set_nonblock(fd) < 0)
		return NULL;
	set_nodelay(fd);
	struct io *io = io_alloc(l, fd, rmax, wmax, cb, arg);
	if (io)
		ev_io_start(l->ev, &io->rw);
	return io;
}

struct io *io_connect(struct io_loop *l, const struct sockaddr *sa, socklen_t salen,
                      const struct sockaddr *src, socklen_t srclen, size_t rmax, size_t wmax,
                      io_cb cb, void *arg)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (src) {
		/* Port chosen at connect() from the whole 4-tuple space, not at bind(): a scan
		 * from one --source address is not limited to one connection per local port. */
		int one = 1;
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, src, srclen) < 0)
			goto fail;
	}
	set_nodelay(fd);
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS)
		goto fail;
	struct io *io = io_alloc(l, fd, rmax, wmax, cb, arg);
	if (!io) {
		errno = ENOMEM;
		goto fail;
	}
	io->connecting = 1;
	ev_io_start(l->ev, &io->ww);
	return io;
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return NULL;
}

void io_free(struct io *io)
{
	if (!io)
		return;
	ev_io_stop(io->loop->ev, &io->rw);
	ev_io_stop(io->loop->ev, &io->ww);
	ev_timer_stop(io->loop->ev, &io->tm);
	ev_idle_stop(io->loop->ev, &io->again);
	iotls_close(io);
	close(io->fd);
	buf_free(&io->rbuf);
	buf_free(&io->wbuf);
	free(io);
}

void io_close(struct io *io)
{
	if (!io)
		return;
	if (!io->connecting && !io->tls_handshaking && !io->tls_waiting)
		(void)io_send(io);
	io_free(io);
}

struct buf *io_rbuf(struct io *io)
{
	return &io->rbuf;
}

int io_write(struct io *io, const void *p, size_t n)
{
	if (buf_append(&io->wbuf, p, n) < 0)
		return -1;
	/* A fed event runs after the current callbacks: writes coalesce, no epoll_ctl. */
	if (!io->connecting && !ev_is_active(&io->ww))
		ev_feed_event(io->loop->ev, &io->ww, EV_WRITE);
	return 0;
}

int io_printf(struct io *io, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	return io_write(io, tmp, (size_t)n);
}

size_t io_queued(const struct io *io)
{
	return buf_len(&io->wbuf);
}

void io_set_timeout(struct io *io, double seconds)
{
	ev_timer_stop(io->loop->ev, &io->tm);
	if (seconds > 0) {
		ev_timer_set(&io->tm, seconds, 0.);
		ev_timer_start(io->loop->ev, &io->tm);
	}
}

void io_pause_read(struct io *io)
{
	io->paused = 1;
	ev_io_stop(io->loop->ev, &io->rw);
	ev_idle_stop(io->loop->ev, &io->again);
}

void io_resume_read(struct io *io)
{
	io->paused = 0;
	if (!io->connecting && !io->eof)
		ev_io_start(io->loop->ev, &io->rw);
	if (buf_len(&io->rbuf))
		ev_idle_start(io->loop->ev, &io->again);
}

const char *io_strerror(const struct io *io)
{
	return io->err[0] ? io->err : "no error";
}

/* ---- listeners ---- */

static void io_on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
	(void)revents;
	struct io_listener *ls = w->data;
	for (int i = 0; i < IO_ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(w->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors: stop accepting for a moment instead of
				 * spinning. */
				ev_io_stop(ev, w);
				ev_timer_set(&ls->retry, 0.1, 0.);
				ev_timer_start(ev, &ls->retry);
			}
			return;
		}
		ls->cb(fd, (struct sockaddr *)&ss, sl, ls->arg);
	}
}

static void io_on_accept_retry(struct ev_loop *ev, ev_timer *t, int revents)
{
	(void)revents;
	struct io_listener *ls = t->data;
	ev_io_start(ev, &ls->w);
}

struct io_listener *io_listen(struct io_loop *l, const struct sockaddr *sa, socklen_t salen,
                              io_accept_cb cb, void *arg, char *err, size_t errlen)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, salen) < 0 || listen(fd, 4096) < 0) {
		snprintf(err, errlen, "bind/listen: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	struct io_listener *ls = calloc(1, sizeof(*ls));
	if (!ls) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	ls->loop = l;
	ls->cb = cb;
	ls->arg = arg;
	ev_io_init(&ls->w, io_on_accept, fd, EV_READ);
	ev_init(&ls->retry, io_on_accept_retry);
	ls->w.data = ls->retry.data = ls;
	ev_io_start(l->ev, &ls->w);
	return ls;
}

void io_listener_pause(struct io_listener *ls, int paused)
{
	if (paused) {
		ev_io_stop(ls->loop->ev, &ls->w);
		ev_timer_stop(ls->loop->ev, &ls->retry);
	} else {
		ev_io_start(ls->loop->ev, &ls->w);
	}
}

void io_listener_free(struct io_listener *ls)
{
	if (!ls)
		return;
	io_listener_pause(ls, 1);
	close(ls->w.fd);
	free(ls);
}

/* ---- timers, async wake-ups, signals ---- */

static void io_on_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
	(void)ev;
	(void)revents;
	struct io_timer *it = t->data;
	it->cb(it->arg);
}

struct io_timer *io_timer_new(struct io_loop *l, io_fn cb, void *arg)
{
	struct io_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->loop = l;
	t->cb = cb;
	t->arg = arg;
	ev_init(&t->t, io_on_timer);
	t->t.data = t;
	return t;
}

void io_timer_start(struct io_timer *t, double after, double repeat)
{
	ev_timer_stop(t->loop->ev, &t->t);
	ev_timer_set(&t->t, after, repeat);
	ev_timer_start(t->loop->ev, &t->t);
}

void io_timer_stop(struct io_timer *t)
{
	ev_timer_stop(t->loop->ev, &t->t);
}

void io_timer_free(struct io_timer *t)
{
	if (!t)
		return;
	io_timer_stop(t);
	free(t);
}

static void io_on_async(struct ev_loop *ev, ev_async *w, int revents)
{
	(void)ev;
	(void)revents;
	struct io_async *a = w->data;
	a->cb(a->arg);
}

struct io_async *io_async_new(struct io_loop *l, io_fn cb, void *arg)
{
	struct io_async *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->loop = l;
	a->cb = cb;
	a->arg = arg;
	ev_async_init(&a->a, io_on_async);
	a->a.data = a;
	ev_async_start(l->ev, &a->a);
	return a;
}

void io_async_send(struct io_async *a)
{
	ev_async_send(a->loop->ev, &a->a);
}

void io_async_free(struct io_async *a)
{
	if (!a)
		return;
	ev_async_stop(a->loop->ev, &a->a);
	free(a);
}

static void io_on_prepare(struct ev_loop *ev, ev_prepare *w, int revents)
{
	(void)ev;
	(void)revents;
	struct io_prepare *p = w->data;
	p->cb(p->arg);
}

struct io_prepare *io_prepare_new(struct io_loop *l, io_fn cb, void *arg)
{
	struct io_prepare *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->loop = l;
	p->cb = cb;
	p->arg = arg;
	ev_prepare_init(&p->p, io_on_prepare);
	p->p.data = p;
	ev_prepare_start(l->ev, &p->p);
	return p;
}

void io_prepare_free(struct io_prepare *p)
{
	if (!p)
		return;
	ev_prepare_stop(p->loop->ev, &p->p);
	free(p);
}

static void io_on_signal(struct ev_loop *ev, ev_signal *w, int revents)
{
	(void)ev;
	(void)revents;
	struct io_signal *s = w->data;
	s->cb(s->arg);
}

struct io_signal *io_signal_new(struct io_loop *l, int signum, io_fn cb, void *arg)
{
	struct io_signal *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = l;
	s->cb = cb;
	s->arg = arg;
	ev_signal_init(&s->s, io_on_signal, signum);
	s->s.data = s;
	ev_signal_start(l->ev, &s->s);
	return s;
}

void io_signal_free(struct io_signal *s)
{
	if (!s)
		return;
	ev_signal_stop(s->loop->ev, &s->s);
	free(s);
}

int io_local_addr(const struct io *io, struct sockaddr_storage *ss, socklen_t *len)
{
	*len = sizeof(*ss);
	return getsockname(io->fd, (struct sockaddr *)ss, len);
}

/* ---- someone else's file descriptor (a resolver's sockets) ---- */

static void io_on_fdwatch(struct ev_loop *ev, ev_io *w, int revents)
{
	(void)ev;
	struct io_fdwatch *fw = w->data;
	fw->cb(w->fd, (revents & EV_READ) != 0, (revents & EV_WRITE) != 0, fw->arg);
}

struct io_fdwatch *io_fdwatch_new(struct io_loop *l, int fd, io_fdwatch_cb cb, void *arg)
{
	struct io_fdwatch *fw = calloc(1, sizeof(*fw));
	if (!fw)
		return NULL;
	fw->loop = l;
	fw->cb = cb;
	fw->arg = arg;
	ev_io_init(&fw->w, io_on_fdwatch, fd, 0);
	fw->w.data = fw;
	return fw;
}

void io_fdwatch_set(struct io_fdwatch *fw, int readable, int writable)
{
	int events = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	ev_io_stop(fw->loop->ev, &fw->w);
	ev_io_set(&fw->w, fw->w.fd, events);
	if (events)
		ev_io_start(fw->loop->ev, &fw->w);
}

int io_fdwatch_fd(const struct io_fdwatch *fw)
{
	return fw->w.fd;
}

void io_fdwatch_free(struct io_fdwatch *fw)
{
	if (!fw)
		return;
	ev_io_stop(fw->loop->ev, &fw->w);
	free(fw);
}
