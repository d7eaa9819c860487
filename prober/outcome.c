#include "outcome.h"

const char *const outcome_names[] = {"not-run",  "rejected", "deferred", "auth-required",
                                     "accepted", "error",    "bounced"};
const char *const session_end_names[] = {"running",  "tests",       "refused",
                                         "not-smtp", "unreachable", "error"};
const char *const stage_names[] = {"mail", "rcpt", "data", "end"};

_Static_assert(sizeof(outcome_names) / sizeof(outcome_names[0]) == OUT_COUNT,
               "a name for every outcome");
_Static_assert(sizeof(session_end_names) / sizeof(session_end_names[0]) == END_ERROR + 1,
               "a name for every session end");
_Static_assert(sizeof(stage_names) / sizeof(stage_names[0]) == ST_COUNT, "a name for every stage");
