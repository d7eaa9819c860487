#!/usr/bin/env bash
# Scans the lab (tests/lab/lab.py) with nmap's smtp-open-relay and with relaytrap, from the
# same source address, and writes the comparison table (default docs/lab-results.md).
# Needs root; traffic stays on loopback; each scanner gets at most 10 minutes.   usage: tests/lab/compare.sh [OUT.md]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-docs/lab-results.md}
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
LAB="$PY tests/lab/lab.py"
WORK=$(mktemp -d /tmp/relaytrap-compare-XXXXXX)
chmod 755 "$WORK"  # Postfix's own user reads its data directory below it
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SRC=$($PY -c 'import sys; sys.path.insert(0,"tests/lab"); import lab; print(lab.PROBER_SOURCE)')
PER_NET=$($PY -c 'import sys; sys.path.insert(0,"tests/lab"); import lab; print(lab.PER_NET)')
trap '$LAB down --dir "$WORK/lab"; rm -rf "$WORK"' EXIT
[ -x "$BUILD/relaytrap" ] || { echo "compare.sh: build relaytrap first (make)" >&2; exit 2; }

$LAB up --dir "$WORK/lab" --sink "127.0.0.1:$PORT"
read -r -a ADDRS <<<"$($LAB addrs)"
read -r -a TARGETS <<<"$($LAB targets)"
PORTS=$($LAB ports)

t0=$(date +%s.%N)
timeout 600 nmap -Pn -n -e lo -S "$SRC" -p"$PORTS" --script smtp-open-relay \
  --script-args smtp-open-relay.domain=sink.lab -oX "$WORK/nmap.xml" "${ADDRS[@]}" >/dev/null
t1=$(date +%s.%N)
rc=0
timeout 600 "$BUILD/relaytrap" -q --no-ptr -d sink.lab --sink-listen "127.0.0.1:$PORT" --source "$SRC" -w 20 \
  --timeout 10 --per-net "$PER_NET" -o "$WORK/relaytrap.jsonl" "${TARGETS[@]}" || rc=$?
t2=$(date +%s.%N)
[ "$rc" -le 1 ] || { echo "compare.sh: relaytrap exited $rc" >&2; exit 1; }

wall=$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "nmap %.1f s (reply codes only); relaytrap %.1f s (including the 20 s wait for relayed mail).", b-a, c-b }')
$LAB table "$WORK/nmap.xml" "$WORK/relaytrap.jsonl" "$wall" >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "compare.sh: wrote $OUT"
grep -F '**relaytrap right' "$OUT"
