/* A delay farm for the latency benchmark (bench/latency.sh): an SMTP server closed to relaying
 * (every RCPT gets 550) that sends each reply, the greeting included, DELAY_MS after the command
 * that asked for it arrived, as a network with that round-trip time would. This kernel has no
 * netem, so the delay lives here. Pipelined commands are answered together, one delay after
 * they arrived, which is what PIPELINING saves on a real network. The TCP handshake is not
 * delayed.
 *
 * One delay for every reply means the replies fall due in the order they were made, so one
 * FIFO and one timer serve every connection. On SIGTERM it prints to stderr the round trips per
 * session it saw (a reply made while none is pending for the connection starts one: pipelined
 * commands share one, and so the QUIT's 221 counts even if the client does not wait for it),
 * and how late replies went out against their due time, which shows whether it kept up.
 *
 * Usage: delayfarm ADDR PORT DELAY_MS PIPELINING(0|1) LIFETIME_S
 * Built by bench/latency.sh: cc -O2 -o delayfarm delayfarm.c -lev */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE_MAX_LEN 1024
#define WBUF_LEN 4096
#define MAX_FDS 65536

struct conn {
	ev_io rio, wio;
	unsigned gen;
	int alive, quitting, dirty;
	unsigned pending; /* replies made, not yet sent */
	size_t inlen, wlen;
	char in[LINE_MAX_LEN];
	char wbuf[WBUF_LEN];
};

struct due {
	int fd;
	unsigned gen;
	int quit;
	ev_tstamp at;
	const char *text;
};

static struct conn *conns[MAX_FDS];
static unsigned next_gen = 1;
static struct due *fifo;
static size_t fifo_cap, fifo_head, fifo_len;
static ev_timer release;
static double delay;
static int pipelining;
static double late_max, late_sum;
static int dirty_fds[MAX_FDS];
static size_t dirty_len;
static unsigned long replies, sessions, round_trips;

static void conn_close(struct ev_loop *loop, int fd)
{
	struct conn *c = conns[fd];
	ev_io_stop(loop, &c->rio);
	ev_io_stop(loop, &c->wio);
	close(fd);
	c->alive = 0;
	c->gen = 0;
}

static void conn_flush(struct ev_loop *loop, int fd)
{
	struct conn *c = conns[fd];
	while (c->wlen > 0) {
		ssize_t n = write(fd, c->wbuf, c->wlen);
		if (n < 0 && errno == EAGAIN) {
			ev_io_start(loop, &c->wio);
			return;
		}
		if (n <= 0) {
			conn_close(loop, fd);
			return;
		}
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (size_t)n;
	}
	ev_io_stop(loop, &c->wio);
	if (c->quitting)
		conn_close(loop, fd);
}

static void writable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	conn_flush(loop, w->fd);
}

static void fifo_push(struct ev_loop *loop, int fd, const char *text, int quit)
{
	if (fifo_len == fifo_cap) {
		size_t cap = fifo_cap ? fifo_cap * 2 : 4096;
		struct due *n = malloc(cap * sizeof *n);
		if (!n)
			abort();
		for (size_t i = 0; i < fifo_len; i++)
			n[i] = fifo[(fifo_head + i) % fifo_cap];
		free(fifo);
		fifo = n;
		fifo_cap = cap;
		fifo_head = 0;
	}
	/* a reply to a connection with none pending starts a round trip the client waits out */
	if (conns[fd]->pending++ == 0)
		round_trips++;
	struct due *d = &fifo[(fifo_head + fifo_len++) % fifo_cap];
	*d = (struct due){fd, conns[fd]->gen, quit, ev_now(loop) + delay, text};
	if (!ev_is_active(&release)) {
		ev_timer_set(&release, delay, 0.);
		ev_timer_start(loop, &release);
	}
}

static void release_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	ev_now_update(loop);
	ev_tstamp now = ev_now(loop);
	while (fifo_len > 0 && fifo[fifo_head].at <= now + 0.0005) {
		struct due d = fifo[fifo_head];
		fifo_head = (fifo_head + 1) % fifo_cap;
		fifo_len--;
		struct conn *c = conns[d.fd];
		if (!c || !c->alive || c->gen != d.gen)
			continue;
		c->pending--;
		double late = now - d.at;
		late_sum += late > 0 ? late : 0;
		if (late > late_max)
			late_max = late;
		replies++;
		size_t len = strlen(d.text);
		if (c->wlen + len > WBUF_LEN) {
			conn_close(loop, d.fd);
			continue;
		}
		memcpy(c->wbuf + c->wlen, d.text, len);
		c->wlen += len;
		c->quitting |= d.quit;
		if (!c->dirty) {
			c->dirty = 1;
			dirty_fds[dirty_len++] = d.fd;
		}
	}
	/* one write for the replies due together, as Postfix writes when its input runs dry:
	 * written one by one, Nagle would hold the second for the client's delayed ACK */
	for (size_t i = 0; i < dirty_len; i++) {
		conns[dirty_fds[i]]->dirty = 0;
		if (conns[dirty_fds[i]]->alive)
			conn_flush(loop, dirty_fds[i]);
	}
	dirty_len = 0;
	if (fifo_len > 0) {
		double wait = fifo[fifo_head].at - now;
		ev_timer_set(w, wait > 0 ? wait : 0., 0.);
		ev_timer_start(loop, w);
	}
}

static const char *reply_for(const char *line, int *quit)
{
	static const char ehlo_p[] =
	    "250-farm.lab\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 10240000\r\n";
	static const char ehlo[] = "250-farm.lab\r\n250-8BITMIME\r\n250 SIZE 10240000\r\n";
	*quit = 0;
	if (!strncasecmp(line, "EHLO", 4))
		return pipelining ? ehlo_p : ehlo;
	if (!strncasecmp(line, "HELO", 4))
		return "250 farm.lab\r\n";
	if (!strncasecmp(line, "MAIL", 4))
		return "250 2.1.0 Ok\r\n";
	if (!strncasecmp(line, "RCPT", 4))
		return "550 5.7.1 Relay access denied\r\n";
	if (!strncasecmp(line, "DATA", 4))
		return "554 5.5.1 Error: no valid recipients\r\n";
	if (!strncasecmp(line, "RSET", 4) || !strncasecmp(line, "NOOP", 4))
		return "250 2.0.0 Ok\r\n";
	if (!strncasecmp(line, "QUIT", 4)) {
		*quit = 1;
		return "221 2.0.0 Bye\r\n";
	}
	return "502 5.5.2 Error: command not recognized\r\n";
}

static void readable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct conn *c = conns[w->fd];
	ssize_t n = read(w->fd, c->in + c->inlen, sizeof c->in - c->inlen - 1);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_close(loop, w->fd);
		return;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	char *start = c->in, *nl;
	while ((nl = memchr(start, '\n', c->inlen - (size_t)(start - c->in)))) {
		*nl = '\0';
		int quit;
		const char *r = reply_for(start, &quit);
		fifo_push(loop, w->fd, r, quit);
		start = nl + 1;
	}
	c->inlen -= (size_t)(start - c->in);
	memmove(c->in, start, c->inlen);
	if (c->inlen >= sizeof c->in - 1) /* a line too long: a client we do not expect */
		conn_close(loop, w->fd);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (fd >= MAX_FDS) {
			close(fd);
			continue;
		}
		if (!conns[fd] && !(conns[fd] = calloc(1, sizeof *conns[fd])))
			abort();
		struct conn *c = conns[fd];
		c->gen = next_gen++;
		c->alive = 1;
		c->quitting = 0;
		c->inlen = c->wlen = 0;
		c->pending = 0;
		ev_io_init(&c->rio, readable_cb, fd, EV_READ);
		ev_io_init(&c->wio, writable_cb, fd, EV_WRITE);
		ev_io_start(loop, &c->rio);
		sessions++;
		fifo_push(loop, fd, "220 farm.lab ESMTP\r\n", 0);
	}
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void lifetime_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: delayfarm ADDR PORT DELAY_MS PIPELINING LIFETIME_S\n");
		return 2;
	}
	delay = atof(argv[3]) / 1000.;
	pipelining = atoi(argv[4]);
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((unsigned short)atoi(argv[2]))};
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		return 2;
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 8192) < 0) {
		perror("delayfarm: bind/listen");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	struct ev_loop *loop = EV_DEFAULT;
	ev_io acc;
	ev_signal term;
	ev_timer life;
	ev_io_init(&acc, accept_cb, lfd, EV_READ);
	ev_io_start(loop, &acc);
	ev_init(&release, release_cb);
	ev_signal_init(&term, stop_cb, SIGTERM);
	ev_signal_start(loop, &term);
	ev_timer_init(&life, lifetime_cb, atof(argv[5]), 0.);
	ev_timer_start(loop, &life);
	ev_run(loop, 0);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr,
	        "sessions %lu round_trips_per_session %.2f replies %lu late_mean_ms %.2f "
	        "late_max_ms %.1f cpu_s %.2f\n",
	        sessions, sessions ? (double)round_trips / (double)sessions : 0., replies,
	        replies ? 1000. * late_sum / (double)replies : 0., 1000. * late_max,
	        (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	            (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	return 0;
}
