#!/bin/sh
# make demo: relaytrap --selftest. Known SMTP servers of every posture (open relay, one that
# strips Received headers, one that accepts and drops, closed, greylisting, auth-required,
# percent-hack only, one behind a smarthost) start inside the process on loopback; relaytrap
# scans them with its embedded sink and prints expected vs found. Loopback only.
set -eu
BUILD=${1:-build}
OUT=demo-out
rm -rf "$OUT" && mkdir -p "$OUT"
echo "== relaytrap --selftest (results: $OUT/selftest.jsonl)"
"$BUILD/relaytrap" --selftest -o "$OUT/selftest.jsonl" --transcript --html "$OUT/report.html" \
  --csv "$OUT/report.csv"
echo "== one host line, abridged:"
/usr/bin/python3 - "$OUT/selftest.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "host" and o["verdict"] == "open-anonymous":
        d = o["deliveries"][0]
        print(json.dumps({k: o[k] for k in ("addr", "port", "verdict", "flags", "banner",
                          "tests_accepted", "tests_delivered")}, indent=1))
        print("first delivery: test %s, found in %s, trace IPs %s, prober visible: %s"
              % (d["test"], d["found_in"], d["trace_ips"], d["prober_visible"]))
PY
echo "== the same scan as a report:"
"$BUILD/relaytrap" --report "$OUT/selftest.jsonl" --receipts "$OUT/selftest.sink/receipts.jsonl" \
  -q --html "$OUT/report.html" --csv "$OUT/report.csv" || [ $? = 1 ]
echo "HTML report: $(pwd)/$OUT/report.html (CSV: $OUT/report.csv)"
