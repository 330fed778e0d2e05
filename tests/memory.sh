#!/usr/bin/env bash
# Memory flat in the routine's length (issue 14): `coach export` of a
# generated routine whose every step says something new (bench/gen_routine.sh)
# peaks at most 20 MB (GNU time's maximum resident set) for 5 minutes of
# audio and 25 MB for an hour, to WAV and to FLAC (encoded on every core,
# src/flacpar.c: a chunk in flight per worker). Before the clip sources went to the spill
# store and the flite voices were dlopen'd: 25 MB and 55 MB. MP3 is
# encoded on every core in segments (mp3par.c: a ring of workers + 3
# segment buffers of ~0.5 MB and one LAME per worker): 2.5 MB more than WAV
# with 2 workers, 4.5 MB with 4 (measured 19 / 21 MB for 5 minutes), the
# same for 5 minutes as for 60, so 4 MB more in its bounds. Memory, not
# timing: the bounds hold on a busy machine. Opus is encoded the same way
# (opuspar.c: segments of 2 s), in the same bounds. Every shipped routine,
# too, to FLAC, MP3 and Opus, peaks at most 20 MB.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/memory.$$
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
[ -x /usr/bin/time ] || { echo "SKIP: no GNU time (apt-get install time)"; exit 77; }
# A sanitizer build's runtime alone (shadow memory, quarantine) is over
# 100 MB: the bounds are for the real program.
if grep -qa -e __asan_init -e __tsan_init -e __msan_init "$coach"; then
  echo "SKIP: a sanitizer build (peak RSS is the sanitizer's)"
  exit 77
fi
rm -rf "$tmp"; mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE="$tmp/home/history.tsv"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

for case in "5 20 wav" "60 25 wav" "5 20 flac" "60 25 flac" "5 24 mp3" "60 29 mp3" "5 24 opus" "60 29 opus"; do
  set -- $case
  minutes=$1 limit_mb=$2 fmt=$3
  [ -f "$tmp/r$minutes.ini" ] || bash "$src/bench/gen_routine.sh" "$minutes" >"$tmp/r$minutes.ini"
  if ! timeout 180 /usr/bin/time -f %M -o "$tmp/rss" "$coach" export "$tmp/r$minutes.ini" \
      -o "$tmp/r$minutes.$fmt" -q; then
    bad "export of the $minutes-minute routine to $fmt failed"
    continue
  fi
  rss_kb=$(tail -n 1 "$tmp/rss")
  if [ "$rss_kb" -le $((limit_mb * 1024)) ]; then
    ok "$minutes minutes, $fmt: peak RSS $((rss_kb / 1024)) MB <= $limit_mb MB"
  else
    bad "$minutes minutes, $fmt: peak RSS $((rss_kb / 1024)) MB > $limit_mb MB"
  fi
  rm -f "$tmp/r$minutes.$fmt"
done
# Every shipped routine, to FLAC (cold: the phrase cache fills), then MP3
# and Opus (warm), peaks at most 20 MB. Before long clips were streamed
# (clipstore_prepare_streamed) a 25 s caution was held whole as float:
# lower-back-relief.es to MP3 peaked at 23.2 MB.
for r in "$src"/routines/*.ini; do
  name=$(basename "$r" .ini)
  for fmt in flac mp3 opus; do
    if ! timeout 180 /usr/bin/time -f %M -o "$tmp/rss" "$coach" export "$r" -o "$tmp/$name.$fmt" -q; then
      bad "export of $name to $fmt failed"
      continue
    fi
    rss_kb=$(tail -n 1 "$tmp/rss")
    if [ "$rss_kb" -le $((20 * 1024)) ]; then
      ok "$name, $fmt: peak RSS $((rss_kb / 1024)) MB <= 20 MB"
    else
      bad "$name, $fmt: peak RSS $((rss_kb / 1024)).$((rss_kb % 1024 * 10 / 1024)) MB > 20 MB"
    fi
    rm -f "$tmp/$name.$fmt"
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
