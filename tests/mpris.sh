#!/usr/bin/env bash
# MPRIS end to end: coach play and coach menu on a private D-Bus session
# bus (dbus-run-session), playing through the private PulseAudio of
# tests/tools/pulse_env.sh, steered with playerctl as a media key, a
# Bluetooth speaker's button (through mpris-proxy) or KDE Connect would:
# status and metadata, pause (the capture falls silent, and sounds again
# after play), next and previous (the step named in the metadata), volume
# (one step, like the + key), stop (exit 0, recorded as stopped); in the
# menu, next moves the offer and play starts it. Without a session bus:
# one line and play goes on; --no-mpris: not on the bus at all.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
for p in dbus-run-session playerctl python3; do
  command -v $p >/dev/null || { echo "SKIP: no $p (scripts/setup.sh --test installs it)" >&2; exit 77; }
done

# the whole test runs inside its own session bus
if [ -z "${COACH_MPRIS_INNER:-}" ]; then
  COACH_MPRIS_INNER=1 exec dbus-run-session -- bash "$0" "$@" 2> >(grep -v "dbus-daemon\[" >&2)
fi

tmp=${COACH_TEST_TMP:-/tmp}/mpris.$$
rm -rf "$tmp"
mkdir -p "$tmp/home"
. "$src/tests/tools/pulse_env.sh"
pass=0 fail=0
cleanup() {
  [ -n "${coach_pid:-}" ] && kill -KILL "$coach_pid" 2>/dev/null
  [ "$fail" -eq 0 ] && rm -rf "$tmp"
}
pulse_on_exit cleanup
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok "$2"; else bad "$2 ($3)"; fi; }

pulse_start "$tmp/pa" || { echo "SKIP: PulseAudio cannot start here" >&2; exit 77; }
export COACH_DATA_DIR=$src HOME=$tmp/home XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE=$tmp/home/history.tsv
sock=$tmp/ctl.sock

# a routine with steps long enough to steer by hand
cat >"$tmp/steer.ini" <<'EOF'
[routine]
title = Steering test
prepare = 2

[exercise plank]
name = Plank
duration = 40
metronome = 100

[exercise bridge]
name = Bridge
duration = 40
metronome = 100

[exercise squat]
name = Squat
duration = 40
metronome = 100
EOF

pc() { playerctl -p coach "$@" 2>/dev/null; }
# wait_for WHAT CMD...: up to 10 s for CMD to succeed
wait_for() {
  local what=$1 i
  shift
  for i in $(seq 100); do "$@" && return 0; sleep 0.1; done
  bad "$what: not within 10 s"
  return 1
}
# stop_by_bus: Stop over the bus, then the coach's exit status in $st
stop_by_bus() {
  pc stop
  for i in $(seq 100); do kill -0 "$coach_pid" 2>/dev/null || break; sleep 0.1; done
  wait "$coach_pid"
  st=$?
  coach_pid=
}
title_is() { [ "$(pc metadata xesam:title)" = "$1" ]; }
status_is() { [ "$(pc status)" = "$1" ]; }

echo "== play"
"$coach" play "$tmp/steer.ini" --socket "$sock" </dev/null >"$tmp/play.out" 2>"$tmp/play.err" &
coach_pid=$!
wait_for "on the bus" bash -c 'playerctl -l 2>/dev/null | grep -qx coach' && ok "on the bus as org.mpris.MediaPlayer2.coach"
wait_for "playing" status_is Playing && ok "PlaybackStatus Playing"
check '[ "$(pc metadata xesam:album)" = "Steering test" ]' "album: the routine" "$(pc metadata xesam:album)"
check '[ "$(pc metadata xesam:artist)" = coach ]' "artist: coach" "$(pc metadata xesam:artist)"
check '[ "$(pc metadata mpris:length)" -gt 0 ]' "a length in microseconds" "$(pc metadata)"
check '[ "$(busctl --user get-property org.mpris.MediaPlayer2.coach /org/mpris/MediaPlayer2 org.mpris.MediaPlayer2.Player CanSeek 2>/dev/null)" = "b false" ]' \
  "CanSeek false" "$(busctl --user get-property org.mpris.MediaPlayer2.coach /org/mpris/MediaPlayer2 org.mpris.MediaPlayer2.Player CanSeek 2>&1)"

pc next
wait_for "next" title_is "Exercise 1 of 3: Plank" && ok "next: the first exercise"
sleep 5 # past its announcement (next there would start this step itself)
pc next
wait_for "next again" title_is "Exercise 2 of 3: Bridge" && ok "next: the second"
pc previous
wait_for "previous" title_is "Exercise 1 of 3: Plank" && ok "previous: back to the first"

# pause: silence on the capture; play: sound again (the metronome)
now() { python3 -c 'import time; print(time.time())'; }
sleep 5 # into the step's clicks
if pulse_record "$tmp/pause.wav"; then
  t_rec=$(now)
  sleep 1
  t_pause=$(now)
  pc pause
  wait_for "paused" status_is Paused && ok "PlaybackStatus Paused"
  sleep 5 # the fade and "Paused" spoken, then silence
  t_play=$(now)
  pc play
  wait_for "playing again" status_is Playing && ok "PlaybackStatus Playing after play"
  sleep 3
  pulse_record_stop
  # paused: from 3.5 s after pause (fade, tone, "Paused") to the play; after
  # play: the loudest half second (the clicks go on)
  read -r quiet loud < <(python3 - "$tmp/pause.wav" "$t_rec" "$t_pause" "$t_play" <<'PY'
import sys, wave, array, math
w = wave.open(sys.argv[1]); r = w.getframerate(); ch = w.getnchannels()
s = array.array('h', w.readframes(w.getnframes()))
t_rec, t_pause, t_play = map(float, sys.argv[2:5])
def rms(a, b):
    seg = s[int(a * r) * ch:int(b * r) * ch]
    return math.sqrt(sum(x * x for x in seg) / len(seg)) / 32768 if seg else 0.0
q = rms(t_pause - t_rec + 3.5, t_play - t_rec - 0.2)
end = len(s) / ch / r
loud = max((rms(t, t + 0.5) for t in [t_play - t_rec + 0.1 * i for i in range(40)] if t + 0.5 <= end), default=0.0)
print("%.6f %.6f" % (q, loud))
PY
  )
  echo "  capture: paused rms $quiet, after play (loudest 0.5 s) rms $loud"
  check "python3 -c 'import sys; sys.exit(not $quiet < 0.0005)'" "pause: the capture is silent" "rms $quiet"
  check "python3 -c 'import sys; sys.exit(not $loud > 0.005)'" "play: sound again" "rms $loud"
else
  bad "nothing recorded"
fi

v0=$(pc volume)
pc volume 2.0
wait_for "louder" bash -c '[ "$(playerctl -p coach volume 2>/dev/null)" != "'"$v0"'" ]' &&
  check "python3 -c 'import sys; sys.exit(not $(pc volume) > $v0)'" "volume: one step louder" "$(pc volume)"

stop_by_bus
check '[ $st = 0 ]' "stop: exit 0" "exit $st: $(cat "$tmp/play.err")"
check 'grep -q "	stopped	" "$COACH_HISTORY_FILE"' "stop: recorded as stopped" "$(cat "$COACH_HISTORY_FILE" 2>&1)"

echo "== menu"
mkdir -p "$tmp/menu/routines" "$tmp/menu/voices"
cp "$src/voices/"*.ini "$tmp/menu/voices/"
cp "$tmp/steer.ini" "$tmp/menu/routines/a-steer.ini"
sed 's/^title = .*/title = Second routine/' "$tmp/steer.ini" >"$tmp/menu/routines/b-second.ini"
COACH_DATA_DIR=$tmp/menu "$coach" menu --socket "$sock" </dev/null >"$tmp/menu.out" 2>"$tmp/menu.err" &
coach_pid=$!
wait_for "menu on the bus" bash -c 'playerctl -l 2>/dev/null | grep -qx coach' && ok "menu on the bus"
wait_for "menu offers the first" title_is "Steering test" && ok "menu: the first routine offered"
check '[ "$(pc status)" = Stopped ]' "menu: Stopped until one starts" "$(pc status)"
pc next
wait_for "menu next" title_is "Second routine" && ok "menu: next offers the second"
pc play
wait_for "menu play" title_is "Second routine" && wait_for "the routine plays" status_is Playing &&
  check '[ "$(pc metadata xesam:album)" = "Second routine" ]' "menu: play starts the one offered" "$(pc metadata)"
stop_by_bus
check '[ $st = 0 ]' "menu: stop, exit 0" "exit $st: $(cat "$tmp/menu.err")"

echo "== no session bus, --no-mpris"
env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$tmp/nobus" \
  "$coach" play "$tmp/steer.ini" --socket "$sock" </dev/null >"$tmp/nobus.out" 2>"$tmp/nobus.err" &
coach_pid=$!
wait_for "plays without a bus" "$coach" ctl --socket "$sock" where >/dev/null 2>&1 && ok "plays without a session bus"
"$coach" ctl --socket "$sock" stop >/dev/null 2>&1
wait "$coach_pid"
st=$?
coach_pid=
check '[ $st = 0 ]' "no bus: exit 0" "exit $st"
check '[ "$(grep -c "MPRIS off: no session bus" "$tmp/nobus.err")" = 1 ]' "no bus: one line says so" "$(cat "$tmp/nobus.err")"
"$coach" play "$tmp/steer.ini" --no-mpris --socket "$sock" </dev/null >/dev/null 2>"$tmp/nompris.err" &
coach_pid=$!
wait_for "plays with --no-mpris" "$coach" ctl --socket "$sock" where >/dev/null 2>&1
check '! playerctl -l 2>/dev/null | grep -q coach' "--no-mpris: not on the bus" "$(playerctl -l 2>&1)"
"$coach" ctl --socket "$sock" stop >/dev/null 2>&1
wait "$coach_pid"
coach_pid=
check '[ ! -s "$tmp/nompris.err" ] || ! grep -q MPRIS "$tmp/nompris.err"' "--no-mpris: nothing said" "$(cat "$tmp/nompris.err")"

pulse_stop
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || echo "kept $tmp for a look" >&2
[ "$fail" -eq 0 ]
