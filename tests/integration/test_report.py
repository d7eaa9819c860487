"""Reports: HTML/CSV/text from recorded runs (hostile banners included), checked structurally
and in headless Chromium; --report merging shards; the split deployment (--no-sink plus a
standalone relaytrap-sink, correlated by --report) against the embedded run. Loopback only."""
import csv
import html.parser
import io
import json
import re
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

import relays
from conftest import BUILD, free_port

RELAYTRAP = BUILD / "relaytrap"
ARTIFACTS = BUILD / "artifacts"

HOSTILE = [
    b"<script>alert(1)</script>",
    b'"><img src=x onerror=alert(2)>',
    b"=HYPERLINK(\"http://x\"),a,\"b\" </td></tr></table><iframe src=x>",
    b"\xe2\x80\xaeevil\x1b[2J <style>body{display:none}</style>",
]


def hostile_server(banner):
    def script(conn):
        relays.serve(conn, b"220 " + banner + b"\r\n",
                     {"EHLO": b"250-x\r\n250 <b onmouseover=alert(3)>PIPELINING</b>\r\n",
                      "RCPT": b"550 5.7.1 <svg onload=alert(4)> denied\r\n"})
    return script


class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.hosts = 0
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        for k in a:
            assert not k.startswith("on"), (tag, attrs)  # no event handler from the network
        if tag == "tbody" and a.get("class") == "h":
            self.hosts += 1
        if tag == "script":
            self.scripts += 1


ALLOWED = {"html", "head", "meta", "title", "style", "body", "h1", "h4", "div", "table",
           "thead", "tbody", "tr", "th", "td", "span", "label", "input", "br", "b", "small",
           "code", "details", "summary", "dl", "dt", "dd", "p", "ol", "li", "pre", "script", "i"}


def run(*args, timeout=120):
    """--no-ptr: no test asks the machine's resolver (off loopback)."""
    return subprocess.run([str(RELAYTRAP), "--no-ptr", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A recorded run: four hostile banners, one closed Postfix-like relay, one dead port."""
    tmp = tmp_path_factory.mktemp("hostile")
    net = "127.66.0."
    port = free_port(net + "2")
    servers = [relays.ScriptedServer(net + str(2 + i), port, hostile_server(b))
               for i, b in enumerate(HOSTILE)]
    closed = relays.start([relays.Relay("closed", net + "6", port)])
    out = tmp / "r.jsonl"
    try:
        p = run("-o", out, "-p", port, "-t", "plain,percent", "--timeout", "5",
                "--sink-listen", "127.0.0.1:%d" % free_port(),
                "--connect-timeout", "2", "--transcript", "--html", tmp / "r.html",
                "--csv", tmp / "r.csv", net + "2-" + net + "7")
    finally:
        for s in servers:
            s.stop()
        relays.stop(closed)
    assert p.returncode == 0, p.stderr
    return tmp, p


def test_html_escapes_hostile_text(hostile_run):
    tmp, p = hostile_run
    page = (tmp / "r.html").read_text()
    t = Tags()
    t.feed(page)
    assert t.hosts == 6 and t.scripts == 1
    assert set(t.tags) <= ALLOWED, set(t.tags) - ALLOWED
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&lt;svg onload=alert(4)&gt; denied" in page  # reply texts too
    assert "\\u202eevil\\x1b[2J &lt;style&gt;" in page
    assert page.count("<style>") == 1 and "http" not in page.split("<body>")[0].lower()
    # self-contained: no external reference of any kind
    for needle in ("src=\"http", "href=", "@import", "url("):
        assert needle not in page.replace("src=x", "")


def test_html_escapes_a_hostile_results_file(hostile_run, tmp_path):
    """--report reads results files that may come from anywhere: a test's path name ("via")
    is escaped in the HTML like every other text."""
    tmp, _ = hostile_run
    lines = [json.loads(l) for l in (tmp / "r.jsonl").read_text().splitlines()]
    h = [l for l in lines if l["type"] == "host" and l["tests"]][0]
    h["tests"][0]["via"] = "<img src=x onerror=alert(5)>"
    h["tests"][0]["replies"]["path"] = {"code": 535, "text": "no"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(l) + "\n" for l in lines))
    r = run("--report", bad, "--html", tmp_path / "bad.html", "-q")
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "bad.html").read_text()
    assert "<img" not in page and "&lt;img src=x onerror=alert(5)&gt;" in page


def test_csv_rows_and_text_summary(hostile_run):
    tmp, p = hostile_run
    raw = (tmp / "r.csv").read_bytes()
    assert raw.startswith(b"address,port,verdict,flags,fingerprint,first_accepted_test,"
                          b"delivered_tests,banner,version,os,fingerprint_source,advisories\r\n")
    rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
    assert len(rows) == 7 and all(len(r) == 12 for r in rows)
    by = {r[0]: r for r in rows[1:]}
    assert by["127.66.0.2"][2] == "closed" and by["127.66.0.2"][7] == "<script>alert(1)</script>"
    assert by["127.66.0.4"][7].startswith("'=HYPERLINK(")  # not a formula in a spreadsheet
    assert by["127.66.0.4"][7][1:] == HOSTILE[2].decode()
    assert by["127.66.0.7"][2] == "unreachable" and by["127.66.0.7"][6] == "0"
    # the plain-text summary on stdout
    assert p.stdout.splitlines()[:4] == ["relaytrap: 6 hosts", "  closed          5",
                                         "  unreachable     1", "no open relay found"]


def test_html_in_headless_chromium(hostile_run):
    tmp, _ = hostile_run
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("chromium is not installed (make deps installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # In a network namespace of its own (unshare -n: only a loopback that is down): its
    # background requests to Google's services, which the flags below do not all stop, go
    # nowhere. The report needs no network.
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    browser = [shutil.which("unshare"), "-n", chromium]
    url = (tmp / "r.html").as_uri()
    with tempfile.TemporaryDirectory() as prof:
        dom = subprocess.run([*browser, *flags, "--user-data-dir=" + prof, "--dump-dom", url],
                             capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    t = Tags()
    t.feed(dom.stdout)
    assert t.hosts == 6 and t.scripts == 1, dom.stdout[:2000]
    for bad in ("img", "iframe", "svg", "b onmouseover"):
        assert bad not in t.tags
    assert set(t.tags) <= ALLOWED
    # the page's script ran: hosts sorted by verdict (closed before unreachable)
    order = re.findall(r'<tbody class="h" data-v="([^"]+)"', dom.stdout)
    assert order == ["closed"] * 5 + ["unreachable"]
    shot = ARTIFACTS / "report.png"
    with tempfile.TemporaryDirectory() as prof:
        s = subprocess.run([*browser, *flags, "--user-data-dir=" + prof,
                            "--window-size=1200,900", "--screenshot=" + str(shot), url],
                           capture_output=True, text=True, timeout=120)
    assert s.returncode == 0 and shot.stat().st_size > 10000, s.stderr[-2000:]


def test_report_merges_shards(tmp_path):
    """Two shards of a dead /28 merged: every address once; a file given twice adds nothing;
    a torn last line is tolerated; a broken middle line names file:line."""
    port = free_port("127.67.0.1")
    files = []
    for k in (1, 2):
        f = tmp_path / f"s{k}.jsonl"
        p = run("-o", f, "-p", port, "--shard", f"{k}/2", "--connect-timeout", "1",
                "--sink-listen", "127.0.0.1:%d" % free_port(), "127.67.0.0/28")
        assert p.returncode == 0, p.stderr
        files.append(f)
    merged = tmp_path / "m.jsonl"
    p = run("--report", files[0], files[1], files[0], "-o", merged, "--csv", tmp_path / "m.csv")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(l) for l in merged.read_text().splitlines()]
    hosts = [h["addr"] for h in lines if h["type"] == "host"]
    assert sorted(hosts) == sorted("127.67.0.%d" % i for i in range(16))
    assert [l["type"] for l in lines].count("run") == 3
    first = [l for l in files[0].read_text().splitlines() if '"type":"host"' in l]
    assert lines[-1]["type"] == "summary" and lines[-1]["duplicates"] == len(first) > 0
    assert lines[-1]["counts"]["unreachable"] == 16
    assert "relaytrap: 16 hosts" in p.stdout and "duplicate host lines ignored" in p.stderr
    assert len((tmp_path / "m.csv").read_text().splitlines()) == 17
    torn = tmp_path / "torn.jsonl"
    torn.write_text(files[0].read_text() + '{"type":"host","addr":"127.')
    p = run("--report", torn, "-q")
    assert p.returncode == 0 and "torn last line ignored" in p.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type":"run"}\nnot json\n{"type":"summary"}\n')
    p = run("--report", bad)
    assert p.returncode == 2 and f"{bad}:2: not a JSON object" in p.stderr
    p = run("--report", files[0], "--html", tmp_path / "no" / "dir.html")
    assert p.returncode == 3 and "--html" in p.stderr and "dir.html.tmp" in p.stderr
    p = run("--html", tmp_path / "no" / "dir.html", "-p", port,
            "--sink-listen", "127.0.0.1:%d" % free_port(), "127.67.0.1")
    assert p.returncode == 3 and "--html" in p.stderr  # before any connection is made
    huge = tmp_path / "huge.jsonl"
    huge.write_text('{"type":"run"}\n{"banner":"' + "x" * (16 << 20) + '"}\n')
    p = run("--report", huge)
    assert p.returncode == 2 and f"{huge}:2: line longer than 16777216 bytes" in p.stderr
    p = run("--resume", huge, "-p", port, "127.67.0.1")
    assert p.returncode == 2 and f"{huge}:2: line too long" in p.stderr
    p = run("--report", tmp_path / "missing.jsonl")
    assert p.returncode == 2 and "missing.jsonl" in p.stderr
    p = run("--receipts", bad, "127.0.0.1")
    assert p.returncode == 2 and "--receipts goes with --report" in p.stderr


POSTURES = ["open", "strip", "drop", "closed", "percent", "forward", "open", "bounce",
            "vacation", "first-only"]


def relay_set(net, port, sink):
    rs = []
    for i, posture in enumerate(POSTURES):
        addr = net + str(2 + i)
        hop = (net + "8", port) if posture == "forward" else sink
        rs.append(relays.Relay(posture, addr, port, hop if posture != "closed" else None))
    return rs


def verdicts(lines):
    return {h["addr"].rsplit(".", 1)[1]: (h["verdict"], h["flags"], h["tests_delivered"])
            for h in lines if h["type"] == "host"}


def test_gnu_parallel_shards_merge_to_a_single_run(tmp_path, sink_factory):
    """issue 18: GNU parallel runs four shards side by side (--shard-index {} --shards 4, the
    index counted from 0 as job engines give it), all delivering to one standalone sink; the
    merged --report decides every host exactly as a single run over the same targets does."""
    import shutil
    assert shutil.which("parallel"), "GNU parallel is not installed (make deps installs it)"
    key = tmp_path / "key"
    key.write_bytes(os.urandom(32))
    sink = sink_factory("--secret-file", str(key))
    tests = "plain,null-sender,percent,bang,quoted"
    net = "127.68.2."
    port = free_port(net + "2")
    targets = net + "2-" + net + "15"  # the ten postures and four addresses where nobody listens
    common = [str(RELAYTRAP), "--no-ptr", "--no-sink", "--secret-file", str(key), "-d",
              "sink.lab", "-p", str(port), "-t", tests, "--timeout", "5", "--connect-timeout",
              "1", "-q"]
    single = tmp_path / "single.jsonl"
    ctl = relays.start(relay_set(net, port, ("127.0.0.1", sink.port)))
    try:
        p = subprocess.run(common + ["-o", str(single), targets], capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert len(sink.wait_receipts(24)) == 24  # 21 relayed, a DSN, an auto-reply
    finally:
        relays.stop(ctl)
    ctl = relays.start(relay_set(net, port, ("127.0.0.1", sink.port)))  # fresh: first-only
    try:
        p = subprocess.run(["parallel", "--will-cite", "-j", "4", *common, "--shard-index", "{}",
                            "--shards", "4", "-o", str(tmp_path / "s{}.jsonl"), targets,
                            ":::", "0", "1", "2", "3"], capture_output=True, text=True,
                           timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        assert len(sink.wait_receipts(48)) == 48  # as many again
    finally:
        relays.stop(ctl)
    shards = [tmp_path / ("s%d.jsonl" % i) for i in range(4)]
    parts = [verdicts(json.loads(l) for l in f.read_text().splitlines()) for f in shards]
    assert sorted(a for part in parts for a in part) == sorted(str(i) for i in range(2, 16))
    assert all(part for part in parts)  # each shard had some of the 14
    one, merged = tmp_path / "one.jsonl", tmp_path / "merged.jsonl"
    r = run("--report", single, "--receipts", sink.receipts, "-o", one, "-q")
    assert r.returncode == 1, r.stderr
    r = run("--report", *shards, "--receipts", sink.receipts, "-o", merged, "-q")
    assert r.returncode == 1, r.stderr
    want = verdicts(json.loads(l) for l in one.read_text().splitlines())
    got = verdicts(json.loads(l) for l in merged.read_text().splitlines())
    assert got == want and len(got) == 14
    assert want["2"] == ("open", [], 5) and want["12"][0] == "unreachable"
    shard_runs = [json.loads(f.read_text().splitlines()[0]) for f in shards]
    assert sorted(r["shard"] for r in shard_runs) == ["1/4", "2/4", "3/4", "4/4"]


def test_split_deployment_equals_embedded(tmp_path, sink_factory):
    key = tmp_path / "key"
    key.write_bytes(os.urandom(32))
    sink = sink_factory("--secret-file", str(key))
    tests = "plain,null-sender,percent,bang,quoted"
    # split: the relays deliver to the standalone sink
    net_a, net_b = "127.68.0.", "127.69.0."
    port = free_port(net_a + "2")
    split = tmp_path / "split.jsonl"
    ctl = relays.start(relay_set(net_a, port, ("127.0.0.1", sink.port)))
    try:
        p = run("--no-sink", "--secret-file", key, "-d", "sink.lab", "-o", split, "-p", port,
                "-t", tests, "-w", "3", "--timeout", "5", net_a + "2-" + net_a + "11")
        assert p.returncode == 0, p.stderr  # nothing can be called open without the sink
        assert ("no verdict on relaying yet: this scan ran without a sink (--no-sink); decide "
                "them with relaytrap --report %s --receipts RECEIPTS" % split) in p.stdout
        assert "no open relay found" not in p.stdout
        lines = [json.loads(l) for l in split.read_text().splitlines()]
        assert lines[-1]["type"] == "summary" and lines[-1]["verdicts_pending"] is True
        raw = verdicts(lines)
        assert raw["2"][0] == "accepted" and raw["5"][0] == "closed"
        assert len(sink.wait_receipts(24)) == 24  # 21 relayed, a DSN, an auto-reply
    finally:
        relays.stop(ctl)
    merged = tmp_path / "merged.jsonl"
    r = run("--report", split, "--receipts", sink.receipts, "-o", merged, "--html",
            tmp_path / "split.html")
    assert r.returncode == 1, r.stderr
    # embedded: the same postures on other addresses, delivering to the embedded sink
    sp = free_port()
    emb = tmp_path / "emb.jsonl"
    ctl = relays.start(relay_set(net_b, port, ("127.0.0.1", sp)))
    try:
        e = run("-d", "sink.lab", "--sink-listen", "127.0.0.1:%d" % sp, "-o", emb, "-p", port,
                "-t", tests, "-w", "3", "--timeout", "5", net_b + "2-" + net_b + "11")
    finally:
        relays.stop(ctl)
    assert e.returncode == 1, e.stderr
    got = verdicts(json.loads(l) for l in merged.read_text().splitlines())
    want = verdicts(json.loads(l) for l in emb.read_text().splitlines())
    assert got == want
    assert got == {
        "2": ("open", [], 5), "3": ("open-anonymous", [], 5), "4": ("accepted", [], 0),
        "5": ("closed", [], 0), "6": ("open", [], 1), "7": ("open", ["multi_hop"], 5),
        "8": ("open", [], 5), "9": ("accepted", ["bounces"], 0), "10": ("accepted", [], 0),
        "11": ("open", ["partial"], 1)}
    b9 = [h for h in (json.loads(l) for l in merged.read_text().splitlines())
          if h["type"] == "host" and h["addr"] == net_a + "9"][0]
    assert b9["reason"] == "accepted 5 relay tests, then returned 1 of them as undeliverable (5.7.1)"
    assert [t["outcome"] for t in b9["tests"]].count("bounced") == 1
    assert b9["bounces"][0]["dsn"]["status"] == "5.7.1"
    m = [json.loads(l) for l in merged.read_text().splitlines()]
    h7 = [h for h in m if h["type"] == "host" and h["addr"] == net_a + "7"][0]
    assert h7["delivered_via"] == net_a + "8"
    ev = h7["deliveries"][0]
    assert ev["peer_addr"] == net_a + "8" and "subject" in ev["found_in"]
    assert m[-1]["receipts_used"] == 24 and m[-1]["late_deliveries"] == 0
    assert "open relays (relayed mail arrived):" in r.stdout
    # a damaged receipts line (a full disk, a torn write) is reported, skipped and counted;
    # the others still count (it used to stop --report: "not a JSON object", exit 2)
    damaged = tmp_path / "damaged-receipts.jsonl"
    lines = sink.receipts.read_text().splitlines()
    damaged.write_text("\n".join(lines[:3] + ['{"type":"receipt","tok'] + lines[3:]) + "\n")
    r = run("--report", split, "--receipts", damaged, "-o", tmp_path / "d.jsonl")
    assert r.returncode == 1, r.stderr
    assert "damaged-receipts.jsonl:4: not a JSON object; skipped" in r.stderr
    assert "1 damaged receipt lines skipped" in r.stderr
    d = [json.loads(l) for l in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert d[-1]["receipts_skipped"] == 1 and d[-1]["receipts_used"] == 24
    assert verdicts(d) == got
    # receipts from after each host's --wait window do not count, as in an embedded run
    late = tmp_path / "late-receipts.jsonl"
    with open(late, "w") as f:
        for rc in sink.receipts_list():
            rc["unix_time"] += 3600
            f.write(json.dumps(rc) + "\n")
    r = run("--report", split, "--receipts", late, "-o", tmp_path / "late.jsonl")
    assert r.returncode == 0, r.stderr
    assert "24 receipts, 0 matched to a test (relayed, bounced or auto-replied), 24 after" in r.stderr
    assert verdicts(json.loads(l) for l in (tmp_path / "late.jsonl").read_text().splitlines()) \
        == raw
