#!/usr/bin/env python3
"""relaytrap's lab: real mail servers on loopback addresses, each in a known posture.

    tests/lab/lab.py up   [--dir DIR] [--sink ADDR:PORT]   start every server
    tests/lab/lab.py down [--dir DIR]                      stop them, remove DIR and the addresses
    tests/lab/lab.py list                                  servers, addresses, expected verdicts
    tests/lab/lab.py addrs                                 their addresses, one line
    tests/lab/lab.py targets                               the same for relaytrap (ADDR:PORT off 25)
    tests/lab/lab.py ports                                 the ports they listen on (nmap -p)
    tests/lab/lab.py table NMAP.xml RESULTS.jsonl [SECONDS] the comparison (docs/lab-results.md)

Postfix runs as several instances (shared/LAB-NOTES.md). Exim and OpenSMTPD conflict with
Postfix as packages, so their .debs are fetched with `apt-get download` and unpacked with
`dpkg -x` into build-lab/root, and run from there: Exim with its own configuration (-C),
spool and pid file; OpenSMTPD, whose spool and control socket paths are compiled in, in a
private mount namespace of its own (tmpfs over /var/spool, /var/lib and /run). No real MTA
here takes empty AUTH credentials, so a scripted one plays that server (tests/lab/authrelay.py,
aiosmtpd, a child process of up()).
Every server relays only to the sink's address ([127.0.0.1]:PORT by default), never
anywhere else: no DNS, no MX lookups. The bouncing servers (pf-bounce, exim-bounce) send
their DSNs the same way: those to a sender at the sink domain go to the sink, the others stay
held (Postfix) or frozen (Exim) in their queues. Needs root; fails loudly otherwise.
Creates the system users the Debian packages would (Debian-exim, opensmtpd, opensmtpq) when
missing, and adds the servers' addresses to lo while they run (down removes them and
restores /etc/postfix/main.cf)."""
import argparse
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
CACHE = pathlib.Path(os.environ.get("RELAYTRAP_LAB_CACHE", HERE.parents[1] / "build-lab"))
ROOT = CACHE / "root"
EXIM = ROOT / "usr/sbin/exim4"
SMTPD = ROOT / "usr/sbin/smtpd"
DEBS = ("exim4-daemon-light", "opensmtpd")
MAIN_CF = pathlib.Path("/etc/postfix/main.cf")
SINK_DOMAIN = "sink.lab"
PROBER_SOURCE = "127.70.9.1"  # the prober binds this, so prober and target differ
DEFAULT_DIR = pathlib.Path("/tmp/relaytrap-lab")
# Sessions at once per /24 in the lab scans: 15 servers share 127.70.0.0/24, and the default
# 4 (politeness towards real networks) would queue them behind Postfix's error sleeps.
PER_NET = 16

# name, MTA, address, port, posture, expected verdict, expected flags, delivered via, and the
# transport every test that was sent used (plain, starttls, tls).
# "partial": an open relay that relayed fewer tests than it took; here the tests the lab has
# no route for (Postfix holds sink-literal; Exim has no router for percent-at-host and
# bang-at-host, local parts at its own name).
# "smuggling": Debian's Postfix 3.7 keeps smtpd_forbid_bare_newline = no, so every open
# Postfix ends data at <LF>.<LF>, <LF>.<CR><LF> and <CR><LF>.<LF> (CVE-2023-51764) and relays
# the smuggled message too; Debian's Exim 4.96 and OpenSMTPD 7 do not.
SERVERS = [
    ("pf-open", "postfix", "127.70.0.2", 25, "open relay", "open", ["partial", "smuggling"],
     None, "plain"),
    ("pf-closed", "postfix", "127.70.0.3", 25, "closed (relays for itself only)", "closed", [],
     None, "plain"),
    ("pf-strip", "postfix", "127.70.0.4", 25, "open relay, header_checks IGNORE every Received",
     "open-anonymous", ["partial", "smuggling"], None, "plain"),
    ("pf-hide", "postfix", "127.70.0.5", 25, "open relay, header_checks REPLACE hides the client",
     "open-anonymous", ["partial", "smuggling"], None, "plain"),
    ("pf-discard", "postfix", "127.70.0.6", 25, "open relay that discards (transport discard:)",
     "accepted", [], None, "plain"),
    ("pf-defer", "postfix", "127.70.0.7", 25, "defer_unauth_destination (4xx)", "deferred", [],
     None, "plain"),
    ("pf-smarthost", "postfix", "127.70.0.8", 25, "open relay behind a smarthost (pf-hub)", "open",
     ["multi_hop", "partial", "smuggling"], "127.70.0.9", "plain"),
    ("pf-hub", "postfix", "127.70.0.9", 25, "smarthost: relays for pf-smarthost only", "closed",
     [], None, "plain"),
    ("pf-submit", "postfix", "127.70.0.10", 25,
     "submission: STARTTLS required (encrypt), then relaying only after AUTH", "closed", [],
     None, "starttls"),
    ("pf-bounce", "postfix", "127.70.0.11", 25,
     "takes relay tests, then bounces them (error:5.7.1)", "accepted", ["bounces"], None,
     "plain"),
    ("pf-tls-open", "postfix", "127.70.0.12", 25, "open relay, but only after STARTTLS (encrypt)",
     "open", ["partial", "smuggling"], None, "starttls"),
    ("pf-tls-out", "postfix", "127.70.0.13", 25,
     "open relay that delivers only over TLS (smtp_tls_security_level = encrypt)", "open",
     ["partial", "smuggling"], None, "plain"),
    ("pf-465", "postfix", "127.70.0.14", 465,
     "open relay on implicit-TLS port 465 only (submissions, smtpd_tls_wrappermode)", "open",
     ["partial", "smuggling"], None, "tls"),
    # XCLIENT ADDR=127.0.0.1 makes the Received header name localhost, not the prober: the
    # relayed message is anonymous, as it would be for any spammer using the same trick.
    ("pf-xclient", "postfix", "127.70.0.15", 25,
     "closed (mynetworks 127.0.0.1/32), but XCLIENT from anyone "
     "(smtpd_authorized_xclient_hosts = 0.0.0.0/0)", "open-anonymous", ["xclient_spoof"], None,
     "plain"),
    # Debian's main.cf (main.cf.debian + main.cf.tls + postinst), but its mynetworks
    # 127.0.0.0/8 without the prober's 127.70.9.1: on a real server no outside client is in it.
    ("pf-debian", "postfix", "127.70.0.16", 25,
     "as Debian ships it (permit_mynetworks permit_sasl_authenticated defer_unauth_destination, "
     "STARTTLS may), mynetworks 127.0.0.0/8 but not the prober", "deferred", [], None,
     "starttls"),
    ("exim-open", "exim", "127.70.1.2", 25, "open relay", "open", ["partial"], None, "plain"),
    ("exim-closed", "exim", "127.70.1.3", 25, "closed (relays for itself only)", "closed", [],
     None, "plain"),
    ("exim-bounce", "exim", "127.70.1.4", 25, "takes relay tests, then bounces them (:fail:)",
     "accepted", ["bounces"], None, "plain"),
    ("smtpd-open", "opensmtpd", "127.70.2.2", 25, "open relay", "open", [], None, "plain"),
    ("smtpd-closed", "opensmtpd", "127.70.2.3", 25, "closed (relays for itself only)", "closed",
     [], None, "plain"),
    # tests/lab/authrelay.py: Postfix cannot be made to take empty credentials.
    ("py-auth", "aiosmtpd", "127.70.3.2", 25,
     "scripted (aiosmtpd): 554 without AUTH; AUTH PLAIN LOGIN take empty credentials, then "
     "relays", "open", ["auth_bypass"], None, "plain"),
]


def servers():
    keys = ("name", "mta", "addr", "port", "posture", "verdict", "flags", "via", "transport")
    return [dict(zip(keys, s)) for s in SERVERS]


def target(s):
    """How relaytrap is given the server: its address, or ADDR:PORT off port 25."""
    return s["addr"] if s["port"] == 25 else "%s:%d" % (s["addr"], s["port"])


def run(cmd, **kw):
    kw.setdefault("check", True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)


def require():
    if os.geteuid() != 0:
        raise RuntimeError("the lab needs root (ip addr add, port 25, system users)")
    for tool in ("postfix", "ip", "unshare", "dpkg", "apt-get", "openssl", "script"):
        if not shutil.which(tool) and not pathlib.Path("/usr/sbin", tool).exists():
            raise RuntimeError(f"the lab needs '{tool}' (make deps installs it)")
    import importlib.util
    if importlib.util.find_spec("aiosmtpd") is None:  # tests/lab/authrelay.py
        raise RuntimeError(f"the lab needs aiosmtpd for {sys.executable} (python3-aiosmtpd)")


def fetch():
    """Exim and OpenSMTPD from Debian, unpacked beside the build, not installed."""
    if EXIM.exists() and SMTPD.exists():
        return
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    os.chmod(debs, 0o777)  # apt-get download runs as _apt where it can
    r = run(["apt-get", "download", *DEBS], cwd=debs, check=False)
    if r.returncode != 0:  # no package lists yet on a fresh machine
        run(["apt-get", "update", "-qq"], check=False)
        r = run(["apt-get", "download", *DEBS], cwd=debs, check=False)
    if r.returncode != 0:
        raise RuntimeError("apt-get download " + " ".join(DEBS) + " failed: " + r.stderr[-500:])
    for deb in sorted(debs.glob("*.deb")):
        run(["dpkg", "-x", str(deb), str(ROOT)])
    for prog in (EXIM, SMTPD):
        missing = [ln for ln in run(["ldd", str(prog)]).stdout.splitlines() if "not found" in ln]
        if missing:
            raise RuntimeError(f"{prog}: libraries missing ({'; '.join(missing)}); make deps")


def system_user(name, home="/nonexistent"):
    if run(["id", name], check=False).returncode == 0:
        return
    if run(["getent", "group", name], check=False).returncode != 0:
        run(["groupadd", "--system", name])
    run(["useradd", "--system", "-g", name, "--no-create-home", "--home-dir", home,
         "--shell", "/usr/sbin/nologin", name])


def wait_banner(addr, port=25, timeout=30, tls=False):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((addr, port), timeout=2) as raw:
                s = raw
                if tls:  # implicit TLS: the banner comes after the handshake
                    import ssl
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                    s = ctx.wrap_socket(raw)
                if s.recv(200).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"no SMTP banner on {addr}:{port}")


# ---- Postfix ----

def postfix_cf(d, name, addr, sink):
    host, port = sink
    p = {
        "compatibility_level": "3.6",
        "queue_directory": f"{d}/queue",
        "data_directory": f"{d}/data",
        "inet_interfaces": addr,
        "inet_protocols": "ipv4",
        "myhostname": f"{name}.lab",
        "mydomain": "lab",
        # Its own name is local (so Postfix's percent hack applies there, as in real life);
        # local mail is discarded, not written to /var/mail.
        "mydestination": "$myhostname",
        "local_transport": "discard:lab",
        "mynetworks": "0.0.0.0/0",
        "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
        "maillog_file": f"{d}/maillog",
        "maillog_file_prefixes": str(d),
        "transport_maps": f"inline:{{ {SINK_DOMAIN}=smtp:[{host}]:{port} }}",
        "smtp_dns_support_level": "disabled",
        "disable_dns_lookups": "yes",
        # no reverse lookup of clients either: the lab sends no DNS query off loopback
        "smtpd_peername_lookup": "no",
        # Mail for anywhere else is accepted and held in the queue (defer_transports):
        # never looked up, never sent.
        "default_transport": "lab-hold",
        "defer_transports": "lab-hold",
        "smtp_bind_address": addr,
        "queue_run_delay": "2s",
        "minimal_backoff_time": "2s",
        "maximal_backoff_time": "4s",
        "alias_maps": "",
        "alias_database": "",
        "local_recipient_maps": "",
        "relay_domains": "",
        "smtpd_banner": "$myhostname ESMTP $mail_name ($mail_version)",
    }
    if name in ("pf-submit", "pf-tls-open", "pf-465", "pf-debian"):
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN={name}.lab", "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem"])
        p["smtpd_tls_cert_file"] = f"{d}/cert.pem"
        p["smtpd_tls_key_file"] = f"{d}/key.pem"
    if name == "pf-closed":
        p["mynetworks"] = f"{addr}/32"
    elif name == "pf-strip":
        (d / "header_checks").write_text("/^Received:/ IGNORE\n")
        p["header_checks"] = f"regexp:{d}/header_checks"
    elif name == "pf-hide":
        # The client's name and address replaced by localhost's; by, id, for, date kept.
        (d / "header_checks").write_text(
            "/^Received: from [^ ]+ \\([^)]*\\)(.*)$/ "
            "REPLACE Received: from localhost (localhost [127.0.0.1])${1}\n")
        p["header_checks"] = f"regexp:{d}/header_checks"
    elif name == "pf-discard":
        p["transport_maps"] = f"inline:{{ {SINK_DOMAIN}=discard: }}"
    elif name == "pf-defer":
        p["mynetworks"] = f"{addr}/32"
        p["smtpd_relay_restrictions"] = "permit_mynetworks, defer_unauth_destination"
    elif name == "pf-smarthost":
        p["transport_maps"] = ""
        p["defer_transports"] = ""
        p["default_transport"] = "smtp:[127.70.0.9]:25"
    elif name == "pf-hub":
        p["mynetworks"] = "127.70.0.8/32"
    elif name in ("pf-submit", "pf-tls-open", "pf-465"):
        # pf-465: TLS from the first byte (its master.cf service, smtpd_tls_wrappermode)
        p["smtpd_tls_security_level"] = "encrypt"
        if name == "pf-submit":
            p["mynetworks"] = f"{addr}/32"
            p["smtpd_relay_restrictions"] = \
                "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"
    elif name == "pf-xclient":
        # Trusts localhost only (where a content filter or proxy would speak XCLIENT), as
        # 127.0.0.0/8 does on a real server, and lets anyone claim to be it.
        p["mynetworks"] = "127.0.0.1/32"
        p["smtpd_authorized_xclient_hosts"] = "0.0.0.0/0"
    elif name == "pf-debian":
        # What the Debian package writes (main.cf.debian, main.cf.tls, the postinst's
        # smtpd_relay_restrictions and debconf's mynetworks), on top of the lab's own
        # directories, addresses and sink route. TLS both ways at level may (the lab's
        # certificate for the missing snakeoil pair). mynetworks: Debian's, except the
        # prober, which sits in 127.0.0.0/8 only because the lab runs on loopback.
        p.update({
            "smtpd_banner": "$myhostname ESMTP $mail_name (Debian/GNU)",
            "biff": "no",
            "append_dot_mydomain": "no",
            "readme_directory": "no",
            "smtpd_tls_security_level": "may",
            "smtp_tls_CApath": "/etc/ssl/certs",
            "smtp_tls_security_level": "may",
            "smtp_tls_session_cache_database": "btree:${data_directory}/smtp_scache",
            "smtpd_relay_restrictions":
                "permit_mynetworks permit_sasl_authenticated defer_unauth_destination",
            "mydestination": "$myhostname, localhost.localdomain, localhost",
            "relayhost": "",
            "mynetworks": f"!{PROBER_SOURCE}/32 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128",
            "mailbox_size_limit": "0",
            "recipient_delimiter": "+",
        })
    elif name == "pf-tls-out":
        # Relays only over TLS: without STARTTLS at the sink its mail would stay queued.
        p["smtp_tls_security_level"] = "encrypt"
    elif name == "pf-bounce":
        # Passive rejection: 250 after DATA, then the queue manager fails the token recipients
        # (error: transport) and bounces them. The DSN to a sender at the sink domain goes to
        # the sink; DSNs to any other domain are held (lab-hold) like all other mail.
        dom = SINK_DOMAIN.replace(".", "[.]")
        (d / "transport").write_text(f"/^rt-[^@]*@{dom}$/ error:5.7.1 relaying denied by policy\n"
                                     f"/@{dom}$/ smtp:[{host}]:{port}\n")
        p["transport_maps"] = f"regexp:{d}/transport"
        # Else smtpd refuses a recipient that resolves to error: at RCPT time (550 5.7.1),
        # the active rejection this server exists not to make.
        p["smtpd_reject_unlisted_recipient"] = "no"
    return "".join(f"{k} = {v}\n" for k, v in p.items())


def postfix_add(base, name, addr, sink):
    d = base / name
    for sub in ("queue", "data"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    shutil.chown(d / "data", "postfix", "postfix")
    master = pathlib.Path("/etc/postfix/master.cf").read_text()
    if name == "pf-465":
        # submissions (465) instead of smtp (25), as Debian's commented-out entry has it
        smtp = "smtp      inet  n       -       y       -       -       smtpd\n"
        if smtp not in master:
            raise RuntimeError("/etc/postfix/master.cf has no 'smtp inet' service to replace")
        master = master.replace(smtp, "submissions inet n       -       y       -       -"
                                      "       smtpd\n  -o smtpd_tls_wrappermode=yes\n")
    (d / "master.cf").write_text(master + "lab-hold  unix  -       -       y       -       -"
                                          "       smtp\n")
    (d / "main.cf").write_text(postfix_cf(d, name, addr, sink))
    return d


# ---- Exim ----

def exim_cf(d, name, addr, sink):
    host, port = sink
    relay_from = addr if name == "exim-closed" else "*"
    # exim-bounce: the token recipients at the sink domain fail at routing (:fail:) after
    # DATA was accepted, so Exim bounces them to the sender; a bounce to a sender at the sink
    # domain goes to the sink, one to any other domain finds no router and is frozen.
    bounce = "" if name != "exim-bounce" else f"""bounce_rt:
  driver = redirect
  domains = {SINK_DOMAIN}
  local_parts = ^rt-
  data = :fail: relaying denied by policy
  allow_fail

"""
    return f"""primary_hostname = {name}.lab
spool_directory = {d}/spool
log_file_path = {d}/log/%slog
pid_file_path = {d}/exim.pid
exim_path = {EXIM}
local_interfaces = {addr}
daemon_smtp_ports = 25
never_users = root
keep_environment =
tls_advertise_hosts =
host_lookup =
rfc1413_hosts =
acl_smtp_rcpt = acl_rcpt

begin acl
acl_rcpt:
  accept hosts = {relay_from}
  deny message = relay not permitted

begin routers
{bounce}sink:
  driver = manualroute
  domains = {SINK_DOMAIN}
  transport = to_sink
  route_list = * {host}
  self = send

begin transports
to_sink:
  driver = smtp
  port = {port}
  interface = {addr}
  allow_localhost

begin retry
* * F,1h,2s
"""


def exim_start(base, name, addr, sink):
    d = base / name
    for sub in ("spool", "log"):
        (d / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(d / sub, "Debian-exim", "Debian-exim")
    (d / "exim.conf").write_text(exim_cf(d, name, addr, sink))
    r = run([str(EXIM), "-C", f"{d}/exim.conf", "-bd", "-q2s"], check=False)
    if r.returncode != 0:
        raise RuntimeError(f"exim {name} failed to start: {r.stderr[-800:]}")
    return read_pidfile(d / "exim.pid", f"exim {name}")


def read_pidfile(pidfile, what):
    """The daemon's pid once its pid file holds one: the file can exist, empty, for a moment
    before the number is written."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            words = pidfile.read_text().split()
            if words and words[0].isdigit():
                return int(words[0])
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what}: no pid in {pidfile} after 10 s")


# ---- OpenSMTPD ----

def smtpd_cf(name, addr, sink):
    host, port = sink
    relay_from = "any" if name == "smtpd-open" else f'src "{addr}"'
    return f"""listen on {addr} port 25 hostname {name}.lab
action "sink" relay host smtp://{host}:{port} src {addr}
match from {relay_from} for any action "sink"
"""


def smtpd_start(base, name, addr, sink):
    d = base / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "smtpd.conf").write_text(smtpd_cf(name, addr, sink))
    run([str(SMTPD), "-n", "-f", f"{d}/smtpd.conf"])
    # OpenSMTPD looks up the names of its clients, its relay host and itself; in its own mount
    # namespace it gets a resolver on loopback (nothing listens there), so no query leaves lo.
    (d / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    (d / "run.sh").write_text(f"""set -e
mount --make-rprivate /
if [ -e /etc/resolv.conf ]; then mount --bind {d}/resolv.conf /etc/resolv.conf; fi
mount -t tmpfs lab /var/spool && mkdir -m 711 /var/spool/smtpd
mount -t tmpfs lab /var/lib && mkdir -p /var/lib/opensmtpd/empty
mount -t tmpfs lab /run
exec {SMTPD} -d -f {d}/smtpd.conf
""")
    with open(d / "log", "wb") as log:
        p = subprocess.Popen(["unshare", "-m", "sh", str(d / "run.sh")], stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    return p.pid


# ---- scripted servers (what no real MTA here can be made to do) ----

def scripted_start(base, name, addr, sink):
    d = base / name
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "log", "wb") as log:
        p = subprocess.Popen([sys.executable, str(HERE / "authrelay.py"), addr, f"{name}.lab",
                              "%s:%d" % sink], stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
    return p.pid


# ---- the lab ----

def up(base, sink=("127.0.0.1", 2600), names=None):
    """Starts the servers (all, or those named) and returns the state needed by down()."""
    require()
    fetch()
    system_user("Debian-exim")
    for u in ("opensmtpd", "opensmtpq"):
        system_user(u, "/var/lib/opensmtpd/empty")
    base = pathlib.Path(base)
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)  # Postfix's own user must reach its data directory
    for parent in base.resolve().parents:
        if not parent.stat().st_mode & 0o001:
            raise RuntimeError(f"{parent} is not searchable by others: Postfix's own user "
                               f"could not reach {base}/*/data")
    chosen = [s for s in servers() if names is None or s["name"] in names]
    state = {"dir": str(base), "postfix": [], "pids": [], "addrs": [],
             "main_cf": MAIN_CF.read_text() if MAIN_CF.exists() else None}
    (base / "state.json").write_text(json.dumps(state))
    try:
        for s in chosen:
            run(["ip", "addr", "add", s["addr"] + "/32", "dev", "lo"], check=False)
            state["addrs"].append(s["addr"])
            if s["mta"] == "postfix":
                state["postfix"].append(str(postfix_add(base, s["name"], s["addr"], sink)))
        if state["postfix"]:
            MAIN_CF.write_text("compatibility_level = 3.6\nmaillog_file = /dev/null\n"
                               "alternate_config_directories = "
                               + " ".join(state["postfix"]) + "\n")
        for d in state["postfix"]:
            r = run(["script", "-qc", f"postfix -c {d} start", "/dev/null"], check=False)
            if r.returncode != 0:
                raise RuntimeError(f"postfix -c {d} start failed: {r.stdout[-800:]}")
        for s in chosen:
            if s["mta"] == "exim":
                state["pids"].append(exim_start(base, s["name"], s["addr"], sink))
            elif s["mta"] == "opensmtpd":
                state["pids"].append(smtpd_start(base, s["name"], s["addr"], sink))
            elif s["mta"] == "aiosmtpd":
                state["pids"].append(scripted_start(base, s["name"], s["addr"], sink))
        (base / "state.json").write_text(json.dumps(state))
        for s in chosen:
            try:
                wait_banner(s["addr"], s["port"], tls=s["transport"] == "tls")
            except TimeoutError:
                log = base / s["name"] / "log"
                if s["mta"] == "aiosmtpd" and log.exists():
                    raise TimeoutError(f"{s['name']}: no banner; its log: "
                                       + log.read_text()[-800:]) from None
                raise
    except BaseException:
        (base / "state.json").write_text(json.dumps(state))  # what was started, for down()
        down(base)
        raise
    return state


def alive(pid):
    try:  # the scripted servers and OpenSMTPD's unshare are our children when up() ran here
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def down(base):
    base = pathlib.Path(base)
    f = base / "state.json"
    if not f.exists():
        return
    state = json.loads(f.read_text())
    # A daemon whose start failed half-way is not in state["pids"]; its pid file still names it.
    for pidfile in base.glob("*/exim.pid"):
        words = pidfile.read_text().split()
        if words and words[0].isdigit() and int(words[0]) not in state["pids"]:
            state["pids"].append(int(words[0]))
    for d in state["postfix"]:
        run(["postfix", "-c", d, "stop"], check=False)
    for pid in state["pids"]:
        if alive(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while any(alive(p) for p in state["pids"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in state["pids"]:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    for a in state["addrs"]:
        run(["ip", "addr", "del", a + "/32", "dev", "lo"], check=False)
    if state["postfix"]:
        if state["main_cf"] is None:
            MAIN_CF.unlink(missing_ok=True)
        else:
            MAIN_CF.write_text(state["main_cf"])
    shutil.rmtree(base, ignore_errors=True)


def versions():
    import re

    def first(cmd, pick):
        try:
            return pick(run(cmd, check=False).stdout) or "?"
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"
    return {
        "Postfix": first(["postconf", "-dh", "mail_version"], str.strip),
        "Exim": first([str(EXIM), "-C", "/dev/null", "-bV"],
                      lambda t: re.search(r"Exim version (\S+)", t).group(1)),
        "OpenSMTPD": first(["dpkg-deb", "-f", *map(str, sorted((CACHE / "debs").glob(
            "opensmtpd_*.deb"))[:1]), "Version"], str.strip),
        "nmap": first(["nmap", "--version"], lambda t: t.split()[2]),
    }


def nmap_answers(xml_path):
    import xml.etree.ElementTree as ET
    out = {}  # (address, port): the script's answer, for the ports it ran on
    for host in ET.parse(xml_path).getroot().iter("host"):
        addr = host.find("address").get("addr")
        for port in host.iter("port"):
            s = port.find("script[@id='smtp-open-relay']")
            if s is not None:
                out[(addr, int(port.get("portid")))] = s.get("output").strip()
    return out


def ports():
    """Every port some server listens on, for nmap's -p (it has no ADDR:PORT targets)."""
    return sorted({s["port"] for s in servers()})


def nmap_agrees(expected, answer):
    if "open relay (" in answer and "isn't" not in answer:
        return expected in ("open", "open-anonymous")
    if "doesn't seem" in answer or "authentication needed" in answer:
        return expected not in ("open", "open-anonymous")
    return None  # no verdict (the script failed)


def table(nmap_xml, results, seconds=None):
    nm = nmap_answers(nmap_xml)
    with open(results) as f:
        lines = [json.loads(line) for line in f]
    hosts = {(h["addr"], h["port"]): h for h in lines if h["type"] == "host"}
    catalogue = [len(r["tests"]) for r in lines if r["type"] == "run"][0]
    v = versions()
    rows, agree_n, agree_r = [], 0, 0
    for s in servers():
        key = (s["addr"], s["port"])
        h = hosts.get(key, {})
        got = h.get("verdict", "(missing)")
        flags = list(h.get("flags", []))
        if h.get("delivered_via"):
            flags.append("via " + h["delivered_via"])
        transports = sorted({t["transport"] for t in h.get("tests", []) if t["transport"]})
        want = s["verdict"] + "".join(" " + f for f in s["flags"])
        mine = got + "".join(" " + f for f in h.get("flags", []))
        ok_r = mine == want and h.get("delivered_via") == s["via"] and \
            transports == [s["transport"]]
        ok_n = nmap_agrees(s["verdict"], nm.get(key, ""))
        note_n = {True: "(right)", False: "(**wrong**)", None: "(no verdict)"}[ok_n]
        if ok_n and s["verdict"] == "open-anonymous":
            note_n = "(open: right; anonymous: not seen)"
        agree_r += ok_r
        agree_n += ok_n is True
        evidence = "%d accepted, %d delivered" % (h.get("tests_accepted", 0),
                                                  h.get("tests_delivered", 0))
        if h.get("tests_bounced"):
            evidence += ", %d bounced" % h["tests_bounced"]
        delivered = [t["name"] for t in h.get("tests", []) if t.get("delivered") and
                     t.get("via") and not t["via"].startswith("smuggle")]
        if delivered:
            evidence += "; through " + ", ".join(delivered)
        smuggled = [t["name"][len("smuggle-"):-len("-inner")] for t in h.get("tests", [])
                    if t.get("via") == "smuggled" and t.get("delivered")]
        if smuggled:
            evidence += "; smuggled through " + ", ".join(smuggled)
        rows.append("| %s | %s | `%s` | %s | **%s** (%s) | %s %s | %s%s (%s; %s) %s |" % (
            s["name"], s["mta"], target(s), s["posture"], want, s["transport"],
            nm.get(key, "(no answer)").replace("|", "/"), note_n,
            got, "".join(", " + f for f in flags), evidence, "/".join(transports) or "no test sent",
            "(right)" if ok_r else "(**wrong**)"))
    n = len(rows)
    head = [
        "# Lab results: nmap smtp-open-relay and relaytrap against real mail servers",
        "",
        "Generated by `tests/lab/compare.sh` (do not edit by hand). Every server runs on a",
        "loopback address in a known posture (`tests/lab/lab.py list`); both scanners connect",
        "from %s; the relays deliver only to relaytrap's embedded sink." % PROBER_SOURCE,
        "",
        "Versions: " + ", ".join("%s %s" % kv for kv in v.items()) + ".",
        "",
        "- nmap: `nmap -Pn -n -e lo -S %s -p%s --script smtp-open-relay "
        "--script-args smtp-open-relay.domain=%s ADDRS`" % (
            PROBER_SOURCE, ",".join(map(str, ports())), SINK_DOMAIN),
        "- relaytrap: `relaytrap --no-ptr -d %s --sink-listen 127.0.0.1:PORT --source %s -w 20 "
        "--timeout 10 --per-net %d TARGETS` (TARGETS: each address, or ADDR:PORT off port 25; the %d "
        "default tests, those with a path (AUTH, XCLIENT) only where the server offers it)" % (
            SINK_DOMAIN, PROBER_SOURCE, PER_NET, catalogue),
        "",
        "Each row: the expected verdict and flags with the transport the tests should use "
        "(`plain`, `starttls`, `tls`: implicit); nmap's answer; relaytrap's verdict, flags, how "
        "many tests were accepted and delivered, the path tests that relayed, and the transports "
        "its tests used.",
        "",
    ]
    if seconds:
        head += ["Wall time: " + seconds, ""]
    head += [
        "**relaytrap right on %d of %d servers; nmap right about relaying or not on %d of %d, "
        "and it names none of the %d anonymous relays.**" % (
            agree_r, n, agree_n, n, sum(s["verdict"] == "open-anonymous" for s in servers())),
        "",
        "| server | MTA | address | posture | expected | nmap | relaytrap |",
        "|---|---|---|---|---|---|---|",
    ]
    tail = [
        "",
        "What the differences mean:",
        "",
        "- nmap judges by reply codes only. A relay that accepts and then discards (pf-discard)",
        "  is \"open\" to nmap; relaytrap waits for the message and says `accepted` (nothing",
        "  arrived). nmap cannot tell an anonymous relay (pf-strip, pf-hide: Received headers",
        "  stripped or rewritten) from any other; relaytrap reads the delivered headers.",
        "- A relay that takes the message and then bounces it (pf-bounce, exim-bounce: the",
        "  DSN comes back to the test's sender at the sink) is \"open\" to nmap; relaytrap",
        "  says `accepted` with the flag `bounces`: nothing was relayed, the server said no",
        "  after the fact (passive rejection).",
        "- A relay that wants STARTTLS first (pf-tls-open, pf-submit: 530 until STARTTLS) is",
        "  \"authentication needed\" to nmap, which does not speak TLS; relaytrap upgrades, tests",
        "  over TLS and finds pf-tls-open open and pf-submit closed. pf-tls-out relays only over",
        "  TLS: it reaches relaytrap's sink because the sink offers STARTTLS.",
        "- nmap does not say how the mail left (pf-smarthost); relaytrap flags `multi_hop` and",
        "  the address it came from (pf-hub).",
        "- A 4xx policy (pf-defer) is \"doesn't seem to be an open relay\" to nmap, the same",
        "  words as a closed server; relaytrap says `deferred`: try again later, it may open.",
        "- nmap's script speaks TLS on port 465 and finds pf-465 open, as relaytrap does (implicit",
        "  TLS, automatic on 465).",
        "- A relay closed to every client but open to XCLIENT from anyone (pf-xclient) and one",
        "  whose AUTH takes empty credentials (py-auth) are \"doesn't seem to be an open relay\" to",
        "  nmap, which tries neither. relaytrap sends `XCLIENT ADDR=127.0.0.1 NAME=localhost`",
        "  (and its own address: refused, pf-xclient trusts 127.0.0.1 only), and `AUTH PLAIN`",
        "  and `AUTH LOGIN` with empty credentials (not `AUTH ANONYMOUS`: it is not announced), and",
        "  confirms each by delivery: flags `xclient_spoof` and `auth_bypass`. pf-xclient's",
        "  relayed message names localhost, not the prober, in its Received header: the trick",
        "  hides the sender, so the verdict is `open-anonymous`.",
        "- Postfix as Debian ships it (pf-debian) is not a relay for outsiders: `deferred`",
        "  (454 from defer_unauth_destination) over STARTTLS, which it offers (level may).",
        "  Debian's mynetworks is 127.0.0.0/8; the lab leaves the prober's 127.70.9.1 out of",
        "  it, since on a real network no outside client is on the server's loopback (with it",
        "  in, Postfix would relay for the prober, a lab artefact).",
        "- SMTP smuggling: nmap does not test it. relaytrap sends every host that relayed one",
        "  message per end-of-data variant, each carrying a second MAIL, RCPT and DATA to",
        "  another token at the sink. Debian's Postfix 3.7.11 keeps smtpd_forbid_bare_newline",
        "  = no: every open Postfix ends data at <LF>.<LF>, <LF>.<CR><LF> and <CR><LF>.<LF>",
        "  and relays the smuggled message as one of its own (flag `smuggling`,",
        "  CVE-2023-51764). Exim 4.96 takes every variant as data; OpenSMTPD refuses the",
        "  <LF> forms (500, pipelining not supported) and relays nothing smuggled.",
        "- Exim hangs up after a few syntax errors (smtp_max_synprot_errors). nmap's script",
        "  then reports an error and no verdict for exim-closed; relaytrap reconnects (at most",
        "  twice) and finishes the catalogue.",
    ]
    return "\n".join(head + rows + tail) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cmd", choices=("up", "down", "list", "addrs", "targets", "ports", "table"))
    ap.add_argument("files", nargs="*", help="table: NMAP.xml RESULTS.jsonl [WALL-TIME TEXT]")
    ap.add_argument("--dir", default=str(DEFAULT_DIR), help="state and spools (default %(default)s)")
    ap.add_argument("--sink", default="127.0.0.1:2600", help="where relays deliver (ADDR:PORT)")
    a = ap.parse_args()
    if a.cmd == "list":
        for s in servers():
            flags = ",".join(s["flags"] + ([f"via {s['via']}"] if s["via"] else []))
            print(f"{s['name']:13} {s['mta']:12} {target(s):16} {s['verdict']:15} {flags:32} "
                  f"{s['transport']:9} {s['posture']}")
        return 0
    if a.cmd == "addrs":
        print(" ".join(s["addr"] for s in servers()))
        return 0
    if a.cmd == "targets":
        print(" ".join(target(s) for s in servers()))
        return 0
    if a.cmd == "ports":
        print(",".join(map(str, ports())))
        return 0
    if a.cmd == "table":
        if len(a.files) not in (2, 3):
            ap.error("table needs NMAP.xml RESULTS.jsonl [WALL-TIME TEXT]")
        sys.stdout.write(table(*a.files))
        return 0
    if a.cmd == "down":
        down(a.dir)
        return 0
    host, _, port = a.sink.rpartition(":")
    try:
        up(a.dir, (host, int(port)))
    except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as e:
        print(f"lab.py: {e}", file=sys.stderr)
        return 1
    print(f"lab up in {a.dir}; relays deliver to {a.sink}; prober source {PROBER_SOURCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
