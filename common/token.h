/* Relay-test tokens (docs/design.md "Tokens"): self-describing, HMAC-SHA256-tagged, lower-case
 * base32.
 *
 * Layout before base32:  version/family (1) | scan id (4) | address (4 or 16) | port (2) |
 * test (1) | tag. The tag is the first 8 (IPv4) or 11 (IPv6) bytes of HMAC-SHA256(secret, all
 * preceding bytes), chosen so both layouts are a whole number of base32 characters:
 * IPv4 20 bytes = 32 characters, IPv6 35 bytes = 56 characters; "rt-" + 56 = 59 <= 64. */
#ifndef RT_TOKEN_H
#define RT_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define TOKEN_LEN_V4 32
#define TOKEN_LEN_V6 56
#define TOKEN_MAX 56
#define TOKEN_PREFIX "rt-"

struct token_fields {
	uint32_t scan_id;
	struct ipaddr target;
	uint16_t port;
	uint8_t test;
};

enum token_status {
	TOKEN_VALID,      /* well formed and the tag verifies */
	TOKEN_UNVERIFIED, /* well formed, no secret given to check it */
	TOKEN_FORGED,     /* well formed, the tag does not verify */
	TOKEN_MALFORMED,  /* not a token at all */
};
extern const char *const token_status_names[];

/* Writes the token (no prefix, NUL-terminated) into out[TOKEN_MAX + 1]; returns its length
 * or -1. */
int token_encode(const uint8_t *key, size_t keylen, const struct token_fields *f, char *out);
/* Case-insensitive. key may be NULL (structure only). Fields are filled unless MALFORMED. */
enum token_status token_decode(const uint8_t *key, size_t keylen, const char *s, size_t n,
                               struct token_fields *f);

/* RFC 4648 base32, lower-case, no padding. Return the output length, or -1. */
int base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen);
int base32_decode(const char *in, size_t n, uint8_t *out, size_t outlen);

#endif
