/* results.jsonl (docs/design.md "Output"): the host line built from a finished session, and the set
 * of targets already final in an earlier run (--resume). */
#ifndef RT_RESULTS_H
#define RT_RESULTS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "catalog.h"
#include "client.h"
#include "verdict.h"

struct host_facts {
	struct ipaddr addr;
	uint16_t port;
	const char *scan_id; /* 8 hex digits */
	const struct client *c;
	const struct catalog *cat;
	const struct verdict_out *v;
	const struct ipaddr *prober;
	int nprober;
	json_t *deliveries;   /* borrowed: evidence objects, one per delivered test */
	json_t *bounces;      /* borrowed: one per bounced test */
	json_t *auto_replies; /* borrowed: auto-replies to the tests' senders */
	double started, ended;
	int interrupted;
};

json_t *host_json(const struct host_facts *h);
/* The flags the verdict decides (multi_hop, tokens_disagree, bounces, partial) after the
 * other flags of keep (an earlier host line's; NULL none): a new array. */
json_t *verdict_flags(const struct verdict_out *v, const json_t *keep);
/* 1 for a host line that --resume does again: written at an interrupt before it was final,
 * or a target name that gave no address. */
int results_redone(const json_t *host);
/* The host line of a target name that gave no address: addr and port null, verdict error,
 * the DNS failure as the reason. */
json_t *unresolved_json(const char *name, const char *why, const char *scan_id);
json_t *catalog_json(const struct catalog *cat);

/* (address, port) pairs already final. */
struct doneset {
	struct done_ent **b;
	size_t nb, n;
};
int doneset_add(struct doneset *d, const struct ipaddr *ip, uint16_t port);
int doneset_has(const struct doneset *d, const struct ipaddr *ip, uint16_t port);
void doneset_free(struct doneset *d);

/* A JSON-lines file read line by line, each line at most JSONL_LINE_MAX bytes. */
#define JSONL_LINE_MAX (16u << 20)
struct jsonl {
	FILE *f;
	char *line;
	size_t cap;
	int lineno;      /* of the line last returned */
	json_error_t je; /* why a line was JSONL_BAD */
};
enum jsonl_status {
	JSONL_OBJECT,   /* *o set: the caller owns it */
	JSONL_END,      /* no more lines */
	JSONL_TORN,     /* a last line without a line break that is not JSON: a killed writer */
	JSONL_BAD,      /* a whole line that is not a JSON object */
	JSONL_TOO_LONG, /* over JSONL_LINE_MAX; the line was skipped */
};
/* The next non-blank line. */
enum jsonl_status jsonl_next(struct jsonl *r, json_t **o);
void jsonl_free(struct jsonl *r);

/* Reads an earlier results.jsonl: every host line goes into d, its first run line to *run
 * (the caller's). A torn last line (the run was killed while writing it) is ignored. A
 * missing file or one without a run line is an error; errors name FILE:LINE. */
int resume_load(const char *path, struct doneset *d, json_t **run, char *err, size_t errlen);

#endif
