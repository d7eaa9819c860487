/* --selftest: known SMTP servers of every posture, started in this process on loopback
 * (127.83.0.0/24), scanned with the embedded sink; expected and found verdicts printed side
 * by side. The relays that forward really deliver, over TCP, from their own address. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "prober.h"
#include "smtp.h"

#define FAKE_DATA_MAX (64 * 1024)

enum posture {
	P_OPEN,
	P_STRIP,
	P_DROP,
	P_CLOSED,
	P_GREYLIST,
	P_AUTH,
	P_PERCENT,
	P_SMARTHOST,
	P_BOUNCE, /* accepts, then returns the test to its sender as a DSN (passive rejection) */
	P_TLS,    /* an open relay, but only after STARTTLS (530 before it) */
	P_TLS_HIDDEN, /* the same, STARTTLS not announced: only the 530 says it */
	P_AUTH_EMPTY, /* closed, but relays after AUTH PLAIN or LOGIN with empty credentials */
	P_XCLIENT,    /* closed, but XCLIENT from anyone, and 127.0.0.1 is trusted */
	P_SMUGGLE,    /* an open relay that also ends data at <LF>.<LF> (as inbound servers did
	                 before the SMTP smuggling fixes) */
};

struct fake {
	const char *name;
	enum posture posture;
	const char *addr;
	int next; /* index of the next hop, -1: the sink */
	const char *expect;
	const char *expect_flag; /* NULL: no flag */
	struct io_listener *ls;
	struct ipaddr ip;
};

static struct fake fakes[] = {
    {"open relay", P_OPEN, "127.83.0.2", -1, "open", NULL, NULL, {0, {0}}},
    {"strips Received", P_STRIP, "127.83.0.3", -1, "open-anonymous", NULL, NULL, {0, {0}}},
    {"accepts and drops", P_DROP, "127.83.0.4", -1, "accepted", NULL, NULL, {0, {0}}},
    {"closed", P_CLOSED, "127.83.0.5", -1, "closed", NULL, NULL, {0, {0}}},
    {"greylisting", P_GREYLIST, "127.83.0.6", -1, "deferred", NULL, NULL, {0, {0}}},
    {"auth required", P_AUTH, "127.83.0.7", -1, "auth-required", NULL, NULL, {0, {0}}},
    {"percent hack only", P_PERCENT, "127.83.0.8", -1, "open", NULL, NULL, {0, {0}}},
    {"via a smarthost", P_SMARTHOST, "127.83.0.9", 8, "open", "multi_hop", NULL, {0, {0}}},
    {"the smarthost", P_OPEN, "127.83.0.10", -1, "open", NULL, NULL, {0, {0}}},
    {"bounces relay tests", P_BOUNCE, "127.83.0.11", -1, "accepted", "bounces", NULL, {0, {0}}},
    {"open after STARTTLS", P_TLS, "127.83.0.12", -1, "open", NULL, NULL, {0, {0}}},
    {"530 asks for STARTTLS", P_TLS_HIDDEN, "127.83.0.13", -1, "open", NULL, NULL, {0, {0}}},
    {"relays after empty AUTH",
     P_AUTH_EMPTY,
     "127.83.0.14",
     -1,
     "open",
     "auth_bypass",
     NULL,
     {0, {0}}},
    {"XCLIENT from anyone", P_XCLIENT, "127.83.0.15", -1, "open", "xclient_spoof", NULL, {0, {0}}},
    {"ends data at <LF>.<LF>", P_SMUGGLE, "127.83.0.16", -1, "open", "smuggling", NULL, {0, {0}}},
};
#define NFAKES ((int)(sizeof(fakes) / sizeof(fakes[0])))

static struct {
	struct io_loop *loop;
	uint16_t port, sink_port;
	struct ipaddr sink_ip;
	int forwards_failed;
	struct fwd *fwds;       /* live forwards, freed at the end */
	struct fsess *sessions; /* live relay sessions */
	struct io_tls_ctx *tls; /* the STARTTLS relay's (a certificate made at start) */
} st;

/* ---- forwarding: a tiny SMTP client that hands one message to the next hop ---- */

struct fwd {
	struct fwd *prev, *next;
	struct io *io;
	int step;
	char helo[64], mail[600], rcpt[600];
	char *data; /* dot-stuffed, ending CRLF.CRLF */
	size_t len;
};

static void fwd_free(struct fwd *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		st.fwds = f->next;
	if (f->next)
		f->next->prev = f->prev;
	if (f->io)
		io_free(f->io);
	free(f->data);
	free(f);
}

static void fwd_cb(struct io *io, enum io_event ev, void *arg)
{
	struct fwd *f = arg;
	if (ev == IO_CONNECTED || ev == IO_LOWAT)
		return;
	if (ev != IO_DATAIN) {
		st.forwards_failed++;
		log_msg(LOG_WARN, 0, "selftest forward: %s", io_strerror(io));
		fwd_free(f);
		return;
	}
	struct buf *in = io_rbuf(io);
	struct smtp_reply r;
	while (smtp_reply_parse(buf_head(in), buf_len(in), 2048, 64, &r) == REPLY_OK) {
		buf_consume(in, r.bytes);
		if (r.code >= 400) {
			st.forwards_failed++;
			fwd_free(f);
			return;
		}
		switch (f->step++) {
		case 0:
			io_printf(io, "EHLO %s\r\n", f->helo);
			break;
		case 1:
			io_printf(io, "MAIL FROM:%s\r\n", f->mail);
			break;
		case 2:
			io_printf(io, "RCPT TO:<%s>\r\n", f->rcpt);
			break;
		case 3:
			io_printf(io, "DATA\r\n");
			break;
		case 4:
			io_write(io, f->data, f->len);
			break;
		case 5:
			io_printf(io, "QUIT\r\n");
			break;
		default:
			fwd_free(f);
			return;
		}
	}
	io_read_more(io);
}

static void forward(const struct fake *fk, const char *mail, const char *rcpt, char *data,
                    size_t len)
{
	struct fwd *f = calloc(1, sizeof(*f));
	if (!f) {
		free(data);
		return;
	}
	snprintf(f->helo, sizeof(f->helo), "%s", fk->addr);
	snprintf(f->mail, sizeof(f->mail), "%s", mail);
	snprintf(f->rcpt, sizeof(f->rcpt), "%s", rcpt);
	f->data = data;
	f->len = len;
	f->next = st.fwds;
	if (st.fwds)
		st.fwds->prev = f;
	st.fwds = f;
	struct sockaddr_storage to, from;
	struct ipaddr hop = fk->next >= 0 ? fakes[fk->next].ip : st.sink_ip;
	socklen_t tl = ipaddr_to_sa(&hop, fk->next >= 0 ? st.port : st.sink_port, &to);
	socklen_t fl = ipaddr_to_sa(&fk->ip, 0, &from);
	f->io = io_connect(st.loop, (struct sockaddr *)&to, tl, (struct sockaddr *)&from, fl,
	                   64 * 1024, 256 * 1024, fwd_cb, f);
	if (!f->io) {
		st.forwards_failed++;
		fwd_free(f);
		return;
	}
	io_set_timeout(f->io, 10);
}

/* ---- the fake relay's server side ---- */

struct fsess {
	struct fsess *prev, *next;
	struct fake *fk;
	struct io *io;
	struct ipaddr peer;
	char helo[128], mail[600], rcpt[600];
	int in_data;
	enum { FT_PLAIN, FT_ANSWERED, FT_HANDSHAKE, FT_UP } tls; /* STARTTLS, step by step */
	int trusted;   /* P_AUTH_EMPTY after AUTH, P_XCLIENT after XCLIENT ADDR=127.0.0.1 */
	int auth_step; /* AUTH LOGIN: the answers still expected */
	int prev_bare; /* the last line ended with a bare LF */
	struct buf data;
};

static void fsess_free(struct fsess *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		st.sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	io_free(s->io);
	buf_free(&s->data);
	free(s);
}

/* The recipient the relay hands on, or NULL to refuse (with *reply set). */
static int accept_rcpt(struct fsess *s, const char *arg, size_t len, const char **reply)
{
	struct smtp_path p;
	const char *why;
	switch (s->fk->posture) {
	case P_AUTH_EMPTY:
	case P_XCLIENT:
		if (s->trusted)
			break;
		/* fall through */
	case P_CLOSED:
		*reply = "554 5.7.1 Relay access denied";
		return 0;
	case P_GREYLIST:
		*reply = "450 4.7.1 Recipient address rejected: Greylisted, try again later";
		return 0;
	case P_AUTH:
		*reply = "530 5.7.0 Authentication required";
		return 0;
	default:
		break;
	}
	if (smtp_path_parse(arg, len, "TO", &p, &why) < 0 || p.addrlen >= sizeof(s->rcpt)) {
		*reply = "501 5.1.3 Bad recipient address syntax";
		return 0;
	}
	memcpy(s->rcpt, p.addr, p.addrlen);
	s->rcpt[p.addrlen] = '\0';
	if (s->fk->posture == P_PERCENT) {
		/* only "local%domain" or "local%domain@this-host" is relayed */
		char local[600];
		snprintf(local, sizeof(local), "%.*s", (int)p.locallen, p.local);
		char *pct = strrchr(local, '%');
		if (!pct || local[0] == '"' || strchr(local, '!')) {
			*reply = "550 5.7.1 Relaying denied";
			return 0;
		}
		*pct = '@';
		if (!p.domainlen && strchr(pct + 1, '@')) /* "a%b" parsed whole as local */
			*strchr(pct + 1, '@') = '\0';
		snprintf(s->rcpt, sizeof(s->rcpt), "%s", local);
	}
	*reply = "250 2.1.5 Ok";
	return 1;
}

static void add_trace(struct fsess *s, struct buf *out)
{
	char peer[ADDR_TEXT_MAX];
	ipaddr_str(&s->peer, peer, sizeof(peer));
	char h[700];
	int n = snprintf(h, sizeof(h),
	                 "Received: from %s ([%s])\r\n\tby %s (fake-relay) with ESMTP id 4F2A1\r\n"
	                 "\tfor <%s>; Sat, 21 Nov 2026 10:00:00 +0000\r\n",
	                 s->helo, peer, s->fk->addr, s->rcpt);
	buf_append(out, h, (size_t)n);
}

/* A DSN as Postfix's bounce(8) writes it, the original attached, to the test's sender when
 * that is at the sink (a real relay's bounce to any other sender would not reach it). */
static void bounce(struct fsess *s)
{
	char lit[ADDR_TEXT_MAX + 8], sender[600];
	ipaddr_literal(&st.sink_ip, lit, sizeof(lit));
	snprintf(sender, sizeof(sender), "%s", s->mail[0] == '<' ? s->mail + 1 : s->mail);
	char *gt = strchr(sender, '>'), *at = strrchr(sender, '@');
	if (gt)
		*gt = '\0';
	if (!at || strcmp(at + 1, lit) != 0)
		return;
	char head[3000];
	int hn =
	    snprintf(head, sizeof(head),
	             "From: MAILER-DAEMON@%s (Mail Delivery System)\r\n"
	             "Subject: Undelivered Mail Returned to Sender\r\nTo: %s\r\n"
	             "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
	             "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	             "\tboundary=\"B.%s\"\r\n\r\n--B.%s\r\nContent-Type: text/plain\r\n\r\n"
	             "<%s>: relaying denied by policy\r\n\r\n--B.%s\r\n"
	             "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; %s\r\n\r\n"
	             "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.7.1\r\n"
	             "Diagnostic-Code: X-Postfix; relaying denied by policy\r\n\r\n--B.%s\r\n"
	             "Content-Type: message/rfc822\r\n\r\n",
	             s->fk->addr, sender, s->fk->addr, s->fk->addr, s->rcpt, s->fk->addr,
	             s->fk->addr, s->rcpt, s->fk->addr);
	char tail[128];
	int tn = snprintf(tail, sizeof(tail), "\r\n--B.%s--\r\n.\r\n", s->fk->addr);
	if (hn < 0 || (size_t)hn >= sizeof(head) || tn < 0 || (size_t)tn >= sizeof(tail))
		return;
	struct buf out;
	buf_init(&out, FAKE_DATA_MAX + 8192);
	buf_append(&out, head, (size_t)hn);
	/* the original, still dot-stuffed, without its ".\r\n" */
	size_t n = buf_len(&s->data) >= 3 ? buf_len(&s->data) - 3 : 0;
	buf_append(&out, buf_head(&s->data), n);
	buf_append(&out, tail, (size_t)tn);
	char *data = malloc(buf_len(&out));
	size_t len = buf_len(&out);
	if (data)
		memcpy(data, buf_head(&out), len);
	buf_free(&out);
	if (data)
		forward(s->fk, "<>", sender, data, len);
}

static void end_of_data(struct fsess *s)
{
	const struct fake *fk = s->fk;
	if (fk->posture == P_BOUNCE)
		bounce(s);
	if (fk->posture == P_DROP || fk->posture == P_CLOSED || fk->posture == P_BOUNCE)
		return;
	/* a mail loop guard, as real MTAs have: too many of our own hops, drop it */
	int hops = 0;
	for (const char *q = buf_head(&s->data);
	     (q = memmem(q, buf_len(&s->data) - (size_t)(q - buf_head(&s->data)), "(fake-relay)",
	                 12)) != NULL;
	     q += 12)
		hops++;
	if (hops >= 3)
		return;
	struct buf out;
	buf_init(&out, FAKE_DATA_MAX + 4096);
	if (fk->posture != P_STRIP)
		add_trace(s, &out);
	/* copy the message; a stripping relay leaves out every Received field */
	const char *p = buf_head(&s->data), *end = p + buf_len(&s->data);
	int in_header = 1, skipping = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
		if (in_header && (n <= 2))
			in_header = 0;
		if (in_header && fk->posture == P_STRIP) {
			if (p[0] != ' ' && p[0] != '\t')
				skipping = n >= 9 && strncasecmp(p, "received:", 9) == 0;
		} else {
			skipping = 0;
		}
		if (!skipping)
			buf_append(&out, p, n);
		p += n;
	}
	char *data = malloc(buf_len(&out) + 1);
	size_t len = buf_len(&out);
	if (data)
		memcpy(data, buf_head(&out), len);
	buf_free(&out);
	if (data)
		forward(fk, s->mail, s->rcpt, data, len);
}

static int uses_tls(const struct fake *fk)
{
	return fk->posture == P_TLS || fk->posture == P_TLS_HIDDEN;
}

/* AUTH on P_AUTH_EMPTY: empty PLAIN or LOGIN credentials are let in, ANONYMOUS is not. */
static void fake_auth(struct fsess *s, const char *arg, size_t n)
{
	if (s->auth_step) {
		if (--s->auth_step) {
			io_printf(s->io, "334 UGFzc3dvcmQ6\r\n");
			return;
		}
		s->trusted = n == 0;
		io_printf(s->io, n ? "535 5.7.8 Authentication failed\r\n"
		                   : "235 2.7.0 Authentication successful\r\n");
		return;
	}
	if (n == 10 && strncasecmp(arg, "PLAIN AAA=", 10) == 0) {
		s->trusted = 1;
		io_printf(s->io, "235 2.7.0 Authentication successful\r\n");
	} else if (n == 5 && strncasecmp(arg, "LOGIN", 5) == 0) {
		s->auth_step = 2;
		io_printf(s->io, "334 VXNlcm5hbWU6\r\n");
	} else {
		io_printf(s->io, "504 5.5.4 Unrecognized authentication type\r\n");
	}
}

/* The end of the data: "." on a line of its own, between CRLFs (RFC 5321 4.1.1.4); P_SMUGGLE
 * takes any line end. */
static int end_of_data_line(struct fsess *s, const char *l, size_t n, int flags)
{
	int bare = flags & LINE_BARE_LF, after_bare = s->prev_bare;
	s->prev_bare = bare;
	if (n != 1 || l[0] != '.')
		return 0;
	return s->fk->posture == P_SMUGGLE || (!bare && !after_bare);
}

static void fsess_line(struct fsess *s, const char *l, size_t n, int flags)
{
	if (s->auth_step) {
		fake_auth(s, l, n);
		return;
	}
	if (s->fk->posture == P_XCLIENT && n > 8 && strncasecmp(l, "XCLIENT ", 8) == 0) {
		/* Postfix: a new session as the client named; here only 127.0.0.1 is trusted */
		s->trusted = memmem(l, n, "ADDR=127.0.0.1", 14) != NULL;
		io_printf(s->io, "220 %s ESMTP fake-relay (%s)\r\n", s->fk->addr, s->fk->name);
		return;
	}
	if (s->in_data) {
		if (end_of_data_line(s, l, n, flags)) {
			s->in_data = 0;
			buf_append(&s->data, ".\r\n", 3);
			end_of_data(s);
			buf_consume(&s->data, buf_len(&s->data));
			io_printf(s->io, "250 2.0.0 Ok: queued as 4F2A1\r\n");
			return;
		}
		if (n == 1 && l[0] == '.') /* not the end: data, "." unstuffed, stuffed again */
			n = 0;
		if (buf_append(&s->data, l, n) < 0 || buf_append(&s->data, "\r\n", 2) < 0)
			s->in_data = 2; /* too big: swallow the rest */
		return;
	}
	struct smtp_cmd c;
	smtp_cmd_parse(l, n, &c);
	const char *reply = "250 2.0.0 Ok";
	switch (c.verb) {
	case SMTP_EHLO:
	case SMTP_HELO: {
		char peer[ADDR_TEXT_MAX];
		snprintf(s->helo, sizeof(s->helo), "%.*s", (int)(c.arglen < 100 ? c.arglen : 100),
		         c.arg);
		if (c.verb == SMTP_EHLO)
			io_printf(
			    s->io, "250-%s Hello %s [%s]\r\n250-PIPELINING\r\n%s%s250 8BITMIME\r\n",
			    s->fk->addr, s->helo, ipaddr_str(&s->peer, peer, sizeof(peer)),
			    s->fk->posture == P_TLS && s->tls == FT_PLAIN ? "250-STARTTLS\r\n" : "",
			    s->fk->posture == P_AUTH_EMPTY ? "250-AUTH PLAIN LOGIN\r\n"
			    : s->fk->posture == P_XCLIENT  ? "250-XCLIENT ADDR NAME\r\n"
			                                   : "");
		else
			io_printf(s->io, "250 %s\r\n", s->fk->addr);
		return;
	}
	case SMTP_STARTTLS:
		if (!uses_tls(s->fk) || s->tls != FT_PLAIN) {
			reply = "502 5.5.2 Error: command not recognized";
			break;
		}
		io_printf(s->io, "220 2.0.0 Ready to start TLS\r\n");
		s->tls = FT_ANSWERED; /* the handshake starts once this line is consumed */
		return;
	case SMTP_MAIL:
		if (uses_tls(s->fk) && s->tls != FT_UP) {
			reply = "530 5.7.0 Must issue a STARTTLS command first";
			break;
		}
		snprintf(s->mail, sizeof(s->mail), "%.*s",
		         (int)(c.arglen > 5 && c.arglen < 500 ? c.arglen - 5 : 0), c.arg + 5);
		reply = "250 2.1.0 Ok";
		break;
	case SMTP_RCPT:
		accept_rcpt(s, c.arg, c.arglen, &reply);
		break;
	case SMTP_DATA:
		s->in_data = 1;
		s->prev_bare = 0;
		reply = "354 End data with <CR><LF>.<CR><LF>";
		break;
	case SMTP_QUIT:
		io_printf(s->io, "221 2.0.0 Bye\r\n");
		return;
	case SMTP_AUTH:
		if (s->fk->posture == P_AUTH_EMPTY && !s->trusted) {
			fake_auth(s, c.arg, c.arglen);
			return;
		}
		reply = "503 5.5.1 Error: authentication not enabled";
		break;
	case SMTP_RSET:
	case SMTP_NOOP:
		break;
	default:
		reply = "502 5.5.2 Error: command not recognized";
	}
	io_printf(s->io, "%s\r\n", reply);
}

static void fsess_cb(struct io *io, enum io_event ev, void *arg)
{
	struct fsess *s = arg;
	if (ev == IO_CONNECTED || ev == IO_LOWAT)
		return;
	if (ev == IO_TLS_UP) {
		s->tls = FT_UP;
		return;
	}
	if (ev != IO_DATAIN) {
		fsess_free(s);
		return;
	}
	struct buf *in = io_rbuf(io);
	size_t ll, used;
	int flags;
	enum line_status ls;
	while ((ls = line_frame(buf_head(in), buf_len(in), 4096, &ll, &used, &flags)) == LINE_OK) {
		const char *l = buf_head(in);
		size_t n = ll && l[ll - 1] == '\r' ? ll - 1 : ll;
		fsess_line(s, l, n, flags);
		buf_consume(in, used);
		if (s->tls == FT_ANSWERED) { /* after "220 Ready to start TLS" */
			s->tls = FT_HANDSHAKE;
			buf_consume(in, buf_len(in));
			if (io_tls_start(io, st.tls, 1, NULL) < 0)
				fsess_free(s);
			return;
		}
	}
	if (ls == LINE_TOO_LONG) {
		fsess_free(s);
		return;
	}
	io_read_more(io);
}

static void fake_accept(int fd, const struct sockaddr *peer, socklen_t plen, void *arg)
{
	(void)plen;
	struct fake *fk = arg;
	struct fsess *s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return;
	}
	uint16_t port;
	s->fk = fk;
	ipaddr_from_sa(peer, &s->peer, &port);
	buf_init(&s->data, FAKE_DATA_MAX);
	s->io = io_new(st.loop, fd, 64 * 1024, 64 * 1024, fsess_cb, s);
	if (!s->io) {
		close(fd);
		free(s);
		return;
	}
	s->next = st.sessions;
	if (st.sessions)
		st.sessions->prev = s;
	st.sessions = s;
	io_set_timeout(s->io, 60);
	io_printf(s->io, "220 %s ESMTP fake-relay (%s)\r\n", fk->addr, fk->name);
}

/* ---- the run ---- */

static int free_port(const char *addr)
{
	struct ipaddr ip;
	struct sockaddr_storage ss;
	ipaddr_parse(addr, &ip);
	socklen_t sl = ipaddr_to_sa(&ip, 0, &ss);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* "verdict flag flag..." of fk's host line; "(none)" when there is none. */
static void found(json_t *hosts, const struct fake *fk, char *out, size_t len)
{
	size_t i;
	json_t *h;
	snprintf(out, len, "(none)");
	json_array_foreach(hosts, i, h)
	{
		if (strcmp(json_string_value(json_object_get(h, "addr")) ?: "", fk->addr) != 0)
			continue;
		snprintf(out, len, "%s", json_string_value(json_object_get(h, "verdict")) ?: "");
		size_t k, n;
		json_t *f;
		json_array_foreach(json_object_get(h, "flags"), k, f)
		{
			n = strlen(out);
			snprintf(out + n, len - n, " %s", json_string_value(f) ?: "");
		}
		return;
	}
}

static int check(const char *output)
{
	json_t *hosts = json_array();
	FILE *f = fopen(output, "r");
	char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		if (o && strcmp(json_string_value(json_object_get(o, "type")) ?: "", "host") == 0)
			json_array_append(hosts, o);
		json_decref(o);
	}
	free(line);
	if (f)
		fclose(f);
	int bad = 0;
	printf("%-24s %-12s %-22s %-22s %s\n", "server", "address", "expected", "found", "");
	for (int i = 0; i < NFAKES; i++) {
		char exp[40], got[80];
		snprintf(exp, sizeof(exp), "%s%s%s", fakes[i].expect,
		         fakes[i].expect_flag ? " " : "",
		         fakes[i].expect_flag ? fakes[i].expect_flag : "");
		found(hosts, &fakes[i], got, sizeof(got));
		int ok = strcmp(exp, got) == 0;
		bad += !ok;
		printf("%-24s %-12s %-22s %-22s %s\n", fakes[i].name, fakes[i].addr, exp, got,
		       ok ? "ok" : "MISMATCH");
	}
	json_decref(hosts);
	printf("selftest: %s (%d of %d servers as expected; results in %s)\n",
	       bad ? "FAILED" : "passed", NFAKES - bad, NFAKES, output);
	return bad;
}

int rt_selftest(struct rt_main *m)
{
	char err[600], listen[64], target[64], port[16];
	int p = free_port("127.83.0.2"), sp = free_port("127.0.0.1");
	if (p < 0 || sp < 0) {
		fprintf(stderr, "relaytrap: selftest: no free loopback port\n");
		return RT_EXIT_FAILURE;
	}
	st.port = (uint16_t)p;
	st.sink_port = (uint16_t)sp;
	ipaddr_parse("127.0.0.1", &st.sink_ip);
	if (!(st.loop = io_loop_new()))
		return RT_EXIT_FAILURE;
	if (!(st.tls = io_tls_server_ctx(NULL, NULL, "tls-relay.lab", err, sizeof(err)))) {
		fprintf(stderr, "relaytrap: selftest: %s\n", err);
		io_loop_free(st.loop);
		return RT_EXIT_FAILURE;
	}
	int rc = 3;
	/* One port on every fake address; an ephemeral port free on one address may be taken on
	 * another (a forward's TIME_WAIT), so try a few. */
	for (int attempt = 0; attempt < 20; attempt++) {
		int ok = 1;
		for (int i = 0; i < NFAKES && ok; i++) {
			struct sockaddr_storage ss;
			ipaddr_parse(fakes[i].addr, &fakes[i].ip);
			socklen_t sl = ipaddr_to_sa(&fakes[i].ip, st.port, &ss);
			fakes[i].ls = io_listen(st.loop, (struct sockaddr *)&ss, sl, fake_accept,
			                        &fakes[i], err, sizeof(err));
			ok = fakes[i].ls != NULL;
		}
		if (ok)
			break;
		for (int i = 0; i < NFAKES; i++)
			if (fakes[i].ls) {
				io_listener_free(fakes[i].ls);
				fakes[i].ls = NULL;
			}
		if ((p = free_port(fakes[0].addr)) < 0)
			break;
		st.port = (uint16_t)p;
	}
	if (!fakes[0].ls) {
		fprintf(stderr, "relaytrap: selftest: %s\n", err);
		goto out;
	}
	/* the scan: every fake, the embedded sink on loopback, short waits */
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", sp);
	snprintf(target, sizeof(target), "127.83.0.2-127.83.0.%d", 1 + NFAKES);
	snprintf(port, sizeof(port), "%d", p);
	strlist_free(&m->o.sink_listen);
	strlist_add(&m->o.sink_listen, listen);
	free(m->o.ports);
	m->o.ports = strdup(port);
	if (!m->o.output)
		m->o.output = strdup("relaytrap-selftest.jsonl");
	/* generous for a loaded machine (valgrind, a CI run beside other work): the servers are
	 * in this process, so only a failure waits this long */
	m->o.wait = m->o.wait < 120 ? m->o.wait : 6;
	m->o.timeout = m->o.timeout < 30 ? m->o.timeout : 15;
	m->o.connect_timeout = 5;
	m->o.host_timeout = 120;
	m->o.no_sink = 0;
	m->o.no_ptr = 1; /* its servers are known; no DNS traffic */
	char *specs[] = {target};
	if (rt_setup(m, specs, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "relaytrap: selftest: %s\n", err);
		goto out;
	}
	char *argv[] = {"relaytrap", "--selftest"};
	int q = m->o.quiet;
	m->o.quiet = 1; /* the table below is the summary */
	m->o.progress = 0;
	rc = rt_scan_in(m, st.loop, 2, argv, NULL);
	m->o.quiet = q;
	if (rc == 3)
		goto out;
	if (st.forwards_failed)
		fprintf(stderr, "relaytrap: selftest: %d forwards failed\n", st.forwards_failed);
	rc = check(m->o.output) ? RT_EXIT_FAILURE : RT_EXIT_CLEAN;
out:
	while (st.fwds)
		fwd_free(st.fwds);
	while (st.sessions)
		fsess_free(st.sessions);
	for (int i = 0; i < NFAKES; i++)
		if (fakes[i].ls)
			io_listener_free(fakes[i].ls);
	io_loop_free(st.loop);
	io_tls_ctx_free(st.tls);
	st.tls = NULL;
	return rc;
}
