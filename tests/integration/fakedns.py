"""A tiny authoritative DNS server on loopback UDP for the prober's mx:, name and PTR tests:
answers MX, A, AAAA and PTR from a dict, everything else with an empty NOERROR (or NXDOMAIN for
unknown names); names listed in silent get no answer at all. Bounded: it answers at most
max_queries queries."""
import socket
import struct
import threading


def _name(labels):
    return b"".join(bytes([len(l)]) + l.encode() for l in labels.split(".") if l) + b"\0"


class FakeDNS:
    def __init__(self, records, addr="127.0.0.1", max_queries=1000, silent=()):
        """records: {"name": {"MX": [(pref, host)], "A": ["1.2.3.4"], "AAAA": ["2001:db8::1"],
        "PTR": ["host.example"]}}"""
        self.records = {k.lower().rstrip("."): v for k, v in records.items()}
        self.silent = {n.lower().rstrip(".") for n in silent}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = []
        self.max_queries = max_queries
        self.stopped = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopped and len(self.queries) < self.max_queries:
            try:
                data, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self._answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def _answer(self, q):
        if len(q) < 17:
            return None
        qid, flags, qd = struct.unpack(">HHH", q[:6])
        pos, labels = 12, []
        while pos < len(q) and q[pos]:
            n = q[pos]
            labels.append(q[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        qtype, qclass = struct.unpack(">HH", q[pos + 1:pos + 5])
        question = q[12:pos + 5]
        name = ".".join(labels).lower()
        self.queries.append((name, qtype))
        if name in self.silent:
            return None
        rec = self.records.get(name)
        answers = []
        if rec and qtype == 15:
            for pref, host in rec.get("MX", []):
                rdata = struct.pack(">H", pref) + _name(host)
                answers.append(b"\xc0\x0c" + struct.pack(">HHIH", 15, 1, 60, len(rdata)) + rdata)
        if rec and qtype == 1:
            for a in rec.get("A", []):
                rdata = socket.inet_aton(a)
                answers.append(b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + rdata)
        if rec and qtype == 28:
            for a in rec.get("AAAA", []):
                rdata = socket.inet_pton(socket.AF_INET6, a)
                answers.append(b"\xc0\x0c" + struct.pack(">HHIH", 28, 1, 60, 16) + rdata)
        if rec and qtype == 12:
            for host in rec.get("PTR", []):
                rdata = _name(host)
                answers.append(b"\xc0\x0c" + struct.pack(">HHIH", 12, 1, 60, len(rdata)) + rdata)
        rcode = 0 if rec else 3
        hdr = struct.pack(">HHHHHH", qid, 0x8400 | rcode, 1, len(answers), 0, 0)
        return hdr + question + b"".join(answers)

    def ptr_queries(self):
        return sorted({n for n, t in self.queries if t == 12})  # c-ares retries once

    def stop(self):
        self.stopped = True
        self.t.join(2)
        self.sock.close()
