#!/usr/bin/env bash
# End-to-end: `coach play` through a real sound server. A private PulseAudio
# with a null sink stands in for the sound card; its monitor is recorded and
# compared with `coach export` of the same short routine by coach-onsets
# (every tone onset in order, spacing within 1 ms, no dropouts, speech where
# the plan has speech and nowhere else). Six runs: (a) plain, (b) paused for
# 3 s then resumed (the rest must be shifted by the pause), (c) `ctl next`
# during step 1 (the next speech is the rest announcing step 2), (d) `ctl
# next` in that rest (step 2 itself begins: its title is the next speech),
# (e) `ctl previous` during step 2 (back to step 1's start), (f) the server
# killed mid-routine (exit 7 within 5 s, a message, no hang). A run that
# fails while the whole machine stalled (tests/tools/stallwatch.py, not
# scheduled for 100 ms or more) is run once more: see scenario(). Exits 77 when
# PulseAudio cannot run here. Set COACH_PLAY_LATENCY=MS to pass --latency.
# COACH_PLAY_PULSE_LOOSE=1 (scripts/tsan.sh: a coach many times slower than
# real time under ThreadSanitizer) runs every scenario and checks the exit
# statuses and the replies, but not the timing: no capture comparisons.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/play_pulse.$$
onsets=${COACH_ONSETS:-$(dirname "$coach")/tests/tools/coach-onsets}
rate=48000
rm -rf "$tmp"
mkdir -p "$tmp"

skip() {
  echo "SKIP: $*" >&2
  rm -rf "$tmp"
  exit 77
}
"$coach" --help 2>/dev/null | grep -q '^ *play ' || skip "this coach has no play command"
[ -x "$onsets" ] || { echo "FAIL: $onsets is not built" >&2; exit 1; }
command -v python3 >/dev/null || skip "python3 is needed to read the plan"

. "$src/tests/tools/pulse_env.sh"
cd "$src"
export COACH_DATA_DIR="$src" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
now() { date +%s.%N; }
# sleep_until T: sleeps until the wall clock reaches T (seconds, fractional)
sleep_until() {
  local d
  d=$(python3 -c "import sys, time; print(max(0.0, float(sys.argv[1]) - time.time()))" "$1")
  sleep "$d"
}
fsub() { python3 -c "import sys; print('%.3f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$1" "$2"; }
# the time in a ctl reply ("ok paused at 0:10.3", "ok next: ..., at 0:27.4")
# in seconds, if any
reply_time() {
  sed -nE 's/.* at (([0-9]+):)?([0-9]+):([0-9]+\.[0-9])$/\2 \3 \4/p' <<<"$1" |
    awk 'NF { h = NF == 3 ? $1 : 0; print h * 3600 + $(NF - 1) * 60 + $NF }'
}
# near A B TOL: |A - B| <= TOL
near() { python3 -c "import sys; sys.exit(abs($1 - $2) > $3)"; }

# A short routine: a held exercise with countdown beeps and a 60 bpm
# metronome, a dynamic one with tempo tones, a short breathing step.
routine=$tmp/live.ini
cat >"$routine" <<'EOF'
[routine]
title = Live test
rest = 2
prepare = 2
countdown = 3

[exercise hold]
name = Plank
hold = 8
metronome = 60

[exercise dyn]
name = Squat
reps = 2
tempo = 1.5, 1.5

[breathing breath]
name = Breathe
inhale = 2
exhale = 2
cycles = 1
spoken_cycles = 1
EOF
"$coach" plan "$routine" --json >"$tmp/plan.json" || { echo "FAIL: coach plan" >&2; exit 1; }
"$coach" export "$routine" -o "$tmp/ref.wav" --rate $rate -q || { echo "FAIL: coach export" >&2; exit 1; }

# Plan queries and the speech check, in Python (JSON).
cat >"$tmp/check.py" <<'PY'
import json, sys

def load_plan(path):
    return json.load(open(path))

def cmd_info(plan):
    # shell variables: routine length, the start of the steps' chapters
    print("plan_len=%.3f" % plan["length_seconds"])
    for c in plan["chapters"]:
        if c["step"] >= 0:
            print("chapter%d=%.6f" % (c["step"], c["frame"] / plan["rate_hz"]))
            print("body%d=%.6f" % (c["step"], c["body_frame"] / plan["rate_hz"]))

def read_compare(path):
    kv = {}
    for line in open(path):
        p = line.split()
        if len(p) == 2:
            try:
                kv[p[0]] = float(p[1])
            except ValueError:
                pass
    return kv

def cmd_speech(plan, segs_path, cmp_path, ref_end, first_step, gap_speech):
    """Speech segments of the capture against the plan's speech events:
    every segment maps (through the compare's alignment, and its cut if
    any) inside speech the plan has (+-30 ms); every planned phrase in the
    checked span is heard; with first_step >= 0, the first phrase heard
    after the cut belongs to that step."""
    rate = plan["rate_hz"]
    tol = 0.030 * rate
    ack = 0.120 * rate
    kv = read_compare(cmp_path)
    off = kv["offset"]
    cut = "cut_ref" in kv
    head_hi = kv.get("cut_ref", float("inf"))
    resume, tail_off = kv.get("resume_ref"), kv.get("tail_offset")
    end = ref_end * rate if ref_end >= 0 else plan["length_frames"]
    speech = [e for e in plan["events"] if e["kind"] == "speech"]
    spans = sorted((e["frame"] - tol, e["frame"] + e["len_frames"] + tol) for e in speech)
    segs = [tuple(map(float, l.split())) for l in open(segs_path) if l.strip()]
    problems = 0
    mapped = []
    # the capture's segments, split where the cut leaves one piece of the
    # reference and joins the next: (capture start, end, piece)
    head_end = head_hi + off
    tail_start = resume + tail_off if cut else float("inf")
    # the cut is known to 0.1 s (the reply's "paused at 0:10.2"), and the
    # acknowledgement tone starts at the real one: up to half of that
    # before head_end, where its onset blurs into the speech just before
    edge = 0.050 * rate if cut else 0.0
    parts = []
    for a, b in segs:
        if a < head_end - edge:
            parts.append((a, min(b, head_end - edge), 0))
        if cut and b > tail_start:
            # the resume/jump acknowledgement sounds as the tail fades in:
            # its first `ack` frames are not the plan's speech
            if b > tail_start + ack:
                parts.append((max(a, tail_start + ack), b, 1))
        # in the gap between the pieces only the acknowledgement tone (90 ms,
        # from the command on) may sound, and, in a pause, "Paused." said
        # once it holds; the tone may blur the edges of speech
        ga, gb = max(a, head_end + ack + gap_speech * rate), min(b, tail_start - ack)
        if gb - ga > tol:
            print("speech in the capture at %.3f-%.3f s where the coach should be silent"
                  % (ga / rate, gb / rate))
            problems += 1
    for a, b, piece in parts:
        o = tail_off if piece else off
        ra, rb = a - o, b - o
        if rb - ra < tol or ra > end:
            continue
        # [ra, rb] must be covered by the union of planned phrases (+-tol)
        x = ra
        for s, e in spans:
            if s <= x < e:
                x = e
        if x < rb:
            print("speech at reference %.3f-%.3f s (capture %.3f s) is not in the plan"
                  % (ra / rate, rb / rate, a / rate))
            problems += 1
        mapped.append((ra, rb, piece))
    checked = [(0, min(head_hi, end))] + ([(resume, end)] if cut else [])
    for e in speech:
        s, t = e["frame"], e["frame"] + e["len_frames"]
        if not any(lo <= s and t <= hi for lo, hi in checked):
            continue
        heard = sum(max(0, min(rb, t) - max(ra, s)) for ra, rb, _ in mapped)
        if heard < 0.05 * rate:
            print("planned speech at %.3f s %r was not heard" % (s / rate, e["text"]))
            problems += 1
    if first_step >= 0:
        after = [m for m in mapped if m[2] == 1]
        if not after:
            print("no speech heard after the jump")
            problems += 1
        else:
            ra = after[0][0]
            ev = [e for e in speech if e["frame"] - tol <= ra < e["frame"] + e["len_frames"]]
            if not ev or ev[0]["step"] != first_step:
                print("first speech after the jump (reference %.3f s) is %s, not step %d's"
                      % (ra / rate, repr(ev[0]["text"]) if ev else "unplanned", first_step))
                problems += 1
            else:
                print("first speech after the jump: %r (step %d)" % (ev[0]["text"], first_step))
    print("speech: %d segments, %d problems" % (len(segs), problems))
    return 1 if problems else 0

plan = load_plan(sys.argv[2])
if sys.argv[1] == "info":
    cmd_info(plan)
else:
    sys.exit(cmd_speech(plan, sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6]),
                        float(sys.argv[7]) if len(sys.argv) > 7 else 0.0))
PY
eval "$(python3 "$tmp/check.py" info "$tmp/plan.json")"
echo "routine: ${plan_len} s; steps at ${chapter0} ${chapter1} ${chapter2} s (step 2 itself at ${body1} s)"

pulse_start "$tmp/pa" || skip "PulseAudio cannot start here (reason above)"
sock=$tmp/control.sock
latency=()
[ -n "${COACH_PLAY_LATENCY:-}" ] && latency=(--latency "$COACH_PLAY_LATENCY")
coach_pid=
pulse_on_exit '[ -n "$coach_pid" ] && kill -KILL "$coach_pid" 2>/dev/null'

# play_bg NAME [TIMEOUT]: `coach play` in the background (no terminal: no
# keys); killed after TIMEOUT s (default 120) if it hangs
play_bg() {
  timeout "${2:-120}" "$coach" play "$routine" --rate $rate --socket "$sock" --verbose "${latency[@]}" \
    </dev/null >"$tmp/$1.out" 2>"$tmp/$1.err" &
  coach_pid=$!
}
# wait_coach: its exit status
wait_coach() {
  wait "$coach_pid"
  local st=$?
  coach_pid=
  return $st
}
# ctl WORD: `coach ctl WORD`; the reply in $reply, and it must say ok
reply=
ctl() {
  reply=$("$coach" ctl "$1" --socket "$sock" 2>&1)
  local st=$?
  echo "  ctl $1 -> $reply (status $st)"
  case $reply in ok*) ;; *) bad "ctl $1 answered '$reply' (status $st)" ;; esac
}
# summary NAME: the end-of-play line must report no missed clips and no
# underruns
loose=${COACH_PLAY_PULSE_LOOSE:-}
summary() {
  [ -n "$loose" ] && return 0
  local line
  line=$(grep -E 'missed clips: [0-9]+, underruns: [0-9]+' "$tmp/$1.err" | tail -n 1)
  echo "  $1: ${line:-no summary line}"
  if grep -qE 'missed clips: 0, underruns: 0' <<<"$line"; then
    ok "$1: no missed clips, no underruns"
  else
    bad "$1: summary '${line:-missing}' (stderr: $(tr '\n' ' ' <"$tmp/$1.err"))"
  fi
}
# compare NAME ARGS...: coach-onsets --compare of the capture with the export
compare() {
  [ -n "$loose" ] && return 1
  local name=$1
  shift
  "$onsets" --compare "$tmp/ref.wav" "$tmp/$name.wav" "$@" >"$tmp/$name.cmp" 2>&1
  local st=$?
  sed 's/^/  /' "$tmp/$name.cmp" | grep -vE '^  (gain|offset|cut_ref|resume_ref|tail_offset|shift) '
  if [ $st -eq 0 ]; then
    ok "$name: every tone of the export, spacing within 1 ms, no dropout"
  else
    bad "$name: capture differs from the export"
  fi
  return $st
}
# speech NAME REF_END FIRST_STEP [GAP_SPEECH_S]
speech() {
  [ -n "$loose" ] && return 0
  "$onsets" --speech "$tmp/$1.wav" >"$tmp/$1.speech"
  if python3 "$tmp/check.py" speech "$tmp/plan.json" "$tmp/$1.speech" "$tmp/$1.cmp" "$2" "$3" "${4:-0}" \
    >"$tmp/$1.speechcheck" 2>&1; then
    ok "$1: speech where the plan has it and nowhere else"
  else
    bad "$1: speech does not follow the plan"
  fi
  sed 's/^/  /' "$tmp/$1.speechcheck"
}

# scenario FUNC ARGS...: one run of a scenario. A sound server on a shared
# virtual machine drops out when the whole machine stops (not one program
# on it is scheduled for a while); if a run failed and the stall watcher
# (tests/tools/stallwatch.py) saw such a stop during it, that run does not
# count and the scenario runs once more. A failure without a machine stall,
# or a second failure, stands.
scenario() {
  local p0=$pass f0=$fail ts0 ts1 stalls
  ts0=$(now)
  "$@"
  ts1=$(now)
  [ $fail -eq $f0 ] && return 0
  stalls=$(pulse_stalls "$ts0" "$ts1")
  [ -n "$stalls" ] || return 0
  echo "  the machine stalled during this run ($stalls): it does not count; once more"
  pass=$p0 fail=$f0
  "$@"
}

# (a) plain run, to the end
plain_run() {
  if pulse_record "$tmp/plain.wav"; then
    play_bg plain
    wait_coach
    st=$?
    sleep 0.5 # the bell's tail and the server's buffer
    pulse_record_stop
    [ $st -eq 0 ] && ok "plain: exit 0" || bad "plain: exit $st: $(cat "$tmp/plain.err")"
    summary plain
    compare plain
    grep -q '^offset ' "$tmp/plain.cmp" && speech plain -1 -1
  else
    bad "plain: cannot record"
  fi
}

# (b) pause at ~10 s for 3 s, then stop at ~28 s of the routine
pause_run() {
  if pulse_record "$tmp/pause.wav"; then
    t0=$(now)
    play_bg pause
    sleep_until "$(python3 -c "print($t0 + 10)")"
    ctl pause
    r1=$reply
    tp=$(now)
    # PortAudio must not have probed ALSA's a52 plugin (it maps libavcodec
    # and some twenty libraries, 11 MB resident for the whole session) nor
    # the others that are no speaker and slow the first sound down
    # (sink_portaudio.c skip_costly_plugins)
    cpid=$(pgrep -P "$coach_pid" -x coach | head -n 1)
    skipped='libasound_module_pcm_\(a52\|upmix\|vdownmix\|speex\|jack\|oss\|usb_stream\)\.so\|libavcodec'
    if [ -z "$cpid" ] || [ ! -r "/proc/$cpid/maps" ]; then
      bad "pause: cannot find the playing coach under $coach_pid"
    elif grep -q "$skipped" "/proc/$cpid/maps"; then
      bad "pause: ALSA plugins that are no speaker were loaded: $(grep -o "$skipped" "/proc/$cpid/maps" | sort -u | tr '\n' ' ')"
    else
      ok "pause: no a52, upmix, vdownmix, speex, jack, oss or usb_stream plugin, no libavcodec in the playing process"
    fi
    sleep 3
    ctl resume
    tr=$(now)
    sleep_until "$(python3 -c "print($tr + 18)")"
    ctl stop
    ts=$(now)
    wait_coach
    st=$?
    sleep 0.3
    pulse_record_stop
    [ $st -eq 0 ] && ok "pause: exit 0 after stop" || bad "pause: exit $st after stop"
    summary pause
    # the reply names the time where it paused (to 0.1 s); else the wall clock guesses
    f=$(reply_time "$r1")
    if [ -n "$f" ]; then
      pause_at=$f
      cut_tol=0.15
    else
      pause_at=$(fsub "$tp" "$t0")
      cut_tol=0.5
    fi
    pause_len=$(fsub "$tr" "$tp")
    # checked up to a second before the stop (as far as the wall clock knows)
    ref_end=$(python3 -c "print($ts - $t0 - $pause_len - 1.0)")
    echo "  pause at ${pause_at} s for ${pause_len} s (wall clock); checked to ${ref_end} s"
    compare pause --pause-at "$pause_at" --pause-len "$pause_len" --cut-tol $cut_tol --ref-end "$ref_end"
    shift_fr=$(awk '$1 == "shift" { print $2 }' "$tmp/pause.cmp")
    if [ -n "$shift_fr" ]; then
      # the measured shift is the audio's pause; the wall clock's must agree
      if python3 -c "import sys; sys.exit(abs($shift_fr / $rate - $pause_len) > 0.1)"; then
        ok "pause: the rest is shifted by the pause ($(python3 -c "print('%.3f' % ($shift_fr / $rate))") s)"
      else
        bad "pause: shifted by $(python3 -c "print($shift_fr / $rate)") s, paused for $pause_len s"
      fi
      speech pause "$ref_end" -1 1.5 # "Paused." after the fade
    fi
  else
    bad "pause: cannot record"
  fi
}

# jump NAME WHEN WORD TARGET STEP [AFTER]: plays, says `ctl WORD` at WHEN s
# of the routine (after launch), which must land at TARGET s; the capture
# must then follow the export from TARGET on, with STEP's speech first,
# for AFTER s (12; a jump back plays on past WHEN, as one check span holds
# both pieces)
jump() {
  local name=$1 when=$2 word=$3 target=$4 step=$5 after=${6:-12}
  if ! pulse_record "$tmp/$name.wav"; then
    bad "$name: cannot record"
    return
  fi
  t0=$(now)
  play_bg "$name"
  sleep_until "$(python3 -c "print($t0 + $when)")"
  ctl "$word"
  local r=$reply tn
  tn=$(now)
  sleep "$after"
  ctl stop
  ts=$(now)
  wait_coach
  st=$?
  sleep 0.3
  pulse_record_stop
  [ $st -eq 0 ] && ok "$name: exit 0 after stop" || bad "$name: exit $st after stop"
  summary "$name"
  local f
  f=$(reply_time "$r")
  [ -n "$loose" ] || near "${f:-9999}" "$target" 0.051 && ok "$name: went to $target s ($f s)" ||
    bad "$name: went to '$f' s ($r), wanted $target s"
  jump_at=$(fsub "$tn" "$t0")
  ref_end=$(python3 -c "print($target + $ts - $tn - 1.5)")
  echo "  $word at ~${jump_at} s to ${target} s; checked to ${ref_end} s"
  compare "$name" --jump-at "$jump_at" --jump-to "$target" --cut-tol 1.0 --ref-end "$ref_end"
  grep -q '^resume_ref ' "$tmp/$name.cmp" && speech "$name" "$ref_end" "$step"
}

echo "(a) plain run"
scenario plain_run
echo "(b) pause and resume"
scenario pause_run

# (c) next during step 1 (its hold): the rest that announces step 2
echo "(c) next step"
scenario jump next "$(python3 -c "print($chapter0 + 7)")" next "$chapter1" 1

# (d) next in the rest that announces step 2: step 2 itself begins
echo "(d) next in a rest"
scenario jump rest "$(python3 -c "print($chapter1 + 0.8)")" next "$body1" 1
python3 -c "import sys; sys.exit(not $body1 - $chapter1 > 1.5)" ||
  bad "the rest before step 2 is too short to test next in it"

# (e) previous during step 2: back to step 1's start
echo "(e) previous"
at=$(python3 -c "print($body1 + 4)")
scenario jump previous "$at" previous "$chapter0" 0 "$(python3 -c "print($at - $chapter0 + 3)")"

# (f) the server dies mid-routine: exit 7 within 5 s, with a message
echo "(f) device lost"
t0=$(now)
play_bg lost 20
sleep 4
if pulse_kill_server KILL; then
  tk=$(now)
  while kill -0 "$coach_pid" 2>/dev/null; do
    sleep 0.05
  done
  te=$(now)
  wait_coach
  st=$?
  took=$(fsub "$te" "$tk")
  msg=$(tail -n 3 "$tmp/lost.err")
  echo "  exit $st ${took} s after the server died; stderr: $msg"
  [ $st -eq 7 ] && ok "lost: exit 7" || bad "lost: exit $st, wanted 7 (124: it hung)"
  python3 -c "import sys; sys.exit($took > 5.0)" && ok "lost: exited within 5 s" ||
    bad "lost: took $took s to exit"
  [ -n "$msg" ] && ok "lost: says why" || bad "lost: no message on stderr"
else
  bad "lost: could not kill the server"
fi
pulse_stop

echo "$pass passed, $fail failed"
if [ $fail -eq 0 ]; then
  rm -rf "$tmp"
  exit 0
fi
echo "kept $tmp for a look" >&2
exit 1
