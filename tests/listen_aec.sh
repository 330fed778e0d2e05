#!/usr/bin/env bash
# Spoken commands over the coach's own speech, through coach's echo
# canceller (src/aec.c, fed the player's output by src/sink_tap.c), end to
# end through the private PulseAudio of tests/tools/pulse_env.sh. The
# microphone is the monitor of a second null sink, micsink, which hears
# BOTH the coach (coach plays into it, its stream 10 dB down) and a person
# (commands spoken by flite, played into it with paplay); its monitor is
# recorded. Checks: "coach pause" said while the coach is speaking pauses
# the session (the recording falls silent), and coach says it found its
# own sound in the microphone;
# with --no-echo-cancel the same command over its speech is not taken
# (ignored by the gate as the coach's own voice, or not even recognized
# under it: the behaviour before the canceller). (listen.sh checks that
# the coach's own voice saying "coach pause", the canceller on, pauses
# nothing.) Skips (77) without PulseAudio, flite or pocketsphinx's
# English model.
set -u
. "${COACH_SOURCE_DIR:?}/tests/tools/listen_env.sh" listen_aec
at() { python3 -c "print($1)"; }
sock=$tmp/ctl.sock

for v in slt awb; do
  flite -voice $v -t "coach pause" -o "$tmp/pause.$v.wav" || { bad "flite cannot speak"; exit 1; }
done

# the coach talks without a break for about half a minute (a long tip)
cat >"$tmp/talk.ini" <<'INI'
[routine]
title = Talking test
prepare = 2

[exercise talk]
name = Standing
duration = 90
tip = Stand tall with your feet under your hips and your knees soft. Let your shoulders drop away from your ears, and feel the floor under both feet. Breathe in slowly through your nose, and breathe out through your mouth as if you were blowing out a candle. Keep your chin level and your gaze on the horizon. Now shift your weight a little to the left foot, and then a little to the right foot, and then back to the middle. Stand tall and let your shoulders drop away from your ears.
INI

# over_speech LOG EXTRA...: plays talk.ini into the microphone (10 dB
# down), and from 8 s into its step says "coach pause" while the coach
# speaks, up to 4 times in two voices, until LOG shows it heard; records
# the microphone. Sets heard (0/1).
over_speech() {
  local log=$1 i idx rec
  shift
  heard=0
  PULSE_SINK=micsink PULSE_SOURCE=micsink.monitor "$coach" play "$tmp/talk.ini" --listen --verbose \
    --socket "$sock" "$@" </dev/null >"$tmp/$log.out" 2>"$tmp/$log.err" &
  coach_pid=$!
  wait_for 60 "the step" grep -q "Standing" "$tmp/$log.out" || return 1
  idx=$(pulse_stream_of "$coach_pid")
  pactl set-sink-input-volume "$idx" -10dB || { bad "cannot turn the coach's stream down"; return 1; }
  parecord -d micsink.monitor --file-format=wav --rate=16000 --channels=1 --format=s16le \
    "$tmp/$log.wav" 2>/dev/null &
  rec=$!
  sleep 8
  for i in 1 2 3 4; do
    paplay -d micsink "$tmp/pause.$([ $((i % 2)) = 1 ] && echo slt || echo awb).wav"
    for _ in $(seq 30); do
      grep -q 'heard "coach pause"' "$tmp/$log.err" && { heard=1; echo "  (said $i time(s))"; break 2; }
      sleep 0.1
    done
  done
  sleep 5
  kill -INT "$rec"
  wait "$rec"
  "$coach" ctl --socket "$sock" stop >/dev/null 2>&1
  wait "$coach_pid"
  st=$?
  coach_pid=
  check '[ $st = 0 ]' "$log: stopped, exit 0" "exit $st: $(cat "$tmp/$log.err")"
}

echo "== coach pause over the coach's speech, echo cancelled"
if over_speech aec; then
  check '[ $heard = 1 ]' "\"coach pause\" heard over the coach's speech" "$(cat "$tmp/aec.err")"
  check 'grep -q "own sound found in the microphone" "$tmp/aec.err"' "says it found its own sound" \
    "$(cat "$tmp/aec.err")"
  # (by the recording's own clock: its start is the coach alone, 8 s
  # before the first try; its end, 5 s after the command was taken)
  len=$(python3 -c "import wave; w = wave.open('$tmp/aec.wav'); print(w.getnframes() / w.getframerate())")
  speaking=$(rms_between "$tmp/aec.wav" 0.5 6.5)
  quiet=$(rms_between "$tmp/aec.wav" "$(at "$len - 2.5")" "$(at "$len - 0.2")")
  echo "  recording: $len s; rms before $speaking, at the end $quiet"
  check 'lt 0.003 "$speaking"' "the coach was speaking before it was said" "rms $speaking"
  check 'lt "$quiet" 0.0005' "silent after \"coach pause\"" "rms $quiet"
fi

echo "== the same with --no-echo-cancel: ignored as the coach's own voice"
if over_speech gate --no-echo-cancel; then
  check '[ $heard = 0 ]' "--no-echo-cancel: not taken over the coach's speech" "$(cat "$tmp/gate.err")"
  check '! grep -q "own sound found" "$tmp/gate.err"' "--no-echo-cancel: no canceller" "$(cat "$tmp/gate.err")"
fi

pulse_stop
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || echo "kept $tmp for a look" >&2
[ "$fail" -eq 0 ]
