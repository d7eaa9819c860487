#include "perm.h"

#define ROUNDS 4

static uint64_t mix64(uint64_t x)
{
	/* splitmix64 finaliser: a good avalanche for a round function */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void perm_init(struct perm *p, uint64_t n, uint64_t seed)
{
	int bits = 2;
	while (bits < 64 && ((uint64_t)1 << bits) < n)
		bits++;
	if (bits & 1)
		bits++;
	p->n = n;
	p->half = bits / 2;
	for (int i = 0; i < ROUNDS; i++)
		p->key[i] = mix64(seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1));
}

static uint64_t feistel(const struct perm *p, uint64_t x)
{
	uint64_t mask = ((uint64_t)1 << p->half) - 1;
	uint64_t l = x >> p->half, r = x & mask;
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t t = l ^ (mix64(r ^ p->key[i]) & mask);
		l = r;
		r = t;
	}
	return l << p->half | r;
}

uint64_t perm_at(const struct perm *p, uint64_t i)
{
	if (p->n <= 1)
		return 0;
	/* The Feistel network permutes [0, 4^half); walking the cycle until we land below n
	 * keeps it a permutation of [0, n). Expected steps < 4. */
	uint64_t x = feistel(p, i);
	while (x >= p->n)
		x = feistel(p, x);
	return x;
}

void shard_init(struct shard *s, uint64_t k, uint64_t m)
{
	s->next = k - 1;
	s->step = m;
}

int shard_next(struct shard *s, uint64_t n, uint64_t *pos)
{
	if (s->next >= n)
		return 0;
	*pos = s->next;
	s->next += s->step;
	return 1;
}

uint64_t shard_size(uint64_t n, uint64_t k, uint64_t m)
{
	return n > k - 1 ? (n - (k - 1) + m - 1) / m : 0;
}
