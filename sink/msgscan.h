/* What the sink learns from one message: tokens (and where each was found), the parsed
 * Received chain, every IP address in trace headers. Pure over the message bytes. */
#ifndef RT_MSGSCAN_H
#define RT_MSGSCAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hdr.h"
#include "opt.h"
#include "token.h"

#define WHERE_RCPT 0x01
#define WHERE_SUBJECT 0x02
#define WHERE_MESSAGE_ID 0x04
#define WHERE_HEADER 0x08 /* X-Relaytrap-Token */
#define WHERE_BODY 0x10
#define WHERE_ENCLOSED 0x20 /* inside an attached original or delivery-status part */

struct msgscan;
struct msgscan *msgscan_new(const uint8_t *key, size_t keylen, size_t header_max, int received_max,
                            char *err, size_t errlen);
void msgscan_free(struct msgscan *ms);
/* Returns a new object: tokens[], tokens_disagree, received[], trace_ips[], subject,
 * message_id, header_bytes, headers_truncated, and the message's class (sink/mailclass.h):
 * class, class_why, auto_reply (an auto-reply: the header that said so), dsn (a bounce:
 * status, action, diagnostic_code, reporting_mta, final_recipient, each null when absent).
 * sender: the envelope sender without brackets, "" for the null sender. */
json_t *msgscan_run(struct msgscan *ms, const char *sender, const char *msg, size_t len,
                    const struct strlist *rcpts);
/* 1 if text contains something shaped like a token (for accepting a recipient); its fields go
 * to *out when out is not NULL. */
int msgscan_has_token(struct msgscan *ms, const char *text, size_t len, struct token_fields *out);

#endif
