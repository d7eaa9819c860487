/* The line and field reader of relaytrap's data files in conf/ (fingerprints, advisories):
 * '#' comments, blank lines skipped, fields split on blanks, a field in "double quotes" kept
 * as written up to the next quote (no escapes: PCRE2 patterns keep their backslashes). Pure. */
#ifndef RT_CFGLINE_H
#define RT_CFGLINE_H

#include <stddef.h>

#define CFGLINE_MAX 2048

struct cfgline {
	const char *next; /* the rest of the text */
	int lineno;       /* of the line in line[] */
	char line[CFGLINE_MAX];
	char *pos; /* where the next field starts */
};

void cfgline_init(struct cfgline *c, const char *text);
/* The next line that holds something: 1; 0 at the end; -1 when it is longer than
 * CFGLINE_MAX (lineno names it). */
int cfgline_next(struct cfgline *c);
/* The line's next field into out: 1; 0 when there is none; -1 when it is too long for out or
 * its quote is not closed. */
int cfgline_field(struct cfgline *c, char *out, size_t outlen);

#endif
