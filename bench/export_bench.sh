#!/usr/bin/env bash
# Export benchmark (run by hand; figures go in the issue notes).
#   bash bench/export_bench.sh [FORMAT] [NAIVE_ROUTINE]
# For every shipped routine: `coach export` wall time, x real time and peak
# RSS (GNU time). Then the same schedule made the naive way for one routine
# (NAIVE_ROUTINE, default lower-back-relief): one espeak-ng process per
# phrase and sox for every tone, padding and mixing, as a shell script would;
# both measured in this run so the ratio is side by side. The naive way
# writes one full-length WAV per event: tens of GB for lower-back-relief
# (warm-up, the shortest, needs about 7 GB); they are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=${1:-wav}
naive_routine=${2:-lower-back-relief}
coach=${COACH:-./build/coach}
. bench/timing.sh # rewrite_of
mapfile -t rw < <(rewrite_of "$coach") # every export renders and writes its file
out=bench/out
mkdir -p "$out"
[ -x "$coach" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: bash scripts/setup.sh --bench" >&2; exit 1; }

printf '%-22s %9s %9s %10s %9s\n' routine audio_s wall_s x_realtime rss_MB
total_audio=0 total_wall=0 max_rss=0
for f in routines/*.ini; do
  name=$(basename "$f" .ini)
  audio=$("$coach" plan "$f" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["length_seconds"])')
  /usr/bin/time -f '%e %M' -o "$out/time" "$coach" export "$f" -o "$out/$name.$fmt" -q "${rw[@]}"
  read -r wall rss_kb <"$out/time"
  x=$(python3 -c "print(f'{$audio/max($wall,0.001):.0f}')")
  printf '%-22s %9.1f %9.2f %10s %9.1f\n' "$name" "$audio" "$wall" "$x" "$(python3 -c "print($rss_kb/1024)")"
  total_audio=$(python3 -c "print($total_audio+$audio)")
  total_wall=$(python3 -c "print($total_wall+$wall)")
  [ "$rss_kb" -gt "$max_rss" ] && max_rss=$rss_kb
done
printf '%-22s %9.1f %9.2f %10s %9.1f\n' ALL "$total_audio" "$total_wall" \
  "$(python3 -c "print(f'{$total_audio/max($total_wall,0.001):.0f}')")" "$(python3 -c "print($max_rss/1024)")"

# The naive way: the same events at the same times, one process each.
work=$out/naive
rm -rf "$work"; mkdir -p "$work"
"$coach" plan "$naive_routine" --json >"$work/plan.json"
python3 - "$work" <<'PY'
import json, shlex, sys
work = sys.argv[1]
plan = json.load(open(f"{work}/plan.json"))
rate = plan["rate_hz"]
tone = {  # the same sounds, as sox synth commands: (seconds, synth args)
    "click": (0.02, "sine 1800 fade q 0.001 0.02 0.015"),
    "click-accent": (0.025, "sine 2400 fade q 0.001 0.025 0.02"),
    "beep": (0.12, "sine 880 fade h 0.005 0.12 0.005"),
    "beep-final": (0.4, "sine 1320 fade h 0.005 0.4 0.005"),
    "phase": (0.15, "sine 660 fade h 0.005 0.15 0.005"),
    "bell": (2.5, "sine 660 fade q 0.002 2.5 2.4"),
}
cmds = []
for i, e in enumerate(plan["events"]):
    start = e["time"]
    f = f"{work}/e{i:05d}.wav"
    if e["kind"] == "speech":
        cmds.append(f"espeak-ng -v en-us -s 160 -w {work}/s{i:05d}.wav {shlex.quote(e['text'])}")
        cmds.append(f"sox {work}/s{i:05d}.wav -r {rate} {f} pad {start:.6f}")
    elif e["kind"].startswith("breath"):
        a, b = {"breath-in": (220, 440), "breath-out": (440, 220)}.get(e["kind"], (330, 330))
        cmds.append(f"sox -n -r {rate} -c 1 {f} synth {e['duration']:.6f} sine {a}:{b} vol 0.15 fade h 0.08 {e['duration']:.6f} 0.08 pad {start:.6f}")
    else:
        d, synth = tone[e["kind"]]
        cmds.append(f"sox -n -r {rate} -c 1 {f} synth {d} {synth} vol 0.3 pad {start:.6f}")
n = len(plan["events"])
# mix in batches (sox has an open-file limit), then mix the batches
batch = 100
parts = []
for k in range(0, n, batch):
    files = " ".join(f"{work}/e{i:05d}.wav" for i in range(k, min(n, k + batch)))
    p = f"{work}/part{k // batch:03d}.wav"
    parts.append(p)
    cmds.append(f"sox -m {files} {p}" if min(n, k + batch) - k > 1 else f"cp {files} {p}")
cmds.append(f"sox -m {' '.join(parts)} {work}/naive.wav norm -1" if len(parts) > 1 else f"cp {parts[0]} {work}/naive.wav")
open(f"{work}/naive.sh", "w").write("set -e\n" + "\n".join(cmds) + "\n")
print(f"naive pipeline: {n} events, {len(cmds)} commands")
PY
start=$(date +%s.%N)
bash "$work/naive.sh" 2>/dev/null
naive=$(python3 -c "import time; print(time.time() - $start)")
/usr/bin/time -f '%e %M' -o "$out/time" "$coach" export "$naive_routine" -o "$out/side.$fmt" -q
read -r ours _ <"$out/time"
printf 'naive espeak-ng + sox: %.2f s; coach export: %.2f s; coach is %.0fx faster (%s)\n' \
  "$naive" "$ours" "$(python3 -c "print($naive/max($ours,0.001))")" "$naive_routine"
# the naive way leaves one full-length WAV per event (tens of GB): gone now
rm -rf "$work"
