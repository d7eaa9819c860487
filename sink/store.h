/* Durable storage off the event loop: a writer thread takes every pending message at once
 * (group commit), hands the batch to the layout (a Maildir, or an append-only spool file),
 * appends the receipt lines, flushes, and only then reports completion to the loop. */
#ifndef RT_STORE_H
#define RT_STORE_H

#include <jansson.h>
#include <stddef.h>

#include "sink.h"

struct io_loop;
struct store;
struct store_job;

/* Runs in the loop thread. ok is 0 on failure. receipt is the stored receipt (borrowed;
 * "maildir_file" or "spool_offset" filled in). */
typedef void (*store_done_cb)(void *arg, int ok, const json_t *receipt);

/* Opens the layout c->store names (maildir when NULL) and receipts, reconciles what a kill
 * left unacknowledged, starts the writer. */
struct store *store_open(struct io_loop *loop, const struct sink_config *c, char *err,
                         size_t errlen);
/* 1 when name is a layout (maildir, spool); for option checking. */
int store_layout_known(const char *name);
/* Where a stored receipt's message is, for logs and the 250 reply: "new/NAME" or
 * "spool:OFFSET". */
const char *store_where(const json_t *receipt, char *buf, size_t n);
/* Takes ownership of msg (malloc'd) and receipt. cb may be NULL. Returns the job so the
 * submitter can cancel the callback, or NULL on failure (ownership still taken). */
struct store_job *store_submit(struct store *st, char *msg, size_t len, json_t *receipt,
                               store_done_cb cb, void *arg);
/* The job is still written; its callback just won't run. */
void store_cancel(struct store_job *job);
/* Reopens the receipts file at the next batch (SIGHUP, log rotation). */
void store_reopen(struct store *st);
/* Writes out everything submitted, runs the callbacks, stops the thread. */
void store_close(struct store *st);

#endif
