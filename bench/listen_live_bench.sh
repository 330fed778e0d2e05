#!/usr/bin/env bash
# Spoken commands on a real audio path (issue 11), run by hand:
#   bash bench/listen_live_bench.sh [false] [ROUTINE...]   # false triggers
#   bash bench/listen_live_bench.sh hits [VOICE...]        # hits of 20
# Both play `coach play --listen --verbose` in its default mode (coach's
# own echo canceller) through a private PulseAudio
# (tests/tools/pulse_env.sh): coach plays into a null sink, micsink
# (16 kHz: the sound server resamples, as for a USB microphone), and
# listens to that sink's monitor, with the sound server's own buffering
# and timing: what listen_bench.sh's simulated room (a fixed delay) is
# kinder than (docs/PERFORMANCE.md, stop 28).
#
# false (the default; as long as the routines last: 36.9 minutes for the
# default lower-back-relief core-strength warm-up): the microphone hears
# nothing but the coach, at full level. Every 'heard "..."' is a false
# trigger; a heard pause is answered with `coach ctl resume` so that the
# session goes on (counted all the same), and a heard stop ends the
# routine early (told). Prints, per routine: its length, the wall time,
# the false triggers, the phrases ignored and why, when the canceller
# found the coach, what it took out, and coach's CPU share of one core;
# then the totals.
#
# hits (about 17 minutes): lower-back-relief plays into micsink 10 dB
# below the commands' speech level (the commands scaled to 6 dB under the
# session's speech level, its stream turned down by 16 dB; both measured as
# bench/listen_bench.c's speech_rms), and every 4 s one of the 20 command
# recordings of a voice (bench/out/listen, made by `bash
# bench/listen_bench.sh hits`) is played into micsink with paplay, from
# 6 s after the canceller found the coach; a session is started again
# when one ends (a heard "coach stop", the routine's end). What a heard
# command did is undone (pause: resume; louder: softer; softer: louder).
# Prints per voice: hits of 20, heard as another command, and the misses
# with what was heard or ignored instead. VOICE: flite-slt flite-rms
# flite-awb flite-kal16 espeak-en-us+f3 espeak-en+m7 espeak-en-gb (the
# default: all seven).
#
# Env: COACH (default build/coach), LEVEL_DB (false: the coach's stream
# in the microphone, default 0, as loud as it plays; hits: its level under
# the commands, default -10).
set -u
cd "$(dirname "$0")/.." || exit 1
src=$PWD
coach=${COACH:-$src/build/coach}
mode=false
case ${1:-} in hits | false) mode=$1; shift ;; esac
level_db=${LEVEL_DB:-$([ $mode = hits ] && echo -10 || echo 0)}
[ -x "$coach" ] || { echo "build first: $coach" >&2; exit 1; }
for p in pactl paplay python3; do
  command -v $p >/dev/null || { echo "no $p: bash scripts/setup.sh --test" >&2; exit 1; }
done
[ -d /usr/share/pocketsphinx/model/en-us ] || { echo "no pocketsphinx-en-us: bash scripts/setup.sh --test" >&2; exit 1; }
args=("$@")
if [ $mode = hits ]; then
  [ -f bench/out/listen/flite-slt-0-1.wav ] ||
    { echo "no command recordings: bash bench/listen_bench.sh voices/listen/en.ini hits" >&2; exit 1; }
  command -v sox >/dev/null || { echo "no sox: bash scripts/setup.sh --bench" >&2; exit 1; }
fi

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

now_us() { echo "${EPOCHREALTIME/./}"; } # microseconds

false_triggers() {
  local routines=("$@") r name len err t0 t1 st set_level answered n idx false_n ign found canc u s
  [ ${#routines[@]} -gt 0 ] || routines=(lower-back-relief core-strength warm-up)
  total_s=0 total_false=0 total_cpu=0
  printf '%-20s %8s %8s %6s %8s %8s %8s %-s\n' routine audio_s wall_s false ignored found_at cpu_share canceller
  for name in "${routines[@]}"; do
    r=$name; [ -f "$r" ] || r=routines/$name.ini
    [ -f "$r" ] || { echo "no routine $name" >&2; exit 1; }
    len=$("$coach" plan "$r" --json | python3 -c 'import json, sys; print("%.1f" % json.load(sys.stdin)["length_seconds"])')
    err=$tmp/$(basename "$r" .ini).err
    : >"$err"
    t0=$(now_us)
    PULSE_SINK=micsink PULSE_SOURCE=micsink.monitor /usr/bin/time -f '%U %S' -o "$tmp/cpu" \
      "$coach" play "$r" --listen --verbose --socket "$sock" </dev/null >"$tmp/out" \
      2> >(while IFS= read -r l; do
        d=$(($(now_us) - t0)); printf '%d.%d %s\n' $((d / 1000000)) $((d / 100000 % 10)) "$l"
      done >"$err") &
    coach_pid=$!
    set_level=0 answered=0
    while kill -0 "$coach_pid" 2>/dev/null; do
      if [ $set_level = 0 ] && [ "$level_db" != 0 ]; then
        idx=$(pulse_stream_of "$(pgrep -P "$coach_pid" -x coach | head -1)")
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
    t1=$(now_us)
    false_n=$(grep -c 'heard "' "$err")
    ign=$(grep -c 'ignored "' "$err")
    found=$(awk '/found in the microphone/ {print $1 " s"; exit}' "$err"); found=${found:-never}
    canc=$(grep -o 'echo canceller: .*' "$err" | head -1 | sed 's/echo canceller: //')
    read -r u s <"$tmp/cpu"
    awk -v n="$(basename "$r" .ini)" -v a="$len" -v t0="$t0" -v t1="$t1" -v f="$false_n" -v i="$ign" \
      -v fd="$found" -v u="$u" -v s="$s" -v c="$canc" 'BEGIN { w = (t1 - t0) / 1e6
        printf "%-20s %8.1f %8.1f %6d %8d %8s %7.2f%% %s\n", n, a, w, f, i, fd, 100 * (u + s) / w, c }'
    grep -E 'heard "|ignored "' "$err" | sed -E 's/^([0-9.]+) coach: /    at \1 s: /'
    [ $st = 0 ] || echo "    exit $st: $(grep -v -E 'heard|ignored|Listening|found|canceller' "$err" | cut -d' ' -f2- | tail -n 3 | tr '\n' ' ')"
    grep -q "^Played" "$tmp/out" || echo "    not played to the end"
    total_s=$(python3 -c "print($total_s + $len)")
    total_false=$((total_false + false_n))
    total_cpu=$(python3 -c "print($total_cpu + $u + $s)")
  done
  python3 -c "print('total: %.1f min of the coach played into its own microphone, %d false triggers, coach %.2f CPU-s' % ($total_s / 60, $total_false, $total_cpu))"
}

# speech_rms FILE: as bench/listen_bench.c's (20 ms frames within 30 dB of
# the loudest one), of the first channel; Debian's python3 (numpy and
# soundfile: scripts/setup.sh --bench)
speech_rms() {
  /usr/bin/python3 - "$1" <<'PY'
import sys, numpy as np, soundfile as sf
x, r = sf.read(sys.argv[1], dtype='float64', always_2d=True)
x = x[:, 0]; fr = r // 50; n = len(x) // fr
e = (x[:n * fr].reshape(n, fr) ** 2).sum(axis=1)
k = e >= e.max() * 1e-3
print(np.sqrt(e[k].sum() / (k.sum() * fr)))
PY
}

# hits mode: one session at a time, in $err; start_session waits until
# the canceller has found the coach, then 6 s more
start_session() {
  local i idx
  sessions=$((sessions + 1))
  : >"$err"
  PULSE_SINK=micsink PULSE_SOURCE=micsink.monitor "$coach" play routines/lower-back-relief.ini --listen \
    --verbose --socket "$sock" </dev/null >/dev/null 2>"$err" &
  coach_pid=$!
  for i in $(seq 100); do
    idx=$(pulse_stream_of "$coach_pid")
    [ -n "$idx" ] && break
    sleep 0.1
  done
  # the commands are 6 dB under the session's level: so is the session
  [ -n "$idx" ] && pactl set-sink-input-volume "$idx" "$((level_db - 6))dB" ||
    { echo "no stream to turn down" >&2; exit 1; }
  for i in $(seq 300); do
    grep -q 'found in the microphone' "$err" && break
    sleep 0.1
  done
  grep -q 'found in the microphone' "$err" || { echo "the canceller never found the coach" >&2; exit 1; }
  sleep 6
}

end_session() {
  "$coach" ctl --socket "$sock" stop >/dev/null 2>&1
  wait "$coach_pid" 2>/dev/null
  coach_pid=
}

hits() {
  local voices=("$@") words=(pause resume next back previous repeat where louder softer stop)
  local want=("coach pause" "coach continue" "coach next" "coach back" "coach previous" "coach repeat"
    "coach where am i" "coach louder" "coach softer" "coach stop")
  [ ${#voices[@]} -gt 0 ] ||
    voices=(flite-slt flite-rms flite-awb flite-kal16 espeak-en-us+f3 espeak-en+m7 espeak-en-gb)
  local coach_rms v i k f g n0 got right wrong misses line total=0 all=0 all_wrong=0
  coach_rms=$(speech_rms bench/out/listen/session-lower-back-relief.wav) &&
    [ -n "$coach_rms" ] || { echo "cannot measure levels: bash scripts/setup.sh --bench" >&2; exit 1; }
  err=$tmp/hits.err sessions=0
  echo "lower-back-relief at ${level_db} dB under the commands' speech; a command every 4 s"
  start_session
  for v in "${voices[@]}"; do
    right=0 wrong=0 misses=
    for i in "${!words[@]}"; do
      for k in 1 2; do
        f=bench/out/listen/$v-$i-$k.wav
        [ -f "$f" ] || { echo "no $f" >&2; exit 1; }
        # 6 dB under the session's full level, so that no command clips
        g=$(python3 -c "print($coach_rms / 2 / $(speech_rms "$f"))") || exit 1
        sox "$f" "$tmp/cmd.wav" vol "$g"
        kill -0 "$coach_pid" 2>/dev/null || { wait "$coach_pid"; start_session; }
        n0=$(grep -c -E 'heard "|ignored "' "$err")
        paplay -d micsink "$tmp/cmd.wav"
        sleep 2.7
        line=$(grep -E 'heard "|ignored "' "$err" | tail -n +$((n0 + 1)) | head -1)
        got=$(sed -nE 's/^coach: heard "(.*)"$/\1/p' <<<"$line")
        if [ "$got" = "${want[$i]}" ]; then
          right=$((right + 1))
        else
          [ -n "$got" ] && wrong=$((wrong + 1))
          misses+="    ${words[$i]}-$k: ${line:-nothing}"$'\n'
        fi
        case $got in # undone, so that the session goes on as it was
          "coach pause") "$coach" ctl --socket "$sock" resume >/dev/null 2>&1 ;;
          "coach louder") "$coach" ctl --socket "$sock" softer >/dev/null 2>&1 ;;
          "coach softer") "$coach" ctl --socket "$sock" louder >/dev/null 2>&1 ;;
          "coach stop") wait "$coach_pid"; start_session ;;
        esac
        sleep 1.3
      done
    done
    printf '%-18s %2d/20%s\n' "$v" "$right" "$([ $wrong -gt 0 ] && echo " w$wrong")"
    printf '%s' "$misses"
    all=$((all + right)) all_wrong=$((all_wrong + wrong)) total=$((total + 20))
  done
  end_session
  echo "all: $all of $total heard, $all_wrong heard as another command; $sessions session(s)"
}

if [ $mode = hits ]; then hits "${args[@]}"; else false_triggers "${args[@]}"; fi
