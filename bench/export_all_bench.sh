#!/usr/bin/env bash
# `coach export --all` of every routine to FLAC (issue 14), run by hand:
#   bash bench/export_all_bench.sh [RUNS] [FORMAT]
#   BASE=/path/to/old/build/coach bash bench/export_all_bench.sh [RUNS] [FORMAT]
# Median wall seconds of RUNS (default 3) whole-process runs of
#   cold  XDG_CACHE_HOME a fresh empty directory before every run
#   warm  XDG_CACHE_HOME filled by one untimed export --all before
# (without a phrase cache in coach, warm = cold). With BASE, each row runs
# this build and BASE in turn (A B A B ...) and adds BASE's median and the
# median of the pairwise ratios this/BASE. Only the shipped routines: the
# user's own (XDG_DATA_HOME) are hidden behind an empty directory.
# Env: COACH (default build/coach).
set -euo pipefail
cd "$(dirname "$0")/.."
coach=${COACH:-$PWD/build/coach}
base=${BASE:-}
runs=${1:-3}
fmt=${2:-flac}
[ -x "$coach" ] || { echo "build first: $coach" >&2; exit 1; }
[ -z "$base" ] || [ -x "$base" ] || { echo "BASE=$base: not an executable" >&2; exit 1; }
work=$(mktemp -d /tmp/coach-export-all-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
. bench/timing.sh
export XDG_DATA_HOME=$work/data HOME=$work/home COACH_HISTORY_FILE=$work/history.tsv
mkdir -p "$XDG_DATA_HOME" "$HOME"

# $1 binary, $2 cache dir
export_all() { XDG_CACHE_HOME=$2 "$1" export --all "$work/out" --format "$fmt"; }
fresh() { rm -rf "$work/cold" "$work/cold.base" "$work/out"; mkdir "$work/cold" "$work/cold.base"; }
cold() { export_all "$coach" "$work/cold"; }
cold_base() { export_all "$base" "$work/cold.base"; }
warm() { export_all "$coach" "$work/warm"; }
warm_base() { export_all "$base" "$work/warm.base"; }

mkdir -p "$work/warm" "$work/warm.base"
export_all "$coach" "$work/warm" >/dev/null
[ -z "$base" ] || export_all "$base" "$work/warm.base" >/dev/null
n=$(ls "$work/out" | grep -c "\.$fmt$")
audio_s=$(soxi -D "$work/out"/*."$fmt" 2>/dev/null | awk '{s += $1} END {printf "%.1f", s}')
echo "export --all: $n routines, $audio_s s of audio, $fmt, $(nproc) processors, median of $runs runs"
if [ -z "$base" ]; then
  c=$(prep=fresh median_of cold)
  w=$(median_of warm)
  awk -v c="$c" -v w="$w" -v a="$audio_s" 'BEGIN {
    printf "cold %.2f s (%.0f× real time), warm %.2f s (%.0f× real time), cold ÷ warm %.2f×\n", c, a/c, w, a/w, c/w }'
else
  read -r c cb cr < <(prep=fresh paired_of cold -- cold_base)
  read -r w wb wr < <(paired_of warm -- warm_base)
  printf '%-5s %9s %9s %13s\n' "" this_s base_s this/base
  printf '%-5s %9.2f %9.2f %13.2f\n' cold "$c" "$cb" "$cr" warm "$w" "$wb" "$wr"
  awk -v c="$c" -v w="$w" 'BEGIN {printf "this build: cold ÷ warm %.2f×\n", c/w}'
fi
