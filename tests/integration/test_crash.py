"""Crash safety and the sink's own posture: relaytrap-sink killed with SIGKILL under concurrent
load keeps every acknowledged message exactly once; relaytrap killed mid-scan finishes with
--resume, every target final exactly once; the sink scanned by relaytrap and by nmap's
smtp-open-relay is closed. Loopback only; every sending loop is bounded."""
import json
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

import rttoken
from conftest import BUILD, Client, Sink, free_port, spool_records, wait_port

RELAYTRAP = BUILD / "relaytrap"


def sender(host, port, tag, acked, lock, stop, limit=400):
    """Sends numbered messages until stop or an error; records those acknowledged with 250."""
    n = 0
    while not stop.is_set() and n < limit:
        try:
            with socket.create_connection((host, port), timeout=5) as s:
                f = s.makefile("rb")

                def reply():
                    while True:
                        line = f.readline()
                        if not line:
                            raise ConnectionError("closed")
                        if line[3:4] != b"-":
                            return int(line[:3])

                if reply() != 220:
                    return
                s.sendall(b"EHLO crash.test\r\n")
                reply()
                while not stop.is_set() and n < limit:
                    n += 1
                    mid = "%s-%d" % (tag, n)
                    s.sendall(b"MAIL FROM:<a@crash.test>\r\nRCPT TO:<x@sink.lab>\r\nDATA\r\n")
                    if (reply(), reply(), reply()) != (250, 250, 354):
                        return
                    s.sendall(("Subject: id %s\r\n\r\nbody %s\r\n.\r\n" % (mid, mid)).encode())
                    if reply() == 250:
                        with lock:
                            acked.add(mid)
        except (OSError, ConnectionError, ValueError):
            time.sleep(0.02)
            if stop.is_set():
                return


@pytest.mark.parametrize("layout", ["maildir", "spool"])
def test_sink_sigkill_keeps_every_acknowledged_message(tmp_path, layout):
    """Five SIGKILLs at random moments under eight concurrent senders, then a clean start and
    stop. Every message that got 250 has exactly one receipt line and is stored exactly once
    (a file in new/, or a record in the spool); whatever is stored has exactly one receipt
    line; what each start reconciled was counted (maildir: files without a receipt moved
    aside; spool: receipt lines rolled forward from whole records, a torn record moved)."""
    rnd = random.Random(20261121)
    acked, lock = set(), threading.Lock()
    base = tmp_path / "sink"
    spool = base / "messages.spool"
    args = ("--store", layout, "--spool", str(spool))
    moved = [0, 0]  # maildir: files moved to Maildir/unacked/; spool: lines rolled forward,
    # torn bytes moved to SPOOL.unacked

    def start():
        s = Sink(base, *args)
        log = s.log.read_text()
        if layout == "maildir":
            m = re.search(r"event=reconcile unacked=(\d+) new=(\d+) tmp=(\d+) ", log)
            if m:
                assert int(m[1]) == int(m[2]) + int(m[3])
                moved[0] += int(m[1])
        else:
            m = re.search(r"event=reconcile rolled_forward=(\d+) torn_bytes=(\d+) ", log)
            if m:
                moved[0] += int(m[1])
                moved[1] += int(m[2])
        return s

    for r in range(5):
        sink = start()
        stop = threading.Event()
        # the limit is a bound only: the kill must land while every sender is still sending
        threads = [threading.Thread(target=sender, args=("127.0.0.1", sink.port, "r%dc%d" % (r, c),
                                                         acked, lock, stop, 20000))
                   for c in range(8)]
        for t in threads:
            t.start()
        time.sleep(rnd.uniform(0.3, 1.2))
        sink.proc.send_signal(signal.SIGKILL)
        sink.proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert len(acked) > 100
    # restart: what has no receipt moved aside, a torn receipt line cut; then stop cleanly
    sink = start()
    assert sink.stop() == 0
    by_receipt, where = {}, set()
    raw = (base / "receipts.jsonl").read_bytes().split(b"\n")
    assert raw[-1] == b""
    for line in raw[:-1]:
        rc = json.loads(line)  # every line whole
        mid = rc["subject"].split()[-1]
        by_receipt[mid] = by_receipt.get(mid, 0) + 1
        where.add(rc["maildir_file"] if layout == "maildir" else (rc["spool_offset"], line))
    by_store = {}
    if layout == "maildir":
        assert list((base / "Maildir" / "tmp").iterdir()) == []
        # new/ holds exactly the files that have a receipt; the rest was counted as it moved
        assert {"new/" + f.name for f in (base / "Maildir" / "new").iterdir()} == where
        assert len(list((base / "Maildir" / "unacked").iterdir())) == moved[0]
        stored = [f.read_bytes() for f in (base / "Maildir" / "new").iterdir()]
    else:
        # the spool holds exactly the records that have a receipt line, the same line, once
        recs = spool_records(spool)
        assert {(o, r[:-1]) for o, _, r in recs} == where and len(recs) == len(where)
        aside = base / "messages.spool.unacked"
        assert (aside.stat().st_size if aside.exists() else 0) == moved[1]
        stored = [m for _, m, _ in recs]
    for data in stored:
        mid = data.split(b"\r\n", 1)[0].decode().split()[-1]
        by_store[mid] = by_store.get(mid, 0) + 1
    for mid in acked:
        assert by_receipt.get(mid) == 1, mid
        assert by_store.get(mid) == 1, mid
    assert max(by_receipt.values()) == 1 and max(by_store.values()) == 1


def test_prober_sigkill_then_resume(tmp_path):
    """Two SIGKILLs mid-scan, then --resume to the end: every target final exactly once."""
    out = tmp_path / "r.jsonl"
    port = free_port("127.72.0.1")
    args = [str(RELAYTRAP), "--no-ptr", "-p", str(port), "--connect-timeout", "1", "-r", "150",
            "--no-sink", "-d", "sink.lab",
            "--secret-file", str(tmp_path / "key"), "127.72.0.0/23"]
    (tmp_path / "key").write_bytes(b"k" * 32)
    first = subprocess.Popen(args + ["-o", str(out)], stderr=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL)
    time.sleep(1.0)
    first.kill()
    first.wait()
    for delay in (1.0, None):
        p = subprocess.Popen(args + ["--resume", str(out)], stderr=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, text=True)
        if delay:
            time.sleep(delay)
            p.kill()
            p.wait()
        else:
            assert p.wait(timeout=60) == 0, p.stderr.read()
    hosts = []
    for line in out.read_text().splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue  # a line torn by a kill; resume started on a fresh line after it
        if o["type"] == "host":
            hosts.append(o["addr"])
    assert len(hosts) == 512 and len(set(hosts)) == 512
    assert sum(1 for l in out.read_text().splitlines() if '"type":"run"' in l) == 3


def test_sink_is_not_a_relay(tmp_path):
    """relaytrap (embedded sink elsewhere, its own key) scans a standalone sink: closed; a
    relay test naming the sink itself as its target is refused even for the sink's own
    domain. nmap's smtp-open-relay agrees."""
    addr = "127.71.0.2"
    sink = Sink(tmp_path / "sink", host=addr)
    out = tmp_path / "r.jsonl"
    p = subprocess.run([str(RELAYTRAP), "--no-ptr", "-d", "sink.lab", "-p", str(sink.port), "-w", "2",
                        "--sink-listen", "127.0.0.1:%d" % free_port(), "-o", str(out), addr],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    host = [json.loads(l) for l in out.read_text().splitlines()][1]
    assert host["verdict"] == "closed" and host["tests_accepted"] == 0
    assert {t["replies"]["rcpt"]["code"] for t in host["tests"]} == {550}
    assert sink.receipts_list() == []
    # the recipients the sink takes and refuses at its own domain and literal
    c = Client(addr, sink.port)
    assert c.reply()[0] == 220 and c.cmd("EHLO t")[0] == 250 and c.cmd("MAIL FROM:<a@b>")[0] == 250
    own = rttoken.make(b"k" * 32, 1, addr, sink.port, 0)
    other = rttoken.make(b"k" * 32, 1, "192.0.2.25", 25, 0)
    for rcpt, code in [("x@sink.lab", 250), ("postmaster", 250), ("x@[%s]" % addr, 250),
                       ("a%%b.example@[%s]" % addr, 550), ("b.example!a@sink.lab", 550),
                       ('"a@b.example"@sink.lab', 550), ("a@b.example@sink.lab", 550),
                       ("a@b.example", 550), ("rt-%s@sink.lab" % own, 550),
                       ("rt-%s%%sink.lab@sink.lab" % other, 250), ("rt-%s@b.example" % other, 250)]:
        assert c.cmd("RCPT TO:<%s>" % rcpt)[0] == code, rcpt
    sink.stop()
    nmap = shutil.which("nmap")
    if not nmap:
        pytest.fail("nmap is not installed (make deps installs it)")
    # nmap runs the script only on SMTP ports without -sV: this sink listens on port 25
    sink = subprocess.Popen([str(BUILD / "relaytrap-sink"), "-f", "-l", "127.71.0.3:25", "-d",
                             "sink.lab", "--maildir", str(tmp_path / "m25"), "--receipts",
                             str(tmp_path / "r25.jsonl")], stderr=subprocess.DEVNULL)
    try:
        wait_port("127.71.0.3", 25)
        # nmap's own third-party domain (with the sink's domain it would count mail the sink
        # accepts for itself as relayed)
        n = subprocess.run([nmap, "-n", "-Pn", "-p", "25", "--script", "smtp-open-relay",
                            "127.71.0.3"],
                           capture_output=True, text=True, timeout=120)
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=20)
    assert "smtp-open-relay" in n.stdout, n.stdout
    assert "Server doesn't seem to be an open relay" in n.stdout, n.stdout
    assert "Server is an open relay" not in n.stdout
