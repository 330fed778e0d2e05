#!/usr/bin/env bash
# Attacks through files (issue 10, items 2, 11 and 15), as a user meets them:
#  - stray entries named *.ini in a search directory (a dangling symbolic
#    link, a directory, a FIFO): list, voices, export --all and menu skip
#    them with a warning naming each and go on (they once exited 1 with no
#    output, or said "out of memory"); the menu starts;
#  - a FIFO where a file is read: given as the routine, as --music, and
#    renamed over a routine again and again while `check` reads it (the
#    stat-then-open race): never a hang, always a clear message;
#  - control and bidirectional characters (C1 CSI/OSC/NEL, U+202E...) in a
#    routine or a voice profile: refused as file:line; in text no reader
#    checked (a history file, file names): printed replaced, never raw.
# Runs a copy of coach in a private tree (bin/coach, share/... of its own),
# so that only the files made here are found. The menu's start through a
# sound server needs the private PulseAudio of tests/tools/pulse_env.sh;
# without it that part is skipped (the rest still runs).
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/attack_files.$$
rm -rf "$tmp"
mkdir -p "$tmp"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac

. "$src/tests/tools/pulse_env.sh" # its EXIT trap also runs our cleanup
cleanup() {
  [ -n "${flip_pid:-}" ] && kill "$flip_pid" 2>/dev/null
  [ -n "${menu_pid:-}" ] && kill -KILL "$menu_pid" 2>/dev/null
  [ "${fail:-1}" -eq 0 ] && rm -rf "$tmp"
}
pulse_on_exit cleanup

. "$src/tests/tools/checks.sh"
# raw_free FILE WHAT: FILE holds none of the bytes a terminal would obey
raw_free() {
  local b
  for b in $'\x1b' $'\x07' $'\r' $'\xc2\x9b' $'\xc2\x9d' $'\xc2\x85' $'\xe2\x80\xae' $'\xe2\x81\xa6'; do
    if LC_ALL=C grep -qF "$b" "$1"; then
      bad "$2: a raw $(printf '%s' "$b" | od -An -tx1 | tr -d ' \n') reached the output"
      return
    fi
  done
  ok
}

# A private tree: bin/coach finds routines and voices only here.
pkg=$tmp/pkg
data=$tmp/data
mkdir -p "$pkg/bin" "$data/routines" "$data/voices" "$tmp/home"
cp "$coach" "$pkg/bin/coach"
C=$pkg/bin/coach
cp "$src/voices/en-us.ini" "$data/voices/"
printf '[routine]\ntitle = Short\n[say hi]\ntext = Hi.\n' >"$data/routines/short.ini"
cd "$tmp" || exit 1
export COACH_DATA_DIR=$data HOME=$tmp/home XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE=$tmp/home/history.tsv
unset ESPEAK_DATA_PATH

section "stray entries named *.ini (item 2)"
for d in routines voices; do
  ln -s /nonexistent/gone.ini "$data/$d/dangle.ini"
  mkdir "$data/$d/dir.ini"
  mkfifo "$data/$d/fifo.ini"
done
expect 0 "$C" list
has "$out" "short: Short, "
has "$err" "coach: warning: skipping $data/routines/dangle.ini: a dangling symbolic link"
has "$err" "coach: warning: skipping $data/routines/dir.ini: a directory"
has "$err" "coach: warning: skipping $data/routines/fifo.ini: a FIFO (named pipe)"
expect 0 "$C" voices
has "$out" "  en-us: espeak-ng voice"
has "$err" "skipping $data/voices/dangle.ini: a dangling symbolic link"
has "$err" "skipping $data/voices/fifo.ini: a FIFO (named pipe)"
expect 0 "$C" export --all "$tmp/all" -f wav
has "$out" "short: ok"
has "$err" "skipping $data/routines/dir.ini: a directory"
lacks "$err" "out of memory"
[ -s "$tmp/all/short.wav" ] && ok || bad "export --all wrote no short.wav"
# a name found through a stray in the first directory is found further on
mkdir -p "$tmp/xdg/coach/routines"
printf '[routine]\ntitle = Further\n[say hi]\ntext = Hi.\n' >"$tmp/xdg/coach/routines/dangle.ini"
XDG_DATA_HOME=$tmp/xdg expect 0 "$C" list
has "$out" "dangle: Further, 0 exercises ($tmp/xdg/coach/routines/dangle.ini)"

# The menu reaches the sound device (here: none, exit 6 with advice).
mkdir -p "$tmp/nopulse"
if [ -z "$(ls /dev/snd 2>/dev/null)" ]; then
  PULSE_SERVER=unix:/nonexistent PULSE_RUNTIME_PATH="$tmp/nopulse" \
    expect 6 "$C" menu --socket "$tmp/nodev.sock"
else
  PULSE_SERVER=unix:/nonexistent PULSE_RUNTIME_PATH="$tmp/nopulse" ALSA_CONFIG_PATH=/dev/null \
    expect 6 "$C" menu --socket "$tmp/nodev.sock"
fi
has "$err" "skipping $data/routines/fifo.ini: a FIFO (named pipe)"
lacks "$err" "out of memory"

# And with a sound server it starts, answers, and stops when told.
if pulse_start "$tmp/pa"; then
  sock=$tmp/menu.sock
  "$C" menu --socket "$sock" </dev/null >"$tmp/menu.out" 2>"$tmp/menu.err" &
  menu_pid=$!
  answered=
  for _ in $(seq 300); do # 30 s
    timeout 10 "$C" ctl --socket "$sock" where >/dev/null 2>&1
    case $? in 0 | 1) answered=1; break ;; esac
    kill -0 "$menu_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$answered" ] && ok || bad "the menu never answered: $(cat "$tmp/menu.err")"
  timeout 10 "$C" ctl --socket "$sock" stop >/dev/null 2>&1
  st=
  for _ in $(seq 300); do
    kill -0 "$menu_pid" 2>/dev/null || { wait "$menu_pid"; st=$?; break; }
    sleep 0.1
  done
  [ "$st" = 0 ] && ok || bad "the menu ended with '${st:-still running}': $(cat "$tmp/menu.err")"
  [ -z "$st" ] && kill -KILL "$menu_pid" 2>/dev/null
  menu_pid=
  has "$(cat "$tmp/menu.err")" "skipping $data/routines/dangle.ini: a dangling symbolic link"
  pulse_stop
else
  skip "no private PulseAudio: the menu's start through a sound server is not tested"
fi
for d in routines voices; do rm -rf "$data/$d/dangle.ini" "$data/$d/dir.ini" "$data/$d/fifo.ini"; done

section "a FIFO where a file is read (item 11)"
mkfifo "$tmp/pipe.ini" "$tmp/pipe.flac"
expect 3 "$C" check "$tmp/pipe.ini"
has "$err" "$tmp/pipe.ini: is a device, pipe or socket, not a routine file"
expect 1 "$C" export "$data/routines/short.ini" -o "$tmp/m.wav" --music "$tmp/pipe.flac"
has "$err" "coach: music: $tmp/pipe.flac: it is a FIFO (named pipe), not an audio file"
[ ! -e "$tmp/m.wav" ] && ok || bad "a refused --music left $tmp/m.wav"

# The race: x.ini is a routine when looked at, a FIFO when opened. 300
# checks a run against a renamer that flips it; on the old code most runs
# hung in fopen (until the timeout: 124).
if command -v python3 >/dev/null; then
  mkdir "$tmp/race"
  cp "$src/voices/en-us.ini" "$tmp/race/v.ini"
  cp "$data/routines/short.ini" "$tmp/race/good.ini"
  (cd "$tmp/race" && exec python3 -c '
import os
data = open("good.ini", "rb").read()
while True:
    with open("x.tmp", "wb") as f:
        f.write(data)
    os.rename("x.tmp", "x.ini")
    os.mkfifo("x.fifo")
    os.rename("x.fifo", "x.ini")
') &
  flip_pid=$!
  for _ in $(seq 50); do [ -e "$tmp/race/x.ini" ] && break; sleep 0.1; done
  args=()
  for _ in $(seq 300); do args+=("$tmp/race/x.ini"); done
  for run in 1 2 3; do
    timeout 60 "$C" check --voice "$tmp/race/v.ini" "${args[@]}" >"$tmp/race.out" 2>"$tmp/race.err"
    st=$?
    case $st in
      0 | 1 | 3) ok ;;
      124) bad "race run $run: check hung on a FIFO swapped in" ;;
      *) bad "race run $run: check exited $st: $(head -n 3 "$tmp/race.err")" ;;
    esac
    # every refusal says what is wrong
    if LC_ALL=C grep -v -e ': ok, 0 exercises' -e 'is a device, pipe or socket, not a routine file' \
      -e 'cannot open: it is a FIFO (named pipe), not a regular file' \
      -e 'cannot be read (see above)' -e "routine '.*' not found" -e '^  found: ' \
      "$tmp/race.out" "$tmp/race.err" >"$tmp/race.other"; then
      bad "race run $run: unexpected lines: $(head -n 3 "$tmp/race.other")"
    else
      ok
    fi
  done
  kill "$flip_pid" 2>/dev/null
  wait "$flip_pid" 2>/dev/null
  flip_pid=
else
  skip "python3 is needed for the rename race"
fi

section "control and bidirectional characters (item 15)"
# in a routine: refused at its line (the corpus tests/bad/*.ini has more)
printf '[routine]\ntitle = Red \xc2\x9b31m title\n[say a]\ntext = a\xe2\x80\xaeb\n[say b]\ntext = nel\xc2\x85here\n[say c]\ntext = sit\rstand\n' \
  >"$tmp/ctl.ini"
expect 1 "$C" check "$tmp/ctl.ini"
has "$err" "$tmp/ctl.ini:2: control character U+009B at column 13"
has "$err" "$tmp/ctl.ini:4: bidirectional control character U+202E at column 9"
has "$err" "$tmp/ctl.ini:6: control character U+0085 at column 11"
has "$err" "$tmp/ctl.ini:8: control character 0x0d at column 11"
raw_free "$tmp/err" "check's messages"
# in a voice profile: refused at its line
sed 's/^intro = /intro = \xe2\x81\xa6/' "$src/voices/en-us.ini" >"$tmp/vbidi.ini"
line=$(grep -n '^intro = ' "$tmp/vbidi.ini" | cut -d: -f1)
expect 1 "$C" check --voice "$tmp/vbidi.ini" "$data/routines/short.ini"
has "$err" "$tmp/vbidi.ini:$line: bidirectional control character U+2066 at column 9"

# in a history file (an old coach's, or edited): printed replaced
printf '2026-01-02T10:00:00\tevil\tOSC \x1b]0;pwned\x07 CSI \xc2\x9b2J RLO \xe2\x80\xaeevil\x0dX\t3\t3\t600\tcompleted\t0\n' \
  >"$COACH_HISTORY_FILE"
expect 0 "$C" history
has "$out" "2026-01-02 10:00: OSC ?]0;pwned? CSI ?2J RLO ?evil?X (evil), completed, 3 of 3 exercises"
raw_free "$tmp/out" "history"

# in file names: printed replaced (list, check, warnings)
evil=$'evil\e[2J\xe2\x80\xae'
printf '[routine]\ntitle = Named\n[say hi]\ntext = Hi.\n' >"$data/routines/$evil.ini"
ln -s /nonexistent "$data/routines/$evil-gone.ini"
expect 0 "$C" list
has "$out" "evil?[2J?: Named, 0 exercises"
raw_free "$tmp/out" "list"
raw_free "$tmp/err" "list's warnings"
expect 0 "$C" check "$data/routines/$evil.ini"
raw_free "$tmp/out" "check"
expect 3 "$C" check "$tmp/$evil.ini"
raw_free "$tmp/err" "check of a missing file"

echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
