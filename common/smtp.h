/* SMTP command (server side) and reply (client side) parsers: pure functions over bytes,
 * zero-copy (results point into the input). */
#ifndef RT_SMTP_H
#define RT_SMTP_H

#include <stddef.h>

enum smtp_verb {
	SMTP_HELO,
	SMTP_EHLO,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_RSET,
	SMTP_NOOP,
	SMTP_QUIT,
	SMTP_VRFY,
	SMTP_EXPN,
	SMTP_HELP,
	SMTP_STARTTLS,
	SMTP_AUTH,
	SMTP_BDAT,
	SMTP_UNKNOWN,
};
extern const char *const smtp_verb_names[];

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg; /* after the verb and its spaces; not NUL-terminated */
	size_t arglen;
};

/* Splits a command line (without CRLF). Never fails: unknown verbs are SMTP_UNKNOWN. */
void smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd);

struct smtp_path {
	const char *addr; /* the mailbox, without brackets or source route */
	size_t addrlen;
	const char *local, *domain; /* domain is empty for "<postmaster>" and quoted-only forms */
	size_t locallen, domainlen;
	const char *params; /* ESMTP parameters after the path */
	size_t paramslen;
	int bracketed;
	int null_path; /* "<>" */
	int source_route;
};

/* Parses "FROM:<path> params" / "TO:<path> params"; keyword is "FROM" or "TO".
 * Lenient about a missing bracket pair and spaces after the colon (relays do both); returns -1
 * with *why set on a real syntax error. */
int smtp_path_parse(const char *arg, size_t len, const char *keyword, struct smtp_path *p,
                    const char **why);

/* The value of ESMTP parameter name (e.g. "SIZE") in params, or NULL. */
const char *smtp_param(const char *params, size_t len, const char *name, size_t *vlen);

#define SMTP_REPLY_MAXLINES 128

struct smtp_line {
	const char *text; /* after "NNN-" / "NNN " */
	size_t len;
};

struct smtp_reply {
	int code;
	int nlines;
	struct smtp_line lines[SMTP_REPLY_MAXLINES];
	size_t bytes; /* input consumed */
	int bare_lf;  /* a line ended in LF alone */
};

enum smtp_reply_status {
	REPLY_OK,
	REPLY_NEED,       /* incomplete: feed more bytes */
	REPLY_BAD_SYNTAX, /* not "NNN[ -]text" */
	REPLY_MIXED_CODE, /* continuation lines with different codes */
	REPLY_TOO_LONG,   /* a line longer than maxline */
	REPLY_TOO_MANY,   /* more than maxlines lines */
};
extern const char *const smtp_reply_status_names[];

/* Parses one complete (possibly multi-line) reply at the start of p. maxlines is capped at
 * SMTP_REPLY_MAXLINES. */
enum smtp_reply_status smtp_reply_parse(const char *p, size_t len, size_t maxline, int maxlines,
                                        struct smtp_reply *r);

/* What may be put on the wire as-is (RFC 5321 4.1.2): a domain (letters, digits, '-', '_',
 * dot-separated labels of 1-63, at most 253 in all); an EHLO argument (a domain or an address
 * literal "[...]"); a local part (dot-atom text, at most 64); text for a message body (printable,
 * no line breaks, at most max bytes). Each returns NULL when s is fine, else why not. Pure. */
const char *smtp_check_domain(const char *s);
const char *smtp_check_helo(const char *s);
const char *smtp_check_localpart(const char *s);
const char *smtp_check_text(const char *s, size_t max);

#endif
