/* relaytrap's program level: options as parsed, set-up (catalogue, message, key, targets,
 * exclusions, resume), the scan run with its embedded sink, --dry-run and --selftest. */
#ifndef RT_PROBER_H
#define RT_PROBER_H

#include <stdint.h>
#include <stdio.h>

#include "catalog.h"
#include "knowledge.h"
#include "opt.h"
#include "options.h"
#include "results.h"
#include "scan.h"
#include "secret.h"
#include "targets.h"

#ifndef RT_VERSION
#define RT_VERSION "0.1.0"
#endif

/* relaytrap's exit statuses (relaytrap.1 "EXIT STATUS") */
enum rt_exit {
	RT_EXIT_CLEAN = 0,   /* finished, no relay open */
	RT_EXIT_OPEN = 1,    /* at least one host open or open-anonymous */
	RT_EXIT_USAGE = 2,   /* usage or configuration error */
	RT_EXIT_FAILURE = 3, /* runtime failure, or interrupted without an open relay */
};

struct rt_main {
	struct rt_options o;
	/* derived */
	struct catalog cat;
	char *message_text;  /* NULL: the compiled-in default */
	struct knowledge kn; /* fingerprints: what host lines are annotated with */
	char *notice_text;   /* --notice-template; NULL: the compiled-in default */
	uint8_t key[SECRET_MAX];
	size_t keylen;
	uint32_t scan_id;
	struct targets targets, excl;
	struct doneset done;
	char hostname[256];
	char **argv_given; /* argv as given, before option parsing reordered it */
	struct strlist unresolved, unresolved_why; /* target names that gave no address */
};

/* The catalogue, the message template and the data files (--fingerprints): what every mode
 * reads, and all that --check-config checks besides the options. */
int rt_setup_catalog(struct rt_main *m, char *err, size_t errlen);
void rt_print_catalog(const struct rt_main *m, FILE *out);
/* Everything but the catalogue: options checked, key, targets resolved, exclusions, resume. */
int rt_setup(struct rt_main *m, char **specs, int nspecs, char *err, size_t errlen);
/* The values derived from the options (ports, shard, addresses, the EHLO name); also used by
 * --selftest. */
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
const char *rt_notice_template(const struct rt_main *m);

#endif
