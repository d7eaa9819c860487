/* One SMTP server session of the sink. The command table separates "is this allowed in this
 * state" from "do it"; lines are pulled whole from the read buffer, never parsed in the read
 * callback itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dotdata.h"
#include "io.h"
#include "jsonx.h"
#include "log.h"
#include "msgscan.h"
#include "sink_int.h"
#include "smtp.h"
#include "store.h"
#include "token.h"

#define WBUF_MAX (256 * 1024)
#define WBUF_HIGH (64 * 1024) /* stop reading while this much is unsent (pipelining floods) */
#define RBUF_MAX (64 * 1024)
#define CMD_RFC_MAX 512
#define MSG_FIRST 4096 /* the message buffer's first size: most messages fit, no regrowing */

enum sess_state {
	ST_INIT,
	ST_HELO,
	ST_MAIL,
	ST_RCPT,
	ST_DATA,
	ST_STORING,
	ST_TLS, /* STARTTLS answered: the handshake runs, no command is read */
	ST_CLOSING,
};
static const char *const state_names[] = {"init", "helo",    "mail", "rcpt",
                                          "data", "storing", "tls",  "closing"};

#define SF_LONG_CMD 0x1    /* a command over 512 octets (accepted up to max_line) */
#define SF_BARE_LF_CMD 0x2 /* a command ended by LF alone */

struct session {
	struct session *prev, *next;
	struct sink *sk;
	struct io *io;
	unsigned long id;
	enum sess_state st;
	struct ipaddr peer, local;
	uint16_t peer_port, local_port;
	char *helo;
	int esmtp;
	char *mail_from;
	struct strlist rcpts;
	int rcpt_cmds; /* RCPT commands in this transaction, accepted or not */
	struct buf msg;
	struct dotdata dd;
	int errors, flags, discarding, wpaused, draining;
	int peer_eof;   /* the peer shut down its sending side: finish what it sent, then close */
	int tls_wanted; /* STARTTLS answered: start the handshake once its line is read */
	char tls_version[16], tls_cipher[64]; /* "" until STARTTLS */
	double started, data_started;
	double armed_at, deadline; /* when the current wait began, when it ends */
	struct store_job *job;
};

static void session_free(struct session *s);
static void session_process(struct session *s);

struct session *session_next(const struct session *s)
{
	return s->next;
}

static void reply(struct session *s, const char *text)
{
	if (io_printf(s->io, "%s\r\n", text) < 0)
		s->st = ST_CLOSING; /* a peer that never reads; the timeout ends it */
}

static void close_with(struct session *s, const char *text, const char *why)
{
	log_msg(LOG_DEBUG, s->id, "event=close state=%s reason=\"%s\"", state_names[s->st], why);
	reply(s, text);
	s->st = ST_CLOSING;
	io_pause_read(s->io);
}

static void reply_error(struct session *s, const char *text)
{
	reply(s, text);
	if (++s->errors >= s->sk->cfg.max_errors)
		close_with(s, "421 4.7.0 Error: too many errors", "error budget spent");
}

static void set_deadline(struct session *s, double deadline)
{
	double left = deadline - io_now(s->sk->loop);
	s->deadline = deadline;
	io_set_timeout(s->io, left > 0.001 ? left : 0.001);
}

/* Per-state deadline, never past the session's total time. */
static void arm_timeout(struct session *s, double per_state)
{
	double now = io_now(s->sk->loop), end = s->started + s->sk->cfg.timeout_session;
	s->armed_at = now;
	set_deadline(s, now + per_state < end ? now + per_state : end);
}

/* Waiting for the client's next command (or its TLS handshake): the wait that idle sessions
 * hold slots with, so it is the one shortened under stress. */
static void arm_idle(struct session *s)
{
	arm_timeout(s, sink_idle_timeout(s->sk));
}

void session_stress(struct session *s)
{
	if (s->st == ST_DATA || s->st == ST_STORING || s->st == ST_CLOSING)
		return;
	double end = s->armed_at + s->sk->cfg.timeout_stress;
	if (end < s->deadline)
		set_deadline(s, end);
}

static void txn_reset(struct session *s)
{
	free(s->mail_from);
	s->mail_from = NULL;
	strlist_free(&s->rcpts);
	s->rcpt_cmds = 0;
	buf_free(&s->msg);
	if (s->st >= ST_MAIL && s->st <= ST_STORING)
		s->st = ST_HELO;
}

static int need_arg(struct session *s, const struct smtp_cmd *c, const char *usage)
{
	if (c->arglen)
		return 1;
	reply_error(s, usage);
	return 0;
}

static void set_helo(struct session *s, const struct smtp_cmd *c)
{
	free(s->helo);
	s->helo = strndup(c->arg, c->arglen);
	s->st = ST_HELO;
	txn_reset(s);
}

static void cmd_helo(struct session *s, const struct smtp_cmd *c)
{
	char line[320];
	if (!need_arg(s, c, "501 5.5.4 Syntax: HELO hostname"))
		return;
	set_helo(s, c);
	s->esmtp = 0;
	snprintf(line, sizeof(line), "250 %s", s->sk->hostname);
	reply(s, line);
}

static void cmd_ehlo(struct session *s, const struct smtp_cmd *c)
{
	char line[320];
	if (!need_arg(s, c, "501 5.5.4 Syntax: EHLO hostname"))
		return;
	set_helo(s, c);
	s->esmtp = 1;
	char peer[INET6_ADDRSTRLEN + 8];
	ipaddr_literal(&s->peer, peer, sizeof(peer));
	snprintf(line, sizeof(line), "250-%s Hello %s", s->sk->hostname, peer);
	reply(s, line);
	reply(s, "250-PIPELINING");
	snprintf(line, sizeof(line), "250-SIZE %zu", s->sk->cfg.max_size);
	reply(s, line);
	reply(s, "250-8BITMIME");
	if (s->sk->tls && !s->tls_version[0])
		reply(s, "250-STARTTLS");
	reply(s, "250 ENHANCEDSTATUSCODES");
}

/* RFC 3207. Whatever the client sent behind STARTTLS in the clear is dropped before the
 * handshake (a man in the middle could have put it there: CVE-2011-0411). */
static void cmd_starttls(struct session *s, const struct smtp_cmd *c)
{
	if (c->arglen) {
		reply_error(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (!s->sk->tls || s->tls_version[0]) {
		reply_error(s, s->tls_version[0] ? "554 5.5.1 Error: TLS already active"
		                                 : "502 5.5.1 Error: command not implemented");
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	s->tls_wanted = 1;
}

/* After the STARTTLS line: drop what followed it, then hand the connection to TLS. */
static void starttls_begin(struct session *s)
{
	struct buf *rb = io_rbuf(s->io);
	s->tls_wanted = 0;
	if (buf_len(rb)) {
		log_msg(LOG_WARN, s->id, "event=starttls-injection bytes=%zu", buf_len(rb));
		buf_consume(rb, buf_len(rb));
	}
	if (io_tls_start(s->io, s->sk->tls, 1, NULL) < 0) {
		close_with(s, "454 4.7.0 TLS not available", "TLS could not start");
		return;
	}
	s->st = ST_TLS;
	arm_idle(s);
}

/* The handshake is done: a new session in all but the connection (RFC 3207 4.2). */
static void tls_up(struct session *s)
{
	struct io_tls_info ti;
	io_tls_info(s->io, &ti);
	snprintf(s->tls_version, sizeof(s->tls_version), "%s", ti.version);
	snprintf(s->tls_cipher, sizeof(s->tls_cipher), "%s", ti.cipher);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = 0;
	s->st = ST_INIT;
	log_msg(LOG_DEBUG, s->id, "event=tls version=%s cipher=%s", s->tls_version, s->tls_cipher);
	arm_idle(s);
	session_process(s);
}

/* SIZE=n, read within its own bytes (the line is not NUL-terminated). */
static int size_param_exceeds(const char *v, size_t n, size_t max)
{
	size_t size = 0;
	for (size_t i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
		if (size > (max - (size_t)(v[i] - '0')) / 10)
			return 1;
		size = size * 10 + (size_t)(v[i] - '0');
	}
	return 0;
}

static void cmd_mail(struct session *s, const struct smtp_cmd *c)
{
	struct smtp_path p;
	const char *why;
	size_t vl;
	if (smtp_path_parse(c->arg, c->arglen, "FROM", &p, &why) < 0) {
		char line[128];
		snprintf(line, sizeof(line), "501 5.5.4 %s", why);
		reply_error(s, line);
		return;
	}
	const char *sz = smtp_param(p.params, p.paramslen, "SIZE", &vl);
	if (sz && size_param_exceeds(sz, vl, s->sk->cfg.max_size)) {
		reply(s, "552 5.3.4 Error: message size exceeds fixed limit");
		return;
	}
	s->mail_from = strndup(p.addr, p.addrlen);
	s->st = ST_MAIL;
	reply(s, "250 2.1.0 Ok");
}

static int is_own_address(struct session *s, const struct ipaddr *ip)
{
	if (ipaddr_eq(ip, &s->local))
		return 1;
	for (int i = 0; i < s->sk->cfg.literals.n; i++) {
		struct ipaddr a;
		if (ipaddr_parse(s->sk->cfg.literals.v[i], &a) == 0 && ipaddr_eq(&a, ip))
			return 1;
	}
	return 0;
}

static int domain_is_ours(struct session *s, const char *d, size_t n)
{
	struct ipaddr lit;
	if (n && d[n - 1] == '.')
		n--;
	if (n && d[0] == '[')
		return ipaddr_parse_literal(d, n, &lit) == 0 && is_own_address(s, &lit);
	for (int i = 0; i < s->sk->cfg.domains.n; i++) {
		const char *dom = s->sk->cfg.domains.v[i];
		if (strlen(dom) == n && strncasecmp(dom, d, n) == 0)
			return 1;
	}
	return 0;
}

/* 1: accept; 0: refuse. A recipient carrying a token whose target is this sink itself is a
 * relay test of the sink (relaytrap scanning its own host), not a delivery: refused, so that
 * the sink is never reported as a relay of its own mail. */
static int rcpt_is_ours(struct session *s, const struct smtp_path *p)
{
	struct token_fields f;
	int tok = msgscan_has_token(s->sk->scan, p->addr, p->addrlen, &f);
	if (tok && is_own_address(s, &f.target))
		return 0;
	/* the sink has no users: a local part with routing syntax (percent hack, bang path, an
	 * inner @ or quotes) at our own domain is a relay test unless it carries a token */
	int routing = 0;
	for (size_t i = 0; i < p->locallen; i++)
		routing |= strchr("%!@\"", p->local[i]) != NULL && p->local[i];
	if (p->domainlen && domain_is_ours(s, p->domain, p->domainlen))
		return tok || !routing;
	if (!p->domainlen && p->locallen == 10 && strncasecmp(p->local, "postmaster", 10) == 0)
		return 1;
	return tok;
}

static void cmd_rcpt(struct session *s, const struct smtp_cmd *c)
{
	struct smtp_path p;
	const char *why;
	char line[160];
	if (++s->rcpt_cmds > s->sk->cfg.max_rcpts) {
		reply_error(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (smtp_path_parse(c->arg, c->arglen, "TO", &p, &why) < 0) {
		snprintf(line, sizeof(line), "501 5.5.4 %s", why);
		reply_error(s, line);
		return;
	}
	if (p.null_path || !rcpt_is_ours(s, &p)) {
		s->sk->st.rejected_rcpts++;
		if (log_enabled(LOG_DEBUG)) { /* -v */
			char esc[300];
			log_msg(LOG_DEBUG, s->id, "event=refused rcpt=\"%s\"",
			        log_escape(esc, sizeof(esc), c->arg, c->arglen));
		}
		reply(s, "550 5.7.1 Error: relay access denied");
		return;
	}
	char *addr = strndup(p.addr, p.addrlen);
	if (!addr || strlist_add(&s->rcpts, addr) < 0) {
		free(addr);
		reply(s, "452 4.3.1 Error: out of memory");
		return;
	}
	free(addr);
	s->st = ST_RCPT;
	reply(s, "250 2.1.5 Ok");
}

static void cmd_data(struct session *s, const struct smtp_cmd *c)
{
	if (c->arglen) {
		reply_error(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	buf_init(&s->msg, s->sk->cfg.max_size);
	buf_reserve(&s->msg, MSG_FIRST < s->sk->cfg.max_size ? MSG_FIRST : s->sk->cfg.max_size);
	dotdata_init(&s->dd, s->sk->cfg.max_size);
	s->st = ST_DATA;
	s->data_started = io_now(s->sk->loop);
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	arm_timeout(s, s->sk->cfg.timeout_data);
}

static void cmd_rset(struct session *s, const struct smtp_cmd *c)
{
	(void)c;
	txn_reset(s);
	reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct session *s, const struct smtp_cmd *c)
{
	(void)c;
	reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(struct session *s, const struct smtp_cmd *c)
{
	(void)c;
	close_with(s, "221 2.0.0 Bye", "quit");
}

static void cmd_vrfy(struct session *s, const struct smtp_cmd *c)
{
	(void)c;
	reply(s, "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_help(struct session *s, const struct smtp_cmd *c)
{
	(void)c;
	reply(s, "214 2.0.0 relaytrap-sink: a relay-test sink; see relaytrap-sink(8)");
}

static void cmd_unimpl(struct session *s, const struct smtp_cmd *c)
{
	(void)c;
	reply_error(s, "502 5.5.1 Error: command not implemented");
}

#define CMD_STATES (1u << ST_INIT | 1u << ST_HELO | 1u << ST_MAIL | 1u << ST_RCPT)
static const struct {
	enum smtp_verb verb;
	unsigned states;
	const char *refusal;
	void (*fn)(struct session *, const struct smtp_cmd *);
} commands[] = {
    {SMTP_HELO, CMD_STATES, NULL, cmd_helo},
    {SMTP_EHLO, CMD_STATES, NULL, cmd_ehlo},
    {SMTP_MAIL, 1u << ST_INIT | 1u << ST_HELO, "503 5.5.1 Error: nested MAIL command", cmd_mail},
    {SMTP_RCPT, 1u << ST_MAIL | 1u << ST_RCPT, "503 5.5.1 Error: need MAIL command", cmd_rcpt},
    {SMTP_DATA, 1u << ST_RCPT, "503 5.5.1 Error: need RCPT command", cmd_data},
    {SMTP_RSET, CMD_STATES, NULL, cmd_rset},
    {SMTP_NOOP, CMD_STATES, NULL, cmd_noop},
    {SMTP_QUIT, CMD_STATES, NULL, cmd_quit},
    {SMTP_VRFY, CMD_STATES, NULL, cmd_vrfy},
    {SMTP_HELP, CMD_STATES, NULL, cmd_help},
    {SMTP_EXPN, CMD_STATES, NULL, cmd_unimpl},
    {SMTP_STARTTLS, 1u << ST_HELO, "503 5.5.1 Error: send EHLO first, outside a transaction",
     cmd_starttls},
    {SMTP_AUTH, CMD_STATES, NULL, cmd_unimpl},
    {SMTP_BDAT, CMD_STATES, NULL, cmd_unimpl},
};

static void handle_line(struct session *s, const char *line, size_t len, int lflags)
{
	struct smtp_cmd c;
	if (lflags & LINE_HAS_NUL) {
		reply_error(s, "500 5.5.2 Error: NUL character in command");
		return;
	}
	if (lflags & LINE_BARE_LF)
		s->flags |= SF_BARE_LF_CMD;
	if (len > CMD_RFC_MAX)
		s->flags |= SF_LONG_CMD;
	smtp_cmd_parse(line, len, &c);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].verb != c.verb)
			continue;
		if (!(commands[i].states & (1u << s->st)))
			reply_error(s, commands[i].refusal);
		else
			commands[i].fn(s, &c);
		return;
	}
	reply_error(s, "500 5.5.2 Error: command not recognized");
}

static json_t *receipt_build(struct session *s)
{
	json_t *r = msgscan_run(s->sk->scan, s->mail_from ? s->mail_from : "", buf_head(&s->msg),
	                        buf_len(&s->msg), &s->rcpts);
	if (!r)
		return NULL;
	char a[INET6_ADDRSTRLEN], ts[40];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + tl, sizeof(ts) - tl, ".%03ldZ", (long)tv.tv_usec / 1000);
	json_object_set_new(r, "type", json_string("receipt"));
	json_object_set_new(r, "time", json_string(ts));
	json_object_set_new(r, "unix_time", json_real((double)tv.tv_sec + tv.tv_usec / 1e6));
	json_object_set_new(r, "session", json_integer((json_int_t)s->id));
	json_object_set_new(r, "peer_addr", json_string(ipaddr_str(&s->peer, a, sizeof(a))));
	json_object_set_new(r, "peer_port", json_integer(s->peer_port));
	json_object_set_new(r, "local_addr", json_string(ipaddr_str(&s->local, a, sizeof(a))));
	json_object_set_new(r, "local_port", json_integer(s->local_port));
	json_object_set_new(r, "helo", jsonx_str(s->helo));
	json_object_set_new(r, "esmtp", json_boolean(s->esmtp));
	json_object_set_new(r, "mail_from", jsonx_str(s->mail_from));
	json_t *rc = json_array();
	for (int i = 0; i < s->rcpts.n; i++)
		json_array_append_new(rc, jsonx_str(s->rcpts.v[i]));
	json_object_set_new(r, "rcpt", rc);
	json_object_set_new(r, "size", json_integer((json_int_t)s->dd.size));
	json_object_set_new(r, "data_seconds", json_real(io_now(s->sk->loop) - s->data_started));
	const char *names[8];
	int n = dotdata_flag_names(s->dd.flags, names, 8);
	json_t *fl = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(fl, json_string(names[i]));
	if (s->flags & SF_LONG_CMD)
		json_array_append_new(fl, json_string("long_command"));
	if (s->flags & SF_BARE_LF_CMD)
		json_array_append_new(fl, json_string("bare_lf_command"));
	json_object_set_new(r, "flags", fl);
	json_t *tls = json_null();
	if (s->tls_version[0]) {
		tls = json_object();
		json_object_set_new(tls, "version", json_string(s->tls_version));
		json_object_set_new(tls, "cipher", json_string(s->tls_cipher));
	}
	json_object_set_new(r, "tls", tls);
	return r;
}

static void on_stored(void *arg, int ok, const json_t *receipt)
{
	struct session *s = arg;
	char line[200];
	s->job = NULL;
	if (ok) {
		char where[160];
		store_where(receipt, where, sizeof(where));
		snprintf(line, sizeof(line), "250 2.0.0 Ok: queued as %s",
		         strncmp(where, "new/", 4) ? where : where + 4);
		reply(s, line);
		sink_delivered(s->sk, receipt, (size_t)s->dd.size);
	} else {
		reply(s, "451 4.3.0 Error: could not store the message, try again later");
	}
	txn_reset(s);
	if (s->draining) {
		close_with(s, "421 4.3.2 Service shutting down", "shutdown");
		return;
	}
	arm_idle(s);
	session_process(s); /* commands pipelined behind the message */
}

static void data_end(struct session *s)
{
	if (s->dd.flags & DD_OVERSIZE) {
		reply(s, "552 5.3.4 Error: message size exceeds fixed limit");
		txn_reset(s);
		arm_idle(s);
		if (s->draining)
			close_with(s, "421 4.3.2 Service shutting down", "shutdown");
		return;
	}
	json_t *receipt = receipt_build(s);
	size_t len;
	char *msg = receipt ? buf_take(&s->msg, &len) : NULL;
	if (!msg) {
		json_decref(receipt);
		reply(s, "451 4.3.0 Error: out of memory");
		txn_reset(s);
		arm_idle(s);
		return;
	}
	s->st = ST_STORING; /* input that follows waits in the bounded read buffer */
	s->job = store_submit(s->sk->store, msg, len, receipt, on_stored, s);
	if (!s->job) { /* the next message starts a transaction of its own */
		txn_reset(s);
		s->st = ST_HELO;
		reply(s, "451 4.3.0 Error: could not queue the message");
	}
}

static void session_process(struct session *s)
{
	struct buf *rb = io_rbuf(s->io);
	while (s->st != ST_CLOSING && s->st != ST_STORING && s->st != ST_TLS && buf_len(rb)) {
		if (io_queued(s->io) > WBUF_HIGH) {
			s->wpaused = 1;
			io_pause_read(s->io);
			return;
		}
		if (s->st == ST_DATA) {
			int done;
			buf_consume(
			    rb, dotdata_feed(&s->dd, buf_head(rb), buf_len(rb), &s->msg, &done));
			if (done)
				data_end(s);
			continue;
		}
		if (s->discarding) {
			const char *lf = memchr(buf_head(rb), '\n', buf_len(rb));
			buf_consume(rb, lf ? (size_t)(lf - buf_head(rb)) + 1 : buf_len(rb));
			s->discarding = !lf;
			continue;
		}
		size_t ll, used;
		int fl;
		enum line_status ls =
		    line_frame(buf_head(rb), buf_len(rb), s->sk->cfg.max_line, &ll, &used, &fl);
		if (ls == LINE_NEED)
			break;
		if (ls == LINE_TOO_LONG) {
			reply_error(s, "500 5.5.2 Error: line too long");
			s->discarding = used == 0;
			buf_consume(rb, used ? used : buf_len(rb));
			continue;
		}
		handle_line(s, buf_head(rb), ll, fl);
		buf_consume(rb, used);
		if (s->tls_wanted) {
			starttls_begin(s);
			return;
		}
		if (s->st != ST_DATA && s->st != ST_STORING)
			arm_idle(s);
	}
	if (s->peer_eof && s->st != ST_STORING && s->st != ST_CLOSING) {
		/* everything the peer sent is answered; nothing more will come */
		log_msg(LOG_DEBUG, s->id, "event=close state=%s reason=\"end of input\"",
		        state_names[s->st]);
		s->st = ST_CLOSING;
		if (!io_queued(s->io))
			session_free(s);
		return;
	}
	io_read_more(s->io);
}

static void session_io(struct io *io, enum io_event ev, void *arg)
{
	struct session *s = arg;
	(void)io;
	switch (ev) {
	case IO_DATAIN:
		session_process(s);
		break;
	case IO_LOWAT:
		if (s->st == ST_CLOSING) {
			session_free(s);
		} else if (s->wpaused) {
			s->wpaused = 0;
			io_resume_read(s->io);
		}
		break;
	case IO_TIMEOUT:
		if (s->st == ST_CLOSING) {
			session_free(s);
			break;
		}
		if (s->job) {
			store_cancel(s->job);
			s->job = NULL;
		}
		close_with(s, "421 4.4.2 Error: timeout exceeded", "timeout");
		io_set_timeout(s->io, 5);
		break;
	case IO_TLS_UP:
		tls_up(s);
		break;
	case IO_DISCONNECTED:
		/* A half-close (QUIT and FIN right behind the final dot, as Exim sends them):
		 * the message being stored is still acknowledged and QUIT answered. */
		if (s->st != ST_CLOSING && (s->job || buf_len(io_rbuf(s->io)))) {
			s->peer_eof = 1;
			if (!s->job)
				session_process(s);
			break;
		}
		/* fall through */
	case IO_ERROR:
	case IO_CONNECTED:
		log_msg(LOG_DEBUG, s->id, "event=disconnect state=%s reason=\"%s\"",
		        state_names[s->st], io_strerror(s->io));
		session_free(s);
		break;
	}
}

void session_start(struct sink *sk, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	(void)peerlen;
	struct session *s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return;
	}
	s->io = io_new(sk->loop, fd, RBUF_MAX, WBUF_MAX, session_io, s);
	if (!s->io) {
		free(s);
		close(fd);
		return;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ipaddr_from_sa(peer, &s->peer, &s->peer_port);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		ipaddr_from_sa((struct sockaddr *)&ss, &s->local, &s->local_port);
	s->sk = sk;
	s->id = ++sk->next_id;
	s->started = io_now(sk->loop);
	s->next = sk->sessions;
	if (sk->sessions)
		sk->sessions->prev = s;
	sk->sessions = s;
	char line[320], a[INET6_ADDRSTRLEN];
	log_msg(LOG_DEBUG, s->id, "event=connect peer=%s port=%u",
	        ipaddr_str(&s->peer, a, sizeof(a)), s->peer_port);
	snprintf(line, sizeof(line), "220 %s ESMTP relaytrap-sink", sk->hostname);
	reply(s, line);
	arm_idle(s);
}

static void session_free(struct session *s)
{
	struct sink *sk = s->sk;
	if (s->job)
		store_cancel(s->job);
	if (s->prev)
		s->prev->next = s->next;
	else
		sk->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	io_free(s->io);
	txn_reset(s);
	free(s->helo);
	sink_session_gone(sk, &s->peer);
	free(s);
}

void session_drain(struct session *s)
{
	s->draining = 1;
	if (s->st != ST_DATA && s->st != ST_STORING && s->st != ST_CLOSING)
		close_with(s, "421 4.3.2 Service shutting down", "shutdown");
}

void session_abort(struct session *s)
{
	session_free(s);
}
