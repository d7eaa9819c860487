/* What each verdict and flag means, and what the server's administrator should do about it:
 * the one text the HTML report's legend shows (docs/relaytrap.1 "VERDICTS" says the same in
 * prose). */
#ifndef RT_LEGEND_H
#define RT_LEGEND_H

#include "verdict.h"

struct legend {
	const char *name;
	const char *meaning;
	const char *todo; /* for the administrator of a server with this verdict or flag */
};

extern const struct legend verdict_legend[V_COUNT];
extern const struct legend flag_legend[]; /* ends with a NULL name */

#endif
