/* RFC 5322 header fields: walking a header section and unfolding values. Pure. */
#ifndef RT_HDR_H
#define RT_HDR_H

#include <stddef.h>

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
/* 1 when the field's name is name (case-insensitive). */
int hdr_is(const struct hdr_field *f, const char *name);

#endif
