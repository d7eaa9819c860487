#!/bin/sh
# make valgrind: the integration smoke test under valgrind memcheck, no leaks and no errors:
# relaytrap --selftest (prober, embedded sink, in-process relays, one of them over STARTTLS) and
# relaytrap-sink taking two messages (swaks, then Python's smtplib over STARTTLS), then SIGTERM.
# PCRE2's JIT is off (RELAYTRAP_NO_JIT=1): valgrind cannot follow JIT code. Loopback only.
set -eu
BUILD=${1:-build}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
VG="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
export RELAYTRAP_NO_JIT=1
echo "== valgrind: relaytrap --selftest"
$VG "$BUILD/relaytrap" --selftest -o "$OUT/st.jsonl" --transcript --html "$OUT/st.html" \
  --csv "$OUT/st.csv" > "$OUT/st.out"
tail -1 "$OUT/st.out"
echo "== valgrind: relaytrap --report"
rc=0
$VG "$BUILD/relaytrap" --report "$OUT/st.jsonl" --receipts "$OUT/st.sink/receipts.jsonl" \
  --html "$OUT/r.html" -q || rc=$?
[ "$rc" = 1 ] || { echo "report: exit $rc (want 1: open relays)"; exit 1; }
echo "== valgrind: relaytrap-sink with two messages"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# one message with subject $1, sent as soon as the sink (slow under valgrind) takes it: 20 s
send_when_up() {
  for _ in $(seq 1 100); do
    swaks -s 127.0.0.1 -p "$PORT" -t x@sink.lab -f a@b.example --h-Subject "$1" \
      --timeout 20 >/dev/null 2>&1 && return
    sleep 0.2
  done
}
$VG "$BUILD/relaytrap-sink" -f -q -l "127.0.0.1:$PORT" -d sink.lab --maildir "$OUT/Maildir" \
  --receipts "$OUT/receipts.jsonl" &
SINK=$!
send_when_up "vg 1"
swaks -s 127.0.0.1 -p "$PORT" -t "bad%relay@sink.lab" -f a@b.example --timeout 20 >/dev/null 2>&1 || true
# the second message over STARTTLS (the sink's TLS code under valgrind too)
/usr/bin/python3 - "$PORT" <<'PY'
import smtplib, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20) as s:
    s.starttls(context=ctx)
    s.sendmail("a@b.example", ["y@sink.lab"], b"Subject: vg tls\r\n\r\nx\r\n")
PY
kill -TERM $SINK
wait $SINK
n=$(wc -l < "$OUT/receipts.jsonl")
[ "$n" = 2 ] || { echo "sink: $n receipts, want 2"; exit 1; }
grep -q '"tls":{"version":"TLSv1' "$OUT/receipts.jsonl" || { echo "sink: no TLS receipt"; exit 1; }
echo "== valgrind: relaytrap-sink --store spool, a message, a restart"
spool_sink() { # run with &: exec, so that $! is the sink itself
  exec $VG "$BUILD/relaytrap-sink" -f -q -l "127.0.0.1:$PORT" -d sink.lab --store spool \
    --spool "$OUT/messages.spool" --receipts "$OUT/spool-receipts.jsonl"
}
spool_sink &
SINK=$!
send_when_up "vg spool"
kill -TERM $SINK
wait $SINK
# a rotated (emptied) receipts file: start-up reads the spool (the recovery code under
# valgrind too), appends nothing for the old record, and the next message goes after it
: > "$OUT/spool-receipts.jsonl"
spool_sink &
SINK=$!
send_when_up "vg spool 2"
kill -TERM $SINK
wait $SINK
n=$(wc -l < "$OUT/spool-receipts.jsonl")
[ "$n" = 1 ] || { echo "spool sink: $n receipts after a rotated receipts file, want 1"; exit 1; }
echo "valgrind: no errors, no leaks"
