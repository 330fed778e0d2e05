#!/usr/bin/env bash
# Self-paced parts from the command line: `coach check` takes them, `coach
# plan` lists where a live session waits, an export plays the stated
# default time with a caption saying so; and a live session (a private
# PulseAudio, as tests/play_pulse.sh) holds at the end of a "pace = self"
# set for as long as it takes, refuses `ctl done` where nothing waits,
# goes on after `ctl done` and ends with its history record. Exits 77 when
# PulseAudio cannot run here (the offline part has run by then).
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/selfpaced.$$
rm -rf "$tmp"
mkdir -p "$tmp"
export COACH_DATA_DIR="$src" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE=$tmp/history.tsv

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
finish() {
  echo "$pass passed, $fail failed"
  rm -rf "$tmp"
  [ "$fail" -eq 0 ]
  exit
}

routine=$tmp/self.ini
cat >"$routine" <<'EOF'
[routine]
title = Self paced
prepare = 1
countdown = 0
rest = 1

[exercise squat]
name = Squat
pace = self
reps = 2

[exercise bridge]
name = Bridge
hold = 1
EOF

# ---- offline ----
if "$coach" check "$routine" >"$tmp/check.out" 2>&1; then ok "check takes pace = self"; else bad "check: $(cat "$tmp/check.out")"; fi
if "$coach" check "$src/tests/good/self-paced.ini" >/dev/null 2>&1; then ok "check takes hold = max and rest = ready"; else bad "check tests/good/self-paced.ini"; fi
"$coach" plan "$routine" >"$tmp/plan.txt" 2>&1
if grep -q 'wait for done (live; 8.000 s here: \[at your own pace: 8 seconds in this recording\])' "$tmp/plan.txt"; then
  ok "plan lists the wait"
else
  bad "plan: $(grep -i wait "$tmp/plan.txt")"
fi
"$coach" plan "$routine" --json >"$tmp/plan.json"
wait_s=$(python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print('%.3f' % p['waits'][0]['time'])" "$tmp/plan.json" 2>/dev/null)
len_s=$(python3 -c "import json,sys; print('%.3f' % json.load(open(sys.argv[1]))['length_seconds'])" "$tmp/plan.json" 2>/dev/null)
if [ -n "$wait_s" ] && [ -n "$len_s" ]; then ok "plan --json: the wait ends at $wait_s s of $len_s s"; else bad "plan --json has no waits"; fi
if "$coach" export "$routine" -o "$tmp/self.wav" --captions "$tmp/self.srt" -q 2>"$tmp/export.err"; then
  if grep -q '^\[at your own pace: 8 seconds in this recording\]$' "$tmp/self.srt"; then
    ok "export: the caption states the time given"
  else
    bad "export captions: $(cat "$tmp/self.srt")"
  fi
else
  bad "export: $(cat "$tmp/export.err")"
fi
# a bad value names the file and line (status 1)
printf '[routine]\ntitle = T\n[exercise a]\nname = A\nreps = 3\npace = slow\n' >"$tmp/bad.ini"
"$coach" check "$tmp/bad.ini" >"$tmp/bad.out" 2>&1
st=$?
if [ $st -eq 1 ] && grep -q "bad.ini:6: unknown pace 'slow'" "$tmp/bad.out"; then ok "check: unknown pace is file:line, status 1"; else bad "check bad pace: status $st: $(cat "$tmp/bad.out")"; fi

# ---- live ----
"$coach" --help 2>/dev/null | grep -q '^ *play ' || { echo "SKIP: no play command"; finish; }
. "$src/tests/tools/pulse_env.sh"
if ! pulse_start "$tmp/pa"; then
  echo "SKIP: PulseAudio cannot start here (the live part)"
  echo "$pass passed, $fail failed"
  rm -rf "$tmp"
  [ "$fail" -eq 0 ] || exit 1
  exit 77
fi
sock=$tmp/control.sock
coach_pid=
pulse_on_exit '[ -n "$coach_pid" ] && kill -KILL "$coach_pid" 2>/dev/null'
timeout 120 "$coach" play "$routine" --socket "$sock" --no-mpris </dev/null >"$tmp/play.out" 2>"$tmp/play.err" &
coach_pid=$!
ctl() { reply=$("$coach" ctl "$1" --socket "$sock" 2>&1); ctl_st=$?; echo "  ctl $1 -> $reply (status $ctl_st)"; }
# the socket appears once the session plays
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
sleep 1
ctl done
if [ "$ctl_st" -eq 1 ] && [[ $reply == "error nothing waits for done"* ]]; then ok "done in the intro is refused (status 1)"; else bad "done in the intro: $reply ($ctl_st)"; fi
# the set's end: the terminal says it waits; 4 s later the session still
# holds there (the next step, printed when it starts, has not come)
# (no terminal for keys, no MPRIS, no --listen: only coach ctl done is offered)
for _ in $(seq 600); do grep -q '^Waiting: ' "$tmp/play.out" && break; sleep 0.1; done
if grep -q "^Waiting: 'coach ctl done' when you are done" "$tmp/play.out"; then ok "the terminal says it waits, and how"; else bad "no 'Waiting' line: $(cat "$tmp/play.out")"; fi
sleep 4
if kill -0 "$coach_pid" 2>/dev/null && ! grep -q 'Bridge' "$tmp/play.out"; then
  ok "the session holds for done"
else
  bad "the session went on without done: $(cat "$tmp/play.out" "$tmp/play.err"; ps -p "$coach_pid" -o pid,stat,cmd)"
fi
ctl done
if [ "$ctl_st" -eq 0 ] && [ "$reply" = "ok done" ]; then ok "ctl done: $reply"; else bad "ctl done: $reply ($ctl_st)"; fi
wait "$coach_pid"
st=$?
coach_pid=
if [ $st -eq 0 ]; then ok "the session ended after done"; else bad "coach play exit $st: $(cat "$tmp/play.err")"; fi
if grep -q $'\tcompleted\t0' "$tmp/history.tsv" 2>/dev/null; then ok "history: completed"; else bad "history: $(cat "$tmp/history.tsv" 2>&1)"; fi
pulse_stop
finish
