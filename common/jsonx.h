/* jansson helpers for text that came from the network. */
#ifndef RT_JSONX_H
#define RT_JSONX_H

#include <jansson.h>
#include <stddef.h>

/* A JSON string from arbitrary bytes: valid UTF-8 is kept, every invalid byte and NUL
 * becomes U+FFFD. Never NULL unless out of memory. */
json_t *jsonx_bytes(const char *p, size_t n);
json_t *jsonx_str(const char *s);
/* Sets key to jsonx_bytes(p, n); steals nothing from the caller. */
void jsonx_set_bytes(json_t *obj, const char *key, const char *p, size_t n);
/* Appends one compact JSON line (with "\n") to a malloc'd string; NULL on failure. */
char *jsonx_line(const json_t *obj, size_t *len);
/* The same line appended at *len to a growable malloc'd buffer (*buf, *cap; NULL and 0 to
 * start): a writer that keeps the buffer serialises without allocating. -1 on failure. */
int jsonx_line_append(const json_t *obj, char **buf, size_t *len, size_t *cap);
/* 1 when arr (an array; anything else counts as empty) holds the string s. */
int jsonx_array_has(const json_t *arr, const char *s);

#endif
