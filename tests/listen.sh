#!/usr/bin/env bash
# Spoken commands end to end: `coach play --listen` and `coach menu
# --listen` through the private PulseAudio of tests/tools/pulse_env.sh. A
# second null sink, micsink, is the microphone (coach reads its monitor:
# PULSE_SOURCE for the ALSA pulse plugin's default device); commands
# spoken by flite's voices (not espeak-ng, the coach's own voice) are
# played into it with paplay; what coach plays goes to ci_sink and is
# recorded. Checks: "coach pause" makes the capture fall silent and
# "coach continue" brings the sound back; the coach's own speech (even a
# routine that says "coach pause" itself, heard by the microphone) does
# not pause it: the routine plays through; a non-English voice is refused
# (exit 2) before anything plays; a microphone that is not there is
# refused (exit 6); in the menu, "coach continue" starts the routine
# offered. Skips (77) without PulseAudio, flite or
# pocketsphinx's English model.
set -u
. "${COACH_SOURCE_DIR:?}/tests/tools/listen_env.sh" listen
sock=$tmp/ctl.sock

# the commands, as a person other than the coach says them
say() { flite -voice "$1" -t "$2" -o "$tmp/$3.wav" || { bad "flite cannot say '$2'"; exit 1; }; }
for v in slt awb; do
  say $v "coach pause" pause.$v
  say $v "coach continue" continue.$v
  say $v "coach pain three" "pain three.$v"
done
speak() { paplay -d micsink "$tmp/$1.wav"; } # into the microphone
# say_until CMD LOG: says "coach CMD" into the microphone until LOG shows
# it heard (as a person repeats a command not taken), by turns in two
# voices, at most 4 times; $t_said: when it was said last. (Synthetic
# voices after a long silence are not always recognized.)
say_until() {
  local i n0
  n0=$(grep -c "heard \"coach $1\"" "$2")
  for i in 1 2 3 4; do
    t_said=$(now)
    speak "$1.$([ $((i % 2)) = 1 ] && echo slt || echo awb)"
    for _ in $(seq 40); do
      [ "$(grep -c "heard \"coach $1\"" "$2")" -gt "$n0" ] && { echo "  (said $i time(s))"; return 0; }
      sleep 0.1
    done
  done
  return 1
}

# long timed steps: the coach is silent (metronome clicks only) from about
# 13 s to 40 s into the first one
cat >"$tmp/steer.ini" <<'INI'
[routine]
title = Listening test
prepare = 2

[exercise plank]
name = Plank
duration = 60
metronome = 100

[exercise bridge]
name = Bridge
duration = 60
metronome = 100
INI


echo "== play --listen: coach pause, coach continue"
PULSE_SOURCE=micsink.monitor "$coach" play "$tmp/steer.ini" --listen --verbose --socket "$sock" \
  </dev/null >"$tmp/play.out" 2>"$tmp/play.err" &
coach_pid=$!
if wait_for 60 "the first step" grep -q "Plank" "$tmp/play.out"; then
  check 'grep -q "^Listening on " "$tmp/play.err"' "says it listens" "$(cat "$tmp/play.err")"
  sleep 9 # into the step's clicks, past its words
  if pulse_record "$tmp/cap.wav"; then
    t_rec=$(now)
    sleep 1
    # (not 'coach ctl where' to see it: its answer is spoken)
    say_until pause "$tmp/play.err" && ok "\"coach pause\" heard" || bad "\"coach pause\" not heard"
    t_pause=$t_said
    sleep 5 # the fade, "Paused" said, then silence
    say_until continue "$tmp/play.err" && ok "\"coach continue\" heard" || bad "\"coach continue\" not heard"
    t_cont=$t_said
    sleep 4
    pulse_record_stop
    t_end=$(now)
    # silence: from 4 s after the command was spoken (it lasts ~1 s, then
    # the fade, the tone and "Paused") until "coach continue" was played;
    # sound: the clicks in the 3 s before the pause and after continue
    before=$(rms_between "$tmp/cap.wav" 0 "$(python3 -c "print($t_pause - $t_rec)")")
    quiet=$(rms_between "$tmp/cap.wav" "$(python3 -c "print($t_pause - $t_rec + 4.5)")" \
      "$(python3 -c "print($t_cont - $t_rec)")")
    after=$(rms_between "$tmp/cap.wav" "$(python3 -c "print($t_cont - $t_rec + 1.5)")" \
      "$(python3 -c "print($t_end - $t_rec - 0.5)")")
    echo "  capture rms: before $before, paused $quiet, after continue $after"
    check 'lt 0.002 "$before"' "clicks before the command" "rms $before"
    check 'lt "$quiet" 0.0005' "silent after \"coach pause\"" "rms $quiet"
    check 'lt 0.002 "$after"' "sound again after \"coach continue\"" "rms $after"
  else
    bad "nothing recorded"
  fi
fi
"$coach" ctl --socket "$sock" stop >/dev/null 2>&1
wait "$coach_pid"
st=$?
coach_pid=
check '[ $st = 0 ]' "stopped: exit 0" "exit $st: $(cat "$tmp/play.err")"

echo "== play --listen --ask-pain: the answer said once the question waits"
# the answers ("coach pain three") are listened for only while the
# question waits: the listener must switch them on when it is asked
cat >"$tmp/ask.ini" <<'INI'
[routine]
title = Answer test
prepare = 2

[exercise plank]
name = Plank
duration = 8
metronome = 100
INI
PULSE_SOURCE=micsink.monitor timeout 150 "$coach" play "$tmp/ask.ini" --listen --ask-pain --verbose \
  --socket "$sock" </dev/null >"$tmp/ask.out" 2>"$tmp/ask.err" &
coach_pid=$!
if wait_for 60 "the step" grep -q "Plank" "$tmp/ask.out"; then
  sleep 16 # the step ends (8 s), then the question is asked and waits
  say_until "pain three" "$tmp/ask.err" && ok "\"coach pain three\" heard at the question" ||
    bad "\"coach pain three\" not heard at the question"
  wait_for 30 "the answer noted" grep -q "Pain 3 of 10" "$tmp/ask.out" &&
    ok "the spoken answer is the rating: $(grep -o 'Pain 3 of 10.' "$tmp/ask.out")"
fi
"$coach" ctl --socket "$sock" stop >/dev/null 2>&1
for i in $(seq 100); do kill -0 "$coach_pid" 2>/dev/null || break; sleep 0.1; done
wait "$coach_pid"
coach_pid=

echo "== the coach's own voice in the microphone"
# the microphone hears ci_sink (the coach's own output, loud and clear),
# and the routine says the commands itself: nothing may pause or skip it
# (the echo canceller finds it and takes it out; what it leaves is known)
cat >"$tmp/echo.ini" <<'INI'
[routine]
title = Echo test
prepare = 2

[exercise talk]
name = Coach pause
duration = 20
tip = Coach pause. Coach continue. Coach next. Coach stop. Coach pause.
INI
start=$(now)
PULSE_SOURCE=ci_sink.monitor timeout 120 "$coach" play "$tmp/echo.ini" --listen --verbose \
  --socket "$sock" </dev/null >"$tmp/echo.out" 2>"$tmp/echo.err"
st=$?
took=$(python3 -c "print('%.0f' % ($(now) - $start))")
check '[ $st = 0 ]' "own voice: played to the end, exit 0" "exit $st: $(cat "$tmp/echo.err")"
check 'grep -q "^Played Echo test" "$tmp/echo.out"' "own voice: every step played" "$(cat "$tmp/echo.out")"
check '! grep -q "heard \"" "$tmp/echo.err"' "own voice: no command taken" "$(grep -E 'heard|ignored' "$tmp/echo.err")"
check 'grep -q "own sound found in the microphone" "$tmp/echo.err"' "own voice: found by the echo canceller" \
  "$(cat "$tmp/echo.err")"
echo "  ($took s; $(grep -c 'ignored' "$tmp/echo.err") phrases ignored as the coach's own)"

echo "== refusals"
PULSE_SOURCE=micsink.monitor timeout 60 "$coach" play lower-back-relief.de --listen --socket "$sock" \
  </dev/null >"$tmp/de.out" 2>"$tmp/de.err"
st=$?
check '[ $st = 2 ]' "German voice: exit 2" "exit $st: $(cat "$tmp/de.err")"
check 'grep -q "spoken commands are English only.*voice de" "$tmp/de.err"' "German voice: says English only" "$(cat "$tmp/de.err")"
check '! grep -q . "$tmp/de.out"' "German voice: nothing played" "$(cat "$tmp/de.out")"
check '[ "$(grep -c . "$tmp/de.err")" = 1 ]' "German voice: the refusal alone (no MPRIS line before it)" "$(cat "$tmp/de.err")"
timeout 60 "$coach" play "$tmp/steer.ini" --listen --mic "no such microphone" --socket "$sock" \
  </dev/null >"$tmp/nomic.out" 2>"$tmp/nomic.err"
st=$?
check '[ $st = 6 ]' "no such microphone: exit 6" "exit $st: $(cat "$tmp/nomic.err")"
check 'grep -q "cannot listen: no microphone .no such microphone." "$tmp/nomic.err"' \
  "no such microphone: says so" "$(cat "$tmp/nomic.err")"
check '! grep -q . "$tmp/nomic.out"' "no such microphone: nothing played" "$(cat "$tmp/nomic.out")"

echo "== menu --listen: coach continue"
mkdir -p "$tmp/menu/routines" "$tmp/menu/voices/listen"
cp "$src/voices/"*.ini "$tmp/menu/voices/"
cp "$src/voices/listen/"*.ini "$tmp/menu/voices/listen/"
cp "$tmp/steer.ini" "$tmp/menu/routines/a-steer.ini"
COACH_DATA_DIR=$tmp/menu PULSE_SOURCE=micsink.monitor "$coach" menu --listen --verbose --socket "$sock" \
  </dev/null >"$tmp/menu.out" 2>"$tmp/menu.err" &
coach_pid=$!
if wait_for 60 "the menu offers" grep -q "Listening test" "$tmp/menu.out"; then
  sleep 20 # the menu has said its words (about 12 s) and waits
  say_until continue "$tmp/menu.err" || bad "menu: \"coach continue\" not heard"
  wait_for 30 "menu: continue by voice" grep -q "Exercise 1 of 2" "$tmp/menu.out" &&
    ok "menu: \"coach continue\" starts the routine offered"
fi
"$coach" ctl --socket "$sock" stop >/dev/null 2>&1
for i in $(seq 100); do kill -0 "$coach_pid" 2>/dev/null || break; sleep 0.1; done
wait "$coach_pid"
st=$?
coach_pid=
check '[ $st = 0 ]' "menu: stopped, exit 0" "exit $st: $(cat "$tmp/menu.err")"

pulse_stop
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || echo "kept $tmp for a look" >&2
[ "$fail" -eq 0 ]
