/* What relaytrap knows about mail servers beyond the scan: the fingerprint rules
 * (conf/fingerprints.conf), the advisories (conf/advisories.conf) and the fix advice
 * (conf/advice.conf), loaded once at start-up from
 * a file or the compiled-in defaults, and applied to every host line, live or in --report, from the
 * texts the line itself holds: one function, so a live scan and a later --report with the same
 * files cannot disagree. */
#ifndef RT_KNOWLEDGE_H
#define RT_KNOWLEDGE_H

#include <jansson.h>
#include <stddef.h>

#include "advice.h"
#include "advisory.h"
#include "fingerprint.h"

#define KNOWLEDGE_ADVISORIES_MAX 16 /* per host */

/* Each part parsed from its file or compiled-in default (setup.c); NULL: not loaded. */
struct knowledge {
	struct fptable *fp;
	struct advtable *adv;
	struct advice *advice;
};

void knowledge_free(struct knowledge *k);
/* The set host lines are annotated with (the program's, set once at start-up; NULL none). */
void knowledge_use(const struct knowledge *k);
const struct knowledge *knowledge_active(void);

/* Sets the host line's "fingerprint" from its banner, "ehlo" and refused tests' reply texts:
 * null when the server never spoke, else {product, version, os, source} with null members
 * when unknown; and "advisories", the entries for that product and version: [{id,
 * severity, text, reference, by}], by naming the text the version came from ("banner").
 * k NULL: nothing is known. */
void knowledge_annotate(const struct knowledge *k, json_t *host);
/* "postfix 3.7.11 (Debian/GNU)" from a host line's fingerprint (also the string form of
 * results files before the object); "" when unknown. */
void knowledge_label(const json_t *host, char *out, size_t outlen);
/* The fingerprint's product, "" when unknown. */
const char *knowledge_product(const json_t *host);
/* How to close relaying on this host's MTA, for a host that needs it (verdict open,
 * open-anonymous or accepted, or the flag bounces); NULL for any other host or when k holds
 * no advice. */
const struct advice_entry *knowledge_advice(const struct knowledge *k, const json_t *host);

#endif
