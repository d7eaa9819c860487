/* The prober's SMTP client for one host: a pure state machine fed reply bytes, producing
 * command bytes (testable without sockets, fuzzable). It runs every selected relay test
 * (MAIL -> RCPT -> DATA only if accepted -> message -> "." -> RSET), falls back from EHLO to
 * HELO, and asks for a new connection after a 421 or a drop (at most max_reconnects times),
 * carrying on with the next test. The engine owns sockets and timers. */
#ifndef RT_CLIENT_H
#define RT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "catalog.h"
#include "io.h"
#include "outcome.h"
#include "replies.h"
#include "texts.h"
#include "token.h"

#define EHLO_EXT_MAX 32  /* extension lines kept */
#define EHLO_EXT_LEN 128 /* bytes kept of each */
#define TRANSCRIPT_MAX 65536

struct client_params {
	const struct catalog *cat;
	const uint8_t *key;
	size_t keylen;
	uint32_t scan_id;
	struct ipaddr target;
	uint16_t port;
	const char *helo, *sender, *contact;
	const char *sink_domain;  /* NULL: the sink literal */
	struct ipaddr sink_addr;  /* family 0: the local address of the probing connection */
	const char *message_tmpl; /* conf/message.txt syntax */
	const char *date;         /* RFC 5322 date for the message */
	int first_hit;
	int max_reconnects;
	size_t max_line; /* reply line limit */
	int max_lines;   /* lines per reply */
	int transcript;
	/* no name in banner or EHLO: ask for a PTR name (CL_NAME) before the tests */
	int want_name;
	int starttls;     /* upgrade with STARTTLS when the server offers it (--starttls auto) */
	int implicit_tls; /* each connection is TLS from the start (port 465, --tls) */
};

/* A test's token and its MAIL, RCPT and HELO arguments (each "" when the test has none), as
 * expand_test writes them. */
struct test_args {
	char token[TOKEN_MAX + 1], mail[CATALOG_FIELD * 2], rcpt[CATALOG_FIELD * 2],
	    helo[CATALOG_FIELD * 2];
};

/* On CL_RECONNECT and CL_DONE, out holds nothing or a parting QUIT: the engine sends it and
 * closes the connection without waiting for the 221. */
enum client_status {
	CL_CONTINUE,  /* send what is in out, wait for more input */
	CL_RECONNECT, /* close this connection and open a new one, then client_connected() */
	CL_DONE,      /* the host is finished */
	CL_NAME,      /* look up the target's PTR name, then client_named() */
	CL_STARTTLS,  /* start TLS on this connection, then client_tls_up() or _failed() */
};

/* The client's states (client.c): each waits for one reply, or (CS_NAME) for the engine. */
enum client_state {
	CS_GREETING,
	CS_EHLO,
	CS_HELO,
	CS_TESTHELO, /* a test with its own helo= re-announces itself */
	CS_MAIL,
	CS_RCPT,
	CS_RCPT_SKIP, /* the pipelined RCPT's reply after MAIL was refused */
	CS_DATA,
	CS_BODY,
	CS_RSET,
	CS_QUIT,
	CS_NAME,       /* waiting for the engine's PTR lookup; nothing sent */
	CS_STARTTLS,   /* STARTTLS sent */
	CS_TLS,        /* 220 to it: the engine runs the handshake (client_tls_up / _failed) */
	CS_AUTH,       /* a test's AUTH sent (its path, catalog.h enum via) */
	CS_AUTH_USER,  /* AUTH LOGIN: the empty user name sent */
	CS_AUTH_PASS,  /* AUTH LOGIN: the empty password sent */
	CS_XCLIENT,    /* a test's XCLIENT sent; 220 means a new session: EHLO again */
	CS_PROXY_NOOP, /* after a PROXY header: NOOP sent, so that its 250 tells a server that
	                  took the header for a command (a 5xx first) from one that did not */
	CS_DONE,
	CS_COUNT,
};
extern const char *const client_state_names[];

struct client {
	struct client_params p;
	enum client_state state; /* changed only by set_state(), which notes it */
	int cur;                 /* test in progress or next to run */
	int connects;            /* connections made so far */
	int round_trips;         /* waits for replies, the greetings' included (issue 18) */
	int got_bytes;           /* any byte on this connection */
	int greeted;             /* saw a 220 on some connection */
	struct buf out;          /* commands to send */
	struct test_result *t;
	int nt;
	struct texts texts;      /* the tests' reply texts, each kept once */
	struct ipaddr exp_local; /* our address the tests' arguments name (expansion()) */
	int names_fixed;         /* exp_local and target_host are fixed: a test was expanded */
	enum session_end end;
	char *reason; /* why it ended, when not by the tests; NULL: none */
	char *banner;
	char *ehlo_ext; /* the first EHLO reply's extension lines, n_ext of them, each ended by '\n'
	                 */
	int n_ext;
	int esmtp;
	int pipelining;   /* the server announced PIPELINING: MAIL+RCPT and RSET+next go together */
	int pending;      /* replies still owed for what was sent */
	int rcpt_queued;  /* the current test's RCPT went with its MAIL */
	int next_queued;  /* the next test's MAIL and RCPT went with this RSET */
	int mail_refused; /* MAIL refusals in a row */
	int lockstep;     /* MAIL refused as such: no more pipelining for this host */
	char *target_host;     /* the server's name; NULL: none yet (client_host) */
	const char *host_from; /* where target_host came from: "banner", "ehlo", "ptr"; NULL none */
	int name_asked;        /* CL_NAME was returned once; never again for this host */
	struct ipaddr local;   /* our address on the (last) connection */
	struct ipaddr ehlo_reported; /* address the target said we came from; family 0 if none */
	char *cur_helo;              /* announced on this connection; NULL: nothing yet */
	const char *transport;       /* "plain", "starttls", "tls": this connection's */
	int starttls_off;            /* refused or failed once: not tried again on this host */
	int tls_530; /* a 530 asked for STARTTLS that was not announced: upgrade next */
	int ann_starttls, ann_auth, ann_xclient; /* what the last EHLO reply announced */
	unsigned auth_mechs; /* the AUTH mechanisms it named: 1 << VIA_AUTH_PLAIN etc. */
	int saw_530;         /* some test was answered 530: the AUTH paths are worth a try */
	int path_done;       /* the current test's path was accepted on this connection */
	int fresh_needed;    /* a path changed this session: the next test needs a new one */
	int planned;         /* reconnections made for fresh sessions (not counted as failures) */
	int smuggle_phase;   /* the smuggling tests are running (client_smuggle) */
	int proxy_wanted;    /* the next connection starts with the PROXY header */
	int proxy_conn;      /* this connection started with it */
	int proxy_answered;  /* the server took the header for a command: it does not speak it */
	int auth_cancelled;  /* "*" sent to a third AUTH challenge: whatever comes refuses it */
	int aborted;         /* client_abort ended it (host timeout, interrupt): no more phases */
	int inner_stage;     /* replies seen to the smuggled message's commands (CS_QUIT) */
	struct io_tls_info *tls; /* the last TLS session's; NULL before any */
	struct buf transcript;
	int transcript_truncated;
	double now;
};

/* The server's name, "" when nothing named it. */
static inline const char *client_host(const struct client *c)
{
	return c->target_host ? c->target_host : "";
}

/* Returns -1 on allocation failure. */
int client_init(struct client *c, const struct client_params *p);
/* Test i's token and its MAIL, RCPT and HELO arguments as sent: computed again, not kept
 * (outcome.h). */
void client_test_args(const struct client *c, int i, struct test_args *a);
/* Test i's reply text at stage s as the server sent it (bounded, lines joined by '\n'), given
 * the test's rcpt and token (client_test_args). */
size_t client_reply_text(const struct client *c, int i, enum stage s, const char *rcpt,
                         const char *token, char *out, size_t outlen);
void client_free(struct client *c);
/* A connection is up; local is our end of it. */
void client_connected(struct client *c, const struct ipaddr *local, double now);
/* Consumes whole replies from in, appends commands to c->out. */
enum client_status client_input(struct client *c, struct buf *in, double now);
/* The peer closed or reset the connection (why: text for the report). */
enum client_status client_closed(struct client *c, const char *why);
/* Connecting failed (the first time: unreachable). */
enum client_status client_connect_failed(struct client *c, const char *why);
/* No reply within the per-reply timeout. */
enum client_status client_timeout(struct client *c, double seconds);
/* The answer to CL_NAME: the target's PTR name, or NULL when there is none. Starts the tests;
 * send what is in out. */
enum client_status client_named(struct client *c, const char *name, double now);
/* The TLS handshake CL_STARTTLS asked for (or the engine's implicit one) is done. */
enum client_status client_tls_up(struct client *c, const struct io_tls_info *ti, double now);
/* It failed (why: the reason): reconnect, in the clear. */
enum client_status client_tls_failed(struct client *c, const char *why);
/* The host relayed: once the tests are done (CL_DONE given), run the smuggling tests on new
 * connections. CL_RECONNECT to do so; CL_DONE when there are none or the session did not
 * end well. */
enum client_status client_smuggle(struct client *c);
/* Whether client_smuggle would start the phase: the one rule, for the engine to ask first. */
int client_can_smuggle(const struct client *c);
/* Ends the host now (host timeout, interrupt). */
void client_abort(struct client *c, const char *why);

#endif
