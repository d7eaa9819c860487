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

# fuzz_mailclass: the relay test, and the forms that come back instead of it. "{T}" is the token.
TEST_MESSAGE = (
    "From: relaytrap <relaytest@prober.example>\nTo: <rt-{T}@sink.lab>\n"
    "Subject: relaytrap relay test rt-{T}\nMessage-ID: <rt-{T}@sink.lab>\nX-Relaytrap-Token: {T}\n"
    "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
    "This is an automated relay test sent by relaytrap.\nToken: rt-{T}\n")
ORIGINAL = ("Return-Path: <relaytest@sink.lab>\nReceived: from vm (unknown [198.51.100.7])\n"
            "\tby mx.relay.example (Postfix) with SMTP id 4F2A1\n\tfor <rt-{T}@sink.lab>; "
            "Sat, 21 Nov 2026 09:41:06 +0000\n" + TEST_MESSAGE)


def report(boundary, top, parts, quote=True):
    """A message: header lines top, then MIME parts (header, body) between delimiters."""
    b = f'"{boundary}"' if quote else boundary
    out = top.replace("{b}", b) + "\n"
    for head, body in parts:
        out += f"--{boundary}\n{head}\n{body}\n"
    return out + f"--{boundary}--\n"


DSN_PART = ("Content-Type: message/delivery-status\n",
            "Reporting-MTA: dns; mx.relay.example\n\nFinal-Recipient: rfc822; rt-{T}@sink.lab\n"
            "Action: failed\nStatus: 5.7.1\n"
            "Diagnostic-Code: smtp; 554 5.7.1 <rt-{T}@sink.lab>: Relay access denied\n")
MAILCLASS = [  # (sender: 0 null, 1 MAILER-DAEMON, 2 ordinary; message)
    (0, report("4F2A1.1795340467/mx.relay.example",  # Postfix bounce(8)
               "From: MAILER-DAEMON@mx.relay.example (Mail Delivery System)\n"
               "Subject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\n"
               "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary={b}\n",
               [("Content-Type: text/plain\n", "<rt-{T}@sink.lab>: Relay access denied\n"),
                DSN_PART, ("Content-Type: message/rfc822\n", ORIGINAL)])),
    (1, report("1795340467-eximdsn-1804289383",  # Exim 4.9x, unquoted boundary
               "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
               "Subject: Mail delivery failed: returning message to sender\n"
               "Content-Type: multipart/report; report-type=delivery-status; boundary={b}\n",
               [("Content-type: text/plain\n", "  rt-{T}@sink.lab\n    550 relay not permitted\n"),
                ("Content-type: message/delivery-status\n",
                 "Reporting-MTA: dns; mx.example.net\n\nAction: failed\n"
                 "Final-Recipient: rfc822;rt-{T}@sink.lab\nStatus: 5.0.0\n"),
                ("Content-type: message/rfc822\n", ORIGINAL)], quote=False)),
    (0, "From: MAILER-DAEMON@mx.example.org\nSubject: failure notice\n\n"  # qmail
        "Hi. This is the qmail-send program at mx.example.org.\n<rt-{T}@sink.lab>:\n"
        "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\n\n"
        "--- Below this line is a copy of the message.\n\n" + ORIGINAL),
    (0, report("_000_NDR_", "From: postmaster@corp.example\n"  # Exchange NDR
               "Subject: Undeliverable: relaytrap relay test rt-{T}\n"
               "Content-Type: multipart/report; report-type=delivery-status; boundary={b}\n",
               [("Content-Type: multipart/alternative; boundary=\"_002_ALT_\"\n",
                 "--_002_ALT_\nContent-Type: text/plain\n\nDelivery has failed\n"
                 "--_002_ALT_\nContent-Type: text/html\n\n<p>failed</p>\n--_002_ALT_--\n"),
                DSN_PART, ("Content-Type: message/rfc822\n", ORIGINAL)])),
    (1, report("4ALN2K.1795340468/mx.example.com",  # Sendmail, header-less first part
               "Subject: Returned mail: see transcript for details\n"
               "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary={b}\n",
               [("", "The original message was received\n<<< 550 5.7.1 Relaying denied\n"),
                DSN_PART, ("Content-Type: text/rfc822-headers\n", ORIGINAL.split("\n\n")[0])])),
    (0, "From: Alice <alice@target.example>\nSubject: Re: relaytrap relay test rt-{T}\n"  # vacation
        "Auto-Submitted: auto-replied (vacation)\nPrecedence: bulk\n\nI am away.\n"),
    (2, report("_000_OOF_", "From: Bob <bob@corp.example>\n"  # Outlook out-of-office
               "Subject: Automatic reply: relaytrap relay test rt-{T}\nX-Autoreply: yes\n"
               "X-Auto-Response-Suppress: All\nContent-Type: multipart/alternative; boundary={b}\n",
               [("Content-Type: text/plain\n", "I am out of the office.\n")])),
    (2, report("------------MDN1", "From: Carol <carol@target.example>\n"  # read receipt
               "Subject: Return Receipt (displayed) - relaytrap relay test\n"
               "Content-Type: multipart/report; report-type=disposition-notification;\n"
               " boundary={b}\n",
               [("Content-Type: text/plain\n", "This is a Return Receipt\n"),
                ("Content-Type: message/disposition-notification\n",
                 "Reporting-UA: target.example; Thunderbird\nDisposition: manual-action/"
                 "MDN-sent-manually; displayed\n"),
                ("Content-Type: text/rfc822-headers\n",
                 "Subject: relaytrap relay test rt-{T}\n")])),
    (2, report("part1_13d.2e68ed54_boundary", "From: <abusedesk@example.com>\n"  # RFC 5965 ARF
               "Subject: FW: Earn money\n"
               "Content-Type: multipart/report; report-type=feedback-report;\n boundary={b}\n",
               [("Content-Type: text/plain\n", "This is an email abuse report\n"),
                ("Content-Type: message/feedback-report\n", "Feedback-Type: abuse\nVersion: 1\n"),
                ("Content-Type: message/rfc822\n", ORIGINAL)])),
    (0, "Received: from mx.relay.example (mx.relay.example [192.0.2.25])\n"  # relayed
        "\tby sink.lab; Sat, 21 Nov 2026 09:41:07 +0000\n" + TEST_MESSAGE),
    (2, report("----=_Part_0_1795340467", TEST_MESSAGE.split("Content-Type")[0]  # disclaimer
               + "Content-Type: multipart/mixed; boundary={b}\n",
               [("Content-Type: text/plain\n", "Token: rt-{T}\n"),
                ("Content-Type: text/plain\n", "DISCLAIMER: confidential.\n")])),
    (1, report("=_wrap_", "From: Mail Delivery System <MAILER-DAEMON@gw.example.org>\n"  # nested
               "Subject: Mail delivery failed\nContent-Type: multipart/mixed; boundary={b}\n",
               [("Content-Type: multipart/report; report-type=delivery-status; boundary=r\n",
                 "--r\n" + "".join(h + "\n" + b + "--r\n" for h, b in [DSN_PART])
                 + "Content-Type: message/rfc822\n\n" + ORIGINAL + "--r--\n")])),
    (0, report("b", "Content-Type: multipart/report; report-type=delivery-status; "  # escapes
               "boundary=\"a\\\"b\\\\c\"\n", [DSN_PART]).replace("--b", '--a"b\\c')),
    (0, report("x" * 71, "Content-Type: multipart/report; report-type=delivery-status; "
               "boundary={b}\n", [DSN_PART])),  # boundary too long
    (0, report("b", "Content-Type: multipart/report; report-type=delivery-status; boundary={b}\n",
               [DSN_PART]).rsplit("--b--", 1)[0]),  # never closed
]


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
    s["fuzz_spool"] = [
        b"RTS1 1523 987\nSubject: x\r\n", b"RTS1 900 4", b"RTS1 0 1\n\n", b"RTS1 01 2\n",
        b"RTS1 1234567890123456789 1\n",
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
    mailclass = [bytes([who]) + m.replace("{T}", tok).replace("\n", "\r\n").encode()
                 for who, m in MAILCLASS]
    s["fuzz_mailclass"] = mailclass + [
        mailclass[0][:1] + mailclass[0][1:].replace(b"\r\n", b"\n"),  # LF only
        mailclass[0][:1] + mailclass[0][1:].replace(b"\r\n", b"\r"),  # CR only
        b"\x00" + b"Content-Type: multipart/mixed; boundary=n\r\n\r\n"
        + b"--n\r\nContent-Type: multipart/mixed; boundary=n\r\n\r\n" * 8 + b"--n--\r\n",
        b"\x02" + b"Content-Type: multipart/mixed; boundary=p\r\n\r\n"
        + b"--p\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n" * 12 + b"--p--\r\n",
    ]
    s["fuzz_client"] = [
        b"\x40220 mx ESMTP Postfix\r\n250-mx\r\n250 PIPELINING\r\n" + b"250 ok\r\n" * 2
        + b"354 go\r\n250 queued\r\n250 ok\r\n" + b"250 ok\r\n550 no\r\n250 ok\r\n" * 30,
        b"\x01220 mx\r\n500 no EHLO\r\n250 helo ok\r\n250 ok\r\n530 5.7.0 auth first\r\n",
        b"\x10220 x\r\n250 x\r\n250 ok\r\n421 4.7.0 bye\r\n",
        b"\x08554 go away\r\n", b"\x02HTTP/1.1 400 Bad Request\r\n\r\n",
        b"\x20220-a\r\n220-b\r\n220 c\r\n250-x\r\n250 y\r\n451 4.7.1 greylisted\r\n250 ok\r\n",
    ]
    s["fuzz_fingerprint"] = [
        b"\x00mx.example.org ESMTP Postfix (3.7.11) (Debian)",
        b"\x00mx ESMTP Exim 4.96 Sat, 28 Nov 2026\x00SIZE\x00relay not permitted",
        b"\x00mail Microsoft ESMTP MAIL Service, Version: 6.0.3790.3959 ready at",
        b"\x00mx ESMTP\x00X-ANONYMOUSTLS\x00\x00X-EXPS GSSAPI NTLM",
        b"\x00" + b"*" * 300 + b"2*0*0*2",
        b"\x00" + bytes(range(1, 256)),
        b"\x00ESMTP Postfix " + b"(" * 2000,
        b"\x00ESMTP Exim " + b"9." * 3000,
        b"\x014.87..4.91\x004.9",
        b'\x01bad banner "^(a+)+$"\n\x00' + b"a" * 60 + b"!",
        b'\x01x banner "(?<version>(\\d+)*)+x"\n\x00' + b"1" * 80,
        b'\x01p error "(?<os>[a-z]+)" os=Linux\nq ehlo "(?m)^X-$"\x00\x00X-\x00linux',
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
