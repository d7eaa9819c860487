/* The classifier the sink runs on every delivery (sink/mailclass.c): top-level header, MIME
 * walk, delivery-status fields, enclosed spans, and the decision for every token placement.
 * The first byte chooses the envelope sender, the rest is the message. */
#include <ctype.h>
#include <string.h>

#include "fuzz.h"
#include "mailclass.h"

/* "" or class.subject.detail as RFC 3463 has it: [245].d{1,3}.d{1,3} */
static int status_ok(const char *s)
{
	if (!*s)
		return 1;
	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	s++;
	for (int part = 0; part < 2; part++) {
		if (*s++ != '.')
			return 0;
		int k = 0;
		while (isdigit((unsigned char)*s) && k < 4) {
			s++;
			k++;
		}
		if (k < 1 || k > 3)
			return 0;
	}
	return *s == '\0';
}

#define TERMINATED(f) (memchr((f), '\0', sizeof(f)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const senders[] = {"", "MAILER-DAEMON@mx.example.org",
	                                      "relaytest@sink.example"};
	if (size < 1)
		return 0;
	const char *sender = senders[data[0] % 3];
	const char *msg = (const char *)data + 1;
	size_t len = size - 1;
	struct mail_shape s, again;
	mailclass_shape(sender, msg, len, &s);

	CHECK(s.body <= len);
	CHECK(s.nenclosed >= 0 && s.nenclosed <= MAILCLASS_SPANS);
	for (int i = 0; i < s.nenclosed; i++) {
		CHECK(s.enclosed[i].start < s.enclosed[i].end);
		CHECK(s.enclosed[i].end <= len);
		CHECK(mailclass_enclosed(&s, s.enclosed[i].start));
		CHECK(mailclass_enclosed(&s, s.enclosed[i].end - 1));
	}
	CHECK(!mailclass_enclosed(&s, len > MAILCLASS_SCAN ? MAILCLASS_SCAN : len));
	CHECK(s.report == 0 || s.report == 1);
	CHECK(s.daemon == 0 || s.daemon == 1);
	CHECK(s.daemon == 1 || data[0] % 3 == 2); /* the null sender and MAILER-DAEMON are */
	CHECK(s.bounce_subject == 0 || s.bounce_subject == 1);
	CHECK(TERMINATED(s.dsn.status) && TERMINATED(s.dsn.action) &&
	      TERMINATED(s.dsn.diagnostic) && TERMINATED(s.dsn.reporting_mta) &&
	      TERMINATED(s.dsn.final_recipient));
	CHECK(status_ok(s.dsn.status));
	for (const char *c = s.dsn.action; *c; c++)
		CHECK(!isupper((unsigned char)*c));

	for (int i = 0; i < 4; i++) {
		const char *why = NULL;
		enum mail_class c = mailclass_decide(&s, i >> 1, i & 1, &why);
		CHECK(c >= MC_RELAYED && c < MC_COUNT && why && *why);
		if (s.report)
			CHECK(c == MC_BOUNCE);
		else if (i >> 1)
			CHECK(c == MC_RELAYED); /* the envelope recipient decides */
		else if (c == MC_AUTO_REPLY)
			CHECK(s.auto_reply != NULL);
	}
	(void)mailclass_returned(s.dsn.action);

	/* pure: the same input gives the same shape */
	mailclass_shape(sender, msg, len, &again);
	CHECK(memcmp(&s, &again, sizeof(s)) == 0);
	return 0;
}
