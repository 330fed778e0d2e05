#!/usr/bin/env bash
# Render + encode benchmark (issue 14): two coach builds side by side,
# whole-process wall times run in turn A B A B (bench/timing.sh: medians,
# the ratio taken pair by pair), per format, for one routine and for
# `export --all` of every routine. RUNS=N pairs (default 5; 3 for --all).
#   bash bench/encode_bench.sh BEFORE_COACH [AFTER_COACH] [FORMATS] [ROUTINE]
# BEFORE_COACH: a build of the old code (e.g. git worktree add /tmp/old
# <commit> && cmake -S /tmp/old -B /tmp/old/build && cmake --build
# /tmp/old/build); AFTER_COACH defaults to ./build/coach; FORMATS defaults
# to "wav flac mp3 opus"; ROUTINE to lower-back-relief. ALL=0 skips the
# every-routine runs (MP3 and Opus take about a minute a run).
# The ratio printed is AFTER / BEFORE: below 1 is faster. AFTER runs with
# a warm phrase cache of its own (NO_CACHE=1: --no-cache, cold).
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:?usage: bash bench/encode_bench.sh BEFORE_COACH [AFTER_COACH] [FORMATS] [ROUTINE]}
after=${2:-./build/coach}
formats=${3:-wav flac mp3 opus}
routine=${4:-lower-back-relief}
. bench/timing.sh
case $before in /*) ;; *) before=$PWD/$before ;; esac
case $after in /*) ;; *) after=$PWD/$after ;; esac
out=$(mktemp -d /tmp/encode_bench.XXXXXX)
work=$out
trap 'rm -rf "$out"' EXIT
# the new build's phrase cache: its own, filled by one untimed export of the
# routine (timed runs are warm); never the user's ~/.cache
export XDG_CACHE_HOME=$out/cache
nc=()
[ "${NO_CACHE:-0}" = 1 ] && nc=(--no-cache)
# both render and write every run, even where a file is up to date
mapfile -t rwa < <(rewrite_of "$after")
mapfile -t rwb < <(rewrite_of "$before")
export COACH_DATA_DIR=$PWD
echo "before: $before"
echo "after:  $after"
for fmt in $formats; do
  echo "== $routine, $fmt (A = after, B = before)"
  runs=${RUNS:-5}
  "$after" export "$routine" -q -o "$out/a.$fmt"
  read -r ta tb ratio < <(paired_of "$after" export "$routine" "${nc[@]}" "${rwa[@]}" -q -o "$out/a.$fmt" \
    -- "$before" export "$routine" "${rwb[@]}" -q -o "$out/b.$fmt")
  printf 'wall s: after %.3f, before %.3f, after/before %.3f (median of %d pairs)\n' \
    "$ta" "$tb" "$ratio" "$runs"
  # the same samples (Ogg and Opus streams differ in their random serial
  # number only; WAV, FLAC and MP3 are byte-identical)
  if [ "$fmt" = wav ] || [ "$fmt" = flac ] || [ "$fmt" = mp3 ]; then
    cmp -s "$out/a.$fmt" "$out/b.$fmt" && echo "output: byte-identical" || echo "output: DIFFERS"
  fi
done
[ "${ALL:-1}" = 0 ] && exit 0
for fmt in $formats; do
  echo "== export --all, $fmt (A = after, B = before)"
  mkdir -p "$out/a" "$out/b"
  runs=${RUNS:-3}
  read -r ta tb ratio < <(paired_of "$after" export --all "$out/a" "${nc[@]}" "${rwa[@]}" --format "$fmt" -q \
    -- "$before" export --all "$out/b" "${rwb[@]}" --format "$fmt" -q)
  printf 'wall s: after %.3f, before %.3f, after/before %.3f (median of %d pairs)\n' \
    "$ta" "$tb" "$ratio" "$runs"
  rm -rf "$out/a" "$out/b"
done
