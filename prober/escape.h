/* Escaping text that came from the network for the places it goes: HTML text and attribute
 * values, CSV fields (RFC 4180). Pure: they only write to the stream given. */
#ifndef RT_ESCAPE_H
#define RT_ESCAPE_H

#include <stdio.h>

#include "addr.h"

/* HTML: & < > " ' become entities; control bytes other than tab and newline, DEL and the
 * Unicode bidirectional overrides (U+202A-U+202E, U+2066-U+2069) are shown as \xNN / \uNNNN
 * so they can neither break the markup nor reorder what the reader sees. */
void esc_html(FILE *f, const char *s);
/* One CSV field: quoted when it holds a comma, quote, CR or LF (quotes doubled); a field
 * starting with = + - @ or a tab/CR gets a leading ' so spreadsheets do not run it. */
void esc_csv(FILE *f, const char *s);
/* A fixed-width text key ("4" or "6", then 32 hex digits) that sorts addresses numerically,
 * IPv4 before IPv6. */
#define ADDR_SORT_KEY 34
void addr_sort_key(const struct ipaddr *ip, char out[ADDR_SORT_KEY]);

#endif
