#include "escape.h"

#include <string.h>

void esc_html(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	for (; *p; p++) {
		unsigned char c = *p;
		switch (c) {
		case '&':
			fputs("&amp;", f);
			continue;
		case '<':
			fputs("&lt;", f);
			continue;
		case '>':
			fputs("&gt;", f);
			continue;
		case '"':
			fputs("&quot;", f);
			continue;
		case '\'':
			fputs("&#39;", f);
			continue;
		case '\t':
		case '\n':
			fputc(c, f);
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\x%02x", c);
		} else if (c == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) {
			fprintf(f, "\\u%04x", 0x2000 + (p[2] - 0x80));
			p += 2;
		} else if (c == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9) {
			fprintf(f, "\\u%04x", 0x2040 + (p[2] - 0x80));
			p += 2;
		} else {
			fputc(c, f);
		}
	}
}

void esc_csv(FILE *f, const char *s)
{
	s = s ? s : "";
	int formula = strchr("=+-@\t\r", s[0]) != NULL && s[0];
	int quote = formula || strpbrk(s, ",\"\r\n") != NULL;
	if (!quote) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	if (formula)
		fputc('\'', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void addr_sort_key(const struct ipaddr *ip, char out[ADDR_SORT_KEY])
{
	static const char hex[] = "0123456789abcdef";
	int n = ip->family == AF_INET ? 4 : 16;
	out[0] = ip->family == AF_INET ? '4' : '6';
	for (int i = 0; i < 16; i++) {
		unsigned char b = i < n ? ip->a[i] : 0;
		out[1 + 2 * i] = hex[b >> 4];
		out[2 + 2 * i] = hex[b & 15];
	}
	out[ADDR_SORT_KEY - 1] = '\0';
}
