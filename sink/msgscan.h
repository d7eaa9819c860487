/* What the sink learns from one message: tokens (and where each was found), the parsed
 * Received chain, every IP address in trace headers. Pure over the message bytes. */
#ifndef RT_MSGSCAN_H
#define RT_MSGSCAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "opt.h"
#include "token.h"

#define WHERE_RCPT 0x01
#define WHERE_SUBJECT 0x02
#define WHERE_MESSAGE_ID 0x04
#define WHERE_HEADER 0x08 /* X-Relaytrap-Token */
#define WHERE_BODY 0x10

struct hdr_field {
	const char *name;
	size_t namelen;
	const char *value; /* raw, still folded, without the final line break */
	size_t valuelen;
};

/* Steps through header fields from *pos. 1: a field; 0: end of the header section (blank
 * line or end of input, *pos then points at the body); -1: a line that is not a field
 * (taken as the start of the body). Pure. */
int hdr_next(const char *msg, size_t len, size_t *pos, struct hdr_field *f);
/* Unfolds a value: every line break with the white space after it becomes one space, and
 * leading/trailing space goes. Returns the length written (dst holds at most cap). */
size_t hdr_unfold(const char *v, size_t n, char *dst, size_t cap);

struct msgscan;
struct msgscan *msgscan_new(const uint8_t *key, size_t keylen, size_t header_max, int received_max,
                            char *err, size_t errlen);
void msgscan_free(struct msgscan *ms);
/* Returns a new object: tokens[], tokens_disagree, received[], trace_ips[], subject,
 * message_id, header_bytes, headers_truncated. */
json_t *msgscan_run(struct msgscan *ms, const char *msg, size_t len, const struct strlist *rcpts);
/* 1 if text contains something shaped like a token (for accepting a recipient); its fields go
 * to *out when out is not NULL. */
int msgscan_has_token(struct msgscan *ms, const char *text, size_t len, struct token_fields *out);

#endif
