#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "opt.h"

struct cfg {
	long n;
	double t;
	size_t sz;
	int flag;
	char *name;
	struct strlist list;
};

static const struct opt tab[] = {
    {"count", 'c', OPT_INT, offsetof(struct cfg, n), "N", "a count", 1, 100, NULL},
    {"timeout", 0, OPT_DOUBLE, offsetof(struct cfg, t), "S", "seconds", 0.1, 60, NULL},
    {"max-size", 0, OPT_SIZE, offsetof(struct cfg, sz), "B", "bytes", 1, 1e9, NULL},
    {"flag", 'f', OPT_FLAG, offsetof(struct cfg, flag), NULL, "a flag", 0, 0, NULL},
    {"name", 'n', OPT_STR, offsetof(struct cfg, name), "S", "a name", 0, 0, NULL},
    {"listen", 'l', OPT_LIST, offsetof(struct cfg, list), "A", "repeatable", 0, 0, NULL},
    {"config", 'C', OPT_CONFIG, 0, "FILE", "read FILE", 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, NULL},
};

static void cfg_free(struct cfg *c)
{
	free(c->name);
	strlist_free(&c->list);
}

static void test_conf_parse_line(void **st)
{
	(void)st;
	char l1[] = "  max_size = 10k  \n", l2[] = "# comment\n", l3[] = "name = \"a b\"\n",
	     l4[] = "novalue\n", l5[] = "name = \"open\n", l6[] = "\n";
	char *n, *v;
	const char *why;
	assert_int_equal(conf_parse_line(l1, &n, &v, &why), 1);
	assert_string_equal(n, "max-size"); /* underscores and dashes are the same */
	assert_string_equal(v, "10k");
	assert_int_equal(conf_parse_line(l2, &n, &v, &why), 0);
	assert_int_equal(conf_parse_line(l3, &n, &v, &why), 1);
	assert_string_equal(v, "a b");
	assert_int_equal(conf_parse_line(l4, &n, &v, &why), -1);
	assert_int_equal(conf_parse_line(l5, &n, &v, &why), -1);
	assert_int_equal(conf_parse_line(l6, &n, &v, &why), 0);
}

static void test_argv(void **st)
{
	(void)st;
	struct cfg c = {0};
	char err[256];
	int nargs;
	char *argv[] = {"prog",         "-c5", "target1", "--timeout=2.5", "-f", "--max-size",
	                "2m",           "-l",  "a",       "--listen",      "b",  "--",
	                "-notanoption", NULL};
	assert_int_equal(opt_parse_argv(tab, &c, 13, argv, &nargs, err, sizeof(err)), 0);
	assert_int_equal(c.n, 5);
	assert_true(c.t == 2.5);
	assert_int_equal(c.sz, 2 * 1024 * 1024);
	assert_int_equal(c.flag, 1);
	assert_int_equal(c.list.n, 2);
	assert_string_equal(c.list.v[1], "b");
	assert_int_equal(nargs, 2);
	assert_string_equal(argv[1], "target1");
	assert_string_equal(argv[2], "-notanoption");
	cfg_free(&c);
}

static void expect_err(int argc, char **argv, const char *want)
{
	struct cfg c = {0};
	char err[256];
	int nargs;
	assert_int_equal(opt_parse_argv(tab, &c, argc, argv, &nargs, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	cfg_free(&c);
}

static void test_argv_errors(void **st)
{
	(void)st;
	char *a1[] = {"p", "--count", "500"};
	expect_err(3, a1, "--count: 500 is out of range (1 to 100)");
	char *a2[] = {"p", "--count", "x"};
	expect_err(3, a2, "--count: 'x' is not a number");
	char *a3[] = {"p", "--bogus"};
	expect_err(2, a3, "unknown option '--bogus' (see --help)");
	char *a4[] = {"p", "--name"};
	expect_err(2, a4, "option --name needs S");
	char *a5[] = {"p", "--count", "1.5"};
	expect_err(3, a5, "--count: '1.5' must be a whole number");
}

static void test_config_file(void **st)
{
	(void)st;
	char path[] = "/tmp/rt-opt-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "# sample\ncount = 7\nname = from-file\n\nflag = yes\nbogus = 1\n");
	fclose(f);
	struct cfg c = {0};
	char err[256];
	assert_int_equal(opt_parse_file(tab, &c, path, err, sizeof(err)), -1);
	char want[300];
	snprintf(want, sizeof(want), "%s:6: unknown option 'bogus'", path);
	assert_string_equal(err, want);
	assert_int_equal(c.n, 7);
	cfg_free(&c);

	/* -C where it stands: later options override the file */
	f = fopen(path, "w");
	fprintf(f, "count = 7\nname = from-file\n");
	fclose(f);
	struct cfg d = {0};
	int nargs;
	char opt_eq[300];
	snprintf(opt_eq, sizeof(opt_eq), "--config=%s", path);
	char *argv[] = {"p", opt_eq, "--name", "cli", NULL};
	assert_int_equal(opt_parse_argv(tab, &d, 4, argv, &nargs, err, sizeof(err)), 0);
	assert_int_equal(d.n, 7);
	assert_string_equal(d.name, "cli");
	cfg_free(&d);

	/* a config file cannot name another one */
	f = fopen(path, "w");
	fprintf(f, "count = 3\nconfig = /etc/other.conf\n");
	fclose(f);
	struct cfg e = {0};
	char *argv2[] = {"p", "-C", path, NULL};
	assert_int_equal(opt_parse_argv(tab, &e, 3, argv2, &nargs, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: config files do not nest", path);
	assert_string_equal(err, want);
	cfg_free(&e);
	unlink(path);
}

static void test_hostport(void **st)
{
	(void)st;
	struct ipaddr ip;
	uint16_t port;
	char err[128], s[64];
	assert_int_equal(hostport_parse("127.0.0.1:2525", -1, &ip, &port, err, sizeof(err)), 0);
	assert_int_equal(port, 2525);
	assert_int_equal(hostport_parse("[::1]:25", -1, &ip, &port, err, sizeof(err)), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(hostport_parse("2001:db8::1", 25, &ip, &port, err, sizeof(err)), 0);
	assert_int_equal(port, 25);
	assert_int_equal(hostport_parse("10.0.0.1", -1, &ip, &port, err, sizeof(err)), -1);
	assert_string_equal(err, "'10.0.0.1': missing ':PORT'");
	assert_int_equal(hostport_parse("1.2.3.4:70000", -1, &ip, &port, err, sizeof(err)), -1);
	assert_int_equal(hostport_parse("host:25", -1, &ip, &port, err, sizeof(err)), -1);
	ipaddr_parse("192.0.2.1", &ip);
	assert_string_equal(ipaddr_literal(&ip, s, sizeof(s)), "[192.0.2.1]");
	ipaddr_parse("2001:db8::1", &ip);
	assert_string_equal(ipaddr_literal(&ip, s, sizeof(s)), "[IPv6:2001:db8::1]");
	struct ipaddr lit;
	assert_int_equal(ipaddr_parse_literal("[ipv6:2001:DB8::1]", 18, &lit), 0);
	assert_true(ipaddr_eq(&lit, &ip));
	assert_int_equal(ipaddr_parse_literal("[192.0.2.1]", 11, &lit), 0);
	assert_int_equal(ipaddr_parse_literal("192.0.2.1", 9, &lit), -1);
	assert_int_equal(ipaddr_parse_literal("[192.0.2.256]", 13, &lit), -1);
}

static void test_log_escape(void **st)
{
	(void)st;
	char out[32];
	assert_string_equal(log_escape(out, sizeof(out), "ok <b>", 6), "ok <b>");
	assert_string_equal(log_escape(out, sizeof(out), "a\"b\\c\r\n\x00\xff", 9),
	                    "a\\x22b\\x5cc\\x0d\\x0a\\x00\\xff");
	/* truncated with "..." and always terminated */
	char small[8];
	assert_string_equal(log_escape(small, sizeof(small), "abcdefghijkl", 12), "abcd...");
	assert_string_equal(log_escape(small, sizeof(small), "\x01\x02\x03", 3), "\\x01...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conf_parse_line), cmocka_unit_test(test_argv),
	    cmocka_unit_test(test_argv_errors),     cmocka_unit_test(test_config_file),
	    cmocka_unit_test(test_hostport),        cmocka_unit_test(test_log_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
