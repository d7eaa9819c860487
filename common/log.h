/* Logging: one line per event, a session id and key=value pairs. Untrusted text goes
 * through log_escape first. */
#ifndef RT_LOG_H
#define RT_LOG_H

#include <stddef.h>
#include <stdio.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(FILE *out, enum log_level level, const char *prog);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
/* sid 0 means "no session". */
void log_msg(enum log_level level, unsigned long sid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies src into dst (NUL-terminated), keeping printable ASCII and writing everything else
 * (and backslash and double quote) as \xHH. Truncates with "..." when dst is too small.
 * Returns dst. Pure. */
char *log_escape(char *dst, size_t dstlen, const char *src, size_t srclen);

#endif
