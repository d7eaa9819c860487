"""Documentation and installation: man pages lint clean, --help and the man pages list the same
options, the annotated configuration files list every option and parse, make install and
make uninstall put and remove exactly the expected files."""
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, Client, Sink

ROOT = pathlib.Path(__file__).parents[2]
DOCS = ROOT / "docs"
PROGRAMS = {  # program: (man page, annotated config)
    "relaytrap": ("relaytrap.1", "relaytrap.conf"),
    "relaytrap-sink": ("relaytrap-sink.8", "relaytrap-sink.conf"),
}


def help_options(prog):
    out = subprocess.run([str(BUILD / prog), "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    longs = set(re.findall(r"^\s+(?:-\w, )?--([a-z][a-z0-9-]*)", out.stdout, re.M))
    shorts = set(re.findall(r"^\s+-(\w), --", out.stdout, re.M))
    assert len(longs) > 20
    return longs, shorts


def man_options(page):
    """Options documented as list items (.It Fl ...) in the OPTIONS section."""
    text = (DOCS / page).read_text()
    opts = text.split(".Sh OPTIONS", 1)[1].split("\n.Sh ", 1)[0]
    longs, shorts = set(), set()
    for item in re.findall(r"^\.It (Fl .*)$", opts, re.M):
        longs |= set(re.findall(r"Fl \\-([a-z][a-z0-9\\-]*)", item))
        shorts |= set(re.findall(r"Fl (\w)\b", item))
    return {l.replace("\\-", "-") for l in longs}, shorts


def test_man_pages_lint_clean():
    mandoc = shutil.which("mandoc")
    if not mandoc:
        pytest.fail("mandoc is not installed (make deps installs it)")
    for page in ("relaytrap.1", "relaytrap-sink.8", "relaytrap.conf.5"):
        p = subprocess.run([mandoc, "-Tlint", "-W", "warning", str(DOCS / page)],
                           capture_output=True, text=True)
        assert p.returncode == 0 and p.stdout == "" and p.stderr == "", (page, p.stdout,
                                                                          p.stderr)


@pytest.mark.parametrize("prog", sorted(PROGRAMS))
def test_help_matches_man_page(prog):
    hl, hs = help_options(prog)
    ml, ms = man_options(PROGRAMS[prog][0])
    assert hl - ml == set(), "in --help, missing from the man page"
    assert ml - hl == set(), "in the man page, not in --help"
    assert hs == ms


@pytest.mark.parametrize("prog", sorted(PROGRAMS))
def test_annotated_config_lists_every_option(prog, tmp_path):
    conf = ROOT / "conf" / PROGRAMS[prog][1]
    text = conf.read_text()
    listed = set(re.findall(r"^# ([a-z][a-z0-9-]*) =", text, re.M))
    hl, _ = help_options(prog)
    assert hl - {"config"} == listed
    # every default written there, uncommented, is accepted (mode switches and paths aside)
    skip = {"help", "version", "check-config", "list-tests", "selftest", "dry-run", "user",
            "secret-file", "exclude", "input-list", "resume", "report", "receipts", "domain"}
    lines = [m.group(1) for m in re.finditer(r"^# (([a-z0-9-]+) = \S.*)$", text, re.M)
             if m.group(2) not in skip]
    assert len(lines) > 15
    live = tmp_path / "live.conf"
    live.write_text("\n".join(lines) + "\n")
    args = ["--check-config"] if prog == "relaytrap-sink" else ["--dry-run", "-t", "plain",
                                                                 "127.0.0.9"]
    p = subprocess.run([str(BUILD / prog), "-C", str(live), *args], capture_output=True,
                       text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    # and an error in it names file:line
    live.write_text("\n".join(lines) + "\nno-such-option = 1\n")
    p = subprocess.run([str(BUILD / prog), "-C", str(live), *args], capture_output=True,
                       text=True, cwd=tmp_path)
    assert p.returncode == 2 and f"{live}:{len(lines) + 1}:" in p.stderr


def test_install_and_uninstall(tmp_path):
    dest = tmp_path / "root"
    mk = ["make", "-s", "-C", str(ROOT), "BUILD=" + str(BUILD), "DESTDIR=" + str(dest),
          "PREFIX=/usr/local"]
    p = subprocess.run(mk + ["install"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    files = sorted(str(f.relative_to(dest)) for f in dest.rglob("*") if f.is_file())
    assert files == [
        "etc/relaytrap/relaytrap-sink.conf", "etc/relaytrap/relaytrap.conf",
        "usr/local/bin/relaytrap", "usr/local/bin/relaytrap-sink",
        "usr/local/lib/systemd/system/relaytrap-sink.service",
        "usr/local/share/man/man1/relaytrap.1", "usr/local/share/man/man5/relaytrap.conf.5",
        "usr/local/share/man/man8/relaytrap-sink.8",
        "usr/local/share/relaytrap/advice.conf", "usr/local/share/relaytrap/advisories.conf",
        "usr/local/share/relaytrap/fingerprints.conf",
        "usr/local/share/relaytrap/message.txt", "usr/local/share/relaytrap/notice.txt",
        "usr/local/share/relaytrap/relaytrap-sink.conf",
        "usr/local/share/relaytrap/relaytrap.conf", "usr/local/share/relaytrap/tests.conf",
    ]
    unit = (dest / "usr/local/lib/systemd/system/relaytrap-sink.service").read_text()
    assert "ExecStart=/usr/local/bin/relaytrap-sink -f -C /etc/relaytrap/relaytrap-sink.conf" \
        in unit and "@" not in unit.replace("@BINDIR", "").split("[Unit]")[1]
    # an administrator's configuration survives a reinstall and an uninstall
    mine = dest / "etc/relaytrap/relaytrap.conf"
    mine.write_text("rate = 50\n")
    p = subprocess.run(mk + ["install"], capture_output=True, text=True)
    assert p.returncode == 0 and mine.read_text() == "rate = 50\n" and "kept" in p.stdout
    p = subprocess.run(mk + ["uninstall"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    left = sorted(str(f.relative_to(dest)) for f in dest.rglob("*") if f.is_file())
    assert left == ["etc/relaytrap/relaytrap-sink.conf", "etc/relaytrap/relaytrap.conf"]
    v = subprocess.run([str(BUILD / "relaytrap"), "--version"], capture_output=True, text=True)
    assert v.stdout.startswith("relaytrap ")


def test_results_format_names_every_key(tmp_path):
    """docs/results-format.md names every key that a real run writes into results.jsonl,
    the merged results of --report and the sink's receipts.jsonl."""
    import json
    out = tmp_path / "s.jsonl"
    p = subprocess.run([str(BUILD / "relaytrap"), "--selftest", "--transcript", "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    merged = tmp_path / "m.jsonl"
    p = subprocess.run([str(BUILD / "relaytrap"), "--report", str(out), "--receipts",
                        str(tmp_path / "s.sink" / "receipts.jsonl"), "-o", str(merged)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    keys = set()

    def walk(o, counts=False):
        if isinstance(o, dict):
            for k, v in o.items():
                if not counts:  # the counts object is keyed by verdict names
                    keys.add(k)
                walk(v, k == "counts")
        elif isinstance(o, list):
            for v in o:
                walk(v)

    # the spool layout's receipts: a real one from relaytrap-sink --store spool, and the
    # selftest's receipts as the spool layout writes them, merged by --report
    sink = Sink(tmp_path / "spool", "--store", "spool", "--spool", str(tmp_path / "sp"))
    c = Client("127.0.0.1", sink.port)
    c.begin()
    assert c.cmd("Subject: s\r\n\r\nbody\r\n.")[0] == 250
    c.close()
    assert len(sink.wait_receipts(1)) == 1 and sink.stop() == 0
    spooled = tmp_path / "spooled.jsonl"
    with spooled.open("w") as f:
        for i, line in enumerate((tmp_path / "s.sink" / "receipts.jsonl").read_text().splitlines()):
            r = json.loads(line)
            del r["maildir_file"]
            r["spool_offset"] = 1000 * i
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    undelivered = tmp_path / "undelivered.jsonl"  # as a --no-sink scan writes it
    with undelivered.open("w") as f:
        for line in out.read_text().splitlines():
            o = json.loads(line)
            for k in ("deliveries", "bounces", "auto_replies"):
                o.pop(k, None)
            f.write(json.dumps(o) + "\n")
    merged2 = tmp_path / "m2.jsonl"
    p = subprocess.run([str(BUILD / "relaytrap"), "--report", str(undelivered), "--receipts",
                        str(spooled), "-o", str(merged2)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1, p.stderr
    offsets = [d["spool_offset"] for l in merged2.read_text().splitlines()
               for d in json.loads(l).get("deliveries", [])]
    assert offsets and all(o % 1000 == 0 for o in offsets)
    for f in (out, merged, tmp_path / "s.sink" / "receipts.jsonl", sink.receipts, merged2):
        for line in f.read_text().splitlines():
            walk(json.loads(line))
    assert {"maildir_file", "spool_offset"} <= keys
    doc = (DOCS / "results-format.md").read_text()
    missing = sorted(k for k in keys if "`%s`" % k not in doc)
    assert missing == [], missing
    assert len(keys) > 90
