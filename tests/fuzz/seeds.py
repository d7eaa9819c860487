#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/NAME/ (committed; rerun after changing).
Seeds are small, valid or nearly valid inputs for each parser."""
import hashlib
import hmac
import pathlib
import sys

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "integration"))
import rttoken  # noqa: E402

RECEIVED = [
    b"from mail.client.example (client.example [192.0.2.10]) by mx.example.org (Postfix) with "
    b"ESMTP id 4F2A1 for <rt-abc@sink.lab>; Sat, 21 Nov 2026 07:00:00 +0000 (UTC)",
    b"from [192.0.2.20] (helo=client.example) by mx.example.net with esmtp (Exim 4.96) "
    b"(envelope-from <a@b.example>) id 1tE5xY-000Abc-2Q for rt-abc@sink.lab; Sat, 21 Nov 2026",
    b"from client.example (host.client.example [192.0.2.30]) by mx.example.com "
    b"(8.17.1/8.17.1) with ESMTP id 4ALN2; Sat, 21 Nov 2026 07:00:00 GMT",
    b"from client.example (host.client.example [192.0.2.40]) by mx.example.org (OpenSMTPD) with "
    b"ESMTP id 5f3c; Sat, 21 Nov 2026",
    b"from EXCH01.corp.example (10.1.2.3) by EXCH02.corp.example (10.1.2.4) with Microsoft SMTP "
    b"Server id 15.2.1118.40; Sat, 21 Nov 2026",
    b"from unknown (HELO client.example) (192.0.2.60) by mx.example.net with SMTP; 21 Nov 2026",
    b"(qmail 12345 invoked from network); 21 Nov 2026 07:00:00 -0000",
    b"from localhost (localhost [IPv6:::1]) by mx (Postfix) with ESMTP id ABC; Sat, 21 Nov 2026",
]

KEY = b"fuzzing key, 16+ bytes long"


def seeds():
    s = {}
    s["fuzz_reply"] = [
        b"220 mx.example.org ESMTP Postfix\r\n",
        b"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n",
        b"354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as 4F2A1\r\n",
        b"421 4.3.2 Service shutting down\r\n", b"250-a\n250 b\n", b"550-5.7.1 x\r\n551 y\r\n",
        b"2", b"220-x\r\n220", b"999 \r\n",
    ]
    s["fuzz_cmd"] = [
        b"EHLO client.example\r\n", b"MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME",
        b"RCPT TO:<@hop.example:rt-abc@sink.lab>", b"RCPT TO:<\"quoted@x\"@sink.lab>",
        b"MAIL FROM:<>", b"RCPT TO:<postmaster>", b"rcpt to: <a%b@c>", b"DATA\nRSET\nQUIT\n",
        b"VRFY x\nNOOP\nHELO x", b"RCPT TO:<sink.example!rt-x@[192.0.2.1]>",
    ]
    s["fuzz_dotdata"] = [
        b"\x00Subject: x\r\n\r\nbody\r\n.\r\n", b"\x03..dotted\r\n.\r\nQUIT\r\n",
        b"\x05line\n.\nstill data\r\n.\r\n", b"\x01a\r.\rb\r\n.\r\n", b"\x07\r\n.\r\n",
        b"\x02" + b"x" * 1200 + b"\r\n.\r\n", b"\x04\x00nul\r\n.\r\n",
    ]
    s["fuzz_received"] = [
        b"Received: " + r + b"\r\nSubject: relaytrap relay test rt-abc\r\n\r\nbody\r\n"
        for r in RECEIVED
    ] + [b"Received: from a\r\n  (b [192.0.2.1])\r\n\tby c; x\r\nX-Relaytrap-Token: abc\r\n\r\n",
         b"no header at all\r\n"]
    tok = rttoken.make(KEY, 0x01020304, "192.0.2.25", 25, 3)
    tok6 = rttoken.make(KEY, 0x01020304, "2001:db8::25", 587, 200)
    s["fuzz_token"] = [tok.encode(), tok6.encode(), tok.upper().encode(), b"a" * 32,
                       b"mfrgg", b"rt-" + tok.encode()]
    s["fuzz_targets"] = [
        b"192.0.2.0/24", b"10.1-3.*.5", b"192.0.2.1-192.0.2.9", b"2001:db8::/120",
        b"mx:example.org", b"mail.example.org", b"@targets.txt", b"-", b"::1",
        b"# a list\n192.0.2.1\nopen tcp 25 192.0.2.2 1700000000\nHost: 192.0.2.3 ()\tStatus: Up\n"
        b"198.51.100.0/30 # comment\nmail.example.net\n",
    ]
    s["fuzz_config"] = [
        b"flag = yes\nstr = \"  spaced  \"\nnum = 42\nsecs = 1.5\nsize = 10m\nlist = a\nlist = b\n",
        b"# comment\n\n  num=0\nsecs = -1\nsize = 99g\nunknown = 1\n", b"flag\n= x\nstr = \"open\n",
        b"max_sessions = 10\nno-such = 1\n",
    ]
    cat = (HERE.parents[1] / "conf" / "tests.conf").read_bytes()
    msg = (HERE.parents[1] / "conf" / "message.txt").read_bytes()
    s["fuzz_catalog"] = [
        cat, msg, b"plain <{sender}@{sink}> <{user}@{sink}> helo={helo}\n",
        b"q \"<a b>\" \"<\\\"x\\\"@{sink}>\"\n", b"bad {nope} x\n",
        b"Subject: {user}\n\n.dot line\n{contact}\n",
    ]
    s["fuzz_client"] = [
        b"\x40220 mx ESMTP Postfix\r\n250-mx\r\n250 PIPELINING\r\n" + b"250 ok\r\n" * 2
        + b"354 go\r\n250 queued\r\n250 ok\r\n" + b"250 ok\r\n550 no\r\n250 ok\r\n" * 30,
        b"\x01220 mx\r\n500 no EHLO\r\n250 helo ok\r\n250 ok\r\n530 5.7.0 auth first\r\n",
        b"\x10220 x\r\n250 x\r\n250 ok\r\n421 4.7.0 bye\r\n",
        b"\x08554 go away\r\n", b"\x02HTTP/1.1 400 Bad Request\r\n\r\n",
        b"\x20220-a\r\n220-b\r\n220 c\r\n250-x\r\n250 y\r\n451 4.7.1 greylisted\r\n250 ok\r\n",
    ]
    return s


def main():
    for name, items in seeds().items():
        d = HERE / "corpus" / name
        d.mkdir(parents=True, exist_ok=True)
        for old in d.iterdir():
            old.unlink()
        for item in items:
            (d / hashlib.sha1(item).hexdigest()[:16]).write_bytes(item)


if __name__ == "__main__":
    main()
