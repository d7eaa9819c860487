/* How to close relaying, per MTA (conf/advice.conf, compiled in as the default): a paragraph
 * and a display name per product, with a required [generic] one for everything else. Pure. */
#ifndef RT_ADVICE_H
#define RT_ADVICE_H

#include <stddef.h>

#define ADVICE_MAX 100
#define ADVICE_TEXT_MAX 2048

struct advice_entry {
	char products[160]; /* " postfix " style: blank-separated, blanks around */
	char name[64];
	char text[ADVICE_TEXT_MAX];
	int line;
};

struct advice {
	struct advice_entry e[ADVICE_MAX];
	int n;
	int generic; /* the [generic] entry's index */
};

extern const char advice_default_text[];

/* NULL with err "ORIGIN:LINE: ..." on a bad file. */
struct advice *advice_parse(const char *text, const char *origin, char *err, size_t errlen);
void advice_free(struct advice *a);
/* The paragraph for product ("" or unknown: the generic one). */
const struct advice_entry *advice_for(const struct advice *a, const char *product);

#endif
