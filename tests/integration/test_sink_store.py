"""The sink's store at its edges, in both layouts: a disk that fills up and empties again, and
a sink killed with messages in flight. What was acknowledged (250) has exactly one readable
receipt and one file in new/ (--store maildir) or one record in the spool (--store spool); what
was not has neither. Loopback only; every sending loop is bounded."""
import contextlib
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import Client, Sink, spool_records

BODY = "x" * 1500  # one page of tmpfs per message file


@contextlib.contextmanager
def small_tmpfs(path, size):
    if os.geteuid() != 0:
        pytest.fail("needs root to mount a small tmpfs")
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path):
    """Writes path until the filesystem is full; returns the bytes written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    n = 0
    try:
        for _ in range(1 << 20):  # bounded: 4 GiB at most
            n += os.write(fd, b"f" * 4096)
    except OSError:
        pass
    os.close(fd)
    return n


def deliver(c, mid, rcpts=1, body=BODY):
    """One message on an open session; the reply code to its data. Sixty recipients make a
    receipt line of about 5 KiB: more than a tmpfs page."""
    assert c.cmd("MAIL FROM:<a@full.example>")[0] == 250
    for r in range(rcpts):
        assert c.cmd(f"RCPT TO:<r{r:02d}-{'y' * 60}@sink.lab>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    return c.cmd(f"Subject: id {mid}\r\n\r\n{mid} {body}\r\n.")[0]


def store_facts(maildir, receipts):
    """(ids in new/, ids with a readable receipt, lines that do not parse, tmp/ entries)."""
    in_new = []
    for f in (maildir / "new").iterdir():
        in_new.append(f.read_bytes().split(b"\r\n", 1)[0].decode().split()[-1])
    by_receipt, bad = [], []
    for line in receipts.read_text().split("\n")[:-1]:
        try:
            r = json.loads(line)
        except ValueError:
            bad.append(line[:80])
            continue
        by_receipt.append(r["subject"].split()[-1])
        assert (maildir / r["maildir_file"]).is_file()
    return in_new, by_receipt, bad, sorted(os.listdir(maildir / "tmp"))


def test_disk_full_rolls_back_and_recovers(tmp_path, sink_factory):
    """A 1 MiB tmpfs, filled but for one page after three messages. A message whose receipt
    line needs more than the room left is refused (451) with a torn receipt line: the line is
    cut back and the message taken out of new/, which frees the page again. A 12 KiB message
    gets that page, then ENOSPC: refused, its partial file removed from tmp/. So the next small
    message fits and gets 250 (before the fix its receipt was glued onto the torn line). Then 30
    messages find no page at all (451). The filler is deleted and 10 more all get 250."""
    with small_tmpfs(tmp_path / "small", "1m") as mnt:
        maildir, receipts = mnt / "Maildir", mnt / "receipts.jsonl"
        sink = sink_factory("--maildir", str(maildir), "--receipts", str(receipts))
        c = Client("127.0.0.1", sink.port)
        assert c.reply()[0] == 220 and c.cmd("EHLO full.example")[0] == 250
        codes = {}
        for i in range(3):
            codes[f"a{i}"] = deliver(c, f"a{i}")
        assert receipts.stat().st_size < 4096 - 1500  # room left in the receipts' page
        filler = mnt / "filler"
        os.truncate(filler, fill(filler) - 4096)  # one page left
        codes["big"] = deliver(c, "big", rcpts=60)
        codes["large"] = deliver(c, "large", body="z" * 12000)
        codes["small"] = deliver(c, "small")
        for i in range(30):
            codes[f"c{i}"] = deliver(c, f"c{i}", rcpts=60 if i % 2 else 1)
        filler.unlink()
        for i in range(10):
            codes[f"d{i}"] = deliver(c, f"d{i}", rcpts=60 if i % 2 else 1)
        c.cmd("QUIT")
        c.close()
        acked = sorted(m for m, code in codes.items() if code == 250)
        refused = sorted(m for m, code in codes.items() if code == 451)
        assert acked == sorted(["a0", "a1", "a2", "small"] + [f"d{i}" for i in range(10)]), codes
        assert refused == sorted(["big", "large"] + [f"c{i}" for i in range(30)]), codes
        in_new, by_receipt, bad, tmp = store_facts(maildir, receipts)
        assert bad == []
        assert tmp == []
        assert sorted(by_receipt) == acked
        assert sorted(in_new) == acked
        assert sink.stop() == 0
        log = sink.log.read_text()
        failed = re.findall(r"event=store-failed stage=(\w+)", log)
        assert failed == ["receipts"] + ["message"] * 31, log
        assert len(re.findall(r"error=\"No space left on device\"", log)) == 32, log


def test_start_moves_unacknowledged_files_aside(tmp_path):
    """What a kill -9 leaves (files in new/ without a receipt, a file in tmp/, a torn last
    receipts line naming a file in new/) was never acknowledged: at start-up it is moved to
    Maildir/unacked/ byte for byte and counted in the log; acknowledged files stay in new/."""
    base = tmp_path / "s"
    sink = Sink(base)
    c = Client("127.0.0.1", sink.port)
    assert c.reply()[0] == 220 and c.cmd("EHLO kill.example")[0] == 250
    assert [deliver(c, f"a{i}") for i in range(3)] == [250] * 3
    c.close()
    sink.wait_receipts(3)
    sink.stop(signal.SIGKILL)
    maildir, receipts = base / "Maildir", base / "receipts.jsonl"
    acked = sorted(p.name for p in (maildir / "new").iterdir())
    assert len(acked) == 3
    left = {"new": ["1795000000.M1P1Q1.dead", "1795000000.M2P1Q2.dead",
                    "1795000000.M3P1Q3.dead"],
            "tmp": ["1795000000.M4P1Q4.dead"]}
    for sub, names in left.items():
        for n in names:
            (maildir / sub / n).write_bytes(b"Subject: id " + n.encode() + b"\r\n\r\nunacked\r\n")
    # the receipt of the third was being written at the kill: it names the file, but torn
    with receipts.open("a") as f:
        f.write('{"type":"receipt","maildir_file":"new/1795000000.M3P1Q3.dead","subj')
    sink = Sink(base)
    assert sorted(p.name for p in (maildir / "new").iterdir()) == acked
    assert os.listdir(maildir / "tmp") == []
    moved = sorted(left["new"] + left["tmp"])
    assert sorted(os.listdir(maildir / "unacked")) == moved
    for n in moved:
        assert (maildir / "unacked" / n).read_bytes() == \
            b"Subject: id " + n.encode() + b"\r\n\r\nunacked\r\n"
    lines = receipts.read_text().split("\n")
    assert lines[-1] == "" and [json.loads(l)["subject"] for l in lines[:-1]] == \
        ["id a0", "id a1", "id a2"]
    c = Client("127.0.0.1", sink.port)
    assert c.reply()[0] == 220 and c.cmd("EHLO kill.example")[0] == 250
    assert deliver(c, "a3") == 250
    c.close()
    assert [r["subject"] for r in sink.wait_receipts(4)] == ["id a0", "id a1", "id a2", "id a3"]
    assert sink.stop() == 0
    log = sink.log.read_text()
    assert log.count("event=reconcile ") == 1
    assert f"event=reconcile unacked=4 new=3 tmp=1 moved_to={maildir}/unacked\n" in log
    assert "event=receipts-cut" in log and "bytes=67 reason=\"torn last line\"\n" in log
    # nothing left to move: the next start is silent about it
    sink = Sink(base)
    assert sink.stop() == 0
    assert "event=reconcile" not in sink.log.read_text()
    assert len(os.listdir(maildir / "new")) == 4 and len(os.listdir(maildir / "unacked")) == 4


def spool_facts(spool, receipts):
    """(ids in the spool, ids with a readable receipt, lines that do not parse). Each receipt
    names its record by spool_offset, and the record carries the very same line."""
    recs = spool_records(spool)
    by_offset = {o: (m, r) for o, m, r in recs}
    in_spool = [m.split(b"\r\n", 1)[0].decode().split()[-1] for _, m, _ in recs]
    by_receipt, bad = [], []
    for line in receipts.read_bytes().split(b"\n")[:-1]:
        try:
            r = json.loads(line)
        except ValueError:
            bad.append(line[:80])
            continue
        by_receipt.append(r["subject"].split()[-1])
        m, rline = by_offset[r["spool_offset"]]
        assert rline == line + b"\n" and len(m) == r["size"]
    assert sum(len(b"RTS1 %d %d\n" % (len(m), len(r))) + len(m) + len(r)
               for _, m, r in recs) == spool.stat().st_size
    return in_spool, by_receipt, bad


def test_spool_disk_full_rolls_back_and_recovers(tmp_path, sink_factory):
    """--store spool with the spool and the receipts on two 1 MiB tmpfs. Three messages get
    250. The receipts' filesystem is filled: six messages with 5 KiB receipt lines are written
    and flushed to the spool, then their receipt line is torn by ENOSPC; each is refused (451),
    the receipts file cut back and the spool cut back to its length before. Then the spool's
    filesystem is filled instead: six 12 KiB messages are torn in the spool and refused, the
    spool cut back. Both fillers are deleted and ten more all get 250. Spool and receipts
    then hold exactly the thirteen acknowledged messages, byte for byte the same lines."""
    with small_tmpfs(tmp_path / "a", "1m") as sp, small_tmpfs(tmp_path / "b", "1m") as rc:
        spool, receipts = sp / "messages.spool", rc / "receipts.jsonl"
        sink = sink_factory("--store", "spool", "--spool", str(spool), "--receipts",
                            str(receipts))
        c = Client("127.0.0.1", sink.port)
        assert c.reply()[0] == 220 and c.cmd("EHLO full.example")[0] == 250
        codes = {}
        for i in range(3):
            codes[f"a{i}"] = deliver(c, f"a{i}")
        sizes = spool.stat().st_size, receipts.stat().st_size
        fill(rc / "filler")
        for i in range(6):
            codes[f"r{i}"] = deliver(c, f"r{i}", rcpts=60)
        assert (spool.stat().st_size, receipts.stat().st_size) == sizes
        (rc / "filler").unlink()
        fill(sp / "filler")
        for i in range(6):
            codes[f"s{i}"] = deliver(c, f"s{i}", body="z" * 12000)
        assert (spool.stat().st_size, receipts.stat().st_size) == sizes
        (sp / "filler").unlink()
        for i in range(10):
            codes[f"d{i}"] = deliver(c, f"d{i}", rcpts=60 if i % 2 else 1)
        c.cmd("QUIT")
        c.close()
        acked = [m for m, code in codes.items() if code == 250]
        refused = [m for m, code in codes.items() if code == 451]
        assert acked == ["a0", "a1", "a2"] + [f"d{i}" for i in range(10)], codes
        assert refused == [f"r{i}" for i in range(6)] + [f"s{i}" for i in range(6)], codes
        in_spool, by_receipt, bad = spool_facts(spool, receipts)
        assert bad == [] and in_spool == acked and by_receipt == acked
        # the premise: a 60-recipient line is longer than the page the receipts could end in
        assert len(receipts.read_bytes().split(b"\n")[4]) > 4096
        assert not (sp / "messages.spool.unacked").exists()
        assert sink.stop() == 0
        log = sink.log.read_text()
        failed = re.findall(r"event=store-failed stage=(\w+) file=spool:(\d+)", log)
        assert failed == [("receipts", str(sizes[0]))] * 6 + [("spool", str(sizes[0]))] * 6, log
        assert len(re.findall(r"error=\"No space left on device\"", log)) == 12, log


def test_spool_start_rolls_receipts_forward_and_moves_torn_tail_aside(tmp_path):
    """What a kill -9 (or a power loss: receipts.jsonl is not flushed in this layout) leaves at
    the spool's end: a whole record whose line never reached receipts.jsonl, then a record cut
    short. The whole record is durable with its receipt line (it may have been acknowledged):
    at start-up its line is appended to receipts.jsonl, byte for byte. The torn one was never
    acknowledged: it is moved byte for byte to SPOOL.unacked and cut off, and the next message
    goes where it was. Both counted in one log line. With a rotated (empty) receipts file
    nothing names a record: nothing is appended, only a torn tail is moved."""
    base = tmp_path / "s"
    spool = base / "messages.spool"
    args = ("--store", "spool", "--spool", str(spool))
    sink = Sink(base, *args)
    c = Client("127.0.0.1", sink.port)
    assert c.reply()[0] == 220 and c.cmd("EHLO kill.example")[0] == 250
    assert [deliver(c, f"a{i}") for i in range(3)] == [250] * 3
    c.close()
    sink.wait_receipts(3)
    sink.stop(signal.SIGKILL)
    acked = spool.read_bytes()
    lines = sink.receipts.read_bytes()
    msg = b"Subject: id u1\r\n\r\nunacked\r\n"
    line = b'{"type":"receipt","subject":"id u1","spool_offset":%d}\n' % len(acked)
    whole = b"RTS1 %d %d\n" % (len(msg), len(line)) + msg + line
    torn = b"RTS1 900 40\nSubject: id u2"
    spool.write_bytes(acked + whole + torn)
    sink = Sink(base, *args)
    assert spool.read_bytes() == acked + whole
    assert sink.receipts.read_bytes() == lines + line
    assert (base / "messages.spool.unacked").read_bytes() == torn
    c = Client("127.0.0.1", sink.port)
    assert c.reply()[0] == 220 and c.cmd("EHLO kill.example")[0] == 250
    assert deliver(c, "a3") == 250
    c.close()
    got = sink.wait_receipts(5)
    assert [r["subject"] for r in got] == ["id a0", "id a1", "id a2", "id u1", "id a3"]
    assert got[4]["spool_offset"] == len(acked + whole)
    assert sink.stop() == 0
    log = sink.log.read_text()
    assert log.count("event=reconcile ") == 1
    assert f"event=reconcile rolled_forward=1 torn_bytes=26 moved_to={spool}.unacked\n" in log, log
    # rotated receipts: the five records stay, nothing is appended, a torn tail goes
    (base / "receipts.jsonl").rename(base / "receipts.jsonl.1")
    kept = spool.read_bytes()
    spool.write_bytes(kept + b"RTS1 7")
    sink = Sink(base, *args)
    assert sink.stop() == 0
    assert spool.read_bytes() == kept and len(spool_records(spool)) == 5
    assert sink.receipts.read_bytes() == b""
    assert (base / "messages.spool.unacked").read_bytes() == torn + b"RTS1 7"
    assert (f"event=reconcile rolled_forward=0 torn_bytes=6 moved_to={spool}.unacked\n"
            in sink.log.read_text())
    # nothing left to do: the next start is silent about it
    sink = Sink(base, *args)
    assert sink.stop() == 0
    assert "event=reconcile" not in sink.log.read_text()
