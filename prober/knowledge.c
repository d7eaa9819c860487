#include "knowledge.h"

#include <stdio.h>
#include <string.h>

#include "jsonx.h"

#define ERROR_TEXTS_MAX 16

static const struct knowledge *active;

void knowledge_free(struct knowledge *k)
{
	if (active == k)
		active = NULL;
	fp_free(k->fp);
	advis_free(k->adv);
	advice_free(k->advice);
	memset(k, 0, sizeof(*k));
}

void knowledge_use(const struct knowledge *k)
{
	active = k;
}

const struct knowledge *knowledge_active(void)
{
	return active;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The texts of refused commands, each once. */
static int error_texts(const json_t *host, const char **out, int max)
{
	static const char *const stages[] = {"mail", "rcpt", "data", "end"};
	int n = 0;
	size_t i;
	const json_t *t;
	json_array_foreach(json_object_get(host, "tests"), i, t)
	{
		const json_t *rep = json_object_get(t, "replies");
		for (size_t s = 0; s < sizeof(stages) / sizeof(stages[0]); s++) {
			const json_t *r = json_object_get(rep, stages[s]);
			const char *txt = str(r, "text");
			if (!txt || json_integer_value(json_object_get(r, "code")) < 400)
				continue;
			int dup = 0;
			for (int k = 0; k < n && !dup; k++)
				dup = strcmp(out[k], txt) == 0;
			if (!dup && n < max)
				out[n++] = txt;
		}
	}
	return n;
}

static json_t *or_null(const char *s)
{
	return s && *s ? jsonx_str(s) : json_null();
}

static json_t *advisories_json(const struct advtable *t, const struct fp_result *r)
{
	const struct advisory *a[KNOWLEDGE_ADVISORIES_MAX];
	int n = advis_match(t, r->product, r->version, a, KNOWLEDGE_ADVISORIES_MAX);
	json_t *arr = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(a[i]->id));
		json_object_set_new(o, "severity", json_string(a[i]->severity));
		json_object_set_new(o, "text", jsonx_str(a[i]->text));
		json_object_set_new(o, "reference", jsonx_str(a[i]->reference));
		json_object_set_new(o, "by", json_string(fp_source_names[r->source]));
		json_array_append_new(arr, o);
	}
	return arr;
}

void knowledge_annotate(const struct knowledge *k, json_t *host)
{
	const char *ehlo[64], *errors[ERROR_TEXTS_MAX];
	struct fp_texts in = {.banner = str(host, "banner"), .ehlo = ehlo, .errors = errors};
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(host, "ehlo"), i, v)
	{
		if (in.nehlo < 64 && json_is_string(v))
			ehlo[in.nehlo++] = json_string_value(v);
	}
	in.nerrors = error_texts(host, errors, ERROR_TEXTS_MAX);
	json_object_set_new(host, "advisories", json_array());
	if (!in.banner && !in.nehlo && !in.nerrors) { /* it never spoke */
		json_object_set_new(host, "fingerprint", json_null());
		return;
	}
	struct fp_result r;
	int hit = k && k->fp && fp_identify(k->fp, &in, &r);
	json_t *o = json_object();
	json_object_set_new(o, "product", or_null(hit ? r.product : NULL));
	json_object_set_new(o, "version", or_null(hit ? r.version : NULL));
	json_object_set_new(o, "os", or_null(hit ? r.os : NULL));
	json_object_set_new(o, "source", or_null(hit ? fp_source_names[r.source] : NULL));
	json_object_set_new(host, "fingerprint", o);
	if (hit && k->adv)
		json_object_set_new(host, "advisories", advisories_json(k->adv, &r));
}

const char *knowledge_product(const json_t *host)
{
	const json_t *fp = json_object_get(host, "fingerprint");
	const char *p = json_is_string(fp) ? json_string_value(fp) : str(fp, "product");
	return p && strcmp(p, "unknown") != 0 ? p : "";
}

void knowledge_label(const json_t *host, char *out, size_t outlen)
{
	const json_t *fp = json_object_get(host, "fingerprint");
	const char *ver = str(fp, "version"), *os = str(fp, "os");
	snprintf(out, outlen, "%s%s%s%s%s%s", knowledge_product(host), ver ? " " : "",
	         ver ? ver : "", os ? " (" : "", os ? os : "", os ? ")" : "");
	if (!*knowledge_product(host))
		out[0] = '\0';
}

const struct advice_entry *knowledge_advice(const struct knowledge *k, const json_t *host)
{
	static const char *const needs[] = {"open", "open-anonymous", "accepted", NULL};
	const char *v = str(host, "verdict");
	int needed = jsonx_array_has(json_object_get(host, "flags"), "bounces");
	for (int i = 0; v && needs[i] && !needed; i++)
		needed = strcmp(v, needs[i]) == 0;
	return needed && k && k->advice ? advice_for(k->advice, knowledge_product(host)) : NULL;
}
