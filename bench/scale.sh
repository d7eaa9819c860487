#!/bin/bash
# Scale (issue 18): memory per connect and per session in flight, and a silent /16 at the set
# rate, with nmap measured in the same run. Everything runs inside two network namespaces made
# here (bench/netns.sh: 10.200.0.0/16 is routed into one that drops every packet, no RST, no
# ICMP) and removed at the end; the slow SMTP farm lives on the namespace's own loopback.
# Needs root and nmap. Usage: bash bench/scale.sh [BUILD] [ROUNDS]
#   (a) silent /16, -c 20000 -r 20000 --connect-timeout 3, default --per-net: time against the
#       ideal 65,536/20,000 + 3 s and the bound the descriptor limit allows; nmap -T5
#       --min-rate 20000 on the same /16
#   (b) RSS per pending connect at -c 1000, 10000 and 50000 (lowered to the descriptor limit)
#   (c) RSS per SMTP session in progress: 1,024 sessions with a server that answers every
#       command 0.2 s late, 16 tests and the default catalogue
#   PARTS=c bash bench/scale.sh build runs only the parts named (default abc)
set -euo pipefail
BUILD=$(realpath "${1:-build}")
ROUNDS=${2:-3}
PARTS=${PARTS:-abc}
part() { case $PARTS in *"$1"*) return 0 ;; esac; return 1; }
RT="$BUILD/relaytrap"
HERE=$(dirname "$(realpath "$0")")
. "$HERE/common.sh" # PY, median; measure is replaced below (inside the namespace, rss.py)
command -v nmap >/dev/null || { echo "nmap is needed" >&2; exit 1; }
. "$HERE/netns.sh"
WORK=$(mktemp -d /tmp/relaytrap-bench-scale.XXXXXX)
SRV=
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; netns_down; rm -rf "$WORK"; }
trap cleanup EXIT
netns_up
inns() { ip netns exec "$NS" nice -n 5 "$@"; }
# prints: seconds peak_rss_kib returncode
measure() { inns env RSS_STDERR="$WORK/stderr" $PY "$HERE/rss.py" "$@"; }
col() { awk -v c="$1" '{print $c}' "$2" | median; }
RTA=(-q --no-ptr --sink-listen 127.0.0.1:2525 -w 0 -o "$WORK/r.jsonl")
FDS=$(inns bash -c 'ulimit -Hn')
INFLIGHT=$((FDS - 64)) # run.c keeps 64 descriptors back
echo "descriptor limit $FDS (hard): at most $INFLIGHT connections in flight; $(nproc) cores, shared"

# (a) silent /16
base=
if part a; then
: > "$WORK/a.rt"; : > "$WORK/a.nmap"; : > "$WORK/base"
for r in $(seq "$ROUNDS"); do
	measure "$RT" "${RTA[@]}" -c 20000 -r 20000 --connect-timeout 3 10.200.0.1 >> "$WORK/base"
	measure "$RT" "${RTA[@]}" -c 20000 -r 20000 --connect-timeout 3 "$SILENT" >> "$WORK/a.rt"
	n=$(grep -c '"verdict":"unreachable"' "$WORK/r.jsonl" || true)
	[ "$n" = 65536 ] || { echo "relaytrap found $n unreachable hosts of 65536" >&2; exit 1; }
	measure nmap -n -Pn -sS -T5 --min-rate 20000 -p 25 "$SILENT" >> "$WORK/a.nmap"
done
base=$(col 2 "$WORK/base")
$PY - "$(col 1 "$WORK/a.rt")" "$(col 2 "$WORK/a.rt")" "$(col 1 "$WORK/a.nmap")" \
	"$(col 2 "$WORK/a.nmap")" "$base" "$INFLIGHT" <<'PY'
import math, sys
rt, rss, nm, nrss, base, fl = map(float, sys.argv[1:])
ideal = 65536 / 20000 + 3
bound = math.ceil(65536 / min(fl, 20000)) * 3
print("(a) silent /16, -c 20000 -r 20000 --connect-timeout 3, default --per-net (medians):")
print("    relaytrap %6.2f s  peak RSS %6.1f MB   ideal %.2f s (%.2fx), descriptor bound %.1f s (%.2fx)"
      % (rt, rss / 1024, ideal, rt / ideal, bound, rt / bound))
print("    nmap      %6.2f s  peak RSS %6.1f MB   relaytrap/nmap: time %.2fx, RSS %.2fx"
      % (nm, nrss / 1024, rt / nm, rss / nrss))
print("    RSS per pending connect: %.0f bytes ((peak - 1-target run %.1f MB) / %d)"
      % ((rss - base) * 1024 / min(fl, 20000), base / 1024, min(fl, 20000)))
PY
fi

# (b) RSS per pending connect against concurrency
if part b; then
if [ -z "$base" ]; then # the 1-target run that (a) measures
	: > "$WORK/base"
	for r in $(seq "$ROUNDS"); do
		measure "$RT" "${RTA[@]}" -c 20000 -r 20000 --connect-timeout 3 10.200.0.1 >> "$WORK/base"
	done
	base=$(col 2 "$WORK/base")
fi
for c in 1000 10000 50000; do
	: > "$WORK/b.$c"
	range=$SILENT
	[ "$c" -lt 10000 ] && range=10.200.0.0/20 # enough to keep -c full, in 12 s
	for r in $(seq "$ROUNDS"); do
		measure "$RT" "${RTA[@]}" -c "$c" -r 100000 --connect-timeout 3 "$range" >> "$WORK/b.$c"
	done
	eff=$((c < INFLIGHT ? c : INFLIGHT))
	$PY - "$c" "$eff" "$(col 1 "$WORK/b.$c")" "$(col 2 "$WORK/b.$c")" "$base" <<'PY'
import sys
c, eff, t, rss, base = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:])
print("(b) -c %-6d %5d pending at once: peak RSS %6.1f MB, %4.0f bytes per pending connect, %.1f s%s"
      % (c, eff, rss / 1024, (rss - base) * 1024 / eff, t,
         "" if eff == c else " (lowered to the descriptor limit)"))
PY
done
grep -h "lowered" "$WORK/stderr" | head -1 | sed 's/^/    relaytrap said: /' || true
fi

# (c) SMTP sessions in progress
if part c; then
# started directly (ip netns exec and nice exec it), so that $! is the server itself
ip netns exec "$NS" nice -n 5 $PY "$HERE/slowsmtp.py" 0.0.0.0 25 0.2 900 >/dev/null 2>&1 &
SRV=$!
sleep 1
T16=plain,null-sender,sender-target-literal,sender-target-host,quoted,quoted-percent,percent-at-literal,percent-at-host,double-at-literal,double-at-host,quoted-at-literal,source-route-literal,source-route-host,bang,bang-at-literal,bang-at-host
for tests in "$T16" all; do
	targs=(); [ "$tests" = all ] || targs=(-t "$tests")
	: > "$WORK/c1"; : > "$WORK/cn"
	for r in $(seq "$ROUNDS"); do
		measure "$RT" "${RTA[@]}" "${targs[@]}" -c 1024 -r 100000 --per-net 256 127.88.0.1 >> "$WORK/c1"
		measure "$RT" "${RTA[@]}" "${targs[@]}" -c 1024 -r 100000 --per-net 256 127.88.0.0/22 >> "$WORK/cn"
		n=$(grep -c '"verdict":"closed"' "$WORK/r.jsonl" || true)
		[ "$n" = 1024 ] || { echo "relaytrap found $n closed hosts of 1024" >&2; exit 1; }
	done
	$PY - "$([ "$tests" = all ] && echo default || echo 16)" "$(col 1 "$WORK/cn")" "$(col 2 "$WORK/c1")" "$(col 2 "$WORK/cn")" <<'PY'
import sys
name, t, one, n = sys.argv[1], *map(float, sys.argv[2:])
print("(c) 1,024 SMTP sessions in progress, %s tests, 0.2 s per reply: %.1f s, peak RSS %.1f MB, %.0f bytes per session"
      % (name, t, n / 1024, (n - one) * 1024 / 1024))
PY
done
fi
