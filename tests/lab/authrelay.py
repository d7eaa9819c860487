#!/usr/bin/env python3
"""The lab's scripted empty-AUTH relay (aiosmtpd): a server that announces AUTH PLAIN LOGIN,
refuses relaying without AUTH (554 5.7.1 at RCPT, as Postfix's reject_unauth_destination
words it) and relays after AUTH, and whose authenticator takes any credentials, empty ones
included: the SASL misconfiguration (a pam or passwd-less backend that says yes) Postfix
cannot be made to show without a broken SASL library.

    authrelay.py ADDR NAME SINKHOST:SINKPORT       serves ADDR:25 until SIGTERM

After AUTH it relays only to recipients at the sink domain, and only to SINKHOST:SINKPORT,
from ADDR, adding a Received header as an MTA would (the client's address visible, protocol
ESMTPA). Anything else: 554. Loopback only; nothing is looked up."""
import email.utils
import signal
import smtplib
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

SINK_DOMAIN = "sink.lab"


class Handler:
    def __init__(self, addr, name, sink):
        self.addr, self.name, self.sink = addr, name, sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not session.authenticated:
            return "554 5.7.1 <%s>: Relay access denied" % address
        if not address.lower().endswith("@" + SINK_DOMAIN):
            return "554 5.7.1 <%s>: the lab relays only to %s" % (address, SINK_DOMAIN)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode()
        peer = session.peer[0]
        received = ("Received: from %s (unknown [%s])\r\n\tby %s (aiosmtpd) with ESMTPA id 4F2A7"
                    "\r\n\tfor <%s>; %s\r\n" % (session.host_name or "unknown", peer, self.name,
                                                envelope.rcpt_tos[0], email.utils.formatdate()))
        try:
            with smtplib.SMTP(self.sink[0], self.sink[1], source_address=(self.addr, 0),
                              timeout=10) as s:
                s.sendmail(envelope.mail_from or "", envelope.rcpt_tos, received.encode() + data)
        except (OSError, smtplib.SMTPException) as e:
            print("relay to the sink failed: %r" % e, flush=True)
            return "451 4.3.0 relay to the sink failed"
        return "250 2.0.0 Ok: queued as 4F2A7"


def any_credentials(server, session, envelope, mechanism, auth_data):
    print("AUTH %s %r accepted" % (mechanism, auth_data), flush=True)
    return AuthResult(success=True)


def main():
    addr, name, sink = sys.argv[1], sys.argv[2], sys.argv[3]
    host, _, port = sink.rpartition(":")
    c = Controller(Handler(addr, name, (host, int(port))), hostname=addr, port=25,
                   server_hostname=name, ident="ESMTP Python SMTP (aiosmtpd)",
                   authenticator=any_credentials, auth_require_tls=False, auth_required=False)
    c.start()
    print("serving %s:25 as %s, relaying after AUTH to %s" % (addr, name, sink), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(1):
        pass
    c.stop()


if __name__ == "__main__":
    main()
