"""relaytrap against real Postfix on loopback: an open relay whose mail reaches the embedded
sink, and a closed one. Fails (does not skip) when it cannot run."""
import json
import subprocess

import postfix_lab
from conftest import BUILD, free_port


def test_real_postfix_open_and_closed(tmp_path):
    sp = free_port()
    lab = postfix_lab.Lab(sp)
    lab.add("open1", "127.70.0.2", "0.0.0.0/0")
    lab.add("closed1", "127.70.0.3", "127.255.255.254/32")
    out = tmp_path / "r.jsonl"
    try:
        lab.start()
        p = subprocess.run(
            [str(BUILD / "relaytrap"), "-d", "sink.lab", "--sink-listen", "127.0.0.1:%d" % sp,
             "-w", "8", "--timeout", "10", "-t",
             "plain,null-sender,sender-target-host,percent,quoted,sink-literal",
             "-o", str(out), "127.70.0.2", "127.70.0.3"],
            capture_output=True, text=True, timeout=180)
    finally:
        lab.stop()
    assert p.returncode == 1, p.stderr
    hosts = {h["addr"]: h for h in map(json.loads, out.read_text().splitlines())
             if h["type"] == "host"}
    o, c = hosts["127.70.0.2"], hosts["127.70.0.3"]
    assert (o["verdict"], o["flags"], o["fingerprint"]) == ("open", [], "postfix")
    assert o["target_host"] == "open1.lab"
    plain = [t for t in o["tests"] if t["name"] == "plain"][0]
    assert plain["outcome"] == "accepted" and plain["delivered"] is True
    d = [e for e in o["deliveries"] if e["test"] == "plain"][0]
    assert d["peer_addr"] == "127.70.0.2" and d["prober_visible"] is True
    assert d["received"][0]["family"] == "postfix"
    assert c["verdict"] == "closed"
    assert {t["replies"]["rcpt"]["code"] for t in c["tests"] if "rcpt" in t["replies"]} == {554}
