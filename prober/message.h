/* The test message (docs/design.md "The message"): conf/message.txt, compiled in as the default.
 * Header lines, a blank line, the body; {macros} as in the catalogue plus {token}, {date},
 * {port}, {test}, {prober}, {contact}. Pure. */
#ifndef RT_MESSAGE_H
#define RT_MESSAGE_H

#include <stddef.h>

#include "buf.h"

#define MESSAGE_TMPL_MAX 8192
#define MESSAGE_MAX 16384

extern const char message_default_text[];

struct kv {
	const char *name, *value;
};

/* Checks a template: size, known macros, a header section then a blank line, header
 * lines shaped "Name: value". Errors are "ORIGIN:LINE: ...". */
int message_check(const char *tmpl, const char *origin, char *err, size_t errlen);
/* Renders tmpl with vars into out as SMTP DATA: CRLF line ends, dot-stuffed, ending with
 * "\r\n.\r\n". -1 when a macro is unknown or the result exceeds MESSAGE_MAX. */
int message_render(const char *tmpl, const struct kv *vars, int nvars, struct buf *out);
/* The names message templates may use (NULL-terminated). */
extern const char *const message_macros[];

#endif
