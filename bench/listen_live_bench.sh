#!/usr/bin/env bash
# False triggers of spoken commands on a real audio path (issue 11), run by
# hand; it takes as long as the routines last (the default, 36.8 minutes):
#   bash bench/listen_live_bench.sh [ROUTINE...]
#   (default: lower-back-relief core-strength warm-up)
# Each routine is played by `coach play --listen --verbose` in its default
# mode (coach's own echo canceller) through a private PulseAudio
# (tests/tools/pulse_env.sh): coach plays into a null sink, micsink
# (16 kHz: the sound server resamples, as for a USB microphone), and
# listens to that sink's monitor. The microphone hears nothing but the
# coach, at full level, through the sound server's own buffering and
# timing: what listen_bench.sh's simulated room (a fixed delay) is kinder
# than (docs/PERFORMANCE.md, stop 28). Every 'heard "..."' is a false
# trigger; a heard pause is answered with `coach ctl continue` so that
# the session goes on (counted all the same), and a heard stop ends the
# routine early (told).
# Prints, per routine: its length, the wall time, the false triggers, the
# phrases ignored and why, when the canceller found the coach, what it
# took out, its moves, and coach's CPU share of one core; then the totals.
# Env: COACH (default build/coach), LEVEL_DB (the coach's stream in the
# microphone, default 0: as loud as it plays).
set -u
cd "$(dirname "$0")/.." || exit 1
src=$PWD
coach=${COACH:-$src/build/coach}
level_db=${LEVEL_DB:-0}
[ -x "$coach" ] || { echo "build first: $coach" >&2; exit 1; }
for p in pactl paplay python3; do
  command -v $p >/dev/null || { echo "no $p: bash scripts/setup.sh --test" >&2; exit 1; }
done
[ -d /usr/share/pocketsphinx/model/en-us ] || { echo "no pocketsphinx-en-us: bash scripts/setup.sh --test" >&2; exit 1; }
routines=("$@")
[ ${#routines[@]} -gt 0 ] || routines=(lower-back-relief core-strength warm-up)

tmp=$(mktemp -d /tmp/coach-listen-live.XXXXXX)
. "$src/tests/tools/pulse_env.sh"
coach_pid=
# the server first: it writes into its directory as it stops
pulse_on_exit '[ -n "$coach_pid" ] && kill -KILL "$coach_pid" 2>/dev/null; pulse_stop; rm -rf "$tmp"'
pulse_start "$tmp/pa" || { echo "PulseAudio cannot start here" >&2; exit 1; }
pactl load-module module-null-sink sink_name=micsink rate=16000 >/dev/null || { echo "no micsink" >&2; exit 1; }
mkdir -p "$tmp/home"
export COACH_DATA_DIR=$src HOME=$tmp/home XDG_DATA_HOME="" XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE=$tmp/home/history.tsv
sock=$tmp/ctl.sock

stream_of() { # the sink input of process $1, once it plays
  pactl list sink-inputs | awk -v p="$1" '/^Sink Input #/ {i = substr($3, 2)}
    /application.process.id = / {gsub(/"/, "", $3); if ($3 == p) print i}'
}
now() { echo "$EPOCHREALTIME"; }

total_s=0 total_false=0 total_cpu=0
printf '%-20s %8s %8s %6s %8s %8s %8s %-s\n' routine audio_s wall_s false ignored found_at cpu_share canceller
for name in "${routines[@]}"; do
  r=$name; [ -f "$r" ] || r=routines/$name.ini
  [ -f "$r" ] || { echo "no routine $name" >&2; exit 1; }
  len=$("$coach" plan "$r" --json | python3 -c 'import json, sys; print("%.1f" % json.load(sys.stdin)["length_seconds"])')
  err=$tmp/$(basename "$r" .ini).err
  : >"$err"
  t0=$(now)
  PULSE_SINK=micsink PULSE_SOURCE=micsink.monitor /usr/bin/time -f '%U %S' -o "$tmp/cpu" \
    "$coach" play "$r" --listen --verbose --socket "$sock" </dev/null >"$tmp/out" \
    2> >(while IFS= read -r l; do printf '%.1f %s\n' "$(python3 -c "print($EPOCHREALTIME - $t0)")" "$l"; done >"$err") &
  coach_pid=$!
  set_level=0 answered=0
  while kill -0 "$coach_pid" 2>/dev/null; do
    if [ $set_level = 0 ] && [ "$level_db" != 0 ]; then
      idx=$(stream_of "$(pgrep -P "$coach_pid" -x coach | head -1)")
      [ -n "$idx" ] && pactl set-sink-input-volume "$idx" "${level_db}dB" && set_level=1
    fi
    # a false "coach pause" would hold the session: go on, as a listener would
    n=$(grep -c 'heard "coach pause"' "$err")
    while [ "$answered" -lt "$n" ]; do
      answered=$((answered + 1))
      sleep 1
      "$coach" ctl --socket "$sock" resume >/dev/null 2>&1
    done
    sleep 1
  done
  wait "$coach_pid"
  st=$?
  sleep 0.5 # the time stamper drains
  coach_pid=
  t1=$(now)
  false_n=$(grep -c 'heard "' "$err")
  ign=$(grep -c 'ignored "' "$err")
  found=$(awk '/found in the microphone/ {print $1 " s"; exit}' "$err"); found=${found:-never}
  canc=$(grep -o 'echo canceller: .*' "$err" | head -1 | sed 's/echo canceller: //')
  read -r u s <"$tmp/cpu"
  awk -v n="$(basename "$r" .ini)" -v a="$len" -v t0="$t0" -v t1="$t1" -v f="$false_n" -v i="$ign" \
    -v fd="$found" -v u="$u" -v s="$s" -v c="$canc" 'BEGIN {
      printf "%-20s %8.1f %8.1f %6d %8d %8s %7.2f%% %s\n", n, a, t1 - t0, f, i, fd, 100 * (u + s) / (t1 - t0), c }'
  grep -E 'heard "|ignored "' "$err" | sed -E 's/^([0-9.]+) coach: /    at \1 s: /'
  [ $st = 0 ] || echo "    exit $st: $(grep -v -E 'heard|ignored|Listening|found|canceller' "$err" | cut -d' ' -f2- | tail -n 3 | tr '\n' ' ')"
  grep -q "^Played" "$tmp/out" || echo "    not played to the end"
  total_s=$(python3 -c "print($total_s + $len)")
  total_false=$((total_false + false_n))
  total_cpu=$(python3 -c "print($total_cpu + $u + $s)")
done
python3 -c "print('total: %.1f min of the coach played into its own microphone, %d false triggers, coach %.2f CPU-s' % ($total_s / 60, $total_false, $total_cpu))"
