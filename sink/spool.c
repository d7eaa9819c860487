/* See spool.h and docs/design.md, "The store". */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "RTS1 "
#define MAGIC_LEN 5
#define DIGITS_MAX 19 /* fits size_t and off_t */
#define TAIL_WINDOW 65536

size_t spool_header(char *out, size_t msglen, size_t receiptlen)
{
	return (size_t)snprintf(out, SPOOL_HEADER_MAX, MAGIC "%zu %zu\n", msglen, receiptlen);
}

/* A decimal number ending at the byte end. 0 need more, -1 malformed, else its length. */
static int number(const char *p, size_t len, char end, size_t *out)
{
	size_t i = 0, v = 0;
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		if (i == DIGITS_MAX || (i == 1 && p[0] == '0'))
			return -1;
		v = v * 10 + (size_t)(p[i] - '0');
	}
	if (i == len)
		return i > DIGITS_MAX ? -1 : 0;
	if (i == 0 || p[i] != end)
		return -1;
	*out = v;
	return (int)i + 1;
}

int spool_header_parse(const char *buf, size_t len, size_t *msglen, size_t *receiptlen)
{
	size_t m = len < MAGIC_LEN ? len : MAGIC_LEN;
	if (memcmp(buf, MAGIC, m))
		return -1;
	if (len == m)
		return 0;
	int a = number(buf + MAGIC_LEN, len - MAGIC_LEN, ' ', msglen);
	if (a <= 0)
		return a;
	size_t at = MAGIC_LEN + (size_t)a;
	int b = number(buf + at, len - at, '\n', receiptlen);
	return b <= 0 ? b : (int)(at + (size_t)b);
}

/* 1 with *end set when a whole record starts at off (its receipt line ends in '\n' within
 * size); 0 when what is there is torn, garbage or nothing. -1 on a read error. */
static int record_at(int fd, off_t off, off_t size, off_t *end)
{
	char h[SPOOL_HEADER_MAX], nl;
	size_t msglen, rlen;
	ssize_t n = pread(fd, h, sizeof(h), off);
	if (n < 0)
		return -1;
	int hl = spool_header_parse(h, (size_t)n, &msglen, &rlen);
	if (hl <= 0 || rlen == 0 || msglen > (size_t)(size - off) ||
	    rlen > (size_t)(size - off) - msglen ||
	    (size_t)hl > (size_t)(size - off) - msglen - rlen)
		return 0;
	*end = off + hl + (off_t)msglen + (off_t)rlen;
	if (pread(fd, &nl, 1, *end - 1) != 1)
		return -1;
	return nl == '\n';
}

/* The "spool_offset" of the last receipts line that has one, -1 for none, -2 on error. The
 * key is matched as text: in compact JSON '"spool_offset":' cannot occur inside a string, and
 * the lines are appended in spool order, so the last occurrence is the newest. */
static off_t last_receipted(int rfd)
{
	static const char key[] = "\"spool_offset\":";
	struct stat sb;
	if (fstat(rfd, &sb) < 0)
		return -2;
	off_t found = -1;
	for (off_t w = TAIL_WINDOW; found == -1; w *= 2) {
		off_t from = w < sb.st_size ? sb.st_size - w : 0;
		size_t n = (size_t)(sb.st_size - from);
		char *buf = malloc(n + 1);
		if (!buf || pread(rfd, buf, n, from) != (ssize_t)n) {
			free(buf);
			return -2;
		}
		buf[n] = '\0';
		for (char *p = buf; (p = memmem(p, n - (size_t)(p - buf), key, sizeof(key) - 1));
		     p++)
			if (memchr(p, '\n', n - (size_t)(p - buf))) /* on a whole line */
				found = strtoll(p + sizeof(key) - 1, NULL, 10);
		free(buf);
		if (from == 0)
			break;
	}
	return found;
}

/* Appends the receipt line of each whole record in [from, to) to rfd, durably. */
static int roll_forward(int fd, off_t from, off_t to, int rfd, long *rolled)
{
	char h[SPOOL_HEADER_MAX];
	size_t msglen, rlen;
	while (from < to) {
		ssize_t n = pread(fd, h, sizeof(h), from);
		int hl = n > 0 ? spool_header_parse(h, (size_t)n, &msglen, &rlen) : -1;
		char *line = hl > 0 ? malloc(rlen) : NULL;
		off_t at = from + hl + (off_t)msglen;
		if (!line || pread(fd, line, rlen, at) != (ssize_t)rlen ||
		    write(rfd, line, rlen) != (ssize_t)rlen) {
			free(line);
			errno = errno ? errno : EIO;
			return -1;
		}
		free(line);
		from = at + (off_t)rlen;
		(*rolled)++;
	}
	return *rolled ? fdatasync(rfd) : 0;
}

/* Appends [from, size) of fd to path, durably. */
static int copy_tail(int fd, off_t from, off_t size, const char *path)
{
	int out = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	char chunk[65536];
	if (out < 0)
		return -1;
	while (from < size) {
		size_t want =
		    size - from < (off_t)sizeof(chunk) ? (size_t)(size - from) : sizeof(chunk);
		ssize_t n = pread(fd, chunk, want, from);
		if (n <= 0 || write(out, chunk, (size_t)n) != n) {
			if (n == 0)
				errno = EIO;
			close(out);
			return -1;
		}
		from += n;
	}
	int rc = fsync(out);
	return close(out) < 0 ? -1 : rc;
}

off_t spool_recover(int fd, const char *path, int rfd, struct spool_recovery *out, char *err,
                    size_t errlen)
{
	struct stat sb;
	off_t pos = 0, end, last = last_receipted(rfd);
	int anchored = 0, rc;
	memset(out, 0, sizeof(*out));
	if (last == -2) {
		snprintf(err, errlen, "receipts: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0)
		goto fail;
	if (last >= 0 && last < sb.st_size && (rc = record_at(fd, last, sb.st_size, &end)) != 0) {
		if (rc < 0)
			goto fail;
		pos = end;
		anchored = 1;
	}
	off_t p = pos;
	while ((rc = record_at(fd, p, sb.st_size, &end)) == 1)
		p = end;
	if (rc < 0)
		goto fail;
	if (anchored && roll_forward(fd, pos, p, rfd, &out->rolled) < 0) {
		snprintf(err, errlen, "receipts: %s", strerror(errno));
		return -1;
	}
	out->torn_bytes = sb.st_size - p;
	if (p == sb.st_size)
		return p;
	char aside[4096];
	snprintf(aside, sizeof(aside), "%s" SPOOL_UNACKED_SUFFIX, path);
	if (copy_tail(fd, p, sb.st_size, aside) < 0) {
		snprintf(err, errlen, "%s: %s", aside, strerror(errno));
		return -1;
	}
	if (ftruncate(fd, p) < 0 || fdatasync(fd) < 0)
		goto fail;
	return p;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}
