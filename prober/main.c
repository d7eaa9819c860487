/* relaytrap: finds open mail relays, deciding by delivery (docs/design.md). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "io.h"
#include "jsonx.h"
#include "log.h"
#include "message.h"
#include "prober.h"
#include "scan.h"
#include "secret.h"
#include "sink.h"
#include "smtp.h"

/* Values that go on the wire as they are: garbage is a usage error (FILE:LINE in -C). */
static int check_value(const char *name, const char *v, const char *why, char *err, size_t errlen)
{
	char esc[100];
	if (why)
		snprintf(err, errlen, "--%s '%s': %s", name,
		         log_escape(esc, sizeof(esc), v, strlen(v)), why);
	return why ? -1 : 0;
}

static int check_domain(void *cfg, const char *v, char *err, size_t errlen)
{
	(void)cfg;
	return check_value("sink-domain", v, smtp_check_domain(v), err, errlen);
}

static int check_helo(void *cfg, const char *v, char *err, size_t errlen)
{
	(void)cfg;
	return check_value("helo", v, smtp_check_helo(v), err, errlen);
}

static int check_sender(void *cfg, const char *v, char *err, size_t errlen)
{
	(void)cfg;
	return check_value("sender", v, smtp_check_localpart(v), err, errlen);
}

static int check_contact(void *cfg, const char *v, char *err, size_t errlen)
{
	(void)cfg;
	return check_value("contact", v, smtp_check_text(v, 200), err, errlen);
}

static int check_ports(void *cfg, const char *v, char *err, size_t errlen)
{
	uint16_t list[SCAN_MAX_PORTS];
	int n;
	(void)cfg;
	return rt_ports_parse(v, list, &n, err, errlen);
}

/* A file relaytrap will read must open now, so that a -C FILE line naming it is reported
 * as FILE:LINE ("-", standard input, only where lists may be read from it). */
static int check_input(const char *name, const char *v, int dash, char *err, size_t errlen)
{
	if (dash && !strcmp(v, "-"))
		return 0;
	int fd = open(v, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "--%s %s: %s", name, v, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

#define INPUT_CHECK(fn, name, dash)                                                                \
	static int fn(void *cfg, const char *v, char *err, size_t errlen)                          \
	{                                                                                          \
		(void)cfg;                                                                         \
		return check_input(name, v, dash, err, errlen);                                    \
	}
INPUT_CHECK(check_exclude, "exclude", 1)
INPUT_CHECK(check_input_list, "input-list", 1)
INPUT_CHECK(check_receipts, "receipts", 0)
INPUT_CHECK(check_secret, "secret-file", 0)
INPUT_CHECK(check_message, "message", 0)
INPUT_CHECK(check_fingerprints, "fingerprints", 0)
INPUT_CHECK(check_advisories, "advisories", 0)
INPUT_CHECK(check_advice, "advice", 0)
INPUT_CHECK(check_notice_template, "notice-template", 0)

static int check_shard(void *cfg, const char *v, char *err, size_t errlen)
{
	uint64_t k, n;
	(void)cfg;
	return rt_shard_parse(v, &k, &n, err, errlen);
}

static int check_source(void *cfg, const char *v, char *err, size_t errlen)
{
	struct ipaddr ip;
	(void)cfg;
	return check_value("source", v, ipaddr_parse(v, &ip) < 0 ? "not an IP address" : NULL, err,
	                   errlen);
}

/* ADDR[:PORT] for --sink-listen (port 25 when none) and --resolver (53) */
static int check_hostport(const char *name, uint16_t defport, const char *v, char *err,
                          size_t errlen)
{
	struct ipaddr ip;
	uint16_t port;
	char why[300];
	if (hostport_parse(v, defport, &ip, &port, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "--%s %s", name, why);
	return -1;
}

static int check_listen(void *cfg, const char *v, char *err, size_t errlen)
{
	(void)cfg;
	return check_hostport("sink-listen", 25, v, err, errlen);
}

static int check_resolver(void *cfg, const char *v, char *err, size_t errlen)
{
	(void)cfg;
	return check_hostport("resolver", 53, v, err, errlen);
}

static int check_starttls(void *cfg, const char *v, char *err, size_t errlen)
{
	(void)cfg;
	return check_value("starttls", v,
	                   strcmp(v, "auto") && strcmp(v, "never") && strcmp(v, "both")
	                       ? "expected auto, never or both"
	                       : NULL,
	                   err, errlen);
}

#define O(f) offsetof(struct rt_options, f)
static const struct opt options[] = {
    {"sink-domain", 'd', OPT_STR, O(sink_domain), "DOMAIN",
     "domain whose MX is the sink (default: the sink's address literal)", 0, 0, check_domain},
    {"sink-listen", 0, OPT_LIST, O(sink_listen), "ADDR:PORT",
     "embedded sink address (repeatable; default 0.0.0.0:25)", 0, 0, check_listen},
    {"no-sink", 0, OPT_FLAG, O(no_sink), NULL,
     "don't run the embedded sink (split deployment; correlate later with --report)", 0, 0, NULL},
    {"sink-dir", 0, OPT_STR, O(sink_dir), "DIR",
     "embedded sink's Maildir and receipts.jsonl (default: OUTPUT.sink)", 0, 0, NULL},
    {"secret-file", 0, OPT_STR, O(secret_file), "FILE",
     "token key; required for split deployments (default: random per run)", 0, 0, check_secret},
    {"port", 'p', OPT_STR, O(ports), "PORT[,PORT...]", "target ports (default 25)", 0, 0,
     check_ports},
    {"tests", 't', OPT_STR, O(tests), "NAMES|@FILE",
     "relay tests to run: names from the catalogue, or a catalogue file (default: all)", 0, 0,
     NULL},
    {"message", 0, OPT_STR, O(message), "FILE",
     "test message template (default: the compiled-in conf/message.txt)", 0, 0, check_message},
    {"concurrency", 'c', OPT_INT, O(concurrency), "N", "simultaneous sessions (default 1000)", 1,
     1e6, NULL},
    {"rate", 'r', OPT_DOUBLE, O(rate), "N", "new connections per second (default 500)", 0.01, 1e6,
     NULL},
    {"per-net", 0, OPT_INT, O(per_net), "N",
     "sessions at once per /24 (IPv6: /64) with servers that answered (default 16)", 1, 1e6, NULL},
    {"connect-timeout", 0, OPT_DOUBLE, O(connect_timeout), "S", "TCP connect timeout (default 10)",
     0.05, 3600, NULL},
    {"timeout", 0, OPT_DOUBLE, O(timeout), "S", "wait for each reply (default 30)", 0.05, 3600,
     NULL},
    {"host-timeout", 0, OPT_DOUBLE, O(host_timeout), "S",
     "total time per host, all tests (default 300)", 0.1, 86400, NULL},
    {"wait", 'w', OPT_DOUBLE, O(wait), "S",
     "wait for relayed mail after a host's last acceptance (default 120)", 0, 86400, NULL},
    {"output", 'o', OPT_STR, O(output), "FILE", "results.jsonl path (default results.jsonl)", 0, 0,
     NULL},
    {"html", 0, OPT_STR, O(html), "FILE", "also write a self-contained HTML report", 0, 0, NULL},
    {"csv", 0, OPT_STR, O(csv), "FILE", "also write a CSV table, one row per host", 0, 0, NULL},
    {"report", 0, OPT_STR, O(report), "FILE",
     "render/merge earlier results (FILE and any further files given) instead of scanning", 0, 0,
     NULL},
    {"receipts", 0, OPT_LIST, O(receipts), "FILE",
     "with --report: a standalone sink's receipts.jsonl to correlate (repeatable)", 0, 0,
     check_receipts},
    {"exclude", 'x', OPT_LIST, O(exclude), "FILE", "addresses/networks never to touch (repeatable)",
     0, 0, check_exclude},
    {"input-list", 0, OPT_LIST, O(input_list), "FILE",
     "targets from FILE, as @FILE (- for standard input); nmap's -iL FILE is the same "
     "(repeatable)",
     0, 0, check_input_list},
    {"shard", 0, OPT_STR, O(shard), "K/N", "scan only part K of N (disjoint, together complete)", 0,
     0, check_shard},
    {"shard-index", 0, OPT_INT, O(shard_index), "I",
     "with --shards N: part I of N, counted from 0 as job engines count (--shard I+1/N)", 0, 999999,
     NULL},
    {"shards", 0, OPT_INT, O(shards), "N", "the number of parts for --shard-index", 1, 1000000,
     NULL},
    {"seed", 0, OPT_INT, O(seed), "N", "seed of the pseudo-random target order (default 1)", 0,
     9007199254740991.0, NULL},
    {"resume", 0, OPT_STR, O(resume), "FILE", "skip targets already final in FILE and append to it",
     0, 0, NULL},
    {"source", 0, OPT_STR, O(source), "ADDR", "local address to probe from", 0, 0, check_source},
    {"helo", 0, OPT_STR, O(helo), "NAME", "name announced in EHLO/HELO (default: this host's)", 0,
     0, check_helo},
    {"sender", 0, OPT_STR, O(sender), "LOCALPART", "sender local part (default relaytest)", 0, 0,
     check_sender},
    {"contact", 0, OPT_STR, O(contact), "TEXT",
     "who to contact about the scan, written in every test message", 0, 0, check_contact},
    {"resolver", 0, OPT_STR, O(resolver), "ADDR[:PORT]",
     "DNS server for names, mx: and PTR lookups (default: /etc/resolv.conf)", 0, 0, check_resolver},
    {"starttls", 0, OPT_STR, O(starttls), "auto|never|both",
     "auto: upgrade with STARTTLS when offered, tests over TLS (default); both: the tests in "
     "the clear, then again over STARTTLS",
     0, 0, check_starttls},
    {"tls", 0, OPT_FLAG, O(tls), NULL, "implicit TLS on every port (always on port 465)", 0, 0,
     NULL},
    {"tls-cert", 0, OPT_STR, O(tls_cert), "FILE",
     "the embedded sink's STARTTLS certificate (default: a self-signed one made at start)", 0, 0,
     NULL},
    {"tls-key", 0, OPT_STR, O(tls_key), "FILE", "its private key (default: --tls-cert)", 0, 0,
     NULL},
    {"no-ptr", 0, OPT_FLAG, O(no_ptr), NULL,
     "don't look up the PTR name of a server whose banner and EHLO give none", 0, 0, NULL},
    {"no-smuggling", 0, OPT_FLAG, O(no_smuggling), NULL,
     "no SMTP smuggling tests for the hosts that relayed", 0, 0, NULL},
    {"proxy-spoof", 0, OPT_FLAG, O(proxy_spoof), NULL,
     "also test a connection opened with a PROXY header that names 127.0.0.1", 0, 0, NULL},
    {"first-hit", 0, OPT_FLAG, O(first_hit), NULL, "stop a host after its first accepted test", 0,
     0, NULL},
    {"transcript", 0, OPT_FLAG, O(transcript), NULL,
     "keep each host's SMTP dialogue in the results", 0, 0, NULL},
    {"dry-run", 0, OPT_FLAG, O(dry_run), NULL, "print each dialogue without connecting", 0, 0,
     NULL},
    {"list-tests", 0, OPT_FLAG, O(list_tests), NULL, "print the relay-test catalogue", 0, 0, NULL},
    {"fingerprints", 0, OPT_STR, O(fingerprints), "FILE",
     "MTA fingerprint rules (default: the compiled-in conf/fingerprints.conf)", 0, 0,
     check_fingerprints},
    {"advisories", 0, OPT_STR, O(advisories), "FILE",
     "known holes by product and version (default: the compiled-in conf/advisories.conf)", 0, 0,
     check_advisories},
    {"notices", 0, OPT_STR, O(notices), "DIR",
     "write a notice (an RFC 5322 message to review and send) per open relay into DIR", 0, 0, NULL},
    {"notice-template", 0, OPT_STR, O(notice_template), "FILE",
     "the notices' text (default: the compiled-in conf/notice.txt)", 0, 0, check_notice_template},
    {"advice", 0, OPT_STR, O(advice), "FILE",
     "how to close relaying, per MTA (default: the compiled-in conf/advice.conf)", 0, 0,
     check_advice},
    {"check-config", 0, OPT_FLAG, O(check_config), NULL,
     "check the options and every file they name, then exit (0: configuration OK)", 0, 0, NULL},
    {"selftest", 0, OPT_FLAG, O(selftest), NULL,
     "start known relays in-process on loopback, scan them, check every verdict", 0, 0, NULL},
    {"progress", 0, OPT_FLAG, O(progress), NULL,
     "show the progress line even when stderr is not a terminal", 0, 0, NULL},
    {"config", 'C', OPT_CONFIG, 0, "FILE", "read options from FILE (name = value)", 0, 0, NULL},
    {"quiet", 'q', OPT_FLAG, O(quiet), NULL, "errors only; no progress line", 0, 0, NULL},
    {"verbose", 'v', OPT_FLAG, O(verbose), NULL, "log every host", 0, 0, NULL},
    {"help", 'h', OPT_FLAG, O(help), NULL, "show this help", 0, 0, NULL},
    {"version", 'V', OPT_FLAG, O(version), NULL, "show the version", 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, NULL},
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: relaytrap [OPTIONS] TARGET...\n"
	        "       relaytrap --report RESULTS.jsonl [MORE.jsonl...] [--receipts FILE] "
	        "[--html F] [--csv F] [-o MERGED.jsonl]\n"
	        "Finds open mail relays; a host is open only when its relayed test message "
	        "arrives.\n"
	        "TARGET: IP | CIDR | a.b.c.d-e.f.g.h | a.b.c-d.* | hostname | mx:DOMAIN | @FILE "
	        "| -\n\n");
	opt_usage(out, options);
	fprintf(out, "\nExit status: 0 no open relay, 1 open relay found, 2 usage or configuration "
	             "error, 3 runtime failure.\n");
}

static void main_free(struct rt_main *m)
{
	rt_options_free(&m->o);
	targets_free(&m->targets);
	targets_free(&m->excl);
	doneset_free(&m->done);
	free(m->message_text);
	free(m->notice_text);
	knowledge_free(&m->kn);
	free(m->argv_given);
	strlist_free(&m->unresolved);
	strlist_free(&m->unresolved_why);
}

static int rt_fail(struct rt_main *m, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rt_fail(struct rt_main *m, int code, const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		fprintf(stderr, "relaytrap: ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	main_free(m);
	return code;
}

/* Options that cannot go together, and operands where none belong. */
static const char *conflict(const struct rt_main *m, int nargs)
{
	int modes = !!m->o.dry_run + !!m->o.selftest + !!m->o.list_tests + !!m->o.report +
	            !!m->o.check_config;
	if (modes > 1)
		return "--dry-run, --selftest, --list-tests, --report and --check-config exclude "
		       "each "
		       "other";
	if ((m->o.list_tests || m->o.selftest || m->o.check_config) && (nargs || m->o.input_list.n))
		return m->o.list_tests     ? "--list-tests takes no targets"
		       : m->o.check_config ? "--check-config takes no targets"
		                           : "--selftest takes no targets";
	if (m->o.no_sink && m->o.selftest)
		return "--selftest runs the embedded sink: leave out --no-sink";
	return NULL;
}

static void defaults(struct rt_main *m)
{
	memset(m, 0, sizeof(*m));
	rt_options_defaults(&m->o);
}

int main(int argc, char **argv)
{
	struct rt_main m;
	char err[600];
	int nargs;
	defaults(&m);
	/* the run line records the arguments as given: opt_parse_argv moves the targets to
	 * the front of argv */
	char **given = calloc((size_t)argc + 1, sizeof(*given));
	if (!given)
		return rt_fail(&m, RT_EXIT_FAILURE, "out of memory");
	memcpy(given, argv, (size_t)argc * sizeof(*given));
	m.argv_given = given;
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-iL")) /* nmap's spelling; the run line keeps it as given */
			argv[i] = "--input-list";
	log_init(stderr, LOG_WARN, "relaytrap");
	if (opt_parse_argv(options, &m.o, argc, argv, &nargs, err, sizeof(err)) < 0)
		return rt_fail(&m, RT_EXIT_USAGE, "%s", err);
	if (m.o.help) {
		usage(stdout);
		return rt_fail(&m, RT_EXIT_CLEAN, NULL);
	}
	if (m.o.version) {
		printf("relaytrap %s\n", RT_VERSION);
		return rt_fail(&m, RT_EXIT_CLEAN, NULL);
	}
	log_set_level(m.o.quiet ? LOG_ERR : m.o.verbose ? LOG_INFO : LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	const char *clash = conflict(&m, nargs);
	if (clash)
		return rt_fail(&m, RT_EXIT_USAGE, "%s", clash);
	if (rt_setup_catalog(&m, err, sizeof(err)) < 0)
		return rt_fail(&m, RT_EXIT_USAGE, "%s", err);
	if (m.o.list_tests) {
		rt_print_catalog(&m, stdout);
		return rt_fail(&m, RT_EXIT_CLEAN, NULL);
	}
	if (m.o.check_config) {
		if (rt_scan_opts(&m, err, sizeof(err)) < 0)
			return rt_fail(&m, RT_EXIT_USAGE, "%s", err);
		printf("relaytrap: configuration OK: %d relay tests, %d fingerprint rules for %d "
		       "products, %d advisories, %d fix paragraphs\n",
		       m.cat.n, fp_count(m.kn.fp), fp_products(m.kn.fp), m.kn.adv->n,
		       m.kn.advice->n);
		return rt_fail(&m, RT_EXIT_CLEAN, NULL);
	}
	if (m.o.report) {
		char **files = calloc((size_t)nargs + 1, sizeof(*files));
		if (!files)
			return rt_fail(&m, RT_EXIT_FAILURE, "out of memory");
		files[0] = m.o.report;
		for (int i = 0; i < nargs; i++)
			files[i + 1] = argv[1 + i];
		int rc = rt_report(&m, files, nargs + 1);
		free(files);
		return rt_fail(&m, rc, NULL);
	}
	if (m.o.receipts.n)
		return rt_fail(&m, RT_EXIT_USAGE, "--receipts goes with --report");
	if (m.o.selftest) {
		int rc = rt_selftest(&m);
		return rt_fail(&m, rc, NULL);
	}
	if (!nargs && !m.o.input_list.n)
		return rt_fail(&m, RT_EXIT_USAGE, "no targets given (see --help)");
	if (rt_setup(&m, argv + 1, nargs, err, sizeof(err)) < 0)
		return rt_fail(&m, RT_EXIT_USAGE, "%s", err);
	if (m.o.dry_run) {
		rt_dry_run(&m, stdout);
		return rt_fail(&m, RT_EXIT_CLEAN, NULL);
	}
	int rc = rt_scan(&m, argc, given);
	return rt_fail(&m, rc, NULL);
}
