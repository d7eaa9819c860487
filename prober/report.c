#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "html.h"
#include "jsonx.h"
#include "knowledge.h"
#include "log.h"
#include "notice.h"

/* The verdicts the text summary lists host by host, with the heading of each list. */
static const struct {
	enum verdict v;
	const char *title;
} listed[] = {
    {V_OPEN_ANONYMOUS, "anonymous open relays (relayed mail arrived without the prober's "
                       "address in its trace headers)"},
    {V_OPEN, "open relays (relayed mail arrived)"},
    {V_ACCEPTED, "accepted relay tests, but no relayed message arrived within --wait"},
    {V_ERROR, "targets whose names gave no address (not scanned)"},
};
#define NLISTED (sizeof(listed) / sizeof(listed[0]))

struct report {
	struct report_opts o;
	struct html *html;
	FILE *csv;
	char *csv_tmp;
	int interrupted;
	uint64_t done, total;
	const char *output;
	json_t *runs, *summaries;
	uint64_t counts[V_COUNT];
	char *lines[NLISTED][REPORT_LIST_MAX];
	int nlines[NLISTED];
	/* the fix paragraphs the hosts that need one point to, each once, with their hosts */
	const struct advice_entry *fix[ADVICE_MAX];
	uint64_t nfixed[ADVICE_MAX];
	int nfix;
	uint64_t notices, notices_failed;
	char notice_err[4400]; /* the first failure */
};

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

struct report *report_new(const struct report_opts *o, char *err, size_t errlen)
{
	struct report *r = calloc(1, sizeof(*r));
	if (!r || !(r->runs = json_array()) || !(r->summaries = json_array())) {
		snprintf(err, errlen, "out of memory");
		report_free(r);
		return NULL;
	}
	r->o = *o;
	if (o->notices && mkdir(o->notices, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "--notices %s: %s", o->notices, strerror(errno));
		report_free(r);
		return NULL;
	}
	if (o->notices && access(o->notices, W_OK | X_OK) < 0) {
		snprintf(err, errlen, "--notices %s: %s", o->notices, strerror(errno));
		report_free(r);
		return NULL;
	}
	if (o->html && !(r->html = html_new(o->html, err, errlen))) {
		report_free(r);
		return NULL;
	}
	if (o->csv) { /* written to PATH.tmp, renamed at the end: a failed run leaves no half
		       * table and an older one untouched */
		size_t n = strlen(o->csv) + 5;
		if ((r->csv_tmp = malloc(n)))
			snprintf(r->csv_tmp, n, "%s.tmp", o->csv);
		if (!r->csv_tmp || !(r->csv = fopen(r->csv_tmp, "w"))) {
			snprintf(err, errlen, "--csv %s: %s", r->csv_tmp ? r->csv_tmp : o->csv,
			         r->csv_tmp ? strerror(errno) : "out of memory");
			report_free(r);
			return NULL;
		}
		report_csv_header(r->csv);
	}
	return r;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	html_free(r->html);
	if (r->csv) { /* not finished */
		fclose(r->csv);
		unlink(r->csv_tmp);
	}
	free(r->csv_tmp);
	json_decref(r->runs);
	json_decref(r->summaries);
	for (size_t k = 0; k < NLISTED; k++)
		for (int i = 0; i < r->nlines[k] && i < REPORT_LIST_MAX; i++)
			free(r->lines[k][i]);
	free(r);
}

const uint64_t *report_counts(const struct report *r)
{
	return r->counts;
}

void report_run(struct report *r, const json_t *run)
{
	if (json_array_size(r->runs) >= REPORT_RUNS_MAX)
		return;
	json_t *c = json_deep_copy(run);
	json_object_del(c, "argv");
	json_array_append_new(r->runs, c);
	json_array_append_new(r->summaries, json_null());
}

void report_run_summary(struct report *r, const json_t *summary)
{
	size_t n = json_array_size(r->runs);
	if (n && n <= REPORT_RUNS_MAX)
		json_array_set_new(r->summaries, n - 1, json_deep_copy(summary));
}

/* ---- CSV ---- */

void report_csv_header(FILE *f)
{
	fputs("address,port,verdict,flags,fingerprint,first_accepted_test,delivered_tests,banner,"
	      "version,os,fingerprint_source,advisories\r\n",
	      f);
}

/* The server said 250 at the end of data (a bounced test was accepted first). */
static int was_accepted(const json_t *t)
{
	return strcmp(str(t, "outcome"), "accepted") == 0 ||
	       strcmp(str(t, "outcome"), "bounced") == 0;
}

static const char *first_accepted(const json_t *host)
{
	size_t i;
	const json_t *t;
	json_array_foreach(json_object_get(host, "tests"), i, t)
	{
		if (was_accepted(t))
			return str(t, "name");
	}
	return "";
}

static int has_flag(const json_t *h, const char *flag)
{
	return jsonx_array_has(json_object_get(h, "flags"), flag);
}

/* "CVE-2019-10149 (critical), ..." from the host's advisories; "" when none. */
static void advisory_ids(const json_t *h, char *out, size_t outlen)
{
	size_t i, o = 0;
	const json_t *a;
	out[0] = '\0';
	json_array_foreach(json_object_get(h, "advisories"), i, a)
	{
		int n = snprintf(out + o, outlen - o, "%s%s (%s)", i ? ", " : "", str(a, "id"),
		                 str(a, "severity"));
		if (n < 0 || (size_t)n >= outlen - o)
			break;
		o += (size_t)n;
	}
}

void report_csv_row(FILE *f, const json_t *h)
{
	esc_csv(f, json_is_null(json_object_get(h, "addr")) ? str(h, "name") : str(h, "addr"));
	if (json_is_integer(json_object_get(h, "port")))
		fprintf(f, ",%lld,", (long long)json_integer_value(json_object_get(h, "port")));
	else
		fputs(",,", f); /* a name that did not resolve */
	esc_csv(f, str(h, "verdict"));
	fputc(',', f);
	char flags[256] = "";
	size_t i, o = 0;
	const json_t *v;
	json_array_foreach(json_object_get(h, "flags"), i, v)
	{
		int n = snprintf(flags + o, sizeof(flags) - o, "%s%s", i ? " " : "",
		                 json_string_value(v) ? json_string_value(v) : "");
		if (n < 0 || (size_t)n >= sizeof(flags) - o)
			break;
		o += (size_t)n;
	}
	esc_csv(f, flags);
	fputc(',', f);
	esc_csv(f, knowledge_product(h));
	fputc(',', f);
	esc_csv(f, first_accepted(h));
	fprintf(f, ",%lld,", (long long)json_integer_value(json_object_get(h, "tests_delivered")));
	esc_csv(f, str(h, "banner"));
	const json_t *fp = json_object_get(h, "fingerprint");
	fputc(',', f);
	esc_csv(f, str(fp, "version"));
	fputc(',', f);
	esc_csv(f, str(fp, "os"));
	fputc(',', f);
	esc_csv(f, str(fp, "source"));
	fputc(',', f);
	char ids[512];
	advisory_ids(h, ids, sizeof(ids));
	esc_csv(f, ids);
	fputs("\r\n", f);
}

/* ---- text summary ---- */

/* "ADDR port P [name] via X: fell for a, b (2 delivered of 3 accepted)"; a host that
 * accepted and delivered nothing "accepted a, b (...)"; a bouncing or partial one adds its
 * reason. */
void report_text_line(FILE *f, const json_t *h)
{
	if (json_is_null(json_object_get(h, "addr"))) { /* a name that did not resolve */
		fprintf(f, "  %s\n", str(h, "reason"));
		return;
	}
	int open = verdict_from_name(str(h, "verdict")) <= V_OPEN;
	fprintf(f, "  %s port %lld", str(h, "addr"),
	        (long long)json_integer_value(json_object_get(h, "port")));
	if (*str(h, "target_host") && strcmp(str(h, "target_host"), str(h, "addr")) != 0)
		fprintf(f, " (%s%s)", str(h, "target_host"),
		        strcmp(str(h, "target_host_from"), "ptr") == 0 ? ", PTR" : "");
	char fp[FP_PRODUCT_MAX + FP_VERSION_MAX + FP_OS_MAX + 8];
	knowledge_label(h, fp, sizeof(fp));
	if (*fp)
		fprintf(f, " [%s]", fp);
	if (*str(h, "delivered_via"))
		fprintf(f, " via %s", str(h, "delivered_via"));
	fputs(open ? ": fell for " : ": accepted ", f);
	const json_t *tests = json_object_get(h, "tests"), *t;
	size_t i, hits = 0;
	json_array_foreach(tests, i, t) hits +=
	    open ? json_is_true(json_object_get(t, "delivered")) : was_accepted(t);
	if (hits > 3 && hits == json_array_size(tests)) {
		fprintf(f, "all %zu tests", hits);
	} else {
		int n = 0;
		json_array_foreach(tests, i, t)
		{
			int hit =
			    open ? json_is_true(json_object_get(t, "delivered")) : was_accepted(t);
			if (hit)
				fprintf(f, "%s%s", n++ ? ", " : "", str(t, "name"));
		}
	}
	fprintf(f, " (%lld delivered of %lld accepted)",
	        (long long)json_integer_value(json_object_get(h, "tests_delivered")),
	        (long long)json_integer_value(json_object_get(h, "tests_accepted")));
	if ((has_flag(h, "bounces") || has_flag(h, "partial")) && *str(h, "reason"))
		fprintf(f, "; %s", str(h, "reason"));
	fputc('\n', f);
	char ids[512];
	advisory_ids(h, ids, sizeof(ids));
	if (*ids) /* the version is what the server said: no more is claimed */
		fprintf(f, "    known holes by %s: %s\n",
		        str(json_array_get(json_object_get(h, "advisories"), 0), "by"), ids);
}

static void keep_line(struct report *r, size_t k, const json_t *h)
{
	if (r->nlines[k] < REPORT_LIST_MAX) {
		char *p = NULL;
		size_t n = 0;
		FILE *m = open_memstream(&p, &n);
		if (!m)
			return;
		report_text_line(m, h);
		fclose(m);
		/* The lines go to a terminal: no escape sequences from the network. */
		char e[4096];
		size_t o = 0;
		for (char *line = p, *nl; line && *line && o + 1 < sizeof(e); line = nl + 1) {
			if (!(nl = strchr(line, '\n')))
				break;
			if (o)
				e[o++] = '\n';
			log_escape(e + o, sizeof(e) - o, line, (size_t)(nl - line));
			o += strlen(e + o);
		}
		e[o] = '\0';
		free(p);
		if (!(r->lines[k][r->nlines[k]] = strdup(e)))
			return;
	}
	r->nlines[k]++;
}

/* The notice for an open relay, written to NAME.tmp and renamed: a reader never sees half. */
static void write_notice(struct report *r, const json_t *h)
{
	char name[200], path[4096], tmp[4200];
	struct notice_ctx ctx = {.contact = r->o.contact,
	                         .prober_host = r->o.prober_host ? r->o.prober_host : "localhost",
	                         .fix = knowledge_advice(knowledge_active(), h),
	                         .now = (double)time(NULL)};
	notice_filename(h, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", r->o.notices, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	char *msg = notice_render(r->o.notice_tmpl, h, &ctx);
	FILE *f = msg ? fopen(tmp, "w") : NULL;
	int ok = f && fputs(msg, f) >= 0;
	ok = f && fclose(f) == 0 && ok && rename(tmp, path) == 0;
	if (ok) {
		r->notices++;
	} else {
		if (!r->notices_failed++)
			snprintf(r->notice_err, sizeof(r->notice_err), "--notices %s: %s", path,
			         msg ? strerror(errno) : "out of memory");
		unlink(tmp);
	}
	free(msg);
}

void report_host(struct report *r, const json_t *h)
{
	int v = verdict_from_name(str(h, "verdict"));
	if (v < 0)
		v = V_ERROR;
	r->counts[v]++;
	if (r->html)
		html_host(r->html, h);
	if (r->csv)
		report_csv_row(r->csv, h);
	/* errors are listed only for names that did not resolve: the rest are in the file */
	int unresolved = json_is_null(json_object_get(h, "addr"));
	for (size_t k = 0; k < NLISTED && r->o.text; k++)
		if (listed[k].v == (enum verdict)v && (v != V_ERROR || unresolved))
			keep_line(r, k, h);
	if (r->o.notices && (v == V_OPEN || v == V_OPEN_ANONYMOUS))
		write_notice(r, h);
	const struct advice_entry *fix = knowledge_advice(knowledge_active(), h);
	int i = 0;
	while (fix && i < r->nfix && r->fix[i] != fix)
		i++;
	if (fix && i < ADVICE_MAX) {
		r->fix[i] = fix;
		r->nfixed[i]++;
		r->nfix += i == r->nfix;
	}
}

/* text, word-wrapped to 78 columns, each line indented by four spaces */
static void wrapped(FILE *f, const char *text)
{
	const char *p = text;
	while (*p) {
		size_t n = strlen(p), cut = n;
		if (n > 74) {
			cut = 74;
			while (cut > 20 && p[cut] != ' ')
				cut--;
		}
		fprintf(f, "    %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

static void fix_advice(const struct report *r, FILE *f)
{
	if (r->nfix)
		fputs("how to close relaying (hosts that relayed, accepted or bounced tests):\n",
		      f);
	for (int i = 0; i < r->nfix; i++) {
		fprintf(f, "  %s (%llu host%s):\n", r->fix[i]->name,
		        (unsigned long long)r->nfixed[i], r->nfixed[i] == 1 ? "" : "s");
		wrapped(f, r->fix[i]->text);
	}
}

static void text_summary(struct report *r, FILE *f)
{
	uint64_t total = 0;
	for (int v = 0; v < V_COUNT; v++)
		total += r->counts[v];
	fprintf(f, "relaytrap: %llu host%s\n", (unsigned long long)total, total == 1 ? "" : "s");
	for (int v = 0; v < V_COUNT; v++)
		if (r->counts[v])
			fprintf(f, "  %-15s %llu\n", verdict_names[v],
			        (unsigned long long)r->counts[v]);
	for (size_t k = 0; k < NLISTED; k++) {
		if (!r->nlines[k])
			continue;
		fprintf(f, "%s:\n", listed[k].title);
		for (int i = 0; i < r->nlines[k] && i < REPORT_LIST_MAX; i++)
			fprintf(f, "%s\n", r->lines[k][i]);
		if (r->nlines[k] > REPORT_LIST_MAX)
			fprintf(f, "  ... and %d more (see the results file)\n",
			        r->nlines[k] - REPORT_LIST_MAX);
	}
	fix_advice(r, f);
	if (r->o.notices)
		fprintf(f,
		        "%llu notice%s for the owners of open relays in %s (review, then send them "
		        "yourself: relaytrap sends nothing)\n",
		        (unsigned long long)r->notices, r->notices == 1 ? "" : "s", r->o.notices);
	if (r->interrupted)
		fprintf(
		    f,
		    "interrupted: %llu of %llu targets final; finish with relaytrap --resume %s "
		    "and the same options\n",
		    (unsigned long long)r->done, (unsigned long long)r->total, r->output);
	else if (r->o.pending)
		fprintf(f,
		        "no verdict on relaying yet: this scan ran without a sink (--no-sink); "
		        "decide them with relaytrap --report %s --receipts RECEIPTS\n",
		        r->o.pending);
	else if (!r->counts[V_OPEN] && !r->counts[V_OPEN_ANONYMOUS])
		fputs("no open relay found\n", f);
}

void report_interrupted(struct report *r, uint64_t done, uint64_t total, const char *output)
{
	r->interrupted = 1;
	r->done = done;
	r->total = total;
	r->output = output;
}

int report_finish(struct report *r, char *err, size_t errlen)
{
	int rc = 0;
	if (r->notices_failed) {
		snprintf(err, errlen, "%s (%llu notices not written)", r->notice_err,
		         (unsigned long long)r->notices_failed);
		rc = -1;
	}
	if (r->html && html_finish(r->html, r->runs, r->summaries, r->o.version, err, errlen) < 0)
		rc = -1;
	if (r->csv) {
		int bad = ferror(r->csv);
		if (fclose(r->csv) != 0 || bad || rename(r->csv_tmp, r->o.csv) < 0) {
			if (!rc)
				snprintf(err, errlen, "--csv %s: %s", r->o.csv, strerror(errno));
			unlink(r->csv_tmp);
			rc = -1;
		}
		r->csv = NULL;
	}
	if (r->o.text) {
		text_summary(r, r->o.text);
		fflush(r->o.text);
	}
	return rc;
}
