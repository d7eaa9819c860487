#include "pace.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void bucket_init(struct bucket *b, double rate, double now)
{
	b->rate = rate;
	b->burst = rate / 20 > 1 ? rate / 20 : 1;
	b->tokens = 1;
	b->last = now;
}

static void refill(struct bucket *b, double now)
{
	if (now > b->last) {
		b->tokens += (now - b->last) * b->rate;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	b->last = now;
}

int bucket_take(struct bucket *b, double now)
{
	refill(b, now);
	if (b->tokens < 1 - 1e-9) /* 0.1 s at 10/s is one token, rounding aside */
		return 0;
	b->tokens -= 1;
	return 1;
}

double bucket_wait(struct bucket *b, double now)
{
	refill(b, now);
	return b->tokens >= 1 - 1e-9 ? 0 : (1 - b->tokens) / b->rate;
}

struct net_ent {
	struct net_ent *next;
	uint8_t key[9]; /* family byte + /24 or /64 */
	long n;
};

static void net_key(const struct ipaddr *ip, uint8_t key[9])
{
	memset(key, 0, 9);
	key[0] = (uint8_t)(ip->family == AF_INET ? 4 : 6);
	memcpy(key + 1, ip->a, ip->family == AF_INET ? 3 : 8);
}

int netcap_init(struct netcap *nc, long cap, size_t buckets)
{
	memset(nc, 0, sizeof(*nc));
	nc->cap = cap;
	nc->nb = buckets ? buckets : 1;
	nc->b = calloc(nc->nb, sizeof(*nc->b));
	return nc->b ? 0 : -1;
}

static struct net_ent **find(const struct netcap *nc, const struct ipaddr *ip)
{
	uint8_t key[9];
	net_key(ip, key);
	size_t prefix = ip->family == AF_INET ? 3 : 8; /* /24 or /64 */
	struct net_ent **pp = &nc->b[ipaddr_hash(ip, prefix, 0) % nc->nb];
	while (*pp && memcmp((*pp)->key, key, 9) != 0)
		pp = &(*pp)->next;
	return pp;
}

int netcap_room(const struct netcap *nc, const struct ipaddr *ip)
{
	struct net_ent *e = *find(nc, ip);
	return nc->cap <= 0 || !e || e->n < nc->cap;
}

int netcap_inc(struct netcap *nc, const struct ipaddr *ip)
{
	struct net_ent **pp = find(nc, ip);
	if (!*pp) {
		struct net_ent *e = calloc(1, sizeof(*e));
		if (!e)
			return -1;
		net_key(ip, e->key);
		*pp = e;
		nc->n++;
	}
	(*pp)->n++;
	return 0;
}

void netcap_dec(struct netcap *nc, const struct ipaddr *ip)
{
	struct net_ent **pp = find(nc, ip), *e = *pp;
	if (e && --e->n <= 0) {
		*pp = e->next;
		free(e);
		nc->n--;
	}
}

void netcap_free(struct netcap *nc)
{
	for (size_t i = 0; i < nc->nb; i++)
		for (struct net_ent *e = nc->b[i], *nx; e; e = nx) {
			nx = e->next;
			free(e);
		}
	free(nc->b);
	memset(nc, 0, sizeof(*nc));
}
