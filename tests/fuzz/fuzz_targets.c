/* Target specs: one spec per input (as typed on the command line), then the same bytes as a
 * target file (masscan/nmap lines, comments). Whatever parses yields addresses that the
 * parsed set contains. */
#include <string.h>

#include "fuzz.h"
#include "targets.h"
#include "tlist.h"

static int names(const char *name, enum tspec_kind kind, void *arg)
{
	(void)kind;
	(void)arg;
	CHECK(name && *name);
	return 0;
}

static void probe(struct targets *t)
{
	targets_finish(t);
	if (!t->total)
		return;
	uint64_t idx[] = {0, t->total / 2, t->total - 1};
	for (int i = 0; i < 3; i++) {
		struct ipaddr ip;
		targets_get(t, idx[i], &ip);
		CHECK(targets_contains(t, &ip));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	char err[512];
	struct targets t;
	memset(&t, 0, sizeof(t));
	enum tspec_kind kind;
	targets_parse(&t, s, &kind, err, sizeof(err));
	probe(&t);
	targets_free(&t);
	memset(&t, 0, sizeof(t));
	FILE *f = fmemopen(s, size ? size : 1, "r");
	if (f) {
		tlist_parse_file(&t, "fuzz", f, size % 2 ? TLIST_TARGETS : TLIST_EXCLUDE, names,
		                 NULL, err, sizeof(err));
		fclose(f);
	}
	probe(&t);
	targets_free(&t);
	free(s);
	return 0;
}
