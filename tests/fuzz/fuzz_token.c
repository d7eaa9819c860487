/* Token decoder and base32: anything decoded as valid re-encodes to the same text
 * (lower-cased); base32 round-trips. */
#include <ctype.h>
#include <string.h>

#include "fuzz.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[] = "fuzzing key, 16+ bytes long";
	const char *s = (const char *)data;
	struct token_fields f;
	enum token_status st = token_decode(key, sizeof(key) - 1, s, size, &f);
	if (st == TOKEN_VALID) {
		char out[TOKEN_MAX + 8];
		int n = token_encode(key, sizeof(key) - 1, &f, out);
		CHECK(n > 0 && (size_t)n == size);
		for (int i = 0; i < n; i++)
			CHECK(out[i] == tolower((unsigned char)s[i]));
	}
	token_decode(NULL, 0, s, size, &f);
	uint8_t bin[256];
	int b = base32_decode(s, size, bin, sizeof(bin));
	if (b >= 0) {
		char again[512];
		int e = base32_encode(bin, (size_t)b, again, sizeof(again));
		CHECK(e >= 0 && (size_t)e <= size);
	}
	return 0;
}
