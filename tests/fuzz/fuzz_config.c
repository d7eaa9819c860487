/* "name = value" config lines (conf_parse_line) and option values of every type (opt_set),
 * as both programs read them from -C files. Input: lines of a config file. */
#include <string.h>

#include "fuzz.h"
#include "opt.h"

struct cfg {
	int flag;
	char *str;
	long num;
	double secs;
	size_t size;
	struct strlist list;
};

#define O(f) offsetof(struct cfg, f)
static const struct opt tab[] = {
    {"flag", 'f', OPT_FLAG, O(flag), NULL, "", 0, 0, NULL},
    {"str", 's', OPT_STR, O(str), "S", "", 0, 0, NULL},
    {"num", 'n', OPT_INT, O(num), "N", "", 1, 1e6, NULL},
    {"secs", 0, OPT_DOUBLE, O(secs), "S", "", 0.05, 3600, NULL},
    {"size", 0, OPT_SIZE, O(size), "B", "", 1, 1e9, NULL},
    {"list", 'l', OPT_LIST, O(list), "L", "", 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	memset(&c, 0, sizeof(c));
	const char *p = (const char *)data, *end = p + size;
	int lines = 0;
	while (p < end && lines++ < 256) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[1024];
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		char *name, *value;
		const char *why = NULL;
		int r = conf_parse_line(line, &name, &value, &why);
		CHECK(r >= -1 && r <= 1);
		if (r < 0)
			CHECK(why != NULL);
		if (r == 1) {
			CHECK(name >= line && value >= line && value <= line + n);
			char err[256];
			if (opt_set(tab, &c, name, value, err, sizeof(err)) == 0) {
				CHECK(c.num == 0 || (c.num >= 1 && c.num <= 1000000));
				CHECK(c.secs == 0 || (c.secs >= 0.05 && c.secs <= 3600));
			}
		}
		p += (nl ? n + 1 : n);
		if (!nl)
			break;
	}
	free(c.str);
	strlist_free(&c.list);
	return 0;
}
