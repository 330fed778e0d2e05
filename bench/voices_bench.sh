#!/usr/bin/env bash
# Voices (issue 13): for each engine and voice, the synthesis speed (x real
# time), the first-phrase latency and the word error rate of an independent
# recognizer (pocketsphinx, generic US English model) on the shipped
# English routines' phrases; then the whole-process timings (bench/timing.sh, medians)
# where it is installed. Run by hand (not a test):
#
#   bash scripts/setup.sh --bench && bash scripts/build.sh
#   bash bench/voices_bench.sh [PHRASES]     # PHRASES: how many (default 150)
#
# The phrases: every distinct phrase `coach plan` says for the shipped
# English routines (lower-back-relief.de and .es left out), every k-th of
# them in sorted order so the sample is the same on every machine. Results
# in bench/out/voices/. mb-us1 is measured where mbrola and mbrola-us1 are
# installed (Debian contrib/non-free), else its line says so.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
coach=$build/coach
bench=$build/voices_bench
want=${1:-150}
out=$here/bench/out/voices
[ -x "$bench" ] && [ -x "$coach" ] || { echo "build first: $bench, $coach" >&2; exit 1; }
mkdir -p "$out"
export COACH_DATA_DIR=$here

all=$out/phrases-all.txt
: >"$all"
for r in "$here"/routines/*.ini; do
  name=$(basename "$r" .ini)
  case $name in *.*) continue ;; esac # not English
  "$coach" plan "$name" | sed -n 's/^ *[0-9:.]*  speech  "\(.*\)", [0-9.]* s$/\1/p' >>"$all"
done
sort -u "$all" -o "$all"
total=$(wc -l <"$all")
step=$(( total > want ? total / want : 1 ))
awk -v k="$step" -v n="$want" 'NR % k == 0 && c < n { print; c++ }' "$all" >"$out/phrases.txt"
echo "phrases: $(wc -l <"$out/phrases.txt") of $total distinct phrases of the English routines"

"$bench" "$out/phrases.txt" espeak-ng:en-us flite:slt flite:rms flite:awb flite:kal16 \
  espeak-ng:mb-us1 | tee "$out/voices.tsv"

# Whole process, from outside: a one-phrase export (start-up, opening the
# voice, the first phrase, writing) and the breathing routine's export.
work=$out
. "$here/bench/timing.sh"
printf '[routine]\ntitle = Latency\n\n[say one]\ntext = Lie on your back with your knees bent.\n' \
  >"$out/one.ini"
for v in en-us en-us-slt en-us-rms en-us-kal16; do
  runs=5
  t=$(median_of "$coach" export "$out/one.ini" --voice "$v" --format wav -o "$out/one-$v.wav" --no-cache)
  echo "one phrase, --voice $v: median wall $t s of $runs runs" | tee "$out/one-$v.txt"
  runs=3
  t=$(median_of "$coach" export breathing --voice "$v" --format wav -o "$out/breathing-$v.wav" --no-cache)
  echo "breathing (8 min 31 s), --voice $v: median wall $t s of $runs runs" | tee "$out/breathing-$v.txt"
done
