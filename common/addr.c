#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ipaddr_parse(const char *s, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -1;
}

int ipaddr_eq(const struct ipaddr *x, const struct ipaddr *y)
{
	size_t n = x->family == AF_INET ? 4 : 16;
	return x->family == y->family && memcmp(x->a, y->a, n) == 0;
}

char *ipaddr_str(const struct ipaddr *ip, char *buf, size_t len)
{
	if (!inet_ntop(ip->family, ip->a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

char *ipaddr_literal(const struct ipaddr *ip, char *buf, size_t len)
{
	char t[INET6_ADDRSTRLEN];
	ipaddr_str(ip, t, sizeof(t));
	snprintf(buf, len, ip->family == AF_INET6 ? "[IPv6:%s]" : "[%s]", t);
	return buf;
}

int ipaddr_parse_literal(const char *s, size_t n, struct ipaddr *out)
{
	char t[INET6_ADDRSTRLEN + 8];
	if (n < 3 || s[0] != '[' || s[n - 1] != ']' || n - 2 >= sizeof(t))
		return -1;
	memcpy(t, s + 1, n - 2);
	t[n - 2] = '\0';
	if (strncasecmp(t, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, t + 5, out->a) != 1)
			return -1;
		out->family = AF_INET6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, t, out->a) != 1)
		return -1;
	out->family = AF_INET;
	return 0;
}

void ipaddr_from_sa(const struct sockaddr *sa, struct ipaddr *ip, uint16_t *port)
{
	memset(ip, 0, sizeof(*ip));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		ip->family = AF_INET;
		memcpy(ip->a, &s4->sin_addr, 4);
		if (port)
			*port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		/* An IPv4-mapped peer on a v6 socket is an IPv4 peer. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			ip->family = AF_INET;
			memcpy(ip->a, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			ip->family = AF_INET6;
			memcpy(ip->a, &s6->sin6_addr, 16);
		}
		if (port)
			*port = ntohs(s6->sin6_port);
	} else if (port) {
		*port = 0;
	}
}

socklen_t ipaddr_to_sa(const struct ipaddr *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, ip->a, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, ip->a, 16);
	return sizeof(*s6);
}

static int port_parse(const char *s, uint16_t *port)
{
	char *end;
	if (!*s)
		return -1;
	long v = strtol(s, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int hostport_parse(const char *s, int defport, struct ipaddr *ip, uint16_t *port, char *err,
                   size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *ps = NULL;
	size_t hl;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close) {
			snprintf(err, errlen, "'%.64s': missing ']'", s);
			return -1;
		}
		hl = (size_t)(close - s - 1);
		if (close[1] == ':')
			ps = close + 2;
		else if (close[1]) {
			snprintf(err, errlen, "'%.64s': expected ':PORT' after ']'", s);
			return -1;
		}
		s++;
	} else {
		const char *colon = strrchr(s, ':');
		/* More than one colon without brackets is a bare IPv6 address. */
		if (colon && strchr(s, ':') == colon) {
			hl = (size_t)(colon - s);
			ps = colon + 1;
		} else {
			hl = strlen(s);
		}
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "'%.64s': address too long", s);
		return -1;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (ipaddr_parse(host, ip) < 0) {
		snprintf(err, errlen, "'%.64s': not an IPv4 or IPv6 address", host);
		return -1;
	}
	if (ps) {
		if (port_parse(ps, port) < 0) {
			snprintf(err, errlen, "'%.16s': port must be 1-65535", ps);
			return -1;
		}
	} else if (defport >= 0) {
		*port = (uint16_t)defport;
	} else {
		snprintf(err, errlen, "'%.64s': missing ':PORT'", s);
		return -1;
	}
	return 0;
}

uint64_t ipaddr_hash(const struct ipaddr *ip, size_t n, uint64_t seed)
{
	size_t len = ip->family == AF_INET ? 4 : 16;
	uint64_t h = 1469598103934665603ull ^ seed ^ ((uint64_t)ip->family << 32);
	for (size_t i = 0; i < n && i < len; i++)
		h = (h ^ ip->a[i]) * 1099511628211ull;
	return h;
}
