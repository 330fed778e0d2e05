#!/usr/bin/env bash
# `coach export --all` of every routine to FLAC (issue 14), run by hand:
#   bash bench/export_all_bench.sh [RUNS] [FORMAT]
#   BASE=/path/to/old/build/coach bash bench/export_all_bench.sh [RUNS] [FORMAT]
# Median wall seconds of RUNS (default 3) whole-process runs of
#   cold  XDG_CACHE_HOME a fresh empty directory before every run
#   warm  XDG_CACHE_HOME filled by one untimed export --all before, every
#         file written all the same (--rewrite, where the build has it)
#   kept  the same export --all again, nothing changed: each file is up to
#         date and kept (uptodate.h), this build only
# (without a phrase cache in coach, warm = cold). With BASE, each row runs
# this build and BASE in turn (A B A B ...) and adds BASE's median and the
# median of the pairwise ratios this/BASE, then this build's warm CPU
# seconds (every process; on N cores no run is shorter than CPU ÷ N, so
# BASE's warm ÷ that is the most "warm" could gain). Only the shipped routines: the
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

# $1 binary, $2 cache dir (its files go to $2.out: each build's own, so
# one never replaces what the other kept), then options
export_all() { local b=$1 c=$2; shift 2; XDG_CACHE_HOME=$c "$b" export --all "$c.out" --format "$fmt" "$@"; }
fresh() { rm -rf "$work"/cold*; mkdir "$work/cold" "$work/cold.base"; }
cold() { export_all "$coach" "$work/cold"; }
cold_base() { export_all "$base" "$work/cold.base"; }
mapfile -t rw < <(rewrite_of "$coach")
rw_base=()
[ -z "$base" ] || mapfile -t rw_base < <(rewrite_of "$base")
warm() { export_all "$coach" "$work/warm" "${rw[@]}"; }
warm_base() { export_all "$base" "$work/warm.base" "${rw_base[@]}"; }
kept() { export_all "$coach" "$work/warm"; }

mkdir -p "$work/warm" "$work/warm.base"
export_all "$coach" "$work/warm" >/dev/null
[ -z "$base" ] || export_all "$base" "$work/warm.base" >/dev/null
n=$(find "$work/warm.out" -name "*.$fmt" | grep -c .)
audio_s=$(soxi -D "$work/warm.out"/*."$fmt" 2>/dev/null | awk '{s += $1} END {printf "%.1f", s}')
echo "export --all: $n routines, $audio_s s of audio, $fmt, $(nproc) processors, median of $runs runs"
if [ -z "$base" ]; then
  c=$(prep=fresh median_of cold)
  w=$(median_of warm)
  export_all "$coach" "$work/warm" >/dev/null # every file recorded by this build
  k=$(median_of kept)
  awk -v c="$c" -v w="$w" -v k="$k" -v a="$audio_s" 'BEGIN {
    printf "cold %.2f s (%.0f× real time), warm %.2f s (%.0f× real time), cold ÷ warm %.2f×\n", c, a/c, w, a/w, c/w
    printf "kept (nothing changed) %.2f s (%.0f× real time)\n", k, a/k }'
else
  read -r c cb cr < <(prep=fresh paired_of cold -- cold_base)
  read -r w wb wr < <(paired_of warm -- warm_base)
  read -r k kb kr < <(paired_of kept -- warm_base)
  printf '%-5s %9s %9s %13s\n' "" this_s base_s this/base
  printf '%-5s %9.2f %9.2f %13.2f\n' cold "$c" "$cb" "$cr" warm "$w" "$wb" "$wr" kept "$k" "$kb" "$kr"
  awk -v c="$c" -v w="$w" 'BEGIN {printf "this build: cold ÷ warm %.2f×\n", c/w}'
  # on 2 cores no export takes less wall time than its CPU ÷ 2
  cw=$(cpu_of warm)
  awk -v cw="$cw" -v wb="$wb" -v n="$(nproc)" 'BEGIN {
    printf "this build, warm: CPU %.2f s (every process), ÷ %d cores %.2f s: at most %.2f× faster than BASE\n", cw, n, cw/n, wb/(cw/n) }'
fi
