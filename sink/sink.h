/* The sink as a library: listeners, SMTP sessions, storage. relaytrap-sink wraps it in a
 * daemon; relaytrap runs it inside its own event loop. */
#ifndef RT_SINK_H
#define RT_SINK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "opt.h"

struct io_loop;
struct sink;

struct sink_config {
	struct strlist listen;   /* ADDR:PORT */
	struct strlist domains;  /* accepted recipient domains */
	struct strlist literals; /* extra accepted address literals (ADDR) */
	char *hostname;          /* for the banner; default gethostname() */
	char *store;   /* layout: "maildir" (NULL) or "spool" (docs/design.md, "The store") */
	char *maildir; /* the maildir layout's folder */
	char *spool;   /* the spool layout's file */
	char *receipts;
	char *tls_cert, *tls_key; /* NULL: a self-signed certificate made at start */
	int no_tls;               /* offer no STARTTLS */
	int no_fsync;
	long max_sessions, max_per_ip, max_rcpts, max_errors, received_max;
	size_t max_size, max_line, header_max;
	double timeout_cmd, timeout_data, timeout_session;
	double timeout_stress; /* the command wait under stress (docs/design.md, "Sessions") */
};

void sink_config_defaults(struct sink_config *c);
void sink_config_free(struct sink_config *c);

/* Binds every listener and opens the store. key may be NULL (tokens checked for shape
 * only). */
struct sink *sink_new(struct io_loop *loop, const struct sink_config *c, const uint8_t *key,
                      size_t keylen, char *err, size_t errlen);
/* Called in the loop for each stored message with its receipt (borrowed). */
void sink_set_receipt_cb(struct sink *s, void (*cb)(const json_t *receipt, void *arg), void *arg);
/* Stops accepting, closes idle sessions with 421, lets messages in flight finish (at most
 * grace seconds), drains the store, then calls done. */
void sink_shutdown(struct sink *s, double grace, void (*done)(void *arg), void *arg);
void sink_reopen(struct sink *s);
void sink_free(struct sink *s);

struct sink_stats {
	unsigned long sessions, sessions_now, refused, messages, rejected_rcpts, stored_bytes;
};
void sink_stats(const struct sink *s, struct sink_stats *out);

#endif
