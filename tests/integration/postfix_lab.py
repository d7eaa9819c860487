"""Real Postfix instances on loopback addresses (shared/LAB-NOTES.md): each with its own
config, queue and data directories, listening on ADDR:25, routing the sink domain to the
test's sink. Needs root and the postfix package; fails loudly otherwise."""
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

MAIN_CF = pathlib.Path("/etc/postfix/main.cf")


def require():
    if os.geteuid() != 0:
        raise RuntimeError("the Postfix lab needs root (ip addr add, port 25)")
    if not shutil.which("postfix") and not pathlib.Path("/usr/sbin/postfix").exists():
        raise RuntimeError("postfix is not installed (make deps installs it)")


class Lab:
    def __init__(self, sink_port, sink_domain="sink.lab"):
        require()
        # Postfix's own user must reach its data directory: not under pytest's 0700 tmp.
        self.base = pathlib.Path(tempfile.mkdtemp(prefix="relaytrap-lab-"))
        self.base.chmod(0o755)
        self.sink_port = sink_port
        self.sink_domain = sink_domain
        self.instances = []
        self.saved_main = MAIN_CF.read_text() if MAIN_CF.exists() else None

    def add(self, name, addr, mynetworks, extra=""):
        d = self.base / name
        for sub in ("queue", "data"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(d / "data", "postfix", "postfix")
        shutil.copy("/etc/postfix/master.cf", d / "master.cf")
        (d / "main.cf").write_text(
            f"""compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
inet_interfaces = {addr}
inet_protocols = ipv4
myhostname = {name}.lab
mydomain = lab
mydestination =
mynetworks = {mynetworks}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
transport_maps = inline:{{ {self.sink_domain}=smtp:[127.0.0.1]:{self.sink_port} }}
smtp_dns_support_level = disabled
disable_dns_lookups = yes
smtp_bind_address = {addr}
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
alias_maps =
alias_database =
local_recipient_maps =
relay_domains =
smtpd_banner = $myhostname ESMTP Postfix
{extra}
"""
        )
        subprocess.run(["ip", "addr", "add", addr + "/32", "dev", "lo"],
                       stderr=subprocess.DEVNULL, check=False)
        self.instances.append((d, addr))
        return d

    def start(self):
        MAIN_CF.write_text(
            "compatibility_level = 3.6\nmaillog_file = /dev/null\n"
            "alternate_config_directories = " + " ".join(str(d) for d, _ in self.instances) + "\n"
        )
        for d, addr in self.instances:
            r = subprocess.run(["script", "-qc", f"postfix -c {d} start", "/dev/null"],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise RuntimeError(f"postfix -c {d} start failed: {r.stdout[-800:]}")
        for d, addr in self.instances:
            wait_banner(addr, 25)

    def stop(self):
        for d, addr in self.instances:
            subprocess.run(["postfix", "-c", str(d), "stop"], capture_output=True, timeout=60)
            subprocess.run(["ip", "addr", "del", addr + "/32", "dev", "lo"],
                           stderr=subprocess.DEVNULL, check=False)
        if self.saved_main is None:
            MAIN_CF.unlink(missing_ok=True)
        else:
            MAIN_CF.write_text(self.saved_main)
        shutil.rmtree(self.base, ignore_errors=True)


def wait_banner(addr, port, timeout=30):
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((addr, port), timeout=2) as s:
                if s.recv(100).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"no Postfix banner on {addr}:{port}")
