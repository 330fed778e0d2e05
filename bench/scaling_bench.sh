#!/usr/bin/env bash
# Memory and speed against the routine's length (issue 14), one command:
#   bash bench/scaling_bench.sh [MINUTES...]   (default 5 30 120 480)
# For each length, a routine whose every step says something new
# (bench/gen_routine.sh) is exported to WAV under farm-bench (3 runs):
# the median wall time, x real time and the median peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
coach=${COACH:-./build/coach}
out=bench/out/scaling
mkdir -p "$out"
[ -x "$coach" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
command -v farm-bench >/dev/null || { echo "needs farm-bench" >&2; exit 1; }
[ $# -gt 0 ] || set -- 5 30 120 480
printf '%-8s %9s %9s %10s %9s\n' minutes audio_s wall_s x_realtime rss_MB
for m in "$@"; do
  bash bench/gen_routine.sh "$m" >"$out/r$m.ini"
  audio=$("$coach" plan "$out/r$m.ini" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["length_seconds"])')
  farm-bench -n 3 --warmup 0 --timeout 3600 -- "$coach" export "$out/r$m.ini" -o "$out/r$m.wav" -q \
    >"$out/fb$m.txt" 2>&1
  python3 - "$out/fb$m.txt" "$m" "$audio" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def med(key):  # "A wall s   MIN MEDIAN MAX": the median
    m = re.search(r'^A ' + key + r'\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)', text, re.M)
    return float(m.group(2)) if m else float('nan')
wall, peak_mb = med('wall s'), med('peak MiB')
audio = float(sys.argv[3])
print(f"{sys.argv[2]:<8} {audio:9.1f} {wall:9.2f} {audio / wall:10.0f} {peak_mb:9.1f}")
PY
  rm -f "$out/r$m.wav"
done
