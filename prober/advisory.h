/* Known holes by product and version (conf/advisories.conf, compiled in as the default):
 * each entry names a product (as conf/fingerprints.conf does), the versions it concerns, an
 * identifier (a CVE, or a classic relay-test advisory), a severity, one line of text and a
 * reference. A version comes from what the server says, so a match means "by banner": a
 * distribution may have backported the fix. Pure. */
#ifndef RT_ADVISORY_H
#define RT_ADVISORY_H

#include <stddef.h>

#define ADVIS_MAX 500

struct advisory {
	char product[32];
	char versions[160]; /* ranges, comma-separated: "*", "<V", "<=V", ">V", ">=V", "=V", "A..B"
	                     */
	char id[48];
	char severity[12]; /* critical, high, medium, low, info */
	char text[240];
	char reference[200];
	int line;
};

struct advtable {
	struct advisory *a;
	int n;
};

extern const char advisories_default_text[];

/* Compares versions as the banners write them: runs of digits compare as numbers, runs of
 * letters caselessly, other characters only separate. Missing numbers count as zero ("3.0" =
 * "3"); letters after a number mean a later release ("6.6.1p1" > "6.6.1", "8.5.3FP6" >
 * "8.5.3") except the pre-release marks rc, alpha, beta, pre, dev ("2.0rc1" < "2.0").
 * <0, 0, >0 like strcmp. */
int advis_vercmp(const char *a, const char *b);
/* 1 when version is in ranges, 0 when not (an empty version is only in "*"), -1 when ranges
 * is malformed. */
int advis_in_range(const char *ranges, const char *version);

/* Parses entries: PRODUCT VERSIONS ID SEVERITY "TEXT" REFERENCE. NULL with err
 * "ORIGIN:LINE: ..." on a bad line. */
struct advtable *advis_parse(const char *text, const char *origin, char *err, size_t errlen);
void advis_free(struct advtable *t);
/* The entries for product at version, in file order, into out (at most max); their number. */
int advis_match(const struct advtable *t, const char *product, const char *version,
                const struct advisory **out, int max);

#endif
