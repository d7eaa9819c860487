/* The sink's message classifier (sink/mailclass.c) on the forms real mail systems send, whole
 * and byte by byte, then through msgscan_run into the receipt. Samples are written with '\n'
 * and built with the line break under test; "{T}" is the token, "{R}" the failed recipient.
 *
 * Tests named regression_* are bugs found by these tests, each failing before its fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailclass.h"
#include "msgscan.h"
#include "token.h"

#define SHAPE_TOKEN "asirr22yp5daaaqadealaovooksn3dkt"
#define CRLF "\r\n"

/* ---- building samples ---- */

struct out {
	char *p; /* NULL: only count */
	size_t n;
};

static void put(struct out *o, const char *s, size_t k)
{
	if (o->p)
		memcpy(o->p + o->n, s, k);
	o->n += k;
}

static void emit(struct out *o, const char *t, const char *eol, const char *tok, const char *rcpt)
{
	for (; *t; t++) {
		if (*t == '\n') {
			put(o, eol, strlen(eol));
		} else if (!strncmp(t, "{T}", 3)) {
			put(o, tok, strlen(tok));
			t += 2;
		} else if (!strncmp(t, "{R}", 3)) {
			emit(o, rcpt ? rcpt : "rt-{T}@sink.lab", eol, tok, NULL);
			t += 2;
		} else {
			put(o, t, 1);
		}
	}
}

/* A heap copy of template tmpl, NUL-terminated; *len (when not NULL) gets its length. */
static char *build(const char *tmpl, const char *eol, const char *tok, const char *rcpt,
                   size_t *len)
{
	struct out o = {NULL, 0};
	emit(&o, tmpl, eol, tok, rcpt);
	char *p = malloc(o.n + 1);
	assert_non_null(p);
	o = (struct out){p, 0};
	emit(&o, tmpl, eol, tok, rcpt);
	p[o.n] = '\0';
	if (len)
		*len = o.n;
	return p;
}

/* Offset of needle (a template, built with the same line break) in m; it must be there. */
static size_t find(const char *m, const char *eol, const char *needle)
{
	char *n = build(needle, eol, SHAPE_TOKEN, NULL, NULL);
	const char *p = strstr(m, n);
	if (!p)
		fail_msg("not in the sample: %s", n);
	free(n);
	return (size_t)(p - m);
}

static void shape_of(const char *sender, const char *m, size_t len, struct mail_shape *s)
{
	mailclass_shape(sender, m, len, s);
}

/* ---- what a shape must say ---- */

struct want {
	int report, daemon, bounce_subject;
	const char *auto_reply;
	const char *status, *action, *diagnostic, *reporting_mta, *final_recipient;
	int nenclosed;
};

static void check_shape(const struct mail_shape *s, const struct want *w)
{
	assert_int_equal(s->report, w->report);
	assert_int_equal(s->daemon, w->daemon);
	assert_int_equal(s->bounce_subject, w->bounce_subject);
	if (w->auto_reply)
		assert_string_equal(s->auto_reply ? s->auto_reply : "(null)", w->auto_reply);
	else
		assert_null(s->auto_reply);
	assert_string_equal(s->dsn.status, w->status ? w->status : "");
	assert_string_equal(s->dsn.action, w->action ? w->action : "");
	assert_string_equal(s->dsn.diagnostic, w->diagnostic ? w->diagnostic : "");
	assert_string_equal(s->dsn.reporting_mta, w->reporting_mta ? w->reporting_mta : "");
	assert_string_equal(s->dsn.final_recipient, w->final_recipient ? w->final_recipient : "");
	assert_int_equal(s->nenclosed, w->nenclosed);
}

static void check_span(const struct mail_shape *s, int i, size_t start, size_t end)
{
	assert_true(i < s->nenclosed);
	assert_int_equal(s->enclosed[i].start, start);
	assert_int_equal(s->enclosed[i].end, end);
	assert_true(mailclass_enclosed(s, start));
	assert_true(mailclass_enclosed(s, end - 1));
}

/* The class for (rcpt_token, top_token) = (0,0), (0,1), (1,0), (1,1). */
static void check_classes(const struct mail_shape *s, enum mail_class c00, enum mail_class c01,
                          enum mail_class c10, enum mail_class c11)
{
	const enum mail_class want[4] = {c00, c01, c10, c11};
	for (int i = 0; i < 4; i++) {
		const char *why = NULL;
		enum mail_class c = mailclass_decide(s, i >> 1, i & 1, &why);
		assert_non_null(why);
		if (c != want[i])
			fail_msg("rcpt_token=%d top_token=%d: %s (%s), want %s", i >> 1, i & 1,
			         mail_class_names[c], why, mail_class_names[want[i]]);
	}
}

/* What holds for every shape of every input of length len. */
static void check_invariants(const struct mail_shape *s, size_t len)
{
	assert_true(s->body <= len);
	assert_true(s->nenclosed >= 0 && s->nenclosed <= MAILCLASS_SPANS);
	for (int i = 0; i < s->nenclosed; i++) {
		assert_true(s->enclosed[i].start < s->enclosed[i].end);
		assert_true(s->enclosed[i].end <= len);
	}
	const struct dsn_fields *d = &s->dsn;
	assert_non_null(memchr(d->status, 0, sizeof(d->status)));
	assert_non_null(memchr(d->action, 0, sizeof(d->action)));
	assert_non_null(memchr(d->diagnostic, 0, sizeof(d->diagnostic)));
	assert_non_null(memchr(d->reporting_mta, 0, sizeof(d->reporting_mta)));
	assert_non_null(memchr(d->final_recipient, 0, sizeof(d->final_recipient)));
	assert_true(s->report == 0 || s->report == 1);
	assert_true(s->daemon == 0 || s->daemon == 1);
}

/* ---- samples ---- */

/* The relay test as conf/message.txt renders it. */
#define TEST_MESSAGE(test)                                                                         \
	"Date: Sat, 21 Nov 2026 09:41:06 +0000\n"                                                  \
	"From: relaytrap <relaytest@prober.example>\n"                                             \
	"To: <rt-{T}@sink.lab>\n"                                                                  \
	"Subject: relaytrap relay test rt-{T}\n"                                                   \
	"Message-ID: <rt-{T}@sink.lab>\n"                                                          \
	"X-Relaytrap-Token: {T}\n"                                                                 \
	"MIME-Version: 1.0\n"                                                                      \
	"Content-Type: text/plain; charset=us-ascii\n"                                             \
	"\n"                                                                                       \
	"This is an automated relay test sent by relaytrap. It is not spam.\n"                     \
	"\n"                                                                                       \
	"The mail server at [192.0.2.25] port 25 accepted this message\n"                          \
	"from [198.51.100.7] for relaying to another domain (test \"" test "\").\n"                \
	"A server that does this will pass on mail from anyone to anyone;\n"                       \
	"its administrator should restrict relaying to local users.\n"                             \
	"\n"                                                                                       \
	"Scan contact: abuse@prober.example\n"                                                     \
	"Token: rt-{T}\n"

/* The test as the relay received it, returned inside a bounce. */
#define ORIGINAL                                                                                   \
	"Return-Path: <relaytest@sink.lab>\n"                                                      \
	"Received: from vm (unknown [198.51.100.7])\n"                                             \
	"\tby mx.relay.example (Postfix) with SMTP id 4F2A1A90948\n"                               \
	"\tfor <rt-{T}@sink.lab>; Sat, 21 Nov 2026 09:41:06 +0000 (UTC)\n" TEST_MESSAGE("plain")

/* The null-sender test relayed to the sink by an open Postfix relay. */
static const char RELAYED[] =
    "Received: from mx.relay.example (mx.relay.example [192.0.2.25])\n"
    "\tby sink.lab (relaytrap-sink) with ESMTP; Sat, 21 Nov 2026 09:41:07 +0000\n"
    "Received: from vm (unknown [198.51.100.7])\n"
    "\tby mx.relay.example (Postfix) with SMTP id 4F2A1A90948\n"
    "\tfor <rt-{T}@sink.lab>; Sat, 21 Nov 2026 09:41:06 +0000 (UTC)\n" TEST_MESSAGE("null-sender");

/* Postfix bounce(8): the DSN it sends when its smarthost refuses the relayed test. */
#define PF_B "4F2A1A90948.1795340467/mx.relay.example"
static const char POSTFIX_DSN[] =
    "Return-Path: <>\n"
    "Received: from mx.relay.example (mx.relay.example [192.0.2.25])\n"
    "\tby sink.lab (relaytrap-sink) with ESMTP; Sat, 21 Nov 2026 09:41:07 +0000\n"
    "Received: by mx.relay.example (Postfix)\n"
    "\tid 4F2A1A90948; Sat, 21 Nov 2026 09:41:07 +0000 (UTC)\n"
    "Date: Sat, 21 Nov 2026 09:41:07 +0000 (UTC)\n"
    "From: MAILER-DAEMON@mx.relay.example (Mail Delivery System)\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "To: relaytest@sink.lab\n"
    "Auto-Submitted: auto-replied\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"" PF_B "\"\n"
    "Content-Transfer-Encoding: 8bit\n"
    "Message-Id: <20261121094107.4F2A1A90948@mx.relay.example>\n"
    "\n"
    "This is a MIME-encapsulated message.\n"
    "\n"
    "--" PF_B "\n"
    "Content-Description: Notification\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "This is the mail system at host mx.relay.example.\n"
    "\n"
    "I'm sorry to have to inform you that your message could not\n"
    "be delivered to one or more recipients. It's attached below.\n"
    "\n"
    "For further assistance, please send mail to postmaster.\n"
    "\n"
    "If you do so, please include this problem report. You can\n"
    "delete your own text from the attached returned message.\n"
    "\n"
    "                   The mail system\n"
    "\n"
    "<{R}>: host smarthost.relay.example[198.51.100.25] said:\n"
    "    554 5.7.1 <{R}>: Relay access denied (in reply to RCPT TO\n"
    "    command)\n"
    "\n"
    "--" PF_B "\n"
    "Content-Description: Delivery report\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.relay.example\n"
    "X-Postfix-Queue-ID: 4F2A1A90948\n"
    "X-Postfix-Sender: rfc822; relaytest@sink.lab\n"
    "Arrival-Date: Sat, 21 Nov 2026 09:41:06 +0000 (UTC)\n"
    "\n"
    "Final-Recipient: rfc822; {R}\n"
    "Original-Recipient: rfc822;{R}\n"
    "Action: failed\n"
    "Status: 5.7.1\n"
    "Remote-MTA: dns; smarthost.relay.example\n"
    "Diagnostic-Code: smtp; 554 5.7.1 <{R}>: Relay access denied\n"
    "\n"
    "--" PF_B "\n"
    "Content-Description: Undelivered Message\n"
    "Content-Type: message/rfc822\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n" ORIGINAL "\n"
    "--" PF_B "--\n";

/* RFC 3464 appendix, "Simple DSN" (sendmail, 1994). */
#define RFC_B "RAA14128.773615765/CS.UTK.EDU"
static const char RFC3464_SIMPLE[] =
    "Date: Thu, 7 Jul 1994 17:16:05 -0400\n"
    "From: Mail Delivery Subsystem <MAILER-DAEMON@CS.UTK.EDU>\n"
    "Message-Id: <199407072116.RAA14128@CS.UTK.EDU>\n"
    "Subject: Returned mail: Cannot send message for 5 days\n"
    "To: <owner-info-mime@cs.utk.edu>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "      boundary=\"" RFC_B "\"\n"
    "\n"
    "--" RFC_B "\n"
    "\n"
    "The original message was received at Sat, 2 Jul 1994 17:10:28 -0400\n"
    "from root@localhost\n"
    "\n"
    "   ----- The following addresses had delivery problems -----\n"
    "<louis@larry.slip.umd.edu>  (unrecoverable error)\n"
    "\n"
    "   ----- Transcript of session follows -----\n"
    "<louis@larry.slip.umd.edu>... Deferred: Connection timed out\n"
    "    with larry.slip.umd.edu.\n"
    "Message could not be delivered for 5 days\n"
    "Message will be deleted from queue\n"
    "\n"
    "--" RFC_B "\n"
    "content-type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; cs.utk.edu\n"
    "\n"
    "Original-Recipient: rfc822;louis@larry.slip.umd.edu\n"
    "Final-Recipient: rfc822;louis@larry.slip.umd.edu\n"
    "Action: failed\n"
    "Status: 4.0.0\n"
    "Diagnostic-Code: smtp; 426 connection timed out\n"
    "Last-Attempt-Date: Thu, 7 Jul 1994 17:15:49 -0400\n"
    "\n"
    "--" RFC_B "\n"
    "content-type: message/rfc822\n"
    "\n"
    "[original message goes here]\n"
    "\n"
    "--" RFC_B "--\n";

/* RFC 3464 appendix, "Multi-Recipient DSN": the first recipient block is the one kept. */
#define RFC_M "JAA13167.773673707/CS.UTK.EDU"
static const char RFC3464_MULTI[] = "Date: Fri, 8 Jul 1994 09:21:47 -0400\n"
                                    "From: Mail Delivery Subsystem <MAILER-DAEMON@CS.UTK.EDU>\n"
                                    "Subject: Returned mail: User unknown\n"
                                    "To: <owner-ups-mib@CS.UTK.EDU>\n"
                                    "MIME-Version: 1.0\n"
                                    "Content-Type: multipart/report; report-type=delivery-status;\n"
                                    "              boundary=\"" RFC_M "\"\n"
                                    "\n"
                                    "--" RFC_M "\n"
                                    "content-type: text/plain; charset=us-ascii\n"
                                    "\n"
                                    "   ----- The following addresses had delivery problems -----\n"
                                    "<arathib@vnet.IBM.COM>  (unrecoverable error)\n"
                                    "<wsnell@sdcc13.ucsd.edu>  (unrecoverable error)\n"
                                    "\n"
                                    "--" RFC_M "\n"
                                    "content-type: message/delivery-status\n"
                                    "\n"
                                    "Reporting-MTA: dns; cs.utk.edu\n"
                                    "\n"
                                    "Original-Recipient: rfc822;arathib@vnet.IBM.COM\n"
                                    "Final-Recipient: rfc822;arathib@vnet.ibm.com\n"
                                    "Action: failed\n"
                                    "Status: 5.0.0 (permanent failure)\n"
                                    "Diagnostic-Code: smtp;  550 'arathib@vnet.IBM.COM' is not a\n"
                                    "    registered gateway user\n"
                                    "Remote-MTA: dns; vnet.ibm.com\n"
                                    "\n"
                                    "Original-Recipient: rfc822;johnh@hpnjld.njd.hp.com\n"
                                    "Final-Recipient: rfc822;johnh@hpnjld.njd.hp.com\n"
                                    "Action: delayed\n"
                                    "Status: 4.0.0 (hpnjld.njd.jp.com: host name lookup failure)\n"
                                    "\n"
                                    "Original-Recipient: rfc822;wsnell@sdcc13.ucsd.edu\n"
                                    "Final-Recipient: rfc822;wsnell@sdcc13.ucsd.edu\n"
                                    "Action: failed\n"
                                    "Status: 5.0.0\n"
                                    "Diagnostic-Code: smtp; 550 user unknown\n"
                                    "Remote-MTA: dns; sdcc13.ucsd.edu\n"
                                    "\n"
                                    "--" RFC_M "\n"
                                    "content-type: message/rfc822\n"
                                    "\n"
                                    "[original message goes here]\n"
                                    "--" RFC_M "--\n";

/* Exim 4.9x bounce: multipart/report with an unquoted boundary, Action before
 * Final-Recipient, lower-case "Content-type". */
#define EX_B "1795340467-eximdsn-1804289383"
static const char EXIM_DSN[] =
    "Return-path: <>\n"
    "Envelope-to: relaytest@sink.lab\n"
    "Received: from mail by mx.example.net with local (Exim 4.96)\n"
    "\tid 1xUhal-0001IJ-2B\n"
    "\tfor relaytest@sink.lab;\n"
    "\tSat, 21 Nov 2026 09:41:07 +0000\n"
    "X-Failed-Recipients: rt-{T}@sink.lab\n"
    "Auto-Submitted: auto-replied\n"
    "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
    "To: relaytest@sink.lab\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=" EX_B "\n"
    "MIME-Version: 1.0\n"
    "Subject: Mail delivery failed: returning message to sender\n"
    "Message-Id: <E1xUhal-0001IJ-2B@mx.example.net>\n"
    "Date: Sat, 21 Nov 2026 09:41:07 +0000\n"
    "\n"
    "--" EX_B "\n"
    "Content-type: text/plain; charset=us-ascii\n"
    "\n"
    "This message was created automatically by mail delivery software.\n"
    "\n"
    "A message that you sent could not be delivered to one or more of its\n"
    "recipients. This is a permanent error. The following address(es) failed:\n"
    "\n"
    "  rt-{T}@sink.lab\n"
    "    host smarthost.example.net [198.51.100.26]\n"
    "    SMTP error from remote mail server after RCPT TO:<rt-{T}@sink.lab>:\n"
    "    550 relay not permitted\n"
    "\n"
    "--" EX_B "\n"
    "Content-type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.net\n"
    "\n"
    "Action: failed\n"
    "Final-Recipient: rfc822;rt-{T}@sink.lab\n"
    "Status: 5.0.0\n"
    "Remote-MTA: dns; smarthost.example.net\n"
    "Diagnostic-Code: smtp; 550 relay not permitted\n"
    "\n"
    "--" EX_B "\n"
    "Content-type: message/rfc822\n"
    "\n" ORIGINAL "\n"
    "--" EX_B "--\n";

/* qmail-send's "failure notice": plain text, the original after the marker line. */
static const char QMAIL_BOUNCE[] =
    "Return-Path: <>\n"
    "Received: (qmail 12345 invoked for bounce); 21 Nov 2026 09:41:07 -0000\n"
    "Date: 21 Nov 2026 09:41:07 -0000\n"
    "From: MAILER-DAEMON@mx.example.org\n"
    "To: relaytest@sink.lab\n"
    "Subject: failure notice\n"
    "\n"
    "Hi. This is the qmail-send program at mx.example.org.\n"
    "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
    "This is a permanent error; I've given up. Sorry it didn't work out.\n"
    "\n"
    "<rt-{T}@sink.lab>:\n"
    "198.51.100.26 does not like recipient.\n"
    "Remote host said: 553 sorry, that domain isn't in my list of allowed rcpthosts "
    "(#5.7.1)\n"
    "Giving up on 198.51.100.26.\n"
    "\n"
    "--- Below this line is a copy of the message.\n"
    "\n" ORIGINAL;

/* Exchange NDR: "Undeliverable: <subject>", the report's text in multipart/alternative. */
#define XO "_000_f1c9a3e2b7d34e0c9a1b2c3d4e5f6a7bEXCH01corpexample_"
#define XA "_002_f1c9a3e2b7d34e0c9a1b2c3d4e5f6a7bEXCH01corpexample_"
static const char EXCHANGE_NDR[] =
    "Received: from EXCH01.corp.example (192.0.2.40) by sink.lab (relaytrap-sink)\n"
    "\twith ESMTP; Sat, 21 Nov 2026 09:41:08 +0000\n"
    "From: postmaster@corp.example\n"
    "To: relaytest@sink.lab\n"
    "Date: Sat, 21 Nov 2026 09:41:08 +0000\n"
    "Subject: Undeliverable: relaytrap relay test rt-{T}\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"" XO "\"\n"
    "Message-ID: <f1c9a3e2-b7d3-4e0c-9a1b-2c3d4e5f6a7b@EXCH01.corp.example>\n"
    "In-Reply-To: <rt-{T}@sink.lab>\n"
    "References: <rt-{T}@sink.lab>\n"
    "Thread-Topic: relaytrap relay test rt-{T}\n"
    "Auto-Submitted: auto-replied\n"
    "X-MS-Exchange-Message-Is-Ndr:\n"
    "Content-Language: en-US\n"
    "MIME-Version: 1.0\n"
    "\n"
    "--" XO "\n"
    "Content-Type: multipart/alternative;\n"
    "\tboundary=\"" XA "\"\n"
    "\n"
    "--" XA "\n"
    "Content-Type: text/plain; charset=\"us-ascii\"\n"
    "\n"
    "Delivery has failed to these recipients or groups:\n"
    "\n"
    "rt-{T}@sink.lab\n"
    "Your message wasn't delivered because the recipient's e-mail provider rejected it.\n"
    "\n"
    "Diagnostic information for administrators:\n"
    "\n"
    "Generating server: EXCH01.corp.example\n"
    "\n"
    "rt-{T}@sink.lab\n"
    "Remote Server returned '550 5.7.1 Unable to relay'\n"
    "\n"
    "--" XA "\n"
    "Content-Type: text/html; charset=\"us-ascii\"\n"
    "\n"
    "<html><body><p>Delivery has failed to these recipients or groups:</p></body></html>\n"
    "\n"
    "--" XA "--\n"
    "\n"
    "--" XO "\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns;EXCH01.corp.example\n"
    "Received-From-MTA: dns;EXCH02.corp.example\n"
    "Arrival-Date: Sat, 21 Nov 2026 09:41:06 +0000\n"
    "\n"
    "Original-Recipient: rfc822;rt-{T}@sink.lab\n"
    "Final-Recipient: rfc822;rt-{T}@sink.lab\n"
    "Action: failed\n"
    "Status: 5.7.1\n"
    "Diagnostic-Code: smtp;550 5.7.1 Unable to relay\n"
    "Remote-MTA: dns;smarthost.corp.example\n"
    "\n"
    "--" XO "\n"
    "Content-Type: message/rfc822\n"
    "\n" ORIGINAL "\n"
    "--" XO "--\n";

/* Sendmail 8.17: "Returned mail: see transcript for details", a first part without a header,
 * only the original's header returned (text/rfc822-headers). */
#define SM_B "4ALN2Kx012345.1795340468/mx.example.com"
static const char SENDMAIL_DSN[] =
    "Return-Path: <MAILER-DAEMON@mx.example.com>\n"
    "Received: from localhost (localhost)\n"
    "\tby mx.example.com (8.17.1/8.17.1) id 4ALN2Kx012345;\n"
    "\tSat, 21 Nov 2026 09:41:08 GMT\n"
    "Date: Sat, 21 Nov 2026 09:41:08 GMT\n"
    "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>\n"
    "Message-Id: <202611210941.4ALN2Kx012345@mx.example.com>\n"
    "To: <relaytest@sink.lab>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"" SM_B "\"\n"
    "Subject: Returned mail: see transcript for details\n"
    "Auto-Submitted: auto-generated (failure)\n"
    "\n"
    "This is a MIME-encapsulated message\n"
    "\n"
    "--" SM_B "\n"
    "\n"
    "The original message was received at Sat, 21 Nov 2026 09:41:06 GMT\n"
    "from [198.51.100.7]\n"
    "\n"
    "   ----- The following addresses had permanent fatal errors -----\n"
    "<rt-{T}@sink.lab>\n"
    "    (reason: 550 5.7.1 <rt-{T}@sink.lab>... Relaying denied)\n"
    "\n"
    "   ----- Transcript of session follows -----\n"
    "... while talking to smarthost.example.com.:\n"
    ">>> RCPT To:<rt-{T}@sink.lab>\n"
    "<<< 550 5.7.1 <rt-{T}@sink.lab>... Relaying denied\n"
    "\n"
    "--" SM_B "\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.com\n"
    "Received-From-MTA: DNS; [198.51.100.7]\n"
    "Arrival-Date: Sat, 21 Nov 2026 09:41:06 GMT\n"
    "\n"
    "Final-Recipient: RFC822; rt-{T}@sink.lab\n"
    "Action: failed\n"
    "Status: 5.7.1\n"
    "Remote-MTA: DNS; smarthost.example.com\n"
    "Diagnostic-Code: SMTP; 550 5.7.1 <rt-{T}@sink.lab>... Relaying denied\n"
    "Last-Attempt-Date: Sat, 21 Nov 2026 09:41:08 GMT\n"
    "\n"
    "--" SM_B "\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "Return-Path: <relaytest@sink.lab>\n"
    "Received: from vm ([198.51.100.7])\n"
    "\tby mx.example.com (8.17.1/8.17.1) with SMTP id 4ALN2Kx012345\n"
    "\tfor <rt-{T}@sink.lab>; Sat, 21 Nov 2026 09:41:06 GMT\n"
    "Date: Sat, 21 Nov 2026 09:41:06 +0000\n"
    "From: relaytrap <relaytest@prober.example>\n"
    "To: <rt-{T}@sink.lab>\n"
    "Subject: relaytrap relay test rt-{T}\n"
    "Message-ID: <rt-{T}@sink.lab>\n"
    "X-Relaytrap-Token: {T}\n"
    "\n"
    "--" SM_B "--\n";

/* vacation(1) / Sieve vacation (RFC 5230): null sender, "Re: <subject>", Auto-Submitted. */
static const char VACATION[] = "Return-Path: <>\n"
                               "Date: Sat, 21 Nov 2026 09:41:09 +0000\n"
                               "From: Alice Example <alice@target.example>\n"
                               "To: relaytest@prober.example\n"
                               "Subject: Re: relaytrap relay test rt-{T}\n"
                               "In-Reply-To: <rt-{T}@sink.lab>\n"
                               "References: <rt-{T}@sink.lab>\n"
                               "Auto-Submitted: auto-replied (vacation)\n"
                               "Precedence: bulk\n"
                               "Message-ID: <vacation.12345@target.example>\n"
                               "MIME-Version: 1.0\n"
                               "Content-Type: text/plain; charset=utf-8\n"
                               "\n"
                               "I am away until 1 December and will read your message when I "
                               "return.\n";

/* Outlook / Exchange out-of-office: "Automatic reply: <subject>", X-Auto-Response-Suppress
 * (which asks others not to answer; it says nothing about this message). {X} lines below are
 * replaced per test. */
#define OO_B "_000_a1b2c3d4e5f6EXCH01corpexample_"
static const char OUTLOOK_OOF[] = "From: Bob Example <bob@corp.example>\n"
                                  "To: relaytrap <relaytest@prober.example>\n"
                                  "Subject: Automatic reply: relaytrap relay test rt-{T}\n"
                                  "Thread-Topic: relaytrap relay test rt-{T}\n"
                                  "Date: Sat, 21 Nov 2026 09:41:09 +0000\n"
                                  "Message-ID: <a1b2c3d4e5f6@EXCH01.corp.example>\n"
                                  "References: <rt-{T}@sink.lab>\n"
                                  "In-Reply-To: <rt-{T}@sink.lab>\n"
                                  "X-MS-Has-Attach:\n"
                                  "X-Auto-Response-Suppress: All\n"
                                  "X-MS-Exchange-Inbox-Rules-Loop: bob@corp.example\n"
                                  "{R}"
                                  "Content-Type: multipart/alternative;\n"
                                  "\tboundary=\"" OO_B "\"\n"
                                  "MIME-Version: 1.0\n"
                                  "\n"
                                  "--" OO_B "\n"
                                  "Content-Type: text/plain; charset=\"us-ascii\"\n"
                                  "\n"
                                  "I am out of the office until Monday.\n"
                                  "\n"
                                  "--" OO_B "\n"
                                  "Content-Type: text/html; charset=\"us-ascii\"\n"
                                  "\n"
                                  "<html><body>I am out of the office until Monday.</body></html>\n"
                                  "\n"
                                  "--" OO_B "--\n";

/* A read receipt as Thunderbird sends it (RFC 8098 MDN, the original's header attached). */
#define MDN_B "------------MDN1795340469"
static const char MDN[] =
    "From: Carol Example <carol@target.example>\n"
    "To: relaytest@prober.example\n"
    "Date: Sat, 21 Nov 2026 09:45:00 +0000\n"
    "Subject: Return Receipt (displayed) - relaytrap relay test rt-{T}\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=disposition-notification;\n"
    " boundary=\"" MDN_B "\"\n"
    "\n"
    "This is a multi-part message in MIME format.\n"
    "--" MDN_B "\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 7bit\n"
    "\n"
    "This is a Return Receipt for the mail that you sent to carol@target.example.\n"
    "\n"
    "Note: This Return Receipt only acknowledges that the message was displayed on the\n"
    "recipient's computer.\n"
    "\n"
    "--" MDN_B "\n"
    "Content-Type: message/disposition-notification; name=\"MDNPart2.txt\"\n"
    "Content-Disposition: inline\n"
    "Content-Transfer-Encoding: 7bit\n"
    "\n"
    "Reporting-UA: target.example; Thunderbird 115.0\n"
    "Final-Recipient: rfc822;carol@target.example\n"
    "Original-Message-ID: <rt-{T}@sink.lab>\n"
    "Disposition: manual-action/MDN-sent-manually; displayed\n"
    "\n"
    "--" MDN_B "\n"
    "Content-Type: text/rfc822-headers; name=\"MDNPart3.txt\"\n"
    "Content-Transfer-Encoding: 7bit\n"
    "Content-Disposition: inline\n"
    "\n"
    "From: relaytrap <relaytest@prober.example>\n"
    "To: <rt-{T}@sink.lab>\n"
    "Subject: relaytrap relay test rt-{T}\n"
    "Message-ID: <rt-{T}@sink.lab>\n"
    "Disposition-Notification-To: relaytest@prober.example\n"
    "\n"
    "--" MDN_B "--\n";

/* RFC 5965 appendix B, the abuse feedback report example ({R}: its Subject). */
#define ARF_B "part1_13d.2e68ed54_boundary"
static const char ARF[] = "From: <abusedesk@example.com>\n"
                          "Date: Thu, 8 Mar 2005 17:40:36 EDT\n"
                          "Subject: {R}\n"
                          "To: <abuse@example.net>\n"
                          "MIME-Version: 1.0\n"
                          "Content-Type: multipart/report; report-type=feedback-report;\n"
                          "     boundary=\"" ARF_B "\"\n"
                          "\n"
                          "--" ARF_B "\n"
                          "Content-Type: text/plain; charset=\"US-ASCII\"\n"
                          "Content-Transfer-Encoding: 7bit\n"
                          "\n"
                          "This is an email abuse report for an email message received from IP\n"
                          "192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.  For more information\n"
                          "about this format please see http://www.mipassoc.org/arf/.\n"
                          "\n"
                          "--" ARF_B "\n"
                          "Content-Type: message/feedback-report\n"
                          "\n"
                          "Feedback-Type: abuse\n"
                          "User-Agent: SomeGenerator/1.0\n"
                          "Version: 1\n"
                          "Original-Mail-From: <somespammer@example.net>\n"
                          "Original-Rcpt-To: <user@example.com>\n"
                          "Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT\n"
                          "Reporting-MTA: dns; mail.example.com\n"
                          "Source-IP: 192.0.2.1\n"
                          "Authentication-Results: mail.example.com;\n"
                          "               spf=fail smtp.mail=somespammer@example.com\n"
                          "Reported-Domain: example.net\n"
                          "Removal-Recipient: user@example.com\n"
                          "\n"
                          "--" ARF_B "\n"
                          "Content-Type: message/rfc822\n"
                          "Content-Disposition: inline\n"
                          "\n"
                          "From: <somespammer@example.net>\n"
                          "Received: from mailserver.example.net (mailserver.example.net\n"
                          "        [192.0.2.1]) by example.com with ESMTP id M63d4137594e46;\n"
                          "        Thu, 08 Mar 2005 14:00:00 -0400\n"
                          "To: <Undisclosed Recipients>\n"
                          "Subject: Earn money\n"
                          "MIME-Version: 1.0\n"
                          "Content-type: text/plain\n"
                          "Message-ID: 8787KJKJ3K4J3K4J3K4J3.mail@example.net\n"
                          "Date: Thu, 02 Sep 2004 12:31:03 -0500\n"
                          "\n"
                          "Spam Spam Spam\n"
                          "Spam Spam Spam\n"
                          "Spam Spam Spam\n"
                          "Spam Spam Spam\n"
                          "--" ARF_B "--\n";

/* The relayed test after a relay's content filter wrapped it with a disclaimer: the test's
 * own text is a text/plain part, not an attached message. */
#define DIS_B "----=_Part_0_1795340467.1795340467000"
static const char DISCLAIMED[] =
    "Received: from mx.relay.example (mx.relay.example [192.0.2.25])\n"
    "\tby sink.lab (relaytrap-sink) with ESMTP; Sat, 21 Nov 2026 09:41:07 +0000\n"
    "Date: Sat, 21 Nov 2026 09:41:06 +0000\n"
    "From: relaytrap <relaytest@prober.example>\n"
    "To: <rt-{T}@sink.lab>\n"
    "Subject: relaytrap relay test rt-{T}\n"
    "Message-ID: <rt-{T}@sink.lab>\n"
    "X-Relaytrap-Token: {T}\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"" DIS_B "\"\n"
    "\n"
    "--" DIS_B "\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "Content-Transfer-Encoding: 7bit\n"
    "\n"
    "This is an automated relay test sent by relaytrap. It is not spam.\n"
    "\n"
    "Token: rt-{T}\n"
    "--" DIS_B "\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "DISCLAIMER: This e-mail and any attachments are confidential.\n"
    "--" DIS_B "--\n";

/* A DSN that a gateway wrapped with a notice: multipart/mixed holding the multipart/report. */
#define NW_B "=_wrapper_5f3c"
#define NR_B "=_report_9a1b"
static const char NESTED_REPORT[] = "From: Mail Delivery System <MAILER-DAEMON@gw.example.org>\n"
                                    "To: relaytest@sink.lab\n"
                                    "Subject: Mail delivery failed\n"
                                    "MIME-Version: 1.0\n"
                                    "Content-Type: multipart/mixed; boundary=\"" NW_B "\"\n"
                                    "\n"
                                    "--" NW_B "\n"
                                    "Content-Type: multipart/report; report-type=delivery-status;"
                                    " boundary=\"" NR_B "\"\n"
                                    "\n"
                                    "--" NR_B "\n"
                                    "Content-Type: text/plain\n"
                                    "\n"
                                    "Delivery to rt-{T}@sink.lab failed.\n"
                                    "--" NR_B "\n"
                                    "Content-Type: message/delivery-status\n"
                                    "\n"
                                    "Reporting-MTA: dns; gw.example.org\n"
                                    "\n"
                                    "Final-Recipient: rfc822; rt-{T}@sink.lab\n"
                                    "Action: failed\n"
                                    "Status: 5.7.1\n"
                                    "Diagnostic-Code: smtp; 550 5.7.1 relaying denied\n"
                                    "--" NR_B "\n"
                                    "Content-Type: message/rfc822\n"
                                    "\n" ORIGINAL "--" NR_B "--\n"
                                    "\n"
                                    "--" NW_B "\n"
                                    "Content-Type: text/plain\n"
                                    "\n"
                                    "This notice was added by the gateway.\n"
                                    "--" NW_B "--\n";

/* ---- real-world forms, whole ---- */

static void test_rfc3464_simple(void **st)
{
	(void)st;
	size_t len;
	char *m = build(RFC3464_SIMPLE, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {.report = 1,
	                       .daemon = 1,
	                       .bounce_subject = 1,
	                       .status = "4.0.0",
	                       .action = "failed",
	                       .diagnostic = "smtp; 426 connection timed out",
	                       .reporting_mta = "cs.utk.edu",
	                       .final_recipient = "louis@larry.slip.umd.edu",
	                       .nenclosed = 2};
	check_shape(&s, &w);
	assert_int_equal(s.body, find(m, CRLF, "\n\n--" RFC_B "\n") + 4);
	check_span(&s, 0, find(m, CRLF, "Reporting-MTA:"),
	           find(m, CRLF, "\n--" RFC_B "\ncontent-type: message/rfc822"));
	check_span(&s, 1, find(m, CRLF, "[original message goes here]"),
	           find(m, CRLF, "\n--" RFC_B "--"));
	check_classes(&s, MC_BOUNCE, MC_BOUNCE, MC_BOUNCE, MC_BOUNCE);
	const char *why;
	mailclass_decide(&s, 1, 1, &why);
	assert_string_equal(why, "a delivery status notification (multipart/report)");
	/* the sender alone does not make it a report */
	shape_of("owner-info-mime@cs.utk.edu", m, len, &s);
	assert_int_equal(s.daemon, 1); /* From: MAILER-DAEMON */
	assert_int_equal(s.report, 1);
	free(m);
}

static void test_rfc3464_multi(void **st)
{
	(void)st;
	size_t len;
	char *m = build(RFC3464_MULTI, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {
	    .report = 1,
	    .daemon = 1,
	    .bounce_subject = 1,
	    .status = "5.0.0",
	    .action = "failed",
	    /* unfolded: the line break and the run of spaces become one space */
	    .diagnostic = "smtp; 550 'arathib@vnet.IBM.COM' is not a registered gateway user",
	    .reporting_mta = "cs.utk.edu",
	    .final_recipient = "arathib@vnet.ibm.com",
	    .nenclosed = 2};
	check_shape(&s, &w);
	check_span(&s, 1, find(m, CRLF, "[original message goes here]"),
	           find(m, CRLF, "\n--" RFC_M "--"));
	free(m);
}

static void test_postfix_dsn(void **st)
{
	(void)st;
	for (int lf = 0; lf < 2; lf++) { /* CRLF as sent; LF-only as some stores write it */
		const char *eol = lf ? "\n" : CRLF;
		size_t len;
		char *m = build(POSTFIX_DSN, eol, SHAPE_TOKEN, NULL, &len);
		struct mail_shape s;
		shape_of("", m, len, &s);
		check_invariants(&s, len);
		const struct want w = {.report = 1,
		                       .daemon = 1,
		                       .bounce_subject = 1,
		                       .auto_reply = "Auto-Submitted",
		                       .status = "5.7.1",
		                       .action = "failed",
		                       .diagnostic = "smtp; 554 5.7.1 <rt-" SHAPE_TOKEN
		                                     "@sink.lab>: Relay access denied",
		                       .reporting_mta = "mx.relay.example",
		                       .final_recipient = "rt-" SHAPE_TOKEN "@sink.lab",
		                       .nenclosed = 2};
		check_shape(&s, &w);
		assert_int_equal(s.body,
		                 find(m, eol, "\n\nThis is a MIME-encapsulated") + 2 * strlen(eol));
		size_t orig = find(m, eol, "Return-Path: <relaytest@sink.lab>");
		size_t close = find(m, eol, "\n--" PF_B "--");
		check_span(&s, 0, find(m, eol, "Reporting-MTA:"),
		           find(m, eol, "\n--" PF_B "\nContent-Description: Undelivered"));
		check_span(&s, 1, orig, close);
		/* the token of the text part is outside; the attached original's are inside */
		assert_false(mailclass_enclosed(&s, find(m, eol, "<rt-{T}@sink.lab>: host")));
		assert_true(mailclass_enclosed(&s, find(m, eol, "Final-Recipient:")));
		assert_true(mailclass_enclosed(&s, find(m, eol, "Subject: relaytrap")));
		assert_false(mailclass_enclosed(&s, close));
		check_classes(&s, MC_BOUNCE, MC_BOUNCE, MC_BOUNCE, MC_BOUNCE);
		free(m);
	}
}

static void test_exim_dsn(void **st)
{
	(void)st;
	size_t len;
	char *m = build(EXIM_DSN, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {.report = 1,
	                       .daemon = 1,
	                       .bounce_subject = 1,
	                       .auto_reply = "Auto-Submitted",
	                       .status = "5.0.0",
	                       .action = "failed",
	                       .diagnostic = "smtp; 550 relay not permitted",
	                       .reporting_mta = "mx.example.net",
	                       .final_recipient = "rt-" SHAPE_TOKEN "@sink.lab",
	                       .nenclosed = 2};
	check_shape(&s, &w);
	check_span(&s, 0, find(m, CRLF, "Reporting-MTA:"),
	           find(m, CRLF, "\n--" EX_B "\nContent-type: message/rfc822"));
	check_span(&s, 1, find(m, CRLF, "Return-Path: <relaytest@sink.lab>"),
	           find(m, CRLF, "\n--" EX_B "--"));
	/* an ordinary envelope sender: From: Mailer-Daemon still says daemon */
	shape_of("bounces@mx.example.net", m, len, &s);
	assert_int_equal(s.daemon, 1);
	free(m);
}

static void test_qmail_bounce(void **st)
{
	(void)st;
	size_t len;
	char *m = build(QMAIL_BOUNCE, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {.daemon = 1, .bounce_subject = 1, .nenclosed = 1};
	check_shape(&s, &w);
	check_span(&s, 0, find(m, CRLF, "Below this line is a copy"), len);
	assert_false(mailclass_enclosed(&s, find(m, CRLF, "<rt-{T}@sink.lab>:")));
	assert_true(mailclass_enclosed(&s, find(m, CRLF, "Subject: relaytrap")));
	/* the token in the report's text is "top"; a bounce all the same */
	check_classes(&s, MC_BOUNCE, MC_BOUNCE, MC_RELAYED, MC_RELAYED);
	const char *why;
	mailclass_decide(&s, 0, 1, &why);
	assert_string_equal(why, "a bounce: mailer-daemon sender, bounce subject");
	/* without its subject, the enclosed original still says bounce */
	char *nosub = build(QMAIL_BOUNCE, CRLF, SHAPE_TOKEN, NULL, &len);
	memcpy(strstr(nosub, "Subject: failure notice"), "Xubject", 7);
	shape_of("", nosub, len, &s);
	assert_int_equal(s.bounce_subject, 0);
	assert_int_equal(s.nenclosed, 1);
	assert_int_equal(mailclass_decide(&s, 0, 1, &why), MC_BOUNCE);
	assert_string_equal(why, "a bounce: mailer-daemon sender, the original enclosed");
	/* from an ordinary sender the marker is not looked for */
	shape_of("someone@example.org", nosub, len, &s);
	assert_int_equal(s.daemon, 1); /* From: MAILER-DAEMON@ */
	memcpy(strstr(nosub, "From: MAILER-DAEMON"), "From: maildrop-xyz", 18);
	shape_of("someone@example.org", nosub, len, &s);
	assert_int_equal(s.daemon, 0);
	assert_int_equal(s.nenclosed, 0);
	assert_int_equal(mailclass_decide(&s, 0, 1, &why), MC_RELAYED);
	free(nosub);
	free(m);
}

static void test_exchange_ndr(void **st)
{
	(void)st;
	size_t len;
	char *m = build(EXCHANGE_NDR, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {.report = 1,
	                       .daemon = 1,
	                       .bounce_subject = 1,
	                       .auto_reply = "Auto-Submitted",
	                       .status = "5.7.1",
	                       .action = "failed",
	                       .diagnostic = "smtp;550 5.7.1 Unable to relay",
	                       .reporting_mta = "EXCH01.corp.example",
	                       .final_recipient = "rt-" SHAPE_TOKEN "@sink.lab",
	                       .nenclosed = 2};
	check_shape(&s, &w);
	check_span(&s, 0, find(m, CRLF, "Reporting-MTA:"),
	           find(m, CRLF, "\n--" XO "\nContent-Type: message/rfc822"));
	check_span(&s, 1, find(m, CRLF, "Return-Path: <relaytest@sink.lab>"),
	           find(m, CRLF, "\n--" XO "--"));
	/* the subject repeats the test's: a token at the top, still a bounce */
	check_classes(&s, MC_BOUNCE, MC_BOUNCE, MC_BOUNCE, MC_BOUNCE);
	/* From: postmaster@ says daemon even from an ordinary envelope sender */
	shape_of("ndr@corp.example", m, len, &s);
	assert_int_equal(s.daemon, 1);
	free(m);
}

static void test_sendmail_dsn(void **st)
{
	(void)st;
	size_t len;
	char *m = build(SENDMAIL_DSN, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {.report = 1,
	                       .daemon = 1,
	                       .bounce_subject = 1,
	                       .auto_reply = "Auto-Submitted",
	                       .status = "5.7.1",
	                       .action = "failed",
	                       .diagnostic = "SMTP; 550 5.7.1 <rt-" SHAPE_TOKEN
	                                     "@sink.lab>... Relaying denied",
	                       .reporting_mta = "mx.example.com",
	                       .final_recipient = "rt-" SHAPE_TOKEN "@sink.lab",
	                       .nenclosed = 2};
	check_shape(&s, &w);
	check_span(&s, 0, find(m, CRLF, "Reporting-MTA:"),
	           find(m, CRLF, "\n--" SM_B "\nContent-Type: text/rfc822-headers"));
	check_span(&s, 1, find(m, CRLF, "Return-Path: <relaytest@sink.lab>"),
	           find(m, CRLF, "\n--" SM_B "--"));
	/* the header-less first part's tokens are outside */
	assert_false(mailclass_enclosed(&s, find(m, CRLF, ">>> RCPT")));
	free(m);
}

static void test_vacation(void **st)
{
	(void)st;
	size_t len;
	char *m = build(VACATION, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {.daemon = 1, .auto_reply = "Auto-Submitted"};
	check_shape(&s, &w);
	check_classes(&s, MC_AUTO_REPLY, MC_AUTO_REPLY, MC_RELAYED, MC_RELAYED);
	const char *why;
	mailclass_decide(&s, 0, 1, &why);
	assert_string_equal(why, "an auto-reply");
	/* Auto-Submitted: no is an ordinary message */
	char *no = build(VACATION, CRLF, SHAPE_TOKEN, NULL, &len);
	char *v = strstr(no, "auto-replied (vacation)");
	memset(v, ' ', 23);
	memcpy(v, "no", 2);
	shape_of("alice@target.example", no, len, &s);
	assert_null(s.auto_reply);
	assert_int_equal(mailclass_decide(&s, 0, 0, &why), MC_FOREIGN);
	free(no);
	free(m);
}

static void test_outlook_oof(void **st)
{
	(void)st;
	size_t len;
	/* Subject alone says it */
	char *m = build(OUTLOOK_OOF, CRLF, SHAPE_TOKEN, "", &len);
	struct mail_shape s;
	shape_of("bob@corp.example", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {.auto_reply = "Subject"};
	check_shape(&s, &w);
	check_classes(&s, MC_AUTO_REPLY, MC_AUTO_REPLY, MC_RELAYED, MC_RELAYED);
	free(m);
	/* X-Autoreply (older Exchange), after the Subject, names the header */
	m = build(OUTLOOK_OOF, CRLF, SHAPE_TOKEN, "X-Autoreply: yes\n", &len);
	shape_of("", m, len, &s);
	const struct want wx = {.daemon = 1, .auto_reply = "X-Autoreply"};
	check_shape(&s, &wx);
	check_classes(&s, MC_AUTO_REPLY, MC_AUTO_REPLY, MC_RELAYED, MC_RELAYED);
	free(m);
	/* Auto-Submitted: auto-generated, as Exchange Online writes it */
	m = build(OUTLOOK_OOF, CRLF, SHAPE_TOKEN, "Auto-Submitted: auto-generated\n", &len);
	shape_of("", m, len, &s);
	assert_string_equal(s.auto_reply, "Auto-Submitted");
	free(m);
}

static void test_read_receipt(void **st)
{
	(void)st;
	size_t len;
	char *m = build(MDN, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("carol@target.example", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {.auto_reply = "Disposition-Notification", .nenclosed = 1};
	check_shape(&s, &w);
	check_span(&s, 0, find(m, CRLF, "From: relaytrap"), find(m, CRLF, "\n--" MDN_B "--"));
	check_classes(&s, MC_AUTO_REPLY, MC_AUTO_REPLY, MC_RELAYED, MC_RELAYED);
	free(m);
}

static void test_feedback_report(void **st)
{
	(void)st;
	size_t len;
	char *m = build(ARF, CRLF, SHAPE_TOKEN, "FW: Earn money", &len);
	struct mail_shape s;
	shape_of("abusedesk@example.com", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {.nenclosed = 1}; /* neither a bounce nor an auto-reply */
	check_shape(&s, &w);
	/* (Original-Mail-From: in the report part says the same words) */
	check_span(&s, 0, find(m, CRLF, "inline\n\nFrom: <somespammer") + 10,
	           find(m, CRLF, "\n--" ARF_B "--"));
	assert_false(mailclass_enclosed(&s, find(m, CRLF, "Feedback-Type:")));
	const char *why;
	assert_int_equal(mailclass_decide(&s, 0, 0, &why), MC_FOREIGN);
	assert_int_equal(mailclass_decide(&s, 1, 0, &why), MC_RELAYED);
	free(m);
}

static void test_relayed(void **st)
{
	(void)st;
	size_t len;
	char *m = build(RELAYED, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s); /* the null-sender test */
	check_invariants(&s, len);
	const struct want w = {.daemon = 1};
	check_shape(&s, &w);
	assert_int_equal(s.body, find(m, CRLF, "\n\nThis is an automated") + 4);
	check_classes(&s, MC_FOREIGN, MC_RELAYED, MC_RELAYED, MC_RELAYED);
	const char *why;
	assert_int_equal(mailclass_decide(&s, 1, 0, &why), MC_RELAYED);
	assert_string_equal(why, "a valid token in the envelope recipient");
	assert_int_equal(mailclass_decide(&s, 0, 1, &why), MC_RELAYED);
	assert_string_equal(why,
	                    "a valid token in the message's own Message-ID or X-Relaytrap-Token");
	assert_int_equal(mailclass_decide(&s, 0, 0, &why), MC_FOREIGN);
	assert_string_equal(why, "no valid token where a relay puts it");
	/* from the postmaster test's sender: the same */
	shape_of("postmaster@target.example", m, len, &s);
	assert_int_equal(s.daemon, 1);
	check_classes(&s, MC_FOREIGN, MC_RELAYED, MC_RELAYED, MC_RELAYED);
	shape_of("relaytest@sink.lab", m, len, &s);
	assert_int_equal(s.daemon, 0);
	free(m);
}

static void test_disclaimer_wrapped(void **st)
{
	(void)st;
	size_t len;
	char *m = build(DISCLAIMED, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("relaytest@sink.lab", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {0};
	check_shape(&s, &w);
	assert_false(mailclass_enclosed(&s, find(m, CRLF, "Token: rt-")));
	check_classes(&s, MC_FOREIGN, MC_RELAYED, MC_RELAYED, MC_RELAYED);
	free(m);
}

static void test_nested_report(void **st)
{
	(void)st;
	size_t len;
	char *m = build(NESTED_REPORT, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {.report = 1,
	                       .daemon = 1,
	                       .bounce_subject = 1,
	                       .status = "5.7.1",
	                       .action = "failed",
	                       .diagnostic = "smtp; 550 5.7.1 relaying denied",
	                       .reporting_mta = "gw.example.org",
	                       .final_recipient = "rt-" SHAPE_TOKEN "@sink.lab",
	                       .nenclosed = 2};
	check_shape(&s, &w);
	check_span(&s, 0, find(m, CRLF, "Reporting-MTA:"),
	           find(m, CRLF, "\n--" NR_B "\nContent-Type: message/rfc822"));
	check_span(&s, 1, find(m, CRLF, "Return-Path: <relaytest@sink.lab>"),
	           find(m, CRLF, "\n--" NR_B "--"));
	assert_false(mailclass_enclosed(&s, find(m, CRLF, "Delivery to rt-")));
	check_classes(&s, MC_BOUNCE, MC_BOUNCE, MC_BOUNCE, MC_BOUNCE);
	free(m);
}

static void test_returned(void **st)
{
	(void)st;
	assert_true(mailclass_returned(NULL));
	assert_true(mailclass_returned(""));
	assert_true(mailclass_returned("failed"));
	assert_true(mailclass_returned("FAILED"));
	assert_false(mailclass_returned("delayed"));
	assert_false(mailclass_returned("delivered"));
	assert_false(mailclass_returned("relayed"));
	assert_false(mailclass_returned("expanded"));
	assert_int_equal(MC_COUNT, 4);
	assert_string_equal(mail_class_names[MC_RELAYED], "relayed");
	assert_string_equal(mail_class_names[MC_BOUNCE], "bounce");
	assert_string_equal(mail_class_names[MC_AUTO_REPLY], "auto-reply");
	assert_string_equal(mail_class_names[MC_FOREIGN], "foreign");
}

/* ---- malformed input ---- */

/* A one-recipient DSN with boundary b (raw Content-Type parameter text) and Status st. */
static char *dsn_with(const char *param, const char *b, const char *st, size_t *len)
{
	char tmpl[2048];
	snprintf(tmpl, sizeof(tmpl),
	         "From: MAILER-DAEMON@mx.example\n"
	         "Subject: Undelivered Mail Returned to Sender\n"
	         "Content-Type: multipart/report; report-type=delivery-status; boundary=%s\n"
	         "\n"
	         "--%s\n"
	         "Content-Type: text/plain\n"
	         "\n"
	         "failed\n"
	         "--%s\n"
	         "Content-Type: message/delivery-status\n"
	         "\n"
	         "Reporting-MTA: dns; mx.example\n"
	         "\n"
	         "Final-Recipient: rfc822; rt-{T}@sink.lab\n"
	         "Action: failed\n"
	         "Status: %s\n"
	         "\n"
	         "--%s\n"
	         "Content-Type: message/rfc822\n"
	         "\n"
	         "Subject: relaytrap relay test rt-{T}\n"
	         "\n"
	         "--%s--\n",
	         param, b, b, st, b, b);
	return build(tmpl, CRLF, SHAPE_TOKEN, NULL, len);
}

static void test_boundary_limits(void **st)
{
	(void)st;
	char b70[71], b71[72], param[128];
	memset(b70, 'x', 70);
	b70[70] = '\0';
	memset(b71, 'x', 71);
	b71[71] = '\0';
	size_t len;
	struct mail_shape s;
	/* 70 characters (RFC 2046's limit) are walked */
	snprintf(param, sizeof(param), "\"%s\"", b70);
	char *m = dsn_with(param, b70, "5.7.1", &len);
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	assert_string_equal(s.dsn.status, "5.7.1");
	assert_int_equal(s.nenclosed, 2);
	free(m);
	/* 71 are not a boundary: the report type still says report, nothing inside is read */
	snprintf(param, sizeof(param), "\"%s\"", b71);
	m = dsn_with(param, b71, "5.7.1", &len);
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	const struct want w = {.report = 1, .daemon = 1, .bounce_subject = 1};
	check_shape(&s, &w);
	free(m);
	/* empty, quoted or not: not walked */
	m = dsn_with("\"\"", "", "5.7.1", &len);
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	check_shape(&s, &w);
	free(m);
	m = dsn_with("", "", "5.7.1", &len);
	shape_of("", m, len, &s);
	check_shape(&s, &w);
	free(m);
	/* a quoted boundary with escaped quote and backslash: a"b\c=d */
	m = dsn_with("\"a\\\"b\\\\c=d\"", "a\"b\\c=d", "5.7.1", &len);
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	assert_string_equal(s.dsn.status, "5.7.1");
	assert_int_equal(s.nenclosed, 2);
	check_span(&s, 1, find(m, CRLF, "Subject: relaytrap"), find(m, CRLF, "\n--a\"b\\c=d--"));
	free(m);
	/* an unterminated quote: the value runs to the end of the field */
	m = dsn_with("\"abc", "abc", "5.7.1", &len);
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	assert_string_equal(s.dsn.status, "5.7.1");
	free(m);
}

static void test_boundary_never_closed(void **st)
{
	(void)st;
	size_t len;
	char *m = build(POSTFIX_DSN, CRLF, SHAPE_TOKEN, NULL, &len);
	size_t cut = find(m, CRLF, "\n--" PF_B "--");
	struct mail_shape s;
	shape_of("", m, cut, &s);
	check_invariants(&s, cut);
	assert_string_equal(s.dsn.status, "5.7.1");
	assert_int_equal(s.nenclosed, 2);
	check_span(&s, 1, find(m, CRLF, "Return-Path: <relaytest@sink.lab>"), cut);
	/* the last part runs to the end, trailing line break included */
	shape_of("", m, cut + 2, &s);
	check_span(&s, 1, find(m, CRLF, "Return-Path: <relaytest@sink.lab>"), cut + 2);
	free(m);
}

static void test_part_without_header(void **st)
{
	(void)st;
	size_t len;
	/* the first part starts with body text, no blank line: its type is none, the next part is
	 * still read */
	char *m = build("Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
	                "\n"
	                "--b\n"
	                "Your message could not be delivered.\n"
	                "--b\n"
	                "\n"
	                "--b\n"
	                "Content-Type: message/delivery-status\n"
	                "\n"
	                "Final-Recipient: rfc822;x@y\n"
	                "Status: 5.1.1\n"
	                "--b--\n",
	                CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	assert_int_equal(s.report, 1);
	assert_string_equal(s.dsn.status, "5.1.1");
	assert_string_equal(s.dsn.final_recipient, "x@y");
	assert_int_equal(s.nenclosed, 1);
	check_span(&s, 0, find(m, CRLF, "Final-Recipient"), find(m, CRLF, "\n--b--"));
	free(m);
}

static void test_dsn_status_forms(void **st)
{
	(void)st;
	static const struct {
		const char *in, *kept;
	} cases[] = {
	    {"5.7.1", "5.7.1"},
	    {"4.4.7", "4.4.7"},
	    {"2.0.0", "2.0.0"},
	    {"5.123.456", "5.123.456"},
	    {"5.7.1 (relay)", "5.7.1"},
	    {"5.0.0(x)", "5.0.0"},
	    {"5.7", ""},
	    {"9.1.1", ""},
	    {"5.7.1234", ""},
	    {"5.1000.1", ""},
	    {"5.7.", ""},
	    {"5.7.a", ""},
	    {"5..1", ""},
	    {".5.7.1", ""},
	    {"", ""},
	    {"55.7.1", ""},
	    {"3.1.1", ""},
	    {"x5.7.1", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *m = dsn_with("b", "b", cases[i].in, &len);
		struct mail_shape s;
		shape_of("", m, len, &s);
		check_invariants(&s, len);
		if (strcmp(s.dsn.status, cases[i].kept) != 0)
			fail_msg("Status: %s kept as \"%s\"", cases[i].in, s.dsn.status);
		assert_string_equal(s.dsn.action, "failed"); /* the other fields are kept */
		free(m);
	}
}

static void test_line_breaks_cr_only(void **st)
{
	(void)st;
	size_t len;
	char *m = build(POSTFIX_DSN, "\r", SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	/* no LF at all: one header field (Return-Path) that runs to the end, no body */
	assert_int_equal(s.body, len);
	const struct want w = {.daemon = 1};
	check_shape(&s, &w);
	check_classes(&s, MC_FOREIGN, MC_RELAYED, MC_RELAYED, MC_RELAYED);
	free(m);
}

static void test_nul_bytes(void **st)
{
	(void)st;
	size_t len;
	char *m = build(POSTFIX_DSN, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape ref, s;
	shape_of("", m, len, &ref);
	/* NULs in the text part, in the attached original and in a DSN field's value */
	size_t text = find(m, CRLF, "mail system at host"), orig = find(m, CRLF, "It is not spam");
	size_t diag = find(m, CRLF, "Relay access denied\n\n--");
	m[text + 4] = '\0';
	m[orig + 2] = '\0';
	m[diag + 5] = '\0'; /* "Relay\0access denied" */
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	assert_int_equal(s.report, 1);
	assert_string_equal(s.dsn.status, "5.7.1");
	assert_string_equal(s.dsn.diagnostic,
	                    "smtp; 554 5.7.1 <rt-" SHAPE_TOKEN "@sink.lab>: Relay");
	assert_int_equal(s.nenclosed, 2);
	assert_memory_equal(s.enclosed, ref.enclosed, sizeof(ref.enclosed));
	/* a NUL in a header field name ends the header there */
	char *h = build("Subject: fail\nFrom\x01: x\n\nbody\n", CRLF, SHAPE_TOKEN, NULL, &len);
	h[find(h, CRLF, "\x01")] = '\0';
	shape_of("", h, len, &s);
	check_invariants(&s, len);
	assert_int_equal(s.body, find(h, CRLF, "From"));
	free(h);
	free(m);
}

/* depth levels of multipart/mixed, each holding an attached message then the next level. */
static char *nested(int depth, size_t *len)
{
	size_t cap = (size_t)depth * 256 + 256, o = 0;
	char *m = malloc(cap);
	assert_non_null(m);
	o += (size_t)snprintf(m + o, cap - o, "From: MAILER-DAEMON@mx.example\r\n");
	for (int i = 1; i <= depth; i++)
		o += (size_t)snprintf(m + o, cap - o,
		                      "Content-Type: multipart/mixed; boundary=\"lvl%03d\"\r\n\r\n"
		                      "--lvl%03d\r\nContent-Type: message/rfc822\r\n\r\n"
		                      "Subject: level %d\r\n\r\nx\r\n--lvl%03d\r\n",
		                      i, i, i, i);
	o += (size_t)snprintf(m + o, cap - o, "Content-Type: text/plain\r\n\r\nend\r\n");
	for (int i = depth; i >= 1; i--)
		o += (size_t)snprintf(m + o, cap - o, "--lvl%03d--\r\n", i);
	assert_true(o < cap);
	*len = o;
	return m;
}

static void test_deep_nesting(void **st)
{
	(void)st;
	size_t len;
	char *m = nested(100, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	/* only MAILCLASS_DEPTH levels of multipart are followed */
	assert_int_equal(MAILCLASS_DEPTH, 3);
	assert_int_equal(s.nenclosed, MAILCLASS_DEPTH);
	for (int i = 1; i <= MAILCLASS_DEPTH; i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "Subject: level %d\r\n", i);
		size_t start = (size_t)(strstr(m, needle) - m);
		check_span(&s, i - 1, start, start + strlen(needle) + 3);
	}
	char deeper[64];
	snprintf(deeper, sizeof(deeper), "Subject: level %d\r\n", MAILCLASS_DEPTH + 1);
	assert_false(mailclass_enclosed(&s, (size_t)(strstr(m, deeper) - m)));
	free(m);
}

/* nparts parts of multipart/mixed, text/plain except part number rfc (1-based). */
static char *many_parts(int nparts, int rfc, size_t *len, size_t *rfc_at)
{
	size_t cap = (size_t)nparts * 64 + 256, o = 0;
	char *m = malloc(cap);
	assert_non_null(m);
	o += (size_t)snprintf(m + o, cap - o, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (int i = 1; i <= nparts; i++) {
		o += (size_t)snprintf(m + o, cap - o, "--p\r\nContent-Type: %s\r\n\r\n",
		                      i == rfc ? "message/rfc822" : "text/plain");
		if (i == rfc)
			*rfc_at = o;
		o += (size_t)snprintf(m + o, cap - o, "part %d\r\n", i);
	}
	o += (size_t)snprintf(m + o, cap - o, "--p--\r\n");
	assert_true(o < cap);
	*len = o;
	return m;
}

static void test_many_parts(void **st)
{
	(void)st;
	size_t len, at = 0;
	struct mail_shape s;
	assert_int_equal(MAILCLASS_PARTS, 64);
	char *m = many_parts(1000, MAILCLASS_PARTS, &len, &at);
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	assert_int_equal(s.nenclosed, 1);
	check_span(&s, 0, at, at + strlen("part 64"));
	free(m);
	m = many_parts(1000, MAILCLASS_PARTS + 1, &len, &at);
	shape_of("", m, len, &s);
	check_invariants(&s, len);
	assert_int_equal(s.nenclosed, 0);
	free(m);
	m = many_parts(1000, 1000, &len, &at);
	shape_of("", m, len, &s);
	assert_int_equal(s.nenclosed, 0);
	free(m);
}

static void test_many_enclosed(void **st)
{
	(void)st;
	char tmpl[4096];
	size_t o = 0;
	o += (size_t)snprintf(tmpl + o, sizeof(tmpl) - o,
	                      "Content-Type: multipart/mixed; boundary=m\n\n");
	for (int i = 1; i <= MAILCLASS_SPANS + 2; i++)
		o += (size_t)snprintf(
		    tmpl + o, sizeof(tmpl) - o,
		    "--m\nContent-Type: message/rfc822\n\nSubject: original %02d\n\n", i);
	snprintf(tmpl + o, sizeof(tmpl) - o, "--m--\n");
	size_t len;
	char *m = build(tmpl, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("someone@example.org", m, len, &s);
	check_invariants(&s, len);
	assert_int_equal(s.nenclosed, MAILCLASS_SPANS);
	for (int i = 1; i <= MAILCLASS_SPANS + 2; i++) {
		char needle[32];
		snprintf(needle, sizeof(needle), "Subject: original %02d", i);
		size_t at = find(m, CRLF, needle);
		if (i <= MAILCLASS_SPANS)
			check_span(&s, i - 1, at, at + strlen(needle) + 2);
		else /* beyond the bound: not remembered */
			assert_false(mailclass_enclosed(&s, at));
	}
	free(m);
}

static void test_scan_bound(void **st)
{
	(void)st;
	/* a DSN whose report lies past MAILCLASS_SCAN: not read */
	size_t pad = MAILCLASS_SCAN, len;
	char *dsn = dsn_with("b", "b", "5.7.1", &len);
	char *body = strstr(dsn, "\r\n\r\n") + 4;
	size_t head = (size_t)(body - dsn);
	char *m = malloc(len + pad);
	assert_non_null(m);
	memcpy(m, dsn, head);
	memset(m + head, 'x', pad - 2);
	memcpy(m + head + pad - 2, "\r\n", 2);
	memcpy(m + head + pad, body, len - head);
	struct mail_shape s;
	shape_of("", m, len + pad, &s);
	check_invariants(&s, len + pad);
	assert_int_equal(s.report, 1); /* the header says so */
	assert_string_equal(s.dsn.status, "");
	assert_int_equal(s.nenclosed, 0);
	free(m);
	free(dsn);
}

static void test_degenerate(void **st)
{
	(void)st;
	struct mail_shape s;
	shape_of(NULL, "", 0, &s); /* no sender at all counts as the null sender */
	check_invariants(&s, 0);
	assert_int_equal(s.daemon, 1);
	assert_int_equal(s.body, 0);
	shape_of("MAILER-DAEMON", "\r\n", 2, &s);
	assert_int_equal(s.daemon, 1);
	assert_int_equal(s.body, 2);
	static const char *const daemons[] = {"mailer-daemon@x", "MailerDaemon@x", "mail-daemon",
	                                      "Postmaster@x", NULL};
	for (int i = 0; daemons[i]; i++) {
		shape_of(daemons[i], "", 0, &s);
		assert_int_equal(s.daemon, 1);
	}
	static const char *const people[] = {"postmasters@x", "mailer@x", "daemon@x",
	                                     "relaytest@sink.lab", NULL};
	for (int i = 0; people[i]; i++) {
		shape_of(people[i], "", 0, &s);
		assert_int_equal(s.daemon, 0);
	}
	/* a boundary line at the very start of the body, and a part without a line break */
	const char *m = "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n"
	                "Content-Type: message/rfc822\r\n\r\nS: 1\r\n--z";
	shape_of("x@y", m, strlen(m), &s);
	check_invariants(&s, strlen(m));
	assert_int_equal(s.nenclosed, 1);
	check_span(&s, 0, (size_t)(strstr(m, "S: 1") - m), (size_t)(strstr(m, "S: 1") - m) + 4);
}

/* ---- byte by byte ---- */

/* Shape of the first n bytes of m, in a heap block of exactly n bytes (ASan sees over-reads). */
static void prefix_shape(const char *sender, const char *m, size_t n, struct mail_shape *s)
{
	char *p = malloc(n); /* malloc(0) too: ASan reports any read of it */
	if (n) {
		assert_non_null(p);
		memcpy(p, m, n);
	}
	mailclass_shape(sender, p, n, s);
	free(p);
	check_invariants(s, n);
}

static void test_dsn_byte_by_byte(void **st)
{
	(void)st;
	size_t len;
	char *m = build(POSTFIX_DSN, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape full, s;
	shape_of("", m, len, &full);
	const size_t blen = strlen(PF_B);
	const size_t report_at = find(m, CRLF, "report-type=delivery-status") + 27;
	const size_t subject_at = find(m, CRLF, "Subject: Undeliver") + 18;
	const size_t auto_at = find(m, CRLF, "Auto-Submitted: a") + 17;
	const size_t ds_at = find(m, CRLF, "Reporting-MTA:");
	const size_t ds_end = find(m, CRLF, "\n--" PF_B "\nContent-Description: Undelivered");
	const size_t block_end = find(m, CRLF, "Relay access denied\n\n--") + 19;
	const size_t orig_at = find(m, CRLF, "Return-Path: <relaytest@sink.lab>");
	const size_t close_at = find(m, CRLF, "\n--" PF_B "--");
	const size_t closed = close_at + 2 + 2 + blen + 2; /* "\r\n--" boundary "--" */
	for (size_t n = 0; n <= len; n++) {
		prefix_shape("", m, n, &s);
		assert_int_equal(s.daemon, 1);
		/* each fact appears with the byte that completes it, and stays */
		assert_int_equal(s.report, n >= report_at);
		assert_int_equal(s.bounce_subject, n >= subject_at);
		assert_int_equal(s.auto_reply != NULL, n >= auto_at);
		if (n >= block_end)
			assert_memory_equal(&s.dsn, &full.dsn, sizeof(s.dsn));
		else if (n < ds_at)
			assert_string_equal(s.dsn.status, "");
		if (n > ds_at) /* the delivery-status part grows until its delimiter is whole */
			check_span(&s, 0, ds_at, n < ds_end + 4 + blen ? n : ds_end);
		if (n > orig_at) {
			assert_int_equal(s.nenclosed, 2);
			check_span(&s, 1, orig_at, n < close_at + 4 + blen ? n : close_at);
		}
		if (n >= closed)
			assert_memory_equal(&s, &full, sizeof(s));
	}
	free(m);
}

static void test_relayed_byte_by_byte(void **st)
{
	(void)st;
	size_t len;
	char *m = build(RELAYED, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape full, s;
	shape_of("", m, len, &full);
	const size_t body = find(m, CRLF, "\n\nThis is an automated") + 4;
	for (size_t n = 0; n <= len; n++) {
		prefix_shape("", m, n, &s);
		assert_int_equal(s.report, 0);
		assert_int_equal(s.daemon, 1);
		assert_int_equal(s.bounce_subject, 0);
		assert_null(s.auto_reply);
		assert_int_equal(s.nenclosed, 0);
		if (n >= body)
			assert_int_equal(s.body, body);
		const char *why;
		assert_int_equal(mailclass_decide(&s, 1, 1, &why), MC_RELAYED);
		assert_int_equal(mailclass_decide(&s, 0, 1, &why), MC_RELAYED);
	}
	assert_memory_equal(&s, &full, sizeof(s));
	free(m);
}

static void test_qmail_byte_by_byte(void **st)
{
	(void)st;
	size_t len;
	char *m = build(QMAIL_BOUNCE, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	const size_t marker = find(m, CRLF, "Below this line is a copy of the message");
	const size_t marker_end = marker + strlen("below this line is a copy of the message");
	for (size_t n = 0; n <= len; n++) {
		prefix_shape("", m, n, &s);
		assert_int_equal(s.nenclosed, n >= marker_end);
		if (n >= marker_end)
			check_span(&s, 0, marker, n);
	}
	free(m);
}

/* ---- through msgscan into the receipt ---- */

static const uint8_t KEY[] = "mailclass-test-key-0123456789";
#define KEYLEN (sizeof(KEY) - 1)

static void make_token(int test, char *out)
{
	struct token_fields f = {.scan_id = 0x01020304, .port = 25, .test = (uint8_t)test};
	assert_int_equal(ipaddr_parse("192.0.2.25", &f.target), 0);
	assert_true(token_encode(KEY, KEYLEN, &f, out) > 0);
}

static const char *jstr(const json_t *o, const char *path1, const char *path2)
{
	const json_t *v = json_object_get(o, path1);
	if (path2)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

/* The receipt's found_in for its only token, as "a,b,c". */
static void found_in(const json_t *r, char *out, size_t cap)
{
	const json_t *toks = json_object_get(r, "tokens");
	assert_int_equal(json_array_size(toks), 1);
	assert_string_equal(jstr(json_array_get(toks, 0), "status", NULL), "valid");
	size_t i, o = 0;
	const json_t *w;
	out[0] = '\0';
	json_array_foreach(json_object_get(json_array_get(toks, 0), "found_in"), i, w) o +=
	    (size_t)snprintf(out + o, cap - o, "%s%s", i ? "," : "", json_string_value(w));
}

static json_t *scan(struct msgscan *ms, const char *sender, const char *m, size_t len,
                    const char *rcpt)
{
	struct strlist rc = {0};
	if (rcpt)
		strlist_add(&rc, rcpt);
	json_t *r = msgscan_run(ms, sender, m, len, &rc);
	strlist_free(&rc);
	assert_non_null(r);
	return r;
}

static void test_receipt_postfix_dsn(void **st)
{
	(void)st;
	char err[128], tok[TOKEN_MAX + 1], rcpt[128], where[128];
	make_token(1, tok);
	struct msgscan *ms = msgscan_new(KEY, KEYLEN, 65536, 50, err, sizeof(err));
	assert_non_null(ms);
	/* as Postfix writes it: the text part names the token, the rest is attached */
	size_t len;
	char *m = build(POSTFIX_DSN, CRLF, tok, NULL, &len);
	json_t *r = scan(ms, "", m, len, "relaytest@sink.lab");
	assert_string_equal(jstr(r, "class", NULL), "bounce");
	assert_string_equal(jstr(r, "class_why", NULL),
	                    "a delivery status notification (multipart/report)");
	assert_string_equal(jstr(r, "dsn", "status"), "5.7.1");
	assert_string_equal(jstr(r, "dsn", "action"), "failed");
	char want[256];
	snprintf(want, sizeof(want), "smtp; 554 5.7.1 <rt-%s@sink.lab>: Relay access denied", tok);
	assert_string_equal(jstr(r, "dsn", "diagnostic_code"), want);
	assert_string_equal(jstr(r, "dsn", "reporting_mta"), "mx.relay.example");
	snprintf(want, sizeof(want), "rt-%s@sink.lab", tok);
	assert_string_equal(jstr(r, "dsn", "final_recipient"), want);
	assert_null(json_object_get(r, "auto_reply"));
	found_in(r, where, sizeof(where));
	assert_string_equal(where, "body,attached");
	assert_string_equal(jstr(json_array_get(json_object_get(r, "tokens"), 0), "target", NULL),
	                    "192.0.2.25");
	json_decref(r);
	free(m);

	/* the relay had rewritten the recipient: the token is only in the attached original */
	m = build(POSTFIX_DSN, CRLF, tok, "ops@relay.example", &len);
	r = scan(ms, "", m, len, "relaytest@sink.lab");
	assert_string_equal(jstr(r, "class", NULL), "bounce");
	assert_string_equal(jstr(r, "dsn", "status"), "5.7.1");
	assert_string_equal(jstr(r, "dsn", "final_recipient"), "ops@relay.example");
	found_in(r, where, sizeof(where));
	assert_string_equal(where, "attached");
	assert_false(json_boolean_value(json_object_get(r, "tokens_disagree")));
	json_decref(r);

	/* the attached original, sent on its own by a relay: relayed, nothing attached */
	struct mail_shape s;
	mailclass_shape("", m, len, &s);
	assert_int_equal(s.nenclosed, 2);
	const char *orig = m + s.enclosed[1].start;
	size_t olen = s.enclosed[1].end - s.enclosed[1].start;
	snprintf(rcpt, sizeof(rcpt), "rt-%s@sink.lab", tok);
	r = scan(ms, "relaytest@sink.lab", orig, olen, rcpt);
	assert_string_equal(jstr(r, "class", NULL), "relayed");
	assert_string_equal(jstr(r, "class_why", NULL), "a valid token in the envelope recipient");
	assert_null(json_object_get(r, "dsn"));
	found_in(r, where, sizeof(where));
	assert_string_equal(where, "rcpt,subject,message-id,x-relaytrap-token,body");
	json_decref(r);
	free(m);
	msgscan_free(ms);
}

static void test_receipt_relayed_null_sender(void **st)
{
	(void)st;
	char err[128], tok[TOKEN_MAX + 1], rcpt[128], where[128];
	make_token(1, tok);
	struct msgscan *ms = msgscan_new(KEY, KEYLEN, 65536, 50, err, sizeof(err));
	assert_non_null(ms);
	size_t len;
	char *m = build(RELAYED, CRLF, tok, NULL, &len);
	snprintf(rcpt, sizeof(rcpt), "rt-%s@sink.lab", tok);
	json_t *r = scan(ms, "", m, len, rcpt);
	assert_string_equal(jstr(r, "class", NULL), "relayed");
	assert_string_equal(jstr(r, "class_why", NULL), "a valid token in the envelope recipient");
	found_in(r, where, sizeof(where));
	assert_string_equal(where, "rcpt,subject,message-id,x-relaytrap-token,body");
	json_decref(r);
	/* a relay that changed the envelope recipient: the header and body still say relayed */
	r = scan(ms, "", m, len, "someone@sink.lab");
	assert_string_equal(jstr(r, "class", NULL), "relayed");
	assert_string_equal(jstr(r, "class_why", NULL),
	                    "a valid token in the message's own Message-ID or X-Relaytrap-Token");
	json_decref(r);
	free(m);
	/* a qmail bounce: the token in the report's text and in the original */
	m = build(QMAIL_BOUNCE, CRLF, tok, NULL, &len);
	r = scan(ms, "", m, len, "relaytest@sink.lab");
	assert_string_equal(jstr(r, "class", NULL), "bounce");
	assert_true(json_is_null(json_object_get(json_object_get(r, "dsn"), "status")));
	found_in(r, where, sizeof(where));
	assert_string_equal(where, "body,attached");
	json_decref(r);
	free(m);
	/* a vacation reply names its header */
	m = build(VACATION, CRLF, tok, NULL, &len);
	r = scan(ms, "", m, len, "relaytest@prober.example");
	assert_string_equal(jstr(r, "class", NULL), "auto-reply");
	assert_string_equal(jstr(r, "auto_reply", NULL), "Auto-Submitted");
	json_decref(r);
	free(m);
	msgscan_free(ms);
}

/* ---- regressions: bugs these tests found, fixed ---- */

/* A read receipt sent, as RFC 8098 section 2.1 asks, from the null envelope sender, with the
 * original's header attached, is classified "bounce" (daemon sender + enclosed part) instead
 * of an auto-reply; correlate.c then turns the test into "bounced" (no DSN action counts as
 * returned). */
static void regression_mdn_null_sender(void **st)
{
	(void)st;
	size_t len;
	char *m = build(MDN, CRLF, SHAPE_TOKEN, NULL, &len);
	struct mail_shape s;
	shape_of("", m, len, &s);
	const char *why;
	enum mail_class c = mailclass_decide(&s, 0, 1, &why);
	free(m);
	assert_string_equal(mail_class_names[c], "auto-reply");
}

/* A message that is not the test but quotes its Subject (an abuse report, "FW: <subject>";
 * a person's reply, "Re: <subject>" with no auto-reply header) carries a valid token in its
 * own Subject: decided "relayed", so correlation marks the host open. */
static void regression_subject_quoted(void **st)
{
	(void)st;
	char err[128], tok[TOKEN_MAX + 1], subj[96];
	make_token(1, tok);
	struct msgscan *ms = msgscan_new(KEY, KEYLEN, 65536, 50, err, sizeof(err));
	assert_non_null(ms);
	snprintf(subj, sizeof(subj), "FW: relaytrap relay test rt-%s", tok);
	size_t len;
	char *m = build(ARF, CRLF, tok, subj, &len);
	json_t *r = scan(ms, "abusedesk@example.com", m, len, "abuse@sink.lab");
	char cls[32];
	snprintf(cls, sizeof(cls), "%s", jstr(r, "class", NULL));
	json_decref(r);
	free(m);
	msgscan_free(ms);
	assert_string_equal(cls, "foreign");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc3464_simple),
	    cmocka_unit_test(test_rfc3464_multi),
	    cmocka_unit_test(test_postfix_dsn),
	    cmocka_unit_test(test_exim_dsn),
	    cmocka_unit_test(test_qmail_bounce),
	    cmocka_unit_test(test_exchange_ndr),
	    cmocka_unit_test(test_sendmail_dsn),
	    cmocka_unit_test(test_vacation),
	    cmocka_unit_test(test_outlook_oof),
	    cmocka_unit_test(test_read_receipt),
	    cmocka_unit_test(test_feedback_report),
	    cmocka_unit_test(test_relayed),
	    cmocka_unit_test(test_disclaimer_wrapped),
	    cmocka_unit_test(test_nested_report),
	    cmocka_unit_test(test_returned),
	    cmocka_unit_test(test_boundary_limits),
	    cmocka_unit_test(test_boundary_never_closed),
	    cmocka_unit_test(test_part_without_header),
	    cmocka_unit_test(test_dsn_status_forms),
	    cmocka_unit_test(test_line_breaks_cr_only),
	    cmocka_unit_test(test_nul_bytes),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_many_parts),
	    cmocka_unit_test(test_many_enclosed),
	    cmocka_unit_test(test_scan_bound),
	    cmocka_unit_test(test_degenerate),
	    cmocka_unit_test(test_dsn_byte_by_byte),
	    cmocka_unit_test(test_relayed_byte_by_byte),
	    cmocka_unit_test(test_qmail_byte_by_byte),
	    cmocka_unit_test(test_receipt_postfix_dsn),
	    cmocka_unit_test(test_receipt_relayed_null_sender),
	    cmocka_unit_test(regression_mdn_null_sender),
	    cmocka_unit_test(regression_subject_quoted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
