#!/usr/bin/env bash
# Attacks on export's output files (issue 10, items 8, 12 and 14):
# - an export killed with SIGKILL (or by the OOM killer) leaves hidden
#   temporary files; the next export to the same files removes them, but
#   never those of an export that is still running (a stopped one), and
#   never a file of another name;
# - two exports to the same files at once: the second is refused with
#   status 8 while the first writes, so the audio, its captions and its
#   chapters always come from one routine;
# - output names of 248-255 bytes (the temporary name used to exceed
#   NAME_MAX), and a name too long to exist: a clear message, status 4.
# Each check counts; the last line says how many passed and failed.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/attack_export.$$
rm -rf "$tmp"
mkdir -p "$tmp"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
bg_pids=()
cleanup() {
  local p
  for p in "${bg_pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  [ "${fail:-1}" -eq 0 ] && rm -rf "$tmp"
}
trap cleanup EXIT

cd "$src"
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE="$tmp/home/history.tsv"
unset ESPEAK_DATA_PATH
mkdir -p "$tmp/home"

. "$src/tests/tools/checks.sh"
# listing DIR: its entries, hidden ones too, sorted, on one line
listing() { ls -A "$1" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'; }
# is DIR WANT WHAT: DIR holds exactly the entries WANT (sorted, one line)
is() {
  local got
  got=$(listing "$1")
  [ "$got" = "$2" ] && ok || bad "$3: $1 holds '$got', wanted '$2'"
}
# start NAME ARGS...: an export in the background, its pid in $bg (coach's
# own, for signals: no timeout in between; cleanup kills what is left)
start() {
  local name=$1
  shift
  "$coach" export "$@" -q >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
  bg=$!
  bg_pids+=("$bg")
}
# wait_for DIR PATTERN: until an entry of DIR other than a lock file matches
# the grep PATTERN (at most 30 s)
wait_for() {
  local i
  for i in $(seq 600); do
    ls -A "$1" | grep -v -- '-lock$' | grep -q -- "$2" && return 0
    sleep 0.05
  done
  return 1
}
# hidden DIR: its hidden entries (temporary files, locks), one line
hidden() { ls -A "$1" | grep '^\.' | tr '\n' ' '; }

long=$src/routines/lower-back-relief.ini
short=$tmp/short.ini
printf '[routine]\ntitle = Short\n[say hello]\ntext = Hello there.\n' >"$short"

# ---- item 8: temporary files orphaned by SIGKILL ---------------------------
section "SIGKILL mid-export, then an export to the same files"
# killed DIR BASE: kills an export of the long routine to DIR/BASE.flac (with
# captions and chapters) once its audio is being written
killed() {
  local d=$1 b=$2
  start "kill-$b" "$long" -o "$d/$b.flac" --captions "$d/$b.vtt" --chapters "$d/$b.json"
  local pid=$bg
  # its audio's temporary file: ".BASE.flac." and more
  wait_for "$d" "^\.${b:0:40}.*\.flac\." || bad "no temporary file for $d/$b.flac appeared"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null
  [ -n "$(hidden "$d")" ] && ok || bad "SIGKILL left nothing to clean (test setup)"
  echo "  left by SIGKILL: $(hidden "$d" | cut -c1-200)"
}
d=$tmp/kill
mkdir -p "$d"
killed "$d" a
# a file of the user's that looks like ours stays
echo keep >"$d/.a.flac.backup"
expect 0 "$coach" export "$short" -o "$d/a.flac" --captions "$d/a.vtt" --chapters "$d/a.json"
is "$d" ".a.flac.backup a.flac a.json a.vtt" "an export after a SIGKILL"
# the stale files of another target stay: only this target's are cleaned
killed "$d" b
stale_b=$(hidden "$d")
expect 0 "$coach" export "$short" -o "$d/a.flac" --captions "$d/a.vtt" --chapters "$d/a.json"
[ "$(hidden "$d")" = "$stale_b" ] && ok ||
  bad "an export to a.flac touched b's files: '$stale_b' became '$(hidden "$d")'"
expect 0 "$coach" export "$short" -o "$d/b.flac" --captions "$d/b.vtt" --chapters "$d/b.json"
is "$d" ".a.flac.backup a.flac a.json a.vtt b.flac b.json b.vtt" "b cleaned by its own export"

# ---- a live writer (stopped) keeps its files; the second export is refused -
section "an export that is still running (stopped) keeps its files"
d=$tmp/live
mkdir -p "$d"
start live "$long" -o "$d/c.wav" --captions "$d/c.vtt" --chapters "$d/c.json"
live=$bg
wait_for "$d" '^\.c\.wav\.' || bad "no temporary file for c.wav appeared"
kill -STOP "$live"
before=$(hidden "$d")
expect 8 "$coach" export "$short" -o "$d/c.wav" --captions "$d/c.vtt"
has "$err" "coach: $d/c.wav: another coach is writing this file"
[ "$(hidden "$d")" = "$before" ] && ok ||
  bad "a stopped export's files changed: '$before' became '$(hidden "$d")'"
# refused for a sidecar alone, too: any file of the set
expect 8 "$coach" export "$short" -o "$d/other.wav" --chapters "$d/c.json"
has "$err" "coach: $d/c.json: another coach is writing this file"
[ ! -e "$d/other.wav" ] && ok || bad "other.wav written although its chapters were busy"
kill -CONT "$live"
wait "$live"
st=$?
[ "$st" = 0 ] && ok || bad "the stopped export, continued, exited $st: $(cat "$tmp/live.err")"
is "$d" "c.json c.vtt c.wav" "the continued export"

# ---- item 12: two exports to the same files at once -----------------------
alpha=$tmp/alpha.ini beta=$tmp/beta.ini
printf '[routine]\ntitle = Alpha routine\n[say one]\ntext = Alpha speaks first.\n[say two]\ntext = Alpha again.\n' >"$alpha"
printf '[routine]\ntitle = Beta routine\n[say one]\ntext = Beta speaks.\n' >"$beta"
# whose DIR: "audio captions chapters", each Alpha or Beta (or ?)
whose() {
  local f w
  for f in "$1/x.wav" "$1/x.vtt" "$1/x.json"; do
    w=$(grep -ao 'Alpha\|Beta' "$f" 2>/dev/null | sort -u | tr -d '\n')
    printf '%s ' "${w:-?}"
  done
}
section "two exports to the same files: the first stopped between its renames"
# Alpha stops right after its audio is renamed into place: its "Wrote
# x.wav" line goes, unbuffered, into a full pipe. Beta then exports to the
# same files; Alpha goes on when the pipe is read. Without a lock Beta's
# audio ends up with Alpha's captions and chapters, and both exit 0.
d=$tmp/race1
mkdir -p "$d"
if command -v stdbuf >/dev/null && command -v dd >/dev/null; then
  fifo=$tmp/fifo
  mkfifo "$fifo"
  exec 3<>"$fifo"
  # fill the pipe (whatever its size): non-blocking writes until it is full
  dd if=/dev/zero of="$fifo" bs=4096 count=1024 oflag=nonblock status=none 2>/dev/null
  dd if=/dev/zero of="$fifo" bs=1 count=8192 oflag=nonblock status=none 2>/dev/null
  # stdbuf preloads a library: an ASan build must be told that is fine
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    timeout 60 stdbuf -o0 "$coach" export "$alpha" -o "$d/x.wav" --captions "$d/x.vtt" \
      --chapters "$d/x.json" >&3 2>"$tmp/race1-a.err" </dev/null &
  pa=$!
  bg_pids+=("$pa")
  for i in $(seq 600); do [ -e "$d/x.wav" ] && break; sleep 0.05; done
  [ -e "$d/x.wav" ] && ok || bad "Alpha's audio did not appear"
  expect 8 "$coach" export "$beta" -o "$d/x.wav" --captions "$d/x.vtt" --chapters "$d/x.json"
  has "$err" "coach: $d/x.wav: another coach is writing this file now"
  has "$err" "no file was changed"
  timeout 20 cat <&3 >/dev/null &
  reader=$!
  wait "$pa"
  sa=$?
  kill "$reader" 2>/dev/null
  wait "$reader" 2>/dev/null
  exec 3>&-
  [ "$sa" = 0 ] && ok || bad "Alpha exited $sa: $(cat "$tmp/race1-a.err")"
  got=$(whose "$d")
  [ "$got" = "Alpha Alpha Alpha " ] && ok || bad "audio, captions, chapters from: $got"
  is "$d" "x.json x.vtt x.wav" "after the stopped export"
else
  echo "SKIP: no stdbuf or dd"
fi

section "two exports to the same files at once (20 rounds)"
d=$tmp/race
mkdir -p "$d"
# Alpha at 44.1 kHz, Beta at 48 kHz: the WAV header says whose audio it is
mixed=0 refused=0 bad_status=0
for round in $(seq 20); do
  rm -f "$d"/*
  timeout 60 "$coach" export "$alpha" -r 44100 -o "$d/x.wav" --captions "$d/x.vtt" \
    --chapters "$d/x.json" -q 2>"$tmp/race-a.err" </dev/null &
  pa=$!
  timeout 60 "$coach" export "$beta" -r 48000 -o "$d/x.wav" --captions "$d/x.vtt" \
    --chapters "$d/x.json" -q 2>"$tmp/race-b.err" </dev/null &
  pb=$!
  wait "$pa"
  sa=$?
  wait "$pb"
  sb=$?
  for s in $sa $sb; do
    case $s in
    0) ;;
    8) refused=$((refused + 1)) ;;
    *) bad_status=$((bad_status + 1)) ;;
    esac
  done
  [ "$sa" = 0 ] || [ "$sb" = 0 ] || bad_status=$((bad_status + 1))
  for s in a b; do
    e=$(cat "$tmp/race-$s.err")
    [ -z "$e" ] || case $e in *"another coach is writing this file"*) ;; *) bad "round $round: $s said: $e" ;; esac
  done
  # the audio's title tag and its rate both say whose it is
  rate=$(od -An -tu4 -j24 -N4 "$d/x.wav" 2>/dev/null | tr -d ' ')
  got=$(whose "$d")
  case "$rate $got" in
  "44100 Alpha Alpha Alpha " | "48000 Beta Beta Beta ") ;;
  *)
    mixed=$((mixed + 1))
    echo "  round $round: audio at ${rate:-?} Hz; audio, captions, chapters from: $got"
    ;;
  esac
  [ -z "$(hidden "$d")" ] || { mixed=$((mixed + 1)); echo "  round $round left $(hidden "$d")"; }
done
echo "  20 rounds: $mixed mixed, $refused refused (status 8), $bad_status other statuses"
[ "$mixed" = 0 ] && ok || bad "$mixed of 20 rounds left audio, captions and chapters of different routines (or stray files)"
[ "$bad_status" = 0 ] && ok || bad "$bad_status statuses other than 0 and 8 (or both refused)"

# ---- item 14: names of 248-255 bytes --------------------------------------
section "output names of 248-255 bytes"
d=$tmp/names
mkdir -p "$d"
# name LEN EXT: a name of LEN bytes ending in EXT
name() { printf '%*s%s' $(($1 - ${#2})) '' "$2" | tr ' ' n; }
for n in 248 251 255; do
  expect 0 "$coach" export "$short" -o "$d/$(name $n .wav)" --captions "$d/$(name $n .vtt)" \
    --chapters "$d/$(name $n .json)"
  [ -s "$d/$(name $n .wav)" ] && [ -s "$d/$(name $n .vtt)" ] && [ -s "$d/$(name $n .json)" ] &&
    ok || bad "a $n-byte name: the files are not there"
done
[ -z "$(hidden "$d")" ] && ok || bad "long names left $(hidden "$d" | cut -c1-300)"
# multibyte UTF-8 characters (2 bytes each) up to 255 bytes
u=$(printf '%.0sé' $(seq 125))x.wav # 250 + 5 bytes
expect 0 "$coach" export "$short" -o "$d/$u"
[ -s "$d/$u" ] && ok || bad "a 255-byte UTF-8 name was not written"
# a name that cannot exist: clear message, status 4, nothing written
n256=$(name 256 .wav)
expect 4 "$coach" export "$short" -o "$d/$n256"
has "$err" "the file name is too long"; has "$err" "at most 255 bytes"
expect 4 "$coach" export "$short" -o "$d/a.wav" --captions "$d/$(name 300 .vtt)"
has "$err" "the file name is too long"
[ ! -e "$d/a.wav" ] && ok || bad "a.wav written although its captions' name cannot exist"
# SIGKILL with a 255-byte name: the next export cleans up after it too
d=$tmp/names-kill
mkdir -p "$d"
n255=$(name 255 .flac)
start kill-long "$long" -o "$d/$n255"
wait_for "$d" '^\.nnnn' || bad "no temporary file for a 255-byte name appeared"
kill -KILL "$bg"
wait "$bg" 2>/dev/null
[ -n "$(hidden "$d")" ] && ok || bad "SIGKILL left nothing to clean (255-byte name)"
expect 0 "$coach" export "$short" -o "$d/$n255"
is "$d" "$n255" "an export to a 255-byte name after a SIGKILL"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || echo "kept $tmp for a look" >&2
[ "$fail" -eq 0 ]
