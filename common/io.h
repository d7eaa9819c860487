/* The one module that touches libev. Connections own a read and a write buffer and report
 * events; sessions above only pull whole lines from the read buffer and append replies. */
#ifndef RT_IO_H
#define RT_IO_H

#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"

struct io_loop;
struct io;
struct io_listener;
struct io_timer;
struct io_async;
struct io_signal;

enum io_event {
	IO_CONNECTED,    /* outgoing connect finished */
	IO_DATAIN,       /* new bytes in the read buffer */
	IO_LOWAT,        /* the write buffer drained */
	IO_TIMEOUT,      /* the deadline set with io_set_timeout passed */
	IO_DISCONNECTED, /* the peer closed its side */
	IO_ERROR,        /* io_strerror() says why */
	IO_TLS_UP,       /* the TLS handshake io_tls_start began is done */
};
extern const char *const io_event_names[];

typedef void (*io_cb)(struct io *io, enum io_event ev, void *arg);
typedef void (*io_accept_cb)(int fd, const struct sockaddr *peer, socklen_t peerlen, void *arg);
typedef void (*io_fn)(void *arg);

struct io_loop *io_loop_new(void);
void io_loop_free(struct io_loop *l);
/* Runs until io_loop_break; a break asked for before the run (work that ended while it was
 * being set up) makes the next run return at once. */
void io_loop_run(struct io_loop *l);
void io_loop_break(struct io_loop *l);
double io_now(struct io_loop *l);

/* Takes ownership of a connected, non-blocking fd. */
struct io *io_new(struct io_loop *l, int fd, size_t rmax, size_t wmax, io_cb cb, void *arg);
/* Starts a non-blocking connect; NULL with errno set when the socket cannot even be made
 * (EMFILE, EADDRNOTAVAIL...), so a scheduler can slow down instead of failing the host. */
struct io *io_connect(struct io_loop *l, const struct sockaddr *sa, socklen_t salen,
                      const struct sockaddr *src, socklen_t srclen, size_t rmax, size_t wmax,
                      io_cb cb, void *arg);
void io_free(struct io *io);
/* Sends what is queued as far as the socket takes it at once (never waits), then frees: for
 * a parting command whose answer nobody reads (the prober's QUIT). */
void io_close(struct io *io);
struct buf *io_rbuf(struct io *io);
/* Queues bytes. Everything queued during one loop iteration leaves in one send() right after
 * it; the write watcher is armed only when the socket is full. */
int io_write(struct io *io, const void *p, size_t n);
int io_printf(struct io *io, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t io_queued(const struct io *io);
/* Deadline from now; 0 disarms. */
void io_set_timeout(struct io *io, double seconds);
void io_pause_read(struct io *io);
void io_resume_read(struct io *io);
/* The consumer made room in the read buffer: resume reading if a full buffer stopped it. */
void io_read_more(struct io *io);
const char *io_strerror(const struct io *io);
/* Our end of the connection (getsockname). */
int io_local_addr(const struct io *io, struct sockaddr_storage *ss, socklen_t *len);

struct io_listener *io_listen(struct io_loop *l, const struct sockaddr *sa, socklen_t salen,
                              io_accept_cb cb, void *arg, char *err, size_t errlen);
void io_listener_pause(struct io_listener *ls, int paused);
void io_listener_free(struct io_listener *ls);

struct io_timer *io_timer_new(struct io_loop *l, io_fn cb, void *arg);
void io_timer_start(struct io_timer *t, double after, double repeat);
void io_timer_stop(struct io_timer *t);
void io_timer_free(struct io_timer *t);

/* io_async_send may be called from any thread; cb runs in the loop. */
struct io_async *io_async_new(struct io_loop *l, io_fn cb, void *arg);
void io_async_send(struct io_async *a);
void io_async_free(struct io_async *a);

/* cb runs once per loop iteration, after the events' callbacks and just before the loop waits
 * for more: work those callbacks produced can be handed on in one piece. */
struct io_prepare;
struct io_prepare *io_prepare_new(struct io_loop *l, io_fn cb, void *arg);
void io_prepare_free(struct io_prepare *p);

struct io_signal *io_signal_new(struct io_loop *l, int signum, io_fn cb, void *arg);
void io_signal_free(struct io_signal *s);

/* TLS over a connection (OpenSSL, in io_tls.c). A context is made once per program: a client
 * one verifies nothing (the scan records what it would have found) and a server one holds a
 * certificate, from files or generated at start. */
struct io_tls_ctx;
struct io_tls_ctx *io_tls_client_ctx(char *err, size_t errlen);
/* cert and key: PEM files, or both NULL for a self-signed certificate made now for name. */
struct io_tls_ctx *io_tls_server_ctx(const char *cert, const char *key, const char *name, char *err,
                                     size_t errlen);
void io_tls_ctx_free(struct io_tls_ctx *ctx);
/* Starts the handshake once what io_write queued is sent; the read buffer must be empty (the
 * caller drops what came before: plaintext behind STARTTLS is never read as if encrypted).
 * IO_TLS_UP when it is done, IO_ERROR when it fails; io_set_timeout bounds it. From then on
 * reads and writes are encrypted and the protocol above does not see the difference. sni:
 * the server name to send (client), or NULL. -1 when TLS cannot even start. */
int io_tls_start(struct io *io, struct io_tls_ctx *ctx, int server, const char *sni);

/* What a TLS session showed: protocol and cipher; from a server also its certificate. */
struct io_tls_info {
	char version[16], cipher[64];
	int has_cert;
	char subject[256], issuer[256], names[512], not_after[32];
	int self_signed, verified; /* verified: it chains to the system's CAs */
};
int io_tls_info(const struct io *io, struct io_tls_info *out);

/* Watches a descriptor owned by someone else (c-ares's sockets): cb says which way it is
 * ready. Starts idle; io_fdwatch_set chooses the directions (both 0: idle). Never closes fd. */
struct io_fdwatch;
typedef void (*io_fdwatch_cb)(int fd, int readable, int writable, void *arg);
struct io_fdwatch *io_fdwatch_new(struct io_loop *l, int fd, io_fdwatch_cb cb, void *arg);
void io_fdwatch_set(struct io_fdwatch *fw, int readable, int writable);
int io_fdwatch_fd(const struct io_fdwatch *fw);
void io_fdwatch_free(struct io_fdwatch *fw);

#endif
