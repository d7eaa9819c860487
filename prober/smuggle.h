/* SMTP smuggling tests (CVE-2023-51764/51765/51766, SEC Consult's end-of-data research): a
 * message whose data ends, for a lenient receiver, at something other than CRLF.CRLF, and goes
 * on with a second MAIL, RCPT and DATA of its own to another token at the sink. Sent only to
 * hosts that relayed a test, every recipient at the sink. Pure. */
#ifndef RT_SMUGGLE_H
#define RT_SMUGGLE_H

#include <stddef.h>

#include "buf.h"

struct expand;

struct smuggle_variant {
	const char *name; /* the test is "smuggle-NAME", its smuggled twin "smuggle-NAME-inner" */
	const char *eod;  /* the end-of-data a lenient receiver takes */
	size_t len;
};

#define SMUGGLE_VARIANTS 9
extern const struct smuggle_variant smuggle_variants[SMUGGLE_VARIANTS];

/* The outer test's message without its CRLF.CRLF, the variant's end-of-data, the inner
 * test's MAIL, RCPT and DATA, and the inner test's message ended by CRLF.CRLF (the end for
 * a strict receiver); outer and inner are test numbers. -1 when a template does not
 * render. */
int smuggle_message(const struct expand *x, int outer, int inner, int variant, struct buf *out);

#endif
