/* Reports from host lines (docs/design.md "Output"): the HTML page (html.c), the CSV table (RFC
 * 4180, one row per host) and the plain-text summary a person at a terminal reads. Fed one line at
 * a time, during a scan or from --report, so memory stays bounded by the hosts in the lists of the
 * text summary (at most REPORT_LIST_MAX per verdict). */
#ifndef RT_REPORT_H
#define RT_REPORT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "verdict.h"

#define REPORT_LIST_MAX 1000
#define REPORT_RUNS_MAX 256

struct report_opts {
	const char *html, *csv; /* NULL: not wanted */
	FILE *text;             /* NULL: no text summary */
	const char *version;
	/* a --no-sink scan's results file: its verdicts wait for --report --receipts */
	const char *pending;
	/* --notices: a message file per open relay in this directory (NULL: none), from
	 * notice_tmpl, signed with contact, message ids at prober_host */
	const char *notices, *notice_tmpl, *contact, *prober_host;
};

struct report;
struct report *report_new(const struct report_opts *o, char *err, size_t errlen);
void report_run(struct report *r, const json_t *run);
/* The summary line of the run last given to report_run. */
void report_run_summary(struct report *r, const json_t *summary);
void report_host(struct report *r, const json_t *host);
/* The scan was interrupted with done of total targets final: the text summary says so
 * instead of a verdict on the whole. */
void report_interrupted(struct report *r, uint64_t done, uint64_t total, const char *output);
/* Writes the HTML, closes the CSV, prints the text summary. */
int report_finish(struct report *r, char *err, size_t errlen);
void report_free(struct report *r);
/* Hosts seen per verdict. */
const uint64_t *report_counts(const struct report *r);

/* The CSV row and the text-summary line of one host (exported for tests). */
void report_csv_header(FILE *f);
void report_csv_row(FILE *f, const json_t *host);
void report_text_line(FILE *f, const json_t *host);

#endif
