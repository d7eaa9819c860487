/* The spool layout: every message and its receipt line appended to one file, a whole group
 * in one writev and one fdatasync, then the group's lines appended to receipts.jsonl, not
 * flushed (start-up restores them from the spool): one flush per group whatever its size.
 * See spool.h and docs/design.md, "The store". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "jsonx.h"
#include "log.h"
#include "spool.h"
#include "store_int.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

static int writev_all(int fd, struct iovec *iov, size_t n)
{
	while (n > 0) {
		int k = n < IOV_MAX ? (int)n : IOV_MAX, done = 0;
		ssize_t w = writev(fd, iov, k);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--, done++)
			w -= (ssize_t)iov->iov_len;
		if (n > 0 && w == 0 && done < k) {
			errno = EIO; /* nothing written of a non-empty buffer: never loop on it */
			return -1;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Cuts the spool back to its last acknowledged record; until that succeeds nothing more is
 * appended (a record after a torn one could not be found by the reader). */
static int spool_cut(struct store *st)
{
	/* flushed: a refused group must not come back as records after a power loss */
	if (ftruncate(st->spfd, st->spgood) == 0 && (!st->do_fsync || fdatasync(st->spfd) == 0)) {
		st->sptorn = 0;
		return 0;
	}
	if (!st->sptorn)
		log_msg(LOG_ERR, 0, "event=spool-torn spool=%s length=%lld error=\"%s\"",
		        st->spool_path, (long long)st->spgood, strerror(errno));
	st->sptorn = 1;
	return -1;
}

/* Numbers the batch's records from spgood, serialises each receipt once into st->lines (the
 * same lines then go to receipts.jsonl in one write) and points three iovecs at header,
 * message and line. Returns the spool's length after the batch, -1 when out of memory. */
static off_t frame_batch(struct store *st, struct store_job *batch, struct iovec *iov,
                         char (*hdr)[SPOOL_HEADER_MAX])
{
	off_t off = st->spgood;
	size_t i = 0;
	st->lines_len = 0;
	for (struct store_job *j = batch; j; j = j->next, i++) {
		j->ok = 1;
		snprintf(j->name, sizeof(j->name), "spool:%lld", (long long)off);
		json_object_set_new(j->receipt, "spool_offset", json_integer((json_int_t)off));
		if (store_line(st, j) < 0)
			return -1;
		size_t hl = spool_header(hdr[i], j->len, j->linelen);
		iov[3 * i] = (struct iovec){hdr[i], hl};
		iov[3 * i + 1] = (struct iovec){j->msg, j->len};
		off += (off_t)(hl + j->len + j->linelen);
	}
	i = 0; /* st->lines is final now: it may have moved while growing */
	for (struct store_job *j = batch; j; j = j->next, i++)
		iov[3 * i + 2] = (struct iovec){st->lines + j->lineoff, j->linelen};
	return off;
}

/* The group commit: the records (each message with its receipt line) durable in the spool,
 * then the lines appended to receipts.jsonl, then acknowledged. A failure refuses the whole
 * group and cuts the spool back, so the spool and the receipts hold exactly what got 250. */
static void spool_write_batch(struct store *st, struct store_job *batch)
{
	size_t n = 0;
	for (struct store_job *j = batch; j; j = j->next)
		n++;
	struct iovec *iov = calloc(3 * n, sizeof(*iov));
	char(*hdr)[SPOOL_HEADER_MAX] = calloc(n, sizeof(*hdr));
	off_t end = iov && hdr ? frame_batch(st, batch, iov, hdr) : -1;
	if (end < 0) {
		store_batch_fail(batch, "spool", ENOMEM);
	} else if (st->sptorn && spool_cut(st) < 0) {
		store_batch_fail(batch, "spool", EIO);
	} else if (writev_all(st->spfd, iov, 3 * n) < 0 ||
	           (st->do_fsync && fdatasync(st->spfd) < 0)) {
		store_batch_fail(batch, "spool", errno);
		spool_cut(st);
	} else if (store_write_receipts(st, st->lines, st->lines_len, 0) < 0) {
		store_batch_fail(batch, "receipts", errno);
		spool_cut(st);
	} else {
		st->spgood = end;
	}
	free(iov);
	free(hdr);
}

static int spool_open(struct store *st, const struct sink_config *c, char *err, size_t errlen)
{
	const char *path = c->spool ? c->spool : "messages.spool";
	if (!(st->spool_path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((st->spfd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0) {
		snprintf(err, errlen, "--spool %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int spool_recover_at_open(struct store *st, const struct sink_config *c, char *err,
                                 size_t errlen)
{
	struct spool_recovery rec;
	(void)c;
	if ((st->spgood = spool_recover(st->spfd, st->spool_path, st->rfd, &rec, err, errlen)) < 0)
		return -1;
	st->rgood = lseek(st->rfd, 0, SEEK_END);
	if (rec.rolled || rec.torn_bytes)
		log_msg(LOG_WARN, 0,
		        "event=reconcile rolled_forward=%ld torn_bytes=%lld "
		        "moved_to=%s" SPOOL_UNACKED_SUFFIX,
		        rec.rolled, (long long)rec.torn_bytes, st->spool_path);
	return 0;
}

static void spool_close(struct store *st)
{
	if (st->spfd >= 0)
		close(st->spfd);
	free(st->spool_path);
}

const struct store_layout store_spool = {"spool", spool_open, spool_recover_at_open,
                                         spool_write_batch, spool_close};
