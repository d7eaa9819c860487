#include "options.h"

#include <stdlib.h>
#include <string.h>

void rt_options_defaults(struct rt_options *o)
{
	memset(o, 0, sizeof(*o));
	o->concurrency = 1000;
	o->rate = 500;
	o->per_net = 4;
	o->connect_timeout = 10;
	o->timeout = 30;
	o->host_timeout = 300;
	o->wait = 120;
	o->seed = 1;
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
	char **strs[] = {&o->sink_domain, &o->sink_dir, &o->secret_file, &o->ports,  &o->tests,
	                 &o->message,     &o->output,   &o->shard,       &o->resume, &o->source,
	                 &o->helo,        &o->sender,   &o->contact,     &o->resolver,
	                 &o->report,      &o->html,     &o->csv};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	strlist_free(&o->sink_listen);
	strlist_free(&o->exclude);
	strlist_free(&o->receipts);
}
