#!/usr/bin/env bash
# Memory and speed against the routine's length (issue 14), one command:
#   bash bench/scaling_bench.sh [MINUTES...]   (default 5 30 120 480)
# For each length, a routine whose every step says something new
# (bench/gen_routine.sh) is exported to WAV RUNS times (default 3; each run
# with an empty phrase cache, so every run is cold): the median wall time,
# x real time and the median peak RSS (GNU time's %M).
set -euo pipefail
cd "$(dirname "$0")/.."
coach=${COACH:-./build/coach}
out=bench/out/scaling
mkdir -p "$out"
[ -x "$coach" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
runs=${RUNS:-3}
[ $# -gt 0 ] || set -- 5 30 120 480
printf '%-8s %9s %9s %10s %9s\n' minutes audio_s wall_s x_realtime rss_MB
for m in "$@"; do
  bash bench/gen_routine.sh "$m" >"$out/r$m.ini"
  audio=$("$coach" plan "$out/r$m.ini" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["length_seconds"])')
  walls=() rss=()
  for ((k = 1; k <= runs; k++)); do
    rm -rf "$out/cache"
    XDG_CACHE_HOME=$out/cache /usr/bin/time -f '%e %M' -o "$out/time$m.txt" \
      "$coach" export "$out/r$m.ini" -o "$out/r$m.wav" -q
    read -r w r <"$out/time$m.txt"
    walls+=("$w") rss+=("$r")
  done
  python3 - "$m" "$audio" "${walls[*]}" "${rss[*]}" <<'PY'
import statistics, sys
audio = float(sys.argv[2])
wall = statistics.median(float(x) for x in sys.argv[3].split())
peak_mb = statistics.median(float(x) for x in sys.argv[4].split()) / 1024
print(f"{sys.argv[1]:<8} {audio:9.1f} {wall:9.2f} {audio / wall:10.0f} {peak_mb:9.1f}")
PY
  rm -f "$out/r$m.wav"
done
