#include "knowhtml.h"

#include <string.h>

#include "escape.h"
#include "knowledge.h"

const char knowhtml_css[] =
    ".adv{padding:0 .3em;border-radius:.3em;font-size:.8em;margin-left:.3em;white-space:nowrap}"
    ".s-critical{background:#6d0000;color:#fff}.s-high{background:#d32f2f;color:#fff}"
    ".s-medium{background:#ef6c00;color:#fff}.s-low{background:#f9d71c}.s-info{background:#ddd}"
    "#vuln td,#vuln th{border:1px solid #ddd;font-size:.9em}"
    "tr.fx td{font-size:.9em;border-left:4px solid #2e7d32;background:#f4faf4}";

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* A class name from a severity the file may spell any way: only the known ones. */
static const char *sev_class(const char *s)
{
	static const char *const known[] = {"critical", "high", "medium", "low", "info", NULL};
	for (int i = 0; known[i]; i++)
		if (!strcmp(s, known[i]))
			return known[i];
	return "info";
}

void knowhtml_advice(FILE *f, const json_t *host)
{
	const struct advice_entry *e = knowledge_advice(knowledge_active(), host);
	if (!e)
		return;
	fputs("<tr class=\"fx\"><td colspan=\"7\"><b>How to close relaying (", f);
	esc_html(f, e->name);
	fputs("):</b> ", f);
	esc_html(f, e->text);
	fputs("</td></tr>\n", f);
}

void knowhtml_badges(FILE *f, const json_t *host)
{
	size_t i;
	const json_t *a;
	json_array_foreach(json_object_get(host, "advisories"), i, a)
	{
		fprintf(f, "<span class=\"adv s-%s\" title=\"", sev_class(str(a, "severity")));
		esc_html(f, str(a, "text"));
		fputs(" (by ", f);
		esc_html(f, str(a, "by"));
		fputs(")\">", f);
		esc_html(f, str(a, "id"));
		fputs("</span>", f);
	}
}

/* A reference as a link when it is a web address, else as text. */
static void reference(FILE *f, const char *ref)
{
	if (!strncmp(ref, "https://", 8) || !strncmp(ref, "http://", 7)) {
		fputs("<a rel=\"noreferrer\" href=\"", f);
		esc_html(f, ref);
		fputs("\">", f);
		esc_html(f, ref);
		fputs("</a>", f);
	} else {
		esc_html(f, ref);
	}
}

int knowhtml_rows(FILE *f, const json_t *host)
{
	char fp[128];
	knowledge_label(host, fp, sizeof(fp));
	size_t i;
	const json_t *a;
	json_array_foreach(json_object_get(host, "advisories"), i, a)
	{
		fputs("<tr><td>", f);
		esc_html(f, str(host, "addr"));
		fprintf(f, "</td><td>%lld</td><td>",
		        (long long)json_integer_value(json_object_get(host, "port")));
		esc_html(f, str(host, "verdict"));
		fputs("</td><td>", f);
		esc_html(f, fp);
		fprintf(f, "</td><td><span class=\"adv s-%s\">", sev_class(str(a, "severity")));
		esc_html(f, str(a, "severity"));
		fputs("</span></td><td>", f);
		esc_html(f, str(a, "id"));
		fputs("</td><td>", f);
		esc_html(f, str(a, "text"));
		fputs("</td><td>", f);
		esc_html(f, str(a, "by"));
		fputs("</td><td>", f);
		reference(f, str(a, "reference"));
		fputs("</td></tr>\n", f);
	}
	return (int)i;
}

int knowhtml_section(FILE *page, FILE *rows, uint64_t n)
{
	if (!n)
		return 0;
	fprintf(page,
	        "<h2 id=\"software\">Outdated or vulnerable software, by banner</h2>\n<p>%llu "
	        "known hole%s, matched on the product and version the server names in its "
	        "banner, EHLO reply or refusals. A distribution may have fixed a hole without "
	        "changing the version it shows: check the installed package before acting.</p>\n"
	        "<div class=\"sc\"><table id=\"vuln\"><thead><tr><th>address</th><th>port</th>"
	        "<th>verdict</th><th>software</th><th>severity</th><th>advisory</th>"
	        "<th>what</th><th>by</th><th>reference</th></tr></thead><tbody>\n",
	        (unsigned long long)n, n == 1 ? "" : "s");
	char b[65536];
	size_t k;
	rewind(rows);
	while ((k = fread(b, 1, sizeof(b), rows)) > 0)
		if (fwrite(b, 1, k, page) != k)
			return -1;
	fputs("</tbody></table></div>\n", page);
	return ferror(rows) ? -1 : 0;
}
