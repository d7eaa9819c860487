/* What a session with one host comes to, before and after correlation: each test's outcome
 * and kept replies, and how the session ended. The client (client.c) produces these; the
 * verdict, correlation and the reports read them without the client's state machine. */
#ifndef RT_OUTCOME_H
#define RT_OUTCOME_H

#include <stdint.h>

#include "token.h"

/* What a test does before its MAIL (the relay paths of today, docs/design.md "Relay tests").
 * A test with a path runs only where the server offers it: AUTH announced (or a 530 seen) for
 * the AUTH paths, XCLIENT announced for XCLIENT, STARTTLS announced for the STARTTLS twins of
 * --starttls both. After a path the server accepted, the next test gets a new connection. */
enum via {
	VIA_NONE,
	VIA_STARTTLS,    /* the test's twin over STARTTLS (--starttls both) */
	VIA_AUTH_PLAIN,  /* AUTH PLAIN with an empty user name and password */
	VIA_AUTH_LOGIN,  /* AUTH LOGIN, empty user name and password */
	VIA_AUTH_ANON,   /* AUTH ANONYMOUS (RFC 4505) */
	VIA_XCLIENT,     /* XCLIENT ADDR=127.0.0.1 NAME=localhost */
	VIA_XCLIENT_OWN, /* XCLIENT ADDR=<the target's own address> */
	VIA_SMUGGLE,     /* a smuggling test (prober/smuggle.h): only for a host that relayed */
	VIA_SMUGGLED,    /* the message smuggled inside the test before it: never sent alone */
	VIA_PROXY,       /* its own connection, opened with a PROXY v1 header naming 127.0.0.1
	                    (--proxy-spoof) */
	VIA_COUNT,
};
extern const char *const via_names[];
int via_from_name(const char *s); /* -1 unknown */
static inline int via_is_auth(enum via v)
{
	return v == VIA_AUTH_PLAIN || v == VIA_AUTH_LOGIN || v == VIA_AUTH_ANON;
}
static inline int via_is_xclient(enum via v)
{
	return v == VIA_XCLIENT || v == VIA_XCLIENT_OWN;
}
/* The path is a command of its own before MAIL (STARTTLS, AUTH, XCLIENT). */
static inline int via_is_command(enum via v)
{
	return v == VIA_STARTTLS || via_is_auth(v) || via_is_xclient(v);
}

enum outcome {
	OUT_NOTRUN,
	OUT_REJECTED, /* 5xx */
	OUT_DEFERRED, /* 4xx */
	OUT_AUTH,     /* 530 and kin */
	OUT_ACCEPTED, /* 250 after the final dot */
	OUT_ERROR,    /* the connection broke during this test */
	OUT_BOUNCED,  /* accepted, then returned to its sender as undeliverable (set by
	                 prober/correlate.c when the bounce reaches the sink, never by the client) */
	OUT_COUNT,
};
extern const char *const outcome_names[];

/* The server said 250 after the data (a bounced test was accepted first). */
static inline int outcome_accepted(enum outcome o)
{
	return o == OUT_ACCEPTED || o == OUT_BOUNCED;
}

/* How the session as a whole ended, before deliveries are counted. */
enum session_end {
	END_RUNNING,
	END_TESTS,       /* the tests ran (or some did); the verdict comes from their outcomes */
	END_REFUSED,     /* greeting 421/554 */
	END_NOT_SMTP,    /* no SMTP greeting */
	END_UNREACHABLE, /* TCP connect failed */
	END_ERROR,       /* broke before any test outcome */
};
extern const char *const session_end_names[];

#define REPLY_TEXT_MAX 512

/* ST_PATH: the reply to the test's path (AUTH, XCLIENT, STARTTLS; catalog.h enum via). */
enum stage { ST_PATH, ST_MAIL, ST_RCPT, ST_DATA, ST_END, ST_COUNT };
extern const char *const stage_names[];

/* How a test's MAIL went (its connection's transport); TR_NONE: not sent. */
enum transport { TR_NONE, TR_PLAIN, TR_STARTTLS, TR_TLS };
extern const char *const transport_names[];    /* NULL, "plain", "starttls", "tls" */
enum transport transport_of(const char *name); /* TR_NONE for NULL or an unknown name */

/* One test as kept while its host is in flight: 32 bytes (issue 18: a session's memory is
 * mostly its tests). What can be computed again is not kept: the token, the MAIL, RCPT and
 * HELO arguments come from the client's parameters (client_test_args), and the reply texts
 * live once per host in the client's text store (prober/texts.h), text[] being offsets. */
struct test_result {
	double accepted_at;      /* when the server said 250 after the data; 0 never */
	uint16_t code[ST_COUNT]; /* each stage's reply code; 0: command not sent */
	uint16_t text[ST_COUNT]; /* its text in the host's text store (prober/texts.h) */
	uint8_t test;            /* index in the selected catalogue = the token's test number */
	unsigned outcome : 3;    /* enum outcome */
	unsigned transport : 2;  /* enum transport */
	unsigned prepared : 1;   /* its arguments were expanded (it was about to run) */
	unsigned syntax : 1;     /* its last reply refused syntax (reply_syntax_only) */
	unsigned via : 4;        /* enum via: its path */
};

/* The test went no further than its path (AUTH, XCLIENT refused): its outcome says nothing
 * about the relay policy. */
static inline int outcome_path_only(const struct test_result *t)
{
	return t->code[ST_PATH] && !t->code[ST_MAIL];
}

#endif
