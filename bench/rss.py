"""Runs a command and prints "seconds peak_rss_kib returncode": the process's own peak RSS,
VmHWM from /proc while it runs (wait4's ru_maxrss would count the forking parent's pages).
Its stderr goes to the file named by RSS_STDERR, else is dropped. Usage: rss.py CMD..."""
import os
import subprocess
import sys
import time

err = open(os.environ.get("RSS_STDERR", os.devnull), "w")
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=err)
peak = 0
while p.poll() is None:
    try:
        for line in open(f"/proc/{p.pid}/status"):
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    except (OSError, ValueError):
        pass
    time.sleep(0.01)
print("%.3f %d %d" % (time.monotonic() - t0, peak, p.returncode))
