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
    Postfix 3.7.9, a closed scripted MDaemon, a server that names nothing, an open relay
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
                     ident="ESMTP Postfix (3.7.9) (Debian)"),
        relays.Relay("closed", NET + "6", port, banner_name="mx6.lab", ident="ESMTP"),
    ]
    ctl = relays.start(rs)
    md = relays.ScriptedServer(NET + "5", port, mdaemon)
    try:
        out = tmp / "r.jsonl"
        p = run("-o", out, "--timeout", "5", "--connect-timeout", "2", "-p", port,
                "--sink-listen", "127.0.0.1:%d" % sp, "-d", "sink.lab", "-w", "3",
                "-t", "plain,percent,bang", "--contact", "abuse@prober.example",
                "--html", tmp / "r.html", "--csv", tmp / "r.csv", NET + "2-" + NET + "7")
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
        "4": {"product": "postfix", "version": "3.7.9", "os": "Debian", "source": "banner"},
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
    closed ones (Postfix 3.7.9, MDaemon)."""
    _, p, _ = scanned
    out = p.stdout.splitlines()
    i = out.index("how to close relaying (hosts that relayed, accepted or bounced tests):")
    heads = [l for l in out[i + 1:] if l.startswith("  ") and not l.startswith("    ")]
    assert heads == ["  Exim (1 host):", "  Sendmail (1 host):"]
    exim = out[out.index("  Exim (1 host):") + 1]
    assert exim.startswith("    Exim decides relaying in the RCPT ACL (acl_smtp_rcpt).")
    assert all(len(l) <= 78 for l in out[i:])


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
        (NET + "4", "closed", "postfix 3.7.9 (Debian)", "medium", "CVE-2023-51764", "banner"),
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
    assert (p.returncode, p.stdout) == (0, "relaytrap: configuration OK: 24 relay tests, 58 "
                                           "fingerprint rules for 46 products, 11 "
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
