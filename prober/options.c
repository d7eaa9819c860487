#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_options_defaults(struct rt_options *o)
{
	memset(o, 0, sizeof(*o));
	o->concurrency = 1000;
	o->rate = 500;
	o->per_net = 16; /* docs/design.md: why 16 */
	o->connect_timeout = 10;
	o->timeout = 30;
	o->host_timeout = 300;
	o->wait = 120;
	o->seed = 1;
	o->shard_index = o->shards = -1;
	o->max_reconnects = 2;
	o->max_reply_line = 2048;
	o->max_reply_lines = 128;
	/* NULL only when out of memory: rt_scan_opts says so */
	o->sender = strdup("relaytest");
	o->contact = strdup("(not given; see the scanning host's administrator)");
	/* --helo: this host's name, known only at set-up (rt_scan_opts) */
}

void rt_options_free(struct rt_options *o)
{
	char **strs[] = {
	    &o->sink_domain,  &o->sink_dir,   &o->secret_file, &o->ports,    &o->tests,
	    &o->message,      &o->output,     &o->shard,       &o->resume,   &o->source,
	    &o->helo,         &o->sender,     &o->contact,     &o->resolver, &o->report,
	    &o->html,         &o->csv,        &o->starttls,    &o->tls_cert, &o->tls_key,
	    &o->fingerprints, &o->advisories, &o->advice,      &o->notices,  &o->notice_template};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	strlist_free(&o->sink_listen);
	strlist_free(&o->exclude);
	strlist_free(&o->input_list);
	strlist_free(&o->receipts);
}

int rt_ports_parse(const char *s, uint16_t *list, int *n, char *err, size_t errlen)
{
	const char *p = s;
	*n = 0;
	while (*p) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p || errno || v < 1 || v > 65535 || (*end && *end != ',')) {
			snprintf(err, errlen,
			         "--port %s: expected PORT[,PORT...] with ports 1-65535", s);
			return -1;
		}
		for (int i = 0; i < *n; i++)
			if (list[i] == v) {
				snprintf(err, errlen, "--port %s: port %ld given twice", s, v);
				return -1;
			}
		if (*n == SCAN_MAX_PORTS) {
			snprintf(err, errlen, "--port: at most %d ports", SCAN_MAX_PORTS);
			return -1;
		}
		list[(*n)++] = (uint16_t)v;
		p = *end ? end + 1 : end;
	}
	if (!*n) {
		snprintf(err, errlen, "--port: no port given");
		return -1;
	}
	return 0;
}

int rt_shard_parse(const char *s, uint64_t *k, uint64_t *n, char *err, size_t errlen)
{
	unsigned long long kk, nn;
	char extra;
	if (sscanf(s, "%llu/%llu%c", &kk, &nn, &extra) != 2 || kk < 1 || nn < 1 || kk > nn ||
	    nn > 1000000) {
		snprintf(err, errlen, "--shard %s: expected K/N with 1 <= K <= N", s);
		return -1;
	}
	*k = kk;
	*n = nn;
	return 0;
}
