/* The scan engine: walks the target space in permuted order, runs one client session per
 * (address, port) under the concurrency, rate and per-network caps, correlates what the
 * embedded sink receives, and writes each host's line the moment it is final. */
#ifndef RT_SCAN_H
#define RT_SCAN_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "catalog.h"
#include "options.h"
#include "results.h"
#include "targets.h"
#include "verdict.h"

struct io_loop;
struct sink;

struct scan_input {
	const struct targets *targets;
	const struct targets *exclude; /* may be NULL */
	const struct doneset *done;    /* may be NULL */
	const struct catalog *cat;
	const char *message_tmpl;
	const uint8_t *key;
	size_t keylen;
	uint32_t scan_id;
	FILE *out; /* results.jsonl, already holding the run line */
	/* Called with each host line once it is written (reports); may be NULL. */
	void (*on_host)(const json_t *host, void *arg);
	void *on_host_arg;
};

struct scan_stats {
	uint64_t total, launched, final, excluded, reserved, skipped, unfinished;
	uint64_t unresolved; /* target names without an address (counted in final, as errors) */
	uint64_t counts[V_COUNT];
	uint64_t late_deliveries, foreign_messages, backoffs;
	uint64_t parked; /* connects closed because their network was full (--per-net) */
	double started, seconds;
	int interrupted;
	int pending; /* --no-sink: the verdicts wait for --report --receipts */
};

struct client_params;
/* What one host's client session gets from the scan (also for --dry-run). */
void scan_client_params(const struct rt_options *o, const struct scan_input *in,
                        const struct ipaddr *ip, uint16_t port, const char *date,
                        struct client_params *p);

struct scan;
/* o is borrowed for the scan's life. */
struct scan *scan_new(struct io_loop *loop, const struct rt_options *o, const struct scan_input *in,
                      char *err, size_t errlen);
/* Correlates one receipt of the embedded sink (or of a standalone sink's file). */
void scan_receipt(const json_t *receipt, void *scan);
/* Starts; done(arg) runs in the loop once every host is final (or after scan_interrupt). */
void scan_start(struct scan *s, void (*done)(void *arg), void *arg);
/* Stops launching; sessions in flight are dropped unwritten (--resume redoes them); hosts
 * waiting for deliveries are written as they stand, flagged "interrupted". */
void scan_interrupt(struct scan *s);
void scan_get_stats(const struct scan *s, struct scan_stats *st);
json_t *scan_summary_json(const struct scan_stats *st);
void scan_free(struct scan *s);

#endif
