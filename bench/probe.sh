#!/bin/bash
# Scan throughput and memory (issue 3 benchmark). One smtp-sink listening on 0.0.0.0:PORT,
# closed to relaying (-f rcpt: every RCPT gets 5xx), answers on every address of 127.90.0.0/20
# (4,096 targets; all of 127/8 is local). nmap --script smtp-open-relay and relaytrap with the
# 16 nmap-equivalent tests scan the same farm in the same run; then relaytrap's peak RSS for
# 4,096 and 65,536 targets (127.91.0.0/16 on a port where nothing listens: every connect is
# refused).
# Loopback only. Usage: bash bench/probe.sh [BUILD] [ROUNDS]
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-3}
RT="$BUILD/relaytrap"
command -v nmap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nmap >/dev/null
. "$(dirname "$0")/common.sh"
WORK=$(mktemp -d /tmp/relaytrap-bench-probe.XXXXXX)
PORT=25
port25_free 127.90.0.1
SINKPORT=$(free_port)
DEADPORT=$(free_port) # nothing listens there
smtp-sink -u postfix -f rcpt -m 4096 "0.0.0.0:$PORT" 4096 &
SINKPID=$!
trap 'kill $SINKPID 2>/dev/null; rm -rf "$WORK"' EXIT
sleep 0.5
TESTS=$NMAP_TESTS
N=4096
: > "$WORK/nmap"; : > "$WORK/rt"
for r in $(seq "$ROUNDS"); do
  measure nmap -n -Pn -T5 --min-parallelism 1000 -p "$PORT" --script smtp-open-relay \
      --script-args smtp-open-relay.domain=sink.lab 127.90.0.0/20 >> "$WORK/nmap"
  measure "$RT" -q --no-ptr -t "$TESTS" -p "$PORT" -d sink.lab --sink-listen "127.0.0.1:$SINKPORT" \
      -c 1000 -r 100000 --per-net 256 -w 0 -o "$WORK/r.jsonl" 127.90.0.0/20 >> "$WORK/rt"
  closed=$($PY -c 'import json,sys;print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("verdict")=="closed"))' "$WORK/r.jsonl")
  [ "$closed" = "$N" ] || { echo "relaytrap found $closed closed hosts of $N" >&2; exit 1; }
done
nm_s=$(awk '{print $1}' "$WORK/nmap" | median); rt_s=$(awk '{print $1}' "$WORK/rt" | median)
rt_cpu=$(awk '{print $2}' "$WORK/rt" | median); rt_rss=$(awk '{print $3}' "$WORK/rt" | median)
nm_cpu=$(awk '{print $2}' "$WORK/nmap" | median)
$PY - "$N" "$nm_s" "$rt_s" "$nm_cpu" "$rt_cpu" "$rt_rss" <<'PY'
import sys
n, nm, rt, nmc, rtc, rss = int(sys.argv[1]), *map(float, sys.argv[2:])
print("%d closed targets, 16 tests each, medians of the runs:" % n)
print("  nmap smtp-open-relay: %8.1f hosts/s  %6.2f CPU ms/host" % (n / nm, 1000 * nmc / n))
print("  relaytrap:            %8.1f hosts/s  %6.2f CPU ms/host  peak RSS %.1f MB" % (n / rt, 1000 * rtc / n, rss / 1024))
print("  ratio relaytrap/nmap: %.1fx (target >= 10x)" % (nm / rt))
PY
# memory with a large space of mostly unreachable targets
read -r s cpu rss < <(measure "$RT" -q --no-ptr -t "$TESTS" -p "$DEADPORT" --sink-listen "127.0.0.1:$SINKPORT" \
    -c 1000 -r 100000 --per-net 256 -w 0 -o "$WORK/big.jsonl" 127.91.0.0/16)
echo "65536 targets (connection refused): $(printf '%.1f' "$s") s, peak RSS $((rss / 1024)) MB (4,096 targets: $((${rt_rss%.*} / 1024)) MB; target <= 64 MB and flat)"
# CPU per host with and without STARTTLS: its own farm on port 25, so smtp-sink goes first
kill $SINKPID; wait $SINKPID 2>/dev/null || true
echo; bash "$(dirname "$0")/starttls.sh" "$BUILD" "$ROUNDS"
