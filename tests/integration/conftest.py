"""Fixtures for integration tests: start relaytrap-sink on loopback, talk SMTP to it."""
import json
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest

BUILD = pathlib.Path(os.environ.get("RELAYTRAP_BUILD", pathlib.Path(__file__).parents[2] / "build"))
SINK = BUILD / "relaytrap-sink"
# Under ASan+UBSan, shadow memory and the allocation quarantine inflate RSS: memory bounds
# are checked in the normal build, and only sanity-checked (x8) here.
MEM_SLACK = 8 if os.environ.get("RELAYTRAP_ASAN") == "1" else 1


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host, port, timeout=10.0):
    """Waits for the greeting, then QUITs and waits for the server's close, so the probe no
    longer counts against any per-address limit when this returns."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                s.recv(512)
                s.sendall(b"QUIT\r\n")
                while s.recv(512):
                    pass
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port}")


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Sink:
    def __init__(self, tmp, *args, host="127.0.0.1"):
        self.dir = pathlib.Path(tmp)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = free_port(host)
        self.maildir = self.dir / "Maildir"
        self.receipts = self.dir / "receipts.jsonl"
        self.log = self.dir / "sink.log"
        listen = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        self.argv = [str(SINK), "-f", "-l", listen, "-d", "sink.lab",
                     "--maildir", str(self.maildir), "--receipts", str(self.receipts), *args]
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "w"))
        wait_port(host, self.port)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        return self.proc.returncode

    def receipts_list(self):
        if not self.receipts.exists():
            return []
        return [json.loads(line) for line in self.receipts.read_text().splitlines()]

    def maildir_files(self):
        return sorted((self.maildir / "new").iterdir())

    def wait_receipts(self, n, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.receipts_list()
            if len(got) >= n:
                return got
            time.sleep(0.05)
        return self.receipts_list()


def spool_records(path):
    """The records of a --store spool file: (offset, message bytes, receipt line bytes)."""
    data, recs, o = path.read_bytes(), [], 0
    while o < len(data):
        nl = data.index(b"\n", o)
        magic, mlen, rlen = data[o:nl].split(b" ")
        assert magic == b"RTS1", data[o:nl]
        m0, r0 = nl + 1, nl + 1 + int(mlen)
        recs.append((o, data[m0:r0], data[r0:r0 + int(rlen)]))
        assert recs[-1][2].endswith(b"\n") and len(recs[-1][2]) == int(rlen)
        o = r0 + int(rlen)
    return recs


@pytest.fixture
def sink_factory(tmp_path):
    started = []

    def make(*args, **kw):
        s = Sink(tmp_path / f"sink{len(started)}", *args, **kw)
        started.append(s)
        return s

    (tmp_path).mkdir(exist_ok=True)
    yield make
    for s in started:
        s.stop(signal.SIGKILL if s.proc.poll() is None else signal.SIGTERM)


@pytest.fixture
def sink(sink_factory):
    return sink_factory()


class Client:
    """A deliberately simple SMTP client that reads whole replies (multi-line aware)."""

    def __init__(self, host, port, timeout=5.0, source=None):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""

    def reply(self):
        lines = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"closed after {lines!r}")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            lines.append(line.rstrip(b"\r").decode("latin-1"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(lines[-1][:3]), lines

    def cmd(self, text):
        self.sock.sendall(text.encode("latin-1") + b"\r\n")
        return self.reply()

    def begin(self, rcpt="x@sink.lab", helo="EHLO client.example", sender="a@b"):
        """Greeting, HELO/EHLO, MAIL, RCPT and DATA, each asserted: ready for the message."""
        assert self.reply()[0] == 220
        assert self.cmd(helo)[0] == 250
        assert self.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        assert self.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        assert self.cmd("DATA")[0] == 354

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()


@pytest.fixture
def client_factory():
    made = []

    def make(host, port, **kw):
        c = Client(host, port, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            c.close()
        except OSError:
            pass
