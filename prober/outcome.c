#include "outcome.h"

#include <string.h>

const char *const outcome_names[] = {"not-run",  "rejected", "deferred", "auth-required",
                                     "accepted", "error",    "bounced"};
const char *const session_end_names[] = {"running",  "tests",       "refused",
                                         "not-smtp", "unreachable", "error"};
const char *const stage_names[] = {"path", "mail", "rcpt", "data", "end"};

_Static_assert(sizeof(outcome_names) / sizeof(outcome_names[0]) == OUT_COUNT,
               "a name for every outcome");
_Static_assert(sizeof(session_end_names) / sizeof(session_end_names[0]) == END_ERROR + 1,
               "a name for every session end");
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

int via_from_name(const char *s)
{
	for (int i = 0; i < VIA_COUNT; i++)
		if (!strcmp(s, via_names[i]))
			return i;
	return -1;
}
