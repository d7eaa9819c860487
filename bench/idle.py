"""Opens N idle SMTP connections to HOST:PORT and reports the server's RSS growth per session.
Usage: idle.py PID HOST PORT N"""
import socket
import sys
import time


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


pid, host, port, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
time.sleep(0.2)
base = rss_kib(pid)
conns = []
for i in range(n):
    # spread over 127.0.0.0/24 sources so per-address caps do not interfere
    conns.append(socket.create_connection((host, port), source_address=(f"127.0.0.{10 + i % 200}", 0)))
for c in conns:  # every session has sent its greeting and sits idle
    c.settimeout(10)
    c.recv(512)
time.sleep(0.5)
grown = rss_kib(pid) - base
print(f"{grown * 1024 / n:.0f}")
for c in conns:
    c.close()
