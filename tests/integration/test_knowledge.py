"""What relaytrap knows beyond the scan (issue 19): fingerprints with versions, advisories "by
banner", fix advice per MTA and the abuse desk's notices, from a live scan of relays.py
servers and scripted ones on loopback, and again from --report. Loopback only; --no-ptr."""
import csv
import html.parser
import io
import json
import subprocess

import pytest

import relays
from conftest import BUILD, free_port

RELAYTRAP = BUILD / "relaytrap"
NET = "127.19.0."


def run(*args, timeout=120):
    return subprocess.run([str(RELAYTRAP), "--no-ptr", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def mdaemon(conn):
    relays.serve(conn, b"220 mx5.lab ESMTP MDaemon 9.6.6; Sat, 28 Nov 2026 16:00:00 +0100\r\n",
                 {"EHLO": b"250-mx5.lab Hello\r\n250 8BITMIME\r\n",
                  "RCPT": b"550 5.7.1 we do not relay\r\n"})


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """An open Exim 4.91, a Sendmail 8.9.1 that takes relay tests and drops them, a closed
    Postfix 3.7.8, a closed scripted MDaemon, a server that names nothing, an open relay
    whose banner names nothing but whose refusals do not exist either."""
    tmp = tmp_path_factory.mktemp("know")
    sp = free_port()
    port = free_port(NET + "2")
    sink = ("127.0.0.1", sp)
    rs = [
        relays.Relay("open", NET + "2", port, sink, banner_name="mx2.lab",
                     ident="ESMTP Exim 4.91 Sat, 28 Nov 2026 16:00:00 +0000"),
        relays.Relay("drop", NET + "3", port, banner_name="mx3.lab",
                     ident="ESMTP Sendmail 8.9.1/8.9.1; Sat, 28 Nov 2026 16:00:00 GMT"),
        relays.Relay("closed", NET + "4", port, banner_name="mx4.lab",
                     ident="ESMTP Postfix (3.7.8) (Debian)"),
        relays.Relay("closed", NET + "6", port, banner_name="mx6.lab", ident="ESMTP"),
    ]
    ctl = relays.start(rs)
    md = relays.ScriptedServer(NET + "5", port, mdaemon)
    try:
        out = tmp / "r.jsonl"
        p = run("-o", out, "--timeout", "5", "--connect-timeout", "2", "-p", port,
                "--sink-listen", "127.0.0.1:%d" % sp, "-d", "sink.lab", "-w", "3",
                "-t", "plain,percent,bang", "--contact", "abuse@prober.example",
                "--html", tmp / "r.html", "--csv", tmp / "r.csv", "--notices", tmp / "notices",
                NET + "2-" + NET + "7")
    finally:
        relays.stop(ctl)
        md.stop()
    lines = [json.loads(l) for l in out.read_text().splitlines()]
    return tmp, p, {h["addr"]: h for h in lines if h["type"] == "host"}


def test_fingerprints_and_advisories_in_host_lines(scanned):
    _, p, hosts = scanned
    assert p.returncode == 1, p.stderr
    fp = {a[len(NET):]: h["fingerprint"] for a, h in hosts.items()}
    assert fp == {
        "2": {"product": "exim", "version": "4.91", "os": None, "source": "banner"},
        "3": {"product": "sendmail", "version": "8.9.1", "os": None, "source": "banner"},
        "4": {"product": "postfix", "version": "3.7.8", "os": "Debian", "source": "banner"},
        "5": {"product": "mdaemon", "version": "9.6.6", "os": "Windows", "source": "banner"},
        # names nothing; its refusal is Postfix's default text, so the error decides
        "6": {"product": "postfix", "version": None, "os": None, "source": "error"},
        "7": None,  # nothing listens: it never spoke
    }
    adv = {a[len(NET):]: [(x["id"], x["severity"], x["by"]) for x in h["advisories"]]
           for a, h in hosts.items()}
    assert adv == {
        "2": [("CVE-2019-10149", "critical", "banner"), ("CVE-2020-28017", "critical", "banner"),
              ("CVE-2023-51766", "medium", "banner")],
        "3": [("classic-sendmail-colon", "high", "banner"), ("CVE-2023-51765", "medium", "banner")],
        "4": [("CVE-2023-51764", "medium", "banner")],
        "5": [], "6": [], "7": [],
    }
    first = hosts[NET + "2"]["advisories"][0]
    assert first["reference"] == "https://nvd.nist.gov/vuln/detail/CVE-2019-10149"
    assert first["text"].startswith("Exim 4.87 to 4.91 run commands")
    assert {h["verdict"] for h in hosts.values()} == {"open", "accepted", "closed",
                                                      "unreachable"}


def test_csv_and_text_summary(scanned):
    tmp, p, _ = scanned
    rows = list(csv.DictReader(io.StringIO((tmp / "r.csv").read_text(), newline="")))
    by = {r["address"]: r for r in rows}
    assert (by[NET + "2"]["fingerprint"], by[NET + "2"]["version"],
            by[NET + "2"]["fingerprint_source"]) == ("exim", "4.91", "banner")
    assert by[NET + "2"]["advisories"] == ("CVE-2019-10149 (critical), CVE-2020-28017 "
                                           "(critical), CVE-2023-51766 (medium)")
    assert by[NET + "4"]["os"] == "Debian" and by[NET + "7"]["fingerprint"] == ""
    out = p.stdout.splitlines()
    i = out.index("open relays (relayed mail arrived):")
    assert out[i + 1].startswith("  %s2 port " % NET) and "[exim 4.91]: fell for" in out[i + 1]
    assert out[i + 2] == ("    known holes by banner: CVE-2019-10149 (critical), "
                          "CVE-2020-28017 (critical), CVE-2023-51766 (medium)")


def test_fix_advice_in_text_summary(scanned):
    """One paragraph per MTA, for the hosts that relayed, accepted or bounced; not for
    closed ones (Postfix 3.7.8, MDaemon)."""
    tmp, p, _ = scanned
    out = p.stdout.splitlines()
    i = out.index("how to close relaying (hosts that relayed, accepted or bounced tests):")
    heads = [l for l in out[i + 1:] if l.startswith("  ") and not l.startswith("    ")]
    assert heads == ["  Exim (1 host):", "  Sendmail (1 host):"]
    exim = out[out.index("  Exim (1 host):") + 1]
    assert exim.startswith("    Exim decides relaying in the RCPT ACL (acl_smtp_rcpt).")
    end = next(k for k in range(i + 1, len(out)) if not out[k].startswith("  "))
    assert all(len(l) <= 78 for l in out[i:end])
    assert out[end] == ("1 notice for the owners of open relays in %s (review, then send "
                        "them yourself: relaytrap sends nothing)" % (tmp / "notices"))


class Page(html.parser.HTMLParser):
    """The software section's rows and the text of the page."""

    def __init__(self):
        super().__init__()
        self.in_vuln = False
        self.rows, self.cell, self.text = [], None, []
        self.fix = []  # (address of the host above, advice text)
        self.addr, self.in_fix = None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        assert not any(k.startswith("on") for k in a)
        if tag == "tbody" and a.get("class") == "h":
            self.addr = a["data-a"]
        if tag == "tr" and a.get("class") == "fx":
            self.in_fix = True
            self.fix.append([self.addr, ""])
        if tag == "table" and a.get("id") == "vuln":
            self.in_vuln = True
        elif self.in_vuln and tag == "tr":
            self.rows.append([])
        elif self.in_vuln and tag == "td":
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "tr":
            self.in_fix = False
        if tag == "table":
            self.in_vuln = False
        elif tag == "td" and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self.in_fix:
            self.fix[-1][1] += data
        if self.cell is not None:
            self.cell += data


def test_html_software_section(scanned):
    tmp, _, _ = scanned
    page = Page()
    page.feed((tmp / "r.html").read_text())
    text = "".join(page.text)
    assert "Outdated or vulnerable software, by banner" in text
    assert "6 known holes, matched on the product and version the server names" in text
    rows = [r for r in page.rows if r]
    assert sorted((r[0], r[2], r[3], r[4], r[5], r[7]) for r in rows) == [
        (NET + "2", "open", "exim 4.91", "critical", "CVE-2019-10149", "banner"),
        (NET + "2", "open", "exim 4.91", "critical", "CVE-2020-28017", "banner"),
        (NET + "2", "open", "exim 4.91", "medium", "CVE-2023-51766", "banner"),
        (NET + "3", "accepted", "sendmail 8.9.1", "high", "classic-sendmail-colon", "banner"),
        (NET + "3", "accepted", "sendmail 8.9.1", "medium", "CVE-2023-51765", "banner"),
        (NET + "4", "closed", "postfix 3.7.8 (Debian)", "medium", "CVE-2023-51764", "banner"),
    ]


def test_report_applies_its_own_files(scanned, tmp_path):
    """--report fingerprints and matches again, with the files it is given."""
    tmp, _, _ = scanned
    (tmp_path / "fp.conf").write_text('exim-lab banner "\\bESMTP Exim (?<version>[\\d.]+)"\n')
    (tmp_path / "adv.conf").write_text('exim-lab >=4 LAB-1 low "a lab entry" none\n')
    merged = tmp_path / "m.jsonl"
    p = run("--report", tmp / "r.jsonl", "--fingerprints", tmp_path / "fp.conf",
            "--advisories", tmp_path / "adv.conf", "-o", merged, "-q")
    assert p.returncode == 1, p.stderr
    hosts = {h["addr"]: h for h in map(json.loads, merged.read_text().splitlines())
             if h["type"] == "host"}
    assert hosts[NET + "2"]["fingerprint"] == {"product": "exim-lab", "version": "4.91",
                                               "os": None, "source": "banner"}
    assert hosts[NET + "2"]["advisories"] == [{"id": "LAB-1", "severity": "low",
                                               "text": "a lab entry", "reference": "none",
                                               "by": "banner"}]
    assert hosts[NET + "4"]["fingerprint"]["product"] is None
    assert hosts[NET + "4"]["advisories"] == []
    bad = tmp_path / "bad.conf"
    bad.write_text("# one\nexim-lab 4.1 X high \"t\" r\n")
    p = run("--report", tmp / "r.jsonl", "--advisories", bad)
    assert p.returncode == 2
    assert p.stderr == ("relaytrap: %s:2: '4.1': expected versions *, <V, <=V, >V, >=V, =V "
                        "or A..B, comma-separated\n" % bad)
    p = run("--check-config", "--advisories", bad)
    assert p.returncode == 2 and ":2: '4.1'" in p.stderr
    p = run("--check-config")
    assert (p.returncode, p.stdout) == (0, "relaytrap: configuration OK: 47 relay tests, 61 "
                                           "fingerprint rules for 48 products, 11 "
                                           "advisories, 9 fix paragraphs\n")


def test_html_fix_advice_under_each_host_that_needs_it(scanned):
    tmp, _, _ = scanned
    page = Page()
    page.feed((tmp / "r.html").read_text())
    # data-a is the address sort key: 4 + 32 hex digits + the port
    got = [(bytes.fromhex(a[1:9]).hex(), t.split(":")[0]) for a, t in page.fix]
    assert sorted(got) == [("7f130002", "How to close relaying (Exim)"),
                           ("7f130003", "How to close relaying (Sendmail)")]
    assert [t for _, t in page.fix if "Exim" in t.split(":")[0]][0].startswith(
        "How to close relaying (Exim): Exim decides relaying in the RCPT ACL")


def parse_message(path):
    import email
    import email.policy
    raw = path.read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return raw, msg


def test_notices_one_well_formed_message_per_open_relay(scanned):
    tmp, _, hosts = scanned
    files = sorted(p.name for p in (tmp / "notices").iterdir())
    h = hosts[NET + "2"]
    assert files == ["relay-%s2-%d.eml" % (NET, h["port"])]  # the only open relay
    raw, msg = parse_message(tmp / "notices" / files[0])
    assert msg.defects == [] and all(not part.defects for part in msg.walk())
    assert raw.isascii() and all(len(l) <= 998 for l in raw.split(b"\n"))
    token = [t["token"] for t in h["tests"] if t["delivered"]][0]
    assert (msg["From"], msg["To"], msg["Subject"], msg["X-Relaytrap-Token"]) == (
        "abuse@prober.example", "postmaster@[%s2]" % NET,
        "Open mail relay at %s2 port %d" % (NET, h["port"]), token)
    assert msg["Date"].datetime.year >= 2024 and msg["Message-ID"].startswith(
        "<relaytrap-notice.%s.%s2.%d." % (h["scan_id"], NET, h["port"]))
    assert msg.get_content_type() == "text/plain" and not msg.is_multipart()
    body = msg.get_content()
    for needle in [
        "What we found (open): a relay test it accepted arrived at the sink",
        "  test plain over plain (it arrived)",
        "    MAIL FROM:<relaytest@sink.lab>  ->  250 OK",
        "    RCPT TO:<rt-%s@sink.lab>  ->  250 2.1.5 Ok" % token,
        "relayed by your server (token %s)" % token,
        "    Received: from ",
        "The server says it is: exim 4.91",
        "  CVE-2019-10149 (critical): Exim 4.87 to 4.91 run commands",
        "How to close relaying (Exim):\n\nExim decides relaying in the RCPT ACL",
        "Contact: abuse@prober.example",
    ]:
        assert needle in body, needle
    received = h["deliveries"][0]["received"][0]["raw"]
    assert "    Received: " + received.replace("\n", " ").replace("\t", " ") in body


def test_notices_from_report_are_safe_against_hostile_results(scanned, tmp_path):
    """--report --notices from a results file someone else wrote: texts with line breaks,
    controls and non-ASCII land in the body escaped and cannot add header fields."""
    tmp, _, hosts = scanned
    h = dict(hosts[NET + "2"])
    evil = "mx.lab\r\nBcc: victim@example.com\r\n\r\nforged body \x1b[2J \u202e"
    h["target_host"] = evil
    h["banner"] = "x ESMTP Exim 4.91\r\nBcc: v2@example.com"
    h["tests"] = [dict(t, name="plain\nBcc: v3@example.com") for t in h["tests"]]
    run_line = next(json.loads(l) for l in (tmp / "r.jsonl").read_text().splitlines()
                    if json.loads(l)["type"] == "run")
    results = tmp_path / "evil.jsonl"
    results.write_text(json.dumps(run_line) + "\n" + json.dumps(h) + "\n")
    tmpl = tmp_path / "t.txt"
    tmpl.write_text("From: {contact_address}\nTo: postmaster@{target_literal}\n"
                    "Subject: relay {target_host} ({software})\nX-Test: {verdict}\n"
                    "  {target_host}\n\nName: {target_host}\n{accepted}\nend\n")
    out = tmp_path / "n"
    p = run("--report", results, "--notices", out, "--notice-template", tmpl,
            "--contact", "Desk <desk@example.org>\r\nBcc: x@example.com", "-q")
    assert p.returncode == 2 and "--contact" in p.stderr  # refused before anything is read
    p = run("--report", results, "--receipts", tmp / "r.sink" / "receipts.jsonl",
            "--notices", out, "--notice-template", tmpl, "--contact", "Desk <desk@example.org>",
            "-q")
    assert p.returncode == 1, p.stderr
    [f] = list(out.iterdir())
    raw, msg = parse_message(f)
    assert raw.isascii() and msg.defects == []
    assert sorted(msg.keys()) == ["From", "Subject", "To", "X-Test"]  # no Bcc, no body split
    assert msg["From"] == "desk@example.org"
    # in a header field: escaped like the body, and no line break survives ('?')
    ev = "mx.lab\\x0d?Bcc: victim@example.com\\x0d?\\x0d?forged body \\x1b[2J \\xe2\\x80\\xae"
    assert msg["Subject"] == "relay %s (exim 4.91)" % ev
    assert msg["X-Test"] == "open  " + ev  # unfolded: the continuation keeps its blanks
    body = msg.get_content()
    assert body.startswith("Name: mx.lab\\x0d\nBcc: victim@example.com\\x0d\n\\x0d\n"
                           "forged body \\x1b[2J \\xe2\\x80\\xae\n")
    assert "  test plain\nBcc: v3@example.com over plain (it arrived)" in body
    assert body.endswith("\nend\n")


@pytest.mark.parametrize("text,err", [
    ("Subject: {nope}\n\nbody\n", "t.txt:1: unknown macro {nope}"),
    ("From: x\nSubject: {evidence}\n\nbody\n", "t.txt:2: {evidence} goes in the body only"),
    ("From x\n\nbody\n", "t.txt:1: expected a header field (Name: value), then a blank line "
                         "and the body"),
    ("From: x\n", "t.txt: no header section and body (a blank line between)"),
])
def test_notice_template_errors(tmp_path, text, err):
    t = tmp_path / "t.txt"
    t.write_text(text)
    p = run("--check-config", "--notice-template", t)
    assert (p.returncode, p.stderr) == (2, "relaytrap: %s/%s\n" % (tmp_path, err))
