#!/usr/bin/env bash
# coach play with a terminal, and with another coach: through a private
# PulseAudio (tests/tools/pulse_env.sh) and, for the terminal, an
# interactive bash in tmux, as a person would use them.
#   (a) One coach per control socket: a second `coach play` on the same
#       socket is refused (exit 8, a message saying what to do) and plays
#       nothing; with --replace it stops the first (which exits 0 and is
#       recorded as stopped) and plays.
#   (b) `coach play ROUTINE &` in an interactive shell keeps playing in the
#       background (it is not stopped by the terminal: SIGTTOU) and says how
#       to steer it; `coach ctl` steers it.
#   (c) Brought to the foreground, its keys work: Right is next (from a
#       step to the rest that announces the next one), Down is softer, and
#       the arrows' escape sequences are never read as letters ("ESC [ B"
#       is not 'B', back); space pauses.
#   (d) Ctrl-Z pauses it and stops the job; after `fg` it is still there
#       (not taken for a lost device) and paused; q quits with status 0,
#       and the terminal is given back as it was (echo, canonical mode).
# Exits 77 when PulseAudio or tmux cannot run here.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/play_terminal.$$
rm -rf "$tmp"
mkdir -p "$tmp"
skip() {
  echo "SKIP: $*" >&2
  rm -rf "$tmp"
  exit 77
}
"$coach" --help 2>/dev/null | grep -q '^ *play ' || skip "this coach has no play command"
command -v tmux >/dev/null || skip "tmux is not installed (scripts/setup.sh --test installs it)"

. "$src/tests/tools/pulse_env.sh"
cd "$src"
export COACH_DATA_DIR="$src" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE=$tmp/history.tsv

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
has() { grep -q -- "$2" <<<"$1" && ok "$3" || bad "$3: '$2' not in: $1"; }

routine=$tmp/term.ini
cat >"$routine" <<'EOF'
[routine]
title = Terminal test
rest = 5
prepare = 2
countdown = 2

[exercise hold]
name = Plank
hold = 40
metronome = 60

[exercise dyn]
name = Squat
reps = 3
tempo = 2, 2
EOF

pulse_start "$tmp/pa" || skip "PulseAudio cannot start here (reason above)"
pids=()
tmux_sock=coach-test-$$
pulse_on_exit 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; tmux -L "$tmux_sock" kill-server 2>/dev/null'

# ctl SOCKET WORD: the reply (stdout and stderr)
ctl() { "$coach" ctl "$2" --socket "$1" 2>&1; }

# ---- (a) one coach per socket ----
echo "(a) one coach per control socket"
sock=$tmp/a.sock
timeout 60 "$coach" play "$routine" --socket "$sock" </dev/null >"$tmp/a1.out" 2>"$tmp/a1.err" &
first=$!
pids+=("$first")
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
sleep 1
timeout 30 "$coach" play "$routine" --socket "$sock" </dev/null >"$tmp/a2.out" 2>"$tmp/a2.err"
st=$?
[ $st -eq 8 ] && ok "a second coach on the socket: exit 8" || bad "a second coach: exit $st, wanted 8"
has "$(cat "$tmp/a2.err")" "another coach is already playing" "a second coach says why"
has "$(cat "$tmp/a2.err")" "--replace" "a second coach says what to do"
kill -0 "$first" 2>/dev/null && ok "the first coach plays on" || bad "the first coach is gone"
timeout 60 "$coach" play "$routine" --socket "$sock" --replace </dev/null >"$tmp/a3.out" \
  2>"$tmp/a3.err" &
third=$!
pids+=("$third")
wait "$first"
st=$?
[ $st -eq 0 ] && ok "--replace stops the first coach (exit 0)" || bad "the first coach exited $st"
sleep 2
r=$(ctl "$sock" where)
has "$r" "^ok " "the replacing coach answers on the socket"
kill -0 "$third" 2>/dev/null && ok "the replacing coach plays" || bad "the replacing coach is gone"
ctl "$sock" stop >/dev/null
wait "$third"
st=$?
[ $st -eq 0 ] && ok "the replacing coach: exit 0 after stop" || bad "the replacing coach exited $st"
has "$(cat "$tmp/a1.out")" "^Stopped Terminal test: " "the first coach says what was played"
grep -c $'\tstopped\t' "$COACH_HISTORY_FILE" 2>/dev/null | grep -qx 2 &&
  ok "both sessions are in the history as stopped" || bad "history: $(cat "$COACH_HISTORY_FILE" 2>&1)"

# ---- (b) in the background of an interactive shell ----
echo "(b) coach play ... & in an interactive shell"
sock=$tmp/b.sock
T() { tmux -L "$tmux_sock" "$@"; }
T -f /dev/null new-session -d -s t -x 150 -y 40 "env PS1='$ ' bash --norc --noprofile -i" ||
  skip "tmux cannot start a session here"
send() { T send-keys -t t "$@"; }
# runs a shell command in the tmux shell and waits for it
shell() {
  rm -f "$tmp/done"
  send "$1; touch $tmp/done" Enter
  for _ in $(seq 100); do [ -e "$tmp/done" ] && return 0; sleep 0.1; done
  bad "the shell did not run: $1"
}
shell "cd '$src'"
shell "export PULSE_RUNTIME_PATH='$PULSE_RUNTIME_PATH' PULSE_STATE_PATH='$PULSE_STATE_PATH' HOME='$HOME' COACH_DATA_DIR='$src' COACH_HISTORY_FILE='$tmp/history.tsv'"
# the terminal's modes as a command run from the shell sees them
modes() { tr ' ;' '\n\n' <"$1" | grep -E '^-?(echo|icanon|isig)$' | sort | tr '\n' ' '; }
shell "stty -a >'$tmp/stty1'"
stty_before=$(modes "$tmp/stty1")
send "'$coach' play '$routine' --socket '$sock' >'$tmp/b.out' 2>'$tmp/b.err' &" Enter
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
sleep 2
shell "jobs -l >'$tmp/jobs1'"
has "$(cat "$tmp/jobs1")" "Running" "in the background it runs (not stopped by the terminal)"
has "$(cat "$tmp/b.err")" "playing in the background" "in the background it says so"
has "$(cat "$tmp/b.err")" "coach ctl" "in the background it says how to steer it"
r=$(ctl "$sock" where)
has "$r" "^ok " "in the background it answers coach ctl ($r)"

# ---- (c) in the foreground: the keys ----
echo "(c) fg: keys"
send "fg" Enter
sleep 12 # into Plank's hold (the timeline waited while "where" was answered)
r=$(ctl "$sock" where)
has "$r" "^ok Exercise 1 of 2: Plank" "in Plank before the key ($r)"
send Right
sleep 1
r=$(ctl "$sock" where)
has "$r" "^ok Resting. Next: Squat." "Right is next: the rest announcing Squat ($r)"
send Down
sleep 0.5
r=$(ctl "$sock" louder)
has "$r" "^ok volume 100%" "Down was softer, not 'B' (back) ($r)"
send Space
sleep 0.5
r=$(ctl "$sock" resume)
has "$r" "^ok resumed at " "space paused it ($r)"

# ---- (d) Ctrl-Z, fg, q ----
echo "(d) Ctrl-Z, fg, q"
send C-z
sleep 1
shell "jobs -l >'$tmp/jobs2'"
has "$(cat "$tmp/jobs2")" "Stopped" "Ctrl-Z stops the job"
sleep 4 # longer than a device may be silent before it counts as lost
send "fg" Enter
sleep 1.5
r=$(ctl "$sock" resume)
has "$r" "^ok resumed at " "after fg it is there, and was paused ($r)"
sleep 1
r=$(ctl "$sock" where)
has "$r" "^ok " "after fg it plays on ($r)"
send q
sleep 1.5
shell "echo \$? >'$tmp/status'"
[ "$(cat "$tmp/status")" = 0 ] && ok "q quits with status 0" || bad "q: status $(cat "$tmp/status")"
shell "stty -a >'$tmp/stty2'"
stty_after=$(modes "$tmp/stty2")
[ -n "$stty_after" ] && [ "$stty_after" = "$stty_before" ] &&
  ok "the terminal is given back as it was ($stty_after)" ||
  bad "terminal before: '$stty_before', after: '$stty_after'"
grep -q "Terminal test" "$tmp/b.out" && ok "it says what was played" || bad "b.out: $(cat "$tmp/b.out")"
grep -q $'\tterm\tTerminal test\t.*\tstopped\t' "$COACH_HISTORY_FILE" && ok "the session is recorded" ||
  bad "history: $(cat "$COACH_HISTORY_FILE")"
T kill-server 2>/dev/null
pulse_stop

echo "$pass passed, $fail failed"
if [ $fail -eq 0 ]; then
  rm -rf "$tmp"
  exit 0
fi
echo "kept $tmp for a look" >&2
exit 1
