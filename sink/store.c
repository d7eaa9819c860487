#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "io.h"
#include "jsonx.h"
#include "log.h"
#include "recover.h"

#define NAME_MAX_LEN 128

struct store_job {
	struct store_job *next;
	char *msg;
	size_t len;
	json_t *receipt;
	store_done_cb cb;
	void *arg;
	int ok;
	enum { IN_NOWHERE, IN_TMP, IN_NEW } where; /* what a refusal has to take back */
	char name[NAME_MAX_LEN];
};

struct store {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store_job *pending, **pending_tail; /* loop -> writer */
	struct store_job *done, **done_tail;       /* writer -> loop */
	int stop, reopen;
	struct io_async *wake;
	int do_fsync;
	char *maildir, *receipts_path;
	int tmpfd, newfd, rfd;
	int rtorn;   /* a failed append could not be cut back: write nothing until it is */
	off_t rgood; /* the receipts file's length after its last whole line */
	unsigned long seq;
	char host[64];
};

static int mkdir_p(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return mkdir(tmp, 0750) < 0 && errno != EEXIST ? -1 : 0;
}

static int make_dir(const char *maildir, const char *sub)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", maildir, sub);
	return mkdir_p(p);
}

static int open_dir(const char *maildir, const char *sub)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", maildir, sub);
	return make_dir(maildir, sub) < 0 ? -1 : open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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

static int write_all(int fd, const char *p, size_t n)
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

/* Maildir name: time.MusecPpidQseq.host (unique within this host). */
static void job_name(struct store *st, struct store_job *j)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	snprintf(j->name, sizeof(j->name), "%ld.M%06ldP%dQ%lu.%s", (long)tv.tv_sec,
	         (long)tv.tv_usec, (int)getpid(), ++st->seq, st->host);
}

static int write_tmp(struct store *st, struct store_job *j)
{
	int fd = openat(st->tmpfd, j->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	j->where = IN_TMP;
	int rc = write_all(fd, j->msg, j->len), err = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	errno = err;
	return rc;
}

/* Refuses the job (451) and logs why, once: its first failure is the one that counts. */
static void job_fail(struct store_job *j, const char *stage, int err)
{
	if (!j->ok)
		return;
	j->ok = 0;
	log_msg(LOG_ERR, (unsigned long)json_integer_value(json_object_get(j->receipt, "session")),
	        "event=store-failed stage=%s file=%s error=\"%s\"", stage, j->name, strerror(err));
}

static void batch_fail(struct store_job *batch, const char *stage, int err)
{
	for (struct store_job *j = batch; j; j = j->next)
		job_fail(j, stage, err);
}

/* Takes a refused message out of tmp/ or new/: what was not acknowledged is not kept. */
static void job_rollback(struct store *st, struct store_job *j)
{
	int dirfd = j->where == IN_NEW ? st->newfd : st->tmpfd;
	if (j->where != IN_NOWHERE && unlinkat(dirfd, j->name, 0) < 0)
		log_msg(LOG_ERR, 0, "event=rollback-failed file=%s/%s error=\"%s\"",
		        j->where == IN_NEW ? "new" : "tmp", j->name, strerror(errno));
	j->where = IN_NOWHERE;
}

static int flush_fs(struct store *st)
{
	return st->do_fsync ? syncfs(st->newfd) : 0;
}

static int append_line(char **buf, size_t *len, size_t *cap, const json_t *obj)
{
	size_t n;
	char *line = jsonx_line(obj, &n);
	if (!line)
		return -1;
	if (*len + n > *cap) {
		size_t ncap = (*len + n) * 2;
		char *b = realloc(*buf, ncap);
		if (!b) {
			free(line);
			return -1;
		}
		*buf = b;
		*cap = ncap;
	}
	memcpy(*buf + *len, line, n);
	*len += n;
	free(line);
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

/* Appends the lines of the batch's stored messages, durably, all or none. */
static int append_receipts(struct store *st, struct store_job *batch)
{
	size_t rlen = 0, rcap = 0;
	char *lines = NULL;
	int rc = 0;
	for (struct store_job *j = batch; j && rc == 0; j = j->next)
		if (j->ok)
			rc = append_line(&lines, &rlen, &rcap, j->receipt);
	if (rc < 0 || !rlen) {
		free(lines);
		errno = ENOMEM;
		return rc;
	}
	if (st->rfd < 0 || (st->rtorn && receipts_cut(st) < 0)) {
		free(lines);
		errno = st->rfd < 0 ? EBADF : EIO;
		return -1;
	}
	struct stat sb; /* whole lines up to its end, even if cut meanwhile (copytruncate) */
	if (fstat(st->rfd, &sb) == 0)
		st->rgood = sb.st_size;
	if (write_all(st->rfd, lines, rlen) < 0 || (st->do_fsync && fdatasync(st->rfd) < 0)) {
		int err = errno;
		receipts_cut(st);
		free(lines);
		errno = err;
		return -1;
	}
	st->rgood += (off_t)rlen;
	free(lines);
	return 0;
}

/* The group commit. Order: message data durable, then durable in new/, then the receipts
 * durable, then acknowledged: a receipt never names a message that is not there. A message
 * refused anywhere on the way is taken back out, so what is left is exactly what got 250. */
static void write_batch(struct store *st, struct store_job *batch)
{
	for (struct store_job *j = batch; j; j = j->next) {
		job_name(st, j);
		j->ok = 1;
		if (write_tmp(st, j) < 0)
			job_fail(j, "message", errno);
	}
	if (flush_fs(st) < 0)
		batch_fail(batch, "flush", errno);
	for (struct store_job *j = batch; j; j = j->next) {
		if (!j->ok)
			continue;
		if (renameat(st->tmpfd, j->name, st->newfd, j->name) < 0)
			job_fail(j, "rename", errno);
		else
			j->where = IN_NEW;
	}
	if (flush_fs(st) < 0)
		batch_fail(batch, "flush", errno);
	for (struct store_job *j = batch; j; j = j->next) {
		char path[NAME_MAX_LEN + 8];
		snprintf(path, sizeof(path), "new/%s", j->name);
		json_object_set_new(j->receipt, "maildir_file", json_string(path));
	}
	if (append_receipts(st, batch) < 0)
		batch_fail(batch, "receipts", errno);
	for (struct store_job *j = batch; j; j = j->next)
		if (!j->ok)
			job_rollback(st, j);
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

		if (reopen) {
			off_t good;
			int fd = open_receipts(st->receipts_path, &good);
			if (fd >= 0) {
				close(st->rfd);
				st->rfd = fd;
				st->rgood = good;
				st->rtorn = 0;
			}
		}
		write_batch(st, batch);
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

struct store *store_open(struct io_loop *loop, const char *maildir, const char *receipts,
                         int do_fsync, char *err, size_t errlen)
{
	struct store *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->tmpfd = st->newfd = st->rfd = -1;
	st->do_fsync = do_fsync;
	st->maildir = strdup(maildir);
	st->receipts_path = strdup(receipts);
	st->pending_tail = &st->pending;
	st->done_tail = &st->done;
	gethostname(st->host, sizeof(st->host) - 1);
	for (char *p = st->host; *p; p++)
		if (*p == '/' || *p == ':')
			*p = '_'; /* Maildir reserves these */
	if ((st->tmpfd = open_dir(maildir, "tmp")) < 0 ||
	    (st->newfd = open_dir(maildir, "new")) < 0 || make_dir(maildir, "cur") < 0 ||
	    make_dir(maildir, RECOVER_DIR) < 0) {
		snprintf(err, errlen, "--maildir %s: %s", maildir, strerror(errno));
		goto fail;
	}
	if ((st->rfd = open_receipts(receipts, &st->rgood)) < 0) {
		snprintf(err, errlen, "--receipts %s: %s", receipts, strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	st->wake = io_async_new(loop, store_on_done, st);
	if (!st->wake || pthread_create(&st->thread, NULL, store_thread, st) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		goto fail;
	}
	return st;
fail:
	if (st->tmpfd >= 0)
		close(st->tmpfd);
	if (st->newfd >= 0)
		close(st->newfd);
	if (st->rfd >= 0)
		close(st->rfd);
	io_async_free(st->wake);
	free(st->maildir);
	free(st->receipts_path);
	free(st);
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
	pthread_mutex_lock(&st->mu);
	*st->pending_tail = j;
	st->pending_tail = &j->next;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
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
	pthread_mutex_lock(&st->mu);
	st->stop = 1;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->thread, NULL);
	store_on_done(st);
	io_async_free(st->wake);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	close(st->tmpfd);
	close(st->newfd);
	close(st->rfd);
	free(st->maildir);
	free(st->receipts_path);
	free(st);
}
