#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perm.h"
#include "targets.h"
#include "tlist.h"

static void parse_ok(struct targets *t, const char *spec, enum tspec_kind want)
{
	enum tspec_kind k;
	char err[256];
	if (targets_parse(t, spec, &k, err, sizeof(err)) < 0)
		fail_msg("%s: %s", spec, err);
	assert_int_equal(k, want);
}

static void parse_err(const char *spec, const char *want)
{
	struct targets t = {0};
	enum tspec_kind k;
	char err[256];
	assert_int_equal(targets_parse(&t, spec, &k, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	targets_free(&t);
}

static const char *at(const struct targets *t, uint64_t i, char *buf)
{
	struct ipaddr ip;
	targets_get(t, i, &ip);
	return ipaddr_str(&ip, buf, 64);
}

static void test_forms_and_counts(void **st)
{
	(void)st;
	char b[64];
	struct targets t = {0};
	parse_ok(&t, "192.0.2.77/30", TSPEC_RANGE); /* host bits cleared: .76-.79 */
	targets_finish(&t);
	assert_int_equal(t.total, 4);
	assert_string_equal(at(&t, 0, b), "192.0.2.76");
	assert_string_equal(at(&t, 3, b), "192.0.2.79");
	targets_free(&t);

	parse_ok(&t, "10.0.0.250-10.0.1.5", TSPEC_RANGE);
	targets_finish(&t);
	assert_int_equal(t.total, 12);
	assert_string_equal(at(&t, 6, b), "10.0.1.0");
	targets_free(&t);

	parse_ok(&t, "10.1-3.*.5", TSPEC_RANGE);
	targets_finish(&t);
	assert_int_equal(t.total, 3 * 256);
	assert_string_equal(at(&t, 0, b), "10.1.0.5");
	assert_string_equal(at(&t, 257, b), "10.2.1.5");
	targets_free(&t);

	parse_ok(&t, "*.*.*.1-2",
	         TSPEC_RANGE); /* too many spans: kept as a product, not expanded */
	targets_finish(&t);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.total, (uint64_t)1 << 25);
	assert_string_equal(at(&t, ((uint64_t)1 << 25) - 1, b), "255.255.255.2");
	targets_free(&t);

	parse_ok(&t, "10.0.0.0/8", TSPEC_RANGE); /* a /8 is one range, not 16M entries */
	targets_finish(&t);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.total, 1 << 24);
	targets_free(&t);

	parse_ok(&t, "2001:db8::/120", TSPEC_RANGE);
	parse_ok(&t, "2001:db8::fe-2001:db8::101", TSPEC_RANGE); /* overlaps and extends */
	targets_finish(&t);
	assert_int_equal(t.total, 258);
	assert_string_equal(at(&t, 257, b), "2001:db8::101");
	targets_free(&t);

	parse_ok(&t, "mail.example.org", TSPEC_NAME);
	parse_ok(&t, "mx:example.org", TSPEC_MX);
	parse_ok(&t, "@targets.txt", TSPEC_FILE);
	parse_ok(&t, "-", TSPEC_STDIN);
	assert_int_equal(t.total, 0);
	targets_free(&t);
}

static void test_errors(void **st)
{
	(void)st;
	parse_err("192.0.2.0/33", "'192.0.2.0/33': not a valid network (ADDR/LEN)");
	parse_err("2001:db8::/64",
	          "'2001:db8::/64': an IPv6 prefix shorter than /96 is too large to scan");
	parse_err("10.0.0.9-10.0.0.1", "'10.0.0.9-10.0.0.1': range end is below its start");
	parse_err("10.1-300.*.5", "'10.1-300.*.5': octet 2 must be 0-255, N-M with N <= M, or *");
	parse_err("mx:", "'mx:': expected mx:DOMAIN");
	parse_err("a b", "'a b': not an address, network, range or host name");
	parse_err("192.0.2.1-255.5",
	          "'192.0.2.1-255.5': not an address, network, range or host name");
}

static void test_dedupe_and_contains(void **st)
{
	(void)st;
	struct targets t = {0};
	parse_ok(&t, "192.0.2.0/24", TSPEC_RANGE);
	parse_ok(&t, "192.0.2.10", TSPEC_RANGE);
	parse_ok(&t, "192.0.2.128/25", TSPEC_RANGE);
	parse_ok(&t, "192.0.3.0-192.0.3.3", TSPEC_RANGE); /* adjacent: merged */
	parse_ok(&t, "192.0.2.1-5", TSPEC_RANGE);         /* octet range inside the /24 */
	targets_finish(&t);
	assert_int_equal(t.total, 260);
	assert_int_equal(t.n, 1);
	struct ipaddr ip;
	ipaddr_parse("192.0.3.3", &ip);
	assert_true(targets_contains(&t, &ip));
	ipaddr_parse("192.0.3.4", &ip);
	assert_false(targets_contains(&t, &ip));
	ipaddr_parse("::1", &ip);
	assert_false(targets_contains(&t, &ip));
	targets_free(&t);
}

static int names_seen;
static int name_cb(const char *name, enum tspec_kind kind, void *arg)
{
	(void)arg;
	names_seen += (kind == TSPEC_NAME && !strcmp(name, "mx1.example.net")) ||
	              (kind == TSPEC_MX && !strcmp(name, "mx:example.com"));
	return 0;
}

static void test_file_forms(void **st)
{
	(void)st;
	const char *text = "# comment\n192.0.2.1\n\nopen tcp 25 192.0.2.2 1700000000\n"
	                   "Host: 192.0.2.3 (mx.example)\tStatus: Up\nmx1.example.net # named\n"
	                   "mx:example.com\n198.51.100.0/30\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct targets t = {0};
	char err[256];
	names_seen = 0;
	assert_int_equal(
	    tlist_parse_file(&t, "list.txt", f, TLIST_TARGETS, name_cb, NULL, err, sizeof(err)), 0);
	fclose(f);
	targets_finish(&t);
	assert_int_equal(t.total, 6);
	assert_int_equal(t.np, 1); /* masscan's line keeps its port */
	char a[64];
	assert_string_equal(ipaddr_str(&t.p[0].ip, a, sizeof(a)), "192.0.2.2");
	assert_int_equal(t.p[0].port, 25);
	assert_int_equal(names_seen, 2);
	targets_free(&t);
	const char *bad = "192.0.2.1\n192.0.2.999/24\n";
	f = fmemopen((void *)bad, strlen(bad), "r");
	assert_int_equal(
	    tlist_parse_file(&t, "list.txt", f, TLIST_TARGETS, name_cb, NULL, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "list.txt:2: '192.0.2.999/24': not a valid network (ADDR/LEN)");
	fclose(f);
	targets_free(&t);
}

/* Reads text as a list; returns what tlist_parse_file returned, err set. */
static int read_list(struct targets *t, const char *text, enum tlist_use use, char *err,
                     size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	memset(t, 0, sizeof(*t));
	int rc = tlist_parse_file(t, "x.txt", f, use, name_cb, NULL, err, errlen);
	fclose(f);
	targets_finish(t);
	return rc;
}

static int has(const struct targets *t, const char *addr)
{
	struct ipaddr ip;
	ipaddr_parse(addr, &ip);
	return targets_contains(t, &ip);
}

static int has_pair(const struct targets *t, const char *addr, unsigned port)
{
	struct ipaddr ip;
	ipaddr_parse(addr, &ip);
	for (size_t i = 0; i < t->np; i++)
		if (ipaddr_eq(&t->p[i].ip, &ip) && t->p[i].port == port)
			return 1;
	return 0;
}

/* Every address, network and range on every line counts: an opt-out list is never half
 * read (before: only the first word of each line). */
static void test_list_every_word(void **st)
{
	(void)st;
	struct targets t;
	char err[256];
	assert_int_equal(read_list(&t,
	                           "127.77.0.5 127.77.0.6\n10.0.0.1,10.0.0.2, 10.0.1.0/30\t"
	                           "192.0.2.7-192.0.2.8 # and not 192.0.2.9\n",
	                           TLIST_EXCLUDE, err, sizeof(err)),
	                 0);
	assert_int_equal(t.total, 10);
	assert_true(has(&t, "127.77.0.6") && has(&t, "10.0.0.2") && has(&t, "10.0.1.3") &&
	            has(&t, "192.0.2.8"));
	assert_false(has(&t, "192.0.2.9"));
	targets_free(&t);
	/* an exclusion list excludes a whole address, whatever port it names */
	assert_int_equal(
	    read_list(&t, "192.0.2.1:25 [2001:db8::1]:587\n", TLIST_EXCLUDE, err, sizeof(err)), 0);
	assert_int_equal(t.total, 2);
	assert_int_equal(t.np, 0);
	assert_true(has(&t, "2001:db8::1"));
	targets_free(&t);
	/* names are refused in exclusion lists, naming file:line and the word */
	assert_int_equal(read_list(&t, "192.0.2.1\n192.0.2.2 mail.example.org\n", TLIST_EXCLUDE,
	                           err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "x.txt:2: 'mail.example.org': names are not allowed here");
	targets_free(&t);
	assert_int_equal(read_list(&t, "192.0.2.1:0\n", TLIST_TARGETS, err, sizeof(err)), -1);
	assert_string_equal(err, "x.txt:1: '192.0.2.1:0': the port must be 1-65535");
	targets_free(&t);
}

/* The scanners' outputs, with their ports (forms as masscan 1.3, nmap 7.93 and zmap 2.1
 * write them: masscan's -oL/-oJ/-oD in its README "Output formats", nmap's -oG in the
 * reference guide "Grepable Output", zmap's CSV with --output-fields). */
static void test_list_scanner_outputs(void **st)
{
	(void)st;
	struct targets t;
	char err[256];
	const char *masscan_l = "#masscan\nopen tcp 25 192.0.2.1 1700000000\n"
	                        "open tcp 587 192.0.2.1 1700000001\n"
	                        "banner tcp 25 192.0.2.1 1700000002 smtp 220 mx ESMTP\n"
	                        "# end\n";
	assert_int_equal(read_list(&t, masscan_l, TLIST_TARGETS, err, sizeof(err)), 0);
	assert_int_equal(t.total, 0);
	assert_int_equal(t.np, 2);
	assert_true(has_pair(&t, "192.0.2.1", 25) && has_pair(&t, "192.0.2.1", 587));
	targets_free(&t);
	const char *masscan_j =
	    "[\n{   \"ip\": \"192.0.2.3\",   \"timestamp\": \"1700000000\", \"ports\": [ "
	    "{\"port\": 25, \"proto\": \"tcp\", \"status\": \"open\", \"reason\": "
	    "\"syn-ack\", \"ttl\": 64} ] }\n,\n{   \"ip\": \"2001:db8::25\",   \"ports\": [ "
	    "{\"port\": 465, \"proto\": \"tcp\", \"status\": \"open\"} ] }\n]\n";
	assert_int_equal(read_list(&t, masscan_j, TLIST_TARGETS, err, sizeof(err)), 0);
	assert_int_equal(t.np, 2);
	assert_true(has_pair(&t, "192.0.2.3", 25) && has_pair(&t, "2001:db8::25", 465));
	targets_free(&t);
	const char *nmap_g =
	    "# Nmap 7.93 scan initiated as: nmap -p25,587 -oG - 192.0.2.0/30\n"
	    "Host: 192.0.2.1 (mx.example)\tStatus: Up\n"
	    "Host: 192.0.2.1 (mx.example)\tPorts: 25/open/tcp//smtp///, 587/closed/tcp//"
	    "submission///\tIgnored State: filtered (998)\n"
	    "Host: 192.0.2.2 ()\tStatus: Up\n"
	    "Host: 192.0.2.2 ()\tPorts: 25/filtered/tcp//smtp///, 587/open/tcp//submission///\n"
	    "# Nmap done at Sat Nov 28 14:00:00 2026 -- 4 IP addresses (2 hosts up)\n";
	assert_int_equal(read_list(&t, nmap_g, TLIST_TARGETS, err, sizeof(err)), 0);
	assert_int_equal(t.total, 0);
	assert_int_equal(t.np, 2);
	assert_true(has_pair(&t, "192.0.2.1", 25) && has_pair(&t, "192.0.2.2", 587));
	targets_free(&t);
	/* a ping scan: no Ports lines, so the hosts that are up, with the --port list */
	assert_int_equal(read_list(&t,
	                           "Host: 192.0.2.5 ()\tStatus: Up\n"
	                           "Host: 192.0.2.6 ()\tStatus: Down\n",
	                           TLIST_TARGETS, err, sizeof(err)),
	                 0);
	assert_int_equal(t.total, 1);
	assert_true(has(&t, "192.0.2.5"));
	targets_free(&t);
	assert_int_equal(read_list(&t, "192.0.2.10\n192.0.2.11\n", TLIST_TARGETS, err, sizeof(err)),
	                 0); /* zmap's default output */
	assert_int_equal(t.total, 2);
	targets_free(&t);
	assert_int_equal(read_list(&t,
	                           "saddr,sport,classification\n192.0.2.12,25,synack\n"
	                           "192.0.2.13,2525,synack\n",
	                           TLIST_TARGETS, err, sizeof(err)),
	                 0);
	assert_int_equal(t.np, 2);
	assert_true(has_pair(&t, "192.0.2.12", 25) && has_pair(&t, "192.0.2.13", 2525));
	targets_free(&t);
	assert_int_equal(
	    read_list(&t, "saddr,sport\n192.0.2.12,99999\n", TLIST_TARGETS, err, sizeof(err)), -1);
	assert_string_equal(err, "x.txt:2: the sport field is not a port 1-65535");
	targets_free(&t);
	/* the scan space: ranges with every --port, then the pairs they do not cover */
	assert_int_equal(read_list(&t, "192.0.2.0/31 192.0.2.1:25 192.0.2.1:587 192.0.2.9:25\n",
	                           TLIST_TARGETS, err, sizeof(err)),
	                 0);
	const uint16_t ports[] = {25};
	targets_prune_pairs(&t, ports, 1);
	assert_int_equal(targets_space(&t, 1), 4);
	struct ipaddr ip;
	uint16_t port;
	char a[64];
	targets_at(&t, ports, 1, 3, &ip, &port);
	assert_string_equal(ipaddr_str(&ip, a, sizeof(a)), "192.0.2.9");
	assert_int_equal(port, 25);
	targets_at(&t, ports, 1, 1, &ip, &port);
	assert_string_equal(ipaddr_str(&ip, a, sizeof(a)), "192.0.2.1");
	assert_int_equal(port, 25);
	targets_free(&t);
	/* a line too long for the reader is an error, not two lines */
	char *longline = malloc(TLIST_LINE_MAX + 10);
	memset(longline, '1', TLIST_LINE_MAX + 8);
	longline[TLIST_LINE_MAX + 8] = '\n';
	longline[TLIST_LINE_MAX + 9] = '\0';
	assert_int_equal(read_list(&t, longline, TLIST_TARGETS, err, sizeof(err)), -1);
	assert_string_equal(err, "x.txt:1: line longer than 16382 bytes");
	free(longline);
	targets_free(&t);
}

/* The scanners' real outputs, recorded unedited from scans of 10.199.0.0/29 between two
 * network namespaces (tests/data/scanners/README: commands, versions, date): listeners on
 * 10.199.0.2:25 and 10.199.0.3:587 only, 10.199.0.1 the scanner's own address. Each file must
 * give exactly what its scan found open (a ping scan: the hosts up). Every file is read and
 * each wrong one named before the test fails. Run from the repository root. */
static void test_list_recorded_outputs(void **st)
{
	(void)st;
	static const struct {
		const char *file;
		const char *addrs[4]; /* addresses without a port, ascending, NULL-ended */
		struct {
			const char *addr;
			unsigned port;
		} pairs[3]; /* ascending, {NULL} ended */
	} cases[] = {
	    {"masscan.oL", {NULL}, {{"10.199.0.2", 25}, {"10.199.0.3", 587}}},
	    {"masscan.oJ", {NULL}, {{"10.199.0.2", 25}, {"10.199.0.3", 587}}},
	    {"masscan.oD", {NULL}, {{"10.199.0.2", 25}, {"10.199.0.3", 587}}},
	    {"nmap.oG", {NULL}, {{"10.199.0.2", 25}, {"10.199.0.3", 587}}},
	    {"nmap-ping.oG", {"10.199.0.1", "10.199.0.2", "10.199.0.3"}, {{NULL, 0}}},
	    {"zmap.txt", {"10.199.0.2"}, {{NULL, 0}}},
	    /* zmap 2.1 scans one port a run (-p 25, then -p 587); a row classified "rst" is a
	     * closed port, not one the scan found */
	    {"zmap.csv", {NULL}, {{"10.199.0.2", 25}}},
	    {"zmap-587.csv", {NULL}, {{"10.199.0.3", 587}}},
	};
	int wrong = 0;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char path[128], err[256] = "", got[512] = "addresses:", want[512] = "addresses:";
		char a[64];
		snprintf(path, sizeof(path), "tests/data/scanners/%s", cases[c].file);
		FILE *f = fopen(path, "r");
		if (!f)
			fail_msg("%s: cannot open (the unit tests run from the repository root)",
			         path);
		struct targets t = {0};
		int rc =
		    tlist_parse_file(&t, path, f, TLIST_TARGETS, name_cb, NULL, err, sizeof(err));
		fclose(f);
		targets_finish(&t);
		for (size_t i = 0; cases[c].addrs[i]; i++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), " %s",
			         cases[c].addrs[i]);
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "; pairs:");
		for (size_t i = 0; cases[c].pairs[i].addr; i++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), " %s:%u",
			         cases[c].pairs[i].addr, cases[c].pairs[i].port);
		if (rc != 0) {
			snprintf(got, sizeof(got), "error: %s", err);
		} else {
			for (uint64_t i = 0; i < t.total && i < 16; i++)
				snprintf(got + strlen(got), sizeof(got) - strlen(got), " %s",
				         at(&t, i, a));
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "; pairs:");
			for (size_t i = 0; i < t.np && i < 16; i++)
				snprintf(got + strlen(got), sizeof(got) - strlen(got), " %s:%u",
				         ipaddr_str(&t.p[i].ip, a, sizeof(a)),
				         (unsigned)t.p[i].port);
		}
		if (strcmp(got, want) != 0) {
			print_error("%s: read as [%s], the scan found [%s]\n", path, got, want);
			wrong++;
		}
		targets_free(&t);
	}
	assert_int_equal(wrong, 0);
}

static void test_reserved(void **st)
{
	(void)st;
	static const struct {
		const char *addr;
		int reserved;
	} cases[] = {
	    {"0.0.0.0", 1},   {"0.255.255.255", 1},   {"1.0.0.0", 0},   {"127.0.0.1", 0},
	    {"10.1.2.3", 0},  {"223.255.255.255", 0}, {"224.0.0.0", 1}, {"239.255.255.250", 1},
	    {"240.0.0.1", 1}, {"255.255.255.255", 1}, {"::", 1},        {"::1", 0},
	    {"fe80::1", 0},   {"2001:db8::25", 0},    {"ff02::1", 1}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipaddr ip;
		assert_int_equal(ipaddr_parse(cases[i].addr, &ip), 0);
		assert_int_equal(targets_reserved(&ip), cases[i].reserved);
	}
	static const struct {
		const char *spec;
		int any;
	} specs[] = {{"0.0.0.0/0", 1},    {"1.0.0.0/8", 0},     {"223.0.0.0/8", 0},
	             {"192.0.0.0/2", 1},  {"0.1.2.3", 1},       {"10.1-3.*.5", 0},
	             {"230.*.*.1", 1},    {"2001:db8::/96", 0}, {"ff02::1:0/112", 1},
	             {"127.0.0.1:25", 0}, {"[ff02::1]:25", 1}};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct targets t = {0};
		enum tspec_kind kind;
		char err[128];
		assert_int_equal(targets_parse(&t, specs[i].spec, &kind, err, sizeof(err)), 0);
		targets_finish(&t);
		assert_int_equal(targets_any_reserved(&t), specs[i].any);
		targets_free(&t);
	}
}

static void test_perm_is_permutation(void **st)
{
	(void)st;
	const uint64_t sizes[] = {1, 2, 3, 5, 255, 256, 1000, 4097};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint64_t n = sizes[s];
		struct perm p;
		perm_init(&p, n, 42);
		uint8_t *seen = calloc(n, 1);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t x = perm_at(&p, i);
			assert_true(x < n);
			assert_false(seen[x]);
			seen[x] = 1;
		}
		free(seen);
	}
	/* the same seed gives the same order, another seed another */
	struct perm a, b, c;
	perm_init(&a, 65536, 7);
	perm_init(&b, 65536, 7);
	perm_init(&c, 65536, 8);
	int same = 1, differ = 0;
	for (uint64_t i = 0; i < 100; i++) {
		same &= perm_at(&a, i) == perm_at(&b, i);
		differ |= perm_at(&a, i) != perm_at(&c, i);
	}
	assert_true(same && differ);
}

static void test_no_burst_on_a_24(void **st)
{
	(void)st;
	/* A /16 in permuted order: no run of 8 consecutive targets inside one /24. */
	struct perm p;
	perm_init(&p, 65536, 1);
	int run = 1, worst = 1;
	for (uint64_t i = 1; i < 65536; i++) {
		run = (perm_at(&p, i) >> 8) == (perm_at(&p, i - 1) >> 8) ? run + 1 : 1;
		worst = run > worst ? run : worst;
	}
	assert_true(worst < 8);
}

static void test_shards_disjoint_and_complete(void **st)
{
	(void)st;
	const uint64_t n = 1000, m = 7;
	struct perm p;
	perm_init(&p, n, 99);
	uint8_t *owner = calloc(n, 1);
	uint64_t total = 0;
	for (uint64_t k = 1; k <= m; k++) {
		struct shard s;
		uint64_t pos, count = 0;
		shard_init(&s, k, m);
		while (shard_next(&s, n, &pos)) {
			uint64_t x = perm_at(&p, pos);
			assert_int_equal(owner[x], 0); /* disjoint */
			owner[x] = (uint8_t)k;
			count++;
		}
		assert_int_equal(count, shard_size(n, k, m));
		total += count;
	}
	assert_int_equal(total, n); /* complete */
	for (uint64_t i = 0; i < n; i++)
		assert_int_not_equal(owner[i], 0);
	free(owner);
	assert_int_equal(shard_size(3, 5, 5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forms_and_counts),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_dedupe_and_contains),
	    cmocka_unit_test(test_file_forms),
	    cmocka_unit_test(test_list_every_word),
	    cmocka_unit_test(test_list_scanner_outputs),
	    cmocka_unit_test(test_list_recorded_outputs),
	    cmocka_unit_test(test_reserved),
	    cmocka_unit_test(test_perm_is_permutation),
	    cmocka_unit_test(test_no_burst_on_a_24),
	    cmocka_unit_test(test_shards_disjoint_and_complete),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
