/* SMTP reply parser: replies parsed one after another from the whole input agree with the
 * same input fed one more byte at a time (NEED until the reply is whole). */
#include <string.h>

#include "fuzz.h"
#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t off = 0;
	for (int n = 0; n < 64 && off < size; n++) {
		struct smtp_reply r;
		enum smtp_reply_status st = smtp_reply_parse(p + off, size - off, 512, 16, &r);
		if (st == REPLY_NEED)
			break;
		if (st != REPLY_OK)
			break;
		CHECK(r.bytes > 0 && r.bytes <= size - off);
		CHECK(r.code >= 100 && r.code <= 999);
		CHECK(r.nlines >= 1 && r.nlines <= 16);
		for (int i = 0; i < r.nlines; i++)
			CHECK(r.lines[i].text >= p + off &&
			      r.lines[i].text + r.lines[i].len <= p + off + r.bytes);
		/* every proper prefix is incomplete */
		struct smtp_reply q;
		if (r.bytes > 1) {
			enum smtp_reply_status s2 =
			    smtp_reply_parse(p + off, r.bytes - 1, 512, 16, &q);
			CHECK(s2 == REPLY_NEED || s2 == REPLY_BAD_SYNTAX || s2 == REPLY_MIXED_CODE);
		}
		off += r.bytes;
	}
	return 0;
}
