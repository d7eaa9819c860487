#!/usr/bin/env python3
"""Soak: relaytrap-sink under steady load for SOAK_SECONDS (default 600) with good and hostile
clients on loopback (hostile TLS clients among them: silent, garbage or stalled after
STARTTLS, garbage over a finished handshake). Prints RSS and open descriptors every 10 s; at the end checks that every
message acknowledged with 250 is in receipts.jsonl exactly once, and that RSS and fd count
stayed flat (last sample within 20% + 2 MB / + 16 fds of the sample at 60 s).

    python3 bench/soak.py [BUILD] [SECONDS]

Every client loop is bounded by the deadline; all traffic goes to 127.0.0.1."""
import json
import os
import pathlib
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time

BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build").resolve()
SECONDS = float(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("SOAK_SECONDS", 600))
HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Good(threading.Thread):
    """Sends 2 KiB messages over a connection reused for 20 messages, ~20 messages/s."""

    def __init__(self, port, n, deadline, acked, lock):
        super().__init__(daemon=True)
        self.port, self.n, self.deadline, self.acked, self.lock = port, n, deadline, acked, lock
        self.errors = 0

    def run(self):
        k = 0
        while time.monotonic() < self.deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=10) as s:
                    f = s.makefile("rb")

                    def reply():
                        while True:
                            line = f.readline()
                            if not line:
                                raise ConnectionError("closed")
                            if line[3:4] != b"-":
                                return int(line[:3])

                    assert reply() == 220
                    s.sendall(b"EHLO good.soak\r\n")
                    reply()
                    for _ in range(20):
                        if time.monotonic() >= self.deadline:
                            break
                        k += 1
                        mid = "g%d-%d" % (self.n, k)
                        s.sendall(b"MAIL FROM:<a@soak.test>\r\nRCPT TO:<x@sink.lab>\r\nDATA\r\n")
                        if (reply(), reply(), reply()) != (250, 250, 354):
                            self.errors += 1
                            break
                        body = ("x" * 70 + "\r\n") * 28
                        s.sendall(("Subject: id %s\r\n\r\n%s.\r\n" % (mid, body)).encode())
                        if reply() == 250:
                            with self.lock:
                                self.acked.add(mid)
                        time.sleep(0.05)
                    s.sendall(b"QUIT\r\n")
            except (OSError, ConnectionError, AssertionError):
                self.errors += 1
                time.sleep(0.1)


def hostile(port, deadline, kind):
    rnd = random.Random(kind)
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=5) as s:
                s.settimeout(5)
                if kind == "garbage":
                    s.sendall(bytes(rnd.getrandbits(8) for _ in range(4096)))
                elif kind == "longline":
                    s.sendall(b"EHLO " + b"A" * 100000)
                elif kind == "drip":
                    for c in b"EHLO drip.soak\r\nMAIL FROM:<a@b>\r\n":
                        if time.monotonic() >= deadline:
                            break
                        s.sendall(bytes([c]))
                        time.sleep(0.5)
                elif kind == "relay":
                    s.sendall(b"EHLO r\r\nMAIL FROM:<a@b>\r\n" +
                              b"".join(b"RCPT TO:<x%%y@z%d.example>\r\n" % i for i in range(200)))
                elif kind == "idle":
                    time.sleep(min(20, max(0, deadline - time.monotonic())))
                elif kind == "tls-silent":  # STARTTLS, then nothing: the handshake deadline
                    s.sendall(b"EHLO t\r\nSTARTTLS\r\n")
                    time.sleep(min(35, max(0, deadline - time.monotonic())))
                elif kind == "tls-garbage":  # STARTTLS, then bytes that are no ClientHello
                    s.sendall(b"EHLO t\r\nSTARTTLS\r\n")
                    time.sleep(0.2)
                    s.sendall(b"\x16\x03\x01\x00\x40" + bytes(rnd.getrandbits(8) for _ in range(64)))
                elif kind == "tls-stall":  # the start of a ClientHello, then nothing
                    s.sendall(b"EHLO t\r\nSTARTTLS\r\n")
                    time.sleep(0.2)
                    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
                    time.sleep(min(35, max(0, deadline - time.monotonic())))
                elif kind == "tls-full":  # a whole handshake, then garbage over TLS
                    import ssl
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
                    s.sendall(b"EHLO t\r\nSTARTTLS\r\n")
                    f = s.makefile("rb")
                    while not f.readline().startswith(b"220 2.0.0"):
                        pass
                    t = ctx.wrap_socket(s, server_hostname="sink.lab")
                    t.sendall(bytes(rnd.getrandbits(8) for _ in range(8192)))
                    s = t
                elif kind == "smuggle":
                    s.sendall(b"EHLO s\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@sink.lab>\r\nDATA\r\n"
                              b"Subject: smuggle\r\n\r\nx\n.\nMAIL FROM:<evil@x>\r\n.\r\n")
                try:
                    while s.recv(65536):
                        pass
                except OSError:
                    pass
        except OSError:
            pass
        time.sleep(0.2)


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="rt-soak-"))
    port = free_port()
    sink = subprocess.Popen([str(BUILD / "relaytrap-sink"), "-f", "-q", "-l", f"{HOST}:{port}",
                             "-d", "sink.lab", "--maildir", str(work / "Maildir"),
                             "--receipts", str(work / "receipts.jsonl"), "--no-fsync",
                             "--timeout", "30"], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    start = time.monotonic()
    deadline = start + SECONDS
    acked, lock = set(), threading.Lock()
    good = [Good(port, i, deadline, acked, lock) for i in range(4)]
    for g in good:
        g.start()
    bad = [threading.Thread(target=hostile, args=(port, deadline, k), daemon=True)
           for k in ("garbage", "longline", "drip", "drip", "relay", "idle", "idle", "smuggle",
                     "tls-silent", "tls-garbage", "tls-stall", "tls-full")]
    for b in bad:
        b.start()
    series = []
    print("   t(s)   RSS(KiB)  fds  acked")
    while time.monotonic() < deadline:
        time.sleep(min(10, max(0.1, deadline - time.monotonic())))
        t = time.monotonic() - start
        sample = (t, rss_kib(sink.pid), fds(sink.pid), len(acked))
        series.append(sample)
        print("%7.0f %10d %4d %6d" % sample, flush=True)
    for g in good:
        g.join(timeout=30)
    for b in bad:
        b.join(timeout=30)
    time.sleep(1)
    sink.terminate()
    sink.wait(timeout=60)
    got = {}
    for line in open(work / "receipts.jsonl"):
        mid = json.loads(line).get("subject", "").split()[-1:]
        if mid and mid[0].startswith("g"):
            got[mid[0]] = got.get(mid[0], 0) + 1
    lost = [m for m in acked if got.get(m) != 1]
    ref = next((s for s in series if s[0] >= 60), series[0])
    last = series[-1]
    rss_ok = last[1] <= ref[1] * 1.2 + 2048
    fd_ok = last[2] <= ref[2] + 16
    print("acknowledged %d good messages; lost or duplicated: %d" % (len(acked), len(lost)))
    print("RSS at %.0f s: %d KiB, at the end: %d KiB (max %d); fds %d -> %d (max %d)" % (
        ref[0], ref[1], last[1], max(s[1] for s in series), ref[2], last[2],
        max(s[2] for s in series)))
    print("good-client errors: %d" % sum(g.errors for g in good))
    ok = not lost and rss_ok and fd_ok and len(acked) > 0
    print("soak: %s" % ("PASSED" if ok else "FAILED"))
    subprocess.run(["rm", "-rf", str(work)])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
