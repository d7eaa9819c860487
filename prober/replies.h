/* What a server's replies say beyond their codes. Pure. */
#ifndef RT_REPLIES_H
#define RT_REPLIES_H

#include <stddef.h>

#include "addr.h"
#include "outcome.h"

/* A reply's outcome class: 2xx/3xx accepted, 530 and authentication texts auth-required, other
 * 4xx deferred, other 5xx rejected. */
enum outcome reply_outcome(int code, const char *text);
/* Refused as bad syntax (500-504, 555, or enhanced status 5.1.3, 5.1.7, 5.5.2, 5.5.4): a
 * test whose last reply is such says nothing about the relay policy (prober/verdict.c). */
int reply_syntax_only(int code, const char *text);
/* The first "[a.b.c.d]"/"[IPv6:...]"/"(a.b.c.d)" in text; 0 when found. */
int reported_addr(const char *text, struct ipaddr *out);
/* Copies the first word of text into out when it looks like a host name: letters, digits,
 * '-', '_' and dots, at least one dot, and not an IPv4 address (last label not all digits). */
int host_name_of(const char *text, char *out, size_t outlen);

#endif
