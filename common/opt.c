#include "opt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CONF_LINE_MAX 4096

int strlist_add(struct strlist *l, const char *s)
{
	char **v = realloc(l->v, sizeof(*v) * (size_t)(l->n + 1));
	if (!v)
		return -1;
	l->v = v;
	if (!(v[l->n] = strdup(s)))
		return -1;
	l->n++;
	return 0;
}

void strlist_free(struct strlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static const struct opt *opt_find(const struct opt *tab, const char *name, size_t len)
{
	for (; tab->name; tab++)
		if (strlen(tab->name) == len && strncmp(tab->name, name, len) == 0)
			return tab;
	return NULL;
}

static int parse_flag(const char *v)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		return 1;
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		return 0;
	return -1;
}

static int parse_number(const struct opt *o, const char *v, double *out, char *err, size_t n)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (o->type == OPT_SIZE && end != v) {
		switch (tolower((unsigned char)*end)) {
		case 'k':
			d *= 1024, end++;
			break;
		case 'm':
			d *= 1024 * 1024, end++;
			break;
		case 'g':
			d *= 1024. * 1024 * 1024, end++;
			break;
		}
	}
	if (end == v || *end || errno || !isfinite(d)) {
		snprintf(err, n, "--%s: '%.40s' is not a number", o->name, v);
		return -1;
	}
	if (o->type != OPT_DOUBLE && d != floor(d)) {
		snprintf(err, n, "--%s: '%.40s' must be a whole number", o->name, v);
		return -1;
	}
	if (d < o->min || d > o->max) {
		snprintf(err, n, "--%s: %.40s is out of range (%g to %g)", o->name, v, o->min,
		         o->max);
		return -1;
	}
	*out = d;
	return 0;
}

static int opt_apply(const struct opt *o, void *cfg, const char *v, char *err, size_t errlen)
{
	char *field = (char *)cfg + o->offset;
	double d;
	switch (o->type) {
	case OPT_FLAG: {
		int f = v ? parse_flag(v) : 1;
		if (f < 0) {
			snprintf(err, errlen, "--%s: expected yes or no, not '%.40s'", o->name, v);
			return -1;
		}
		*(int *)field = f;
		return 0;
	}
	case OPT_STR: /* fn, when given, checks the value first */
		if (o->fn && o->fn(cfg, v, err, errlen) < 0)
			return -1;
		free(*(char **)field);
		*(char **)field = strdup(v);
		return 0;
	case OPT_INT:
		if (parse_number(o, v, &d, err, errlen) < 0)
			return -1;
		*(long *)field = (long)d;
		return 0;
	case OPT_DOUBLE:
		if (parse_number(o, v, &d, err, errlen) < 0)
			return -1;
		*(double *)field = d;
		return 0;
	case OPT_SIZE:
		if (parse_number(o, v, &d, err, errlen) < 0)
			return -1;
		*(size_t *)field = (size_t)d;
		return 0;
	case OPT_LIST: /* fn, when given, checks each value first */
		if (o->fn && o->fn(cfg, v, err, errlen) < 0)
			return -1;
		return strlist_add((struct strlist *)field, v);
	case OPT_FN:
		return o->fn(cfg, v, err, errlen);
	case OPT_CONFIG:
		snprintf(err, errlen, "config files do not nest");
		return -1;
	}
	return -1;
}

int opt_set(const struct opt *tab, void *cfg, const char *name, const char *value, char *err,
            size_t errlen)
{
	const struct opt *o = opt_find(tab, name, strlen(name));
	if (!o) {
		snprintf(err, errlen, "unknown option '%.60s'", name);
		return -1;
	}
	return opt_apply(o, cfg, value, err, errlen);
}

static int opt_takes_arg(const struct opt *o)
{
	return o->type != OPT_FLAG;
}

int opt_parse_argv(const struct opt *tab, void *cfg, int argc, char **argv, int *nargs, char *err,
                   size_t errlen)
{
	int nops = 0, only_operands = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (only_operands || a[0] != '-' || !strcmp(a, "-")) {
			argv[1 + nops++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_operands = 1;
			continue;
		}
		const struct opt *o = NULL;
		const char *val = NULL;
		char shortname[3] = "-?";
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			o = opt_find(tab, a + 2, nl);
			val = eq ? eq + 1 : NULL;
		} else {
			for (o = tab; o->name && o->shortname != a[1]; o++)
				;
			if (!o->name)
				o = NULL;
			else if (a[2])
				val = a + 2; /* "-p25" */
			shortname[1] = a[1];
		}
		if (!o) {
			snprintf(err, errlen, "unknown option '%.60s' (see --help)", a);
			return -1;
		}
		if (opt_takes_arg(o) && !val) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "option --%s needs %s", o->name,
				         o->argname ? o->argname : "a value");
				return -1;
			}
			val = argv[++i];
		} else if (!opt_takes_arg(o) && val && a[1] != '-') {
			snprintf(err, errlen, "option %s takes no value", shortname);
			return -1;
		}
		int rc = o->type == OPT_CONFIG ? opt_parse_file(tab, cfg, val, err, errlen)
		                               : opt_apply(o, cfg, val, err, errlen);
		if (rc < 0)
			return -1;
	}
	*nargs = nops;
	return 0;
}

int conf_parse_line(char *line, char **name, char **value, const char **why)
{
	char *p = line;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p || *p == '#')
		return 0;
	*name = p;
	while (*p && (isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
		p++;
	char *nend = p;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=' || nend == *name) {
		*why = "expected 'name = value'";
		return -1;
	}
	*nend = '\0';
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	char *end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (*p == '"') {
		if (end - p < 2 || end[-1] != '"') {
			*why = "unterminated quoted value";
			return -1;
		}
		end[-1] = '\0';
		p++;
	}
	for (char *u = *name; *u; u++)
		if (*u == '_')
			*u = '-';
	*value = p;
	return 1;
}

int opt_parse_file(const struct opt *tab, void *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[CONF_LINE_MAX];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *name, *value;
		const char *why;
		char sub[256];
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line longer than %d bytes", path, lineno,
			         CONF_LINE_MAX - 2);
			rc = -1;
			break;
		}
		int r = conf_parse_line(line, &name, &value, &why);
		if (r < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			rc = -1;
			break;
		}
		if (r == 0)
			continue;
		if (opt_set(tab, cfg, name, value, sub, sizeof(sub)) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, sub);
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

void opt_usage(FILE *out, const struct opt *tab)
{
	for (; tab->name; tab++) {
		char left[64];
		const char *arg = opt_takes_arg(tab) ? (tab->argname ? tab->argname : "VALUE") : "";
		if (tab->shortname)
			snprintf(left, sizeof(left), "-%c, --%s %s", tab->shortname, tab->name,
			         arg);
		else
			snprintf(left, sizeof(left), "    --%s %s", tab->name, arg);
		fprintf(out, "  %-32s %s\n", left, tab->help);
	}
}
