/* The self-contained HTML report: host rows streamed to temporary files, the page assembled
 * at the end (see html.c). */
#ifndef RT_HTML_H
#define RT_HTML_H

#include <jansson.h>
#include <stddef.h>

#include "verdict.h"

struct html;
struct html *html_new(const char *path, char *err, size_t errlen);
void html_host(struct html *h, const json_t *host);
/* runs: the run lines; summaries: the summary line of each run (null where none). */
int html_finish(struct html *h, const json_t *runs, const json_t *summaries, const char *version,
                char *err, size_t errlen);
void html_free(struct html *h);

#endif
