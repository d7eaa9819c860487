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

/* One address with its own port (ADDR:PORT, or a scanner's output line). */
struct tpair {
	struct ipaddr ip;
	uint16_t port;
};

struct targets {
	struct trange *r;
	size_t n, cap;
	uint64_t total;  /* addresses in the ranges */
	struct tpair *p; /* sorted and unique after targets_finish */
	size_t np, pcap;
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
int targets_add_pair(struct targets *t, const struct ipaddr *ip, uint16_t port);
/* "192.0.2.1:25" or "[2001:db8::1]:25": 1 with *ip and *port set; 0 when spec is not of this
 * form; -1 when it is but the port is not 1-65535. */
int targets_hostport(const char *spec, struct ipaddr *ip, unsigned *port);
/* Merges overlapping and adjacent spans (duplicates removed) and recounts. Call once after
 * adding everything. */
void targets_finish(struct targets *t);
/* The idx-th address, 0 <= idx < t->total. */
void targets_get(const struct targets *t, uint64_t idx, struct ipaddr *out);
/* After targets_finish, with the --port list: drops the pairs that the ranges already cover
 * with those ports, so nothing is scanned twice. */
void targets_prune_pairs(struct targets *t, const uint16_t *ports, int nports);
/* The addresses never scanned, whatever the targets say (like zmap's blocklist): "this
 * network" 0.0.0.0/8, multicast 224.0.0.0/4, reserved 240.0.0.0/4 with the limited broadcast,
 * IPv6 :: and multicast ff00::/8. Loopback and private ranges stay allowed. */
extern const char targets_reserved_text[];
int targets_reserved(const struct ipaddr *ip);
/* 1 when some address of t is reserved. */
int targets_any_reserved(const struct targets *t);
/* The scan's space: every address of the ranges with every port, then every pair. */
uint64_t targets_space(const struct targets *t, int nports);
/* Element e of that space, 0 <= e < targets_space(). */
void targets_at(const struct targets *t, const uint16_t *ports, int nports, uint64_t e,
                struct ipaddr *ip, uint16_t *port);
/* 1 when ip lies in one of t's ranges (for --exclude lists). After targets_finish. */
int targets_contains(const struct targets *t, const struct ipaddr *ip);
void targets_free(struct targets *t);

#define TARGETS_NAME_REFUSED (-2) /* a name callback's answer: no names here */

#endif
