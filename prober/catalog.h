/* The relay-test catalogue (docs/design.md "Relay tests"): parsed from conf/tests.conf or the
 * compiled-in default, selected with --tests, expanded per target with macros. Pure. */
#ifndef RT_CATALOG_H
#define RT_CATALOG_H

#include <stddef.h>

#include "outcome.h"

#define CATALOG_MAX 255 /* a test number is one byte of the token */
#define CATALOG_FIELD 256

struct rtest {
	char name[48];
	char mail[CATALOG_FIELD]; /* MAIL FROM argument template */
	char rcpt[CATALOG_FIELD]; /* RCPT TO argument template */
	char helo[CATALOG_FIELD]; /* "" = the scan's --helo */
	enum via via;
	int variant; /* VIA_SMUGGLE, VIA_SMUGGLED: the index in smuggle_variants */
};

struct catalog {
	struct rtest t[CATALOG_MAX];
	int n;
};

extern const char catalog_default_text[];

/* Parses catalogue text; errors are "ORIGIN:LINE: ...". */
int catalog_parse(struct catalog *c, const char *text, const char *origin, char *err,
                  size_t errlen);
/* Keeps only the named tests ("a,b,c"), in catalogue order; unknown names are errors. */
int catalog_select(struct catalog *c, const char *names, char *err, size_t errlen);
int catalog_find(const struct catalog *c, const char *name);
/* --starttls both: appends, for every test without a path, its twin "NAME-starttls" with
 * via=starttls. -1 (err) when the catalogue would overflow or a name is taken. */
int catalog_add_starttls_twins(struct catalog *c, char *err, size_t errlen);
/* Appends the smuggling tests: per end-of-data variant, "smuggle-NAME" and the message it
 * smuggles, "smuggle-NAME-inner". -1 (err) when the catalogue would overflow. */
int catalog_add_smuggling(struct catalog *c, char *err, size_t errlen);
/* --proxy-spoof: puts "proxy-localhost" first, the plain test on a connection that starts
 * with a PROXY protocol v1 header naming 127.0.0.1 as the client (first, so that a server
 * that wants the header from everyone is still tested). -1 (err) when the catalogue is full. */
int catalog_add_proxy(struct catalog *c, char *err, size_t errlen);

struct macros {
	const char *user, *sink, *sink_literal, *target_literal, *target_host, *target_domain,
	    *sender, *helo;
};

/* Expands {macros} in tmpl into out. -1 when out is too small or a macro is unknown. */
int catalog_expand(const char *tmpl, const struct macros *m, char *out, size_t outlen);
/* "mx1.example.net" -> "example.net"; a single label or a literal stays as it is. */
const char *catalog_domain_of(const char *host);

#endif
