/* Inside the I/O module (io.c, io_tls.c): the connection as both files see it. */
#ifndef RT_IO_INT_H
#define RT_IO_INT_H

#include <ev.h>
#include <sys/types.h>

#include "buf.h"
#include "io.h"

#define IO_READ_CHUNK 16384

struct io_loop {
	struct ev_loop *ev;
	int broken; /* io_loop_break before io_loop_run: the run returns at once */
	/* every read lands here first; a connection's buffer then grows by what came, not by a
	 * whole chunk allocated and freed per read */
	char rscratch[IO_READ_CHUNK];
};

struct ssl_st;

struct io {
	struct io_loop *loop;
	int fd;
	ev_io rw, ww;
	ev_timer tm;
	ev_idle again; /* re-reports buffered input after a pause */
	struct buf rbuf, wbuf;
	io_cb cb;
	void *arg;
	unsigned connecting : 1, paused : 1, eof : 1;
	/* TLS (io_tls.c): ssl set once io_tls_start ran (a server's once the client spoke) */
	struct ssl_st *ssl;
	struct ssl_ctx_st *tls_ctx; /* a server's context until the client's first byte */
	unsigned tls_server : 1,    /* we accept the handshake */
	    tls_peer_spoke : 1,     /* the client's first handshake bytes are there */
	    tls_waiting : 1,        /* started, but plaintext is still being written first */
	    tls_handshaking : 1,    /* the handshake runs */
	    tls_read_blocked : 1,   /* SSL_read wants the socket writable */
	    tls_write_blocked : 1;  /* SSL_write wants the socket readable */
	char err[192];
};

void io_fail(struct io *io, const char *what, int e);
/* The handshake's next step, run on any readiness while tls_handshaking. */
void iotls_handshake(struct io *io);
/* Like read() and send() (-1 with errno EAGAIN when it would block), over TLS. */
ssize_t iotls_read(struct io *io, void *p, size_t n);
ssize_t iotls_write(struct io *io, const void *p, size_t n);
/* Sends close_notify (once, not waiting for the peer's) and frees the TLS state. */
void iotls_close(struct io *io);

#endif
