/* SMTP DATA framing (RFC 5321 4.5.2): dot-unstuffing and end of data only on CRLF.CRLF.
 * Bare LF, bare CR and "<LF>.<CR><LF>"-style sequences are recorded (smuggling evidence) and
 * never taken as the end. Pure and incremental: feed any split of the bytes. */
#ifndef RT_DOTDATA_H
#define RT_DOTDATA_H

#include <stddef.h>

#include "buf.h"

#define DD_BARE_LF 0x01
#define DD_BARE_CR 0x02
#define DD_SMUGGLE 0x04   /* a dot line ended by something other than CRLF, or after a bare LF */
#define DD_LONG_LINE 0x08 /* a line over 1000 octets with its CRLF */
#define DD_NUL 0x10
#define DD_OVERSIZE 0x20 /* more than the size limit; the rest was counted, not kept */

struct dotdata {
	int state;
	int flags;
	size_t line;  /* octets in the current line so far */
	size_t size;  /* unstuffed octets seen, kept or not */
	size_t limit; /* octets kept at most */
};

void dotdata_init(struct dotdata *d, size_t limit);
/* Consumes bytes from in, appending unstuffed bytes to out (which must allow limit bytes).
 * Returns the number of bytes consumed; *done is set when the terminating CRLF.CRLF was
 * consumed (bytes after it are left for the command parser). */
size_t dotdata_feed(struct dotdata *d, const char *in, size_t n, struct buf *out, int *done);
/* Names of the flags set, for receipts: writes up to max names. */
int dotdata_flag_names(int flags, const char **names, int max);

#endif
