"""Scripted SMTP relays for the prober's integration tests (aiosmtpd), each on its own loopback
address. Relays that "forward" really deliver to the next hop with smtplib, from their own
address, so the sink sees who handed the message over. Loopback only."""
import asyncio
import email.utils
import smtplib
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as AioSMTP


SINK_DOMAIN = "sink.lab"


def dsn(orig, sender, rcpt, reporter, headers_only=False):
    """A delivery status notification as Postfix's bounce(8) writes it (RFC 3464 in an RFC 6522
    multipart/report): the original attached whole (message/rfc822) or its header only
    (text/rfc822-headers, as Sendmail and Exchange may)."""
    if headers_only:
        orig = orig.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    kind = b"text/rfc822-headers" if headers_only else b"message/rfc822"
    b = b"4F2A9.1700000000/" + reporter.encode()
    return (
        b"From: MAILER-DAEMON@" + reporter.encode() + b" (Mail Delivery System)\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"To: " + sender.encode() + b"\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status;\r\n"
        b"\tboundary=\"" + b + b"\"\r\n\r\n"
        b"This is a MIME-encapsulated message.\r\n\r\n"
        b"--" + b + b"\r\nContent-Description: Notification\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"I'm sorry to have to inform you that your message could not\r\n"
        b"be delivered to one or more recipients.\r\n\r\n"
        b"<" + rcpt.encode() + b">: relaying denied by policy\r\n\r\n"
        b"--" + b + b"\r\nContent-Description: Delivery report\r\n"
        b"Content-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; " + reporter.encode() + b"\r\n"
        b"X-Postfix-Queue-ID: 4F2A9\r\n\r\n"
        b"Final-Recipient: rfc822; " + rcpt.encode() + b"\r\n"
        b"Original-Recipient: rfc822;" + rcpt.encode() + b"\r\n"
        b"Action: failed\r\nStatus: 5.7.1\r\n"
        b"Diagnostic-Code: X-Postfix; relaying denied by policy\r\n\r\n"
        b"--" + b + b"\r\nContent-Description: Undelivered Message\r\n"
        b"Content-Type: " + kind + b"\r\n\r\n" + orig + b"\r\n"
        b"--" + b + b"--\r\n"
    )


def vacation(orig, sender, rcpt, name):
    """An RFC 3834 auto-reply, as vacation(1) and most webmail out-of-office rules send it:
    "Re:" the original subject (which carries the token), In-Reply-To its Message-ID."""
    subject = msgid = b""
    for line in orig.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"subject:"):
            subject = line[8:].strip()
        if line.lower().startswith(b"message-id:"):
            msgid = line[11:].strip()
    return (
        b"From: " + rcpt.encode() + b"\r\nTo: " + sender.encode() + b"\r\n"
        b"Subject: Re: " + subject + b"\r\nIn-Reply-To: " + msgid + b"\r\n"
        b"Auto-Submitted: auto-replied\r\nPrecedence: junk\r\n\r\n"
        b"I am out of the office until Monday. (" + name.encode() + b")\r\n"
    )


class Relay:
    """posture: open | strip | hide | drop | closed | greylist | auth | percent | forward |
    bloat (an open relay that adds a 20 KB subject, a 2 KB sender and 99 recipients of 900
    bytes) | bounce | bounce-headers (accept, then return a DSN to the sender) | vacation (accept, drop,
    auto-reply to the sender) | first-only (relays the first message it accepts, drops the
    rest) | null-only (relays only the message with a null envelope sender) | slow (relays each message 1.5 s after it took it) | proxy (wants a PROXY v1 header on every connection, like Postfix with
    smtpd_upstream_proxy_protocol = haproxy, and relays only for the client it names as
    127.0.0.1). next_hop: (host, port) mail is handed to; forwards leave from self.addr. Replies to
    the sender (DSNs, auto-replies) go to next_hop only when the sender is at SINK_DOMAIN,
    as a real relay's would reach only the sink."""

    def __init__(self, posture, addr, port, next_hop=None, banner_name="relay.lab", tls=None,
                 ident="ESMTP Postfix (Debian/GNU)"):
        """tls: None; "starttls" (offered); "required" (530 until STARTTLS); or "implicit"
        (TLS from the first byte); each an (ssl.SSLContext, kind) pair from tls_server()."""
        self.tls = tls
        self.posture = posture
        self.addr = addr
        self.port = port
        self.next_hop = next_hop
        self.banner_name = banner_name
        self.ident = ident  # the greeting after the name
        self.forwarded = []
        self.errors = []

    # aiosmtpd handler hooks
    async def handle_PROXY(self, server, session, envelope, proxy_data):
        return True  # any header; handle_RCPT decides by the address it names

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        p = self.posture
        if p == "proxy" and str(getattr(session.proxy_data, "src_addr", "")) != "127.0.0.1":
            return "554 5.7.1 <%s>: Relay access denied" % address
        if p == "closed":
            return "554 5.7.1 <%s>: Relay access denied" % address
        if p == "greylist":
            return "450 4.7.1 <%s>: Recipient address rejected: Greylisted" % address
        if p == "auth":
            return "530 5.7.0 Authentication required"
        if p == "percent" and "%" not in address.split("@")[0]:
            return "550 5.7.1 Relaying denied"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        p = self.posture
        loop = asyncio.get_running_loop()
        if p in ("bounce", "bounce-headers", "vacation"):
            await loop.run_in_executor(None, self._reply, envelope)
        elif p == "first-only":
            self.accepted = getattr(self, "accepted", 0) + 1
            if self.accepted == 1:
                await loop.run_in_executor(None, self._forward, session, envelope)
        elif p == "null-only":
            if envelope.mail_from in ("", "<>"):
                await loop.run_in_executor(None, self._forward, session, envelope)
        elif p == "slow":  # relays, but only after the session is over
            threading.Timer(1.5, self._forward, (session, envelope)).start()
        elif p != "drop":
            await loop.run_in_executor(None, self._forward, session, envelope)
        return "250 2.0.0 Ok: queued as 4F2A1"

    def _reply(self, envelope):
        sender = envelope.mail_from or ""
        if not sender.lower().endswith("@" + SINK_DOMAIN):
            return  # its DSN or auto-reply would go elsewhere: nothing reaches the sink
        orig = envelope.original_content or envelope.content
        if isinstance(orig, str):
            orig = orig.encode()
        rcpt = envelope.rcpt_tos[0]
        if self.posture == "vacation":
            msg, frm = vacation(orig, sender, rcpt, self.banner_name), "vacation@" + self.banner_name
        else:
            msg, frm = dsn(orig, sender, rcpt, self.banner_name,
                           self.posture == "bounce-headers"), ""
        try:
            with smtplib.SMTP(
                self.next_hop[0], self.next_hop[1], source_address=(self.addr, 0), timeout=10
            ) as s:
                s.sendmail(frm, [sender], msg)
            self.forwarded.append([sender])
        except Exception as e:  # recorded, the test asserts on it
            self.errors.append(repr(e))

    def _forward(self, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode()
        peer = session.peer[0]
        if self.posture == "proxy":  # as Postfix behind haproxy: the client the header named
            peer = str(session.proxy_data.src_addr)
        if self.posture in ("open", "percent", "forward", "first-only", "null-only", "bloat",
                            "proxy", "slow"):
            data = (
                "Received: from %s (%s [%s])\r\n\tby %s (Postfix) with ESMTP id 4F2A1\r\n"
                "\tfor <%s>; %s\r\n"
                % (
                    session.host_name or "unknown",
                    session.host_name or "unknown",
                    peer,
                    self.banner_name,
                    envelope.rcpt_tos[0],
                    email.utils.formatdate(),
                )
            ).encode() + data
        elif self.posture == "hide":
            data = (
                "Received: from localhost (localhost [10.255.0.1])\r\n\tby %s (Postfix) "
                "with ESMTP id 4F2A2; %s\r\n" % (self.banner_name, email.utils.formatdate())
            ).encode() + data
        # "strip" adds nothing and drops any Received header already present
        if self.posture == "strip":
            lines = data.split(b"\r\n")
            data = b"\r\n".join(l for l in lines if not l.lower().startswith(b"received:"))
        if self.posture == "bloat":  # a hostile relay: a 20 KB subject, 99 more recipients
            data = data.replace(b"Subject: ", b"Subject: " + b"\xff" * 20000 + b" ", 1)
        rcpts = [r.replace("%", "@") if r.count("@") == 0 else r for r in envelope.rcpt_tos]
        rcpts = [r.rsplit("@", 1)[0].replace("%", "@") if "%" in r and "@" in r else r for r in rcpts]
        try:
            with smtplib.SMTP(
                self.next_hop[0], self.next_hop[1], source_address=(self.addr, 0), timeout=10
            ) as s:
                sender = envelope.mail_from or ""
                if self.posture == "bloat":
                    sender = "s" * 2000 + "@relay.lab"
                    rcpts = rcpts + ["x%02d%s@sink.lab" % (i, "y" * 900) for i in range(99)]
                s.sendmail(sender, rcpts, data)
            self.forwarded.append(rcpts)
        except Exception as e:  # recorded, the test asserts on it
            self.errors.append(repr(e))


class _Server(AioSMTP):
    pass


def start(relays):
    """Starts every relay (a list of Relay); returns the controllers."""
    ctls = []
    for r in relays:
        kw = {}
        if r.tls:
            ctx, kind = r.tls
            if kind == "implicit":
                kw["ssl_context"] = ctx
            else:
                kw["tls_context"] = ctx
                kw["require_starttls"] = kind == "required"
        if r.posture == "proxy":
            kw["proxy_protocol_timeout"] = 5
        c = Controller(
            r,
            hostname=r.addr,
            port=r.port,
            server_hostname=r.banner_name,
            ident=r.ident,
            **kw,
        )
        c.start()
        ctls.append(c)
    return ctls


def tls_server(tmpdir, name="relay.lab"):
    """A server-side TLS context with a self-signed certificate made by openssl(1)."""
    import ssl
    import subprocess
    key, cert = tmpdir / "relay.key", tmpdir / "relay.crt"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + name, "-days", "2",
                        "-keyout", str(key), "-out", str(cert)], check=True,
                       capture_output=True, timeout=60)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def stop(ctls):
    for c in ctls:
        c.stop()


class ScriptedServer:
    """A raw TCP server that plays a script per connection, for hostile and odd servers.
    script(conn) runs in a thread with a socket; conn.settimeout bounds every wait."""

    def __init__(self, addr, port, script):
        import socket

        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(16)
        self.script = script
        self.connections = 0
        self.stopped = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.settimeout(30)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self.script(conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.sock.close()


def read_cmd(conn, limit=4096):
    """Reads one command line (bounded); '' at EOF."""
    buf = b""
    while not buf.endswith(b"\n") and len(buf) < limit:
        b = conn.recv(1)
        if not b:
            return ""
        buf += b
    return buf.decode("latin-1").strip()


def serve(conn, greeting, replies):
    """Plays one SMTP session: sends greeting, then answers each command by its verb from
    replies (bytes, or a function of the command returning bytes, or None to hang up);
    QUIT gets 221 and ends, any other verb 250. Ends at EOF."""
    conn.sendall(greeting)
    while True:
        c = read_cmd(conn)
        if not c:
            return
        verb = c.split()[0].upper()
        if verb == "QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        r = replies.get(verb, b"250 ok\r\n")
        r = r(c) if callable(r) else r
        if r is None:
            return
        conn.sendall(r)
