#!/usr/bin/env python3
"""Machine stalls, seen from outside coach: sleeps 10 ms at a time and
appends "WALL_END_S GAP_MS" to FILE for every sleep that overran by at
least LEAST_MS (default 100). A live test through a sound server can fail
for reasons no program on the machine controls (the virtual machine not
scheduled for half a second); a waking process at normal priority overruns
by under 5 ms on this 2-core machine even beside three busy loops, so an
overrun of 100 ms means the whole machine stopped. Ends on SIGTERM, or
once process PID (the test's shell, third argument) is gone: a test killed
by a timeout runs no trap."""
import os
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
least_s = (float(sys.argv[2]) if len(sys.argv) > 2 else 100.0) / 1000.0
period_s = 0.01
owner = int(sys.argv[3]) if len(sys.argv) > 3 else 0


def owner_gone():
    try:
        os.kill(owner, 0)
        return False
    except ProcessLookupError:
        return True
    except PermissionError:
        return False


with open(sys.argv[1], "a", buffering=1) as out:
    last = time.monotonic()
    n = 0
    while True:
        time.sleep(period_s)
        n += 1
        if owner and n % 100 == 0 and owner_gone():
            break
        t = time.monotonic()
        gap_s = t - last - period_s
        if gap_s >= least_s:
            out.write("%.3f %.0f\n" % (time.time(), gap_s * 1000.0))
        last = t
