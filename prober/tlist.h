/* Target lists (@FILE, -, --exclude FILE): every word of every line counts, and the
 * scanners' outputs are read with their ports, so that `zmap -p 25 -o - RANGE | relaytrap -`
 * and `masscan -p25,587 -oL - RANGE | relaytrap -` work:
 *   plain lists        words separated by white space or commas, '#' comments; a word is any
 *                      target spec, or ADDR:PORT / [IPv6]:PORT
 *   masscan -oL        "open tcp 25 192.0.2.1 1700000000" (other states and banners skipped)
 *   masscan -oJ, -oD   JSON records {"ip": ..., "ports": [{"port": 25, ...}]} (-oJ) or
 *                      {"ip": ..., "port": 25, "rec_type": "status", "data": {"status": "open"}}
 *                      (-oD); open ports only
 *   nmap -oG           "Host: 192.0.2.1 ()\tPorts: 25/open/tcp//smtp///, ..." (open TCP ports);
 *                      from a ping scan (no Ports lines at all), the hosts with "Status: Up"
 *   zmap               one address a line, or CSV with a header naming saddr (and sport;
 *                      rows that success or classification call closed are skipped)
 * Errors name FILE:LINE. */
#ifndef RT_TLIST_H
#define RT_TLIST_H

#include <stdio.h>

#include "targets.h"

#define TLIST_LINE_MAX 16384

/* What a list is read for: a scan (names resolved, ports kept) or an exclusion list (no
 * names; a port is dropped: the whole address is excluded). */
enum tlist_use { TLIST_TARGETS, TLIST_EXCLUDE };

/* One spec found on a line: port 0 when none was given with it, TLIST_HOST_UP for a host
 * that an nmap ping scan found up (it counts only if the list names no ports at all).
 * Returns 0, or -1 with a reason in why. */
#define TLIST_HOST_UP 65536u
typedef int (*tlist_cb)(const char *spec, unsigned port, void *arg, const char **why);

/* The state carried from line to line: a CSV header's columns. */
struct tlist {
	int csv;         /* a zmap CSV header was seen */
	int col_addr;    /* its saddr column */
	int col_port;    /* its sport column, -1 none */
	int col_success; /* its success column (0: closed), -1 none */
	int col_class;   /* its classification column ("rst": closed), -1 none */
	int nmap_ports;  /* an nmap "Ports:" line was seen */
};

/* Splits one line (modified in place) into specs. Returns 0, or -1 with *why set (by the
 * parser or cb). Pure apart from cb. */
int tlist_line(struct tlist *st, char *line, tlist_cb cb, void *arg, const char **why);

/* Reads a whole list into t. name_cb gets host names and mx: specs (TLIST_TARGETS only); it
 * returns 0, -1 (too many names) or TARGETS_NAME_REFUSED. */
int tlist_parse_file(struct targets *t, const char *path, FILE *f, enum tlist_use use,
                     int (*name_cb)(const char *name, enum tspec_kind kind, void *arg), void *arg,
                     char *err, size_t errlen);

#endif
