/* --notices: one RFC 5322 message file per open or open-anonymous host, for an abuse desk to
 * review and send to the server's owner (relaytrap sends nothing). The text comes from a
 * template (conf/notice.txt, compiled in as the default, --notice-template) with {macros};
 * every value that came from the network, or from a results file, is made safe where it
 * goes: in a header field, printable ASCII on one line, folded; in the body, each line
 * printable ASCII with other bytes as \xNN, indented where it quotes the server. */
#ifndef RT_NOTICE_H
#define RT_NOTICE_H

#include <jansson.h>
#include <stddef.h>

#include "advice.h"

#define NOTICE_TMPL_MAX (64 * 1024)

extern const char notice_default_text[];

struct notice_ctx {
	const char *contact;            /* --contact */
	const char *prober_host;        /* this host's name, for the Message-ID and From */
	const struct advice_entry *fix; /* how to close relaying on this host's MTA */
	double now;                     /* Unix time of writing */
};

/* A template must have a header section, a blank line and a body; macros must be known, and
 * the multi-line ones ({accepted}, {evidence}, {fix}, {advisories}) only in the body. -1 with
 * err "ORIGIN:LINE: ..." otherwise. */
int notice_check(const char *tmpl, const char *origin, char *err, size_t errlen);
/* The message for host (a host line); malloc'd, NULL when out of memory. */
char *notice_render(const char *tmpl, const json_t *host, const struct notice_ctx *ctx);
/* The file's name for host: "relay-ADDR-PORT.eml" (':' of IPv6 as '_'). */
void notice_filename(const json_t *host, char *out, size_t outlen);

#endif
