"""relaytrap-sink delivers what it should, refuses what it should, and its receipts agree with its
Maildir one for one."""
import json
import re
import subprocess

import pytest

import rttoken
from conftest import Client

SECRET = b"integration-test-secret-0123456789"


def test_swaks_message_stored_with_receipt(sink):
    tok = rttoken.make(SECRET, 7, "192.0.2.25", 25, 3)
    out = subprocess.run(["swaks", "--server", f"127.0.0.1:{sink.port}", "--from", "a@b.example",
                          "--to", f"rt-{tok}@sink.lab", "--header", f"Subject: relay test rt-{tok}",
                          "--header", f"X-Relaytrap-Token: {tok}", "--body", "relay test body"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "250 2.0.0 Ok: queued as" in out.stdout
    (r,) = sink.wait_receipts(1)
    files = sink.maildir_files()
    assert len(files) == 1
    assert r["maildir_file"] == "new/" + files[0].name
    assert r["rcpt"] == [f"rt-{tok}@sink.lab"]
    assert r["mail_from"] == "a@b.example"
    assert r["peer_addr"] == "127.0.0.1"
    assert r["esmtp"] is True
    body = files[0].read_bytes()
    assert r["size"] == len(body)
    assert b"relay test body" in body
    (t,) = r["tokens"]
    assert t["token"] == tok
    assert t["status"] == "unverified"  # this sink has no secret
    assert t["target"] == "192.0.2.25" and t["port"] == 25 and t["test"] == 3
    assert t["found_in"] == ["rcpt", "subject", "x-relaytrap-token"]


def test_secret_verifies_and_flags_forged(sink_factory, tmp_path):
    key = tmp_path / "secret"
    key.write_bytes(SECRET)
    sink = sink_factory("--secret-file", str(key))
    good = rttoken.make(SECRET, 1, "2001:db8::25", 25, 0)
    forged = rttoken.make(b"some-other-secret-entirely", 1, "2001:db8::25", 25, 0)
    c = Client("127.0.0.1", sink.port)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO prober.example")[0] == 250
    for tok in (good, forged):
        assert c.cmd("MAIL FROM:<>")[0] == 250
        assert c.cmd(f"RCPT TO:<rt-{tok}@sink.lab>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        assert c.cmd(f"Subject: rt-{tok}\r\n\r\nhi\r\n.")[0] == 250
    c.cmd("QUIT")
    r1, r2 = sink.wait_receipts(2)
    assert [t["status"] for t in r1["tokens"]] == ["valid"]
    assert r1["tokens"][0]["target"] == "2001:db8::25"
    assert [t["status"] for t in r2["tokens"]] == ["forged"]


def test_recipient_policy(sink):
    tok = rttoken.make(SECRET, 9, "198.51.100.4", 2525, 12)
    c = Client("127.0.0.1", sink.port)
    c.reply()
    c.cmd("HELO x")
    assert c.cmd("MAIL FROM:<x@y>")[0] == 250
    cases = {
        "<user@gmail.com>": 550,            # foreign domain: never relayed
        "<user@sink.lab.evil.example>": 550,
        "<user@SINK.LAB>": 250,             # own domain, any case
        "<user@sink.lab.>": 250,
        "<user@[127.0.0.1]>": 250,          # own address literal
        "<user@[192.0.2.1]>": 550,          # someone else's literal
        f"<rt-{tok}@far.example>": 250,     # carries a well-formed token: stored, not relayed
        f"<far.example!rt-{tok}>": 250,
        "<rt-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@far.example>": 550,  # right length, wrong shape
        "<postmaster>": 250,
        "<>": 550,
    }
    for rcpt, code in cases.items():
        got, lines = c.cmd(f"RCPT TO:{rcpt}")
        assert got == code, (rcpt, lines)
        if code == 550:
            assert lines[-1].startswith("550 5.7.1")
    c.cmd("QUIT")


def test_command_sequence_and_replies(sink):
    c = Client("127.0.0.1", sink.port)
    code, lines = c.reply()
    assert code == 220 and "ESMTP relaytrap-sink" in lines[0]
    code, lines = c.cmd("EHLO client.example")
    assert code == 250
    assert [ln[4:].split()[0] for ln in lines[1:]] == ["PIPELINING", "SIZE", "8BITMIME",
                                                      "STARTTLS", "ENHANCEDSTATUSCODES"]
    assert c.cmd("RCPT TO:<a@sink.lab>")[0] == 503
    assert c.cmd("DATA")[0] == 503
    assert c.cmd("VRFY someone")[0] == 252
    assert c.cmd("EXPN list")[0] == 502
    assert c.cmd("NOOP")[0] == 250
    assert c.cmd("FROB")[0] == 500
    assert c.cmd("MAIL FROM:<a@b> SIZE=999999999999")[0] == 552
    assert c.cmd("MAIL FROM:<a@b> SIZE=99999999999999999999999999")[0] == 552  # overflow
    assert c.cmd("MAIL FROM:<a@b> SIZE=1000")[0] == 250
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("MAIL FROM:<a@b>")[0] == 250
    assert c.cmd("MAIL FROM:<a@b>")[0] == 503
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221


def test_pipelining_in_one_write(sink):
    c = Client("127.0.0.1", sink.port)
    c.reply()
    c.send(b"EHLO p\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@sink.lab>\r\nRCPT TO:<y@other.example>\r\n"
           b"DATA\r\nSubject: piped\r\n\r\n..dot\r\n.\r\nMAIL FROM:<c@d>\r\nRCPT TO:<z@sink.lab>\r\n"
           b"DATA\r\nSubject: second\r\n\r\nx\r\n.\r\nQUIT\r\n")
    codes = [c.reply()[0] for _ in range(11)]
    assert codes == [250, 250, 250, 550, 354, 250, 250, 250, 354, 250, 221]
    r1, r2 = sink.wait_receipts(2)
    assert r1["rcpt"] == ["x@sink.lab"] and r1["subject"] == "piped"
    assert r2["rcpt"] == ["z@sink.lab"] and r2["subject"] == "second"
    assert b"\r\n.dot\r\n" in (sink.maildir / r1["maildir_file"]).read_bytes()


def test_quit_and_half_close_behind_the_dot(sink):
    """Exim sends QUIT right behind the final dot and shuts its sending side down: the message
    is still stored and acknowledged, then QUIT answered (before this was fixed the sink
    dropped the session at end of file, and Exim delivered everything twice)."""
    import socket
    c = Client("127.0.0.1", sink.port)
    c.reply()
    c.send(b"EHLO exim.lab\r\nMAIL FROM:<>\r\nRCPT TO:<relaytest@sink.lab>\r\nDATA\r\n")
    assert [c.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    c.send(b"Subject: half-closed\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    c.sock.shutdown(socket.SHUT_WR)
    assert [c.reply()[0] for _ in range(2)] == [250, 221]
    (r,) = sink.wait_receipts(1)
    assert r["subject"] == "half-closed" and r["mail_from"] == ""
    # the same without QUIT: stored, acknowledged, then the sink closes too
    c = Client("127.0.0.1", sink.port)
    c.reply()
    c.send(b"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<y@sink.lab>\r\nDATA\r\n")
    assert [c.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    c.send(b"Subject: no quit\r\n\r\nx\r\n.\r\n")
    c.sock.shutdown(socket.SHUT_WR)
    assert c.reply()[0] == 250
    assert c.sock.recv(100) == b""
    assert len(sink.wait_receipts(2)) == 2


def test_sink_starttls(sink, tmp_path):
    """The sink offers STARTTLS (a certificate made at start): a relay that insists on TLS can
    deliver, and the receipt records the TLS version and cipher. Plaintext pipelined behind
    STARTTLS is dropped, never read as if it came over TLS (CVE-2011-0411); STARTTLS before
    EHLO or twice is refused; a client that sends garbage instead of a handshake is dropped
    and the sink goes on."""
    import smtplib
    import socket
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
        s.ehlo("relay.example")
        assert s.has_extn("starttls")
        s.starttls(context=ctx)
        s.ehlo("relay.example")
        assert not s.has_extn("starttls")
        assert s.docmd("STARTTLS")[0] == 554  # already active
        s.sendmail("a@relay.example", ["x@sink.lab"], b"Subject: over tls\r\n\r\nhi\r\n")
    (r,) = sink.wait_receipts(1)
    assert r["subject"] == "over tls" and r["tls"]["version"].startswith("TLSv1.")
    assert r["tls"]["cipher"]
    c = Client("127.0.0.1", sink.port)
    c.reply()
    assert c.cmd("STARTTLS")[0] == 503  # before EHLO
    c.cmd("EHLO x")
    c.send(b"STARTTLS\r\nMAIL FROM:<injected@x>\r\n")  # the injection rides along
    assert c.reply()[0] == 220
    tls = ctx.wrap_socket(c.sock, server_hostname="sink")
    tls.sendall(b"EHLO y\r\n")
    reply = b""
    while not reply.endswith(b"250 ENHANCEDSTATUSCODES\r\n"):
        reply += tls.recv(4096)
    assert reply.startswith(b"250-")  # the injected MAIL got no reply: it was dropped
    tls.sendall(b"RCPT TO:<x@sink.lab>\r\n")
    assert tls.recv(4096).startswith(b"503")  # no MAIL transaction: nothing was injected
    tls.close()
    c = Client("127.0.0.1", sink.port)
    c.reply()
    c.cmd("EHLO z")
    assert c.cmd("STARTTLS")[0] == 220
    c.send(b"GET / HTTP/1.0\r\n\r\n" * 10)
    got = b""
    try:  # a TLS alert at most, then the sink hangs up
        while True:
            chunk = c.sock.recv(4096)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    assert len(got) < 100 and b"250" not in got
    c2 = Client("127.0.0.1", sink.port)  # still serving
    assert c2.reply()[0] == 220
    assert "event=starttls-injection bytes=24" in sink.log.read_text()


def test_oversize_message_552_after_draining(sink_factory):
    sink = sink_factory("--max-size", "2048")
    c = Client("127.0.0.1", sink.port)
    c.begin()
    c.send(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 200)
    code, lines = c.cmd(".")
    assert code == 552 and "5.3.4" in lines[0]
    assert c.cmd("NOOP")[0] == 250  # the session goes on
    assert sink.receipts_list() == []


def count_lines(path):
    return sum(1 for _ in open(path)) if path.exists() else 0


@pytest.mark.parametrize("reuse", [False, True], ids=["new-connection", "reuse"])
def test_smtp_source_10000_none_lost_none_duplicated(sink_factory, reuse):
    sink = sink_factory(*(["--no-fsync"] if reuse else []))
    argv = ["/usr/sbin/smtp-source", "-s", "50", "-m", "10000", "-l", "1024", "-f", "src@example.com",
            "-t", "dst@sink.lab", "-M", "source.example"]
    if reuse:
        argv.append("-d")
    out = subprocess.run(argv + [f"127.0.0.1:{sink.port}"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    receipts = sink.wait_receipts(10000, timeout=60)
    files = sink.maildir_files()
    assert len(receipts) == 10000
    assert len(files) == 10000
    names = {r["maildir_file"] for r in receipts}
    assert len(names) == 10000  # no duplicates
    assert names == {"new/" + f.name for f in files}  # one for one
    assert all(r["rcpt"] == ["dst@sink.lab"] for r in receipts)
    assert not list((sink.maildir / "tmp").iterdir())
