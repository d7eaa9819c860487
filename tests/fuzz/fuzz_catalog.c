/* tests.conf (catalog_parse, then every test's fields expanded) and the message template
 * (message_check, then message_render): the two files a user hands the prober. */
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "fuzz.h"
#include "message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	static struct catalog cat;
	char err[512];
	if (catalog_parse(&cat, s, "fuzz", err, sizeof(err)) == 0) {
		CHECK(cat.n >= 0 && cat.n <= CATALOG_MAX);
		struct macros m = {"rt-abc", "sink.example", "[192.0.2.1]", "[198.51.100.7]",
		                   "mx.example.org", "example.org", "relaytest", "probe.example"};
		for (int i = 0; i < cat.n; i++) {
			char out[CATALOG_FIELD * 4];
			if (catalog_expand(cat.t[i].rcpt, &m, out, sizeof(out)) == 0)
				CHECK(strlen(out) < sizeof(out));
			catalog_expand(cat.t[i].mail, &m, out, sizeof(out));
		}
		catalog_select(&cat, "plain,percent", err, sizeof(err));
	}
	if (message_check(s, "fuzz", err, sizeof(err)) == 0) {
		struct kv vars[] = {{"user", "rt-abc"}, {"token", "abc"}, {"sink", "s.example"},
		                    {"contact", "a\r\nb"}, {"test", "plain"}};
		struct buf out;
		buf_init(&out, 1 << 20);
		if (message_render(s, vars, 5, &out) == 0) {
			CHECK(buf_len(&out) >= 5);
			CHECK(memcmp(buf_head(&out) + buf_len(&out) - 5, "\r\n.\r\n", 5) == 0);
		}
		buf_free(&out);
	}
	free(s);
	return 0;
}
