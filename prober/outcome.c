#include "outcome.h"

#include <string.h>

#include "catalog.h"

const char *const outcome_names[] = {"not-run",  "rejected", "deferred", "auth-required",
                                     "accepted", "error",    "bounced"};
const char *const session_end_names[] = {"running",  "tests",       "refused",
                                         "not-smtp", "unreachable", "error"};
const char *const stage_names[] = {"path", "mail", "rcpt", "data", "end"};
const char *const transport_names[] = {NULL, "plain", "starttls", "tls"};

_Static_assert(sizeof(outcome_names) / sizeof(outcome_names[0]) == OUT_COUNT,
               "a name for every outcome");
_Static_assert(sizeof(session_end_names) / sizeof(session_end_names[0]) == END_ERROR + 1,
               "a name for every session end");
_Static_assert(OUT_COUNT <= 8 && VIA_COUNT <= 16, "outcome and via fit their bit-fields");
_Static_assert(CATALOG_MAX <= 256, "a test number fits a byte, as in the token");
_Static_assert(sizeof(struct test_result) == 32, "a test kept in 32 bytes");
_Static_assert(sizeof(stage_names) / sizeof(stage_names[0]) == ST_COUNT, "a name for every stage");

const char *const via_names[] = {
    [VIA_NONE] = "none",
    [VIA_STARTTLS] = "starttls",
    [VIA_AUTH_PLAIN] = "auth-plain",
    [VIA_AUTH_LOGIN] = "auth-login",
    [VIA_AUTH_ANON] = "auth-anonymous",
    [VIA_XCLIENT] = "xclient",
    [VIA_XCLIENT_OWN] = "xclient-own",
    [VIA_SMUGGLE] = "smuggle",
    [VIA_SMUGGLED] = "smuggled",
    [VIA_PROXY] = "proxy",
};
_Static_assert(sizeof(via_names) / sizeof(via_names[0]) == VIA_COUNT, "a name for every path");

enum transport transport_of(const char *name)
{
	for (int i = TR_PLAIN; name && i <= TR_TLS; i++)
		if (!strcmp(name, transport_names[i]))
			return (enum transport)i;
	return TR_NONE;
}

int via_from_name(const char *s)
{
	for (int i = 0; i < VIA_COUNT; i++)
		if (!strcmp(s, via_names[i]))
			return i;
	return -1;
}
