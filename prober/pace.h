/* Scheduling arithmetic for the scan engine: a token bucket for --rate and per-network
 * session counts for --per-net (IPv4 /24, IPv6 /64). Pure: time is passed in. */
#ifndef RT_PACE_H
#define RT_PACE_H

#include <stddef.h>

#include "addr.h"

struct bucket {
	double tokens, rate, burst, last;
};
/* rate new connections per second; bursts of at most max(1, rate / 20). */
void bucket_init(struct bucket *b, double rate, double now);
/* Takes one token if there is one: 1, else 0. */
int bucket_take(struct bucket *b, double now);
/* Seconds until a token is available (0 when one is). */
double bucket_wait(struct bucket *b, double now);

struct netcap {
	struct net_ent **b;
	size_t nb;
	long cap;
	size_t n; /* networks with sessions */
};
int netcap_init(struct netcap *nc, long cap, size_t buckets);
int netcap_room(const struct netcap *nc, const struct ipaddr *ip);
int netcap_inc(struct netcap *nc, const struct ipaddr *ip);
void netcap_dec(struct netcap *nc, const struct ipaddr *ip);
void netcap_free(struct netcap *nc);

#endif
