/* The HTML report (docs/design.md "Output"): one self-contained page, inline CSS and a little
 * inline JS, no external assets. Host rows are written as they come into one temporary file per
 * verdict; html_finish writes the page (run facts, counts, then the rows with anonymous and
 * open relays first) to PATH.tmp and renames it. Every string from a results file passes
 * through esc_html. */
#include "html.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "escape.h"
#include "knowhtml.h"
#include "knowledge.h"
#include "legend.h"
#include "outcome.h"

struct html {
	char *path, *tmp;
	FILE *page; /* PATH.tmp, opened at the start so that a bad path fails before the scan */
	FILE *rows[V_COUNT];
	uint64_t nrows[V_COUNT];
	FILE *vuln; /* rows of the "outdated or vulnerable software" section */
	uint64_t nvuln;
};

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

struct html *html_new(const char *path, char *err, size_t errlen)
{
	struct html *h = calloc(1, sizeof(*h));
	if (!h || !(h->path = strdup(path))) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	size_t plen = strlen(path) + 5;
	if (!(h->tmp = malloc(plen))) {
		snprintf(err, errlen, "out of memory");
		html_free(h);
		return NULL;
	}
	snprintf(h->tmp, plen, "%s.tmp", path);
	if (!(h->page = fopen(h->tmp, "w"))) {
		snprintf(err, errlen, "--html %s: %s", h->tmp, strerror(errno));
		html_free(h);
		return NULL;
	}
	int ok = (h->vuln = tmpfile()) != NULL;
	for (int v = 0; v < V_COUNT && ok; v++)
		ok = (h->rows[v] = tmpfile()) != NULL;
	if (!ok) {
		snprintf(err, errlen, "--html %s: temporary file: %s", path, strerror(errno));
		html_free(h);
		return NULL;
	}
	return h;
}

void html_free(struct html *h)
{
	if (!h)
		return;
	for (int v = 0; v < V_COUNT; v++)
		if (h->rows[v])
			fclose(h->rows[v]);
	if (h->vuln)
		fclose(h->vuln);
	if (h->page) { /* not finished: no half page left behind */
		fclose(h->page);
		unlink(h->tmp);
	}
	free(h->tmp);
	free(h->path);
	free(h);
}

/* ---- one host ---- */

static void joined(FILE *f, const json_t *arr, const char *sep)
{
	size_t i;
	const json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (i)
			fputs(sep, f);
		esc_html(f, json_string_value(v));
	}
}

static void tests_table(FILE *f, const json_t *tests)
{
	fputs("<div class=\"sc\"><table class=\"t\"><thead><tr><th>test</th><th>MAIL FROM</th>"
	      "<th>RCPT TO</th><th>replies</th><th>outcome</th><th>delivered</th></tr></thead>"
	      "<tbody>\n",
	      f);
	size_t i;
	const json_t *t;
	json_array_foreach(tests, i, t)
	{
		const char *oc = str(t, "outcome");
		int dl = json_is_true(json_object_get(t, "delivered"));
		fprintf(f, "<tr class=\"o-%s%s\"><td>",
		        !strcmp(oc, "accepted")  ? "a"
		        : !strcmp(oc, "bounced") ? "b"
		                                 : "x",
		        dl ? " dl" : "");
		esc_html(f, str(t, "name"));
		fputs("</td><td><code>", f);
		esc_html(f, str(t, "mail_from"));
		fputs("</code></td><td><code>", f);
		esc_html(f, str(t, "rcpt_to"));
		fputs("</code>", f);
		if (json_object_get(t, "helo")) {
			fputs("<br><small>HELO ", f);
			esc_html(f, str(t, "helo"));
			fputs("</small>", f);
		}
		fputs("</td><td>", f);
		const json_t *rep = json_object_get(t, "replies");
		for (int s = 0; s < ST_COUNT; s++) {
			const json_t *r = json_object_get(rep, stage_names[s]);
			if (!r)
				continue;
			fputs("<div><b>", f); /* a results file's "via" is untrusted text too */
			esc_html(f, s == ST_PATH ? str(t, "via") : stage_names[s]);
			fprintf(f, "</b> %lld <span class=\"rt\">",
			        (long long)json_integer_value(json_object_get(r, "code")));
			esc_html(f, str(r, "text"));
			fputs("</span></div>", f);
		}
		fputs("</td><td>", f);
		esc_html(f, oc);
		fprintf(f, "</td><td>%s</td></tr>\n", dl ? "yes" : "");
	}
	fputs("</tbody></table></div>\n", f);
}

static void received_list(FILE *f, const json_t *rcv)
{
	if (!json_array_size(rcv)) {
		fputs("<p class=\"miss\">no Received header arrived</p>\n", f);
		return;
	}
	fputs("<ol class=\"rcv\">", f);
	size_t i;
	const json_t *r;
	json_array_foreach(rcv, i, r)
	{
		fputs("<li><code>", f);
		esc_html(f, str(r, "raw"));
		fputs("</code>", f);
		if (json_is_true(json_object_get(r, "parsed"))) {
			fputs(" <small>(", f);
			esc_html(f, str(r, "family"));
			if (*str(r, "from_addr")) {
				fputs("; from ", f);
				esc_html(f, str(r, "from_addr"));
			}
			if (*str(r, "by")) {
				fputs("; by ", f);
				esc_html(f, str(r, "by"));
			}
			fputs(")</small>", f);
		} else {
			fputs(" <small>(not parsed)</small>", f);
		}
		fputs("</li>", f);
	}
	fputs("</ol>\n", f);
}

static void evidence(FILE *f, const json_t *host, const json_t *ev)
{
	size_t i;
	const json_t *e;
	json_array_foreach(ev, i, e)
	{
		fputs("<div class=\"ev\"><h4>", f);
		esc_html(f, str(e, "test"));
		fputs(": arrived from ", f);
		esc_html(f, str(e, "peer_addr"));
		if (json_object_get(e, "delay"))
			fprintf(f, " %.1f s after acceptance", num(e, "delay"));
		fputs("</h4><p>token found in: ", f);
		joined(f, json_object_get(e, "found_in"), ", ");
		if (json_is_true(json_object_get(e, "tokens_disagree")))
			fputs(" <b>(tokens disagree)</b>", f);
		fputs("</p>", f);
		if (json_is_true(json_object_get(e, "prober_visible"))) {
			fputs("<p>the prober's address is in the trace headers</p>", f);
		} else {
			fputs("<p class=\"miss\">missing: the prober's address (", f);
			joined(f, json_object_get(host, "prober_addrs"), ", ");
			fputs(") appears in no trace header; the relay hides who sent it</p>", f);
		}
		fputs("<p>trace addresses: ", f);
		joined(f, json_object_get(e, "trace_ips"), ", ");
		fputs("</p>", f);
		received_list(f, json_object_get(e, "received"));
		if (*str(e, "maildir_file")) {
			fputs("<p><small>stored as ", f);
			esc_html(f, str(e, "maildir_file"));
			fputs("</small></p>", f);
		}
		if (json_is_integer(json_object_get(e, "spool_offset")))
			fprintf(f,
			        "<p><small>stored in the spool at offset %" JSON_INTEGER_FORMAT
			        "</small></p>",
			        json_integer_value(json_object_get(e, "spool_offset")));
		fputs("</div>\n", f);
	}
}

/* Bounces and auto-replies: what came back to the tests' senders instead of the tests. */
static void returns(FILE *f, const json_t *arr, const char *what)
{
	size_t i;
	const json_t *e;
	json_array_foreach(arr, i, e)
	{
		const json_t *dsn = json_object_get(e, "dsn");
		fputs("<div class=\"ev rb\"><h4>", f);
		esc_html(f, str(e, "test"));
		fprintf(f, ": %s from ", what);
		esc_html(f, str(e, "peer_addr"));
		fputs("</h4><p>subject: ", f);
		esc_html(f, str(e, "subject"));
		fputs("<br>token found in: ", f);
		joined(f, json_object_get(e, "found_in"), ", ");
		fputs("</p>", f);
		if (dsn) {
			static const char *const keys[] = {"status", "action", "diagnostic_code",
			                                   "reporting_mta", "final_recipient"};
			fputs("<dl class=\"kv\">", f);
			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
				if (!*str(dsn, keys[k]))
					continue;
				fprintf(f, "<dt>%s</dt><dd><code>", keys[k]);
				esc_html(f, str(dsn, keys[k]));
				fputs("</code></dd>", f);
			}
			fputs("</dl>", f);
		} else if (*str(e, "auto_reply")) {
			fputs("<p>said so by: ", f);
			esc_html(f, str(e, "auto_reply"));
			fputs("</p>", f);
		}
		fputs("</div>\n", f);
	}
}

static void details(FILE *f, const json_t *h)
{
	const json_t *tests = json_object_get(h, "tests");
	const json_t *ev = json_object_get(h, "deliveries");
	const char *tr = str(h, "transcript");
	fprintf(f,
	        "<tr class=\"d\"><td colspan=\"7\"><details><summary>%zu tests, %lld accepted, "
	        "%lld delivered",
	        json_array_size(tests),
	        (long long)json_integer_value(json_object_get(h, "tests_accepted")),
	        (long long)json_integer_value(json_object_get(h, "tests_delivered")));
	if (json_integer_value(json_object_get(h, "tests_bounced")))
		fprintf(f, ", %lld bounced",
		        (long long)json_integer_value(json_object_get(h, "tests_bounced")));
	fputs("</summary>\n<dl class=\"kv\">", f);
	fputs("<dt>session end</dt><dd>", f);
	esc_html(f, str(h, "session_end"));
	if (*str(h, "reason")) {
		fputs(": ", f);
		esc_html(f, str(h, "reason"));
	}
	fprintf(f, " (%lld connections, %.1f s)</dd>",
	        (long long)json_integer_value(json_object_get(h, "connections")),
	        num(h, "seconds"));
	fputs("<dt>EHLO</dt><dd>", f);
	joined(f, json_object_get(h, "ehlo"), " ");
	fputs("</dd><dt>probed from</dt><dd>", f);
	joined(f, json_object_get(h, "prober_addrs"), ", ");
	if (*str(h, "ehlo_reported")) {
		fputs(" (the server saw ", f);
		esc_html(f, str(h, "ehlo_reported"));
		fputs(")", f);
	}
	fputs("</dd></dl>\n", f);
	if (json_array_size(tests))
		tests_table(f, tests);
	if (json_array_size(ev))
		evidence(f, h, ev);
	returns(f, json_object_get(h, "bounces"), "returned as undeliverable (a bounce)");
	returns(f, json_object_get(h, "auto_replies"), "an auto-reply (not counted)");
	if (*tr) {
		fputs("<h4>dialogue</h4><pre>", f);
		esc_html(f, tr);
		fputs("</pre>\n", f);
	}
	fputs("</details></td></tr>\n", f);
}

void html_host(struct html *hp, const json_t *h)
{
	int v = verdict_from_name(str(h, "verdict"));
	if (v < 0)
		v = V_ERROR;
	FILE *f = hp->rows[v];
	struct ipaddr ip = {0};
	char key[ADDR_SORT_KEY] = "";
	if (ipaddr_parse(str(h, "addr"), &ip) == 0)
		addr_sort_key(&ip, key);
	long long port = (long long)json_integer_value(json_object_get(h, "port"));
	const char *vn = verdict_names[v];
	fprintf(f, "<tbody class=\"h\" data-v=\"%s\" data-r=\"%d\" data-a=\"%s%05lld\" data-f=\"",
	        vn, v, key, port);
	char fp[FP_PRODUCT_MAX + FP_VERSION_MAX + FP_OS_MAX + 8];
	knowledge_label(h, fp, sizeof(fp));
	esc_html(f, fp);
	fprintf(f, "\"><tr class=\"v-%s\"><td>", vn);
	esc_html(f, str(h, "addr"));
	if (*str(h, "target_host") && strcmp(str(h, "target_host"), str(h, "addr")) != 0) {
		fputs("<div class=\"hn\">", f);
		esc_html(f, str(h, "target_host"));
		if (strcmp(str(h, "target_host_from"), "ptr") == 0)
			fputs(" <small>(PTR)</small>", f);
		fputs("</div>", f);
	}
	if (json_is_integer(json_object_get(h, "port")))
		fprintf(f, "</td><td class=\"o\">%lld</td>", port);
	else /* a name that did not resolve */
		fputs("</td><td class=\"o\"></td>", f);
	fprintf(f, "<td><span class=\"vb v-%s\">%s</span></td><td>", vn, vn);
	joined(f, json_object_get(h, "flags"), " ");
	if (*str(h, "delivered_via")) {
		fputs(" via ", f);
		esc_html(f, str(h, "delivered_via"));
	}
	fputs("</td><td class=\"o\">", f);
	esc_html(f, fp);
	knowhtml_badges(f, h);
	fprintf(f, "</td><td>%lld / %lld",
	        (long long)json_integer_value(json_object_get(h, "tests_accepted")),
	        (long long)json_integer_value(json_object_get(h, "tests_delivered")));
	if (json_integer_value(json_object_get(h, "tests_bounced")))
		fprintf(f, " <small>(%lld bounced)</small>",
		        (long long)json_integer_value(json_object_get(h, "tests_bounced")));
	fputs("</td><td class=\"o bn\">", f);
	esc_html(f, *str(h, "banner") ? str(h, "banner") : str(h, "reason"));
	fputs("</td></tr>\n", f);
	knowhtml_advice(f, h);
	if (json_array_size(json_object_get(h, "tests")) || *str(h, "transcript"))
		details(f, h);
	fputs("</tbody>\n", f);
	hp->nrows[v]++;
	hp->nvuln += (uint64_t)knowhtml_rows(hp->vuln, h);
}

/* ---- the page ---- */

static void legend_row(FILE *f, const struct legend *l, int verdict)
{
	if (verdict)
		fprintf(f, "<tr><td><span class=\"vb v-%s\">%s</span></td><td>", l->name, l->name);
	else
		fprintf(f, "<tr><td><i>%s</i></td><td>", l->name);
	fprintf(f, "%s</td><td>%s</td></tr>\n", l->meaning, l->todo);
}

/* Each verdict and flag in one line, and what the administrator should do. */
static void legend(FILE *f)
{
	fputs("<details class=\"legend\" open><summary>What the verdicts and flags mean"
	      "</summary><div class=\"sc\"><table><thead><tr><th>verdict or flag</th>"
	      "<th>meaning</th><th>what the server's administrator should do</th></tr></thead>"
	      "<tbody>\n",
	      f);
	for (int v = 0; v < V_COUNT; v++)
		legend_row(f, &verdict_legend[v], 1);
	for (int i = 0; flag_legend[i].name; i++)
		legend_row(f, &flag_legend[i], 0);
	fputs("</tbody></table></div></details>\n", f);
}

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1em;color:#222}"
    "h1{font-size:1.4em;margin:.2em 0}h4{margin:.6em 0 .2em}"
    "table{border-collapse:collapse}th,td{padding:.25em .5em;text-align:left;vertical-align:top}"
    "#hosts{width:100%}#hosts>thead th{background:#333;color:#fff;position:sticky;top:0}"
    "th[data-k]{cursor:pointer}th[data-k]:after{content:' \\2195';opacity:.6}"
    "tbody.h>tr:first-child{border-top:1px solid #ccc}"
    "code,pre,.bn,.rt{font-family:ui-monospace,monospace;font-size:.92em;"
    "white-space:pre-wrap;word-break:break-all}"
    "pre{background:#f6f6f6;padding:.5em;max-height:30em;overflow:auto}"
    ".hn{font-size:.85em;color:#555}.sc{overflow-x:auto}"
    ".t{font-size:.9em;margin:.3em 0}.t td,.t th{border:1px solid #ddd}"
    ".t tr.o-a td{background:#fff0e0}.t tr.o-b td{background:#fff6c8}"
    ".t tr.dl td{background:#ffd6d6}.rb{border-left-color:#ef6c00}"
    ".legend table td,.legend table th{border:1px solid #ddd;font-size:.9em}"
    ".miss{color:#8b0000;font-weight:600}.ev{border-left:4px solid #d32f2f;padding-left:.6em;"
    "margin:.5em 0}.kv dt{font-weight:600;float:left;clear:left;width:8em}.kv dd{margin-left:8.5em}"
    ".facts td,.facts th{border:1px solid #ddd;font-size:.9em}"
    ".bar{display:flex;height:1.6em;margin:.5em 0;border:1px solid #999}"
    ".bar span{min-width:2px}.lg{display:inline-block;margin:.2em 1em .2em 0;white-space:nowrap}"
    ".sw{display:inline-block;width:1em;height:1em;vertical-align:middle;border:1px solid #777}"
    ".vb{padding:0 .4em;border-radius:.3em;white-space:nowrap}"
    ".controls{margin:.5em 0}"
    "span.v-open-anonymous{background:#6d0000;color:#fff}tr.v-open-anonymous{background:#f3c4c4}"
    "span.v-open{background:#d32f2f;color:#fff}tr.v-open{background:#fde0e0}"
    "span.v-accepted{background:#ef6c00;color:#fff}tr.v-accepted{background:#ffe8d2}"
    "span.v-deferred{background:#f9d71c}tr.v-deferred{background:#fff8d2}"
    "span.v-auth-required{background:#5c6bc0;color:#fff}tr.v-auth-required{background:#e8eaf6}"
    "span.v-closed{background:#2e7d32;color:#fff}tr.v-closed{background:#e3f2e4}"
    "span.v-refused{background:#757575;color:#fff}tr.v-refused{background:#eee}"
    "span.v-not-smtp{background:#9e9e9e}tr.v-not-smtp{background:#f2f2f2}"
    "span.v-unreachable{background:#c8c8c8}tr.v-unreachable{background:#f8f8f8}"
    "span.v-error{background:#5d4037;color:#fff}tr.v-error{background:#efe7e4}"
    "@media (max-width:700px){body{margin:.3em;font-size:13px}.o{display:none}"
    ".kv dt{float:none;width:auto}.kv dd{margin-left:1em}}"
    "@media print{.controls,th[data-k]:after{display:none}#hosts>thead th{position:static}"
    "tbody.h{break-inside:avoid}body{font-size:9pt}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

static const char js[] =
    "(function(){var T=document.getElementById('hosts');"
    "function B(){return Array.prototype.slice.call(T.tBodies)}var dir={};"
    "function key(b,k){return k==='r'?('0'+b.dataset.r).slice(-2)+b.dataset.a:b.dataset[k]}"
    "function sortBy(k){var d=dir[k]=-(dir[k]||-1);B().sort(function(x,y){var a=key(x,k),"
    "c=key(y,k);return a<c?-d:a>c?d:(x.dataset.a<y.dataset.a?-1:1)})"
    ".forEach(function(b){T.appendChild(b)})}"
    "sortBy('r');document.querySelectorAll('th[data-k]').forEach(function(th){"
    "th.addEventListener('click',function(){sortBy(th.dataset.k)})});"
    "var q=document.getElementById('q'),n=document.getElementById('shown');"
    "function filt(){var on={};document.querySelectorAll('input[data-v]').forEach(function(c){"
    "on[c.dataset.v]=c.checked});var s=q.value.toLowerCase(),k=0;B().forEach(function(b){"
    "var show=on[b.dataset.v]!==false&&(!s||b.rows[0].textContent.toLowerCase().indexOf(s)>=0);"
    "b.hidden=!show;if(show)k++});n.textContent=k}"
    "document.querySelectorAll('input[data-v]').forEach(function(c){"
    "c.addEventListener('change',filt)});q.addEventListener('input',filt);"
    "window.addEventListener('beforeprint',function(){"
    "document.querySelectorAll('tbody.h:not([hidden]) details').forEach(function(d){"
    "d.open=true})})})();";

static void run_row(FILE *f, const json_t *run, const json_t *sum)
{
	fputs("<tr><td>", f);
	esc_html(f, str(run, "start"));
	fputs("</td><td>", f);
	esc_html(f, str(run, "prober_host"));
	fputs("</td><td>", f);
	esc_html(f, str(run, "scan_id"));
	fputs("</td><td>", f);
	esc_html(f, str(run, "shard"));
	fprintf(f, "</td><td>%lld</td><td>",
	        (long long)json_integer_value(json_object_get(run, "targets")));
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(run, "ports"), i, v)
	    fprintf(f, "%s%lld", i ? "," : "", (long long)json_integer_value(v));
	const json_t *sink = json_object_get(run, "sink");
	fputs("</td><td>", f);
	if (json_is_true(json_object_get(sink, "embedded"))) {
		fputs("embedded on ", f);
		joined(f, json_object_get(sink, "listen"), ", ");
	} else {
		fputs("separate (--no-sink)", f);
	}
	if (*str(sink, "domain")) {
		fputs("; domain ", f);
		esc_html(f, str(sink, "domain"));
	}
	const json_t *tests = json_object_get(run, "tests");
	fprintf(f, "</td><td title=\"");
	json_array_foreach(tests, i, v)
	{
		if (i)
			fputs(", ", f);
		esc_html(f, str(v, "name"));
	}
	fprintf(f, "\">%zu</td><td>%.0f s</td>", json_array_size(tests), num(run, "wait"));
	if (sum) {
		fprintf(f, "<td>%.1f s</td><td>%.1f/s</td><td>%lld%s</td>", num(sum, "seconds"),
		        num(sum, "connections_per_second"),
		        (long long)json_integer_value(json_object_get(sum, "hosts")),
		        json_is_true(json_object_get(sum, "interrupted")) ? " (interrupted)" : "");
	} else {
		fputs("<td>-</td><td>-</td><td>-</td>", f);
	}
	fputs("</tr>\n", f);
}

static int copy_rows(FILE *dst, FILE *src)
{
	char b[65536];
	size_t n;
	rewind(src);
	while ((n = fread(b, 1, sizeof(b), src)) > 0)
		if (fwrite(b, 1, n, dst) != n)
			return -1;
	return ferror(src) ? -1 : 0;
}

int html_finish(struct html *h, const json_t *runs, const json_t *summaries, const char *version,
                char *err, size_t errlen)
{
	FILE *f = h->page;
	h->page = NULL;
	uint64_t total = 0;
	for (int v = 0; v < V_COUNT; v++)
		total += h->nrows[v];
	fprintf(f,
	        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	        "<meta name=\"generator\" content=\"relaytrap %s\">"
	        "<title>relaytrap report</title><style>%s%s</style></head><body>\n",
	        version, css, knowhtml_css);
	fprintf(f, "<h1>relaytrap report: %llu hosts</h1>\n", (unsigned long long)total);
	fputs("<div class=\"sc\"><table class=\"facts\"><thead><tr><th>started (UTC)</th>"
	      "<th>from</th><th>scan id</th><th>shard</th><th>targets</th><th>ports</th>"
	      "<th>sink</th><th>tests</th><th>wait</th><th>duration</th><th>rate</th>"
	      "<th>hosts</th></tr></thead><tbody>\n",
	      f);
	size_t i;
	const json_t *run;
	json_array_foreach(runs, i, run)
	{
		const json_t *sum = json_array_get(summaries, i);
		run_row(f, run, json_is_object(sum) ? sum : NULL);
	}
	fputs("</tbody></table></div>\n<div class=\"bar\">", f);
	for (int v = 0; v < V_COUNT; v++)
		if (h->nrows[v])
			fprintf(
			    f, "<span class=\"v-%s\" style=\"flex:%llu\" title=\"%s %llu\"></span>",
			    verdict_names[v], (unsigned long long)h->nrows[v], verdict_names[v],
			    (unsigned long long)h->nrows[v]);
	fputs("</div>\n<div class=\"controls\">", f);
	for (int v = 0; v < V_COUNT; v++)
		if (h->nrows[v])
			fprintf(
			    f,
			    "<label class=\"lg\"><input type=\"checkbox\" data-v=\"%s\" checked> "
			    "<span class=\"sw v-%s\"></span> %s <b>%llu</b></label>",
			    verdict_names[v], verdict_names[v], verdict_names[v],
			    (unsigned long long)h->nrows[v]);
	fprintf(f,
	        "<br><input id=\"q\" type=\"search\" placeholder=\"filter: address, name, "
	        "banner\"> <span id=\"shown\">%llu</span> shown</div>\n",
	        (unsigned long long)total);
	legend(f);
	fputs(
	    "<table id=\"hosts\"><thead><tr><th data-k=\"a\">address</th><th class=\"o\">port</th>"
	    "<th data-k=\"r\">verdict</th><th>flags</th><th data-k=\"f\" class=\"o\">fingerprint"
	    "</th><th>accepted / delivered</th><th class=\"o\">banner or "
	    "reason</th></tr></thead>\n",
	    f);
	int rc = 0;
	for (int v = 0; v < V_COUNT && rc == 0; v++)
		rc = copy_rows(f, h->rows[v]);
	fputs("</table>\n", f);
	if (rc == 0)
		rc = knowhtml_section(f, h->vuln, h->nvuln);
	fprintf(f,
	        "<p><small>relaytrap %s. Every text from the network is shown as "
	        "received, escaped.</small></p>\n<script>%s</script></body></html>\n",
	        version, js);
	if (rc < 0 || ferror(f)) {
		snprintf(err, errlen, "--html %s: %s", h->tmp, strerror(errno));
		fclose(f);
		unlink(h->tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(h->tmp, h->path) < 0) {
		snprintf(err, errlen, "--html %s: %s", h->path, strerror(errno));
		unlink(h->tmp);
		return -1;
	}
	return 0;
}
