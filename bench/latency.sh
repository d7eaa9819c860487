#!/bin/bash
# Latency (issue 18): hosts/s on a farm where every reply comes 200 ms late, against the ceiling
# concurrency ÷ (round trips per host × 200 ms). A farm namespace takes all of 10.201.0.0/20
# (4,096 targets) as local and one delay farm (bench/delayfarm.c, built here with cc and libev)
# answers every address: closed to relaying (RCPT 550), each reply sent 200 ms after its
# command arrived (pipelined commands are answered together), the TCP handshake not delayed.
# This kernel has no netem (no sch_netem, no modules), hence the farm does the delaying; it
# reports how late its replies went out, which shows whether it kept up.
# relaytrap runs the 16 nmap-equivalent tests at -c 1024, once against the farm announcing
# PIPELINING and once not; nmap --script smtp-open-relay runs in the same rounds with default
# timing and with --min-parallelism 1024 against NMAP_NET (default the first 128 addresses:
# both keep about a dozen sessions in flight, so 4,096 would take half an hour and the rate
# does not depend on the count), and on all 4,096 with --max-parallelism 1024 --min-hostgroup
# 4096, the setting that lifts NSE's limit on sockets in flight. Round trips per host come from
# the results' round_trips; for a build without it, from the farm's count (replies made while
# none was pending, the QUIT's 221 included), labelled "farm".
# Needs root and nmap. Usage: [ROUNDS=N] bash bench/latency.sh [BUILD] [ROUNDS]
set -euo pipefail
BUILD=$(realpath "${1:-build}")
ROUNDS=${2:-${ROUNDS:-3}}
RT="$BUILD/relaytrap"
HERE=$(dirname "$(realpath "$0")")
DELAY_MS=${DELAY_MS:-200}
C=${C:-1024}
NMAP_NET=${NMAP_NET:-10.201.0.0/25}
LIMIT=${LIMIT:-600} # seconds any one run may take
. "$HERE/common.sh" # PY, median, NMAP_TESTS
command -v nmap >/dev/null || { echo "nmap is needed" >&2; exit 1; }
. "$HERE/netns.sh"
WORK=$(mktemp -d /tmp/relaytrap-bench-latency.XXXXXX)
FARM=
cleanup() { # set -e holds in a trap too: nothing here may fail before netns_down
	if [ -n "$FARM" ]; then kill "$FARM" 2>/dev/null || true; fi
	netns_down
	rm -rf "$WORK"
}
trap cleanup EXIT
cc -O2 -o "$WORK/delayfarm" "$HERE/delayfarm.c" -lev
netns_farm_up
N=4096
inns() { ip netns exec "$NS" nice -n 5 timeout "$LIMIT" "$@"; }
farm_start() { # $1: 1 to announce PIPELINING, 0 not; $2: its log's name
	# ip netns exec and bash exec the farm, so $! is the farm itself
	ip netns exec "$NS_FARM" bash -c 'ulimit -n "$(ulimit -Hn)"; exec "$@"' farm \
		"$WORK/delayfarm" 0.0.0.0 25 "$DELAY_MS" "$1" "$LIMIT" 2>>"$WORK/farm.$2" &
	FARM=$!
	for _ in $(seq 50); do
		inns $PY -c 'import socket;socket.create_connection(("10.201.0.1",25),1)' 2>/dev/null && return
		sleep 0.1
	done
	echo "the farm did not start: $(cat "$WORK/farm.$2")" >&2; exit 1
}
farm_stop() { kill "$FARM"; wait "$FARM" 2>/dev/null || true; FARM=; }
# prints: seconds peak_rss_kib closed_hosts round_trips(median, or "-") host_seconds(median)
scan() {
	local m
	m=$(inns env RSS_STDERR="$WORK/rt.err" $PY "$HERE/rss.py" "$RT" -q --no-ptr -t "$NMAP_TESTS" \
		-d sink.lab --sink-listen 127.0.0.1:2525 -c "$C" -r 100000 --per-net 256 -w 0 \
		-o "$WORK/r.jsonl" "$FARM_NET")
	[ "$(echo "$m" | awk '{print $3}')" = 0 ] || { echo "relaytrap failed: $m $(tail -3 "$WORK/rt.err")" >&2; exit 1; }
	echo "$(echo "$m" | awk '{print $1, $2}') $($PY - "$WORK/r.jsonl" <<'PY'
import json, statistics, sys
h = [json.loads(l) for l in open(sys.argv[1])]
h = [x for x in h if x.get("type") == "host"]
rt = [x["round_trips"] for x in h if x.get("round_trips") is not None]
print(sum(x["verdict"] == "closed" for x in h), statistics.median(rt) if rt else "-",
      statistics.median(x["seconds"] for x in h))
PY
)"
}
# $1: the range, then nmap's options; prints: seconds; checks that nmap found every host closed
nmap_scan() {
	local t0 t1 n hosts net=$1
	shift
	hosts=$($PY -c 'import ipaddress,sys;print(ipaddress.ip_network(sys.argv[1]).num_addresses)' "$net")
	t0=$(date +%s.%N)
	inns nmap -n -Pn "$@" -p 25 --script smtp-open-relay --script-args smtp-open-relay.domain=sink.lab \
		-oN "$WORK/nmap.out" "$net" >/dev/null 2>&1
	t1=$(date +%s.%N)
	n=$(grep -c "Server doesn't seem to be an open relay" "$WORK/nmap.out" || true)
	[ "$n" = "$hosts" ] || { echo "nmap found $n closed hosts of $hosts" >&2; exit 1; }
	echo "$t1 - $t0" | bc
}
check() { [ "$1" = "$N" ] || { echo "relaytrap found $1 closed hosts of $N" >&2; exit 1; }; }
: > "$WORK/pipe"; : > "$WORK/nopipe"; : > "$WORK/nmap.default"; : > "$WORK/nmap.par"; : > "$WORK/nmap.max"
for r in $(seq "$ROUNDS"); do
	farm_start 1 pipe
	scan >> "$WORK/pipe"; check "$(tail -1 "$WORK/pipe" | awk '{print $3}')"
	farm_stop
	farm_start 0 nopipe
	scan >> "$WORK/nopipe"; check "$(tail -1 "$WORK/nopipe" | awk '{print $3}')"
	farm_stop
	farm_start 0 nmap
	nmap_scan "$NMAP_NET" >> "$WORK/nmap.default"
	nmap_scan "$NMAP_NET" --min-parallelism "$C" >> "$WORK/nmap.par"
	nmap_scan "$FARM_NET" --max-parallelism "$C" --min-hostgroup "$N" >> "$WORK/nmap.max"
	farm_stop
done
col() { # the median of column $1 of file $2, "-" when it has no numbers
	local x
	x=$(awk -v c="$1" '$c != "-" {print $c}' "$2")
	if [ -n "$x" ]; then echo "$x" | median; else echo -; fi
}
for f in pipe nopipe nmap.default nmap.par nmap.max; do # each round, for the record
	echo "$f: $(awk '{printf "%s ", $1}' "$WORK/$f")seconds"
done
cat "$WORK"/farm.* > "$WORK/farm.all"
$PY - "$N" "$C" "$DELAY_MS" "$ROUNDS" "$NMAP_NET" "$WORK/farm.all" \
	"$(col 1 "$WORK/pipe")" "$(col 2 "$WORK/pipe")" "$(col 4 "$WORK/pipe")" "$(col 4 "$WORK/farm.pipe")" \
	"$(col 1 "$WORK/nopipe")" "$(col 2 "$WORK/nopipe")" "$(col 4 "$WORK/nopipe")" "$(col 4 "$WORK/farm.nopipe")" \
	"$(col 1 "$WORK/nmap.default")" "$(col 1 "$WORK/nmap.par")" "$(col 1 "$WORK/nmap.max")" <<'PY'
import ipaddress, sys
n, c, delay_ms, rounds = map(int, sys.argv[1:5])
nmap_net, farm_log = sys.argv[5], sys.argv[6]
v = sys.argv[7:]
d = delay_ms / 1000
nn = ipaddress.ip_network(nmap_net).num_addresses
print("latency farm: %d targets, every reply %d ms late, 16 tests, relaytrap -c %d; medians of %d round(s)"
      % (n, delay_ms, c, rounds))
print("%-34s %8s %8s %12s %9s %6s %8s" % ("", "seconds", "hosts/s", "round trips", "ceiling", "ratio", "RSS MB"))
rate = {}
for name, (s, rss, rt, farm_rt) in (("relaytrap, PIPELINING", v[0:4]), ("relaytrap, no PIPELINING", v[4:8])):
    s, rss = float(s), float(rss)
    if rt != "-":
        trips, label = float(rt), "%g" % float(rt)
    else:  # a build without round_trips: what the farm counted
        trips, label = float(farm_rt), "%.1f farm" % float(farm_rt)
    ceiling = c / (trips * d)
    rate[name] = n / s
    print("%-34s %8.2f %8.1f %12s %9.1f %6.2f %8.1f" % (name, s, n / s, label, ceiling, n / s / ceiling, rss / 1024))
for name, s, nn in (("nmap, default timing", v[8], nn), ("nmap, --min-parallelism %d" % c, v[9], nn),
                    ("nmap, --max-parallelism %d" % c, v[10], n)):
    s = float(s)
    print("%-34s %8.2f %8.1f %12s   %d targets; relaytrap/nmap %.1fx without PIPELINING, %.1fx with"
          % (name, s, nn / s, "?", nn, rate["relaytrap, no PIPELINING"] / (nn / s),
             rate["relaytrap, PIPELINING"] / (nn / s)))
late = [l.split() for l in open(farm_log) if l.startswith("sessions")]
if late:
    print("farm: replies late by %.2f ms on average, %.1f ms at worst; farm CPU %.2f s per run at most"
          % (max(float(x[7]) for x in late), max(float(x[9]) for x in late), max(float(x[11]) for x in late)))
PY
