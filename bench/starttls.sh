#!/bin/bash
# The prober's CPU per host with and without STARTTLS (issue 16 benchmark). One relaytrap-sink
# (closed to relaying: it takes mail for farm.lab only) answers on every address of
# 127.92.0.0/22 (1,024 targets); relaytrap runs the 16 nmap-equivalent tests on each, once
# with --starttls never against the farm with --no-tls, once with --starttls auto against the
# farm offering STARTTLS (every session upgrades: TLS 1.3, an EC certificate made at start).
# nmap's smtp-open-relay (no TLS) runs against the plain farm in the same run as the anchor.
# Loopback only. Usage: bash bench/starttls.sh [BUILD] [ROUNDS]
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-3}
RT="$BUILD/relaytrap"
SINK="$BUILD/relaytrap-sink"
command -v nmap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nmap >/dev/null
. "$(dirname "$0")/common.sh"
WORK=$(mktemp -d /tmp/relaytrap-bench-tls.XXXXXX)
PORT=25
port25_free 127.92.0.1
SINKPORT=$(free_port)
N=1024
NET=127.92.0.0/22
TESTS=$NMAP_TESTS
FARM=
trap '[ -n "$FARM" ] && kill $FARM 2>/dev/null; rm -rf "$WORK"' EXIT
farm() { # $@: extra options; the farm stores nothing (every RCPT is refused)
  "$SINK" -f -q -l "0.0.0.0:$PORT" -d farm.lab --hostname farm.lab --no-fsync \
    --maildir "$WORK/Maildir" --receipts "$WORK/receipts.jsonl" \
    --max-sessions 4096 --max-per-ip 4096 "$@" 2>"$WORK/farm.log" &
  FARM=$!
  for _ in $(seq 50); do
    $PY -c 'import socket,sys;socket.create_connection(("127.92.0.1",int(sys.argv[1])),1)' "$PORT" \
      2>/dev/null && return; sleep 0.1; done
  echo "the farm did not start: $(cat "$WORK/farm.log")" >&2; exit 1
}
stop_farm() { kill "$FARM"; wait "$FARM" 2>/dev/null || true; FARM=; }
# hosts of the results file with verdict closed, and of those how many went over TLS
check() { $PY - "$1" <<'PY'
import json, sys
h = [json.loads(l) for l in open(sys.argv[1])]
h = [x for x in h if x.get("type") == "host"]
print(sum(x["verdict"] == "closed" for x in h), sum(x["tls"] is not None for x in h))
PY
}
scan() { # $1: --starttls mode
  measure "$RT" -q --no-ptr -t "$TESTS" -p "$PORT" -d sink.lab --no-smuggling \
    --sink-listen "127.0.0.1:$SINKPORT" -c 500 -r 100000 --per-net 256 -w 0 \
    --starttls "$1" -o "$WORK/r.jsonl" "$NET"; }
: > "$WORK/plain"; : > "$WORK/tls"; : > "$WORK/nmap"
for r in $(seq "$ROUNDS"); do
  farm --no-tls
  scan never >> "$WORK/plain"
  read -r closed tls < <(check "$WORK/r.jsonl")
  [ "$closed $tls" = "$N 0" ] || { echo "plain: $closed closed, $tls over TLS of $N" >&2; exit 1; }
  measure nmap -n -Pn -T5 --min-parallelism 500 -p "$PORT" --script smtp-open-relay \
    --script-args smtp-open-relay.domain=sink.lab "$NET" >> "$WORK/nmap"
  stop_farm
  farm
  scan auto >> "$WORK/tls"
  read -r closed tls < <(check "$WORK/r.jsonl")
  [ "$closed $tls" = "$N $N" ] || { echo "starttls: $closed closed, $tls over TLS of $N" >&2; exit 1; }
  stop_farm
done
col() { awk "{print \$$2}" "$WORK/$1" | median; }
$PY - "$N" "$ROUNDS" "$(col plain 1)" "$(col plain 2)" "$(col tls 1)" "$(col tls 2)" \
  "$(col nmap 1)" "$(col nmap 2)" "$(col tls 3)" <<'PY'
import sys
n, rounds = int(sys.argv[1]), int(sys.argv[2])
ps, pc, ts, tc, ns, nc, rss = map(float, sys.argv[3:])
print("%d closed targets, 16 tests each, medians of %d rounds (the farm and the prober share the "
      "machine's cores):" % (n, rounds))
print("  nmap smtp-open-relay (plain): %7.1f hosts/s  %6.2f CPU ms/host" % (n / ns, 1000 * nc / n))
print("  relaytrap --starttls never:   %7.1f hosts/s  %6.2f CPU ms/host" % (n / ps, 1000 * pc / n))
print("  relaytrap --starttls auto:    %7.1f hosts/s  %6.2f CPU ms/host  peak RSS %.1f MB"
      % (n / ts, 1000 * tc / n, rss / 1024))
print("  STARTTLS costs %.2fx the CPU per host of the clear (+%.2f ms); with it relaytrap uses "
      "%.2fx nmap's CPU per host without" % (tc / pc, 1000 * (tc - pc) / n, tc / nc))
PY
