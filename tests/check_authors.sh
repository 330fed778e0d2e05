#!/usr/bin/env bash
# coach check as a routine's author meets it (issue 12, part 3): every
# timing problem of a file at once, each at a line; warnings that keep the
# status 0 unless --strict; units and Latin-1 files named; and one count,
# "N exercises", the same in list, check and plan (plurals right).
set -u
C=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/check_authors.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
cd "$src" || exit 1
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
# shellcheck source=tests/tools/checks.sh
. "$src/tests/tools/checks.sh"

section "every timing problem, each at the key to change"
# At 80 words a minute no repetition number fits a half-second phase and
# the hold's last counts run into each other: three steps, one message
# each (not one per repetition, not only the first).
cat >"$tmp/tight.ini" <<'EOF'
[routine]
title = Tight

[exercise fast]
name = Fast
reps = 12
tempo = 0.5, 0.5

[exercise fine]
name = Fine
hold = 10

[exercise faster]
name = Faster
reps = 15
tempo = 0.5, 1
EOF
expect 1 "$C" check --speech-rate 80 "$tmp/tight.ini"
n=$(grep -c 'does not fit' "$tmp/err")
[ "$n" = 3 ] && ok || bad "wanted 3 timing messages, got $n: $err"
has "$err" "$tmp/tight.ini:7: step 'fast': "
has "$err" "$tmp/tight.ini:11: step 'fine': "
has "$err" "it would run into the next counted second; choose a faster voice rate"
has "$err" "$tmp/tight.ini:16: step 'faster': "
has "$err" "it would run into the next phase of the tempo; make the first 'tempo' phase longer"
has "$err" "12 times, up to"
lacks "$out" ": ok"

section "warnings: status 0, --strict makes them errors"
printf '[routine]\ntitle = W\n[exercise a]\nname = A\ncue = Relax # gently\ntip = Slow down ; softly\nhold = 5 ; seconds\n' >"$tmp/warn.ini"
expect 0 "$C" check "$tmp/warn.ini"
has "$err" "$tmp/warn.ini:5: warning: '# gently' in 'cue' looks like a comment but is spoken"
has "$err" "$tmp/warn.ini:6: warning: '; softly' after 'tip' is a comment and is not spoken"
has "$out" "$tmp/warn.ini: ok, 1 exercise, "
has "$out" ", 2 warnings"
expect 1 "$C" check --strict "$tmp/warn.ini"
has "$err" "$tmp/warn.ini: 2 warnings, errors with --strict"
lacks "$out" ": ok"
# warnings are said where the routine is used, too
expect 0 "$C" plan "$tmp/warn.ini"
has "$err" "warning: '# gently'"
has "$out" "Relax # gently"
# a clean file is the same with --strict
expect 0 "$C" check --strict routines/lower-back-relief.ini
lacks "$err" "warning"

section "units: refused, with the number to write"
printf '[routine]\ntitle = U\nrest = 10 sec\n[exercise a]\nname = A\nhold = 5s\nreps = 8-12 reps\n[rest r]\nseconds = 1min\n' >"$tmp/units.ini"
expect 1 "$C" check "$tmp/units.ini"
has "$err" "$tmp/units.ini:3: bad value '10 sec' for 'rest': expected seconds like 30 or 1.5; write rest = 10 (seconds, without a unit)"
has "$err" "$tmp/units.ini:6: bad value '5s' for 'hold'"
has "$err" "write hold = 5 (seconds, without a unit)"
has "$err" "write reps = 8-12 (a bare number)"
has "$err" "write seconds = 60 (seconds, without a unit)"

section "a Latin-1 file: save it as UTF-8"
printf '[routine]\ntitle = Caf\xe9 workout\n[exercise a]\nname = A\nhold = 5\ncue = R\xfccken \x96 sanft\n' >"$tmp/latin1.ini"
expect 1 "$C" check "$tmp/latin1.ini"
has "$err" "$tmp/latin1.ini:2: not UTF-8: byte 0xe9 (é in Latin-1) at column 12; save the file as UTF-8"
has "$err" "$tmp/latin1.ini:6: not UTF-8: byte 0xfc (ü in Latin-1) at column 8; save the file as UTF-8"

section "one count: N exercises in list, check and plan"
expect 0 "$C" list
list_out=$out
for f in routines/*.ini; do
  name=$(basename "$f" .ini)
  expect 0 "$C" check "$f"
  c=$(sed -n 's/.*: ok, \([0-9]*\) exercises\{0,1\}, .*/\1/p' <<<"$out")
  l=$(sed -n "s/^$name: .*, \([0-9]*\) exercises\{0,1\} (.*/\1/p" <<<"$list_out")
  expect 0 "$C" plan "$f"
  p=$(head -n 1 <<<"$out" | sed -n 's/^[^:]*: \([0-9]*\) exercises\{0,1\}, .*/\1/p')
  expect 0 "$C" plan --json "$f"
  j=$(sed -n 's/^  "exercises": \([0-9]*\),$/\1/p' <<<"$out")
  if [ -n "$c" ] && [ "$c" = "$l" ] && [ "$c" = "$p" ] && [ "$c" = "$j" ]; then ok; else
    bad "$name: check '$c', list '$l', plan '$p', json '$j'"
  fi
done
# plurals: one exercise, and rests or spoken steps are not exercises
mkdir -p "$tmp/one/routines"
printf '[routine]\ntitle = Single\n[say hi]\ntext = Hello.\n[exercise a]\nname = A\nhold = 5\n[rest r]\nseconds = 5\n' >"$tmp/one/routines/single.ini"
expect 0 "$C" check "$tmp/one/routines/single.ini"
has "$out" ": ok, 1 exercise, "
lacks "$out" "steps"
expect 0 "$C" plan "$tmp/one/routines/single.ini"
has "$out" "Single: 1 exercise, "
expect 0 env COACH_DATA_DIR="$tmp/one" "$C" list
has "$out" "single: Single, 1 exercise ("

echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ]
