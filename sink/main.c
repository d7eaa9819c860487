/* relaytrap-sink: the sink as a standalone daemon. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "io.h"
#include "log.h"
#include "opt.h"
#include "recover.h"
#include "secret.h"
#include "sink.h"
#include "smtp.h"
#include "spool.h"
#include "store.h"

#ifndef RT_VERSION
#define RT_VERSION "0.1.0"
#endif

struct sink_main {
	struct sink_config sink;
	char *secret_file, *user, *pidfile, *log_file;
	int foreground, check_config, quiet, verbose, help, version;
};

static int check_store(void *cfg, const char *value, char *err, size_t errlen)
{
	(void)cfg;
	if (store_layout_known(value))
		return 0;
	snprintf(err, errlen, "'%.100s': not maildir or spool", value);
	return -1;
}

#define O(f) offsetof(struct sink_main, f)
#define S(f) offsetof(struct sink_main, sink.f)
static const struct opt options[] = {
    {"listen", 'l', OPT_LIST, S(listen), "ADDR:PORT",
     "listen here (repeatable; default 0.0.0.0:25)", 0, 0, NULL},
    {"domain", 'd', OPT_LIST, S(domains), "DOMAIN", "accept mail for this domain (repeatable)", 0,
     0, NULL},
    {"literal", 0, OPT_LIST, S(literals), "ADDR", "also accept this address literal (repeatable)",
     0, 0, NULL},
    {"secret-file", 0, OPT_STR, O(secret_file), "FILE", "token key shared with relaytrap", 0, 0,
     NULL},
    {"store", 0, OPT_STR, S(store), "maildir|spool",
     "how messages are kept: a Maildir, or one append-only spool file (default maildir)", 0, 0,
     check_store},
    {"maildir", 0, OPT_STR, S(maildir), "DIR", "the maildir store's folder (default ./Maildir)", 0,
     0, NULL},
    {"spool", 0, OPT_STR, S(spool), "FILE", "the spool store's file (default ./messages.spool)", 0,
     0, NULL},
    {"receipts", 0, OPT_STR, S(receipts), "FILE", "append receipts here (default ./receipts.jsonl)",
     0, 0, NULL},
    {"hostname", 0, OPT_STR, S(hostname), "NAME", "name in the banner (default: this host's)", 0, 0,
     NULL},
    {"user", 0, OPT_STR, O(user), "NAME", "drop root to this user right after binding", 0, 0, NULL},
    {"tls-cert", 0, OPT_STR, S(tls_cert), "FILE",
     "certificate chain (PEM) for STARTTLS (default: a self-signed one made at start)", 0, 0, NULL},
    {"tls-key", 0, OPT_STR, S(tls_key), "FILE", "its private key (PEM; default: --tls-cert)", 0, 0,
     NULL},
    {"no-tls", 0, OPT_FLAG, S(no_tls), NULL, "offer no STARTTLS", 0, 0, NULL},
    {"no-fsync", 0, OPT_FLAG, S(no_fsync), NULL, "acknowledge before data reaches the disk (labs)",
     0, 0, NULL},
    {"max-sessions", 0, OPT_INT, S(max_sessions), "N", "simultaneous sessions (default 10000)", 1,
     1e6, NULL},
    {"max-per-ip", 0, OPT_INT, S(max_per_ip), "N",
     "simultaneous sessions per client address, IPv6 per /64 (default 128)", 1, 1e6, NULL},
    {"max-rcpts", 0, OPT_INT, S(max_rcpts), "N", "recipients per message (default 100)", 1, 1e5,
     NULL},
    {"max-errors", 0, OPT_INT, S(max_errors), "N",
     "protocol errors before 421 and close (default 10)", 1, 1e4, NULL},
    {"max-size", 0, OPT_SIZE, S(max_size), "BYTES",
     "message size limit, advertised in SIZE (default 10m)", 1024, 1e9, NULL},
    {"max-line", 0, OPT_SIZE, S(max_line), "BYTES", "longest command line accepted (default 2048)",
     512, 65536, NULL},
    {"header-max", 0, OPT_SIZE, S(header_max), "BYTES",
     "header bytes analysed per message (default 64k)", 1024, 1 << 24, NULL},
    {"received-max", 0, OPT_INT, S(received_max), "N",
     "Received headers analysed per message (default 50)", 1, 1000, NULL},
    {"timeout", 0, OPT_DOUBLE, S(timeout_cmd), "SECONDS", "wait for a command (default 300)", 0.1,
     86400, NULL},
    {"data-timeout", 0, OPT_DOUBLE, S(timeout_data), "SECONDS",
     "time for the message data (default 600)", 0.1, 86400, NULL},
    {"session-timeout", 0, OPT_DOUBLE, S(timeout_session), "SECONDS",
     "total time per session (default 1800)", 0.1, 604800, NULL},
    {"stress-timeout", 0, OPT_DOUBLE, S(timeout_stress), "SECONDS",
     "wait for a command under stress, from 3/4 of --max-sessions (default 10)", 0.1, 86400, NULL},
    {"foreground", 'f', OPT_FLAG, O(foreground), NULL, "stay in the foreground, log to stderr", 0,
     0, NULL},
    {"pidfile", 0, OPT_STR, O(pidfile), "FILE", "write the process id here", 0, 0, NULL},
    {"log-file", 0, OPT_STR, O(log_file), "FILE", "log here (default stderr; SIGHUP reopens)", 0, 0,
     NULL},
    {"check-config", 0, OPT_FLAG, O(check_config), NULL,
     "check the configuration, print 'configuration OK'", 0, 0, NULL},
    {"config", 'C', OPT_CONFIG, 0, "FILE", "read options from FILE (name = value)", 0, 0, NULL},
    {"quiet", 'q', OPT_FLAG, O(quiet), NULL, "log errors only", 0, 0, NULL},
    {"verbose", 'v', OPT_FLAG, O(verbose), NULL, "log every session", 0, 0, NULL},
    {"help", 'h', OPT_FLAG, O(help), NULL, "show this help", 0, 0, NULL},
    {"version", 'V', OPT_FLAG, O(version), NULL, "show the version", 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, NULL},
};

static struct {
	struct io_loop *loop;
	struct sink *sink;
	const char *log_file;
	int stopping;
} g;

static void usage(FILE *out)
{
	fprintf(out, "usage: relaytrap-sink [OPTIONS]\n"
	             "A relay-test SMTP sink: stores what open relays deliver, never relays.\n\n");
	opt_usage(out, options);
}

static void on_done(void *arg)
{
	(void)arg;
	io_loop_break(g.loop);
}

static void on_term(void *arg)
{
	(void)arg;
	if (g.stopping++) {
		io_loop_break(g.loop); /* second signal: stop now */
		return;
	}
	log_msg(LOG_INFO, 0, "event=shutdown");
	sink_shutdown(g.sink, 30, on_done, NULL);
}

static void reopen_log(void)
{
	if (g.log_file && !freopen(g.log_file, "a", stderr))
		exit(3);
}

static void on_hup(void *arg)
{
	(void)arg;
	reopen_log();
	sink_reopen(g.sink);
	log_msg(LOG_INFO, 0, "event=reopen");
}

static int raise_fd_limit(long want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	return (long)rl.rlim_cur >= want ? 0 : (int)rl.rlim_cur;
}

#define SPOOL_LAYOUT(c) ((c)->store && !strcmp((c)->store, "spool"))

static int drop_root(const char *user, const struct sink_config *c, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "--user %s: no such user", user);
		return -1;
	}
	const char *subs[] = {"", "/tmp", "/new", "/cur", "/" RECOVER_DIR};
	for (size_t i = 0; !SPOOL_LAYOUT(c) && i < sizeof(subs) / sizeof(subs[0]); i++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s%s", c->maildir, subs[i]);
		if (chown(p, pw->pw_uid, pw->pw_gid) < 0)
			goto fail;
	}
	char unacked[4096];
	snprintf(unacked, sizeof(unacked), "%s" SPOOL_UNACKED_SUFFIX, c->spool);
	if (chown(c->receipts, pw->pw_uid, pw->pw_gid) < 0 ||
	    (SPOOL_LAYOUT(c) && chown(c->spool, pw->pw_uid, pw->pw_gid) < 0) ||
	    (SPOOL_LAYOUT(c) && chown(unacked, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT))
		goto fail;
	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "--user %s: %s", user, strerror(errno));
	return -1;
}

/* The pidfile, written while still root and locked for the daemon's life: a second daemon
 * with the same pidfile refuses to start. Returns the descriptor (kept open), -1 with err. */
static int pidfile_lock(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "--pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char old[24] = "";
		ssize_t n = pread(fd, old, sizeof(old) - 1, 0);
		old[n > 0 ? n : 0] = '\0';
		old[strspn(old, "0123456789")] = '\0';
		snprintf(err, errlen, "--pidfile %s: held by a running relaytrap-sink (pid %s)",
		         path, old[0] ? old : "?");
		close(fd);
		return -1;
	}
	char pid[24];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		snprintf(err, errlen, "--pidfile %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Makes and removes a file in folder dir: what access() cannot tell for root (a read-only
 * filesystem, say). NULL when that worked, else why not. */
static const char *can_create_in(const char *dir)
{
	char t[4200];
	snprintf(t, sizeof(t), "%s/.relaytrap-check.XXXXXX", dir);
	int fd = mkstemp(t);
	if (fd < 0)
		return strerror(errno);
	close(fd);
	unlink(t);
	return NULL;
}

/* A path the daemon will write: an existing one must be of the right kind and writable, a new
 * one's folder must exist and take a new file. */
static const char *writable(const char *path, int dir)
{
	struct stat st;
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", path);
	char *slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(parent, sizeof(parent), ".");
	if (stat(path, &st) == 0) {
		if (dir != !!S_ISDIR(st.st_mode))
			return dir ? "not a directory" : "a directory";
		if (access(path, W_OK) < 0)
			return strerror(errno);
		return can_create_in(dir ? path : parent);
	}
	if (errno != ENOENT) /* a path through a file: ENOTDIR */
		return strerror(errno);
	if (stat(parent, &st) < 0)
		return errno == ENOENT ? "its folder is missing or not writable" : strerror(errno);
	if (!S_ISDIR(st.st_mode))
		return "Not a directory";
	return can_create_in(parent);
}

/* What start-up would find wrong, before any port is bound (and all --check-config does). */
static int check_config(const struct sink_main *m, char *err, size_t errlen)
{
	struct ipaddr ip;
	uint16_t port;
	const char *why;
	char bad[300];
	for (int i = 0; i < m->sink.listen.n; i++)
		if (hostport_parse(m->sink.listen.v[i], 25, &ip, &port, bad, sizeof(bad)) < 0) {
			snprintf(err, errlen, "--listen %s", bad);
			return -1;
		}
	for (int i = 0; i < m->sink.domains.n; i++)
		if ((why = smtp_check_domain(m->sink.domains.v[i]))) {
			snprintf(err, errlen, "--domain '%.100s': %s", m->sink.domains.v[i], why);
			return -1;
		}
	for (int i = 0; i < m->sink.literals.n; i++)
		if (ipaddr_parse(m->sink.literals.v[i], &ip) < 0) {
			snprintf(err, errlen, "--literal '%.100s': not an IP address",
			         m->sink.literals.v[i]);
			return -1;
		}
	if (SPOOL_LAYOUT(&m->sink) && (why = writable(m->sink.spool, 0))) {
		snprintf(err, errlen, "--spool %s: %s", m->sink.spool, why);
		return -1;
	}
	if (!SPOOL_LAYOUT(&m->sink) && (why = writable(m->sink.maildir, 1))) {
		snprintf(err, errlen, "--maildir %s: %s", m->sink.maildir, why);
		return -1;
	}
	if ((why = writable(m->sink.receipts, 0))) {
		snprintf(err, errlen, "--receipts %s: %s", m->sink.receipts, why);
		return -1;
	}
	return 0;
}

/* Forks; the parent waits until the child says it is ready (or why it is not). */
static int daemonize(int *report)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		char msg[512];
		close(p[1]);
		ssize_t n = read(p[0], msg, sizeof(msg) - 1);
		if (n <= 0)
			_exit(3);
		msg[n] = '\0';
		if (strcmp(msg, "ok")) {
			fprintf(stderr, "relaytrap-sink: %s\n", msg + 1);
			_exit(msg[0] == '2' ? 2 : 3);
		}
		_exit(0);
	}
	close(p[0]);
	setsid();
	*report = p[1];
	return 0;
}

static void report_status(int fd, const char *msg)
{
	if (fd < 0)
		return;
	ssize_t rc = write(fd, msg, strlen(msg));
	(void)rc;
	close(fd);
}

static void fail(int report, int code, const char *msg)
{
	char m[600];
	if (report >= 0) {
		snprintf(m, sizeof(m), "%d%s", code, msg);
		report_status(report, m);
		_exit(code);
	}
	fprintf(stderr, "relaytrap-sink: %s\n", msg);
	exit(code);
}

static void main_free(struct sink_main *m)
{
	sink_config_free(&m->sink);
	free(m->secret_file);
	free(m->user);
	free(m->pidfile);
	free(m->log_file);
}

static int main_exit(struct sink_main *m, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int main_exit(struct sink_main *m, int code, const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		fprintf(stderr, "relaytrap-sink: ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	main_free(m);
	return code;
}

static void absolutize(char **path)
{
	char *abs = realpath(*path, NULL);
	if (!abs) {
		char cwd[4096];
		if (**path == '/' || !getcwd(cwd, sizeof(cwd)))
			return;
		size_t n = strlen(cwd) + strlen(*path) + 2;
		abs = malloc(n);
		if (!abs)
			return;
		snprintf(abs, n, "%s/%s", cwd, *path);
	}
	free(*path);
	*path = abs;
}

int main(int argc, char **argv)
{
	struct sink_main m;
	char err[512];
	int nargs, report = -1;
	uint8_t key[SECRET_MAX];
	size_t keylen = 0;

	memset(&m, 0, sizeof(m));
	sink_config_defaults(&m.sink);
	log_init(stderr, LOG_INFO, "relaytrap-sink");
	if (opt_parse_argv(options, &m, argc, argv, &nargs, err, sizeof(err)) < 0)
		return main_exit(&m, 2, "%s", err);
	if (m.help) {
		usage(stdout);
		return main_exit(&m, 0, NULL);
	}
	if (m.version) {
		printf("relaytrap-sink %s\n", RT_VERSION);
		return main_exit(&m, 0, NULL);
	}
	if (nargs)
		return main_exit(&m, 2, "unexpected argument '%s' (see --help)", argv[1]);
	if (!m.sink.listen.n)
		strlist_add(&m.sink.listen, "0.0.0.0:25");
	if (!m.sink.maildir)
		m.sink.maildir = strdup("Maildir");
	if (!m.sink.receipts)
		m.sink.receipts = strdup("receipts.jsonl");
	if (!m.sink.spool)
		m.sink.spool = strdup("messages.spool");
	if (m.secret_file && secret_load(m.secret_file, key, &keylen, err, sizeof(err)) < 0)
		return main_exit(&m, 2, "%s", err);
	if (m.user && !getpwnam(m.user))
		return main_exit(&m, 2, "--user %s: no such user", m.user);
	if (check_config(&m, err, sizeof(err)) < 0)
		return main_exit(&m, 2, "%s", err);
	if (m.check_config) {
		printf("configuration OK\n");
		return main_exit(&m, 0, NULL);
	}
	log_set_level(m.quiet ? LOG_ERR : m.verbose ? LOG_DEBUG : LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	if (raise_fd_limit(m.sink.max_sessions + 64) > 0) {
		struct rlimit rl;
		getrlimit(RLIMIT_NOFILE, &rl);
		m.sink.max_sessions = (long)rl.rlim_cur - 64;
		log_msg(LOG_WARN, 0, "event=limit max_sessions=%ld reason=\"descriptor limit\"",
		        m.sink.max_sessions);
	}
	absolutize(&m.sink.maildir);
	absolutize(&m.sink.receipts);
	absolutize(&m.sink.spool);
	if (!m.foreground && daemonize(&report) < 0)
		return main_exit(&m, 3, "cannot daemonize: %s", strerror(errno));
	g.log_file = m.log_file;
	reopen_log();
	int pidfd = -1;
	if (m.pidfile && (pidfd = pidfile_lock(m.pidfile, err, sizeof(err))) < 0)
		fail(report, 3, err);
	if (!(g.loop = io_loop_new()))
		fail(report, 3, "cannot create the event loop");
	if (!(g.sink = sink_new(g.loop, &m.sink, keylen ? key : NULL, keylen, err, sizeof(err))))
		fail(report, 3, err);
	if (m.user && geteuid() == 0 && drop_root(m.user, &m.sink, err, sizeof(err)) < 0)
		fail(report, 3, err);
	struct io_signal *sterm = io_signal_new(g.loop, SIGTERM, on_term, NULL);
	struct io_signal *sint = io_signal_new(g.loop, SIGINT, on_term, NULL);
	struct io_signal *shup = io_signal_new(g.loop, SIGHUP, on_hup, NULL);
	if (report >= 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		if (!m.log_file)
			dup2(devnull, 2);
		close(devnull);
		report_status(report, "ok");
	}
	log_msg(LOG_INFO, 0, "event=start listen=%s store=%s %s=%s receipts=%s fsync=%s",
	        m.sink.listen.v[0], SPOOL_LAYOUT(&m.sink) ? "spool" : "maildir",
	        SPOOL_LAYOUT(&m.sink) ? "spool" : "maildir",
	        SPOOL_LAYOUT(&m.sink) ? m.sink.spool : m.sink.maildir, m.sink.receipts,
	        m.sink.no_fsync ? "no" : "yes");
	io_loop_run(g.loop);

	struct sink_stats st;
	sink_stats(g.sink, &st);
	log_msg(LOG_INFO, 0, "event=stop sessions=%lu messages=%lu refused=%lu", st.sessions,
	        st.messages, st.refused);
	io_signal_free(sterm);
	io_signal_free(sint);
	io_signal_free(shup);
	sink_free(g.sink);
	io_loop_free(g.loop);
	if (m.pidfile) { /* may fail once root is dropped: the lock, not the file, says running */
		unlink(m.pidfile);
		close(pidfd);
	}
	return main_exit(&m, 0, NULL);
}
