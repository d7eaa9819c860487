/* The writer thread, its queue and receipts.jsonl; the layouts hold the messages
 * (store_maildir.c, store_spool.c). See docs/design.md, "The store". */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "jsonx.h"
#include "log.h"
#include "store_int.h"

static const struct store_layout *const layouts[] = {&store_maildir, &store_spool, NULL};

static const struct store_layout *layout_find(const char *name)
{
	for (int i = 0; layouts[i]; i++)
		if (!strcmp(layouts[i]->name, name ? name : "maildir"))
			return layouts[i];
	return NULL;
}

int store_layout_known(const char *name)
{
	return layout_find(name) != NULL;
}

const char *store_where(const json_t *receipt, char *buf, size_t n)
{
	const json_t *off = json_object_get(receipt, "spool_offset");
	if (json_is_integer(off))
		snprintf(buf, n, "spool:%" JSON_INTEGER_FORMAT, json_integer_value(off));
	else
		snprintf(buf, n, "%s",
		         json_string_value(json_object_get(receipt, "maildir_file")) ?: "?");
	return buf;
}

/* The length of fd's content up to and including its last newline. */
static off_t last_line_end(int fd, off_t size)
{
	char chunk[4096];
	while (size > 0) {
		size_t n = size < (off_t)sizeof(chunk) ? (size_t)size : sizeof(chunk);
		if (pread(fd, chunk, n, size - (off_t)n) != (ssize_t)n)
			return -1;
		for (size_t i = n; i > 0; i--)
			if (chunk[i - 1] == '\n')
				return size - (off_t)n + (off_t)i;
		size -= (off_t)n;
	}
	return 0;
}

/* Opens for appending. A torn last line (the sink was killed while writing it, before that
 * message was acknowledged) is cut off, so the file holds whole lines only: cutting needs no
 * free space, ending the line would. */
static int open_receipts(const char *path, off_t *good)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	struct stat sb;
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0 || (*good = last_line_end(fd, sb.st_size)) < 0 ||
	    (*good < sb.st_size && ftruncate(fd, *good) < 0)) {
		close(fd);
		return -1;
	}
	if (*good < sb.st_size)
		log_msg(LOG_WARN, 0,
		        "event=receipts-cut receipts=%s bytes=%lld reason=\"torn last line\"", path,
		        (long long)(sb.st_size - *good));
	return fd;
}

int store_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void store_job_fail(struct store_job *j, const char *stage, int err)
{
	if (!j->ok)
		return;
	j->ok = 0;
	log_msg(LOG_ERR, (unsigned long)json_integer_value(json_object_get(j->receipt, "session")),
	        "event=store-failed stage=%s file=%s error=\"%s\"", stage, j->name, strerror(err));
}

void store_batch_fail(struct store_job *batch, const char *stage, int err)
{
	for (struct store_job *j = batch; j; j = j->next)
		store_job_fail(j, stage, err);
}

int store_line(struct store *st, struct store_job *j)
{
	size_t at = st->lines_len;
	if (jsonx_line_append(j->receipt, &st->lines, &st->lines_len, &st->lines_cap) < 0)
		return -1;
	j->lineoff = at;
	j->linelen = st->lines_len - at;
	return 0;
}

/* Cuts the receipts file back to its last whole line. Until that succeeds nothing more is
 * appended: a line written after a torn one would be glued to it and unreadable. */
static int receipts_cut(struct store *st)
{
	if (ftruncate(st->rfd, st->rgood) == 0) {
		st->rtorn = 0;
		return 0;
	}
	if (!st->rtorn)
		log_msg(LOG_ERR, 0, "event=receipts-torn receipts=%s length=%lld error=\"%s\"",
		        st->receipts_path, (long long)st->rgood, strerror(errno));
	st->rtorn = 1;
	return -1;
}

int store_append_receipts(struct store *st, struct store_job *batch, int sync)
{
	st->lines_len = 0;
	for (struct store_job *j = batch; j; j = j->next)
		if (j->ok && store_line(st, j) < 0) {
			errno = ENOMEM;
			return -1;
		}
	return st->lines_len ? store_write_receipts(st, st->lines, st->lines_len, sync) : 0;
}

/* Like store_write_all, counting what was written before a failure. */
static int write_counted(int fd, const char *p, size_t n, size_t *done)
{
	*done = 0;
	while (*done < n) {
		ssize_t w = write(fd, p + *done, n - *done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		*done += (size_t)w;
	}
	return 0;
}

int store_write_receipts(struct store *st, const char *lines, size_t n, int sync)
{
	size_t done;
	if (st->rfd < 0 || (st->rtorn && receipts_cut(st) < 0)) {
		errno = st->rfd < 0 ? EBADF : EIO;
		return -1;
	}
	if (write_counted(st->rfd, lines, n, &done) < 0 || (sync && fdatasync(st->rfd) < 0)) {
		int err = errno;
		struct stat sb;
		/* the lines began where the file now ends less what went out of them: right even
		 * if the file was cut meanwhile (copytruncate), and no fstat on the good path */
		if (fstat(st->rfd, &sb) == 0)
			st->rgood = sb.st_size > (off_t)done ? sb.st_size - (off_t)done : 0;
		receipts_cut(st);
		errno = err;
		return -1;
	}
	st->rgood += (off_t)n;
	return 0;
}

static void reopen_receipts(struct store *st)
{
	off_t good;
	int fd = open_receipts(st->receipts_path, &good);
	if (fd >= 0) {
		if (st->do_fsync) /* the spool layout leaves its lines to the page cache */
			fdatasync(st->rfd);
		close(st->rfd);
		st->rfd = fd;
		st->rgood = good;
		st->rtorn = 0;
	}
}

static void *store_thread(void *arg)
{
	struct store *st = arg;
	pthread_mutex_lock(&st->mu);
	for (;;) {
		while (!st->pending && !st->stop)
			pthread_cond_wait(&st->cv, &st->mu);
		if (!st->pending && st->stop)
			break;
		struct store_job *batch = st->pending;
		st->pending = NULL;
		st->pending_tail = &st->pending;
		int reopen = st->reopen;
		st->reopen = 0;
		pthread_mutex_unlock(&st->mu);

		if (reopen)
			reopen_receipts(st);
		st->layout->write_batch(st, batch);
		for (struct store_job *j = batch; j; j = j->next) {
			free(j->msg);
			j->msg = NULL;
		}

		pthread_mutex_lock(&st->mu);
		*st->done_tail = batch;
		while (*st->done_tail)
			st->done_tail = &(*st->done_tail)->next;
		pthread_mutex_unlock(&st->mu);
		io_async_send(st->wake);
		pthread_mutex_lock(&st->mu);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* In the loop thread: run the callbacks of finished jobs. */
static void store_on_done(void *arg)
{
	struct store *st = arg;
	pthread_mutex_lock(&st->mu);
	struct store_job *list = st->done;
	st->done = NULL;
	st->done_tail = &st->done;
	pthread_mutex_unlock(&st->mu);
	while (list) {
		struct store_job *j = list;
		list = j->next;
		if (j->cb)
			j->cb(j->arg, j->ok, j->receipt);
		json_decref(j->receipt);
		free(j);
	}
}

/* In the loop thread, once per iteration: everything its callbacks submitted goes to the
 * writer as one group, with one wake-up, instead of the writer being woken (and the loop
 * preempted) for each message. */
static void store_handoff(void *arg)
{
	struct store *st = arg;
	if (!st->queued)
		return;
	pthread_mutex_lock(&st->mu);
	*st->pending_tail = st->queued;
	st->pending_tail = st->queued_tail;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	st->queued = NULL;
	st->queued_tail = &st->queued;
}

static void store_free(struct store *st)
{
	if (st->layout)
		st->layout->close(st);
	if (st->rfd >= 0)
		close(st->rfd);
	io_async_free(st->wake);
	io_prepare_free(st->handoff);
	free(st->lines);
	free(st->receipts_path);
	free(st);
}

struct store *store_open(struct io_loop *loop, const struct sink_config *c, char *err,
                         size_t errlen)
{
	struct store *st = calloc(1, sizeof(*st));
	if (!st || !(st->receipts_path = strdup(c->receipts))) {
		free(st);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->tmpfd = st->newfd = st->rfd = st->spfd = -1;
	st->do_fsync = !c->no_fsync;
	st->queued_tail = &st->queued;
	st->pending_tail = &st->pending;
	st->done_tail = &st->done;
	const struct store_layout *l = layout_find(c->store);
	if (!l) {
		snprintf(err, errlen, "--store %s: not maildir or spool", c->store);
		goto fail;
	}
	/* the layout first: it makes the folders (the embedded sink's receipts are in one); its
	 * reconciliation once a torn last receipts line is cut */
	if (l->open(st, c, err, errlen) < 0) {
		l->close(st);
		goto fail;
	}
	st->layout = l;
	if ((st->rfd = open_receipts(c->receipts, &st->rgood)) < 0) {
		snprintf(err, errlen, "--receipts %s: %s", c->receipts, strerror(errno));
		goto fail;
	}
	if (l->recover(st, c, err, errlen) < 0)
		goto fail;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	st->wake = io_async_new(loop, store_on_done, st);
	st->handoff = io_prepare_new(loop, store_handoff, st);
	if (!st->wake || !st->handoff || pthread_create(&st->thread, NULL, store_thread, st) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		goto fail;
	}
	return st;
fail:
	store_free(st);
	return NULL;
}

struct store_job *store_submit(struct store *st, char *msg, size_t len, json_t *receipt,
                               store_done_cb cb, void *arg)
{
	struct store_job *j = calloc(1, sizeof(*j));
	if (!j) {
		free(msg);
		json_decref(receipt);
		return NULL;
	}
	j->msg = msg;
	j->len = len;
	j->receipt = receipt;
	j->cb = cb;
	j->arg = arg;
	*st->queued_tail = j;
	st->queued_tail = &j->next;
	return j;
}

void store_cancel(struct store_job *job)
{
	job->cb = NULL;
}

void store_reopen(struct store *st)
{
	pthread_mutex_lock(&st->mu);
	st->reopen = 1;
	pthread_mutex_unlock(&st->mu);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	store_handoff(st);
	pthread_mutex_lock(&st->mu);
	st->stop = 1;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->thread, NULL);
	store_on_done(st);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	store_free(st);
}
