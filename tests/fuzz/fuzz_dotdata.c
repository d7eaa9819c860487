/* DATA framing and dot-unstuffing: the first byte picks a split point; feeding the rest in two
 * chunks (or one byte at a time) must give the same output, flags and end as feeding it
 * whole. */
#include <string.h>

#include "buf.h"
#include "dotdata.h"
#include "fuzz.h"

#define LIMIT 4096

static size_t run(const char *in, size_t n, size_t split, struct buf *out, int *flags, int *done)
{
	struct dotdata d;
	dotdata_init(&d, LIMIT);
	size_t used = 0;
	*done = 0;
	while (used < n && !*done) {
		size_t chunk = split ? split : n;
		if (chunk > n - used)
			chunk = n - used;
		size_t c = dotdata_feed(&d, in + used, chunk, out, done);
		CHECK(c <= chunk);
		if (c == 0 && !*done)
			break;
		used += c;
	}
	*flags = d.flags;
	CHECK(buf_len(out) <= LIMIT);
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t split = data[0] % 17;
	const char *in = (const char *)data + 1;
	size_t n = size - 1;
	struct buf a, b;
	buf_init(&a, LIMIT);
	buf_init(&b, LIMIT);
	int fa, fb, da, db;
	size_t ua = run(in, n, 0, &a, &fa, &da);
	size_t ub = run(in, n, split ? split : 1, &b, &fb, &db);
	CHECK(da == db);
	CHECK(!da || ua == ub);
	CHECK(buf_len(&a) == buf_len(&b));
	CHECK(memcmp(buf_head(&a), buf_head(&b), buf_len(&a)) == 0);
	CHECK(fa == fb);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
