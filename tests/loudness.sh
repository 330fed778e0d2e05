#!/usr/bin/env bash
# Loudness of exports (issue 13): every shipped routine exported as WAV at
# the default --loudness podcast measures -19 LUFS integrated in a mono
# file (+-0.5 LU) with a true peak <= -1 dBTP (libebur128, through
# tests/tools/coach-loudness); in stereo -16 LUFS; --loudness broadcast
# -23 LUFS in stereo (-26 mono); --loudness off leaves the programme gain
# at 1 (phrases at -21 LUFS: about -21.8 integrated) and still never passes
# -1 dBTP; a bad --loudness is a usage error (exit 2). The limiter's worst
# case and the phrase spread are unit tests (test_loudness).
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/loudness.$$
meter=${COACH_LOUDNESS:-$(dirname "$coach")/tests/tools/coach-loudness}
rm -rf "$tmp"
mkdir -p "$tmp"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
[ -x "$meter" ] || { echo "FAIL: $meter is not built" >&2; exit 1; }
cd "$src"
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
unset ESPEAK_DATA_PATH
. "$src/tests/tools/checks.sh"

# level FILE WANT_LUFS: integrated within +-0.5 LU of WANT, true peak <= -1 dBTP
level() {
  local line i tp
  line=$("$meter" "$1") || { bad "cannot measure $1"; return; }
  i=${line#*I=}; i=${i%%$'\t'*}
  tp=${line#*TP=}; tp=${tp%%$'\t'*}
  echo "  $(basename "$1"): I $i LUFS (want $2), true peak $tp dBTP"
  if python3 -c "import sys; sys.exit(0 if abs($i - ($2)) <= 0.5 else 1)"; then ok; else
    bad "$1: integrated $i LUFS, wanted $2 +-0.5"; fi
  if python3 -c "import sys; sys.exit(0 if $tp <= -1.0 else 1)"; then ok; else
    bad "$1: true peak $tp dBTP, over -1"; fi
}

section "every shipped routine, podcast (mono: -19 LUFS)"
for f in routines/*.ini; do
  n=$(basename "$f" .ini)
  expect 0 "$coach" export "$f" -o "$tmp/$n.wav" -q
  level "$tmp/$n.wav" -19
done

section "stereo podcast, broadcast, off"
expect 0 "$coach" export warm-up -c 2 -o "$tmp/st.wav" -q
level "$tmp/st.wav" -16
expect 0 "$coach" export warm-up -c 2 --loudness broadcast -o "$tmp/bc2.wav" -q
level "$tmp/bc2.wav" -23
expect 0 "$coach" export breathing --loudness broadcast -o "$tmp/bc1.wav" -q
level "$tmp/bc1.wav" -26
expect 0 "$coach" export core-strength --loudness off -o "$tmp/off.wav" -q
level "$tmp/off.wav" -21.8

section "a bad --loudness"
expect 2 "$coach" export warm-up --loudness loud -o "$tmp/x.wav"
has "$err" "unknown loudness 'loud' (use podcast, broadcast or off)"
[ ! -e "$tmp/x.wav" ] && ok || bad "x.wav written"

echo "loudness: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && rm -rf "$tmp"
[ "$fail" -eq 0 ]
