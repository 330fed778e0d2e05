#!/usr/bin/env bash
# --from and --resume as a user meets them: plan and export start at the
# step named (number or id) with the cautions kept; bad values are usage
# errors (exit 2) that say what there is; --resume reads the history (a
# record of a stopped session: its step; completed or none: the top, with a
# note). Live, through a private PulseAudio (skipped if it cannot run):
# `coach ctl stop` mid-session names `coach play ROUTINE --resume`, the
# history records the step, --resume starts there; a lost device (the
# server killed, exit 7) names the same command.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/resume.$$
rm -rf "$tmp"
mkdir -p "$tmp"
export COACH_DATA_DIR="$src" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE=$tmp/state/history.tsv
mkdir -p "$tmp/state" && chmod 700 "$tmp/state"

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect STATUS WHAT CMD...: runs CMD (stdout to $out, stderr to $err)
out=$tmp/out err=$tmp/err
expect() {
  local want=$1 what=$2
  shift 2
  timeout 300 "$@" >"$out" 2>"$err"
  local st=$?
  [ $st -eq "$want" ] && ok "$what (exit $st)" || { bad "$what: exit $st, wanted $want"; cat "$err" >&2; }
}
has() { grep -qF -- "$2" "$1"; }

routine=$tmp/resume-me.ini
cat >"$routine" <<'EOF'
[routine]
title = Resume me
summary = A summary said only from the top.
caution = Stop if it hurts.
rest = 2
prepare = 2
countdown = 2

[say hello]
text = Hello there.

[exercise hold]
name = Plank
hold = 3

[exercise dyn]
name = Squat
reps = 2
tempo = 1, 1

[breathing breath]
name = Breathe
inhale = 2
exhale = 2
cycles = 2
EOF

# ---- plan --from: number and id ----
for from in 2 dyn; do
  expect 0 "plan --from $from" "$coach" plan "$routine" --from $from
  has "$out" "Exercise 2 of 3: Squat" && ! has "$out" "Exercise 1 of 3: Plank" && ! has "$out" "Hello there" &&
    ok "plan --from $from starts at exercise 2" || { bad "plan --from $from: wrong steps"; cat "$out" >&2; }
  has "$out" '"Starting at exercise 2 of 3: Squat."' && has "$out" '"Stop if it hurts."' &&
    ! has "$out" "A summary said" && ok "plan --from $from: says where, keeps the caution, no summary" ||
    bad "plan --from $from: intro"
done
expect 0 "plan --from hello (a say step)" "$coach" plan "$routine" --from hello
has "$out" "Exercise 1 of 3: Plank" && has "$out" "Hello there" && ok "plan --from hello keeps the whole body" ||
  bad "plan --from hello"

# ---- export --from: the file starts at the step (captions say so) ----
expect 0 "export --from 3" "$coach" export "$routine" --from 3 -o "$tmp/from3.wav" --captions "$tmp/from3.vtt"
has "$tmp/from3.vtt" "Exercise 3 of 3: Breathe" && ! has "$tmp/from3.vtt" "Squat" &&
  ok "export --from 3: captions start at exercise 3" || bad "export --from 3: captions"

# ---- bad values: exit 2, naming what there is ----
for v in 0 4 -1 nope 99999999999999999999 ''; do
  expect 2 "--from '$v' refused" "$coach" plan "$routine" --from "$v"
  has "$err" "give a number 1-3 (the exercises) or a step id: hello, hold, dyn, breath" &&
    ok "--from '$v': names the valid range and ids" || { bad "--from '$v': message"; cat "$err" >&2; }
done
expect 2 "--from with --resume" "$coach" plan "$routine" --from 2 --resume
expect 2 "--from on check" "$coach" check "$routine" --from 2
expect 2 "--from without a value" "$coach" plan "$routine" --from
expect 2 "export --all --from" "$coach" export --all "$tmp/all" --from 2

# ---- --resume from the history ----
expect 0 "plan --resume, no history" "$coach" plan "$routine" --resume
has "$err" "no earlier session of it in the history; starting from the top" && has "$out" "Exercise 1 of 3" &&
  ok "--resume without history: from the top, with a note" || { bad "--resume without history"; cat "$err" >&2; }
printf '2026-11-20T19:40:05\tresume-me\tResume me\t1\t3\t30\tstopped\t0\t-\tdyn\n' >"$COACH_HISTORY_FILE"
chmod 600 "$COACH_HISTORY_FILE"
expect 0 "plan --resume after a stop in dyn" "$coach" plan "$routine" --resume
has "$err" "was stopped at exercise 2 of 3, dyn; starting there" && has "$out" "Exercise 2 of 3: Squat" &&
  ! has "$out" "Exercise 1 of 3" && ok "--resume starts where it stopped" || { bad "--resume: wrong start"; cat "$err" "$out" >&2; }
printf '2026-11-21T19:40:05\tresume-me\tResume me\t3\t3\t90\tcompleted\t0\n' >>"$COACH_HISTORY_FILE"
expect 0 "plan --resume after a completed session" "$coach" plan "$routine" --resume
has "$err" "the last session was completed; starting from the top" && has "$out" "Exercise 1 of 3" &&
  ok "--resume after completion: from the top, with a note" || bad "--resume after completion"
expect 0 "history still prints" "$coach" history
has "$out" "stopped at dyn, 1 of 3 exercises" && ok "history prints records with steps" || bad "history print"

# ---- live: stop, resume, lost device ----
live() {
  . "$src/tests/tools/pulse_env.sh"
  pulse_start "$tmp/pa" || { echo "SKIP live part: PulseAudio cannot start here"; return; }
  export COACH_HISTORY_FILE=$tmp/state/live.tsv
  sock=$tmp/control.sock
  coach_pid=
  pulse_on_exit '[ -n "$coach_pid" ] && kill -KILL "$coach_pid" 2>/dev/null'
  play_bg() {
    local name=$1
    shift
    timeout 120 "$coach" play "$routine" --socket "$sock" --verbose "$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
    coach_pid=$!
  }
  # stop in the middle of the Squat (dyn), from the plan's times; reply
  # only to find the socket ready (`ctl where` would hold the timeline)
  local mid
  mid=$("$coach" plan "$routine" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = [c for c in d["chapters"] if c["step_id"] == "dyn"][0]
print("%.2f" % ((c["frame"] + c["end_frame"]) / 2 / d["rate_hz"]))')
  local t0
  t0=$(date +%s.%N)
  play_bg stop
  echo "  the Squat is at $mid s: stopping there"
  sleep "$(python3 -c "import sys, time; print(max(0.0, $t0 + $mid - time.time()))")"
  "$coach" ctl stop --socket "$sock" >/dev/null 2>&1
  wait "$coach_pid"
  local st=$?
  coach_pid=
  [ $st -eq 0 ] && ok "live: stopped (exit 0)" || bad "live: stop exit $st"
  has "$tmp/stop.err" "to continue where it stopped: coach play $routine --resume" &&
    ok "live: stop names the --resume command" || { bad "live: stop message"; cat "$tmp/stop.err" >&2; }
  grep -qP '\tstopped\t0\t-\tdyn$' "$COACH_HISTORY_FILE" && ok "live: history records the stop step" ||
    { bad "live: history record"; cat "$COACH_HISTORY_FILE" >&2; }

  play_bg resume --resume
  sleep 3
  "$coach" ctl stop --socket "$sock" >/dev/null 2>&1
  wait "$coach_pid"
  coach_pid=
  has "$tmp/resume.err" "was stopped at exercise 2 of 3, dyn; starting there" &&
    ok "live: --resume starts at dyn" || { bad "live: --resume note"; cat "$tmp/resume.err" >&2; }
  grep -qP '\tstopped\t0\tdyn\tdyn$' "$COACH_HISTORY_FILE" && ok "live: resumed session recorded from dyn" ||
    { bad "live: resumed record"; cat "$COACH_HISTORY_FILE" >&2; }

  play_bg lost --from 2
  sleep 4
  if pulse_kill_server KILL; then
    wait "$coach_pid"
    st=$?
    coach_pid=
    [ $st -eq 7 ] && ok "live: lost device exit 7" || bad "live: lost exit $st"
    has "$tmp/lost.err" "Continue where it stopped with: coach play $routine --resume" &&
      ok "live: lost device names the --resume command" || { bad "live: lost message"; cat "$tmp/lost.err" >&2; }
  else
    bad "live: could not kill the server"
  fi
  pulse_stop
}
if "$coach" --help 2>/dev/null | grep -q '^ *play '; then live; fi

echo "$pass passed, $fail failed"
if [ $fail -eq 0 ]; then
  rm -rf "$tmp"
  exit 0
fi
echo "kept $tmp for a look" >&2
exit 1
