#!/usr/bin/env bash
# The pain stop and the pain question on a live session through a private
# PulseAudio (tests/tools/pulse_env.sh, as play_pulse.sh): `coach ctl hurt`
# during the hold stops it ("ok stopped for pain at ..., hold"), `coach ctl
# next` goes on with the next exercise, and at the end --ask-pain's
# question waits for `coach ctl pain 3`; the history (`coach history`) then
# shows the pain stop and the rating, and the summary line says both. A
# second session: hurt, then `ctl stop` asks the question too, and `ctl
# stop` again ends it with no rating (the time limit is the unit test's);
# --progress then steps a level down. Also the usage of `ctl pain`. Exits
# 77 when PulseAudio cannot run here.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/hurt.$$
rm -rf "$tmp"
mkdir -p "$tmp"

skip() {
  echo "SKIP: $*" >&2
  rm -rf "$tmp"
  exit 77
}
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect WHAT STATUS CMD...: runs CMD, its exit status must be STATUS
expect() {
  local what=$1 want=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local st=$?
  if [ "$st" = "$want" ]; then ok "$what (status $st)"; else bad "$what: status $st, not $want: $(cat "$tmp/err")"; fi
}

"$coach" --help 2>/dev/null | grep -q -- '--ask-pain' || skip "this coach has no --ask-pain"

# the words: checked before anything plays (status 2: usage)
expect "ctl pain 11 is a usage error" 2 "$coach" ctl pain 11 --socket "$tmp/none.sock"
expect "ctl pain with no number is a usage error" 2 "$coach" ctl pain --socket "$tmp/none.sock"
expect "ctl hurt with no coach playing: not found" 3 "$coach" ctl hurt --socket "$tmp/none.sock"
expect "ctl pain 3 with no coach playing: not found" 3 "$coach" ctl pain 3 --socket "$tmp/none.sock"

. "$src/tests/tools/pulse_env.sh"
cd "$src"
export COACH_DATA_DIR="$src" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE=$tmp/hist/history.tsv
mkdir -p "$tmp/hist"
chmod 700 "$tmp/hist"

routine=$tmp/hurt-live.ini
cat >"$routine" <<'EOF'
[routine]
title = Hurt live
rest = 3
prepare = 2
countdown = 2
stop_safely = Stop. Come back to lying flat.

[exercise hold]
name = Plank
hold = 30

[exercise dyn]
name = Squat
reps = 2
tempo = 1.5, 1.5
EOF

pulse_start "$tmp/pa" || skip "PulseAudio cannot start here (reason above)"
sock=$tmp/control.sock
coach_pid=
pulse_on_exit '[ -n "$coach_pid" ] && kill -KILL "$coach_pid" 2>/dev/null'

play_bg() {
  timeout 150 "$coach" play "$routine" --socket "$sock" --ask-pain </dev/null >"$tmp/$1.out" 2>"$tmp/$1.err" &
  coach_pid=$!
}
wait_coach() {
  wait "$coach_pid"
  local st=$?
  coach_pid=
  return $st
}
reply=
ctl() {
  reply=$("$coach" ctl "$@" --socket "$sock" 2>&1)
  echo "  ctl $* -> $reply"
}
# until_shown NAME TEXT SECONDS: waits until coach prints the chapter TEXT
# (a line per chapter on its stdout; asking with `ctl where` would hold it)
until_shown() {
  local i
  for i in $(seq $(($3 * 4))); do
    grep -q "$2" "$tmp/$1.out" 2>/dev/null && return 0
    sleep 0.25
  done
  return 1
}

echo "== hurt in the hold, next, and the rating at the end"
play_bg one
# the hold: "where" says "Hold" once the plank's 30 s are counting
until_shown one Plank 60 || bad "the session never reached the plank"
sleep 6
ctl hurt
case $reply in "ok stopped for pain at "*", hold: next skips it"*) ok "ctl hurt: $reply" ;; *) bad "ctl hurt: $reply" ;; esac
sleep 2
ctl where
case $reply in "ok Paused."*) ok "held after hurt" ;; *) bad "not held after hurt: $reply" ;; esac
ctl pain 3
case $reply in "error no question waits"*) ok "a rating before the question is refused" ;; *) bad "pain before the question: $reply" ;; esac
ctl next
case $reply in "ok skipped hold; next: "*Squat*) ok "ctl next skips the plank" ;; *) bad "ctl next after hurt: $reply" ;; esac
# the question at the end (about 20 s on): until it waits, a rating is
# refused, in words that hold the session a moment, so ask seldom
sleep 15
answered=
for i in $(seq 25); do
  ctl pain 3
  case $reply in "ok pain 3 noted") answered=1; break ;; esac
  sleep 4
done
[ -n "$answered" ] && ok "ctl pain 3 answers the question" || bad "the question never took pain 3"
wait_coach
st=$?
[ "$st" = 0 ] && ok "the session ends (status 0)" || bad "status $st: $(cat "$tmp/one.err")"
grep -q "Stopped for pain at hold. Pain 3 of 10." "$tmp/one.out" && ok "the summary says the pain stop and the rating" ||
  bad "summary: $(cat "$tmp/one.out")"
"$coach" history >"$tmp/history.out" 2>&1
if grep -q "Hurt live (hurt-live), completed, 1 of 2 exercises, 1 skipped, stopped for pain at hold, .*, pain 3 of 10\.$" "$tmp/history.out"; then
  ok "coach history shows the pain stop and the rating"
else
  bad "coach history: $(cat "$tmp/history.out")"
fi

echo "== hurt, then stop: the question, then stop again ends it with no rating"
play_bg two
until_shown two Plank 60 || bad "the session never reached the plank"
sleep 6
ctl hurt
ctl stop
case $reply in "ok stopping: pain 0-10"*) ok "stop asks the question first" ;; *) bad "stop after hurt: $reply" ;; esac
sleep 1
ctl stop
case $reply in "ok stopped, no pain rating"*) ok "stop again ends it" ;; *) bad "stop again: $reply" ;; esac
wait_coach
st=$?
[ "$st" = 0 ] && ok "stopped (status 0)" || bad "status $st: $(cat "$tmp/two.err")"
"$coach" history >"$tmp/history.out" 2>&1
last=$(tail -n 1 "$tmp/history.out")
case $last in *"stopped at hold, 0 of 2 exercises, stopped for pain at hold, "*) ok "recorded as stopped for pain: $last" ;; *) bad "history: $last" ;; esac
case $last in *"pain "*" of 10"*) bad "a rating was recorded: $last" ;; *) ok "no rating recorded" ;; esac
# the record is the extended one; the older fields stay where they were
awk -F'\t' 'END { exit !(NF == 13 && $7 == "stopped" && $11 == "-" && $12 == "hold" && $13 == "-") }' "$COACH_HISTORY_FILE" &&
  ok "the record: 13 fields, no holds, the pain stop, no rating" || bad "record: $(tail -n 1 "$COACH_HISTORY_FILE")"

echo "== --progress after the pain stop: a level down, said and printed"
"$coach" plan "$routine" --progress --level medium >/dev/null 2>"$tmp/progress.err"
grep -q "the last session hurt: a level down -> easy" "$tmp/progress.err" && ok "--progress steps down" ||
  bad "--progress: $(cat "$tmp/progress.err")"

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
