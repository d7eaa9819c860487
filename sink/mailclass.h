/* What kind of message reached the sink (docs/design.md "What counts as a delivery"): a relay
 * test that was relayed, a delivery status notification (a bounce: the relay returned the test
 * to its sender), an auto-reply, or something else. Pure and bounded: it reads the top-level
 * header, walks at most MAILCLASS_DEPTH levels of MIME multipart structure, and notes the
 * enclosed parts (attached originals, delivery-status parts) so that a token found inside
 * them is not taken for a token the relay carried. No I/O, no allocation. */
#ifndef RT_MAILCLASS_H
#define RT_MAILCLASS_H

#include <stddef.h>

#define MAILCLASS_SPANS 8     /* enclosed parts remembered */
#define MAILCLASS_DEPTH 3     /* multipart nesting followed */
#define MAILCLASS_PARTS 64    /* parts looked at per multipart */
#define MAILCLASS_SCAN 262144 /* bytes of a message looked at */

enum mail_class { MC_RELAYED, MC_BOUNCE, MC_AUTO_REPLY, MC_FOREIGN, MC_COUNT };
extern const char *const mail_class_names[];

struct mail_span {
	size_t start, end; /* offsets into the message */
};

/* The per-recipient facts of a delivery-status part (RFC 3464), the first recipient's. Values
 * are unfolded and bounded; "" when absent. */
struct dsn_fields {
	char status[16];           /* "5.7.1": only when well-formed */
	char action[16];           /* "failed", "delayed", "delivered", "relayed", "expanded" */
	char diagnostic[256];      /* Diagnostic-Code as written ("smtp; 550 5.7.1 ...") */
	char reporting_mta[256];   /* without its type ("dns; ") */
	char final_recipient[256]; /* without its type ("rfc822; ") */
};

struct mail_shape {
	int report; /* multipart/report, or a message/delivery-status part */
	int daemon; /* null envelope sender, or a MAILER-DAEMON / postmaster sender or From */
	int bounce_subject;     /* "Undelivered Mail Returned to Sender", "failure notice", ... */
	const char *auto_reply; /* why it is an auto-reply (a header name); NULL: it is not */
	int mdn;                /* a read receipt (report-type=disposition-notification) */
	size_t body;            /* where the top-level body starts */
	struct mail_span enclosed[MAILCLASS_SPANS];
	int nenclosed;
	struct dsn_fields dsn;
};

/* sender: the envelope sender without brackets ("" for the null sender). */
void mailclass_shape(const char *sender, const char *msg, size_t len, struct mail_shape *out);
/* 1 when offset off lies inside an enclosed part. */
int mailclass_enclosed(const struct mail_shape *s, size_t off);
/* The class, from the shape and where valid tokens were found: rcpt_token, in an envelope
 * recipient; top_token, in a top-level header that a relay passes on unchanged and a reply or
 * a forward does not keep (Message-ID, X-Relaytrap-Token). *why gets a static explanation. */
enum mail_class mailclass_decide(const struct mail_shape *s, int rcpt_token, int top_token,
                                 const char **why);
/* 1 when a bounce's action says the message was returned undelivered ("failed", or no
 * action at all: a bounce in plain text). */
int mailclass_returned(const char *action);

#endif
