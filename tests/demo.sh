#!/bin/sh
# make demo: start relaytrap-sink on loopback, push a token-bearing test message through it
# with swaks, and show the receipt it wrote. (Becomes a real scan with the prober.)
set -eu
BUILD=${1:-build}
OUT=demo-out
rm -rf "$OUT" && mkdir -p "$OUT"
PORT=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
head -c 32 /dev/urandom > "$OUT/secret"
"$BUILD/relaytrap-sink" -f -l "127.0.0.1:$PORT" -d sink.lab --secret-file "$OUT/secret" \
    --maildir "$OUT/Maildir" --receipts "$OUT/receipts.jsonl" 2> "$OUT/sink.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do swaks --server "127.0.0.1:$PORT" --quit-after CONNECT >/dev/null 2>&1 && break; sleep 0.1; done
TOKEN=$(PYTHONPATH=tests/integration /usr/bin/python3 -c 'import rttoken, sys
print(rttoken.make(open(sys.argv[1], "rb").read(), 1, "192.0.2.25", 25, 0))' "$OUT/secret")
echo "== sending a relay-test message carrying token $TOKEN"
swaks --server "127.0.0.1:$PORT" --from relaytest@demo.example --to "rt-$TOKEN@sink.lab" \
      --header "Subject: relaytrap relay test rt-$TOKEN" --header "X-Relaytrap-Token: $TOKEN" \
      --body "This is a relay test." | grep -E '^(<-|->) +(MAIL|RCPT|250 2.0.0|DATA)'
sleep 0.3
kill -TERM $PID; wait $PID || true; trap - EXIT
echo "== receipt ($OUT/receipts.jsonl)"
/usr/bin/python3 -m json.tool "$OUT/receipts.jsonl"
echo "== stored message: $OUT/Maildir/$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["maildir_file"])' "$OUT/receipts.jsonl")"
