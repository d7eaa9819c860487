#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static FILE *log_out;
static enum log_level log_level = LOG_INFO;
static const char *log_prog = "relaytrap";
static const char *const log_names[] = {"error", "warn", "info", "debug"};

void log_init(FILE *out, enum log_level level, const char *prog)
{
	log_out = out;
	log_level = level;
	log_prog = prog;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

int log_enabled(enum log_level level)
{
	return level <= log_level;
}

void log_msg(enum log_level level, unsigned long sid, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	FILE *out = log_out ? log_out : stderr;
	char ts[32];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%s]", ts, now.tv_nsec / 1000000,
	                 log_prog, log_names[level]);
	if (sid && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, " sid=%lu", sid);
	if (n > 0 && (size_t)n < sizeof(line) - 1) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	fprintf(out, "%s\n", line);
	fflush(out);
}

char *log_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (dstlen == 0)
		return dst;
	for (size_t i = 0; i < srclen; i++) {
		unsigned char c = (unsigned char)src[i];
		int plain = c >= 0x20 && c < 0x7f && c != '\\' && c != '"';
		size_t need = plain ? 1 : 4;
		if (o + need + 1 > dstlen) {
			size_t keep = dstlen > 4 ? dstlen - 4 : 0;
			if (o > keep)
				o = keep;
			memcpy(dst + o, "...", dstlen > 4 ? 3 : 0);
			o += dstlen > 4 ? 3 : 0;
			break;
		}
		if (plain) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}
