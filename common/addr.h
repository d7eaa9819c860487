/* IPv4/IPv6 addresses: host:port parsing, text forms and SMTP address literals. Pure. */
#ifndef RT_ADDR_H
#define RT_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A bare IP address: family AF_INET (4 bytes used) or AF_INET6. */
struct ipaddr {
	int family;
	uint8_t a[16];
};

#define ADDR_TEXT_MAX 64 /* enough for "[IPv6:...]:65535" */

int ipaddr_parse(const char *s, struct ipaddr *out);
int ipaddr_eq(const struct ipaddr *x, const struct ipaddr *y);
/* Writes the plain text form ("192.0.2.1", "2001:db8::1"). */
char *ipaddr_str(const struct ipaddr *ip, char *buf, size_t len);
/* SMTP address literal: "[192.0.2.1]" or "[IPv6:2001:db8::1]". */
char *ipaddr_literal(const struct ipaddr *ip, char *buf, size_t len);
/* Parses an address literal (brackets included, "IPv6:" tag case-insensitive). */
int ipaddr_parse_literal(const char *s, size_t n, struct ipaddr *out);

/* FNV-1a over the first n bytes of the address (at most its length), mixed with seed: for
 * hash tables keyed by address and port, or by network prefix. Pure. */
uint64_t ipaddr_hash(const struct ipaddr *ip, size_t n, uint64_t seed);

void ipaddr_from_sa(const struct sockaddr *sa, struct ipaddr *ip, uint16_t *port);
socklen_t ipaddr_to_sa(const struct ipaddr *ip, uint16_t port, struct sockaddr_storage *ss);

/* "ADDR:PORT", "[V6ADDR]:PORT", or "ADDR" alone when defport >= 0. Errors say why. */
int hostport_parse(const char *s, int defport, struct ipaddr *ip, uint16_t *port, char *err,
                   size_t errlen);

#endif
