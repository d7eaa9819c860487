/* Shared by store.c (the writer thread, the queue, receipts.jsonl) and the two layouts that
 * hold the messages: store_maildir.c and store_spool.c. */
#ifndef RT_STORE_INT_H
#define RT_STORE_INT_H

#include <pthread.h>
#include <sys/types.h>

#include "store.h"

#define STORE_NAME_MAX 128

struct store_job {
	struct store_job *next;
	char *msg;
	size_t len;
	json_t *receipt;
	size_t lineoff, linelen; /* the receipt line, once serialised into store.lines */
	store_done_cb cb;
	void *arg;
	int ok;
	int where; /* the layout's: what a refusal has to take back */
	char name[STORE_NAME_MAX];
};

struct store;

/* A layout: opens its storage, reconciles it with the receipts (once they hold whole lines
 * only), writes a batch, closes. write_batch leaves ok set on exactly the jobs whose message
 * and receipt line are durable. */
struct store_layout {
	const char *name;
	int (*open)(struct store *st, const struct sink_config *c, char *err, size_t errlen);
	int (*recover)(struct store *st, const struct sink_config *c, char *err, size_t errlen);
	void (*write_batch)(struct store *st, struct store_job *batch);
	void (*close)(struct store *st);
};

extern const struct store_layout store_maildir, store_spool;

struct store {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store_job *queued, **queued_tail;   /* the loop's, until its iteration ends */
	struct io_prepare *handoff;                /* ...when they go to pending at once */
	struct store_job *pending, **pending_tail; /* loop -> writer */
	struct store_job *done, **done_tail;       /* writer -> loop */
	int stop, reopen;
	struct io_async *wake;
	int do_fsync;
	const struct store_layout *layout;
	char *receipts_path;
	int rfd;
	int rtorn;   /* a failed append could not be cut back: write nothing until it is */
	off_t rgood; /* the receipts file's length after its last whole line */
	char *lines; /* the writer's: a batch's receipt lines, serialised one after another */
	size_t lines_len, lines_cap;
	/* maildir */
	char *maildir;
	int tmpfd, newfd;
	unsigned long seq;
	char host[64];
	/* spool */
	char *spool_path;
	int spfd;
	int sptorn;   /* as rtorn, for the spool */
	off_t spgood; /* the spool's length after its last acknowledged record */
};

/* Refuses the job (451) and logs why, once: its first failure is the one that counts. */
void store_job_fail(struct store_job *j, const char *stage, int err);
void store_batch_fail(struct store_job *batch, const char *stage, int err);
/* Serialises j's receipt line at the end of st->lines (j->lineoff, j->linelen); -1 when out
 * of memory. */
int store_line(struct store *st, struct store_job *j);
/* Appends the receipt lines of the batch's jobs still ok, all or none; flushed when sync. */
int store_append_receipts(struct store *st, struct store_job *batch, int sync);
/* Appends n bytes of whole receipt lines, all or none (a failure cuts the file back); flushed
 * when sync. */
int store_write_receipts(struct store *st, const char *lines, size_t n, int sync);
int store_write_all(int fd, const char *p, size_t n);

#endif
