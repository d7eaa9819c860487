#include "store.h"

#include <dirent.h>
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

#define NAME_MAX_LEN 128

struct store_job {
	struct store_job *next;
	char *msg;
	size_t len;
	json_t *receipt;
	store_done_cb cb;
	void *arg;
	int ok;
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

static int open_dir(const char *maildir, const char *sub)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", maildir, sub);
	if (mkdir_p(p) < 0)
		return -1;
	return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Opens for appending; a torn last line (the sink was killed while writing it, before that
 * message was acknowledged) is ended first, so the next receipt starts on a line of its own. */
static int open_receipts(const char *path)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	struct stat sb;
	char last;
	if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_size > 0 &&
	    pread(fd, &last, 1, sb.st_size - 1) == 1 && last != '\n' && write(fd, "\n", 1) != 1) {
		close(fd);
		return -1;
	}
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
	int rc = write_all(fd, j->msg, j->len);
	if (close(fd) < 0)
		rc = -1;
	return rc;
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

/* The group commit. Order: message data durable, then durable in new/, then the receipts
 * durable, then acknowledged: a receipt never names a message that is not there. */
static void write_batch(struct store *st, struct store_job *batch)
{
	size_t rlen = 0, rcap = 0;
	char *lines = NULL;
	int fail = 0;
	for (struct store_job *j = batch; j; j = j->next) {
		job_name(st, j);
		j->ok = write_tmp(st, j) == 0;
	}
	if (flush_fs(st) < 0)
		fail = 1;
	for (struct store_job *j = batch; j; j = j->next) {
		if (j->ok && (fail || renameat(st->tmpfd, j->name, st->newfd, j->name) < 0)) {
			unlinkat(st->tmpfd, j->name, 0);
			j->ok = 0;
		}
	}
	if (flush_fs(st) < 0)
		fail = 1;
	for (struct store_job *j = batch; j; j = j->next) {
		if (!j->ok)
			continue;
		char path[NAME_MAX_LEN + 8];
		snprintf(path, sizeof(path), "new/%s", j->name);
		json_object_set_new(j->receipt, "maildir_file", json_string(path));
		if (fail || append_line(&lines, &rlen, &rcap, j->receipt) < 0)
			j->ok = 0;
	}
	if (rlen && (st->rfd < 0 || write_all(st->rfd, lines, rlen) < 0 ||
	             (st->do_fsync && fdatasync(st->rfd) < 0))) {
		log_msg(LOG_ERR, 0, "event=store-failed receipts=%s error=\"%s\"",
		        st->receipts_path, strerror(errno));
		for (struct store_job *j = batch; j; j = j->next)
			j->ok = 0;
	}
	free(lines);
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
			int fd = open_receipts(st->receipts_path);
			if (fd >= 0) {
				close(st->rfd);
				st->rfd = fd;
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
	    (st->newfd = open_dir(maildir, "new")) < 0 || open_dir(maildir, "cur") < 0) {
		snprintf(err, errlen, "--maildir %s: %s", maildir, strerror(errno));
		goto fail;
	}
	if ((st->rfd = open_receipts(receipts)) < 0) {
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

int store_recover(const char *maildir)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/tmp", maildir);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}
