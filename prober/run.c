/* A scan run: the results file with its run line, the embedded sink, the engine, signals,
 * the summary line and the summary on stderr. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "jsonx.h"
#include "log.h"
#include "prober.h"
#include "report.h"
#include "sink.h"

struct run {
	struct io_loop *loop;
	struct sink *sink;
	struct scan *scan;
	int stopping, sink_closed;
};

static void sink_closed(void *arg)
{
	struct run *r = arg;
	r->sink_closed = 1;
	io_loop_break(r->loop);
}

static void scan_done(void *arg)
{
	struct run *r = arg;
	if (r->sink)
		sink_shutdown(r->sink, 2, sink_closed, r);
	else
		io_loop_break(r->loop);
}

static void on_signal(void *arg)
{
	struct run *r = arg;
	if (r->stopping++) {
		io_loop_break(r->loop); /* second signal: stop now */
		return;
	}
	fprintf(stderr, "\nrelaytrap: interrupted; hosts already final are in the results file\n");
	scan_interrupt(r->scan);
}

static void raise_fd_limit(struct rt_main *m)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	long room = (long)rl.rlim_cur - 64;
	if (m->o.concurrency > room) {
		log_msg(LOG_WARN, 0, "--concurrency %ld lowered to %ld (descriptor limit)",
		        m->o.concurrency, room > 1 ? room : 1);
		m->o.concurrency = room > 1 ? room : 1;
	}
}

static char *sink_path(const char *dir, const char *leaf)
{
	size_t n = strlen(dir) + strlen(leaf) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, leaf);
	return p;
}

static struct sink *start_sink(struct rt_main *m, struct io_loop *loop, const char *output,
                               char *err, size_t errlen)
{
	struct sink_config c;
	sink_config_defaults(&c);
	char dir[4096];
	/* OUTPUT.sink beside the results; for -o - the default results name's */
	snprintf(dir, sizeof(dir), "%s",
	         m->o.sink_dir              ? m->o.sink_dir
	         : strcmp(output, "-") == 0 ? "results.jsonl"
	                                    : output);
	if (!m->o.sink_dir) {
		char *dot = strrchr(dir, '.');
		if (dot && strcmp(dot, ".jsonl") == 0)
			*dot = '\0';
		strncat(dir, ".sink", sizeof(dir) - strlen(dir) - 1);
	}
	for (int i = 0; i < m->o.sink_listen.n; i++)
		strlist_add(&c.listen, m->o.sink_listen.v[i]);
	if (m->o.sink_domain)
		strlist_add(&c.domains, m->o.sink_domain);
	c.tls_cert = m->o.tls_cert ? strdup(m->o.tls_cert) : NULL;
	c.tls_key = m->o.tls_key ? strdup(m->o.tls_key) : NULL;
	c.maildir = sink_path(dir, "Maildir");
	c.receipts = sink_path(dir, "receipts.jsonl");
	c.hostname = strdup(m->o.helo);
	c.timeout_cmd = 60;
	c.timeout_data = 120;
	struct sink *s = NULL;
	if (c.maildir && c.receipts && c.hostname)
		s = sink_new(loop, &c, m->key, m->keylen, err, errlen);
	else
		snprintf(err, errlen, "out of memory");
	sink_config_free(&c);
	return s;
}

static json_t *run_json(struct rt_main *m, int argc, char **argv)
{
	json_t *o = json_object(), *args = json_array(), *sink = json_object(),
	       *ports = json_array();
	char ts[64], sid[16];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(sid, sizeof(sid), "%08x", m->scan_id);
	for (int i = 0; i < argc; i++)
		json_array_append_new(args, jsonx_str(argv[i]));
	for (int i = 0; i < m->o.nports; i++)
		json_array_append_new(ports, json_integer(m->o.port_list[i]));
	json_object_set_new(o, "type", json_string("run"));
	json_object_set_new(o, "version", json_string(RT_VERSION));
	json_object_set_new(o, "start", json_string(ts));
	json_object_set_new(o, "unix_time", json_integer((json_int_t)now));
	json_object_set_new(o, "argv", args);
	json_object_set_new(o, "scan_id", json_string(sid));
	json_object_set_new(o, "prober_host", jsonx_str(m->hostname));
	json_object_set_new(sink, "embedded", json_boolean(!m->o.no_sink));
	json_object_set_new(sink, "domain",
	                    m->o.sink_domain ? jsonx_str(m->o.sink_domain) : json_null());
	json_t *ls = json_array();
	for (int i = 0; i < m->o.sink_listen.n && !m->o.no_sink; i++)
		json_array_append_new(ls, jsonx_str(m->o.sink_listen.v[i]));
	json_object_set_new(sink, "listen", ls);
	json_object_set_new(o, "sink", sink);
	json_object_set_new(o, "tests", catalog_json(&m->cat));
	json_object_set_new(o, "targets",
	                    json_integer((json_int_t)(m->targets.total + m->targets.np +
	                                              (uint64_t)m->unresolved.n)));
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "seed", json_integer(m->o.seed));
	char shard[48];
	snprintf(shard, sizeof(shard), "%llu/%llu", (unsigned long long)m->o.shard_k,
	         (unsigned long long)m->o.shard_n);
	json_object_set_new(o, "shard", json_string(shard));
	/* the window for deliveries: also what --report applies to a --no-sink run */
	json_object_set_new(o, "wait", json_real(m->o.wait));
	json_object_set_new(o, "resumed", json_boolean(m->o.resume != NULL));
	return o;
}

static int write_json_line(FILE *f, json_t *o)
{
	size_t len;
	char *line = o ? jsonx_line(o, &len) : NULL;
	int rc = line && fwrite(line, 1, len, f) == len && fflush(f) == 0 ? 0 : -1;
	free(line);
	json_decref(o);
	return rc;
}

/* The run and host lines already in a file being resumed, into the reports. */
static void resume_report(const char *path, struct report *rep)
{
	struct jsonl rd = {.f = fopen(path, "r")};
	json_t *o;
	if (!rd.f)
		return;
	while (jsonl_next(&rd, &o) == JSONL_OBJECT) {
		const char *type = json_string_value(json_object_get(o, "type")) ?: "";
		if (!strcmp(type, "host") && !results_redone(o)) /* those this run does again */
			report_host(rep, o);
		else if (!strcmp(type, "run"))
			report_run(rep, o);
		else if (!strcmp(type, "summary"))
			report_run_summary(rep, o);
		json_decref(o);
	}
	jsonl_free(&rd);
	fclose(rd.f);
}

static void report_on_host(const json_t *host, void *arg)
{
	report_host(arg, host);
}

static void print_summary(const struct scan_stats *st, const char *output)
{
	fprintf(stderr, "relaytrap: %llu host%s in %.1f s:", (unsigned long long)st->final,
	        st->final == 1 ? "" : "s", st->seconds);
	int any = 0;
	for (int v = 0; v < V_COUNT; v++)
		if (st->counts[v]) {
			fprintf(stderr, "%s %llu %s", any ? "," : "",
			        (unsigned long long)st->counts[v], verdict_names[v]);
			any = 1;
		}
	fprintf(stderr, "%s; results %s%s\n", any ? "" : " none",
	        strcmp(output, "-") == 0 ? "on standard output" : "in ",
	        strcmp(output, "-") == 0 ? "" : output);
	if (st->interrupted)
		fprintf(stderr,
		        "relaytrap: interrupted: %llu of %llu targets final; finish with "
		        "--resume %s\n",
		        (unsigned long long)(st->final + st->excluded + st->reserved + st->skipped),
		        (unsigned long long)st->total, output);
}

int rt_scan_in(struct rt_main *m, struct io_loop *loop, int argc, char **argv,
               struct scan_stats *out_stats)
{
	char err[600];
	const char *output = m->o.resume   ? m->o.resume
	                     : m->o.output ? m->o.output
	                                   : "results.jsonl";
	raise_fd_limit(m);
	/* Every output is checked before any is touched: the report files (written to
	 * PATH.tmp, removed again on failure), the sink's port and store, then the results
	 * file, truncated last. */
	struct run r = {.loop = loop};
	int to_stdout = strcmp(output, "-") == 0; /* -o -: the text summary goes to stderr */
	struct report_opts ro = {.html = m->o.html,
	                         .csv = m->o.csv,
	                         .text = m->o.quiet  ? NULL
	                                 : to_stdout ? stderr
	                                             : stdout,
	                         .version = RT_VERSION,
	                         .pending = m->o.no_sink ? output : NULL,
	                         .notices = m->o.notices,
	                         .notice_tmpl = rt_notice_template(m),
	                         .contact = m->o.contact,
	                         .prober_host = m->hostname};
	struct report *rep = report_new(&ro, err, sizeof(err));
	if (!rep) {
		fprintf(stderr, "relaytrap: %s\n", err);
		return RT_EXIT_FAILURE;
	}
	if (!m->o.no_sink && !(r.sink = start_sink(m, loop, output, err, sizeof(err)))) {
		fprintf(stderr, "relaytrap: embedded sink: %s (use --sink-listen, or --no-sink)\n",
		        err);
		report_free(rep);
		return RT_EXIT_FAILURE;
	}
	FILE *f = to_stdout ? stdout : fopen(output, m->o.resume ? "a+" : "w");
	if (!f) {
		fprintf(stderr, "relaytrap: --output %s: %s\n", output, strerror(errno));
		report_free(rep);
		if (r.sink)
			sink_free(r.sink);
		return RT_EXIT_FAILURE;
	}
	if (m->o.resume) { /* a torn last line from a killed run: start on a fresh line */
		fseek(f, 0, SEEK_END);
		long size = ftell(f);
		if (size > 0 && fseek(f, -1, SEEK_END) == 0 && fgetc(f) != '\n')
			fputc('\n', f);
		fseek(f, 0, SEEK_END);
		resume_report(m->o.resume, rep); /* the reports cover the earlier hosts too */
	}
	json_t *run = run_json(m, argc, argv);
	report_run(rep, run);
	if (write_json_line(f, run) < 0) {
		fprintf(stderr, "relaytrap: --output %s: %s\n", output, strerror(errno));
		report_free(rep);
		fclose(f);
		if (r.sink)
			sink_free(r.sink);
		return RT_EXIT_FAILURE;
	}
	char sid[16];
	snprintf(sid, sizeof(sid), "%08x", m->scan_id);
	for (int i = 0; i < m->unresolved.n; i++) { /* every target given gets a line */
		json_t *h = unresolved_json(m->unresolved.v[i], m->unresolved_why.v[i], sid);
		report_host(rep, h);
		write_json_line(f, h);
	}
	struct scan_input in = {
	    .targets = &m->targets,
	    .exclude = m->excl.n ? &m->excl : NULL,
	    .done = m->o.resume ? &m->done : NULL,
	    .cat = &m->cat,
	    .message_tmpl = rt_message(m),
	    .key = m->key,
	    .keylen = m->keylen,
	    .scan_id = m->scan_id,
	    .out = f,
	    .on_host = report_on_host,
	    .on_host_arg = rep,
	};
	r.scan = scan_new(loop, &m->o, &in, err, sizeof(err));
	if (!r.scan) {
		fprintf(stderr, "relaytrap: %s\n", err);
		report_free(rep);
		fclose(f);
		if (r.sink)
			sink_free(r.sink);
		return RT_EXIT_FAILURE;
	}
	if (r.sink)
		sink_set_receipt_cb(r.sink, scan_receipt, r.scan);
	struct io_signal *sint = io_signal_new(loop, SIGINT, on_signal, &r);
	struct io_signal *sterm = io_signal_new(loop, SIGTERM, on_signal, &r);
	scan_start(r.scan, scan_done, &r);
	io_loop_run(loop);
	if (r.stopping > 1) /* forced: the scan may not have ended */
		scan_interrupt(r.scan);
	struct scan_stats st;
	scan_get_stats(r.scan, &st);
	st.unresolved = (uint64_t)m->unresolved.n;
	st.final += st.unresolved;
	st.total += st.unresolved;
	st.counts[V_ERROR] += st.unresolved;
	st.pending = m->o.no_sink;
	json_t *sum = scan_summary_json(&st);
	report_run_summary(rep, sum);
	if (st.interrupted)
		report_interrupted(rep, st.final + st.excluded + st.reserved + st.skipped, st.total,
		                   output);
	int rc = write_json_line(f, sum);
	if ((f == stdout ? fflush(f) : fclose(f)) != 0 || rc < 0) {
		fprintf(stderr, "relaytrap: writing %s: %s\n", output, strerror(errno));
		rc = RT_EXIT_FAILURE;
	}
	if (report_finish(rep, err, sizeof(err)) < 0) {
		fprintf(stderr, "relaytrap: %s\n", err);
		rc = RT_EXIT_FAILURE;
	}
	report_free(rep);
	if (!m->o.quiet)
		print_summary(&st, output);
	io_signal_free(sint);
	io_signal_free(sterm);
	if (r.sink)
		sink_free(r.sink);
	scan_free(r.scan);
	if (out_stats)
		*out_stats = st;
	if (rc == RT_EXIT_FAILURE)
		return RT_EXIT_FAILURE;
	if (st.counts[V_OPEN] || st.counts[V_OPEN_ANONYMOUS])
		return RT_EXIT_OPEN;
	return st.interrupted ? RT_EXIT_FAILURE : RT_EXIT_CLEAN;
}

int rt_scan(struct rt_main *m, int argc, char **argv)
{
	struct io_loop *loop = io_loop_new();
	if (!loop) {
		fprintf(stderr, "relaytrap: cannot create the event loop\n");
		return RT_EXIT_FAILURE;
	}
	int rc = rt_scan_in(m, loop, argc, argv, NULL);
	io_loop_free(loop);
	return rc;
}
