/* relaytrap set-up: catalogue, message template, key, ports, targets (with DNS), exclusions,
 * resume; and --dry-run, which drives the client with scripted "yes" replies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "dns.h"
#include "log.h"
#include "message.h"
#include "notice.h"
#include "perm.h"
#include "tlist.h"
#include "prober.h"

#define TEXT_FILE_MAX (1024 * 1024)
#define NAMES_MAX 100000

static char *read_text(const char *path, size_t max, const char *opt, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s %s: %s", opt, path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	int bad = ferror(f);
	fclose(f);
	if (!buf || bad || n > max) {
		snprintf(err, errlen, "%s %s: %s", opt, path,
		         !buf  ? "out of memory"
		         : bad ? "read error"
		               : "file too large");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n)) {
		snprintf(err, errlen, "%s %s: binary file (NUL byte)", opt, path);
		free(buf);
		return NULL;
	}
	return buf;
}

const char *rt_message(const struct rt_main *m)
{
	return m->message_text ? m->message_text : message_default_text;
}

const char *rt_notice_template(const struct rt_main *m)
{
	return m->notice_text ? m->notice_text : notice_default_text;
}

/* A data file given by option, else its compiled-in default. */
static char *data_text(const char *path, const char *dflt, const char *opt, char *err,
                       size_t errlen)
{
	return path ? read_text(path, TEXT_FILE_MAX, opt, err, errlen) : strdup(dflt);
}

/* The data files behind fingerprints, advisories and advice, each its file or the default. */
static int setup_knowledge(struct rt_main *m, char *err, size_t errlen)
{
	const struct rt_options *o = &m->o;
	char *t =
	    data_text(o->fingerprints, fingerprints_default_text, "--fingerprints", err, errlen);
	if (t)
		m->kn.fp = fp_parse(t, o->fingerprints ? o->fingerprints : "default", err, errlen);
	free(t);
	if (!m->kn.fp)
		return -1;
	t = data_text(o->advisories, advisories_default_text, "--advisories", err, errlen);
	if (t)
		m->kn.adv = advis_parse(t, o->advisories ? o->advisories : "default", err, errlen);
	free(t);
	if (!m->kn.adv)
		return -1;
	t = data_text(o->advice, advice_default_text, "--advice", err, errlen);
	if (t)
		m->kn.advice = advice_parse(t, o->advice ? o->advice : "default", err, errlen);
	free(t);
	if (!m->kn.advice)
		return -1;
	if (o->notice_template && !(m->notice_text = read_text(o->notice_template, NOTICE_TMPL_MAX,
	                                                       "--notice-template", err, errlen)))
		return -1;
	if (notice_check(rt_notice_template(m), o->notice_template ? o->notice_template : "default",
	                 err, errlen) < 0)
		return -1;
	knowledge_use(&m->kn);
	return 0;
}

int rt_setup_catalog(struct rt_main *m, char *err, size_t errlen)
{
	/* the smuggling tests are built in, chosen with --tests by their names like the rest */
	int smuggling = !m->o.no_smuggling && !m->o.first_hit;
	if (m->o.tests && m->o.tests[0] == '@') {
		char *text = read_text(m->o.tests + 1, TEXT_FILE_MAX, "--tests", err, errlen);
		if (!text)
			return -1;
		int rc = catalog_parse(&m->cat, text, m->o.tests + 1, err, errlen);
		free(text);
		if (rc < 0 || (smuggling && catalog_add_smuggling(&m->cat, err, errlen) < 0))
			return -1;
	} else {
		if (catalog_parse(&m->cat, catalog_default_text, "default", err, errlen) < 0 ||
		    (smuggling && catalog_add_smuggling(&m->cat, err, errlen) < 0))
			return -1;
		if (m->o.tests && catalog_select(&m->cat, m->o.tests, err, errlen) < 0)
			return -1; /* err names --tests */
	}
	if (m->cat.n == 0) {
		snprintf(err, errlen, "--tests: no tests selected");
		return -1;
	}
	int others = 0;
	for (int i = 0; i < m->cat.n; i++)
		others += m->cat.t[i].via != VIA_SMUGGLE && m->cat.t[i].via != VIA_SMUGGLED;
	if (!others) {
		snprintf(err, errlen,
		         "--tests: the smuggling tests run only for a host that relayed "
		         "one of the others; name one of those too");
		return -1;
	}
	if (m->o.starttls && !strcmp(m->o.starttls, "both") &&
	    catalog_add_starttls_twins(&m->cat, err, errlen) < 0)
		return -1;
	if (m->o.proxy_spoof && catalog_add_proxy(&m->cat, err, errlen) < 0)
		return -1;
	if (m->o.message) {
		if (!(m->message_text =
		          read_text(m->o.message, MESSAGE_TMPL_MAX, "--message", err, errlen)))
			return -1;
		if (message_check(m->message_text, m->o.message, err, errlen) < 0)
			return -1;
	}
	return setup_knowledge(m, err, errlen);
}

void rt_print_catalog(const struct rt_main *m, FILE *out)
{
	for (int i = 0; i < m->cat.n; i++) {
		const struct rtest *t = &m->cat.t[i];
		if (t->via == VIA_PROXY) {
			fprintf(out, "# %-22s built in: --proxy-spoof\n", t->name);
			continue;
		}
		if (t->via == VIA_SMUGGLE ||
		    t->via == VIA_SMUGGLED) { /* built in, no catalogue line */
			fprintf(out, "# %-22s built in: SMTP smuggling, for hosts that relayed%s\n",
			        t->name,
			        t->via == VIA_SMUGGLED ? " (sent inside the test before)" : "");
			continue;
		}
		fprintf(out, "%-22s %-29s %s", t->name, t->mail, t->rcpt);
		if (t->helo[0])
			fprintf(out, "  helo=%s", t->helo);
		if (t->via != VIA_NONE)
			fprintf(out, "  via=%s", via_names[t->via]);
		fputc('\n', out);
	}
}

static int parse_ports(struct rt_main *m, char *err, size_t errlen)
{
	return rt_ports_parse(m->o.ports ? m->o.ports : "25", m->o.port_list, &m->o.nports, err,
	                      errlen);
}

static int parse_shard(struct rt_main *m, char *err, size_t errlen)
{
	m->o.shard_k = m->o.shard_n = 1;
	if (m->o.shard && rt_shard_parse(m->o.shard, &m->o.shard_k, &m->o.shard_n, err, errlen) < 0)
		return -1;
	if (m->o.shard_index < 0 && m->o.shards < 0)
		return 0;
	/* --shard-index I --shards N: the form Kubernetes and Slurm give, I from 0 */
	if (m->o.shard_index < 0 || m->o.shards < 0) {
		snprintf(err, errlen, "--shard-index and --shards go together");
		return -1;
	}
	if (m->o.shard_index >= m->o.shards) {
		snprintf(err, errlen, "--shard-index %ld --shards %ld: expected 0 <= I < N",
		         m->o.shard_index, m->o.shards);
		return -1;
	}
	uint64_t k = (uint64_t)m->o.shard_index + 1, n = (uint64_t)m->o.shards;
	if (m->o.shard && (k != m->o.shard_k || n != m->o.shard_n)) {
		snprintf(err, errlen,
		         "--shard %s and --shard-index %ld --shards %ld name different parts",
		         m->o.shard, m->o.shard_index, m->o.shards);
		return -1;
	}
	m->o.shard_k = k;
	m->o.shard_n = n;
	return 0;
}

int rt_scan_opts(struct rt_main *m, char *err, size_t errlen)
{
	struct rt_options *o = &m->o;
	if (parse_ports(m, err, errlen) < 0 || parse_shard(m, err, errlen) < 0)
		return -1;
	if (o->source && ipaddr_parse(o->source, &o->source_addr) < 0) {
		snprintf(err, errlen, "--source %s: not an IP address", o->source);
		return -1;
	}
	if (gethostname(m->hostname, sizeof(m->hostname) - 1) < 0 || !m->hostname[0])
		snprintf(m->hostname, sizeof(m->hostname), "localhost");
	if (!o->sink_listen.n)
		strlist_add(&o->sink_listen, "0.0.0.0:25");
	o->sink_addr.family = 0;
	for (int i = 0; i < o->sink_listen.n; i++) {
		struct ipaddr ip;
		uint16_t port;
		char why[300];
		if (hostport_parse(o->sink_listen.v[i], 25, &ip, &port, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "--sink-listen %s", why);
			return -1;
		}
		static const uint8_t zero[16];
		if (i == 0 && !o->no_sink && memcmp(ip.a, zero, ip.family == AF_INET ? 4 : 16) != 0)
			o->sink_addr = ip; /* a specific address: relays are sent there */
	}
	if (o->source_addr.family && o->sink_addr.family == 0 && !o->sink_domain)
		o->sink_addr = o->source_addr;
	if (!o->helo) /* the one default that needs this host: its name */
		o->helo = strdup(m->hostname);
	if (!o->helo || !o->sender || !o->contact) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	o->progress = o->progress || (!o->quiet && isatty(2));
	return 0;
}

/* ---- targets ---- */

struct names {
	struct strlist hosts, mx;
};

static int name_cb(const char *spec, enum tspec_kind kind, void *arg)
{
	struct names *n = arg;
	if (n->hosts.n + n->mx.n >= NAMES_MAX)
		return -1;
	return strlist_add(kind == TSPEC_MX ? &n->mx : &n->hosts,
	                   kind == TSPEC_MX ? spec + 3 : spec);
}

static int refuse_names(const char *spec, enum tspec_kind kind, void *arg)
{
	(void)spec;
	(void)kind;
	(void)arg;
	return TARGETS_NAME_REFUSED;
}

/* A name that gave no address still gets a host line (verdict error, the DNS failure as the
 * reason): nothing given on the command line vanishes. */
static void warn_name(const char *name, const char *why, void *arg)
{
	struct rt_main *m = arg;
	char esc[300]; /* names from MX answers come from the network */
	log_escape(esc, sizeof(esc), name, strlen(name));
	if (!m->o.quiet)
		fprintf(stderr, "relaytrap: %s: %s\n", esc, why);
	if (m->unresolved.n < NAMES_MAX) {
		strlist_add(&m->unresolved, name);
		strlist_add(&m->unresolved_why, why);
	}
}

static int add_resolved(const struct ipaddr *ip, const char *name, void *arg)
{
	struct rt_main *m = arg;
	(void)name;
	return targets_add_addr(&m->targets, ip);
}

static int load_list(struct targets *t, const char *path, enum tlist_use use,
                     int (*cb)(const char *, enum tspec_kind, void *), void *arg, char *err,
                     size_t errlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = tlist_parse_file(t, strcmp(path, "-") == 0 ? "<stdin>" : path, f, use, cb, arg,
	                          err, errlen);
	if (f != stdin)
		fclose(f);
	return rc;
}

static int load_targets(struct rt_main *m, char **specs, int nspecs, char *err, size_t errlen)
{
	struct names names = {{0}, {0}};
	int rc = 0;
	for (int i = 0; i < nspecs && rc == 0; i++) {
		enum tspec_kind kind;
		if (targets_parse(&m->targets, specs[i], &kind, err, errlen) < 0) {
			rc = -1;
			break;
		}
		if (kind == TSPEC_NAME || kind == TSPEC_MX)
			rc = name_cb(specs[i], kind, &names) < 0 ? -1 : 0;
		else if (kind == TSPEC_FILE)
			rc = load_list(&m->targets, specs[i] + 1, TLIST_TARGETS, name_cb, &names,
			               err, errlen);
		else if (kind == TSPEC_STDIN)
			rc = load_list(&m->targets, "-", TLIST_TARGETS, name_cb, &names, err,
			               errlen);
		if (rc < 0 && !err[0])
			snprintf(err, errlen, "'%s': too many names", specs[i]);
	}
	for (int i = 0; i < m->o.input_list.n && rc == 0; i++)
		rc = load_list(&m->targets, m->o.input_list.v[i], TLIST_TARGETS, name_cb, &names,
		               err, errlen);
	if (rc == 0 && (names.hosts.n || names.mx.n) &&
	    dns_resolve(&names.hosts, &names.mx, m->o.resolver, 60, add_resolved, warn_name, m, err,
	                errlen) < 0)
		rc = -1;
	strlist_free(&names.hosts);
	strlist_free(&names.mx);
	if (rc < 0)
		return -1;
	targets_finish(&m->targets);
	targets_prune_pairs(&m->targets, m->o.port_list, m->o.nports);
	if (targets_space(&m->targets, m->o.nports) == 0 && !m->unresolved.n) {
		snprintf(err, errlen, "no targets to scan");
		return -1;
	}
	for (int i = 0; i < m->o.exclude.n; i++) {
		if (load_list(&m->excl, m->o.exclude.v[i], TLIST_EXCLUDE, refuse_names, NULL, err,
		              errlen) < 0) {
			char tmp[600];
			snprintf(tmp, sizeof(tmp), "--exclude %s", err);
			snprintf(err, errlen, "%s", tmp);
			return -1;
		}
	}
	targets_finish(&m->excl);
	if (targets_any_reserved(&m->targets) && !m->o.quiet)
		fprintf(stderr,
		        "relaytrap: the targets include reserved addresses, which are never "
		        "scanned: %s\n",
		        targets_reserved_text);
	return 0;
}

/* A resumed scan must ask what the first run asked: the same ports, tests and sink, or its
 * host lines would mean different things. */
static int resume_matches(struct rt_main *m, const json_t *run, char *err, size_t errlen)
{
	const char *what = NULL;
	const json_t *ports = json_object_get(run, "ports"), *tests = json_object_get(run, "tests");
	const json_t *sink = json_object_get(run, "sink");
	int same = json_array_size(ports) == (size_t)m->o.nports;
	for (int i = 0; same && i < m->o.nports; i++)
		same = json_integer_value(json_array_get(ports, (size_t)i)) == m->o.port_list[i];
	if (!same)
		what = "ports (--port)";
	same = json_array_size(tests) == (size_t)m->cat.n;
	for (int i = 0; same && i < m->cat.n; i++)
		same = !strcmp(
		    json_string_value(json_object_get(json_array_get(tests, (size_t)i), "name"))
		        ?: "",
		    m->cat.t[i].name);
	if (!what && !same)
		what = "tests (--tests)";
	const char *dom = json_string_value(json_object_get(sink, "domain"));
	if (!what && (json_is_true(json_object_get(sink, "embedded")) == m->o.no_sink ||
	              strcmp(dom ? dom : "", m->o.sink_domain ? m->o.sink_domain : "") != 0))
		what = "sink (--sink-domain, --no-sink)";
	if (what)
		snprintf(err, errlen,
		         "--resume %s: the first run used other %s; resume with the "
		         "same options",
		         m->o.resume, what);
	return what ? -1 : 0;
}

int rt_setup(struct rt_main *m, char **specs, int nspecs, char *err, size_t errlen)
{
	err[0] = '\0';
	if (rt_scan_opts(m, err, errlen) < 0)
		return -1;
	if (m->o.no_sink && !m->o.sink_domain && !m->o.dry_run) {
		snprintf(err, errlen,
		         "--no-sink needs --sink-domain: without it the tests are addressed to "
		         "this host's own address literal, where no sink listens");
		return -1;
	}
	if (m->o.secret_file) {
		if (secret_load(m->o.secret_file, m->key, &m->keylen, err, errlen) < 0)
			return -1;
	} else if (m->o.no_sink && !m->o.dry_run) {
		snprintf(err, errlen,
		         "--no-sink needs --secret-file (the standalone sink verifies "
		         "tokens with the same key)");
		return -1;
	} else {
		m->keylen = 32;
		if (secret_random(m->key, m->keylen) < 0) {
			snprintf(err, errlen, "cannot get random bytes for the token key");
			return -1;
		}
	}
	uint8_t sid[4];
	if (secret_random(sid, sizeof(sid)) < 0) {
		snprintf(err, errlen, "cannot get random bytes for the scan id");
		return -1;
	}
	m->scan_id =
	    (uint32_t)sid[0] << 24 | (uint32_t)sid[1] << 16 | (uint32_t)sid[2] << 8 | sid[3];
	if (load_targets(m, specs, nspecs, err, errlen) < 0)
		return -1;
	if (m->o.resume && strcmp(m->o.resume, "-") == 0) {
		snprintf(err, errlen, "--resume needs a file (not -)");
		return -1;
	}
	if (m->o.resume) {
		json_t *run;
		if (resume_load(m->o.resume, &m->done, &run, err, errlen) < 0)
			return -1;
		int rc = resume_matches(m, run, err, errlen);
		json_decref(run);
		return rc;
	}
	return 0;
}

/* ---- --dry-run ---- */

void rt_dry_run(struct rt_main *m, FILE *out)
{
	struct perm perm;
	struct shard sh;
	uint64_t space = targets_space(&m->targets, m->o.nports), pos;
	struct scan_input si = {.cat = &m->cat,
	                        .message_tmpl = rt_message(m),
	                        .key = m->key,
	                        .keylen = m->keylen,
	                        .scan_id = m->scan_id};
	perm_init(&perm, space, m->o.seed);
	shard_init(&sh, m->o.shard_k, m->o.shard_n);
	while (shard_next(&sh, space, &pos)) {
		uint64_t e = perm_at(&perm, pos);
		struct ipaddr ip, local;
		uint16_t port;
		targets_at(&m->targets, m->o.port_list, m->o.nports, e, &ip, &port);
		if (targets_reserved(&ip) || (m->excl.n && targets_contains(&m->excl, &ip)))
			continue;
		struct client c;
		struct client_params p;
		scan_client_params(&m->o, &si, &ip, port, "Thu, 01 Jan 1970 00:00:00 +0000", &p);
		p.max_reconnects = 0;
		p.transcript = 1;
		p.want_name = 0; /* no lookups without connecting */
		if (client_init(&c, &p) < 0)
			return;
		local.family = ip.family;
		memset(local.a, 0, sizeof(local.a));
		if (m->o.source_addr.family)
			local = m->o.source_addr;
		client_connected(&c, &local, 0);
		struct buf in;
		buf_init(&in, 4096);
		buf_append(&in, "220 dry-run ESMTP\r\n", 19);
		while (client_input(&c, &in, 0) == CL_CONTINUE) {
			const char *o = buf_head(&c.out);
			size_t n = buf_len(&c.out);
			/* the reply a relay would give: 354 to DATA, 250 to the rest */
			const char *rep = n >= 6 && memcmp(o, "DATA\r\n", 6) == 0
			                      ? "354 go ahead\r\n"
			                  : n >= 6 && memcmp(o, "QUIT\r\n", 6) == 0 ? "221 bye\r\n"
			                                                            : "250 ok\r\n";
			buf_consume(&c.out, n);
			buf_append(&in, rep, strlen(rep));
		}
		char a[ADDR_TEXT_MAX];
		fprintf(out, "== %s port %u\n", ipaddr_str(&ip, a, sizeof(a)), port);
		fwrite(buf_head(&c.transcript), 1, buf_len(&c.transcript), out);
		buf_free(&in);
		client_free(&c);
	}
}
