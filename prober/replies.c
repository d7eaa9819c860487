/* What a server's replies say beyond their codes: the outcome class of a refusal, the
 * address it says we came from, its name. Pure. (The MTA behind them: fingerprint.c.) */
#include "replies.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int has_word(const char *text, const char *w)
{
	return text && strcasestr(text, w) != NULL;
}

enum outcome reply_outcome(int code, const char *text)
{
	static const char *const auth_words[] = {"authentication required",
	                                         "must authenticate",
	                                         "authenticate first",
	                                         "auth required",
	                                         "not logged in",
	                                         "authentication is required",
	                                         NULL};
	if (code >= 200 && code < 400)
		return OUT_ACCEPTED;
	if (code == 530 || code == 535 || code == 538)
		return OUT_AUTH;
	if (text && (strncmp(text, "5.7.0 ", 6) == 0 || strncmp(text, "5.7.57", 6) == 0 ||
	             strncmp(text, "4.7.0 ", 6) == 0)) {
		if (has_word(text, "auth"))
			return OUT_AUTH;
	}
	for (int i = 0; auth_words[i]; i++)
		if (has_word(text, auth_words[i]))
			return OUT_AUTH;
	return code >= 400 && code < 500 ? OUT_DEFERRED : OUT_REJECTED;
}

int reply_syntax_only(int code, const char *text)
{
	static const char *const enh[] = {"5.1.3", "5.1.7", "5.5.2", "5.5.4", NULL};
	if ((code >= 500 && code <= 504) || code == 555)
		return 1;
	for (int i = 0; text && enh[i]; i++)
		if (strncmp(text, enh[i], 5) == 0 && (text[5] == ' ' || !text[5]))
			return 1;
	return 0;
}

int reported_addr(const char *text, struct ipaddr *out)
{
	for (const char *p = text; p && *p; p++) {
		char close = *p == '[' ? ']' : *p == '(' ? ')' : 0;
		if (!close)
			continue;
		const char *e = strchr(p + 1, close);
		if (!e || e - p > 60)
			continue;
		if (close == ']' && ipaddr_parse_literal(p, (size_t)(e - p + 1), out) == 0)
			return 0;
		char tmp[64];
		memcpy(tmp, p + 1, (size_t)(e - p - 1));
		tmp[e - p - 1] = '\0';
		if (ipaddr_parse(tmp, out) == 0)
			return 0;
	}
	return -1;
}

int host_name_of(const char *text, char *out, size_t outlen)
{
	size_t n = 0;
	int dots = 0;
	while (text[n] && text[n] != ' ' && text[n] != '\n') {
		unsigned char ch = (unsigned char)text[n];
		if (!isalnum(ch) && ch != '-' && ch != '.' && ch != '_')
			return -1;
		dots += ch == '.';
		n++;
	}
	if (!dots || n == 0 || n >= outlen || text[0] == '.' || text[n - 1] == '.')
		return -1;
	size_t last = n;
	while (last && text[last - 1] != '.')
		last--;
	size_t digits = last;
	while (digits < n && isdigit((unsigned char)text[digits]))
		digits++;
	if (digits == n) /* "192.0.2.1": an address, not a name */
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)text[i]);
	out[n] = '\0';
	return 0;
}
