#include "targets.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OCTETS_AS_SPANS_MAX 65536 /* a product spec becomes spans (and dedupes) up to this */
#define TARGET_LINE_MAX 1024

static void pairs_finish(struct targets *t);

static int add_range(struct targets *t, const struct trange *r)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct trange *nr = realloc(t->r, cap * sizeof(*nr));
		if (!nr)
			return -1;
		t->r = nr;
		t->cap = cap;
	}
	t->r[t->n++] = *r;
	t->total += r->count;
	return 0;
}

static uint32_t v4_num(const struct ipaddr *ip)
{
	return (uint32_t)ip->a[0] << 24 | (uint32_t)ip->a[1] << 16 | (uint32_t)ip->a[2] << 8 |
	       ip->a[3];
}

static void v4_set(struct ipaddr *ip, uint32_t v)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = AF_INET;
	ip->a[0] = (uint8_t)(v >> 24);
	ip->a[1] = (uint8_t)(v >> 16);
	ip->a[2] = (uint8_t)(v >> 8);
	ip->a[3] = (uint8_t)v;
}

/* Adds n to a 128-bit big-endian address. */
static void v6_add(uint8_t *a, uint64_t n)
{
	for (int i = 15; i >= 0 && n; i--) {
		uint64_t s = a[i] + (n & 0xff);
		a[i] = (uint8_t)s;
		n = (n >> 8) + (s >> 8);
	}
}

static void v6_halves(const uint8_t *a, uint64_t *hi, uint64_t *lo)
{
	*hi = *lo = 0;
	for (int i = 0; i < 8; i++) {
		*hi = *hi << 8 | a[i];
		*lo = *lo << 8 | a[i + 8];
	}
}

/* x - y for v6 addresses with x >= y, when it fits 64 bits; UINT64_MAX otherwise. */
static uint64_t v6_diff(const uint8_t *x, const uint8_t *y)
{
	uint64_t xh, xl, yh, yl;
	v6_halves(x, &xh, &xl);
	v6_halves(y, &yh, &yl);
	if (xh == yh && xl >= yl)
		return xl - yl;
	if (xh == yh + 1 && xl < yl)
		return xl - yl; /* borrows across the halves; wraps to the right value */
	return UINT64_MAX;
}

int targets_add_addr(struct targets *t, const struct ipaddr *ip)
{
	struct trange r = {.kind = TR_SPAN, .lo = *ip, .count = 1};
	return add_range(t, &r);
}

static int parse_cidr(struct targets *t, const char *spec, const char *slash, char *err,
                      size_t errlen)
{
	char host[64];
	struct ipaddr ip;
	char *end;
	size_t hl = (size_t)(slash - spec);
	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	long len = strtol(slash + 1, &end, 10);
	if (ipaddr_parse(host, &ip) < 0 || *end || end == slash + 1)
		goto bad;
	int bits = ip.family == AF_INET ? 32 : 128;
	if (len < 0 || len > bits)
		goto bad;
	int host_bits = bits - (int)len;
	if (ip.family == AF_INET6 && host_bits > TARGETS_V6_MAX_BITS) {
		snprintf(err, errlen, "'%s': an IPv6 prefix shorter than /%d is too large to scan",
		         spec, 128 - TARGETS_V6_MAX_BITS);
		return -1;
	}
	/* Clear the host bits: 192.0.2.77/24 means 192.0.2.0/24. */
	for (int i = 0; i < bits / 8; i++) {
		int keep = (int)len - i * 8;
		if (keep <= 0)
			ip.a[i] = 0;
		else if (keep < 8)
			ip.a[i] &= (uint8_t)(0xff << (8 - keep));
	}
	struct trange r = {.kind = TR_SPAN, .lo = ip, .count = (uint64_t)1 << host_bits};
	return add_range(t, &r);
bad:
	snprintf(err, errlen, "'%s': not a valid network (ADDR/LEN)", spec);
	return -1;
}

static int parse_dash_range(struct targets *t, const char *spec, const char *dash, char *err,
                            size_t errlen)
{
	char a[64], b[64];
	struct ipaddr lo, hi;
	size_t al = (size_t)(dash - spec);
	if (al >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
		return 1;
	memcpy(a, spec, al);
	a[al] = '\0';
	strcpy(b, dash + 1);
	if (ipaddr_parse(a, &lo) < 0 || ipaddr_parse(b, &hi) < 0 || lo.family != hi.family)
		return 1; /* not this form */
	uint64_t count;
	if (lo.family == AF_INET) {
		if (v4_num(&hi) < v4_num(&lo))
			goto backwards;
		count = (uint64_t)v4_num(&hi) - v4_num(&lo) + 1;
	} else {
		if (memcmp(hi.a, lo.a, 16) < 0)
			goto backwards;
		count = v6_diff(hi.a, lo.a);
		if (count >= (uint64_t)1 << TARGETS_V6_MAX_BITS) {
			snprintf(err, errlen, "'%s': IPv6 range larger than 2^%d addresses", spec,
			         TARGETS_V6_MAX_BITS);
			return -1;
		}
		count++;
	}
	struct trange r = {.kind = TR_SPAN, .lo = lo, .count = count};
	return add_range(t, &r);
backwards:
	snprintf(err, errlen, "'%s': range end is below its start", spec);
	return -1;
}

/* "10.1-3.*.5": every octet N, N-M or '*'. 1 when not this form. */
static int parse_octets(struct targets *t, const char *spec, char *err, size_t errlen)
{
	struct trange r = {.kind = TR_OCTETS, .count = 1};
	const char *p = spec;
	for (int i = 0; i < 4; i++) {
		long lo, hi;
		char *end;
		if (*p == '*') {
			lo = 0, hi = 255, end = (char *)p + 1;
		} else {
			if (!isdigit((unsigned char)*p))
				return 1;
			lo = hi = strtol(p, &end, 10);
			if (*end == '-') {
				const char *q = end + 1;
				if (!isdigit((unsigned char)*q))
					return 1;
				hi = strtol(q, &end, 10);
			}
		}
		if (*end != (i < 3 ? '.' : '\0'))
			return 1;
		if (lo > 255 || hi > 255 || hi < lo) {
			snprintf(err, errlen, "'%s': octet %d must be 0-255, N-M with N <= M, or *",
			         spec, i + 1);
			return -1;
		}
		r.olo[i] = (uint8_t)lo;
		r.ohi[i] = (uint8_t)hi;
		r.count *= (uint64_t)(hi - lo + 1);
		p = end + 1;
	}
	uint64_t spans = r.count / (uint64_t)(r.ohi[3] - r.olo[3] + 1);
	if (spans > OCTETS_AS_SPANS_MAX)
		return add_range(t, &r);
	/* Small enough: one span per run of the last octet, so duplicates can be merged. */
	for (uint64_t k = 0; k < spans; k++) {
		uint64_t rest = k;
		struct ipaddr ip = {.family = AF_INET};
		for (int i = 2; i >= 0; i--) {
			uint64_t w = (uint64_t)(r.ohi[i] - r.olo[i] + 1);
			ip.a[i] = (uint8_t)(r.olo[i] + rest % w);
			rest /= w;
		}
		ip.a[3] = r.olo[3];
		struct trange s = {
		    .kind = TR_SPAN, .lo = ip, .count = (uint64_t)(r.ohi[3] - r.olo[3] + 1)};
		if (add_range(t, &s) < 0)
			return -1;
	}
	return 0;
}

static int is_hostname(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return 0;
	/* A top-level label is never all digits: "192.0.2.1-255.5" is a typo, not a name. */
	const char *last = strrchr(s, '.');
	last = last ? last + 1 : s;
	return strspn(last, "0123456789") != strlen(last);
}

int targets_parse(struct targets *t, const char *spec, enum tspec_kind *kind, char *err,
                  size_t errlen)
{
	struct ipaddr ip;
	const char *p;
	*kind = TSPEC_RANGE;
	if (!strcmp(spec, "-")) {
		*kind = TSPEC_STDIN;
		return 0;
	}
	if (spec[0] == '@') {
		*kind = TSPEC_FILE;
		return 0;
	}
	if (!strncasecmp(spec, "mx:", 3)) {
		*kind = TSPEC_MX;
		if (is_hostname(spec + 3))
			return 0;
		snprintf(err, errlen, "'%s': expected mx:DOMAIN", spec);
		return -1;
	}
	if ((p = strchr(spec, '/')))
		return parse_cidr(t, spec, p, err, errlen);
	if (ipaddr_parse(spec, &ip) == 0)
		return targets_add_addr(t, &ip);
	if ((p = strchr(spec, '-'))) {
		int r = parse_dash_range(t, spec, p, err, errlen);
		if (r <= 0)
			return r; /* "a.b.c.d-e.f.g.h" or "v6-v6"; else maybe octet ranges */
	}
	int r = parse_octets(t, spec, err, errlen);
	if (r <= 0)
		return r;
	if (is_hostname(spec)) {
		*kind = TSPEC_NAME;
		return 0;
	}
	unsigned port;
	r = targets_hostport(spec, &ip, &port);
	if (r > 0)
		return targets_add_pair(t, &ip, (uint16_t)port);
	if (r < 0) {
		snprintf(err, errlen, "'%.80s': the port must be 1-65535", spec);
		return -1;
	}
	snprintf(err, errlen, "'%.80s': not an address, network, range or host name", spec);
	return -1;
}

static int range_cmp(const void *x, const void *y)
{
	const struct trange *a = x, *b = y;
	if (a->kind != b->kind)
		return a->kind - b->kind;
	if (a->kind == TR_OCTETS)
		return 0;
	if (a->lo.family != b->lo.family)
		return a->lo.family - b->lo.family;
	return memcmp(a->lo.a, b->lo.a, 16);
}

/* How far b starts beyond a's start, if a and b are the same family and that fits. */
static int span_gap(const struct trange *a, const struct trange *b, uint64_t *gap)
{
	if (a->kind != TR_SPAN || b->kind != TR_SPAN || a->lo.family != b->lo.family)
		return 0;
	if (a->lo.family == AF_INET) {
		*gap = (uint64_t)v4_num(&b->lo) - v4_num(&a->lo);
		return 1;
	}
	*gap = v6_diff(b->lo.a, a->lo.a);
	return *gap != UINT64_MAX;
}

void targets_finish(struct targets *t)
{
	pairs_finish(t);
	if (t->n == 0)
		return;
	qsort(t->r, t->n, sizeof(*t->r), range_cmp);
	size_t o = 0;
	t->total = t->r[0].count;
	for (size_t i = 1; i < t->n; i++) {
		struct trange *cur = &t->r[o];
		uint64_t gap;
		if (span_gap(cur, &t->r[i], &gap) && gap <= cur->count) {
			uint64_t end = gap + t->r[i].count;
			if (end > cur->count) {
				t->total += end - cur->count;
				cur->count = end;
			}
			continue;
		}
		t->r[++o] = t->r[i];
		t->total += t->r[i].count;
	}
	t->n = o + 1;
}

void targets_get(const struct targets *t, uint64_t idx, struct ipaddr *out)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct trange *r = &t->r[i];
		if (idx >= r->count) {
			idx -= r->count;
			continue;
		}
		if (r->kind == TR_SPAN && r->lo.family == AF_INET) {
			v4_set(out, v4_num(&r->lo) + (uint32_t)idx);
		} else if (r->kind == TR_SPAN) {
			*out = r->lo;
			v6_add(out->a, idx);
		} else {
			memset(out, 0, sizeof(*out));
			out->family = AF_INET;
			for (int k = 3; k >= 0; k--) {
				uint64_t w = (uint64_t)(r->ohi[k] - r->olo[k] + 1);
				out->a[k] = (uint8_t)(r->olo[k] + idx % w);
				idx /= w;
			}
		}
		return;
	}
	memset(out, 0, sizeof(*out));
}

static int in_range(const struct trange *r, const struct ipaddr *ip)
{
	if (r->kind == TR_OCTETS) {
		if (ip->family != AF_INET)
			return 0;
		for (int k = 0; k < 4; k++)
			if (ip->a[k] < r->olo[k] || ip->a[k] > r->ohi[k])
				return 0;
		return 1;
	}
	struct trange probe = {.kind = TR_SPAN, .lo = *ip, .count = 1};
	uint64_t gap;
	return memcmp(ip->a, r->lo.a, 16) >= 0 && span_gap(r, &probe, &gap) && gap < r->count;
}

int targets_contains(const struct targets *t, const struct ipaddr *ip)
{
	/* spans are sorted: find the last span starting at or before ip */
	size_t lo = 0, hi = t->n;
	struct trange key = {.kind = TR_SPAN, .lo = *ip};
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (range_cmp(&t->r[mid], &key) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && in_range(&t->r[lo - 1], ip))
		return 1;
	for (size_t i = 0; i < t->n; i++)
		if (t->r[i].kind == TR_OCTETS && in_range(&t->r[i], ip))
			return 1;
	return 0;
}

void targets_free(struct targets *t)
{
	free(t->r);
	free(t->p);
	memset(t, 0, sizeof(*t));
}

/* ---- addresses with their own ports ---- */

int targets_add_pair(struct targets *t, const struct ipaddr *ip, uint16_t port)
{
	if (t->np == t->pcap) {
		size_t cap = t->pcap ? t->pcap * 2 : 16;
		struct tpair *np = realloc(t->p, cap * sizeof(*np));
		if (!np)
			return -1;
		t->p = np;
		t->pcap = cap;
	}
	t->p[t->np].ip = *ip;
	t->p[t->np++].port = port;
	return 0;
}

int targets_hostport(const char *spec, struct ipaddr *ip, unsigned *port)
{
	char host[64];
	const char *colon;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof(host))
			return 0;
		memcpy(host, spec + 1, (size_t)(close - spec - 1));
		host[close - spec - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strchr(spec, ':');
		if (!colon || strchr(colon + 1, ':') || (size_t)(colon - spec) >= sizeof(host))
			return 0;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
	}
	if (ipaddr_parse(host, ip) < 0 || (spec[0] == '[') != (ip->family == AF_INET6))
		return 0;
	char *end;
	errno = 0;
	unsigned long v = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || *end || errno || v < 1 || v > 65535 ||
	    !isdigit((unsigned char)colon[1]))
		return -1;
	*port = (unsigned)v;
	return 1;
}

static int pair_cmp(const void *x, const void *y)
{
	const struct tpair *a = x, *b = y;
	if (a->ip.family != b->ip.family)
		return a->ip.family - b->ip.family;
	int c = memcmp(a->ip.a, b->ip.a, 16);
	return c ? c : (int)a->port - (int)b->port;
}

static void pairs_finish(struct targets *t)
{
	if (t->np < 2)
		return;
	qsort(t->p, t->np, sizeof(*t->p), pair_cmp);
	size_t o = 0;
	for (size_t i = 1; i < t->np; i++)
		if (pair_cmp(&t->p[o], &t->p[i]) != 0)
			t->p[++o] = t->p[i];
	t->np = o + 1;
}

void targets_prune_pairs(struct targets *t, const uint16_t *ports, int nports)
{
	size_t o = 0;
	for (size_t i = 0; i < t->np; i++) {
		int covered = 0;
		for (int k = 0; k < nports && !covered; k++)
			covered = ports[k] == t->p[i].port;
		if (!covered || !targets_contains(t, &t->p[i].ip))
			t->p[o++] = t->p[i];
	}
	t->np = o;
}

/* ---- never scanned ---- */

const char targets_reserved_text[] = "0.0.0.0/8, 224.0.0.0/4, 240.0.0.0/4, ::, ff00::/8";

int targets_reserved(const struct ipaddr *ip)
{
	static const uint8_t zero[16];
	if (ip->family == AF_INET)
		return ip->a[0] == 0 || ip->a[0] >= 224;
	return ip->a[0] == 0xff || memcmp(ip->a, zero, 16) == 0;
}

/* The first and last address of a range (an octet product: its corners). */
static void range_ends(const struct trange *r, struct ipaddr *lo, struct ipaddr *hi)
{
	if (r->kind == TR_OCTETS) {
		*lo = *hi = (struct ipaddr){.family = AF_INET};
		memcpy(lo->a, r->olo, 4);
		memcpy(hi->a, r->ohi, 4);
		return;
	}
	*lo = *hi = r->lo;
	if (r->lo.family == AF_INET)
		v4_set(hi, v4_num(&r->lo) + (uint32_t)(r->count - 1));
	else
		v6_add(hi->a, r->count - 1);
}

int targets_any_reserved(const struct targets *t)
{
	for (size_t i = 0; i < t->np; i++)
		if (targets_reserved(&t->p[i].ip))
			return 1;
	for (size_t i = 0; i < t->n; i++) {
		struct ipaddr lo, hi;
		range_ends(&t->r[i], &lo, &hi);
		/* the reserved blocks sit at both ends of each family's space */
		if (targets_reserved(&lo) || targets_reserved(&hi))
			return 1;
	}
	return 0;
}

uint64_t targets_space(const struct targets *t, int nports)
{
	return t->total * (uint64_t)nports + t->np;
}

void targets_at(const struct targets *t, const uint16_t *ports, int nports, uint64_t e,
                struct ipaddr *ip, uint16_t *port)
{
	uint64_t product = t->total * (uint64_t)nports;
	if (e >= product) {
		*ip = t->p[e - product].ip;
		*port = t->p[e - product].port;
		return;
	}
	targets_get(t, e / (uint64_t)nports, ip);
	*port = ports[e % (uint64_t)nports];
}
