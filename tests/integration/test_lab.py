"""relaytrap against real mail servers (tests/lab/lab.py): 15 Postfix postures, Exim open,
closed and bouncing, OpenSMTPD open and closed, and a scripted relay whose AUTH takes empty
credentials, one scan with the embedded sink (port 465 for pf-465, 25 for the others). Every
host's verdict, flags, transport and the evidence behind them are asserted. Fails, never
skips, when the lab cannot run."""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import BUILD, free_port, wait_port

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lab"))
import lab  # noqa: E402


def split_run(base, port):
    """The bouncing servers again, as a split deployment: relaytrap --no-sink, a standalone
    relaytrap-sink on the address the lab relays to, verdicts from --report --receipts."""
    key = base / "split.key"
    key.write_bytes(os.urandom(32))
    receipts = base / "split-receipts.jsonl"
    sink = subprocess.Popen(
        [str(BUILD / "relaytrap-sink"), "-f", "-l", "127.0.0.1:%d" % port, "-d",
         lab.SINK_DOMAIN, "--secret-file", str(key), "--maildir", str(base / "split-Maildir"),
         "--receipts", str(receipts)], stderr=subprocess.DEVNULL)
    try:
        wait_port("127.0.0.1", port)
        bouncers = [s["addr"] for s in lab.servers() if "bounces" in s["flags"]]
        out, merged = base / "split.jsonl", base / "merged.jsonl"
        p = subprocess.run(
            [str(BUILD / "relaytrap"), "--no-ptr", "--no-sink", "--secret-file", str(key), "-d",
             lab.SINK_DOMAIN, "--source", lab.PROBER_SOURCE, "--timeout", "10", "-o", str(out),
             *bouncers], capture_output=True, text=True, timeout=300)
        deadline = time.monotonic() + 60  # two DSNs per server reach the sink
        while time.monotonic() < deadline:
            got = receipts.read_text().count('"class":"bounce"') if receipts.exists() else 0
            if got >= 2 * len(bouncers):
                break
            time.sleep(0.2)
        r = subprocess.run([str(BUILD / "relaytrap"), "--report", str(out), "--receipts",
                            str(receipts), "-o", str(merged)],
                           capture_output=True, text=True, timeout=60)
        hosts = {h["addr"]: h for h in map(json.loads, merged.read_text().splitlines())
                 if h["type"] == "host"}
        return p, r, hosts
    finally:
        sink.terminate()
        sink.wait(timeout=20)


@pytest.fixture(scope="module")
def scan():
    port = free_port()
    base = pathlib.Path(tempfile.mkdtemp(prefix="relaytrap-lab-"))
    out = base.parent / (base.name + ".jsonl")
    html_file = base.parent / (base.name + ".html")
    lab.up(base, ("127.0.0.1", port))
    try:
        p = subprocess.run(
            [str(BUILD / "relaytrap"), "--no-ptr", "-d", lab.SINK_DOMAIN, "--sink-listen",
             "127.0.0.1:%d" % port, "--source", lab.PROBER_SOURCE, "-w", "20", "--timeout", "10",
             "--per-net", str(lab.PER_NET), "-o", str(out), "--html", str(html_file),
             *[lab.target(s) for s in lab.servers()]],
            capture_output=True, text=True, timeout=600)
        hosts = {h["addr"]: h for h in map(json.loads, out.read_text().splitlines())
                 if h["type"] == "host"}
        receipts = [json.loads(line) for line in
                    (out.with_suffix(".sink") / "receipts.jsonl").read_text().splitlines()]
        p.split = split_run(base, port)
        p.html = html_file
    finally:
        lab.down(base)
        out.unlink(missing_ok=True)
        shutil.rmtree(out.with_suffix(".sink"), ignore_errors=True)  # the embedded sink's
    return p, hosts, receipts


def by_name(hosts, name):
    return hosts[[s for s in lab.servers() if s["name"] == name][0]["addr"]]


def catalogue(h):
    """The host's tests from the catalogue: not the smuggling tests (test_smuggling)."""
    return [t for t in h["tests"] if t["via"] not in ("smuggle", "smuggled")]


def catalogue_delivered(h):
    return sum(t["delivered"] for t in catalogue(h))


def transports(h):
    """The transports of the tests that sent a MAIL."""
    return {t["transport"] for t in h["tests"] if t["transport"] is not None}


# The tests with a path (AUTH, XCLIENT) each server offered; no other server has any.
PATH_TESTS = {
    "pf-xclient": {"xclient-localhost", "xclient-own"},
    "py-auth": {"auth-plain-empty", "auth-login-empty"},  # ANONYMOUS is not among its AUTH
}


def test_every_server_gets_its_expected_verdict(scan):
    p, hosts, _ = scan
    assert p.returncode == 1, p.stderr  # open relays found
    found = {s["name"]: (hosts[s["addr"]]["port"], hosts[s["addr"]]["verdict"],
                         hosts[s["addr"]]["flags"], hosts[s["addr"]].get("delivered_via"),
                         hosts[s["addr"]]["fingerprint"]["product"],
                         transports(hosts[s["addr"]]))
             for s in lab.servers()}
    expected = {s["name"]: (s["port"], s["verdict"], s["flags"], s["via"], s["mta"],
                            {s["transport"]}) for s in lab.servers()}
    assert found == expected
    assert len(hosts) == len(lab.servers()) == 21
    assert "21 hosts" in p.stderr and "3 open-anonymous, 8 open, 3 accepted, 2 deferred, " \
        "5 closed" in p.stderr
    # A test with a path runs only where the server offers it (AUTH or XCLIENT announced).
    for s in lab.servers():
        h = hosts[s["addr"]]
        assert {t["name"] for t in catalogue(h) if t["via"]} == \
            PATH_TESTS.get(s["name"], set()), s["name"]
        assert len(catalogue(h)) == 24 + len(PATH_TESTS.get(s["name"], ())), s["name"]
        if s["name"] not in PATH_TESTS:
            assert not {"auth_bypass", "xclient_spoof"} & set(h["flags"]), s["name"]
    # Only the bouncing servers bounce: no other server returned a DSN to the sink.
    for s in lab.servers():
        h = hosts[s["addr"]]
        if "bounces" not in s["flags"]:
            assert h["bounces"] == [], s["name"]
            assert all(t["outcome"] != "bounced" for t in h["tests"]), s["name"]


def test_servers_named_with_their_versions(scan):
    """The fingerprint names each lab MTA; Postfix (smtpd_banner with $mail_version) and Exim
    (its default banner) with the version the installed package reports. OpenSMTPD's banner,
    Debian's own smtpd_banner (pf-debian) and py-auth's ident carry no version, so neither
    does their fingerprint."""
    _, hosts, _ = scan
    v = lab.versions()
    want = {"postfix": v["Postfix"], "exim": v["Exim"], "opensmtpd": None, "aiosmtpd": None}
    for s in lab.servers():
        fp = hosts[s["addr"]]["fingerprint"]
        version = None if s["name"] == "pf-debian" else want[s["mta"]]  # Debian's banner
        assert (fp["product"], fp["version"], fp["source"]) == (s["mta"], version,
                                                                "banner"), s["name"]


def test_open_relays_evidence(scan):
    _, hosts, _ = scan
    for name, family, delivered in (("pf-open", "postfix", 23), ("exim-open", "exim", 8),
                                    ("smtpd-open", "opensmtpd", 17)):
        h = by_name(hosts, name)
        assert h["target_host"] == name + ".lab"
        assert catalogue_delivered(h) == delivered, name
        d = [e for e in h["deliveries"] if e["test"] == "plain"][0]
        assert d["peer_addr"] == h["addr"] and d["prober_visible"] is True
        r = d["received"][0]
        assert (r["family"], r["from_addr"], r["by"]) == (family, lab.PROBER_SOURCE, name + ".lab")
    # Postfix's percent hack at its own name: user%sink.lab@pf-open.lab reaches the sink.
    pf = by_name(hosts, "pf-open")
    assert {t["name"]: t["delivered"] for t in pf["tests"]}["percent-at-host"] is True
    # Exim refuses percent, bang and quoted forms with 501, takes the rest.
    ex = {t["name"]: t for t in by_name(hosts, "exim-open")["tests"]}
    assert ex["percent"]["replies"]["rcpt"]["code"] == 501
    assert ex["plain"]["delivered"] is True


def test_anonymous_relays(scan):
    _, hosts, _ = scan
    strip = by_name(hosts, "pf-strip")
    assert strip["deliveries"] and all(d["received"] == [] and not d["prober_visible"]
                                       for d in strip["deliveries"])
    hide = by_name(hosts, "pf-hide")
    for d in hide["deliveries"]:
        assert not d["prober_visible"]
        assert [(r["family"], r["from_addr"], r["by"]) for r in d["received"]] == \
            [("postfix", "127.0.0.1", "pf-hide.lab")]
        assert lab.PROBER_SOURCE not in json.dumps(d["received"])


def test_accepted_but_dropped_and_two_hops(scan):
    _, hosts, _ = scan
    dis = by_name(hosts, "pf-discard")
    assert (dis["tests_accepted"], dis["tests_delivered"], dis["deliveries"]) == (24, 0, [])
    sh = by_name(hosts, "pf-smarthost")
    d = [e for e in sh["deliveries"] if e["test"] == "plain"][0]
    assert d["peer_addr"] == "127.70.0.9" and d["prober_visible"] is True
    assert [(r["by"], r["from_addr"]) for r in d["received"]] == \
        [("pf-hub.lab", "127.70.0.8"), ("pf-smarthost.lab", lab.PROBER_SOURCE)]


def test_bounces(scan):
    """pf-bounce and exim-bounce take the relay tests (250 after DATA), then fail them and
    return a DSN to the envelope sender: the classic passive rejection. The DSNs for the two
    tests whose sender is at the sink domain (plain, rcpt-unbracketed) reach the sink, one
    per test, within a few seconds (inside the 20 s wait); the rest are held or frozen in the
    servers' queues. Postfix's error: transport reports 5.7.1 with an X-Postfix diagnostic,
    Exim's :fail: redirect 5.0.0 and no Diagnostic-Code."""
    _, hosts, receipts = scan
    for name, status, diagnostic in (
            ("pf-bounce", "5.7.1", "X-Postfix; relaying denied by policy"),
            ("exim-bounce", "5.0.0", None)):
        h = by_name(hosts, name)
        assert (h["verdict"], h["flags"]) == ("accepted", ["bounces"]), name
        assert (h["tests_delivered"], h["deliveries"]) == (0, []), name
        bounced = {t["name"]: t for t in h["tests"] if t["outcome"] == "bounced"}
        assert set(bounced) == {"plain", "rcpt-unbracketed"}, name
        assert h["tests_bounced"] == 2
        assert sorted(b["test"] for b in h["bounces"]) == ["plain", "rcpt-unbracketed"], name
        for b in h["bounces"]:
            assert b["test_number"] == bounced[b["test"]]["test_number"]
            assert b["peer_addr"] == h["addr"]
            dsn = b["dsn"]
            assert (dsn["status"], dsn["action"], dsn["reporting_mta"]) == \
                (status, "failed", name + ".lab"), name
            assert dsn["diagnostic_code"] == diagnostic, name
            assert b["delay"] < 10, (name, b["delay"])  # well inside the 20 s wait
    # Postfix takes all 24 tests and bounces all but sink-literal (held: the lab routes no
    # literal); Exim refuses the forms it refuses everywhere (501) and takes 10.
    assert by_name(hosts, "pf-bounce")["tests_accepted"] == 24
    assert by_name(hosts, "exim-bounce")["tests_accepted"] == 10
    # The sink's side: what came from the bouncing servers is classed a bounce (nothing was
    # relayed), and no other server sent one.
    bouncers = {s["addr"] for s in lab.servers() if "bounces" in s["flags"]}
    assert {r["peer_addr"] for r in receipts if r["class"] == "bounce"} == bouncers
    assert {r["class"] for r in receipts if r["peer_addr"] in bouncers} == {"bounce"}


def test_tls_relays(scan):
    """pf-tls-open relays only after STARTTLS: the prober upgrades and finds it open, every
    test it accepted with transport starttls. pf-tls-out delivers only over TLS: it reaches
    the sink because the sink offers STARTTLS, and every receipt from it says TLS."""
    _, hosts, receipts = scan
    h = by_name(hosts, "pf-tls-open")
    assert {t["transport"] for t in h["tests"]} == {"starttls"}
    assert h["tls"]["subject"] == "CN=pf-tls-open.lab" and h["tls"]["self_signed"] is True
    assert catalogue_delivered(h) == 23
    out = by_name(hosts, "pf-tls-out")
    assert out["tls"] is None and catalogue_delivered(out) == 23
    mine = [r for r in receipts if r["peer_addr"] == out["addr"]]
    # 23 of the catalogue, 9 smuggling tests and the 3 messages smuggled through
    assert len(mine) == 23 + 9 + 3
    assert all(r["tls"]["version"].startswith("TLSv1.") for r in mine)
    # Exim and OpenSMTPD use STARTTLS when it is offered (their defaults); the other Postfix
    # instances, with no smtp_tls_security_level, deliver in the clear
    def tls_from(name):
        return {r["tls"] is not None for r in receipts if r["peer_addr"] == by_name(hosts, name)["addr"]}
    assert tls_from("exim-open") == tls_from("smtpd-open") == {True}
    assert tls_from("pf-open") == tls_from("pf-tls-open") == {False}


def test_bounces_in_a_split_deployment(scan):
    """The same bouncing servers scanned with --no-sink, their DSNs received by a standalone
    relaytrap-sink, merged with --report --receipts: the same verdicts as the embedded run."""
    p, hosts, _ = scan
    split, report, merged = p.split
    assert split.returncode == 0, split.stderr
    assert report.returncode == 0, report.stderr
    for s in lab.servers():
        if "bounces" not in s["flags"]:
            continue
        h, e = merged[s["addr"]], hosts[s["addr"]]
        assert (h["verdict"], h["flags"], h["tests_bounced"], h["tests_delivered"]) == \
            ("accepted", ["bounces"], 2, 0), s["name"]
        assert (h["verdict"], h["flags"], h["tests_bounced"], h["reason"]) == \
            (e["verdict"], e["flags"], e["tests_bounced"], e["reason"]), s["name"]
        assert sorted(b["test"] for b in h["bounces"]) == ["plain", "rcpt-unbracketed"]


def codes(h, stage):
    return {t["replies"][stage]["code"] for t in h["tests"] if stage in t["replies"]}


def test_refusals(scan):
    _, hosts, _ = scan
    assert codes(by_name(hosts, "pf-closed"), "rcpt") == {554}
    assert codes(by_name(hosts, "pf-defer"), "rcpt") == {454}
    # pf-submit answers 530 until STARTTLS: the prober upgrades (the tests used to stop at
    # that 530, "auth-required", never asked), and over TLS relaying is refused
    sub = by_name(hosts, "pf-submit")
    assert codes(sub, "rcpt") == {554}
    assert {(t["outcome"], t["transport"]) for t in sub["tests"]} == {("rejected", "starttls")}
    assert sub["tls"]["version"].startswith("TLSv1.") and sub["tls"]["self_signed"] is True
    assert "STARTTLS" in sub["ehlo"]
    assert codes(by_name(hosts, "exim-closed"), "rcpt") <= {550, 501}
    assert codes(by_name(hosts, "smtpd-closed"), "rcpt") <= {550, 501}
    for h in hosts.values():
        if h["verdict"] in ("closed", "deferred", "auth-required"):
            assert h["deliveries"] == [] and h["tests_accepted"] == 0


def test_real_servers_that_hang_up(scan):
    """Exim drops the session after too many syntax errors (smtp_max_synprot_errors) and
    Postfix after 20 errors (421 4.7.0 too many errors): the prober reconnects and every
    test of the catalogue still gets an answer (pf-submit too, over STARTTLS on each new
    connection)."""
    _, hosts, _ = scan
    for name in ("exim-open", "exim-closed", "pf-closed", "pf-submit"):
        h = by_name(hosts, name)
        assert h["connections"] >= 2, name
        assert all(t["outcome"] != "not-run" for t in catalogue(h)), name
        assert len(catalogue(h)) == 24


def test_implicit_tls_on_465(scan):
    """pf-465 listens on 465 only, TLS from the first byte (smtpd_tls_wrappermode): the
    prober, given ADDR:465, speaks TLS at once (no STARTTLS offered or needed) and finds it
    open like pf-open, every test over implicit TLS."""
    _, hosts, _ = scan
    h = by_name(hosts, "pf-465")
    assert (h["port"], h["verdict"], h["flags"]) == (465, "open", ["partial", "smuggling"])
    assert [t["transport"] for t in h["tests"]] == ["tls"] * (24 + 18)
    assert h["tls"]["subject"] == "CN=pf-465.lab" and h["tls"]["self_signed"] is True
    assert h["tls"]["version"].startswith("TLSv1.")
    assert "STARTTLS" not in h["ehlo"]
    # the catalogue on one connection, then one per smuggling test; 3 smuggled messages relayed
    assert (h["tests_accepted"], h["tests_delivered"], h["connections"]) == (24 + 12, 23 + 12, 10)
    assert [t["name"] for t in catalogue(h) if not t["delivered"]] == ["sink-literal"]
    d = [e for e in h["deliveries"] if e["test"] == "plain"][0]
    assert d["peer_addr"] == h["addr"] and d["prober_visible"] is True


def test_xclient_spoof(scan):
    """pf-xclient refuses relaying (554) to everyone but trusts 127.0.0.1, and lets anyone
    say XCLIENT: after XCLIENT ADDR=127.0.0.1 NAME=localhost (Postfix greets again, 220) the
    plain test relays; after XCLIENT ADDR=<its own address>, not in its mynetworks, it is
    refused. The relayed message's Received header names localhost [127.0.0.1], not the
    prober: open-anonymous, flag xclient_spoof."""
    _, hosts, _ = scan
    h = by_name(hosts, "pf-xclient")
    assert (h["verdict"], h["flags"]) == ("open-anonymous", ["xclient_spoof"])
    assert any(e.startswith("XCLIENT ") and " ADDR " in e + " " for e in h["ehlo"])
    t = {x["name"]: x for x in h["tests"]}
    assert [n for n, x in t.items() if x["delivered"]] == ["xclient-localhost"]
    assert (t["xclient-localhost"]["outcome"], t["xclient-localhost"]["via"]) == \
        ("accepted", "xclient")
    assert t["xclient-localhost"]["replies"]["path"]["code"] == 220
    own = t["xclient-own"]
    assert (own["outcome"], own["via"], own["transport"]) == ("rejected", "xclient-own", "plain")
    assert (own["replies"]["path"]["code"], own["replies"]["rcpt"]["code"]) == (220, 554)
    assert {x["replies"]["rcpt"]["code"] for x in h["tests"] if not x["via"]} == {554}
    assert (h["tests_accepted"], h["tests_delivered"]) == (1, 1)
    [d] = h["deliveries"]
    assert (d["test"], d["peer_addr"], d["prober_visible"]) == \
        ("xclient-localhost", h["addr"], False)
    assert [(r["family"], r["from_addr"], r["by"]) for r in d["received"]] == \
        [("postfix", "127.0.0.1", "pf-xclient.lab")]


def test_empty_auth(scan):
    """py-auth (tests/lab/authrelay.py) announces AUTH LOGIN PLAIN, refuses relaying without
    it (554) and takes empty credentials: auth-plain-empty and auth-login-empty relay, each
    on its own session; AUTH ANONYMOUS, not offered, is not tried. Open (the prober's
    address is in the relay's Received header), auth_bypass."""
    _, hosts, _ = scan
    h = by_name(hosts, "py-auth")
    assert (h["verdict"], h["flags"], h["fingerprint"]["product"]) == ("open", ["auth_bypass"],
                                                                       "aiosmtpd")
    assert "AUTH LOGIN PLAIN" in h["ehlo"]
    t = {x["name"]: x for x in h["tests"]}
    assert sorted(n for n, x in t.items() if x["delivered"]) == \
        ["auth-login-empty", "auth-plain-empty"]
    for name, via in (("auth-plain-empty", "auth-plain"), ("auth-login-empty", "auth-login")):
        assert (t[name]["outcome"], t[name]["via"], t[name]["transport"]) == \
            ("accepted", via, "plain"), name
        assert t[name]["replies"]["path"]["code"] == 235, name
    assert "auth-anonymous" not in t
    # 554 relay denied; 553 from aiosmtpd's own parser (double-at-*, trailing-at)
    assert {x["name"] for x in h["tests"] if not x["via"] and
            x["replies"]["rcpt"]["code"] == 553} == {"double-at-literal", "double-at-host",
                                                    "trailing-at"}
    assert codes(h, "rcpt") == {553, 554, 250}
    # 3 connections: a new one after the accepted AUTH PLAIN, none after AUTH LOGIN (it offers
    # nothing else), one for the smuggling tests (it relayed), refused there without AUTH
    assert (h["tests_accepted"], h["tests_delivered"], h["connections"]) == (2, 2, 3)
    assert sorted(d["test"] for d in h["deliveries"]) == ["auth-login-empty", "auth-plain-empty"]
    for d in h["deliveries"]:
        assert d["peer_addr"] == h["addr"] and d["prober_visible"] is True
        assert [(r["from_addr"], r["by"]) for r in d["received"]] == \
            [(lab.PROBER_SOURCE, "py-auth.lab")]


def test_debian_as_shipped(scan):
    """Postfix with Debian's main.cf: STARTTLS offered (may), so the prober upgrades; then
    defer_unauth_destination answers 454 to every relay test: deferred, nothing accepted."""
    _, hosts, _ = scan
    h = by_name(hosts, "pf-debian")
    assert (h["verdict"], h["flags"]) == ("deferred", [])
    assert h["banner"] == "pf-debian.lab ESMTP Postfix (Debian/GNU)"
    assert "STARTTLS" in h["ehlo"] and h["tls"]["subject"] == "CN=pf-debian.lab"
    assert {(t["outcome"], t["transport"]) for t in h["tests"]} == {("deferred", "starttls")}
    assert codes(h, "rcpt") == {454}
    assert (h["tests_accepted"], h["deliveries"]) == (0, [])


def test_smuggling(scan):
    """The smuggling tests, run on the hosts that relayed. Debian's Postfix 3.7.11 keeps
    smtpd_forbid_bare_newline = no: it ends data at <LF>.<LF>, <LF>.<CR><LF> and
    <CR><LF>.<LF>, answers the smuggled MAIL, RCPT and DATA, and relays the smuggled message
    as one of its own (CVE-2023-51764). Exim 4.96 takes every variant as data and relays the
    whole message; OpenSMTPD takes the <LF> forms as an end followed by pipelined commands,
    which it refuses, and relays none of the smuggled ones."""
    _, hosts, receipts = scan

    def smuggling(h):
        inner = {t["name"][len("smuggle-"):-len("-inner")]: (t["outcome"], t["delivered"])
                 for t in h["tests"] if t["via"] == "smuggled"}
        outer = {t["name"][len("smuggle-"):]: (t["outcome"], t["delivered"],
                                               t["replies"]["end"]["code"])
                 for t in h["tests"] if t["via"] == "smuggle"}
        return inner, outer

    lenient = {"lf-dot-lf", "lf-dot-crlf", "crlf-dot-lf"}
    inner, outer = smuggling(by_name(hosts, "pf-open"))
    assert {k for k, v in inner.items() if v == ("accepted", True)} == lenient
    assert {k for k, v in inner.items() if v == ("not-run", False)} == set(inner) - lenient
    assert set(outer.values()) == {("accepted", True, 250)} and len(outer) == 9
    h = by_name(hosts, "exim-open")
    inner, outer = smuggling(h)
    assert set(inner.values()) == {("not-run", False)} and len(inner) == 9
    assert set(outer.values()) == {("accepted", True, 250)}
    assert "smuggling" not in h["flags"]
    h = by_name(hosts, "smtpd-open")
    inner, outer = smuggling(h)
    assert set(inner.values()) == {("not-run", False)} and len(inner) == 9
    assert {k for k, v in outer.items() if v == ("rejected", False, 500)} == lenient
    assert {v for k, v in outer.items() if k not in lenient} == {("accepted", True, 250)}
    assert "smuggling" not in h["flags"]
    # a server that relayed nothing gets no smuggling test
    for name in ("pf-closed", "pf-discard", "pf-bounce", "pf-debian", "exim-closed"):
        assert not [t for t in by_name(hosts, name)["tests"]
                    if t["via"] in ("smuggle", "smuggled")], name


def test_fix_advice_for_each_host_that_needs_it(scan):
    """The HTML report of the lab scan, as headless Chromium renders it: under every host
    that is open, open-anonymous or accepted (or bounces), one row of advice for its MTA
    (Postfix, Exim, OpenSMTPD; the generic one for the scripted relay); none under the
    others."""
    import html.parser
    import shutil
    p, hosts, _ = scan
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed (make deps installs it)"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with tempfile.TemporaryDirectory() as prof:  # unshare -n: the browser has no network
        dom = subprocess.run([shutil.which("unshare"), "-n", chromium, *flags,
                              "--user-data-dir=" + prof, "--dump-dom", p.html.as_uri()],
                             capture_output=True, text=True, timeout=120)
    p.html.unlink(missing_ok=True)
    assert dom.returncode == 0, dom.stderr[-2000:]

    class Fix(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.addr, self.fix, self.in_fix = None, {}, False

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "tbody" and a.get("class") == "h":
                self.addr = a["data-a"]
            if tag == "tr" and a.get("class") == "fx":
                self.in_fix = True
                self.fix[self.addr] = ""

        def handle_endtag(self, tag):
            if tag == "tr":
                self.in_fix = False

        def handle_data(self, data):
            if self.in_fix:
                self.fix[self.addr] += data

    page = Fix()
    page.feed(dom.stdout)
    # data-a is the address sort key: 4 + 32 hex digits (the IPv4 address first) + the port
    got = {"%d.%d.%d.%d" % tuple(bytes.fromhex(a[1:9])): t.split(":")[0]
           for a, t in page.fix.items()}
    title = {"postfix": "Postfix", "exim": "Exim", "opensmtpd": "OpenSMTPD",
             "aiosmtpd": "any mail server"}
    want = {s["addr"]: "How to close relaying (%s)" % title[s["mta"]] for s in lab.servers()
            if s["verdict"] in ("open", "open-anonymous", "accepted") or "bounces" in s["flags"]}
    assert got == want
