/* relaytrap's options: the one struct the option table (main.c) and -C files write into, its
 * one defaults function, and the values set-up derives from them (setup.c rt_scan_opts). The
 * scan engine reads them as they are; the client gets its own parameters (client.h). */
#ifndef RT_OPTIONS_H
#define RT_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "opt.h"

#define SCAN_MAX_PORTS 64

struct rt_options {
	/* as given (or defaulted) */
	char *sink_domain, *sink_dir, *secret_file, *ports, *tests, *message, *output, *shard,
	    *resume, *source, *helo, *sender, *contact, *resolver, *report, *html, *csv;
	char *starttls;           /* "auto" (default), "never" or "both" */
	char *tls_cert, *tls_key; /* the embedded sink's STARTTLS certificate */
	/* the data files in conf/: NULL is the compiled-in default */
	char *fingerprints, *advisories, *advice;
	char *notices, *notice_template; /* --notices DIR and its template */
	struct strlist sink_listen, exclude, receipts;
	struct strlist input_list; /* --input-list FILE, -iL FILE: targets as from @FILE */
	long concurrency, per_net, seed;
	long shard_index, shards; /* --shard-index I --shards N: part I of N from 0; -1 unset */
	double rate, connect_timeout, timeout, host_timeout, wait;
	int no_smuggling; /* no smuggling tests for the hosts that relayed */
	int proxy_spoof;  /* the proxy-localhost test: a PROXY v1 header naming 127.0.0.1 */
	int no_sink, no_ptr, first_hit, transcript, dry_run, list_tests, selftest, progress, quiet,
	    verbose, help, version;
	int tls; /* implicit TLS on every port (465 always) */
	int check_config;
	/* derived by rt_scan_opts */
	uint16_t port_list[SCAN_MAX_PORTS];
	int nports;
	uint64_t shard_k, shard_n;
	struct ipaddr source_addr; /* family 0: the kernel chooses */
	struct ipaddr sink_addr;   /* family 0: our address on each probing connection */
	/* fixed limits */
	int max_reconnects;
	size_t max_reply_line;
	int max_reply_lines;
};

/* Every default in one place (the man page and conf/relaytrap.conf say the same). */
void rt_options_defaults(struct rt_options *o);
void rt_options_free(struct rt_options *o);
/* "25,587" into list (SCAN_MAX_PORTS at most), "K/N": -1 with err naming the option. Used to
 * check a value when it is set (FILE:LINE in -C files) and to derive it at set-up. */
int rt_ports_parse(const char *s, uint16_t *list, int *n, char *err, size_t errlen);
int rt_shard_parse(const char *s, uint64_t *k, uint64_t *n, char *err, size_t errlen);

#endif
