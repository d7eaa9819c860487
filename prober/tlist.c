#include "tlist.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define WORDS_MAX 8

static int words(char *line, const char *seps, char **w, int max)
{
	char *save;
	int n = 0;
	for (char *tok = strtok_r(line, seps, &save); tok && n < max;
	     tok = strtok_r(NULL, seps, &save))
		w[n++] = tok;
	return n;
}

static unsigned port_of(const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	return end != s && !*end && !errno && v >= 1 && v <= 65535 ? (unsigned)v : 0;
}

/* A masscan record's port that is open (no status at all counts as open). */
static int open_port(const json_t *rec, const json_t *status)
{
	json_int_t port = json_integer_value(json_object_get(rec, "port"));
	const char *s = json_string_value(status);
	return port >= 1 && port <= 65535 && (!s || !strcmp(s, "open"));
}

/* masscan -oJ / -oD: one JSON record a line, between "[" and "]" lines, commas around. */
static int masscan_json(char *line, tlist_cb cb, void *arg, const char **why)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == ',' || line[n - 1] == ']' || line[n - 1] == ' '))
		line[--n] = '\0';
	while (*line == ',' || *line == '[' || *line == ' ')
		line++;
	if (!*line)
		return 0;
	json_t *o = json_loads(line, 0, NULL);
	const char *ip = json_string_value(json_object_get(o, "ip"));
	if (!ip) {
		json_decref(o);
		*why = "not a masscan JSON record (no \"ip\")";
		return -1;
	}
	int rc = 0;
	size_t i;
	json_t *p;
	json_t *ports = json_object_get(o, "ports");
	json_array_foreach(ports, i, p) /* -oJ: {"ip", "ports": [{"port", "status"}]} */
	{
		if (rc == 0 && open_port(p, json_object_get(p, "status")))
			rc = cb(ip, (unsigned)json_integer_value(json_object_get(p, "port")), arg,
			        why);
	}
	const char *rec = json_string_value(json_object_get(o, "rec_type"));
	if (json_is_integer(json_object_get(o, "port"))) { /* -oD: one record per port */
		const json_t *status = json_object_get(json_object_get(o, "data"), "status");
		if ((!rec || !strcmp(rec, "status")) && open_port(o, status))
			rc = cb(ip, (unsigned)json_integer_value(json_object_get(o, "port")), arg,
			        why);
	} else if (!json_array_size(ports)) {
		rc = cb(ip, 0, arg, why);
	}
	json_decref(o);
	return rc;
}

/* nmap -oG: "Host: ADDR (name)\tPorts: 25/open/tcp//smtp///, 587/closed/tcp//..." */
static int nmap_grepable(struct tlist *st, char *line, const char *addr, tlist_cb cb, void *arg,
                         const char **why)
{
	char *ports = strstr(line, "Ports: ");
	if (!ports) /* a "Status:" line */
		return strstr(line, "Status: Up") ? cb(addr, TLIST_HOST_UP, arg, why) : 0;
	st->nmap_ports = 1;
	ports += 7;
	char *tab = strchr(ports, '\t');
	if (tab)
		*tab = '\0';
	char *save;
	for (char *e = strtok_r(ports, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
		char *f[4] = {0}, *q = e + strspn(e, " ");
		for (int k = 0; k < 4 && q; k++) { /* port/state/proto/owner */
			f[k] = q;
			q = strchr(q, '/');
			if (q)
				*q++ = '\0';
		}
		unsigned port = f[0] ? port_of(f[0]) : 0;
		if (port && f[1] && f[2] && !strcmp(f[1], "open") && !strcmp(f[2], "tcp")) {
			int rc = cb(addr, port, arg, why);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* zmap's CSV header ("saddr,sport,..."): the columns that matter. */
static void csv_header(struct tlist *st, char *line)
{
	char *cols[64];
	int n = 0;
	char *save;
	for (char *c = strtok_r(line, ",", &save); c && n < 64; c = strtok_r(NULL, ",", &save))
		cols[n++] = c;
	st->csv = 1;
	st->col_addr = 0;
	st->col_port = st->col_success = st->col_class = -1;
	for (int i = 0; i < n; i++) {
		if (!strcmp(cols[i], "saddr"))
			st->col_addr = i;
		else if (!strcmp(cols[i], "sport"))
			st->col_port = i;
		else if (!strcmp(cols[i], "success"))
			st->col_success = i;
		else if (!strcmp(cols[i], "classification"))
			st->col_class = i;
	}
}

static int csv_row(const struct tlist *st, char *line, tlist_cb cb, void *arg, const char **why)
{
	char *cols[64] = {0};
	int n = 0;
	for (char *p = line; n < 64;) {
		cols[n++] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p++ = '\0';
	}
	/* without --output-filter zmap writes closed ports too: success 0, classification rst */
	if ((st->col_success >= 0 && st->col_success < n && !strcmp(cols[st->col_success], "0")) ||
	    (st->col_class >= 0 && st->col_class < n && !strcmp(cols[st->col_class], "rst")))
		return 0;
	if (st->col_addr >= n || !*cols[st->col_addr]) {
		*why = "no saddr field in this CSV row";
		return -1;
	}
	unsigned port = 0;
	if (st->col_port >= 0 && st->col_port < n && !(port = port_of(cols[st->col_port]))) {
		*why = "the sport field is not a port 1-65535";
		return -1;
	}
	return cb(cols[st->col_addr], port, arg, why);
}

int tlist_line(struct tlist *st, char *line, tlist_cb cb, void *arg, const char **why)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	line += strspn(line, " \t");
	if (!*line)
		return 0;
	if (*line == '{' || *line == '[' || *line == ',' || *line == ']')
		return masscan_json(line, cb, arg, why);
	if (!strncmp(line, "saddr", 5) && (line[5] == ',' || line[5] == '\0')) {
		csv_header(st, line);
		return 0;
	}
	if (st->csv)
		return csv_row(st, line, cb, arg, why);
	if (!strncmp(line, "Host: ", 6)) {
		char *w[WORDS_MAX], copy[TLIST_LINE_MAX];
		snprintf(copy, sizeof(copy), "%s", line);
		int n = words(copy, " \t", w, WORDS_MAX);
		return n >= 2 ? nmap_grepable(st, line, w[1], cb, arg, why) : 0;
	}
	if (!strncmp(line, "open ", 5) || !strncmp(line, "closed ", 7) ||
	    !strncmp(line, "banner ", 7)) { /* masscan -oL */
		char *w[WORDS_MAX];
		int n = words(line, " \t", w, WORDS_MAX);
		if (strcmp(w[0], "open") != 0 || n < 4 || strcmp(w[1], "tcp") != 0)
			return 0;
		unsigned port = port_of(w[2]);
		if (!port) {
			*why = "masscan line with a bad port";
			return -1;
		}
		return cb(w[3], port, arg, why);
	}
	char *save;
	for (char *w = strtok_r(line, " \t,;", &save); w; w = strtok_r(NULL, " \t,;", &save)) {
		int rc = cb(w, 0, arg, why);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- a whole file ---- */

struct reader {
	struct targets *t;
	enum tlist_use use;
	int (*name_cb)(const char *, enum tspec_kind, void *);
	void *arg;
	char sub[256];
	char spec[96];     /* the spec an error is about; "" when the message names it */
	struct targets up; /* hosts an nmap ping scan found up */
};

static int one_spec(const char *spec, unsigned port, void *arg, const char **why)
{
	struct reader *r = arg;
	struct ipaddr ip;
	snprintf(r->spec, sizeof(r->spec), "%s", spec);
	if (port == TLIST_HOST_UP || port) { /* the format gave the port: spec is an address */
		if (ipaddr_parse(spec, &ip) < 0) {
			*why = port == TLIST_HOST_UP ? "not an address"
			                             : "a port goes with an address";
			return -1;
		}
	} else if (targets_hostport(spec, &ip, &port) < 0) { /* a word "ADDR:PORT" */
		*why = "the port must be 1-65535";
		return -1;
	}
	*why = "out of memory";
	if (port == TLIST_HOST_UP)
		return targets_add_addr(&r->up, &ip);
	if (port) /* an exclusion list excludes the whole address */
		return r->use == TLIST_TARGETS ? targets_add_pair(r->t, &ip, (uint16_t)port)
		                               : targets_add_addr(r->t, &ip);
	enum tspec_kind kind;
	if (targets_parse(r->t, spec, &kind, r->sub, sizeof(r->sub)) < 0) {
		r->spec[0] = '\0'; /* the message names the spec */
		*why = r->sub;
		return -1;
	}
	if (kind == TSPEC_FILE || kind == TSPEC_STDIN) {
		*why = "lists do not nest";
		return -1;
	}
	if (kind != TSPEC_NAME && kind != TSPEC_MX)
		return 0;
	int rc = r->use == TLIST_EXCLUDE ? TARGETS_NAME_REFUSED : r->name_cb(spec, kind, r->arg);
	if (rc < 0)
		*why = rc == TARGETS_NAME_REFUSED ? "names are not allowed here" : "too many names";
	return rc < 0 ? -1 : 0;
}

int tlist_parse_file(struct targets *t, const char *path, FILE *f, enum tlist_use use,
                     int (*name_cb)(const char *name, enum tspec_kind kind, void *arg), void *arg,
                     char *err, size_t errlen)
{
	char *line = malloc(TLIST_LINE_MAX);
	struct reader r = {.t = t, .use = use, .name_cb = name_cb, .arg = arg};
	struct tlist st = {0};
	int lineno = 0, rc = 0;
	if (!line) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	while (rc == 0 && fgets(line, TLIST_LINE_MAX, f)) {
		lineno++;
		size_t n = strlen(line);
		if (n == TLIST_LINE_MAX - 1 && line[n - 1] != '\n') {
			snprintf(err, errlen, "%s:%d: line longer than %d bytes", path, lineno,
			         TLIST_LINE_MAX - 2);
			rc = -1;
			break;
		}
		const char *why = "?";
		r.spec[0] = '\0';
		if (tlist_line(&st, line, one_spec, &r, &why) < 0) {
			if (r.spec[0])
				snprintf(err, errlen, "%s:%d: '%s': %s", path, lineno, r.spec, why);
			else
				snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			rc = -1;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	/* a ping scan's hosts, unless the list also says which ports are open */
	for (size_t i = 0; rc == 0 && !st.nmap_ports && i < r.up.n; i++)
		if (targets_add_addr(t, &r.up.r[i].lo) < 0) {
			snprintf(err, errlen, "%s: out of memory", path);
			rc = -1;
		}
	targets_free(&r.up);
	free(line);
	return rc;
}
