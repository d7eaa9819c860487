# Shared by the scan benchmarks (sourced): the Python to use, a free loopback port, the median
# of a column of numbers, a run's wall time, CPU and peak RSS, port 25 free for the farm, and
# the 16 relay tests nmap's smtp-open-relay also tries.
PY=/usr/bin/python3
free_port() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# prints: seconds cpu_seconds peak_rss_kib of the command given
measure() { $PY -c '
import resource, subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %.3f %d" % (time.monotonic() - t, r.ru_utime + r.ru_stime, r.ru_maxrss))' "$@"; }
# nmap runs smtp-open-relay only on SMTP ports (25, 465, 587) without -sV: the farms are on 25.
# $1: an address of the farm's range.
port25_free() {
  if $PY -c 'import socket,sys;socket.create_connection((sys.argv[1],25),1)' "$1" 2>/dev/null; then
    echo "something already listens on port 25; stop it first" >&2; exit 1; fi
}
NMAP_TESTS=plain,null-sender,sender-target-literal,sender-target-host,quoted,quoted-percent,percent-at-literal,percent-at-host,double-at-literal,double-at-host,quoted-at-literal,source-route-literal,source-route-host,bang,bang-at-literal,bang-at-host
