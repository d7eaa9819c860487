/* The MTA behind a server, from what it says (docs/design.md "Fingerprints"): rules from
 * conf/fingerprints.conf (compiled in as the default), PCRE2 patterns over the banner, the
 * EHLO reply's extension lines and refusal texts, yielding product, version and, where the
 * text shows it, the OS or distribution. Patterns are compiled once, and every match runs
 * under match, depth and heap limits on a bounded text, so a hostile banner costs little. */
#ifndef RT_FINGERPRINT_H
#define RT_FINGERPRINT_H

#include <stddef.h>

#define FP_PRODUCT_MAX 32
#define FP_VERSION_MAX 32
#define FP_OS_MAX 48
#define FP_TEXT_MAX 2048 /* bytes of one text the patterns see */
#define FP_RULES_MAX 1000

enum fp_source { FP_BANNER, FP_EHLO, FP_ERROR, FP_SOURCES };
extern const char *const fp_source_names[FP_SOURCES]; /* "banner", "ehlo", "error" */

struct fp_result {
	char product[FP_PRODUCT_MAX]; /* "" when nothing matched */
	char version[FP_VERSION_MAX]; /* "" when not shown */
	char os[FP_OS_MAX];           /* "" when not shown */
	enum fp_source source;
	int line; /* the deciding rule's line in its file */
};

/* What the server said, as the matcher reads it. */
struct fp_texts {
	const char *banner;      /* NULL none */
	const char *const *ehlo; /* the EHLO reply's extension lines */
	int nehlo;
	const char *const *errors; /* refusal texts */
	int nerrors;
};

struct fptable;
extern const char fingerprints_default_text[];

/* Parses and compiles rules; NULL with err "ORIGIN:LINE: ..." on a bad line. */
struct fptable *fp_parse(const char *text, const char *origin, char *err, size_t errlen);
void fp_free(struct fptable *t);
int fp_count(const struct fptable *t);
/* The number of distinct products the rules name. */
int fp_products(const struct fptable *t);
/* The first rule (in file order) whose pattern matches a text of its kind decides: 1 and
 * *out filled; 0 when none matched. */
int fp_identify(const struct fptable *t, const struct fp_texts *in, struct fp_result *out);

#endif
