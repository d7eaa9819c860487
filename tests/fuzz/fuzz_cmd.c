/* SMTP command parser, path parser and ESMTP parameter lookup, on each line of the input. */
#include <string.h>

#include "fuzz.h"
#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct smtp_cmd c;
		smtp_cmd_parse(p, n, &c);
		CHECK(c.arg >= p && c.arg + c.arglen <= p + n);
		static const char *const kw[] = {"FROM:", "TO:"};
		for (int k = 0; k < 2; k++) {
			struct smtp_path path;
			const char *why = NULL;
			if (smtp_path_parse(c.arg, c.arglen, kw[k], &path, &why) == 0) {
				CHECK(path.addr >= p && path.addr + path.addrlen <= p + n);
				CHECK(path.params >= p && path.params + path.paramslen <= p + n);
				size_t vl;
				const char *v = smtp_param(path.params, path.paramslen, "SIZE", &vl);
				CHECK(!v || (v >= path.params && v + vl <= path.params + path.paramslen));
			} else {
				CHECK(why != NULL);
			}
		}
		p += n + 1;
	}
	return 0;
}
