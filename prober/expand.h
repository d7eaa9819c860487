/* A test's expansion: token, MAIL/RCPT/HELO arguments and the test message. Pure. */
#ifndef RT_EXPAND_H
#define RT_EXPAND_H

#include <stddef.h>

#include "buf.h"
#include "client.h"

/* What expansion needs besides the test: the client's parameters, our local address (the
 * sink literal when no sink address is set) and the server's name ("" when it has none). */
struct expand {
	const struct client_params *p;
	const struct ipaddr *local;
	const char *target_host;
};

/* Test number test's token (token[TOKEN_MAX + 1], "" when it cannot be made). */
void expand_token(const struct expand *x, int test, char *token);
/* Writes test number test's token (as expand_token) and its MAIL, RCPT and HELO arguments
 * ("" when a field expands to nothing or has none). The same x gives the same arguments: they
 * are computed again, not kept (outcome.h). */
void expand_test(const struct expand *x, int test, struct test_args *a);
/* Appends the test's message, dot-stuffed and ended by CRLF.CRLF; -1 when the template does
 * not render. */
int expand_message(const struct expand *x, int test, struct buf *out);

#endif
