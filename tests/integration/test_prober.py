"""relaytrap against scripted relays on loopback: verdicts decided by delivery, odd and hostile
servers, resume, dry-run, shards, errors. Every server lives on 127.0.0.0/8."""
import json
import subprocess
import threading
import time

import pytest

import relays
from conftest import BUILD, MEM_SLACK, free_port

RELAYTRAP = BUILD / "relaytrap"


class Ran:
    pass


def run_measured(cmd, timeout, out_path, err_path):
    """Runs cmd: returncode, stdout, stderr, and maxrss, the process's own peak RSS (KiB) read
    from /proc/PID/status VmHWM while it runs. (wait4's ru_maxrss would include the forking
    pytest process's RSS, which survives exec.)"""
    peak = [0]
    with open(out_path, "w") as o, open(err_path, "w") as e:
        proc = subprocess.Popen(cmd, stdout=o, stderr=e)

        def watch():
            while proc.poll() is None:
                try:
                    for line in open(f"/proc/{proc.pid}/status"):
                        if line.startswith("VmHWM:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
                except (OSError, ValueError):
                    pass
                time.sleep(0.02)

        w = threading.Thread(target=watch)
        w.start()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        w.join()
    r = Ran()
    r.returncode = proc.returncode
    r.stdout, r.stderr = out_path.read_text(), err_path.read_text()
    r.maxrss = peak[0]
    return r


def scan(tmp_path, targets, *args, port=None, sink_port=None, timeout=120, name="r.jsonl",
         ptr=False):
    """ptr=False: --no-ptr, so that no test asks the machine's resolver (off loopback)."""
    out = tmp_path / name
    cmd = [str(RELAYTRAP), "-o", str(out), "--timeout", "5", "--connect-timeout", "2"]
    if not ptr:
        cmd.append("--no-ptr")
    if port:
        cmd += ["-p", str(port)]
    if sink_port:
        cmd += ["--sink-listen", "127.0.0.1:%d" % sink_port]
    cmd += list(args) + list(targets)
    t0 = time.monotonic()
    p = run_measured(cmd, timeout, tmp_path / (name + ".out"), tmp_path / (name + ".err"))
    p.elapsed = time.monotonic() - t0
    lines = [json.loads(l) for l in out.read_text().splitlines()] if out.exists() else []
    p.lines = lines
    p.hosts = {h["addr"]: h for h in lines if h["type"] == "host"}
    return p


def test_postures_decided_by_delivery(tmp_path):
    sp = free_port()
    net = "127.61.0."
    port = free_port(net + "2")
    sink = ("127.0.0.1", sp)
    rs = [
        relays.Relay("open", net + "2", port, sink),
        relays.Relay("strip", net + "3", port, sink),
        relays.Relay("hide", net + "4", port, sink),
        relays.Relay("drop", net + "5", port),
        relays.Relay("closed", net + "6", port),
        relays.Relay("greylist", net + "7", port),
        relays.Relay("auth", net + "8", port),
        relays.Relay("percent", net + "9", port, sink),
        relays.Relay("forward", net + "10", port, (net + "11", port)),
        relays.Relay("open", net + "11", port, sink),
    ]
    ctl = relays.start(rs)
    try:
        p = scan(tmp_path, [net + "2-" + net + "12"], "-w", "3", "-d", "sink.lab", port=port,
                 sink_port=sp)
    finally:
        relays.stop(ctl)
    assert p.returncode == 1, p.stderr  # open relays found
    v = {a: (h["verdict"], h["flags"]) for a, h in p.hosts.items()}
    assert v == {
        net + "2": ("open", []),
        net + "3": ("open-anonymous", []),
        net + "4": ("open-anonymous", []),  # Received rewritten to another address
        net + "5": ("accepted", []),  # accepted, dropped: not called open
        net + "6": ("closed", []),
        net + "7": ("deferred", []),
        net + "8": ("auth-required", []),
        net + "9": ("open", []),
        net + "10": ("open", ["multi_hop"]),
        net + "11": ("open", []),
        net + "12": ("unreachable", []),
    }
    assert p.hosts[net + "10"]["delivered_via"] == net + "11"
    # the percent-only relay fell for exactly the tests whose recipient has a % and no quotes
    pct = p.hosts[net + "9"]
    delivered = sorted(t["name"] for t in pct["tests"] if t["delivered"])
    assert delivered == sorted(
        t["name"] for t in pct["tests"] if t["outcome"] == "accepted"
    )
    assert "percent" in delivered and "plain" not in delivered
    op = p.hosts[net + "2"]
    assert op["tests_accepted"] == op["tests_delivered"] > 0
    assert op["fingerprint"] == {"product": "postfix", "version": None, "os": "Debian/GNU",
                                 "source": "banner"} and op["target_host"] == "relay.lab"
    ev = op["deliveries"][0]
    assert ev["peer_addr"] == net + "2" and ev["prober_visible"] is True
    assert sorted(ev["found_in"]) == ["body", "message-id", "rcpt", "subject", "x-relaytrap-token"]
    assert p.hosts[net + "3"]["deliveries"][0]["prober_visible"] is False
    closed = p.hosts[net + "6"]["tests"][0]
    assert closed["outcome"] == "rejected" and closed["replies"]["rcpt"]["code"] == 554
    assert "data" not in closed["replies"]
    s = p.lines[-1]
    assert s["type"] == "summary" and s["hosts"] == 11 and s["counts"]["open"] == 4
    assert p.lines[0]["type"] == "run" and len(p.lines[0]["tests"]) == 29 + 18
    assert "11 hosts" in p.stderr


def test_bounces_and_replies_are_not_relays(tmp_path):
    """Passive rejection: a relay that accepts every test and returns it as a DSN to the
    sender at the sink domain is accepted + bounces, never open (nor anonymous: the DSN's
    own trace headers do not show the prober). An auto-reply counts for nothing; a relay
    that relays only its first test is open + partial; the null-sender test relayed with
    its token in the recipient is a delivery."""
    sp = free_port()
    net = "127.62.0."
    port = free_port(net + "2")
    sink = ("127.0.0.1", sp)
    rs = [
        relays.Relay("bounce", net + "2", port, sink),
        relays.Relay("bounce-headers", net + "3", port, sink),
        relays.Relay("vacation", net + "4", port, sink),
        relays.Relay("first-only", net + "5", port, sink),
        relays.Relay("open", net + "6", port, sink),
        relays.Relay("null-only", net + "7", port, sink),
    ]
    ctl = relays.start(rs)
    try:
        p = scan(tmp_path, [net + "2-" + net + "7"], "-w", "3", "-d", "sink.lab", "--html",
                 str(tmp_path / "b.html"), "--no-smuggling", port=port, sink_port=sp)
    finally:
        relays.stop(ctl)
    assert p.returncode == 1, p.stderr
    for r in rs:
        assert r.errors == [], r.errors
    v = {a: (h["verdict"], h["flags"], h["tests_accepted"], h["tests_delivered"],
             h["tests_bounced"]) for a, h in p.hosts.items()}
    # aiosmtpd refuses 3 of the 24 recipients as syntax errors
    assert v == {
        net + "2": ("accepted", ["bounces"], 21, 0, 2),
        net + "3": ("accepted", ["bounces"], 21, 0, 2),
        net + "4": ("accepted", [], 21, 0, 0),
        net + "5": ("open", ["partial"], 21, 1, 0),
        net + "6": ("open", [], 21, 21, 0),
        net + "7": ("open", ["partial"], 21, 1, 0),
    }
    b = p.hosts[net + "2"]
    assert b["reason"] == "accepted 21 relay tests, then returned 2 of them as undeliverable (5.7.1)"
    bounced = sorted(t["name"] for t in b["tests"] if t["outcome"] == "bounced")
    assert bounced == ["plain", "rcpt-unbracketed"]  # the tests whose sender is at the sink
    assert [t["delivered"] for t in b["tests"]] == [False] * 24
    assert b["deliveries"] == [] and b["auto_replies"] == []
    ev = b["bounces"][0]
    assert ev["test"] == "plain" and ev["peer_addr"] == net + "2" and ev["mail_from"] == ""
    assert ev["rcpt"] == ["relaytest@sink.lab"]
    assert ev["dsn"] == {"status": "5.7.1", "action": "failed",
                         "diagnostic_code": "X-Postfix; relaying denied by policy",
                         "reporting_mta": "relay.lab",
                         "final_recipient": b["tests"][0]["rcpt_to"].strip("<>")}
    assert sorted(ev["found_in"]) == ["attached", "body"]
    h = p.hosts[net + "3"]  # the header-only DSN: the token in the enclosed header
    assert h["bounces"][1]["test"] == "rcpt-unbracketed"
    assert "attached" in h["bounces"][0]["found_in"]
    vac = p.hosts[net + "4"]
    assert [a["test"] for a in vac["auto_replies"]] == ["plain", "rcpt-unbracketed"]
    assert vac["auto_replies"][0]["auto_reply"] == "Auto-Submitted"
    assert vac["bounces"] == [] and vac["deliveries"] == []
    assert (vac["verdict"], vac["reason"]) == ("accepted", "accepted 21 relay tests; nothing "
                                               "relayed arrived, only 2 auto-replies to the "
                                               "sender (not counted)")
    first = p.hosts[net + "5"]
    assert first["reason"] == "relayed 1 of the 21 relay tests it accepted"
    assert [t["name"] for t in first["tests"] if t["delivered"]] == ["plain"]
    ns = [t for t in p.hosts[net + "6"]["tests"] if t["name"] == "null-sender"][0]
    assert ns["delivered"] is True and ns["mail_from"] == "<>"
    # a relay that passes on only the null-sender test: its token in the recipient decides
    nul = p.hosts[net + "7"]
    assert (nul["verdict"], nul["flags"]) == ("open", ["partial"])
    assert [t["name"] for t in nul["tests"] if t["delivered"]] == ["null-sender"]
    receipts = [json.loads(l) for l in
                (tmp_path / "r.sink" / "receipts.jsonl").read_text().splitlines()]
    classes = sorted((r["peer_addr"], r["class"]) for r in receipts)
    assert classes == sorted([(net + "2", "bounce")] * 2 + [(net + "3", "bounce")] * 2 +
                             [(net + "4", "auto-reply")] * 2 + [(net + "5", "relayed")] +
                             [(net + "6", "relayed")] * 21 + [(net + "7", "relayed")])
    s = p.lines[-1]
    assert s["counts"]["open"] == 3 and s["counts"]["accepted"] == 3
    assert s["counts"]["open-anonymous"] == 0
    # where people read it: the text summary, and the HTML report's evidence and legend
    assert ("(0 delivered of 21 accepted); accepted 21 relay tests, then returned 2 of them "
            "as undeliverable (5.7.1)") in p.stdout
    assert "(1 delivered of 21 accepted); relayed 1 of the 21 relay tests it accepted" in p.stdout
    html = (tmp_path / "b.html").read_text()
    assert html.count("returned as undeliverable (a bounce) from " + net + "2") == 2
    assert html.count("an auto-reply (not counted) from " + net + "4") == 2
    assert "<dt>status</dt><dd><code>5.7.1</code></dd>" in html
    assert "21 / 0 <small>(2 bounced)</small>" in html
    assert "What the verdicts and flags mean" in html
    for v in ("open-anonymous", "open", "accepted", "deferred", "auth-required", "closed",
              "refused", "not-smtp", "unreachable", "error"):
        assert '<tr><td><span class="vb v-%s">%s</span></td>' % (v, v) in html
    for f in ("bounces", "partial", "multi_hop", "tokens_disagree", "interrupted"):
        assert "<tr><td><i>%s</i></td>" % f in html


def test_smuggling_after_a_late_delivery(tmp_path):
    """A relay whose message arrives only after its session is over: the host, waiting for
    mail, gets its smuggling session then (within --concurrency), each variant on a
    connection of its own; a strict relay takes each as one message. A closed neighbour
    gets none. And -t with only smuggling tests is a usage error."""
    sp = free_port()
    net = "127.61.4."
    port = free_port(net + "2")
    rs = [relays.Relay("slow", net + "2", port, ("127.0.0.1", sp)),
          relays.Relay("closed", net + "3", port)]
    ctl = relays.start(rs)
    try:
        p = scan(tmp_path, [net + "2", net + "3"], "-w", "6", "-d", "sink.lab", "-t",
                 "plain,smuggle-lf-dot-lf,smuggle-cr-dot-cr", "-c", "1", port=port,
                 sink_port=sp)
    finally:
        relays.stop(ctl)
    assert p.returncode == 1, p.stderr + repr(rs[0].errors)
    h = p.hosts[net + "2"]
    t = {x["name"]: (x["outcome"], x["delivered"]) for x in h["tests"]}
    assert t == {"plain": ("accepted", True),
                 "smuggle-lf-dot-lf": ("accepted", True),
                 "smuggle-lf-dot-lf-inner": ("not-run", False),
                 "smuggle-cr-dot-cr": ("accepted", True),
                 "smuggle-cr-dot-cr-inner": ("not-run", False)}
    assert (h["verdict"], h["flags"], h["connections"]) == ("open", [], 3)
    assert "smuggl" not in h.get("transcript", "")  # no --transcript: nothing kept
    assert [x["name"] for x in p.hosts[net + "3"]["tests"]] == ["plain"]
    # without smuggling tests, a late delivery ends the wait at once (it was held to -w)
    ctl = relays.start([relays.Relay("slow", net + "2", port, ("127.0.0.1", sp))])
    try:
        p = scan(tmp_path, [net + "2"], "-w", "30", "-d", "sink.lab", "-t", "plain",
                 "--no-smuggling", port=port, sink_port=sp, name="n.jsonl")
    finally:
        relays.stop(ctl)
    assert p.returncode == 1 and p.hosts[net + "2"]["tests_delivered"] == 1, p.stderr
    assert p.elapsed < 15, p.elapsed
    q = subprocess.run([str(RELAYTRAP), "--dry-run", "-t", "smuggle-lf-dot-lf", "127.0.0.9"],
                       capture_output=True, text=True, timeout=30)
    assert q.returncode == 2 and "--tests: the smuggling tests run only for a host that " \
        "relayed one of the others" in q.stderr


def test_proxy_spoof(tmp_path):
    """--proxy-spoof: the first test goes on a connection that starts with a PROXY v1 header
    naming 127.0.0.1. A server that wants the header (behind haproxy, but reachable directly)
    and trusts what it says relays: open-anonymous (its Received line names the client the
    header named), flag proxy_spoof; the rest of the catalogue, without a header, gets no
    greeting. A server that does not speak PROXY answers the header as a command (500) and
    is tested as usual on the same connection."""
    sp = free_port()
    net = "127.61.3."
    port = free_port(net + "2")
    sink = ("127.0.0.1", sp)
    rs = [relays.Relay("proxy", net + "2", port, sink), relays.Relay("closed", net + "3", port)]
    ctl = relays.start(rs)
    try:
        p = scan(tmp_path, [net + "2", net + "3"], "-w", "3", "-d", "sink.lab", "-t", "plain",
                 "--proxy-spoof", "--source", net + "9", port=port, sink_port=sp)
    finally:
        relays.stop(ctl)
    assert p.returncode == 1, p.stderr + repr(rs[0].errors)
    assert p.lines[0]["tests"][0]["name"] == "proxy-localhost"
    h = p.hosts[net + "2"]
    t = {x["name"]: x for x in h["tests"]}
    assert (h["verdict"], h["flags"]) == ("open-anonymous", ["proxy_spoof"])
    assert (t["proxy-localhost"]["via"], t["proxy-localhost"]["outcome"],
            t["proxy-localhost"]["delivered"]) == ("proxy", "accepted", True)
    assert list(t) == ["proxy-localhost"] and h["tests_delivered"] == 1  # plain: no greeting
    assert h["connections"] == 2 and "no greeting reply" in h["reason"]
    assert h["deliveries"][0]["prober_visible"] is False
    c = p.hosts[net + "3"]
    t = {x["name"]: x for x in c["tests"]}
    assert (c["verdict"], c["flags"], c["connections"]) == ("closed", [], 1)
    assert t["proxy-localhost"]["outcome"] == "rejected"
    assert t["proxy-localhost"]["replies"]["path"]["code"] == 500
    assert "mail" not in t["proxy-localhost"]["replies"]
    assert t["plain"]["replies"]["rcpt"]["code"] == 554


def test_starttls_and_implicit_tls(tmp_path):
    """A relay that demands STARTTLS (530 before it) is tested over TLS and found open, where
    it used to be auth-required; one that only offers it is upgraded too (--starttls auto, the
    default); implicit TLS with --tls. Each test records its transport, each host its TLS
    session and certificate (self-signed here: the scan goes on). The relays deliver to the
    embedded sink in the clear (test_sink_starttls has the sink's side)."""
    ctx = relays.tls_server(tmp_path)
    sp = free_port()
    net = "127.63.0."
    port = free_port(net + "2")
    sink = ("127.0.0.1", sp)
    rs = [relays.Relay("open", net + "2", port, sink, tls=(ctx, "required")),
          relays.Relay("open", net + "3", port, sink, tls=(ctx, "starttls")),
          relays.Relay("open", net + "4", port, sink)]
    ctl = relays.start(rs)
    try:
        p = scan(tmp_path, [net + "2-" + net + "4"], "-w", "3", "-d", "sink.lab", "-t",
                 "plain,percent", port=port, sink_port=sp)
        never = scan(tmp_path, [net + "2"], "-w", "1", "-d", "sink.lab", "-t", "plain",
                     "--starttls", "never", port=port, sink_port=sp, name="never.jsonl")
    finally:
        relays.stop(ctl)
    assert p.returncode == 1, p.stderr
    v = {a: (h["verdict"], [t["transport"] for t in h["tests"]]) for a, h in p.hosts.items()}
    assert v == {net + "2": ("open", ["starttls", "starttls"]),
                 net + "3": ("open", ["starttls", "starttls"]),
                 net + "4": ("open", ["plain", "plain"])}
    t = p.hosts[net + "2"]["tls"]
    assert t["version"].startswith("TLSv1.") and t["cipher"]
    assert (t["subject"], t["issuer"], t["self_signed"], t["verified"]) == \
        ("CN=relay.lab", "CN=relay.lab", True, False)
    assert p.hosts[net + "4"]["tls"] is None
    assert "STARTTLS" in p.hosts[net + "2"]["ehlo"]
    # without STARTTLS the relay that demands it refuses, as before
    assert never.hosts[net + "2"]["verdict"] == "auth-required"
    assert never.hosts[net + "2"]["tls"] is None
    # implicit TLS: a server that speaks TLS from the first byte, with --tls
    port2 = free_port(net + "5")
    ctl = relays.start([relays.Relay("open", net + "5", port2, sink, tls=(ctx, "implicit"))])
    try:
        q = scan(tmp_path, [net + "5"], "-w", "3", "-d", "sink.lab", "-t", "plain", "--tls",
                 port=port2, sink_port=sp, name="tls.jsonl")
    finally:
        relays.stop(ctl)
    h = q.hosts[net + "5"]
    assert q.returncode == 1, q.stderr
    assert (h["verdict"], h["tests"][0]["transport"]) == ("open", "tls")
    assert h["tls"]["subject"] == "CN=relay.lab"


def test_hostile_relay_cannot_bloat_the_results(tmp_path):
    """A relay that delivers every test with a 20 KB subject, a 2 KB sender and 99 extra
    recipients of 900 bytes made a 39.9 MB host line, which --report and --resume then
    refused. The evidence is a bounded copy, marked truncated; the receipts keep it all."""
    sp = free_port()
    net = "127.63.1."
    port = free_port(net + "2")
    ctl = relays.start([relays.Relay("bloat", net + "2", port, ("127.0.0.1", sp))])
    try:
        p = scan(tmp_path, [net + "2"], "-w", "3", "-d", "sink.lab", "--no-smuggling",
                 port=port, sink_port=sp)
    finally:
        relays.stop(ctl)
    assert p.returncode == 1, p.stderr
    h = p.hosts[net + "2"]
    assert h["verdict"] == "open" and h["tests_delivered"] == 21
    line = [l for l in (tmp_path / "r.jsonl").read_text().splitlines() if '"type":"host"' in l][0]
    assert len(line) < 400000, len(line)
    ev = h["deliveries"][0]
    assert ev["truncated"] is True and ev["rcpt_count"] == 100 and len(ev["rcpt"]) == 8
    assert len(ev["subject"]) < 2100 and len(ev["mail_from"]) < 600
    receipts = (tmp_path / "r.sink" / "receipts.jsonl").read_text().splitlines()
    assert len(json.loads(receipts[0])["rcpt"]) == 100  # the receipt keeps everything
    r = subprocess.run([str(RELAYTRAP), "--report", str(tmp_path / "r.jsonl"), "-q"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr


def script_server(addr, script):
    port = free_port(addr)
    return relays.ScriptedServer(addr, port, script), port


def helo_only(conn):
    relays.serve(conn, b"220-old.example.org first line\r\n220 old.example.org ready\r\n",
                 {"EHLO": b"500 5.5.1 unrecognized command\r\n",
                  "RCPT": b"550 5.7.1 relaying denied\r\n"})


def drops_once(state):
    def script(conn):
        state["n"] += 1
        first = state["n"] == 1
        rcpts = [0]

        def rcpt(_):
            rcpts[0] += 1
            if first and rcpts[0] == 2:
                conn.sendall(b"421 4.7.0 too busy, closing\r\n")
                return None
            return b"554 5.7.1 no relaying\r\n"

        relays.serve(conn, b"220 flaky.example.org ESMTP\r\n", {"RCPT": rcpt})

    return script


def test_odd_servers(tmp_path):
    net = "127.62.0."
    a, pa = script_server(net + "2", helo_only)
    state = {"n": 0}
    b, pb = script_server(net + "3", drops_once(state))
    try:
        p1 = scan(tmp_path, [net + "2"], "-w", "1", port=pa, sink_port=free_port(), name="a.jsonl")
        p2 = scan(tmp_path, [net + "3"], "-w", "1", port=pb, sink_port=free_port(), name="b.jsonl")
    finally:
        a.stop()
        b.stop()
    h = p1.hosts[net + "2"]
    assert p1.returncode == 0, p1.stderr
    assert h["verdict"] == "closed" and h["esmtp"] is False
    assert h["banner"] == "old.example.org first line\nold.example.org ready"
    assert all(t["outcome"] == "rejected" for t in h["tests"]) and len(h["tests"]) == 24
    h = p2.hosts[net + "3"]
    assert h["verdict"] == "closed" and h["connections"] == 2
    outcomes = [t["outcome"] for t in h["tests"]]
    assert outcomes[1] == "error"  # the 421: the connection closed, not a relay answer
    assert outcomes.count("rejected") == 23  # carried on with the next test


def mute_after_quit(pipelining, seen):
    """Refuses relaying at RCPT and never answers QUIT: it waits for the prober to close."""
    def script(conn):
        ehlo = b"250-mute.example\r\n250 PIPELINING\r\n" if pipelining else b"250 mute.example\r\n"
        conn.sendall(b"220 mute.example ESMTP\r\n")
        while True:
            c = relays.read_cmd(conn)
            seen.append(c.split(" ")[0].upper() if c else "EOF")
            if not c:
                return
            verb = c.split()[0].upper()
            if verb == "QUIT":
                continue  # no 221: the next read sees the prober's close
            conn.sendall({"EHLO": ehlo, "RCPT": b"554 5.7.1 relay access denied\r\n"}
                         .get(verb, b"250 ok\r\n"))
    return script


def test_quit_not_waited_for_and_round_trips_counted(tmp_path):
    """Issue 18: after the last test the prober sends QUIT (no RSET before it) and closes
    without waiting for the 221; each host line counts the round trips its session took."""
    net = "127.62.1."
    seen_lock, seen_pipe = [], []
    a, pa = script_server(net + "2", mute_after_quit(False, seen_lock))
    b, pb = script_server(net + "3", mute_after_quit(True, seen_pipe))
    try:
        p1 = scan(tmp_path, [net + "2"], "-t", "plain,percent", "-w", "0", "--timeout", "20",
                  port=pa, sink_port=free_port(), name="a.jsonl")
        p2 = scan(tmp_path, [net + "3"], "-t", "plain,percent", "-w", "0", "--timeout", "20",
                  port=pb, sink_port=free_port(), name="b.jsonl")
    finally:
        a.stop()
        b.stop()
    for p, seen, trips in ((p1, seen_lock, 7), (p2, seen_pipe, 4)):
        assert p.returncode == 0, p.stderr
        h = p.hosts[net + ("2" if seen is seen_lock else "3")]
        assert (h["verdict"], h["session_end"], h["reason"]) == ("closed", "tests", None)
        # lockstep: greeting, EHLO, MAIL, RCPT, RSET, MAIL, RCPT; pipelined: greeting, EHLO,
        # MAIL+RCPT, RSET+MAIL+RCPT
        assert h["round_trips"] == trips
        assert seen == ["EHLO", "MAIL", "RCPT", "RSET", "MAIL", "RCPT", "QUIT", "EOF"]
        assert h["seconds"] < 10  # not the 20 s --timeout a 221 that never comes would cost


def endless(conn):
    conn.sendall(b"220 x ESMTP\r\n")
    relays.read_cmd(conn)
    for _ in range(100000):
        conn.sendall(b"250-more and more\r\n")


def huge_line(conn):
    conn.sendall(b"220 " + b"A" * (1 << 20) + b"\r\n")


def dripping(conn):
    for ch in b"220 slow ESMTP\r\n":
        conn.sendall(bytes([ch]))
        time.sleep(10)


def garbage(conn):
    conn.sendall(b"220 x ESMTP\r\n")
    relays.read_cmd(conn)
    conn.sendall(bytes(range(256)) * 64)


def close_mid_reply(conn):
    conn.sendall(b"220 x ESMTP\r\n")
    relays.read_cmd(conn)
    conn.sendall(b"250-x\r\n250-PIPEL")


def early_reply(conn):
    conn.sendall(b"220 x ESMTP\r\n250 who asked\r\n")
    time.sleep(5)


def tls_then(after):
    """A server that offers STARTTLS and, on its first connection, answers it 220 and then
    does after(conn) instead of a handshake; later connections refuse relaying."""
    state = {"n": 0}

    def script(conn):
        state["n"] += 1
        if state["n"] > 1:
            relays.serve(conn, b"220 tls.example ESMTP\r\n",
                         {"EHLO": b"250-tls.example\r\n250 STARTTLS\r\n",
                          "RCPT": b"554 5.7.1 no relaying\r\n"})
            return
        conn.sendall(b"220 tls.example ESMTP\r\n")
        relays.read_cmd(conn)
        conn.sendall(b"250-tls.example\r\n250 STARTTLS\r\n")
        relays.read_cmd(conn)
        conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
        after(conn)

    return script


def test_hostile_tls_servers(tmp_path):
    """A server that answers STARTTLS and then sends no handshake (garbage, or silence until
    the reply timeout): the host is tested again in the clear on a new connection, STARTTLS
    not tried twice. A plaintext server scanned with --tls: not-smtp after one try."""
    net = "127.63.2."
    port = free_port(net + "2")
    scripts = [tls_then(lambda c: c.sendall(b"this is not TLS\r\n" * 64)),
               tls_then(lambda c: time.sleep(8))]
    servers = [relays.ScriptedServer(net + str(2 + i), port, s) for i, s in enumerate(scripts)]
    plain = relays.Relay("closed", net + "9", port)
    ctl = relays.start([plain])
    try:
        p = scan(tmp_path, [net + "2", net + "3"], "-w", "1", "--timeout", "2", "-t",
                 "plain,percent", port=port, sink_port=free_port())
        q = scan(tmp_path, [net + "9"], "-w", "1", "--timeout", "2", "-t", "plain", "--tls",
                 port=port, sink_port=free_port(), name="q.jsonl")
    finally:
        for s in servers:
            s.stop()
        relays.stop(ctl)
    assert p.returncode == 0, p.stderr
    for a, why in ((net + "2", "TLS handshake"), (net + "3", "TLS handshake")):
        h = p.hosts[a]
        assert (h["verdict"], h["connections"], h["tls"]) == ("closed", 2, None), h
        assert [(t["outcome"], t["transport"]) for t in h["tests"]] == \
            [("rejected", "plain")] * 2
    assert servers[0].connections == servers[1].connections == 2
    h = q.hosts[net + "9"]
    assert (h["verdict"], h["connections"]) == ("not-smtp", 1), h
    assert "TLS" in h["reason"], h["reason"]


def test_hostile_servers(tmp_path):
    net = "127.63.0."
    port = free_port(net + "2")
    scripts = [endless, huge_line, dripping, garbage, close_mid_reply, early_reply]
    servers = [relays.ScriptedServer(net + str(2 + i), port, s) for i, s in enumerate(scripts)]
    good = relays.Relay("closed", net + "20", port)
    ctl = relays.start([good])
    try:
        p = scan(tmp_path, [net + "2-" + net + "7", net + "20"], "-w", "1", "--timeout", "2",
                 "--host-timeout", "6", port=port, sink_port=free_port())
    finally:
        for s in servers:
            s.stop()
        relays.stop(ctl)
    assert p.returncode == 0, p.stderr
    v = {a: (h["verdict"], h["reason"]) for a, h in p.hosts.items()}
    assert v[net + "2"][0] == "error" and "too-many-lines" in v[net + "2"][1]
    assert v[net + "3"][0] == "not-smtp" and "line-too-long" in v[net + "3"][1]
    assert v[net + "4"][0] == "error" and "no greeting reply within 2 s" in v[net + "4"][1]
    assert v[net + "5"][0] == "error" and "not an SMTP reply" in v[net + "5"][1]
    assert v[net + "6"][0] == "error" and "gave up after 2 reconnects" in v[net + "6"][1]
    assert v[net + "7"][0] == "error" and "reply before the command" in v[net + "7"][1]
    assert v[net + "20"][0] == "closed"  # unaffected by its neighbours
    assert p.elapsed < 6 + 5  # every host within --host-timeout, plus start and stop
    assert 0 < p.maxrss < 16 * 1024 * MEM_SLACK  # KiB, relaytrap alone


def test_resume_skips_final_hosts(tmp_path):
    net = "127.64.0."
    port = free_port(net + "2")
    ctl = relays.start([relays.Relay("closed", net + str(i), port) for i in (2, 3, 4)])
    out = tmp_path / "r.jsonl"
    names = subprocess.run([str(RELAYTRAP), "--list-tests"], capture_output=True, text=True,
                           timeout=30).stdout.split("\n")
    run = {"type": "run", "ports": [port], "sink": {"embedded": True, "domain": None},
           "tests": [{"name": l.lstrip("# ").split()[0]} for l in names if l.strip()]}
    out.write_text(
        json.dumps(run) + "\n"
        + json.dumps({"type": "host", "addr": net + "3", "port": port, "verdict": "closed"})
        + "\n" + '{"type":"host","addr":"127.64.0.4","po'  # torn by a kill
    )
    base = [str(RELAYTRAP), "--no-ptr", "-w", "1", "--sink-listen",
            "127.0.0.1:%d" % free_port(), net + "2-" + net + "4"]
    try:
        # resuming with other ports than the first run asked is refused, the file untouched
        before = out.read_text()
        p = subprocess.run(base + ["--resume", str(out), "-p", "2525"], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 2 and "the first run used other ports (--port)" in p.stderr
        assert out.read_text() == before
        p = subprocess.run(base + ["--resume", str(tmp_path / "nosuch.jsonl"), "-p", str(port)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 2 and "nosuch.jsonl: No such file or directory" in p.stderr
        assert not (tmp_path / "nosuch.jsonl").exists()
        p = subprocess.run(base + ["--resume", str(out), "-p", str(port), "--html",
                                   str(tmp_path / "r.html"), "--csv", str(tmp_path / "r.csv")],
                           capture_output=True, text=True, timeout=60)
    finally:
        relays.stop(ctl)
    assert p.returncode == 0, p.stderr
    lines = out.read_text().splitlines()
    assert lines[2] == '{"type":"host","addr":"127.64.0.4","po'  # left as it was
    recs = [json.loads(l) for l in lines[3:]]
    hosts = sorted(r["addr"] for r in recs if r["type"] == "host")
    assert hosts == [net + "2", net + "4"]
    assert recs[0]["type"] == "run" and recs[0]["resumed"] is True
    assert recs[-1]["skipped_resume"] == 1
    # the reports cover every host in the file, the earlier run's and this one's
    assert "relaytrap report: 3 hosts" in (tmp_path / "r.html").read_text()
    csv_hosts = sorted(l.split(",")[0] for l in (tmp_path / "r.csv").read_text().splitlines()[1:])
    assert csv_hosts == [net + "2", net + "3", net + "4"]
    assert "relaytrap: 3 hosts" in p.stdout


def test_interrupt_leaves_waiting_hosts_unfinished(tmp_path):
    """Ctrl-C while hosts wait for relayed mail: an open relay already seen is final, a host
    still waiting is written "final": false (not as a final accepted) and --resume tests it
    again; the summary says how many targets are final; exit 1 when an open relay was found,
    else 3."""
    import signal
    net = "127.64.3."
    port = free_port(net + "2")
    sp = free_port()
    out = tmp_path / "r.jsonl"
    ctl = relays.start([relays.Relay("open", net + "2", port, ("127.0.0.1", sp)),
                        relays.Relay("drop", net + "3", port)])
    try:
        cmd = [str(RELAYTRAP), "--no-ptr", "-t", "plain", "-w", "60", "-p", str(port),
               "--sink-listen", "127.0.0.1:%d" % sp, "-o", str(out), net + "2-" + net + "3"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
                not out.exists() or out.read_text().count('"type":"host"') < 1):
            time.sleep(0.1)  # the open relay is final once its message arrived
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 1, stderr  # an open relay was found: that decides
        lines = [json.loads(l) for l in out.read_text().splitlines()]
        hosts = {h["addr"]: h for h in lines if h["type"] == "host"}
        assert hosts[net + "2"]["verdict"] == "open" and "final" not in hosts[net + "2"]
        waiting = hosts[net + "3"]
        assert waiting["final"] is False and "interrupted" in waiting["flags"]
        s = lines[-1]
        assert s["interrupted"] is True and s["hosts"] == 1 and s["unfinished"] == 1
        assert s["counts"]["accepted"] == 0
        assert "interrupted: 1 of 2 targets final; finish with relaytrap --resume " in stdout
        assert "no open relay found" not in stdout
        # --resume tests the waiting host again and skips the final one
        r = subprocess.run(cmd[:cmd.index("-w")] + ["-w", "1", "--resume", str(out)] +
                           cmd[cmd.index("-p"):cmd.index("-o")] + [net + "2-" + net + "3"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        new = [json.loads(l) for l in out.read_text().splitlines()][len(lines):]
        assert [(h["addr"], h["verdict"]) for h in new if h["type"] == "host"] == \
            [(net + "3", "accepted")]
        assert new[-1]["skipped_resume"] == 1
        # the summary counts each target once: the open relay and the host tested again
        assert "relaytrap: 2 hosts\n  open            1\n  accepted        1\n" in r.stdout
        # interrupted with no open relay: exit 3
        proc = subprocess.Popen(cmd[:-3] + ["-o", str(tmp_path / "d.jsonl"), net + "3"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 3, stderr
        assert "interrupted: 0 of 1 targets final" in stdout
    finally:
        relays.stop(ctl)


def test_progress_line(tmp_path):
    """On a terminal the line is redrawn in place and its ETA counts the hosts still inside
    --wait; into a file (--progress, stderr not a terminal) plain lines, no escape codes."""
    import shlex
    net = "127.64.4."
    port = free_port(net + "2")
    ctl = relays.start([relays.Relay("drop", net + "2", port)])
    try:
        cmd = [str(RELAYTRAP), "--no-ptr", "-t", "plain", "-w", "3", "-p", str(port),
               "--sink-listen", "127.0.0.1:%d" % free_port(), net + "2"]
        # bytes, not text: text mode would turn every "\r" into a line break
        tty = subprocess.run(["script", "-qec", shlex.join(cmd + ["-o", str(tmp_path / "a")]),
                              "/dev/null"], capture_output=True, timeout=60)
        plain = subprocess.run(cmd + ["--progress", "-o", str(tmp_path / "b")],
                               capture_output=True, timeout=60)
    finally:
        relays.stop(ctl)
    tty.stdout, plain.stderr = tty.stdout.decode(), plain.stderr.decode()
    assert tty.returncode == 0 and plain.returncode == 0, tty.stdout + plain.stderr
    frames = tty.stdout.split("\r")
    waiting = [f for f in frames if f.startswith("0/1 done") and "1 active" in f]
    assert waiting, tty.stdout
    # the session is over at once; the ETA is the --wait still to run, not 0
    assert any("ETA 0h00m03s" in f or "ETA 0h00m02s" in f for f in waiting), waiting
    assert "\x1b[K" in tty.stdout
    assert "\x1b" not in plain.stderr and "\r" not in plain.stderr
    assert plain.stderr.splitlines()[0].startswith("1/1 done (100.0%)")
    assert " connects/s, " in plain.stderr.splitlines()[0], plain.stderr


def test_outputs_checked_before_any_is_touched(tmp_path):
    """A bad --html or --csv path, or a sink that cannot bind, fails the run before the
    results file (or an earlier CSV) is truncated; the run line records argv as given."""
    import socket
    out, csv = tmp_path / "r.jsonl", tmp_path / "r.csv"
    out.write_text("an earlier scan\n")
    csv.write_text("an earlier table\n")
    sp = free_port()
    common = ["--no-ptr", "-o", str(out), "--sink-listen", "127.0.0.1:%d" % sp, "127.64.9.1"]
    for bad in (["--html", str(tmp_path / "no" / "r.html")],
                ["--csv", str(tmp_path / "no" / "r.csv")]):
        p = subprocess.run([str(RELAYTRAP)] + bad + common, capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 3 and "No such file or directory" in p.stderr
        assert out.read_text() == "an earlier scan\n"
        assert not (tmp_path / "r.sink").exists()  # nor the embedded sink's store
    with socket.socket() as busy:  # the embedded sink cannot bind
        busy.bind(("127.0.0.1", sp))
        busy.listen(1)
        p = subprocess.run([str(RELAYTRAP), "--csv", str(csv)] + common, capture_output=True,
                           text=True, timeout=30)
    assert p.returncode == 3 and "embedded sink" in p.stderr
    assert out.read_text() == "an earlier scan\n" and csv.read_text() == "an earlier table\n"
    assert not list(tmp_path.glob("*.tmp"))
    argv = [str(RELAYTRAP), "127.64.9.1", "-o", str(out), "--no-ptr", "-w", "0",
            "--connect-timeout", "1", "--sink-listen", "127.0.0.1:%d" % sp, "-t", "plain"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert json.loads(out.read_text().splitlines()[0])["argv"] == argv
    # -o -: the JSON lines on stdout, the text summary on stderr, the sink beside results.jsonl
    p = subprocess.run(argv[:2] + ["-o", "-", "--sink-dir", str(tmp_path / "s")] + argv[4:],
                       capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    types = [json.loads(l)["type"] for l in p.stdout.splitlines()]
    assert types == ["run", "host", "summary"]
    assert "relaytrap: 1 host\n  unreachable     1\nno open relay found\n" in p.stderr
    assert "results on standard output" in p.stderr


def test_nothing_left_to_scan_ends_at_once(tmp_path):
    """A scan whose every target is reserved, excluded or already final ends by itself (it
    used to stop its event loop before the loop ran, and wait for ever)."""
    (tmp_path / "x").write_text("127.62.2.2\n")
    key = tmp_path / "key"
    key.write_bytes(b"k" * 32)
    sp = str(free_port())
    runs = [
        ["224.0.0.1"],
        ["-x", str(tmp_path / "x"), "127.62.2.2"],
        ["--no-sink", "-d", "sink.example", "--secret-file", str(key), "-x",
         str(tmp_path / "x"), "127.62.2.2"],
    ]
    for i, args in enumerate(runs):
        p = scan(tmp_path, args, "-w", "0", sink_port=int(sp), name="n%d.jsonl" % i, timeout=15)
        assert p.returncode == 0, (args, p.returncode, p.stderr)
        assert p.hosts == {} and p.lines[-1]["hosts"] == 0, args
    # a resume whose every host is final
    dead = "127.62.2.3"
    p = scan(tmp_path, [dead], "-p", "9", "-w", "0", sink_port=int(sp), name="res.jsonl")
    assert p.hosts[dead]["verdict"] == "unreachable"
    r = run_measured([str(RELAYTRAP), "--resume", str(tmp_path / "res.jsonl"), "--no-ptr",
                      "--sink-listen", "127.0.0.1:" + sp, "-p", "9", "-w", "0", dead], 30,
                     tmp_path / "res.out", tmp_path / "res.err")
    assert r.returncode == 0, r.stderr


def dry(*args):
    return subprocess.run([str(RELAYTRAP), "--dry-run"] + list(args), capture_output=True,
                          text=True, timeout=30)


def test_dry_run_shards_and_exclusions(tmp_path):
    p = dry("-t", "plain", "-d", "sink.example", "192.0.2.0/28")
    assert p.returncode == 0, p.stderr
    heads = [l for l in p.stdout.splitlines() if l.startswith("== ")]
    assert len(heads) == 16
    assert p.stdout.count("> RCPT TO:<rt-") == 16 and "@sink.example>" in p.stdout
    # deterministic order, not sequential
    assert heads != sorted(heads, key=lambda h: int(h.split()[1].split(".")[3]))
    again = [l for l in dry("-t", "plain", "192.0.2.0/28").stdout.splitlines() if l.startswith("== ")]
    assert again == heads  # same seed, same order
    other = [l for l in dry("-t", "plain", "--seed", "7", "192.0.2.0/28").stdout.splitlines() if l.startswith("== ")]
    assert other != heads and sorted(other) == sorted(heads)
    s1 = [l for l in dry("-t", "plain", "--shard", "1/3", "192.0.2.0/28").stdout.splitlines() if l.startswith("== ")]
    s2 = [l for l in dry("-t", "plain", "--shard", "2/3", "192.0.2.0/28").stdout.splitlines() if l.startswith("== ")]
    s3 = [l for l in dry("-t", "plain", "--shard", "3/3", "192.0.2.0/28").stdout.splitlines() if l.startswith("== ")]
    assert sorted(s1 + s2 + s3) == sorted(heads) and len(s1) + len(s2) + len(s3) == 16
    ex = tmp_path / "ex.txt"
    ex.write_text("# never these\n192.0.2.0/30\n192.0.2.9\n")
    p = dry("-t", "plain", "-x", str(ex), "192.0.2.0/28")
    assert len([l for l in p.stdout.splitlines() if l.startswith("== ")]) == 11
    p = dry("-t", "plain", "-p", "25,587", "localhost")
    assert "== 127.0.0.1 port 25" in p.stdout and "== 127.0.0.1 port 587" in p.stdout
    # every word of every line of an exclusion list counts (only the first did)
    ex.write_text("127.77.0.5 127.77.0.6\n127.77.0.1,127.77.0.2 # and a comment\n")
    p = dry("-t", "plain", "-x", str(ex), "127.77.0.0/29")
    heads = sorted(l for l in p.stdout.splitlines() if l.startswith("== "))
    assert heads == ["== 127.77.0.%d port 25" % i for i in (0, 3, 4, 7)]
    # targets with their own ports: on the command line, in a list, from masscan and zmap
    lst = tmp_path / "masscan.txt"
    lst.write_text("#masscan\nopen tcp 587 127.77.1.1 1700000000\nopen tcp 25 127.77.1.2 1700000000\n")
    p = dry("-t", "plain", "127.77.1.3:2525", "[::1]:26", "@" + str(lst))
    heads = sorted(l for l in p.stdout.splitlines() if l.startswith("== "))
    assert heads == ["== 127.77.1.1 port 587", "== 127.77.1.2 port 25",
                     "== 127.77.1.3 port 2525", "== ::1 port 26"], p.stderr
    # reserved addresses are never scanned, whatever the targets say, and the user is told
    p = dry("-t", "plain", "224.0.0.1", "0.0.0.7", "255.255.255.255", "ff02::1", "127.77.2.1")
    assert [l for l in p.stdout.splitlines() if l.startswith("== ")] == ["== 127.77.2.1 port 25"]
    assert ("the targets include reserved addresses, which are never scanned: 0.0.0.0/8, "
            "224.0.0.0/4, 240.0.0.0/4, ::, ff00::/8") in p.stderr
    p = subprocess.run([str(RELAYTRAP), "--dry-run", "--no-ptr", "-t", "plain", "-"],
                       input="saddr,sport\n127.77.1.9,25\n", capture_output=True, text=True,
                       timeout=30)
    assert [l for l in p.stdout.splitlines() if l.startswith("== ")] == ["== 127.77.1.9 port 25"]
    # nmap's -iL FILE (and --input-list FILE) is the same as @FILE, also with no other target
    p = dry("-t", "plain", "-iL", str(lst), "--input-list", str(lst), "127.77.1.3:2525")
    heads = sorted(l for l in p.stdout.splitlines() if l.startswith("== "))
    assert heads == ["== 127.77.1.1 port 587", "== 127.77.1.2 port 25",
                     "== 127.77.1.3 port 2525"], p.stderr
    p = dry("-t", "plain", "-iL", str(lst))
    assert p.returncode == 0 and p.stdout.count("\n== ") + p.stdout.startswith("== ") == 2


def test_usage_errors(tmp_path):
    def run(*args):
        return subprocess.run([str(RELAYTRAP)] + list(args), capture_output=True, text=True,
                              timeout=30)

    p = run("--tests", "plain,nosuch", "127.0.0.9")
    assert p.returncode == 2 and "--tests: no test named 'nosuch'" in p.stderr
    p = run("--port", "0", "127.0.0.9")
    assert p.returncode == 2 and "--port 0" in p.stderr
    p = run("--shard", "3/2", "127.0.0.9")
    assert p.returncode == 2 and "--shard 3/2" in p.stderr
    p = run("--shard-index", "2", "--shards", "2", "127.0.0.9")
    assert p.returncode == 2 and "--shard-index 2 --shards 2: expected 0 <= I < N" in p.stderr
    p = run("--shard-index", "0", "127.0.0.9")
    assert p.returncode == 2 and "--shard-index and --shards go together" in p.stderr
    p = run("--shard", "1/2", "--shard-index", "1", "--shards", "2", "127.0.0.9")
    assert p.returncode == 2 and "--shard 1/2 and --shard-index 1 --shards 2 name different " \
        "parts" in p.stderr
    bad = tmp_path / "t.txt"
    bad.write_text("192.0.2.1\n\n300.1.2.3/8\n")
    p = run("@" + str(bad))
    assert p.returncode == 2 and str(bad) + ":3:" in p.stderr
    ex = tmp_path / "ex.txt"
    ex.write_text("mail.example.com\n")
    p = run("-x", str(ex), "127.0.0.9")
    assert p.returncode == 2 and "ex.txt:1: 'mail.example.com': names are not allowed here" in p.stderr
    p = run("--resolver", "1.2.3.4:99999", "127.0.0.9")
    assert p.returncode == 2 and "--resolver '99999': port must be 1-65535" in p.stderr
    p = run("--resolver", "dns.example", "127.0.0.9")
    assert p.returncode == 2 and "--resolver 'dns.example': not an IPv4 or IPv6 address" in p.stderr
    p = run("--no-sink", "127.0.0.9")  # tests would go to this host's literal: no sink there
    assert p.returncode == 2 and "--no-sink needs --sink-domain" in p.stderr
    p = run("--no-sink", "-d", "sink.example", "127.0.0.9")
    assert p.returncode == 2 and "--secret-file" in p.stderr
    p = run()
    assert p.returncode == 2 and "no targets" in p.stderr
    # values that would put garbage on the wire, in a config file with FILE:LINE
    for args, msg in ((["-d", "bad domain"], "--sink-domain 'bad domain': not a domain name"),
                      (["--sender", "a b"], "--sender 'a b': not a local part"),
                      (["--helo", ""], "--helo '': not a domain name"),
                      (["--helo", "[300.1.1.1]"], "not an address literal"),
                      (["--contact", "x\r\n.\r\nRSET"], "--contact 'x\\x0d\\x0a.\\x0d\\x0aRSET': "
                       "control characters or line breaks")):
        p = run(*args, "127.0.0.9")
        assert p.returncode == 2 and msg in p.stderr, (args, p.stderr)
    conf = tmp_path / "c.conf"
    conf.write_text("# scan settings\nwait = 5\nsink-domain = bad domain\n")
    p = run("-C", str(conf), "127.0.0.9")
    assert p.returncode == 2 and str(conf) + ":3: --sink-domain 'bad domain'" in p.stderr
    for line, msg in (("port = 25,0", "--port 25,0: expected PORT[,PORT...]"),
                      ("shard = 3/2", "--shard 3/2: expected K/N"),
                      ("source = here", "--source 'here': not an IP address"),
                      ("sink-listen = 127.0.0.1:99999", "--sink-listen '99999': port must be"),
                      ("resolver = dns.example", "--resolver 'dns.example': not an IPv4"),
                      ("exclude = /nonexistent/x", "--exclude /nonexistent/x: No such file"),
                      ("input-list = /nonexistent/t", "--input-list /nonexistent/t: No such"),
                      ("secret-file = /nonexistent/k", "--secret-file /nonexistent/k: No such"),
                      ("advice = /nonexistent/a", "--advice /nonexistent/a: No such")):
        conf.write_text("wait = 5\n" + line + "\n")
        p = run("-C", str(conf), "127.0.0.9")
        assert p.returncode == 2 and str(conf) + ":2: " + msg in p.stderr, (line, p.stderr)
    for args, msg in ((["--dry-run", "--selftest"], "exclude each other"),
                      (["--list-tests", "127.0.0.9"], "--list-tests takes no targets"),
                      (["--selftest", "127.0.0.9"], "--selftest takes no targets")):
        p = run(*args)
        assert p.returncode == 2 and msg in p.stderr, (args, p.stderr)
    receipts = tmp_path / "receipts.jsonl"
    receipts.write_text('{"type":"receipt","tokens":[]}\n')
    p = run("--report", str(receipts))
    assert p.returncode == 2 and "receipts.jsonl:1: a sink's receipt: give receipts files " \
        "with --receipts" in p.stderr
    results = tmp_path / "results.jsonl"
    results.write_text('{"type":"run","scan_id":"01020304"}\n')
    p = run("--report", str(results), "--receipts", str(results))
    assert p.returncode == 2 and "results.jsonl:1: not a sink's receipt" in p.stderr
    p = run("--list-tests")
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 29 + 18
    assert len([l for l in p.stdout.splitlines() if l.startswith("# smuggle-")]) == 18
    p = run("--list-tests", "--no-smuggling")
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 29
    assert p.stdout.splitlines()[0].split()[0] == "plain"
    p = run("--help")
    assert p.returncode == 0 and "--sink-domain" in p.stdout and "--selftest" in p.stdout


def test_selftest(tmp_path):
    p = subprocess.run([str(RELAYTRAP), "--selftest", "-o", str(tmp_path / "s.jsonl")], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "selftest: passed (15 of 15 servers as expected" in p.stdout
    assert "open after STARTTLS      127.83.0.12  open                   open                   ok" \
        in p.stdout
    hosts = {h["addr"]: h for h in map(json.loads, (tmp_path / "s.jsonl").read_text().splitlines())
             if h["type"] == "host"}
    h = hosts["127.83.0.12"]
    assert {t["transport"] for t in h["tests"]} == {"starttls"}
    assert h["tls"]["subject"] == "CN=tls-relay.lab"
    assert "bounces relay tests      127.83.0.11  accepted bounces       accepted bounces       ok" \
        in p.stdout
    # a 530 that asks for STARTTLS nobody announced: every test over TLS, no AUTH tried
    h = hosts["127.83.0.13"]
    assert h["verdict"] == "open" and len([t for t in h["tests"] if not t["via"]]) == 24
    assert {t["transport"] for t in h["tests"]} == {"starttls"}
    # empty AUTH: PLAIN and LOGIN relay; a new session after each success
    h = hosts["127.83.0.14"]
    paths = {t["name"]: (t["outcome"], t["delivered"], t["replies"]["path"]["code"])
             for t in h["tests"] if (t["via"] or "").startswith(("auth", "xclient"))}
    assert paths == {"auth-plain-empty": ("accepted", True, 235),
                     "auth-login-empty": ("accepted", True, 235)}  # ANONYMOUS not announced
    # 3 connections: a new one after the accepted AUTH PLAIN, none after AUTH LOGIN (nothing
    # left that this server offers), one for the smuggling tests (refused: no AUTH there)
    assert h["verdict"] == "open" and h["flags"] == ["auth_bypass"] and h["connections"] == 3
    assert h["tests_delivered"] == 2 and h["tests_accepted"] == 2
    # XCLIENT from anyone: ADDR=127.0.0.1 is trusted, the target's own address is not
    h = hosts["127.83.0.15"]
    paths = {t["name"]: (t["outcome"], t["delivered"], t["replies"]["path"]["code"])
             for t in h["tests"] if (t["via"] or "").startswith(("auth", "xclient"))}
    assert paths == {"xclient-localhost": ("accepted", True, 220),
                     "xclient-own": ("rejected", False, 220)}
    assert h["verdict"] == "open" and h["flags"] == ["xclient_spoof"] and h["connections"] == 3
    # a server that does not offer a path leaves no trace of it; a 530 tries AUTH
    assert not [t for t in hosts["127.83.0.5"]["tests"] if t["via"]]
    assert [t["replies"]["path"]["code"] for t in hosts["127.83.0.7"]["tests"] if t["via"]] \
        == [503, 503, 503]
    assert hosts["127.83.0.7"]["verdict"] == "auth-required"
    # SMTP smuggling, for the hosts that relayed: a strict server takes the smuggled
    # commands as data (the inner test not run); one that ends data at <LF>.<LF> answers
    # them, and the smuggled message arrives as one of its own
    def smuggled(addr):
        return {t["name"][len("smuggle-"):-len("-inner")]: (t["outcome"], t["delivered"])
                for t in hosts[addr]["tests"] if t["via"] == "smuggled"}
    assert set(smuggled("127.83.0.2").values()) == {("not-run", False)}
    assert len(smuggled("127.83.0.2")) == 9
    outer = [t for t in hosts["127.83.0.2"]["tests"] if t["via"] == "smuggle"]
    assert len(outer) == 9 and all(t["delivered"] for t in outer)
    assert hosts["127.83.0.2"]["flags"] == [] and hosts["127.83.0.2"]["connections"] == 10
    lenient = {k for k, v in smuggled("127.83.0.16").items() if v == ("accepted", True)}
    assert lenient == {"lf-dot-lf", "lf-dot-crlf", "crlf-dot-lf"}
    assert hosts["127.83.0.16"]["flags"] == ["smuggling"]
    assert not [t for t in hosts["127.83.0.5"]["tests"] if t["via"]]  # it relayed nothing


def test_names_and_mx_resolved_with_c_ares():
    import fakedns

    dns = fakedns.FakeDNS({
        "lab.test": {"MX": [(10, "mx1.lab.test"), (20, "mx2.lab.test")]},
        "mx1.lab.test": {"A": ["192.0.2.11"]},
        "mx2.lab.test": {"A": ["192.0.2.12", "192.0.2.13"]},
        "www.lab.test": {"A": ["192.0.2.80"]},
        "v6.lab.test": {"AAAA": ["2001:db8::25"]},
        "dual.lab.test": {"A": ["192.0.2.26"], "AAAA": ["2001:db8::26"]},
    })
    try:
        p = dry("-t", "plain", "--resolver", "127.0.0.1:%d" % dns.port, "mx:lab.test",
                "www.lab.test", "nosuch.lab.test", "v6.lab.test", "dual.lab.test")
    finally:
        dns.stop()
    assert p.returncode == 0, p.stderr
    heads = sorted(l for l in p.stdout.splitlines() if l.startswith("== "))
    assert heads == sorted(["== 192.0.2.%d port 25" % i for i in (11, 12, 13, 26, 80)] +
                           ["== 2001:db8::25 port 25", "== 2001:db8::26 port 25"])
    assert "relaytrap: nosuch.lab.test: Domain name not found" in p.stderr
    assert ("lab.test", 15) in dns.queries


def test_unresolved_targets_get_host_lines(tmp_path):
    """A target name that gives no address used to print "(skipped)" and vanish: the run
    ended "no open relay found" with no trace of it. Now it has a host line (verdict error,
    the DNS failure as the reason), a count in the summary and a line in the text summary."""
    import fakedns

    dns = fakedns.FakeDNS({"mx.lab.test": {"A": ["127.64.8.1"]}})
    try:
        p = scan(tmp_path, ["mail.nosuch.test", "mx.lab.test"], "-w", "0", "--csv",
                 str(tmp_path / "u.csv"), "--resolver", "127.0.0.1:%d" % dns.port,
                 sink_port=free_port())
    finally:
        dns.stop()
    assert p.returncode == 0, p.stderr
    hosts = [l for l in p.lines if l["type"] == "host"]
    assert len(hosts) == 2
    u = [h for h in hosts if h["addr"] is None][0]
    assert (u["name"], u["port"], u["verdict"], u["reason"]) == (
        "mail.nosuch.test", None, "error", "DNS: mail.nosuch.test: Domain name not found")
    assert p.hosts["127.64.8.1"]["verdict"] == "unreachable"
    s = p.lines[-1]
    assert s["hosts"] == 2 and s["unresolved"] == 1 and s["counts"]["error"] == 1
    assert ("targets whose names gave no address (not scanned):\n"
            "  DNS: mail.nosuch.test: Domain name not found\n") in p.stdout
    assert "mail.nosuch.test,,error," in (tmp_path / "u.csv").read_text()
    # --report passes the line through; --resume asks the name again
    r = subprocess.run([str(RELAYTRAP), "--report", str(tmp_path / "r.jsonl"), "-o",
                        str(tmp_path / "m.jsonl")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert '"name":"mail.nosuch.test"' in (tmp_path / "m.jsonl").read_text()


def test_ptr_names_for_servers_that_give_none(tmp_path):
    """{target_host} is the PTR name when neither banner nor EHLO names the server, looked up
    through c-ares inside the scan's loop; no name, or no answer in time, leaves the address
    literal; servers that name themselves and addresses that never answer cost no query."""
    import fakedns

    net = "127.63.0."
    rev = lambda i: "%d.0.63.127.in-addr.arpa" % i
    dns = fakedns.FakeDNS({rev(2): {"PTR": ["MX.Ptr.Lab."]}, rev(5): {"PTR": ["other.lab"]}},
                          silent=[rev(4)])
    sp = free_port()
    port = free_port(net + "2")
    rs = [
        relays.Relay("open", net + "2", port, ("127.0.0.1", sp), banner_name="nameless"),
        relays.Relay("closed", net + "3", port, banner_name="nameless"),  # NXDOMAIN
        relays.Relay("closed", net + "4", port, banner_name="nameless"),  # no answer
        relays.Relay("closed", net + "5", port, banner_name="named.lab"),  # names itself
    ]
    ctl = relays.start(rs)
    try:
        p = scan(tmp_path, [net + "2-" + net + "6"], "-w", "3", "-d", "sink.lab", "--timeout",
                 "2", "--resolver", "127.0.0.1:%d" % dns.port, "-t", "plain,sender-target-host",
                 "--html", str(tmp_path / "r.html"), port=port, sink_port=sp, ptr=True)
    finally:
        relays.stop(ctl)
        dns.stop()
    assert p.returncode == 1, p.stderr
    assert dns.ptr_queries() == [rev(2), rev(3), rev(4)]
    h = p.hosts
    assert (h[net + "2"]["target_host"], h[net + "2"]["target_host_from"]) == ("mx.ptr.lab", "ptr")
    assert (h[net + "5"]["target_host"], h[net + "5"]["target_host_from"]) == ("named.lab", "banner")
    for i in (3, 4):
        assert h[net + "%d" % i]["target_host"] is None and h[net + "%d" % i]["target_host_from"] is None
    mail = {a: {t["name"]: t["mail_from"] for t in x["tests"]} for a, x in h.items() if x["tests"]}
    assert mail[net + "2"]["sender-target-host"] == "<relaytest@mx.ptr.lab>"
    assert mail[net + "3"]["sender-target-host"] == "<relaytest@[127.63.0.3]>"
    assert mail[net + "4"]["sender-target-host"] == "<relaytest@[127.63.0.4]>"
    assert mail[net + "5"]["sender-target-host"] == "<relaytest@named.lab>"
    assert [h[net + "%d" % i]["verdict"] for i in range(2, 7)] == [
        "open", "closed", "closed", "closed", "unreachable"]
    # the open relay's messages arrived, so the PTR wait did not cost its tests anything
    assert h[net + "2"]["tests_delivered"] == 2
    html = (tmp_path / "r.html").read_text()
    assert html.count("<small>(PTR)</small>") == 1 and "mx.ptr.lab <small>(PTR)</small>" in html


def test_ipv6_target_and_sink(tmp_path):
    """An IPv6 relay (on an address of our own added to lo: the sink refuses tokens naming
    its own address) relays to the embedded sink on [::1]: the token carries the IPv6 target,
    the sink literal is [IPv6:::1], the verdict is open and the trace shows the prober."""
    addr = "fd72:7274::25"
    subprocess.run(["ip", "-6", "addr", "replace", addr + "/128", "dev", "lo", "nodad"],
                   check=True)  # replace: also after a run that died before removing it
    try:
        sp = free_port("::1")
        port = free_port(addr)
        r = relays.Relay("open", addr, port, ("::1", sp), banner_name="v6.relay.lab")
        ctl = relays.start([r])
        try:
            p = scan(tmp_path, [addr], "-w", "3", "-t", "plain,sink-literal", "--sink-listen",
                     "[::1]:%d" % sp, "--source", "::1", port=port)
        finally:
            relays.stop(ctl)
    finally:
        subprocess.run(["ip", "-6", "addr", "del", addr + "/128", "dev", "lo"],
                       capture_output=True)
    assert p.returncode == 1, p.stderr + repr(r.errors)
    h = p.hosts[addr]
    assert h["verdict"] == "open" and h["tests_delivered"] == 2, h
    assert h["prober_addrs"] == ["::1"] and h["target_host"] == "v6.relay.lab"
    rcpt = {t["name"]: t["rcpt_to"] for t in h["tests"]}
    assert rcpt["sink-literal"].endswith("@[IPv6:::1]>")
    ev = h["deliveries"][0]
    assert ev["peer_addr"] == addr and ev["prober_visible"] is True


def test_ptr_answered_from_hosts_file(tmp_path):
    """c-ares answers 127.0.0.1 from /etc/hosts ("localhost") inside the lookup call itself:
    the answer still comes through the loop, "localhost" is no usable name (no dot), and no
    DNS query is sent."""
    import fakedns

    dns = fakedns.FakeDNS({})
    port = free_port("127.0.0.1")
    ctl = relays.start([relays.Relay("closed", "127.0.0.1", port, banner_name="nameless")])
    try:
        p = scan(tmp_path, ["127.0.0.1"], "-w", "1", "-t", "sender-target-host", "--transcript",
                 "--resolver", "127.0.0.1:%d" % dns.port, port=port, sink_port=free_port(),
                 ptr=True)
    finally:
        relays.stop(ctl)
        dns.stop()
    assert p.returncode == 0, p.stderr
    assert dns.queries == []
    h = p.hosts["127.0.0.1"]
    assert h["verdict"] == "closed" and h["target_host"] is None
    assert "- (PTR: no usable name)\n> MAIL FROM:<relaytest@[127.0.0.1]>" in h["transcript"]


def per_net_scan(tmp_path, addrs, port):
    """The per-net tests' scan: the whole run of addresses, --per-net 1, room for all else."""
    return scan(tmp_path, [addrs[0] + "-" + addrs[-1]], "--per-net", "1", "-c", "100", "-r",
                "1000", "-t", "plain", "-w", "0", port=port, sink_port=free_port())


def test_per_net_holds_back_sessions_not_pending_connects(tmp_path):
    """--per-net counts sessions with servers that answered: connects nobody answers are all
    in flight at once, even with --per-net 1. Each target's listener has a full accept queue
    (backlog 0, one connection waiting), and Linux drops the SYNs a full queue cannot take:
    every connect stays pending until --connect-timeout (2 s). Had pending connects counted,
    each host of the /24 would have started only after the previous one gave up."""
    import socket
    net = "127.65.0."
    addrs = [net + str(i) for i in range(1, 31)]
    port = free_port(addrs[0])
    socks = []
    try:
        for a in addrs:
            ls = socket.socket()
            ls.bind((a, port))
            ls.listen(0)
            filler = socket.create_connection((a, port), timeout=5)
            socks += [ls, filler]
        r = per_net_scan(tmp_path, addrs, port)
    finally:
        for s in socks:
            s.close()
    assert r.returncode == 0, r.stderr
    assert sorted(r.hosts) == sorted(addrs)
    assert {h["verdict"] for h in r.hosts.values()} == {"unreachable"}, r.hosts
    starts = [h["started"] for h in r.hosts.values()]
    ends = [h["started"] + h["seconds"] for h in r.hosts.values()]
    # one moment when every connect was in flight: the last began before the first gave up
    assert max(starts) < min(ends), (max(starts) - min(starts), min(ends) - min(starts))
    assert r.elapsed < 20
    assert r.lines[-1]["parked_connects"] == 0


def test_per_net_bounds_sessions_with_servers_that_answered(tmp_path):
    """The other half: servers that answer get at most --per-net sessions at once. The
    connects that complete while their /24 is full are closed unused and made again later,
    so every host still gets its session."""
    net = "127.65.1."
    addrs = [net + str(i) for i in range(1, 13)]
    lock = threading.Lock()
    spans = []

    def hold(conn):
        conn.sendall(b"220 hold.example.org ESMTP\r\n")
        began = c = None
        try:
            while True:
                c = relays.read_cmd(conn)
                if not c:
                    return
                if began is None:  # a session: it said something
                    began = time.monotonic()
                    time.sleep(0.2)
                verb = c.split()[0].upper()
                if verb == "QUIT":
                    return
                conn.sendall(b"550 5.7.1 relaying denied\r\n" if verb == "RCPT" else
                             b"250 ok\r\n")
        finally:
            if began is not None:  # ends before our reply, so before the next session
                with lock:
                    spans.append((began, time.monotonic()))
            if c and c.split()[0].upper() == "QUIT":
                conn.sendall(b"221 bye\r\n")

    port = free_port(addrs[0])
    servers = [relays.ScriptedServer(a, port, hold) for a in addrs]
    try:
        r = per_net_scan(tmp_path, addrs, port)
    finally:
        for s in servers:
            s.stop()
    assert r.returncode == 0, r.stderr
    assert {h["verdict"] for h in r.hosts.values()} == {"closed"}, r.hosts
    assert len(r.hosts) == len(addrs) and len(spans) == len(addrs)
    events = sorted([(b, 1) for b, _ in spans] + [(e, -1) for _, e in spans])
    most = now = 0
    for _, d in events:
        now += d
        most = max(most, now)
    assert most == 1, spans
    # launched together, they connected while the first session held the /24 (0.2 s at least)
    assert r.lines[-1]["parked_connects"] >= 1, r.lines[-1]
