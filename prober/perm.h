/* A deterministic pseudo-random permutation of 0..n-1 (a keyed Feistel network with
 * cycle-walking), so consecutive targets are far apart and no /24 is hit in a burst.
 * Shard k of m (1-based) takes positions k-1, k-1+m, k-1+2m, ...: shards are disjoint and
 * together cover everything. O(1) memory whatever n is. Pure. */
#ifndef RT_PERM_H
#define RT_PERM_H

#include <stdint.h>

struct perm {
	uint64_t n;
	int half; /* bits in each Feistel half */
	uint64_t key[4];
};

void perm_init(struct perm *p, uint64_t n, uint64_t seed);
/* The element at position i (0 <= i < n). */
uint64_t perm_at(const struct perm *p, uint64_t i);

struct shard {
	uint64_t next, step;
};
/* k in 1..m. */
void shard_init(struct shard *s, uint64_t k, uint64_t m);
/* Next position of this shard below n; 0 when done. */
int shard_next(struct shard *s, uint64_t n, uint64_t *pos);
/* How many positions below n shard k of m holds. */
uint64_t shard_size(uint64_t n, uint64_t k, uint64_t m);

#endif
