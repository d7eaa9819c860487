/* Received: header parsing (RFC 5321 4.4) with PCRE2: one pattern per MTA family, then a
 * clause-by-clause generic fallback. Input is an unfolded header value. */
#ifndef RT_RECEIVED_H
#define RT_RECEIVED_H

#include <stddef.h>

#include "addr.h"

#define RCV_FIELD 256

struct received {
	const char *family;        /* "postfix", "exim", ..., "generic"; NULL when unparsable */
	char helo[RCV_FIELD];      /* the name the client announced */
	char from_rdns[RCV_FIELD]; /* the name the receiving MTA looked up */
	char from_addr[64];        /* the client's address as written */
	char by[RCV_FIELD];
	char proto[RCV_FIELD];
	char id[RCV_FIELD];
	char for_addr[RCV_FIELD];
	char date[RCV_FIELD];
};

struct received_parser;

/* 0 when RELAYTRAP_NO_JIT=1 asks for the PCRE2 interpreter only (valgrind runs). */
int received_jit_wanted(void);

struct received_parser *received_parser_new(char *err, size_t errlen);
void received_parser_free(struct received_parser *rp);
/* 0 when a pattern matched (out->family set), -1 when nothing could be made of it. */
int received_parse(struct received_parser *rp, const char *value, size_t len, struct received *out);
/* Every IPv4 and IPv6 address in text, deduplicated, at most max. Returns the count. */
int received_ips(struct received_parser *rp, const char *text, size_t len, struct ipaddr *out,
                 int max);

#endif
