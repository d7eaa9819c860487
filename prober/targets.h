/* Target address space: parsed specs kept as ranges, never expanded (a /8 costs what a /32
 * costs). Addresses are numbered 0..count-1 across all ranges; perm.h turns that numbering
 * into a pseudo-random order. Pure: no DNS (names are resolved by the caller and added as
 * addresses). */
#ifndef RT_TARGETS_H
#define RT_TARGETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"

/* One contiguous range, or a per-octet product ("10.1-3.*.5"). */
struct trange {
	int kind;         /* TR_SPAN or TR_OCTETS */
	struct ipaddr lo; /* TR_SPAN: first address */
	uint64_t count;
	uint8_t olo[4], ohi[4]; /* TR_OCTETS: per-octet bounds */
};
#define TR_SPAN 1
#define TR_OCTETS 2

struct targets {
	struct trange *r;
	size_t n, cap;
	uint64_t total;
};

enum tspec_kind {
	TSPEC_RANGE, /* address, CIDR, a-b range or octet ranges: added */
	TSPEC_NAME,  /* a host name: resolve it, then targets_add_addr */
	TSPEC_MX,    /* "mx:DOMAIN": resolve the MX hosts */
	TSPEC_FILE,  /* "@FILE" */
	TSPEC_STDIN, /* "-" */
};

#define TARGETS_V6_MAX_BITS 32 /* an IPv6 prefix may hold at most 2^32 addresses */

/* Parses one spec; ranges are added to t. For names *kind says what to resolve. */
int targets_parse(struct targets *t, const char *spec, enum tspec_kind *kind, char *err,
                  size_t errlen);
int targets_add_addr(struct targets *t, const struct ipaddr *ip);
/* Merges overlapping and adjacent spans (duplicates removed) and recounts. Call once after
 * adding everything. */
void targets_finish(struct targets *t);
/* The idx-th address, 0 <= idx < t->total. */
void targets_get(const struct targets *t, uint64_t idx, struct ipaddr *out);
/* 1 when ip lies in one of t's ranges (for --exclude lists). After targets_finish. */
int targets_contains(const struct targets *t, const struct ipaddr *ip);
void targets_free(struct targets *t);

/* A file of specs: one per line, '#' comments; "masscan"/"nmap" list lines ("open tcp 25
 * 192.0.2.1 ...", "Host: 192.0.2.1 ()") are understood. Names found are passed to cb, which
 * returns 0, -1 (too many names) or TARGETS_NAME_REFUSED. Errors are "FILE:LINE: ...". */
#define TARGETS_NAME_REFUSED (-2)
int targets_parse_file(struct targets *t, const char *path, FILE *f,
                       int (*name_cb)(const char *name, enum tspec_kind kind, void *arg), void *arg,
                       char *err, size_t errlen);

#endif
