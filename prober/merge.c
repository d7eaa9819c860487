/* relaytrap --report: merges results files (shards from several machines, resumed runs) and,
 * for --no-sink scans, correlates them with a standalone sink's receipts, deciding every
 * verdict again with the same rules (and the same --wait window) as an embedded run. Host
 * lines are streamed; only the receipts' index and the (address, port) set stay in memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "correlate.h"
#include "jsonx.h"
#include "knowledge.h"
#include "prober.h"
#include "replies.h"
#include "report.h"

#define RECEIPT_BUCKETS 16384

struct rcpt_ent {
	struct rcpt_ent *next;
	char scan_id[9];
	struct ipaddr ip;
	uint16_t port;
	int test;
	json_t *receipt;
};

struct merge {
	struct rcpt_ent *b[RECEIPT_BUCKETS];
	uint64_t receipts, tokens, used, late, duplicates, hosts, unfinished;
	uint64_t receipts_skipped; /* receipt lines that were not JSON objects */
	struct doneset seen;
	FILE *out;
	struct report *rep;
	/* the run line in force while reading a file */
	char scan_id[9];
	double wait;
	/* scratch for one host */
	struct test_result t[CATALOG_MAX];
	const char *token[CATALOG_MAX]; /* each test's, in the host line */
	struct ipaddr prober[8];
};

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static size_t slot(const char *sid, const struct ipaddr *ip, uint16_t port)
{
	uint64_t seed = strtoul(sid, NULL, 16) ^ ((uint64_t)port << 32);
	return (size_t)(ipaddr_hash(ip, 16, seed) & (RECEIPT_BUCKETS - 1));
}

static void index_receipt(struct merge *mg, json_t *r)
{
	struct receipt_ref refs[16];
	int n = correl_refs(r, refs, 16);
	for (int i = 0; i < n; i++) {
		struct rcpt_ent *e = calloc(1, sizeof(*e));
		if (!e)
			return;
		memcpy(e->scan_id, refs[i].scan_id, 9);
		e->ip = refs[i].target;
		e->port = refs[i].port;
		e->test = refs[i].test;
		e->receipt = json_incref(r);
		size_t k = slot(e->scan_id, &e->ip, e->port);
		e->next = mg->b[k];
		mg->b[k] = e;
		mg->tokens++;
	}
}

static int on_receipt(struct merge *mg, json_t *o);

/* Calls fn for every JSON line of path; a torn last line is tolerated. */
static int each_line(const char *path, const char *what, int (*fn)(struct merge *, json_t *),
                     struct merge *mg, char *err, size_t errlen)
{
	struct jsonl r = {.f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r")};
	if (!r.f) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	int rc = 0;
	json_t *o;
	enum jsonl_status st;
	while (rc == 0 && (st = jsonl_next(&r, &o)) != JSONL_END) {
		if (st == JSONL_TORN) {
			fprintf(stderr, "relaytrap: %s:%d: torn last line ignored\n", path,
			        r.lineno);
			break;
		}
		if ((st == JSONL_TOO_LONG || st == JSONL_BAD) && fn == on_receipt) {
			/* one damaged receipt (a full disk, a torn write) costs that receipt only
			 */
			fprintf(stderr, "relaytrap: %s:%d: %s; skipped\n", path, r.lineno,
			        st == JSONL_BAD ? "not a JSON object" : "line too long");
			mg->receipts_skipped++;
			continue;
		}
		if (st == JSONL_TOO_LONG) {
			snprintf(err, errlen, "%s:%d: line longer than %u bytes", path, r.lineno,
			         JSONL_LINE_MAX);
			rc = -1;
			break;
		}
		if (st == JSONL_BAD) {
			snprintf(err, errlen, "%s:%d: not a JSON object: %s", path, r.lineno,
			         r.je.text);
			rc = -1;
			break;
		}
		rc = fn(mg, o);
		if (rc < 0)
			snprintf(
			    err, errlen, "%s:%d: %s", path, r.lineno,
			    rc == -2   ? "host line without a valid addr/port"
			    : rc == -3 ? "a sink's receipt: give receipts files with --receipts"
			    : rc == -4 ? "not a relaytrap results line (no type run, host or "
			                 "summary)"
			    : rc == -5 ? "not a sink's receipt (a results file goes after --report)"
			               : "out of memory");
		json_decref(o);
	}
	if (ferror(r.f) && rc == 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		rc = -1;
	}
	jsonl_free(&r);
	if (r.f != stdin)
		fclose(r.f);
	return rc < 0 ? -1 : 0;
}

static int on_receipt(struct merge *mg, json_t *o)
{
	if (strcmp(str(o, "type"), "receipt") != 0)
		return -5;
	mg->receipts++;
	index_receipt(mg, o);
	return 0;
}

static int write_line(struct merge *mg, const json_t *o)
{
	if (!mg->out)
		return 0;
	size_t len;
	char *line = jsonx_line(o, &len);
	int rc = line && fwrite(line, 1, len, mg->out) == len ? 0 : -1;
	free(line);
	return rc;
}

/* ---- one host ---- */

static enum session_end end_of(const json_t *h, int ntests)
{
	const char *e = str(h, "session_end");
	for (int i = 1; i <= END_ERROR; i++)
		if (strcmp(e, session_end_names[i]) == 0)
			return (enum session_end)i;
	switch (verdict_from_name(str(h, "verdict"))) { /* a line from before session_end */
	case V_REFUSED:
		return END_REFUSED;
	case V_NOT_SMTP:
		return END_NOT_SMTP;
	case V_UNREACHABLE:
		return END_UNREACHABLE;
	default:
		return ntests ? END_TESTS : END_ERROR;
	}
}

static int outcome_of(const char *name)
{
	for (int i = 0; i < OUT_COUNT; i++)
		if (strcmp(name, outcome_names[i]) == 0)
			return i;
	return OUT_ERROR;
}

/* The tests as the verdict sees them; texts are borrowed from the JSON. */
static int load_tests(struct merge *mg, const json_t *tests)
{
	int nt = 0;
	size_t i;
	const json_t *j;
	json_array_foreach(tests, i, j)
	{
		if (nt >= CATALOG_MAX)
			break;
		mg->token[nt] = str(j, "token");
		struct test_result *t = &mg->t[nt++];
		memset(t, 0, sizeof(*t));
		json_int_t num = json_integer_value(json_object_get(j, "test_number"));
		t->test = (uint8_t)(num >= 0 && num < CATALOG_MAX ? num : CATALOG_MAX);
		t->outcome = (enum outcome)outcome_of(str(j, "outcome"));
		t->accepted_at = json_number_value(json_object_get(j, "accepted_at"));
		const char *via = json_string_value(json_object_get(j, "via"));
		int v = via ? via_from_name(via) : VIA_NONE;
		t->via = v > 0 ? (enum via)v : VIA_NONE;
		t->transport = transport_of(json_string_value(json_object_get(j, "transport")));
		const json_t *rep = json_object_get(j, "replies");
		for (int s = 0; s < ST_COUNT; s++) {
			const json_t *r = json_object_get(rep, stage_names[s]);
			json_int_t code = json_integer_value(json_object_get(r, "code"));
			if (code > 0 && code < 1000) { /* the last kept decides, as in the client */
				t->code[s] = (uint16_t)code;
				t->syntax = reply_syntax_only((int)code, str(r, "text"));
			}
		}
	}
	return nt;
}

static struct test_result *test_by_number(struct merge *mg, int nt, int test)
{
	for (int i = 0; i < nt; i++)
		if (mg->t[i].test == test)
			return &mg->t[i];
	return NULL;
}

static const char *test_name(const json_t *h, int test)
{
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(h, "tests"), i, v)
	{
		if (json_integer_value(json_object_get(v, "test_number")) == test)
			return str(v, "name");
	}
	return "";
}

/* The host line again, with what correlation decided: verdict, reason, flags, counts, every
 * test's outcome and delivered, the evidence arrays. */
static void update_host(json_t *h, const struct verdict_out *vo, const struct correl *c,
                        const struct test_result *t, int nt)
{
	char a[ADDR_TEXT_MAX];
	json_object_set_new(h, "verdict", json_string(verdict_names[vo->v]));
	if (vo->reason[0])
		json_object_set_new(h, "reason", json_string(vo->reason));
	json_object_set_new(h, "flags", verdict_flags(vo, json_object_get(h, "flags")));
	json_object_set_new(h, "delivered_via",
	                    vo->multi_hop
	                        ? json_string(ipaddr_str(&vo->delivered_via, a, sizeof(a)))
	                        : json_null());
	json_object_set_new(h, "tests_accepted", json_integer(vo->accepted));
	json_object_set_new(h, "tests_delivered", json_integer(vo->delivered));
	json_object_set_new(h, "tests_bounced", json_integer(vo->bounced));
	size_t i;
	json_t *jt;
	json_array_foreach(json_object_get(h, "tests"), i, jt)
	{
		if (i >= (size_t)nt)
			break;
		int got = 0;
		for (int k = 0; k < c->nd && !got; k++)
			got = c->d[k].test == t[i].test;
		json_object_set_new(jt, "delivered", json_boolean(got));
		json_object_set_new(jt, "outcome", json_string(outcome_names[t[i].outcome]));
	}
	json_object_set_new(h, "deliveries", correl_list(c->deliveries));
	json_object_set_new(h, "bounces", correl_list(c->bounces));
	json_object_set_new(h, "auto_replies", correl_list(c->auto_replies));
}

static int on_host(struct merge *mg, json_t *h)
{
	struct ipaddr addr;
	json_int_t port = json_integer_value(json_object_get(h, "port"));
	if (json_is_false(json_object_get(h, "final"))) {
		mg->unfinished++; /* interrupted while waiting; a resumed run has its final line */
		return 0;
	}
	if (json_is_null(json_object_get(h, "addr")) &&
	    json_is_string(json_object_get(h, "name"))) {
		mg->hosts++; /* a name that did not resolve: nothing to correlate */
		report_host(mg->rep, h);
		return write_line(mg, h);
	}
	if (ipaddr_parse(str(h, "addr"), &addr) < 0 || port <= 0 || port > 65535)
		return -2;
	if (doneset_has(&mg->seen, &addr, (uint16_t)port)) {
		mg->duplicates++;
		return 0;
	}
	if (doneset_add(&mg->seen, &addr, (uint16_t)port) < 0)
		return -1;
	mg->hosts++;
	const char *sid = *str(h, "scan_id") ? str(h, "scan_id") : mg->scan_id;
	int nt = load_tests(mg, json_object_get(h, "tests"));
	int np = 0;
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(h, "prober_addrs"), i, v)
	{
		if (np < 8 && ipaddr_parse(json_string_value(v) ?: "", &mg->prober[np]) == 0)
			np++;
	}
	if (np < 8 && ipaddr_parse(str(h, "ehlo_reported"), &mg->prober[np]) == 0)
		np++;
	struct correl c;
	if (correl_init(&c, nt) < 0)
		return -1;
	correl_load(&c, h, mg->t, nt);
	/* the same window as an embedded run */
	double ended = json_number_value(json_object_get(h, "started")) +
	               json_number_value(json_object_get(h, "seconds"));
	double deadline = correl_deadline(mg->t, nt, ended, mg->wait);
	for (struct rcpt_ent *e = mg->b[slot(sid, &addr, (uint16_t)port)]; e; e = e->next) {
		if (e->port != port || !ipaddr_eq(&e->ip, &addr) || strcmp(e->scan_id, sid) != 0)
			continue;
		struct test_result *t = test_by_number(mg, nt, e->test);
		if (!t)
			continue;
		if (json_number_value(json_object_get(e->receipt, "unix_time")) > deadline) {
			mg->late++;
			continue;
		}
		if (correl_add(&c, e->receipt, t, test_name(h, e->test), mg->token[t - mg->t],
		               mg->prober, np) != ARRIVAL_IGNORED)
			mg->used++;
	}
	struct verdict_out vo;
	correl_verdict(&c, end_of(h, nt), mg->t, nt, &addr, mg->prober, np, &vo);
	update_host(h, &vo, &c, mg->t, nt);
	knowledge_annotate(knowledge_active(), h); /* with this run's files */
	correl_free(&c);
	report_host(mg->rep, h);
	return write_line(mg, h);
}

static int on_result(struct merge *mg, json_t *o)
{
	const char *type = str(o, "type");
	if (strcmp(type, "run") == 0) {
		snprintf(mg->scan_id, sizeof(mg->scan_id), "%s", str(o, "scan_id"));
		mg->wait = json_number_value(json_object_get(o, "wait"));
		report_run(mg->rep, o);
		return write_line(mg, o);
	}
	if (strcmp(type, "summary") == 0) {
		report_run_summary(mg->rep, o);
		return 0;
	}
	if (strcmp(type, "host") == 0)
		return on_host(mg, o);
	return strcmp(type, "receipt") == 0 ? -3 : -4;
}

static json_t *merged_summary(const struct merge *mg, const uint64_t *counts)
{
	json_t *o = json_object(), *c = json_object();
	json_object_set_new(o, "type", json_string("summary"));
	json_object_set_new(o, "merged", json_true());
	json_object_set_new(o, "hosts", json_integer((json_int_t)mg->hosts));
	for (int v = 0; v < V_COUNT; v++)
		json_object_set_new(c, verdict_names[v], json_integer((json_int_t)counts[v]));
	json_object_set_new(o, "counts", c);
	json_object_set_new(o, "duplicates", json_integer((json_int_t)mg->duplicates));
	json_object_set_new(o, "unfinished", json_integer((json_int_t)mg->unfinished));
	json_object_set_new(o, "receipts", json_integer((json_int_t)mg->receipts));
	json_object_set_new(o, "receipts_used", json_integer((json_int_t)mg->used));
	json_object_set_new(o, "receipts_skipped", json_integer((json_int_t)mg->receipts_skipped));
	json_object_set_new(o, "late_deliveries", json_integer((json_int_t)mg->late));
	return o;
}

static void merge_free(struct merge *mg)
{
	for (size_t i = 0; i < RECEIPT_BUCKETS; i++)
		for (struct rcpt_ent *e = mg->b[i], *nx; e; e = nx) {
			nx = e->next;
			json_decref(e->receipt);
			free(e);
		}
	doneset_free(&mg->seen);
	report_free(mg->rep);
	if (mg->out)
		fclose(mg->out);
	free(mg);
}

int rt_report(struct rt_main *m, char **files, int nfiles)
{
	char err[700];
	struct merge *mg = calloc(1, sizeof(*mg));
	if (!mg) {
		fprintf(stderr, "relaytrap: out of memory\n");
		return RT_EXIT_FAILURE;
	}
	int rc = 0;
	for (int i = 0; i < m->o.receipts.n && !rc; i++)
		rc = each_line(m->o.receipts.v[i], "--receipts", on_receipt, mg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "relaytrap: %s\n", err);
		merge_free(mg);
		return RT_EXIT_USAGE;
	}
	if (!m->hostname[0] &&
	    (gethostname(m->hostname, sizeof(m->hostname) - 1) < 0 || !m->hostname[0]))
		snprintf(m->hostname, sizeof(m->hostname), "localhost");
	struct report_opts ro = {.html = m->o.html,
	                         .csv = m->o.csv,
	                         .text = m->o.quiet ? NULL : stdout,
	                         .version = RT_VERSION,
	                         .notices = m->o.notices,
	                         .notice_tmpl = rt_notice_template(m),
	                         .contact = m->o.contact,
	                         .prober_host = m->hostname};
	if (!(mg->rep = report_new(&ro, err, sizeof(err)))) {
		fprintf(stderr, "relaytrap: %s\n", err);
		merge_free(mg);
		return RT_EXIT_FAILURE;
	}
	if (m->o.output && !(mg->out = fopen(m->o.output, "w"))) {
		fprintf(stderr, "relaytrap: --output %s: %s\n", m->o.output, strerror(errno));
		merge_free(mg);
		return RT_EXIT_FAILURE;
	}
	for (int i = 0; i < nfiles && !rc; i++) {
		mg->scan_id[0] = '\0';
		mg->wait = m->o.wait;
		rc = each_line(files[i], "--report", on_result, mg, err, sizeof(err));
	}
	if (rc) {
		fprintf(stderr, "relaytrap: %s\n", err);
		merge_free(mg);
		return RT_EXIT_USAGE;
	}
	const uint64_t *counts = report_counts(mg->rep);
	json_t *sum = merged_summary(mg, counts);
	rc = write_line(mg, sum);
	json_decref(sum);
	if (mg->out) {
		if (fclose(mg->out) != 0)
			rc = -1;
		mg->out = NULL;
		if (rc < 0)
			fprintf(stderr, "relaytrap: --output %s: %s\n", m->o.output,
			        strerror(errno));
	}
	if (report_finish(mg->rep, err, sizeof(err)) < 0) {
		fprintf(stderr, "relaytrap: %s\n", err);
		rc = -1;
	}
	if (!m->o.quiet) {
		if (mg->duplicates)
			fprintf(stderr,
			        "relaytrap: %llu duplicate host lines ignored (first kept)\n",
			        (unsigned long long)mg->duplicates);
		if (m->o.receipts.n)
			fprintf(
			    stderr,
			    "relaytrap: %llu receipts, %llu matched to a test (relayed, bounced or "
			    "auto-replied), %llu after their host's --wait window (not counted)\n",
			    (unsigned long long)mg->receipts, (unsigned long long)mg->used,
			    (unsigned long long)mg->late);
		if (mg->receipts_skipped)
			fprintf(stderr, "relaytrap: %llu damaged receipt lines skipped\n",
			        (unsigned long long)mg->receipts_skipped);
	}
	int open = counts[V_OPEN] || counts[V_OPEN_ANONYMOUS];
	merge_free(mg);
	return rc < 0 ? RT_EXIT_FAILURE : open ? RT_EXIT_OPEN : RT_EXIT_CLEAN;
}
