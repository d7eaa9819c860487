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
	long unacked;     /* whole records after the last one a receipts line names */
	off_t torn_bytes; /* a record cut short at the end */
	off_t moved;      /* bytes moved to the .unacked file (both of the above) */
};

/* Start-up: finds where the whole, receipted records of the spool open on fd end, moves what
 * follows (never acknowledged: a kill between the spool and receipts.jsonl, or mid-write) to
 * PATH.unacked and cuts the spool there. When no receipts line names a record (a new or
 * rotated receipts file) whole records are kept: keeping one too many is safe. Returns the
 * spool's new length, -1 with err. */
off_t spool_recover(int fd, const char *path, const char *receipts, struct spool_recovery *out,
                    char *err, size_t errlen);

#endif
