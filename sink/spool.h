/* The spool layout's file: an append-only sequence of records, each a header line, the
 * message's exact bytes and its receipt line, so the file alone says what was stored:
 *
 *     "RTS1 " MSGLEN " " RECEIPTLEN "\n"  MESSAGE  RECEIPT-LINE ("\n"-terminated)
 *
 * MSGLEN and RECEIPTLEN are decimal, without leading zeros. A receipt's "spool_offset" is the
 * offset of its record's header. docs/design.md, "The store", says how it is written. */
#ifndef RT_SPOOL_H
#define RT_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

#define SPOOL_HEADER_MAX 48
#define SPOOL_UNACKED_SUFFIX ".unacked"

/* Writes the header for a record into out (SPOOL_HEADER_MAX bytes); returns its length. */
size_t spool_header(char *out, size_t msglen, size_t receiptlen);

/* Parses a record header at buf. Returns the header's length with the two lengths set, 0
 * when len is too short to tell, -1 when buf does not start with a header. Pure. */
int spool_header_parse(const char *buf, size_t len, size_t *msglen, size_t *receiptlen);

struct spool_recovery {
	long rolled;      /* whole records after the last one a receipts line names */
	off_t torn_bytes; /* a record cut short at the end, moved to the .unacked file */
};

/* Start-up, with the spool open on fd and receipts.jsonl on rfd (whole lines only). A whole
 * record is durable with its receipt line, and so may have been acknowledged: the lines of
 * the records after the last one receipts.jsonl names (a kill, or a power loss, before its
 * lines reached it) are appended to it and flushed. A record cut short at the end was never
 * acknowledged: it is moved to PATH.unacked and cut off. When no receipts line names a record
 * (a new or rotated receipts file) nothing is appended. Returns the spool's new length, -1
 * with err. */
off_t spool_recover(int fd, const char *path, int rfd, struct spool_recovery *out, char *err,
                    size_t errlen);

#endif
