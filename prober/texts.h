/* The reply texts of one host, each kept once (issue 18). A closed server gives the same few
 * answers to every test ("250 2.1.0 Ok", "550 5.7.1 Relaying denied"), and where a reply
 * repeats the test's RCPT argument or its token ("554 5.7.1 <rt-…@sink>: Relay access
 * denied"), that part is kept as a mark and put back when the text is read, so the 47 tests
 * of a closed Postfix keep two texts, not 94. Bounded: at most TEXTS_MAX bytes a host; past
 * that a text reads as TEXTS_DROPPED. Pure. */
#ifndef RT_TEXTS_H
#define RT_TEXTS_H

#include <stddef.h>
#include <stdint.h>

#define TEXTS_MAX 65534 /* offsets are 16 bits; 0xFFFF is the dropped text */
#define TEXTS_DROPPED "(reply text not kept: this host's replies passed 64 KiB)"

struct texts {
	char *b;
	uint32_t len, cap;
};

/* Keeps text (n bytes, no NUL inside it is read) and returns the offset to read it from;
 * rcpt and token (NULL or "" for none) are the test's, replaced by marks. A text already kept
 * costs nothing more. Control bytes 0x01 and 0x02 (the marks) are kept as '?'. */
uint16_t texts_put(struct texts *ts, const char *text, size_t n, const char *rcpt,
                   const char *token);
/* Writes the text kept at off into out (NUL-terminated, at most outlen - 1 bytes), with the
 * marks replaced by rcpt and token; returns its length. */
size_t texts_get(const struct texts *ts, uint16_t off, const char *rcpt, const char *token,
                 char *out, size_t outlen);
void texts_free(struct texts *ts);

#endif
