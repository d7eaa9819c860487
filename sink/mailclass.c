#include "mailclass.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "hdr.h"

const char *const mail_class_names[] = {"relayed", "bounce", "auto-reply", "foreign"};

#define VALUE_MAX 1024
#define MARKER_SCAN 65536 /* bytes of a plain-text bounce searched for the original's marker */
#define DSN_BLOCKS 32

struct ctype {
	char type[64]; /* "multipart/report", lower case */
	char boundary[72];
	char report_type[32];
};

struct walk {
	const char *m;
	struct mail_shape *o;
};

/* Case-insensitive search for needle in s[0..n). */
static const char *find_ci(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (tolower((unsigned char)s[i]) == needle[0] && strncasecmp(s + i, needle, k) == 0)
			return s + i;
	return NULL;
}

static int any_ci(const char *s, size_t n, const char *const *needles)
{
	for (int i = 0; needles[i]; i++)
		if (find_ci(s, n, needles[i]))
			return 1;
	return 0;
}

static void copy_field(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/* One parameter value after '=': a quoted string (backslash escapes) or a token. */
static size_t param_value(const char *v, size_t n, size_t i, char *dst, size_t cap)
{
	size_t o = 0;
	if (i < n && v[i] == '"') {
		for (i++; i < n && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < n)
				i++;
			if (o + 1 < cap)
				dst[o++] = v[i];
		}
		i++;
	} else {
		for (; i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t'; i++)
			if (o + 1 < cap)
				dst[o++] = v[i];
	}
	dst[o] = '\0';
	return i;
}

/* Content-Type (RFC 2045): type/subtype, then the boundary and report-type parameters. */
static void ctype_parse(const char *v, size_t n, struct ctype *ct)
{
	memset(ct, 0, sizeof(*ct));
	size_t i = 0, o = 0;
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	for (; i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t'; i++)
		if (o + 1 < sizeof(ct->type))
			ct->type[o++] = (char)tolower((unsigned char)v[i]);
	while (i < n) {
		while (i < n && (v[i] == ';' || v[i] == ' ' || v[i] == '\t'))
			i++;
		size_t name = i;
		while (i < n && v[i] != '=' && v[i] != ';')
			i++;
		size_t namelen = i - name;
		while (namelen && (v[name + namelen - 1] == ' ' || v[name + namelen - 1] == '\t'))
			namelen--;
		if (i >= n || v[i] != '=')
			continue;
		i++;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		char val[VALUE_MAX];
		i = param_value(v, n, i, val, sizeof(val));
		if (namelen == 8 && strncasecmp(v + name, "boundary", 8) == 0)
			/* RFC 2046: at most 70 characters; a longer one is not a boundary */
			copy_field(ct->boundary, sizeof(ct->boundary), val,
			           strlen(val) <= 70 ? strlen(val) : 0);
		else if (namelen == 11 && strncasecmp(v + name, "report-type", 11) == 0)
			copy_field(ct->report_type, sizeof(ct->report_type), val, strlen(val));
	}
}

/* The next delimiter line "--boundary" in [from, end): its offset (end when there is none);
 * *close when it is the close delimiter, *after where the line after it starts. */
static size_t next_delim(const char *m, size_t from, size_t end, const char *b, int *close,
                         size_t *after)
{
	size_t blen = strlen(b), p = from;
	*close = 0;
	while (p + 2 + blen <= end) {
		const char *hit = memmem(m + p, end - p, "--", 2);
		if (!hit)
			break;
		size_t at = (size_t)(hit - m);
		if (at + 2 + blen <= end && (at == from || m[at - 1] == '\n') &&
		    memcmp(m + at + 2, b, blen) == 0) {
			size_t q = at + 2 + blen;
			*close = q + 2 <= end && m[q] == '-' && m[q + 1] == '-';
			const char *lf = memchr(m + q, '\n', end - q);
			*after = lf ? (size_t)(lf - m) + 1 : end;
			return at;
		}
		p = at + 1;
	}
	*after = end;
	return end;
}

static void add_span(struct mail_shape *o, size_t start, size_t end)
{
	if (o->nenclosed < MAILCLASS_SPANS && start < end)
		o->enclosed[o->nenclosed++] = (struct mail_span){start, end};
}

/* "dns; mx.example" -> "mx.example": the type before ';' goes. */
static void copy_typed(char *dst, size_t cap, const char *v, size_t n)
{
	const char *semi = memchr(v, ';', n);
	if (semi) {
		size_t skip = (size_t)(semi - v) + 1;
		while (skip < n && v[skip] == ' ')
			skip++;
		v += skip;
		n -= skip;
	}
	copy_field(dst, cap, v, n);
}

/* Digits from v[*i], at most 3 of them; how many. */
static int digits(const char *v, size_t n, size_t *i)
{
	int k = 0;
	while (*i < n && k < 3 && isdigit((unsigned char)v[*i])) {
		(*i)++;
		k++;
	}
	return k;
}

/* Only a well-formed status code (RFC 3463: class.subject.detail) is kept. */
static void copy_status(char *dst, size_t cap, const char *v, size_t n)
{
	size_t i = 1;
	if (n < 5 || (v[0] != '2' && v[0] != '4' && v[0] != '5') || v[1] != '.')
		return;
	i = 2;
	if (!digits(v, n, &i) || i >= n || v[i++] != '.' || !digits(v, n, &i))
		return;
	if (i < n && isdigit((unsigned char)v[i]))
		return;
	copy_field(dst, cap, v, i);
}

/* A delivery-status body: per-message fields, then one block per recipient (RFC 3464 2.1);
 * the first recipient block with fields is kept. */
static void dsn_parse(struct mail_shape *o, const char *m, size_t start, size_t end)
{
	struct dsn_fields *d = &o->dsn;
	size_t pos = start;
	int have_rcpt = 0;
	char v[VALUE_MAX];
	for (int block = 0; pos < end && block < DSN_BLOCKS; block++) {
		struct hdr_field f;
		int r, rcpt_block = 0;
		while ((r = hdr_next(m, end, &pos, &f)) == 1) {
			size_t n = hdr_unfold(f.value, f.valuelen, v, sizeof(v));
			if (hdr_is(&f, "Reporting-MTA") && !d->reporting_mta[0])
				copy_typed(d->reporting_mta, sizeof(d->reporting_mta), v, n);
			if (have_rcpt)
				continue;
			if (hdr_is(&f, "Final-Recipient")) {
				copy_typed(d->final_recipient, sizeof(d->final_recipient), v, n);
				rcpt_block = 1;
			} else if (hdr_is(&f, "Action")) {
				copy_field(d->action, sizeof(d->action), v, n);
				for (char *c = d->action; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				rcpt_block = 1;
			} else if (hdr_is(&f, "Status")) {
				copy_status(d->status, sizeof(d->status), v, n);
				rcpt_block = 1;
			} else if (hdr_is(&f, "Diagnostic-Code")) {
				copy_field(d->diagnostic, sizeof(d->diagnostic), v, n);
				rcpt_block = 1;
			}
		}
		have_rcpt |= rcpt_block;
		if (r < 0) { /* not a field: skip the line */
			const char *lf = memchr(m + pos, '\n', end - pos);
			pos = lf ? (size_t)(lf - m) + 1 : end;
		}
	}
}

static void walk_multipart(struct walk *w, size_t start, size_t end, const char *boundary,
                           int depth);

/* multipart/report (RFC 6522) says what it reports: delivery status is a bounce, a disposition
 * notification (a read receipt) an automatic answer; other reports (abuse feedback) are
 * neither. */
static void report_kind(struct mail_shape *o, const struct ctype *ct)
{
	if (strcmp(ct->type, "multipart/report") != 0)
		return;
	if (!strcasecmp(ct->report_type, "delivery-status") ||
	    !strcasecmp(ct->report_type, "global-delivery-status"))
		o->report = 1;
	else if (!strcasecmp(ct->report_type, "disposition-notification")) {
		o->mdn = 1;
		if (!o->auto_reply)
			o->auto_reply = "Disposition-Notification";
	}
}

/* One body part in [start, end): its own header, then what its type says. */
static void walk_part(struct walk *w, size_t start, size_t end, int depth)
{
	size_t pos = start;
	struct hdr_field f;
	struct ctype ct = {0};
	char v[VALUE_MAX];
	while (hdr_next(w->m, end, &pos, &f) == 1)
		if (hdr_is(&f, "Content-Type"))
			ctype_parse(v, hdr_unfold(f.value, f.valuelen, v, sizeof(v)), &ct);
	if (!strncmp(ct.type, "multipart/", 10)) {
		report_kind(w->o, &ct);
		if (ct.boundary[0] && depth < MAILCLASS_DEPTH)
			walk_multipart(w, pos, end, ct.boundary, depth + 1);
	} else if (!strcmp(ct.type, "message/delivery-status") ||
	           !strcmp(ct.type, "message/global-delivery-status")) {
		w->o->report = 1;
		add_span(w->o, pos, end);
		dsn_parse(w->o, w->m, pos, end);
	} else if (!strcmp(ct.type, "message/rfc822") || !strcmp(ct.type, "message/global") ||
	           !strcmp(ct.type, "text/rfc822-headers") ||
	           !strcmp(ct.type, "message/global-headers")) {
		add_span(w->o, pos, end);
	}
}

static void walk_multipart(struct walk *w, size_t start, size_t end, const char *boundary,
                           int depth)
{
	int close;
	size_t after;
	size_t d = next_delim(w->m, start, end, boundary, &close, &after);
	for (int parts = 0; d < end && !close && parts < MAILCLASS_PARTS; parts++) {
		size_t pstart = after;
		d = next_delim(w->m, pstart, end, boundary, &close, &after);
		size_t pend = d;
		if (d < end) { /* the line break before a delimiter belongs to it */
			if (pend > pstart && w->m[pend - 1] == '\n')
				pend--;
			if (pend > pstart && w->m[pend - 1] == '\r')
				pend--;
		}
		walk_part(w, pstart, pend, depth);
	}
}

static int daemon_sender(const char *sender)
{
	static const char *const names[] = {"mailer-daemon", "mailerdaemon", "mail-daemon",
	                                    "postmaster", NULL};
	if (!sender || !*sender)
		return 1;
	const char *at = strchr(sender, '@');
	size_t n = at ? (size_t)(at - sender) : strlen(sender);
	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == n && strncasecmp(names[i], sender, n) == 0)
			return 1;
	return 0;
}

static void top_field(struct mail_shape *o, const struct hdr_field *f, struct ctype *ct)
{
	static const char *const daemon_from[] = {"mailer-daemon", "mail delivery", "<postmaster@",
	                                          NULL};
	static const char *const bounce_subject[] = {"undeliver",
	                                             "returned mail",
	                                             "delivery status notification",
	                                             "failure notice",
	                                             "mail delivery failed",
	                                             "delivery failure",
	                                             "non remis",
	                                             "nondeliverable",
	                                             "non-deliverable",
	                                             "could not be delivered",
	                                             "delivery has failed",
	                                             "returned to sender",
	                                             NULL};
	static const char *const auto_subject[] = {"out of office",
	                                           "out of the office",
	                                           "automatic reply",
	                                           "autoreply",
	                                           "auto-reply",
	                                           "vacation",
	                                           NULL};
	char v[VALUE_MAX];
	size_t n = hdr_unfold(f->value, f->valuelen, v, sizeof(v));
	if (hdr_is(f, "Content-Type")) {
		ctype_parse(v, n, ct);
	} else if (hdr_is(f, "From")) {
		o->daemon |=
		    any_ci(v, n, daemon_from) || (n > 11 && !strncasecmp(v, "postmaster@", 11));
	} else if (hdr_is(f, "Subject")) {
		o->bounce_subject = any_ci(v, n, bounce_subject);
		if (!o->auto_reply &&
		    (any_ci(v, n, auto_subject) || (n >= 5 && !strncasecmp(v, "auto:", 5))))
			o->auto_reply = "Subject";
	} else if (hdr_is(f, "Auto-Submitted")) { /* RFC 3834: anything but "no" */
		if (n &&
		    !(n >= 2 && !strncasecmp(v, "no", 2) && (n == 2 || v[2] == ';' || v[2] == ' ')))
			o->auto_reply = "Auto-Submitted";
	} else if (hdr_is(f, "X-Autoreply") || hdr_is(f, "X-Autorespond") ||
	           hdr_is(f, "X-Auto-Reply")) {
		o->auto_reply = "X-Autoreply";
	} else if (hdr_is(f, "Precedence") && find_ci(v, n, "auto_reply")) {
		o->auto_reply = "Precedence";
	} else if (hdr_is(f, "X-Autogenerated") && find_ci(v, n, "reply")) {
		o->auto_reply = "X-Autogenerated";
	}
}

/* A bounce in plain text (qmail, old Sendmail and Exim): the original follows a marker line. */
static void text_original(struct mail_shape *o, const char *m, size_t len)
{
	static const char *const markers[] = {
	    "below this line is a copy of the message", "this is a copy of the message",
	    "original message follows", "unsent message follows", NULL};
	size_t n = len - o->body < MARKER_SCAN ? len - o->body : MARKER_SCAN;
	for (int i = 0; markers[i]; i++) {
		const char *hit = find_ci(m + o->body, n, markers[i]);
		if (hit) {
			add_span(o, (size_t)(hit - m), len);
			return;
		}
	}
}

void mailclass_shape(const char *sender, const char *msg, size_t len, struct mail_shape *out)
{
	memset(out, 0, sizeof(*out));
	if (len > MAILCLASS_SCAN)
		len = MAILCLASS_SCAN;
	out->daemon = daemon_sender(sender);
	struct ctype ct = {0};
	struct hdr_field f;
	size_t pos = 0;
	while (hdr_next(msg, len, &pos, &f) == 1)
		top_field(out, &f, &ct);
	out->body = pos;
	struct walk w = {msg, out};
	if (!strncmp(ct.type, "multipart/", 10)) {
		report_kind(out, &ct);
		if (ct.boundary[0])
			walk_multipart(&w, pos, len, ct.boundary, 1);
	} else if (out->daemon && pos < len) {
		text_original(out, msg, len);
	}
}

int mailclass_enclosed(const struct mail_shape *s, size_t off)
{
	for (int i = 0; i < s->nenclosed; i++)
		if (off >= s->enclosed[i].start && off < s->enclosed[i].end)
			return 1;
	return 0;
}

enum mail_class mailclass_decide(const struct mail_shape *s, int rcpt_token, int top_token,
                                 const char **why)
{
	if (s->report) {
		*why = "a delivery status notification (multipart/report)";
		return MC_BOUNCE;
	}
	if (rcpt_token) { /* the envelope recipient decides, whatever the sender */
		*why = "a valid token in the envelope recipient";
		return MC_RELAYED;
	}
	if (s->mdn) { /* a read receipt comes from the null sender with the header enclosed */
		*why = "an auto-reply (a read receipt)";
		return MC_AUTO_REPLY;
	}
	if (s->daemon && (s->bounce_subject || s->nenclosed)) {
		*why = s->bounce_subject ? "a bounce: mailer-daemon sender, bounce subject"
		                         : "a bounce: mailer-daemon sender, the original enclosed";
		return MC_BOUNCE;
	}
	if (s->auto_reply) {
		*why = "an auto-reply";
		return MC_AUTO_REPLY;
	}
	if (top_token) {
		*why = "a valid token in the message's own Message-ID or X-Relaytrap-Token";
		return MC_RELAYED;
	}
	*why = "no valid token where a relay puts it";
	return MC_FOREIGN;
}

int mailclass_returned(const char *action)
{
	return !action || !*action || strcasecmp(action, "failed") == 0;
}
