/* Name resolution before a scan (c-ares): host names yield every A and AAAA address, mx:DOMAIN
 * yields the addresses of every MX host. Runs its own small poll loop so the scan's target
 * space is complete before the permutation is laid over it. */
#ifndef RT_DNS_H
#define RT_DNS_H

#include <ares.h>
#include <stddef.h>

#include "addr.h"
#include "opt.h"

/* add is called once per address found, with the name it came from. server: "ADDR[:PORT]" or
 * NULL for /etc/resolv.conf. Names that do not resolve are reported through warn. Returns the
 * number of names that failed, or -1 when the resolver could not start (err says why). */
int dns_resolve(const struct strlist *names, const struct strlist *mx_domains, const char *server,
                double timeout, int (*add)(const struct ipaddr *ip, const char *name, void *arg),
                void (*warn)(const char *name, const char *why, void *arg), void *arg, char *err,
                size_t errlen);

/* A c-ares channel with o's timeout and tries (and the options in optmask), asking server
 * ("ADDR[:PORT]") or, when NULL, those of /etc/resolv.conf. -1 with err saying why; nothing
 * is left to free then. */
int dns_channel_new(ares_channel *ch, const char *server, struct ares_options *o, int optmask,
                    char *err, size_t errlen);
void dns_channel_free(ares_channel ch);

#endif
