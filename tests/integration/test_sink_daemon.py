"""relaytrap-sink as a daemon: configuration checking, signals, privileges, IPv6."""
import os
import pwd
import signal
import socket
import subprocess
import time

import pytest

from conftest import SINK, Client, free_port, wait_port


def gone(path, timeout=10):
    """Waits for a daemon to remove its file; True when it did."""
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()


def run_sink(*args, timeout=10):
    return subprocess.run([str(SINK), *args], capture_output=True, text=True, timeout=timeout)


def test_check_config_ok_and_errors(tmp_path):
    conf = tmp_path / "sink.conf"
    conf.write_text("# sample\nlisten = 127.0.0.1:2525\ndomain = sink.lab\nmax_size = 1m\n")
    out = run_sink("-C", str(conf), "--check-config")
    assert out.returncode == 0 and out.stdout == "configuration OK\n"
    conf.write_text("listen = 127.0.0.1:2525\n\nmax-rcpts = lots\n")
    out = run_sink("-C", str(conf), "--check-config")
    assert out.returncode == 2
    assert out.stderr == f"relaytrap-sink: {conf}:3: --max-rcpts: 'lots' is not a number\n"
    conf.write_text("listen 127.0.0.1\n")
    out = run_sink("-C", str(conf), "--check-config")
    assert out.returncode == 2 and f"{conf}:1: expected 'name = value'" in out.stderr
    out = run_sink("--listen", "999.1.1.1:25", "--check-config")
    assert out.returncode == 2 and "--listen '999.1.1.1': not an IPv4 or IPv6 address" in out.stderr
    # what start-up would find: domains, literals, the store's paths
    for args, msg in ((["-d", "bad dom"], "--domain 'bad dom': not a domain name"),
                      (["--literal", "foo"], "--literal 'foo': not an IP address"),
                      (["--maildir", str(tmp_path / "no" / "Maildir")],
                       "Maildir: its folder is missing or not writable"),
                      (["--receipts", str(tmp_path)], ": a directory")):
        out = run_sink(*args, "--check-config")
        assert out.returncode == 2 and msg in out.stderr, (args, out.stderr)
    # paths through a file, and a read-only filesystem, fail at start-up: so here too (root
    # passes every access() check, so the check makes and removes a file where the daemon will)
    afile = tmp_path / "afile"
    afile.write_text("")
    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)], check=True)
    try:
        for args, msg in ((["--maildir", str(afile / "Maildir")], "Not a directory"),
                          (["--receipts", str(afile / "r.jsonl")], "Not a directory"),
                          (["--maildir", str(ro / "Maildir")], "Read-only file system"),
                          (["--maildir", str(ro)], "Read-only file system")):
            out = run_sink(*args, "--check-config")
            assert out.returncode == 2 and msg in out.stderr, (args, out.stderr)
    finally:
        subprocess.run(["umount", str(ro)], check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "ro", "sink.conf"]
    out = run_sink("--bogus")
    assert out.returncode == 2 and "unknown option '--bogus'" in out.stderr
    out = run_sink("--secret-file", str(tmp_path / "missing"))
    assert out.returncode == 2 and "--secret-file" in out.stderr


def test_help_lists_every_option():
    out = run_sink("--help")
    assert out.returncode == 0
    for opt in ("--listen", "--domain", "--secret-file", "--maildir", "--receipts", "--user",
                "--no-fsync", "--max-sessions", "--max-per-ip", "--max-size", "--timeout",
                "--check-config", "--foreground", "--config"):
        assert opt in out.stdout


def test_sigterm_finishes_message_in_flight(sink):
    c = Client("127.0.0.1", sink.port)
    c.begin()
    c.send(b"Subject: in flight\r\n\r\npart one\r\n")
    idle = Client("127.0.0.1", sink.port)
    idle.reply()
    sink.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    code, lines = idle.reply()  # idle sessions are told at once
    assert code == 421
    c.send(b"part two\r\n")
    assert c.cmd(".")[0] == 250  # the message in flight is finished and stored
    assert c.reply()[0] == 421
    assert sink.proc.wait(timeout=10) == 0
    (r,) = sink.receipts_list()
    assert r["subject"] == "in flight"


def test_sighup_reopens_receipts(sink):
    def deliver(subject):
        c = Client("127.0.0.1", sink.port)
        c.begin(helo="HELO h")
        assert c.cmd(f"Subject: {subject}\r\n\r\nx\r\n.")[0] == 250
        c.cmd("QUIT")

    deliver("one")
    rotated = sink.receipts.with_suffix(".1")
    os.rename(sink.receipts, rotated)
    sink.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    deliver("two")
    assert [l.count('"subject":"one"') for l in rotated.read_text().splitlines()] == [1]
    (r,) = sink.wait_receipts(1)
    assert r["subject"] == "two"


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_user_drops_root_after_bind(sink_factory):
    pwd.getpwnam("nobody")
    sink = sink_factory("--user", "nobody")
    status = open(f"/proc/{sink.proc.pid}/status").read()
    uid_line = next(l for l in status.splitlines() if l.startswith("Uid:"))
    assert uid_line.split()[1:] == [str(pwd.getpwnam("nobody").pw_uid)] * 4
    c = Client("127.0.0.1", sink.port)  # and it still stores mail
    c.begin(helo="HELO h")
    assert c.cmd("Subject: as nobody\r\n\r\nx\r\n.")[0] == 250


def test_daemon_mode_reports_ready_and_errors(tmp_path):
    port = free_port()
    pidfile = tmp_path / "sink.pid"
    out = run_sink("-l", f"127.0.0.1:{port}", "--maildir", str(tmp_path / "md"), "--receipts",
                   str(tmp_path / "r.jsonl"), "--pidfile", str(pidfile))
    assert out.returncode == 0, out.stderr
    pid = int(pidfile.read_text())
    try:
        wait_port("127.0.0.1", port)
    finally:
        os.kill(pid, signal.SIGTERM)
    assert gone(pidfile)
    # a bind failure is reported by the parent, with a runtime-failure status
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        out = run_sink("-l", f"127.0.0.1:{busy}", "--maildir", str(tmp_path / "md"),
                       "--receipts", str(tmp_path / "r.jsonl"))
    assert out.returncode == 3 and "Address already in use" in out.stderr


def test_pidfile_is_locked(tmp_path):
    """The pidfile is written before root is dropped and locked for the daemon's life: a second
    daemon with the same pidfile refuses to start (before binding anything)."""
    port, port2 = free_port(), free_port()
    pidfile = tmp_path / "sink.pid"
    common = ["--maildir", str(tmp_path / "md"), "--receipts", str(tmp_path / "r.jsonl"),
              "--pidfile", str(pidfile)]
    out = run_sink("-l", f"127.0.0.1:{port}", *common)
    assert out.returncode == 0, out.stderr
    pid = int(pidfile.read_text())
    try:
        wait_port("127.0.0.1", port)
        out = run_sink("-l", f"127.0.0.1:{port2}", *common)
        assert out.returncode == 3
        assert f"--pidfile {pidfile}: held by a running relaytrap-sink (pid {pid})" in out.stderr
        assert int(pidfile.read_text()) == pid
        with socket.socket() as s:  # the second one bound nothing
            s.bind(("127.0.0.1", port2))
    finally:
        os.kill(pid, signal.SIGTERM)
    assert gone(pidfile)


def test_store_failure_resets_the_transaction(tmp_path, sink_factory):
    """A message the store could not keep (disk full) gets 451, and the next message is a
    transaction of its own: its sender and recipients only. -v logs refused recipients, and
    the stored line says who sent what to whom."""
    if os.geteuid() != 0:
        pytest.fail("needs root to mount a small tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], check=True)
    try:
        sink = sink_factory("--maildir", str(mnt / "Maildir"), "-v")
        filler = mnt / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # fill the disk to the last byte
        try:
            for _ in range(100000):
                os.write(fd, b"x" * 512)
        except OSError:
            pass
        os.close(fd)
        c = Client("127.0.0.1", sink.port)
        c.reply()
        assert c.cmd("EHLO full.example")[0] == 250
        assert c.cmd("MAIL FROM:<first@a.example>")[0] == 250
        assert c.cmd("RCPT TO:<one@sink.lab>")[0] == 250
        assert c.cmd("RCPT TO:<elsewhere@other.example>")[0] == 550
        assert c.cmd("DATA")[0] == 354
        assert c.cmd("Subject: lost\r\n\r\n" + "y" * 20000 + "\r\n.")[0] == 451
        filler.unlink()
        assert c.cmd("MAIL FROM:<second@b.example>")[0] == 250  # not "nested MAIL"
        assert c.cmd("RCPT TO:<two@sink.lab>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        assert c.cmd("Subject: kept\r\n\r\nz\r\n.")[0] == 250
        c.cmd("QUIT")
        (r,) = sink.wait_receipts(1)
        assert (r["mail_from"], r["rcpt"], r["subject"]) == ("second@b.example", ["two@sink.lab"], "kept")
        sink.stop()
        log = sink.log.read_text()
        assert 'event=refused rcpt="TO:<elsewhere@other.example>"' in log
        assert 'event=stored peer=127.0.0.1 from="second@b.example" to="two@sink.lab" rcpts=1 ' \
            'subject="kept"' in log
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_ipv6_listener(sink_factory):
    if not socket.has_ipv6:
        pytest.fail("no IPv6 on this machine")
    sink = sink_factory(host="::1")
    c = Client("::1", sink.port)
    c.reply()
    code, lines = c.cmd("EHLO v6")
    assert code == 250 and "[IPv6:::1]" in lines[0]
    c.cmd("MAIL FROM:<a@b>")
    assert c.cmd("RCPT TO:<x@[IPv6:::1]>")[0] == 250
    c.cmd("DATA")
    assert c.cmd("Subject: v6\r\n\r\nx\r\n.")[0] == 250
    (r,) = sink.wait_receipts(1)
    assert r["peer_addr"] == "::1"
