/* Durable storage off the event loop: a writer thread takes every pending message at once
 * (group commit), writes each to Maildir tmp/, flushes the batch, renames into new/, appends
 * the receipt lines, flushes again, and only then reports completion to the loop. */
#ifndef RT_STORE_H
#define RT_STORE_H

#include <jansson.h>
#include <stddef.h>

struct io_loop;
struct store;
struct store_job;

/* Runs in the loop thread. ok is 0 on failure. receipt is the stored receipt (borrowed;
 * "maildir_file" filled in). */
typedef void (*store_done_cb)(void *arg, int ok, const json_t *receipt);

struct store *store_open(struct io_loop *loop, const char *maildir, const char *receipts,
                         int do_fsync, char *err, size_t errlen);
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
