"""relaytrap against real mail servers (tests/lab/lab.py): 10 Postfix postures, Exim open,
closed and bouncing, OpenSMTPD open and closed, one scan with the embedded sink. Every host's
verdict, flags and the evidence behind them are asserted. Fails, never skips, when the lab
cannot run."""
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
    lab.up(base, ("127.0.0.1", port))
    try:
        p = subprocess.run(
            [str(BUILD / "relaytrap"), "--no-ptr", "-d", lab.SINK_DOMAIN, "--sink-listen",
             "127.0.0.1:%d" % port, "--source", lab.PROBER_SOURCE, "-w", "20", "--timeout", "10",
             "-o", str(out), *[s["addr"] for s in lab.servers()]],
            capture_output=True, text=True, timeout=600)
        hosts = {h["addr"]: h for h in map(json.loads, out.read_text().splitlines())
                 if h["type"] == "host"}
        receipts = [json.loads(line) for line in
                    (out.with_suffix(".sink") / "receipts.jsonl").read_text().splitlines()]
        p.split = split_run(base, port)
    finally:
        lab.down(base)
        out.unlink(missing_ok=True)
        shutil.rmtree(out.with_suffix(".sink"), ignore_errors=True)  # the embedded sink's
    return p, hosts, receipts


def by_name(hosts, name):
    return hosts[[s for s in lab.servers() if s["name"] == name][0]["addr"]]


def test_every_server_gets_its_expected_verdict(scan):
    p, hosts, _ = scan
    assert p.returncode == 1, p.stderr  # open relays found
    found = {s["name"]: (hosts[s["addr"]]["verdict"], hosts[s["addr"]]["flags"],
                         hosts[s["addr"]].get("delivered_via"),
                         hosts[s["addr"]]["fingerprint"]["product"])
             for s in lab.servers()}
    expected = {s["name"]: (s["verdict"], s["flags"], s["via"], s["mta"]) for s in lab.servers()}
    assert found == expected
    assert "17 hosts" in p.stderr and "2 open-anonymous, 6 open, 3 accepted, 1 deferred, " \
        "5 closed" in p.stderr
    # Only the bouncing servers bounce: no other server returned a DSN to the sink.
    for s in lab.servers():
        h = hosts[s["addr"]]
        if "bounces" not in s["flags"]:
            assert h["bounces"] == [], s["name"]
            assert all(t["outcome"] != "bounced" for t in h["tests"]), s["name"]


def test_servers_named_with_their_versions(scan):
    """The fingerprint names each lab MTA; Postfix (smtpd_banner with $mail_version) and Exim
    (its default banner) with the version the installed package reports. OpenSMTPD's banner
    carries no version, so neither does its fingerprint."""
    _, hosts, _ = scan
    v = lab.versions()
    want = {"postfix": v["Postfix"], "exim": v["Exim"], "opensmtpd": None}
    for s in lab.servers():
        fp = hosts[s["addr"]]["fingerprint"]
        assert (fp["product"], fp["version"], fp["source"]) == (s["mta"], want[s["mta"]],
                                                                "banner"), s["name"]


def test_open_relays_evidence(scan):
    _, hosts, _ = scan
    for name, family, delivered in (("pf-open", "postfix", 23), ("exim-open", "exim", 8),
                                    ("smtpd-open", "opensmtpd", 17)):
        h = by_name(hosts, name)
        assert h["target_host"] == name + ".lab"
        assert h["tests_delivered"] == delivered, name
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
    assert h["tests_delivered"] == 23
    out = by_name(hosts, "pf-tls-out")
    assert out["tls"] is None and out["tests_delivered"] == 23
    mine = [r for r in receipts if r["peer_addr"] == out["addr"]]
    assert len(mine) == 23 and all(r["tls"]["version"].startswith("TLSv1.") for r in mine)
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
        assert all(t["outcome"] != "not-run" for t in h["tests"]), name
        assert len(h["tests"]) == 24
