#include "legend.h"

const struct legend verdict_legend[V_COUNT] = {
    [V_OPEN_ANONYMOUS] = {"open-anonymous",
                          "a relay test it accepted arrived at the sink, and its trace headers "
                          "do not show the prober's address",
                          "close relaying at once: spam sent through it cannot be traced; then "
                          "stop stripping or rewriting Received headers"},
    [V_OPEN] = {"open", "a relay test it accepted arrived at the sink",
                "close relaying: accept mail for other domains only from your own networks or "
                "authenticated users"},
    [V_ACCEPTED] = {"accepted",
                    "it said 250 to a relay test, but no relayed message arrived within --wait "
                    "(dropped, stuck in its queue, or returned: see the flag bounces)",
                    "refuse relay recipients at RCPT time instead of accepting and dropping or "
                    "bouncing them"},
    [V_DEFERRED] = {"deferred",
                    "relay tests got only 4xx answers (greylisting, a temporary "
                    "policy)",
                    "nothing urgent; scan again later to see the real policy"},
    [V_AUTH_REQUIRED] = {"auth-required", "relaying refused until the client authenticates",
                         "nothing to do for relaying"},
    [V_CLOSED] = {"closed", "every relay test refused", "nothing to do"},
    [V_REFUSED] = {"refused", "the greeting was 421 or 554: it would not talk to the prober",
                   "nothing to do"},
    [V_NOT_SMTP] = {"not-smtp", "connected, but no SMTP greeting",
                    "check what listens on the port"},
    [V_UNREACHABLE] = {"unreachable", "the TCP connection failed", "nothing to do"},
    [V_ERROR] = {"error", "the session broke before any verdict (the reason is recorded)",
                 "scan again; if it repeats, read the dialogue (--transcript)"},
};

const struct legend flag_legend[] = {
    {"bounces",
     "it accepted relay tests and then returned them to their senders as undeliverable (a "
     "delivery status notification arrived instead of the test): not a relay, but a "
     "backscatter source",
     "refuse relay recipients during the SMTP dialogue, so that no bounce goes to forged "
     "senders"},
    {"partial",
     "open, but fewer tests arrived than it accepted (a lossy queue, or a honeypot "
     "that relays only the first)",
     "treat it as open"},
    {"auth_bypass",
     "it relayed after AUTH with an empty user name and password, or after AUTH ANONYMOUS "
     "(the test names say which)",
     "make the SMTP AUTH backend refuse empty credentials and anonymous logins, and relay "
     "only for authenticated users with a real account"},
    {"xclient_spoof",
     "it relayed after an XCLIENT command from the prober claimed a trusted client "
     "address: anyone may use XCLIENT there",
     "allow XCLIENT only from the proxies in front of it (Postfix: "
     "smtpd_authorized_xclient_hosts)"},
    {"proxy_spoof",
     "it relayed on a connection whose PROXY protocol header, sent by the prober, named "
     "127.0.0.1: it trusts the header from anyone who can reach it",
     "accept PROXY headers only from the load balancer's addresses, or make the server "
     "unreachable except through it (Postfix: postscreen or smtpd behind haproxy)"},
    {"smuggling",
     "a message smuggled after a lenient end of data (a dot line after a bare LF or CR; the "
     "delivered "
     "smuggle-*-inner tests name the variants) arrived as a message of its own: the server "
     "lets one client's data carry forged messages (CVE-2023-51764/51765/51766)",
     "update the MTA and accept only CR LF . CR LF as the end of data (Postfix: "
     "smtpd_forbid_bare_newline = normalize; Exim 4.97.1 or later; Sendmail 8.18.1 or later)"},
    {"multi_hop",
     "the relayed message reached the sink from another address than the target's "
     "(delivered_via), e.g. through a smarthost",
     "close relaying on the target; the smarthost only passes on what it is given"},
    {"tokens_disagree", "the tokens in one message named different tests or hosts",
     "read the delivery evidence"},
    {"interrupted", "written at Ctrl-C while it waited for relayed mail (\"final\": false)",
     "scan again (--resume)"},
    {NULL, NULL, NULL},
};
