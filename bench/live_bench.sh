#!/usr/bin/env bash
# Live playback benchmark (run by hand; figures go in the issue notes).
#   bash bench/live_bench.sh first-sound      # launch -> first sound, every routine
#   bash bench/live_bench.sh first-sound-cache [ROUTINE] [RUNS]  # launch -> first
#                                             # sound, phrase cache filled (warm: the
#                                             # routine exported once before) vs empty
#                                             # (cold), median of RUNS (default 7)
#   BASE=OLD/coach bash bench/live_bench.sh first-sound-vs [ROUTINE] [RUNS]
#                                             # the same, warm, this coach and BASE in
#                                             # turn (RUNS pairs, default 15): medians
#   bash bench/live_bench.sh long [ROUTINE] [LEVEL]  # whole routine in real time with
#                                             # both cores busy (stress-ng --cpu 2):
#                                             # peak RSS, underruns, missed clips
#   bash bench/live_bench.sh renderer         # renderer instructions per second of audio
#   bash bench/live_bench.sh drift [ROUTINE]  # an hour (bench/routines/hour.ini) played
#                                             # into the sound server and recorded: every
#                                             # tone of the export found, and how far the
#                                             # last ones drifted from the first
# Uses a private PulseAudio with a null sink (no sound card needed).
set -euo pipefail
cd "$(dirname "$0")/.."
coach=${COACH:-$PWD/build/coach}
build=${BUILD:-build}
mode=${1:-first-sound}
work=$(mktemp -d /tmp/coach-live-bench.XXXXXX)
export PULSE_RUNTIME_PATH=$work/rt PULSE_STATE_PATH=$work/state HOME=$work/home
export XDG_RUNTIME_DIR=$work/xdg COACH_HISTORY_FILE=$work/history.tsv
mkdir -p "$PULSE_RUNTIME_PATH" "$PULSE_STATE_PATH" "$HOME" && mkdir -m 700 "$XDG_RUNTIME_DIR"
stress=
cleanup() {
  pulseaudio --kill 2>/dev/null || true
  [ -n "$stress" ] && kill "$stress" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
start_pulse() {
  pulseaudio --daemonize=yes --system=no --exit-idle-time=-1 -n --use-pid-file=yes \
    --log-target=file:"$work/pa.log" -L "module-null-sink sink_name=ci_sink rate=48000" \
    -L module-native-protocol-unix
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "PulseAudio did not start" >&2; exit 1
}

# first_sound COACH CACHE_DIR SECONDS: plays $routine for SECONDS with that
# cache -> "first_sound_ms device_latency_ms" (coach's own measure, --verbose)
first_sound() {
  XDG_CACHE_HOME=$2 "$1" play "$routine" --socket "$work/ctl.sock" --verbose </dev/null \
    >/dev/null 2>"$work/err" &
  local pid=$!
  sleep "$3"
  "$1" ctl stop --socket "$work/ctl.sock" >/dev/null 2>&1 || kill "$pid"
  wait "$pid" || true
  sed -nE 's/.*first sound (-?[0-9]+) ms after launch \(\+([0-9]+) ms device latency\).*/\1 \2/p' "$work/err"
}

case "$mode" in
first-sound)
  start_pulse
  printf '%-22s %14s %16s\n' routine first_sound_ms device_latency_ms
  for f in routines/*.ini; do
    name=$(basename "$f" .ini)
    for run in 1 2 3; do
      "$coach" play "$f" --socket "$work/ctl.sock" --verbose </dev/null >/dev/null 2>"$work/err" &
      pid=$!
      sleep 1.5
      "$coach" ctl stop --socket "$work/ctl.sock" >/dev/null 2>&1 || kill "$pid"
      wait "$pid" || true
      line=$(grep "first sound" "$work/err")
      ms=$(sed -E 's/.*first sound ([0-9]+) ms.*/\1/' <<<"$line")
      lat=$(sed -E 's/.*\(\+([0-9]+) ms device latency\).*/\1/' <<<"$line")
      printf '%-22s %14s %16s\n' "$name#$run" "$ms" "$lat"
    done
  done
  ;;
first-sound-cache)
  # "first sound" is coach's own measure (--verbose): from main() to the
  # first non-silent sample handed to the sink's callback; the device
  # latency the sink reports is printed beside it, not included.
  routine=${2:-lower-back-relief}
  runs=${3:-7}
  start_pulse
  mkdir -p "$work/warm"
  XDG_CACHE_HOME=$work/warm "$coach" export "$routine" -o "$work/fill.wav" -q
  one() { first_sound "$coach" "$1" 3; }
  printf '%-5s %s\n' cache "first sound ms of each run (device latency ms)"
  for kind in cold warm; do
    : >"$work/$kind.ms"
    line=
    for _ in $(seq "$runs"); do
      if [ "$kind" = cold ]; then rm -rf "$work/cold"; mkdir "$work/cold"; dir=$work/cold; else dir=$work/warm; fi
      read -r ms lat < <(one "$dir")
      echo "$ms $lat" >>"$work/$kind.ms"
      line+=" $ms($lat)"
    done
    printf '%-5s%s\n' "$kind" "$line"
  done
  . bench/timing.sh
  for kind in cold warm; do
    printf '%s: median first sound %s ms after launch, + %s ms device latency (median of %s runs)\n' \
      "$kind" "$(cut -d' ' -f1 "$work/$kind.ms" | median)" "$(cut -d' ' -f2 "$work/$kind.ms" | median)" "$runs"
  done
  ;;
first-sound-vs)
  routine=${2:-lower-back-relief}
  runs=${3:-15}
  base=${BASE:?BASE=path to the other coach}
  start_pulse
  mkdir -p "$work/warm"
  XDG_CACHE_HOME=$work/warm "$coach" export "$routine" -o "$work/fill.wav" -q
  one_of() { first_sound "$1" "$work/warm" 1.5 | cut -d' ' -f1; }
  : >"$work/this.ms"
  : >"$work/base.ms"
  for _ in $(seq "$runs"); do
    one_of "$coach" >>"$work/this.ms"
    one_of "$base" >>"$work/base.ms"
  done
  . bench/timing.sh
  echo "this: $(tr '\n' ' ' <"$work/this.ms")"
  echo "base: $(tr '\n' ' ' <"$work/base.ms")"
  printf 'warm first sound, median of %s: this %s ms, base %s ms (+ device latency)\n' "$runs" \
    "$(median <"$work/this.ms")" "$(median <"$work/base.ms")"
  ;;
long)
  routine=${2:-lower-back-relief}
  level=${3:-hard}
  start_pulse
  stress-ng --cpu 2 --timeout 0 >/dev/null 2>&1 &
  stress=$!
  echo "playing $routine at level $level in real time with stress-ng --cpu 2 ..."
  /usr/bin/time -f 'peak RSS %M KB, wall %e s' "$coach" play "$routine" --level "$level" --verbose \
    --socket "$work/ctl.sock" </dev/null >/dev/null 2>"$work/err" || true
  kill "$stress" 2>/dev/null || true
  stress=
  grep -E "missed clips|peak RSS" "$work/err"
  ;;
renderer)
  # instructions spent in render() per second of audio (callgrind counts
  # instructions, so the figure holds on a busy machine)
  # built by CMake with the core library and all it links (bench/render_cost.c)
  cp "$build/render_cost" "$work/render_cost"
  routine=${2:-routines/lower-back-relief.ini}
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --toggle-collect=render \
    "$work/render_cost" "$routine" 2>"$work/vg.err" | tee "$work/out"
  ir=$(callgrind_annotate "$work/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
  secs=$(awk '/audio seconds/ {print $3}' "$work/out")
  python3 -c "ir=$ir; s=$secs; print(f'render(): {ir} instructions for {s} s of 48 kHz stereo = {ir/s/1e6:.2f} M instructions per second of audio'); print(f'at 1e9 instructions/s (a slow Pi-class core) that is {ir/s/1e9*100:.3f}% of one core')"
  ;;
drift)
  routine=${2:-bench/routines/hour.ini}
  onsets=${ONSETS:-$PWD/$build/tests/tools/coach-onsets}
  [ -x "$onsets" ] || { echo "no $onsets: build the tests first" >&2; exit 1; }
  "$coach" export "$routine" -o "$work/ref.wav" -q
  start_pulse
  parecord -d ci_sink.monitor --latency-msec=10 --file-format=wav --rate=48000 --channels=2 \
    --format=s16le "$work/cap.wav" 2>/dev/null &
  rec=$!
  sleep 3 # the idle null sink runs with ~2 s latency until a low-latency reader attaches
  echo "playing $routine in real time into the sound server and recording it ..."
  "$coach" play "$routine" --socket "$work/ctl.sock" --verbose </dev/null >/dev/null 2>"$work/err" || true
  sleep 1
  kill -INT "$rec"; wait "$rec" || true
  grep -E "missed clips" "$work/err"
  "$onsets" --compare "$work/ref.wav" "$work/cap.wav" -v >"$work/cmp" 2>&1 || true
  grep -vE '^  ' "$work/cmp"
  # drift: the capture-minus-export error of each tone over the hour, fitted
  # to a line (ms per hour), and the first and last minute's mean error
  python3 - "$work/cmp" <<'PY'
import re, sys
pts = [(float(m.group(1)), float(m.group(2))) for m in
       (re.match(r"\s+\S+\s+ref\s+(\S+)\s+cap\s+\S+\s+err\s+(\S+) ms", l) for l in open(sys.argv[1])) if m]
if len(pts) < 2:
    sys.exit("no matched onsets")
rate = 48000.0
t = [p[0] / rate for p in pts]; e = [p[1] for p in pts]
n = len(t); mt = sum(t) / n; me = sum(e) / n
slope = sum((a - mt) * (b - me) for a, b in zip(t, e)) / sum((a - mt) ** 2 for a in t)
first = [b for a, b in zip(t, e) if a < t[0] + 60]; last = [b for a, b in zip(t, e) if a > t[-1] - 60]
print(f"{n} tones over {t[-1] - t[0]:.1f} s: error first minute {sum(first)/len(first):+.3f} ms, "
      f"last minute {sum(last)/len(last):+.3f} ms, fitted drift {slope * 3600:+.3f} ms per hour, "
      f"spread {max(e) - min(e):.3f} ms")
PY
  ;;
*)
  echo "usage: $0 first-sound | first-sound-cache [ROUTINE] [RUNS] | long [ROUTINE] [LEVEL] | renderer [ROUTINE] | drift [ROUTINE]" >&2
  exit 2
  ;;
esac
