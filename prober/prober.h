/* relaytrap's program level: options as parsed, set-up (catalogue, message, key, targets,
 * exclusions, resume), the scan run with its embedded sink, --dry-run and --selftest. */
#ifndef RT_PROBER_H
#define RT_PROBER_H

#include <stdint.h>
#include <stdio.h>

#include "catalog.h"
#include "opt.h"
#include "results.h"
#include "scan.h"
#include "secret.h"
#include "targets.h"

#ifndef RT_VERSION
#define RT_VERSION "0.1.0"
#endif

struct rt_main {
	/* options */
	char *sink_domain, *sink_dir, *secret_file, *ports, *tests, *message, *output, *shard,
	    *resume, *source, *helo, *sender, *contact, *resolver, *report, *html, *csv;
	struct strlist sink_listen, exclude, receipts;
	long concurrency, per_net, seed;
	double rate, connect_timeout, timeout, host_timeout, wait;
	int no_sink, no_ptr, first_hit, transcript, dry_run, list_tests, selftest, progress, quiet, verbose,
	    help, version;
	/* derived */
	struct catalog cat;
	char *message_text; /* NULL: the compiled-in default */
	uint8_t key[SECRET_MAX];
	size_t keylen;
	uint32_t scan_id;
	struct targets targets, excl;
	struct doneset done;
	struct scan_opts so;
	char hostname[256];
	char **argv_given; /* argv as given, before option parsing reordered it */
	struct strlist unresolved, unresolved_why; /* target names that gave no address */
};

int rt_setup_catalog(struct rt_main *m, char *err, size_t errlen);
void rt_print_catalog(const struct rt_main *m, FILE *out);
/* Everything but the catalogue: options checked, key, targets resolved, exclusions, resume. */
int rt_setup(struct rt_main *m, char **specs, int nspecs, char *err, size_t errlen);
/* Scan options from the parsed ones (also used by --selftest). */
int rt_scan_opts(struct rt_main *m, char *err, size_t errlen);
void rt_dry_run(struct rt_main *m, FILE *out);
int rt_scan(struct rt_main *m, int argc, char **argv);
struct io_loop;
/* Runs the scan in loop, which may already hold other things (--selftest's relays). */
int rt_scan_in(struct rt_main *m, struct io_loop *loop, int argc, char **argv,
               struct scan_stats *out_stats);
int rt_selftest(struct rt_main *m);
/* --report: merges results files, correlates --receipts, renders; returns the exit status. */
int rt_report(struct rt_main *m, char **files, int nfiles);
const char *rt_message(const struct rt_main *m);

#endif
