#!/usr/bin/env bash
# Sequences: several routines as one session. `coach plan a b` shows one
# intro, a chapter per routine with its announcement, one ending; an export
# of a two-routine sequence has the routines' chapters in its chapter list
# (.cue) and their announcements in its captions (.vtt); check
# --with-warm-up checks the sequence a routine's before/after make; the
# errors (a name not found, mixed voices, --from with several) have their
# status and message; `coach play a b` through the private PulseAudio
# writes one history record per routine, and one stopped in the second
# routine records the first completed, the second stopped at its step,
# and names the command that continues it.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/sequence.$$
rm -rf "$tmp"
mkdir -p "$tmp/data/routines" "$tmp/home"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac

. "$src/tests/tools/pulse_env.sh"
cleanup() { [ "${fail:-1}" -eq 0 ] && rm -rf "$tmp"; }
pulse_on_exit cleanup

cd "$src"
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE="$tmp/home/history.tsv"
. "$src/tests/tools/checks.sh"

# two short routines of our own (found by path)
a=$tmp/data/routines/seq-a.ini b=$tmp/data/routines/seq-b.ini
printf '[routine]\ntitle = Seq A\nprepare = 1\ncountdown = 1\ncaution = Shared caution.\n[exercise a1]\nname = Alpha\nhold = 2\n' >"$a"
printf '[routine]\ntitle = Seq B\nprepare = 1\ncountdown = 1\ncaution = Shared caution.\n[exercise b1]\nname = Beta\nhold = 2\n' >"$b"

section "plan of two routines"
expect 0 "$coach" plan warm-up cool-down
has "$out" 'Warm-up, Cool-down: 8 exercises'
has "$out" '"Warm-up, Cool-down."'
has "$out" '"First routine: Warm-up."'
has "$out" '"Next routine: Cool-down."'
has "$out" 'Exercise 1 of 4: Child'"'"'s pose'
[ "$(grep -c '"Routine complete. Well done."' <<<"$out")" = 1 ] && ok || bad "one ending"
[ "$(grep -c ' bell,' <<<"$out")" = 1 ] && ok || bad "one bell"
[ "$(grep -c '"Let'"'"'s begin."' <<<"$out")" = 1 ] && ok || bad "one intro"
expect 0 "$coach" plan --json warm-up cool-down
has "$out" '"title": "Cool-down"'

section "export of two routines: chapters and captions"
expect 0 "$coach" export -q "$a" "$b" -o "$tmp/ab.wav" --chapters "$tmp/ab.cue" --captions "$tmp/ab.vtt"
cue=$(cat "$tmp/ab.cue" 2>/dev/null)
has "$cue" 'TITLE "Seq A, Seq B"'
has "$cue" 'TITLE "Seq A"'
has "$cue" 'TITLE "Seq B"'
has "$cue" 'TITLE "Exercise 1 of 1: Beta"'
[ "$(grep -c 'TRACK' <<<"$cue")" = 5 ] && ok || bad "5 chapters: intro, Seq A, a1, Seq B, b1: $cue"
vtt=$(cat "$tmp/ab.vtt" 2>/dev/null)
has "$vtt" 'Next routine: Seq B.'
[ "$(grep -c 'Shared caution.' <<<"$vtt")" = 1 ] && ok || bad "a caution both have is said once"
# the sequence is as long as its plan says
expect 0 "$coach" check "$a" "$b"
has "$out" 'seq-a.ini: ok'
has "$out" 'seq-b.ini: ok'
has "$out" 'seq-a + seq-b: ok, 2 exercises'
# each file's warnings once, not again for the whole; --strict fails on them
w=$tmp/data/routines/seq-w.ini
printf '[routine]\ntitle = Seq W\nprepare = 1\ncountdown = 1\n[exercise w1]\nname = Wide # gently\nhold = 2\n' >"$w"
expect 0 "$coach" check "$a" "$w"
[ "$(grep -c 'warning:' <<<"$err")" = 1 ] && ok || bad "one warning: $err"
has "$out" 'seq-a + seq-w: ok'
expect 1 "$coach" check --strict "$a" "$w"
[ "$(grep -c ' + ' <<<"$out")" = 0 ] && ok || bad "a file with errors leaves the whole unchecked"

section "check of a sequence: what play would refuse"
expect 2 "$coach" check warm-up lower-back-relief.de
has "$out" 'warm-up.ini: ok'
has "$err" 'different voice profiles (warm-up: en-us, lower-back-relief.de: de)'
expect 0 "$coach" check --voice de warm-up lower-back-relief.de
has "$out" 'warm-up + lower-back-relief.de: ok, 13 exercises'
expect 3 "$coach" check warm-up no-such-routine

section "--with-warm-up"
expect 0 "$coach" check --with-warm-up core-strength
has "$out" 'warm-up + core-strength + cool-down: ok, 13 exercises'
expect 0 "$coach" plan --with-warm-up warm-up core-strength
has "$out" 'Warm-up, Core strength, Cool-down:'
sed 's/^before = warm-up/before = warm-upp/' routines/core-strength.ini >"$tmp/cs.ini"
expect 1 "$coach" check --with-warm-up "$tmp/cs.ini"
has "$err" "$tmp/cs.ini:13: before: no routine 'warm-upp'"
expect 0 "$coach" check "$tmp/cs.ini" # without it, not read

section "unless_after: core-strength's warm-up reminder"
expect 0 "$coach" plan core-strength
has "$out" 'If you have not warmed up yet'
expect 0 "$coach" plan warm-up core-strength
[ "$(grep -c 'If you have not warmed up yet' <<<"$out")" = 0 ] && ok || bad "reminder after the warm-up"
expect 0 "$coach" plan --with-warm-up core-strength
[ "$(grep -c 'If you have not warmed up yet' <<<"$out")" = 0 ] && ok || bad "reminder with --with-warm-up"

section "refusals"
expect 2 "$coach" plan warm-up lower-back-relief.de
has "$err" 'different voice profiles (warm-up: en-us, lower-back-relief.de: de)'
has "$err" '--voice'
expect 0 "$coach" plan --voice de warm-up lower-back-relief.de
expect 2 "$coach" plan --from 2 warm-up cool-down
has "$err" '--from takes one routine'
expect 2 "$coach" export --resume warm-up cool-down -o "$tmp/x.wav"
has "$err" '--resume takes one routine'
[ ! -e "$tmp/x.wav" ] && ok || bad "nothing written after a refusal"

section "--progress: each routine by its own records"
expect 0 "$coach" plan --progress warm-up core-strength
has "$err" 'progress: warm-up: 0 completions in a row -> easy'
has "$err" 'progress: core-strength: 0 completions in a row -> easy'

section "play of two routines: one record each"
if ! "$coach" --help 2>/dev/null | grep -q '^ *play '; then
  skip "this coach has no play command"
elif ! pulse_start "$tmp/pa"; then
  skip "PulseAudio cannot start here (reason above)"
else
  export COACH_HISTORY_FILE="$tmp/history.tsv"
  expect_out=$tmp/play.out expect_err=$tmp/play.err
  timeout 180 "$coach" play "$a" "$b" --socket "$tmp/ctl.sock" --no-mpris </dev/null \
    >"$tmp/play.out" 2>"$tmp/play.err"
  st=$?
  [ $st = 0 ] && ok || bad "play a b exited $st: $(head -n 5 "$tmp/play.err")"
  hist=$(cat "$tmp/history.tsv" 2>/dev/null)
  [ "$(grep -c . <<<"$hist")" = 2 ] && ok || bad "two history records: $hist"
  has "$hist" "	seq-a	Seq A	1	1	"
  has "$hist" "	seq-b	Seq B	1	1	"
  [ "$(grep -c '	completed	' <<<"$hist")" = 2 ] && ok || bad "both completed: $hist"
  expect 0 "$coach" history
  has "$out" 'Seq A'
  has "$out" 'Seq B'

  # stopped in the second routine: the first completed, the second stopped
  # at its step, and the command to continue names it
  printf '[routine]\ntitle = Seq B\nprepare = 1\ncountdown = 1\n[exercise b1]\nname = Beta\nhold = 30\n' >"$b"
  rm -f "$tmp/history.tsv"
  "$coach" play "$a" "$b" --socket "$tmp/ctl.sock" --no-mpris </dev/null >"$tmp/play.out" 2>"$tmp/play.err" &
  play_pid=$!
  for _ in $(seq 100); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.2; done
  reached=
  for _ in $(seq 20); do # "next" until the second routine is announced, then once more
    reply=$(timeout 20 "$coach" ctl --socket "$tmp/ctl.sock" next 2>&1)
    if [ -n "$reached" ]; then case $reply in ok*) break ;; esac; fi
    case $reply in *"Seq B"*) reached=1 ;; esac
    sleep 0.5
  done
  [ -n "$reached" ] && ok || bad "next never reached Seq B: $reply"
  sleep 1
  timeout 20 "$coach" ctl --socket "$tmp/ctl.sock" stop >/dev/null 2>&1
  timeout 60 tail --pid=$play_pid -f /dev/null
  wait $play_pid
  st=$?
  [ $st = 0 ] && ok || bad "stopped play exited $st: $(head -n 5 "$tmp/play.err")"
  hist=$(cat "$tmp/history.tsv" 2>/dev/null)
  has "$hist" "	seq-a	Seq A	"
  has "$hist" "	completed	"
  has "$hist" "	seq-b	Seq B	0	1	"
  has "$hist" "	stopped	0	-	b1"
  has "$(cat "$tmp/play.err")" "coach play $b --resume"
  pulse_stop
fi

echo "sequence: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
