/* Reverse lookups during the scan (c-ares inside the scan's event loop): the target's name for
 * {target_host} when neither its banner nor its EHLO reply names it (docs/design.md "Relay tests").
 * Only hosts that answered as SMTP servers without a name are looked up, so a /16 of mostly silent
 * addresses costs no DNS traffic. Answers always arrive from the loop, never inside rdns_lookup. */
#ifndef RT_RDNS_H
#define RT_RDNS_H

#include <stddef.h>

#include "addr.h"

#define RDNS_INFLIGHT_MAX 4096

struct io_loop;
struct rdns;
struct rdns_query;

/* name: the first PTR name, without a trailing dot; NULL when there is none (NXDOMAIN, no
 * answer in time, an error). Not called after rdns_cancel. */
typedef void (*rdns_cb)(const char *name, void *arg);

/* server: "ADDR[:PORT]" or NULL for /etc/resolv.conf. NULL on failure, with err saying why. */
struct rdns *rdns_new(struct io_loop *l, const char *server, char *err, size_t errlen);
/* NULL when the lookup could not start (RDNS_INFLIGHT_MAX reached, no memory): go without. */
struct rdns_query *rdns_lookup(struct rdns *r, const struct ipaddr *ip, rdns_cb cb, void *arg);
/* The answer is no longer wanted; the query's memory goes when c-ares lets it go. */
void rdns_cancel(struct rdns_query *q);
/* Outstanding queries end without their callbacks. */
void rdns_free(struct rdns *r);

#endif
