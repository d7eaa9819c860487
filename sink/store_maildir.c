/* The Maildir layout: one file per message, written to tmp/, flushed, renamed into new/,
 * flushed again; readable with mutt. See docs/design.md, "The store". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "recover.h"
#include "store_int.h"

enum { IN_NOWHERE, IN_TMP, IN_NEW };

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
	int rc = store_write_all(fd, j->msg, j->len), err = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	errno = err;
	return rc;
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

/* The group commit. Order: message data durable, then durable in new/, then the receipts
 * durable, then acknowledged: a receipt never names a message that is not there. A message
 * refused anywhere on the way is taken back out, so what is left is exactly what got 250. */
static void maildir_write_batch(struct store *st, struct store_job *batch)
{
	for (struct store_job *j = batch; j; j = j->next) {
		job_name(st, j);
		j->ok = 1;
		if (write_tmp(st, j) < 0)
			store_job_fail(j, "message", errno);
	}
	if (flush_fs(st) < 0)
		store_batch_fail(batch, "flush", errno);
	for (struct store_job *j = batch; j; j = j->next) {
		if (!j->ok)
			continue;
		if (renameat(st->tmpfd, j->name, st->newfd, j->name) < 0)
			store_job_fail(j, "rename", errno);
		else
			j->where = IN_NEW;
	}
	if (flush_fs(st) < 0)
		store_batch_fail(batch, "flush", errno);
	for (struct store_job *j = batch; j; j = j->next) {
		char path[STORE_NAME_MAX + 8];
		snprintf(path, sizeof(path), "new/%s", j->name);
		json_object_set_new(j->receipt, "maildir_file", json_string(path));
	}
	if (store_append_receipts(st, batch, st->do_fsync) < 0)
		store_batch_fail(batch, "receipts", errno);
	for (struct store_job *j = batch; j; j = j->next)
		if (!j->ok)
			job_rollback(st, j);
}

/* What a kill left in new/ or tmp/ without a receipt was never acknowledged. A failure is
 * logged, not fatal: the store works, and the next start retries. */
static int maildir_recover(struct store *st, const struct sink_config *c, char *err, size_t errlen)
{
	(void)st;
	(void)err;
	(void)errlen;
	struct recover_counts rc;
	char why[600];
	if (recover_unacked(c->maildir, c->receipts, &rc, why, sizeof(why)) < 0)
		log_msg(LOG_ERR, 0, "event=reconcile-failed error=\"%s\"", why);
	if (rc.from_new + rc.from_tmp)
		log_msg(LOG_WARN, 0, "event=reconcile unacked=%ld new=%ld tmp=%ld moved_to=%s/%s",
		        rc.from_new + rc.from_tmp, rc.from_new, rc.from_tmp, c->maildir,
		        RECOVER_DIR);
	return 0;
}

static int maildir_open(struct store *st, const struct sink_config *c, char *err, size_t errlen)
{
	if (!(st->maildir = strdup(c->maildir))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	gethostname(st->host, sizeof(st->host) - 1);
	for (char *p = st->host; *p; p++)
		if (*p == '/' || *p == ':')
			*p = '_'; /* Maildir reserves these */
	if ((st->tmpfd = open_dir(c->maildir, "tmp")) < 0 ||
	    (st->newfd = open_dir(c->maildir, "new")) < 0 || make_dir(c->maildir, "cur") < 0 ||
	    make_dir(c->maildir, RECOVER_DIR) < 0) {
		snprintf(err, errlen, "--maildir %s: %s", c->maildir, strerror(errno));
		return -1;
	}
	return 0;
}

static void maildir_close(struct store *st)
{
	if (st->tmpfd >= 0)
		close(st->tmpfd);
	if (st->newfd >= 0)
		close(st->newfd);
	free(st->maildir);
}

const struct store_layout store_maildir = {"maildir", maildir_open, maildir_recover,
                                           maildir_write_batch, maildir_close};
