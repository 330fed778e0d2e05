#!/usr/bin/env bash
# Attacks through voice profiles, and interrupts while a plan is made
# (issue 10, items 1, 5, 6 and part of 15). Profiles and routines are put in
# a private data directory (COACH_DATA_DIR) or given by path (--voice):
# - an 'espeak' value that is a path or an overlong variant (espeak-ng read
#   /etc/passwd then crashed, spun on /dev/zero, overflowed a buffer): the
#   profile's line, exit 1;
# - a template that repeats {title} 140 times (a 74-minute intro): the
#   profile's line, exit 1, at once;
# - every shipped routine with every shipped voice still checks;
# - SIGINT / SIGTERM to check, plan and export of a big routine: 130 / 143
#   within 2 s, no file written;
# - out of descriptors or of memory for a thread: the message names it
#   (not "no voice"), and espeak-ng does not abort.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/attack_voice.$$
rm -rf "$tmp"
mkdir -p "$tmp/data/voices" "$tmp/data/routines" "$tmp/out" "$tmp/home"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
bg_pid=
cleanup() {
  [ -n "$bg_pid" ] && kill -KILL "$bg_pid" 2>/dev/null
  [ "${fail:-1}" -eq 0 ] && rm -rf "$tmp"
}
trap cleanup EXIT

cd "$src"
export HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE="$tmp/home/history.tsv"
unset ESPEAK_DATA_PATH

expect_out=$tmp/stdout expect_err=$tmp/stderr
. "$src/tests/tools/checks.sh"

# profile NAME KEY VALUE: voices/en-us.ini with KEY's line replaced, as
# $tmp/data/voices/NAME.ini; prints the line number of KEY
profile() {
  local f=$tmp/data/voices/$1.ini
  awk -v k="$2" -v v="$3" 'index($0, k " = ") == 1 { print k " = " v; next } { print }' \
    voices/en-us.ini >"$f"
  grep -n "^$2 = " "$f" | cut -d: -f1
}

section "1: the espeak value is a voice name, nothing else"
long_variant="en+$(printf 'a%.0s' $(seq 40))"
for value in "$long_variant" ../../../../../../etc/passwd ../../../../../../../dev/zero \
  /usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v/m1 "en-us+f3+f4"; do
  line=$(profile bad espeak "$value")
  expect 1 "$coach" check --voice "$tmp/data/voices/bad.ini" routines/breathing.ini
  has "$err" "$tmp/data/voices/bad.ini:$line: espeak voice '"
  has "$err" "is not a voice name"
  lacks "$err$out" "root:" # /etc/passwd printed
  lacks "$err" "missing 'espeak'"
done
# a variant of the right shape still works
profile variant espeak en-us+f3 >/dev/null
expect 0 "$coach" check -q --voice "$tmp/data/voices/variant.ini" routines/breathing.ini

section "5: a template cannot amplify a routine's text without bound"
line=$(profile amp intro "$(printf '{title}%.0s' $(seq 140))")
title=$(printf 'word %.0s' $(seq 99))end
printf '[routine]\ntitle = %s\nvoice = amp\n\n[say a]\ntext = Hello.\n' "$title" \
  >"$tmp/data/routines/amp.ini"
start=$(date +%s%N)
COACH_DATA_DIR=$tmp/data expect 1 "$coach" check amp
ms=$((($(date +%s%N) - start) / 1000000))
has "$err" "$tmp/data/voices/amp.ini:$line: phrase 'intro' can grow to 70000 bytes"
lacks "$err" "routines/amp.ini"
if [ "$ms" -lt 5000 ]; then ok; else bad "the amplifying profile took $ms ms to refuse"; fi
# export and play refuse it the same way, and write nothing
COACH_DATA_DIR=$tmp/data expect 1 "$coach" export amp -o "$tmp/out/amp.flac"
has "$err" "amp.ini:$line: phrase 'intro'"
if [ -z "$(ls -A "$tmp/out")" ]; then ok; else bad "export left: $(ls -A "$tmp/out")"; fi
# three titles are within the cap, and speak
profile three intro "{title}, {title}, {title}." >/dev/null
printf '[routine]\ntitle = %s\nvoice = three\n\n[say a]\ntext = Hello.\n' "$title" \
  >"$tmp/data/routines/three.ini"
COACH_DATA_DIR=$tmp/data expect 0 "$coach" check -q three

section "5: every shipped routine with every shipped voice"
# flite's profiles (about 10x slower to synthesize) with one routine; the
# MBROLA ones where mbrola is installed, else refused with the packages named
for v in voices/*.ini; do
  if grep -q '^engine *= *flite' "$v"; then
    expect 0 "$coach" check -q --voice "$v" routines/breathing.ini
  elif grep -q '^voice *= *mb-' "$v" && ! command -v mbrola >/dev/null; then
    expect 5 "$coach" check -q --voice "$v" routines/breathing.ini
    has "$(cat "$expect_err")" "needs the packages mbrola and mbrola-"
  else
    expect 0 "$coach" check -q --voice "$v" routines/*.ini
  fi
done

section "6: Ctrl-C and SIGTERM while a big routine is planned"
# 200 exercises of 10 setup lines of ~480 bytes each (about 900 KB): a
# minute and more of synthesis
awk 'BEGIN {
  srand(7); split("stretch reach gently breathe slowly lower back spine shoulders relax lift hold knees hips arms legs floor chest belly calm steady", w, " ")
  print "[routine]\ntitle = Big\nvoice = en-us\nrest = 5\n"
  for (i = 0; i < 200; i++) {
    print "[exercise s" i "]\nname = Step " i
    for (k = 0; k < 10; k++) {
      t = ""; while (length(t) < 470) t = t w[int(rand() * 21) + 1] " "
      print "setup = " t "end."
    }
    print "hold = 10\n"
  }
}' >"$tmp/data/routines/big.ini"
# interrupt SIG STATUS CMD...: CMD gets SIG after 1 s and must end with
# STATUS within 2 s, having written nothing
interrupt() {
  local sig=$1 want=$2
  shift 2
  "$@" >"$tmp/stdout" 2>"$tmp/stderr" </dev/null &
  bg_pid=$!
  sleep 1
  if ! kill -0 "$bg_pid" 2>/dev/null; then
    bad "$* ended before the signal: $(cat "$tmp/stderr")"
    wait "$bg_pid"
    bg_pid=
    return
  fi
  kill -"$sig" "$bg_pid"
  local waited=0
  while kill -0 "$bg_pid" 2>/dev/null && [ $waited -lt 20 ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  if kill -0 "$bg_pid" 2>/dev/null; then
    bad "$* still running 2 s after SIG$sig"
    kill -KILL "$bg_pid"
  fi
  wait "$bg_pid"
  local got=$?
  bg_pid=
  if [ "$got" = "$want" ]; then ok; else bad "$* after SIG$sig exited $got, wanted $want"; fi
  lacks "$(cat "$tmp/stdout")" "ok,"
  # said, never a silent stop (a status alone looks like a kill)
  local word=interrupted
  [ "$sig" = TERM ] && word=terminated
  has "$(cat "$tmp/stderr")" "$word"
  if [ -z "$(ls -A "$tmp/out")" ]; then ok; else bad "SIG$sig left: $(ls -A "$tmp/out")"; fi
  echo "  SIG$sig: $got after $((waited * 100)) ms or less"
}
export COACH_DATA_DIR=$tmp/data
for sig in INT TERM; do
  want=130
  [ $sig = TERM ] && want=143
  interrupt $sig $want "$coach" check big
  interrupt $sig $want "$coach" plan big
  interrupt $sig $want "$coach" export big -o "$tmp/out/big.flac"
done
unset COACH_DATA_DIR

section "15: out of descriptors or memory is said, not blamed on the voice"
# the smallest limit at which coach starts at all (the dynamic loader needs
# some) up to one that is enough: each either works or names EMFILE
named=0
for n in 4 5 6 7 8 9 10; do
  # not even started (the libraries, a sanitizer's runtime): a smaller
  # limit than this test is about
  (ulimit -n $n && exec "$coach" version) >/dev/null 2>&1 </dev/null || continue
  (ulimit -n $n && exec "$coach" check routines/breathing.ini) >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
  got=$?
  err=$(cat "$tmp/stderr")
  lacks "$err" "has no voice"
  case $got:$err in
    0:*) break ;;
    5:*"Too many open files"*) named=1; ok ;;
    *) bad "ulimit -n $n: exit $got: $err" ;;
  esac
done
echo "  ulimit -n: EMFILE named: $named"
if [ $named = 1 ]; then ok; else skip "no descriptor limit made espeak-ng fail here"; fi
# a thread's stack (ulimit -s) larger than the address space allowed: the
# thread espeak-ng starts cannot be made (it used to abort, status 134)
if ! (ulimit -v 2000000 && exec "$coach" version) >/dev/null 2>&1 </dev/null; then
  skip "coach cannot start within 2 GB of address space (a sanitizer build)"
else
  (ulimit -s 4000000 && ulimit -v 2000000 && exec "$coach" check routines/breathing.ini) \
    >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
  got=$?
  err=$(cat "$tmp/stderr")
  echo "  ulimit -s/-v: $got: $err"
  if [ $got = 5 ]; then ok; else bad "no thread possible: exit $got, wanted 5: $err"; fi
  has "$err" "Cannot allocate memory"
  lacks "$err" "has no voice"
fi

# An address-space limit reached somewhere in the middle of a session (in
# espeak-ng, in the resampler, in the encoder): every limit either gives
# the same result as no limit at all or a non-zero status that names
# memory, never a crash (an export once died of SIGSEGV inside libsoxr at
# 40 MB) and never a wrong result reported as success (check once said
# "ok" with a length too short at 31.7 MB).
if ! (ulimit -v 2000000 && exec "$coach" version) >/dev/null 2>&1 </dev/null; then
  skip "memory sweep: coach cannot start within 2 GB of address space (a sanitizer build)"
else
  "$coach" check routines/warm-up.ini >"$tmp/check.want" 2>&1
  "$coach" export routines/warm-up.ini -o "$tmp/want.wav" -q
  worked=0 refused=0
  # The sweep starts from the address space coach needs merely to load its
  # libraries (22 MB once, 36 MB since pocketsphinx and libpulse), so it
  # probes the same stages of a session whatever the libraries take.
  lo=5000 hi=2000000
  while [ $((hi - lo)) -gt 100 ]; do
    mid=$(((lo + hi) / 2))
    if (ulimit -v $mid && exec "$coach" version) >/dev/null 2>&1 </dev/null; then hi=$mid; else lo=$mid; fi
  done
  floor=$hi
  echo "  memory sweep: coach loads in $floor KB of address space"
  for v in $(seq $((floor + 3700)) 1500 $((floor + 40000))); do
    (ulimit -v $v && exec "$coach" check routines/warm-up.ini) >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
    got=$?
    if [ $got = 0 ]; then
      if cmp -s "$tmp/stdout" "$tmp/check.want"; then ok; worked=$((worked + 1))
      else bad "check under ulimit -v $v: ok but not what it says without a limit: $(cat "$tmp/stdout")"; fi
    elif [ $got -lt 128 ] && grep -qiE "memory|Cannot allocate" "$tmp/stderr"; then ok; refused=$((refused + 1))
    else bad "check under ulimit -v $v: exit $got: $(head -c 300 "$tmp/stderr")"; fi
    rm -f "$tmp/out/m.wav"
    (ulimit -v $v && exec "$coach" export routines/warm-up.ini -o "$tmp/out/m.wav" -q) \
      >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
    got=$?
    if [ $got = 0 ]; then
      if cmp -s "$tmp/out/m.wav" "$tmp/want.wav"; then ok; worked=$((worked + 1))
      else bad "export under ulimit -v $v: exit 0 but a different file"; fi
    elif [ $got -lt 128 ] && grep -qiE "memory|Cannot allocate" "$tmp/stderr" \
      && [ -z "$(ls -A "$tmp/out" | grep 'm\.wav')" ]; then ok; refused=$((refused + 1))
    else bad "export under ulimit -v $v: exit $got (files: $(ls -A "$tmp/out" | tr '\n' ' ')): $(head -c 300 "$tmp/stderr")"; fi
  done
  # finely where espeak-ng itself runs short (at 31.75 MB, 9.4 MB over the
  # floor, it once said nothing and made no sound: every phrase silent, "ok" and a wrong length)
  for v in $(seq $((floor + 8200)) 50 $((floor + 10700))); do
    (ulimit -v $v && exec "$coach" check routines/warm-up.ini) >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
    got=$?
    if [ $got = 0 ]; then
      if cmp -s "$tmp/stdout" "$tmp/check.want"; then ok; worked=$((worked + 1))
      else bad "check under ulimit -v $v: ok but not what it says without a limit: $(cat "$tmp/stdout")"; fi
    elif [ $got -lt 128 ] && grep -qiE "memory|Cannot allocate" "$tmp/stderr"; then ok; refused=$((refused + 1))
    else bad "check under ulimit -v $v: exit $got: $(head -c 300 "$tmp/stderr")"; fi
  done
  echo "  memory sweep: $worked worked, $refused refused with a memory message"
fi

echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ] || echo "kept $tmp for a look" >&2
[ "$fail" -eq 0 ]
