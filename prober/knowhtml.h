/* The HTML of what knowledge.c adds to a host line: fix advice under the host's row, advisory
 * badges beside the fingerprint,
 * and the section "outdated or vulnerable software, by banner" (rows collected per host,
 * written at the end). Every text passes through esc_html. */
#ifndef RT_KNOWHTML_H
#define RT_KNOWHTML_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

extern const char knowhtml_css[];

/* For a host that needs it (knowledge_advice), a row with how to close relaying on its MTA. */
void knowhtml_advice(FILE *f, const json_t *host);
/* Badges for the host's advisories, worst first as listed. */
void knowhtml_badges(FILE *f, const json_t *host);
/* The section's rows for this host (one per advisory); how many. */
int knowhtml_rows(FILE *f, const json_t *host);
/* The section, around rows already written (n of them); nothing when n is 0. -1 on a read
 * error. */
int knowhtml_section(FILE *page, FILE *rows, uint64_t n);

#endif
