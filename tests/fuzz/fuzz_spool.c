/* The spool record header reader used by start-up recovery: never reads past len, a prefix
 * of a header needs more, and whatever parses prints back to the same bytes. */
#include <string.h>

#include "fuzz.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t m, r;
	int n = spool_header_parse(in, size, &m, &r);
	CHECK(n >= -1 && (size_t)(n > 0 ? n : 0) <= size && n <= SPOOL_HEADER_MAX);
	if (n <= 0)
		return 0;
	char h[SPOOL_HEADER_MAX];
	CHECK(spool_header(h, m, r) == (size_t)n && memcmp(h, in, (size_t)n) == 0);
	for (int i = 0; i < n; i++)
		CHECK(spool_header_parse(in, (size_t)i, &m, &r) == 0);
	return 0;
}
