#!/usr/bin/env bash
# Phrase cache benchmark (run by hand; figures in docs/PERFORMANCE.md).
#   bash bench/cache_bench.sh [ROUTINE] [RUNS]
# `coach export ROUTINE` to WAV and to FLAC three ways, RUNS times each
# (default 5), median wall and CPU seconds and peak RSS (GNU time):
#   cold      the cache emptied before every run (its phrases stored)
#   warm      every phrase in the cache (nothing synthesized), the file
#             written all the same (--rewrite)
#   kept      the same export again: its file is up to date and kept
#             (uptodate.h: the plan and a digest, no render)
#   no-cache  --no-cache (the export as before the cache)
# In a cache directory of its own (bench/out/xdg): the user's is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
routine=${1:-lower-back-relief}
runs=${2:-5}
coach=${COACH:-./build/coach}
out=bench/out
mkdir -p "$out"
[ -x "$coach" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: bash scripts/setup.sh --bench" >&2; exit 1; }
export XDG_CACHE_HOME=$PWD/$out/xdg
unset COACH_CACHE_MAX_MB
. bench/timing.sh

# one MODE FMT: prints the medians of RUNS runs
one() {
  local mode=$1 fmt=$2 i
  : >"$out/cache_times"
  for ((i = 0; i < runs; i++)); do
    [ "$mode" = cold ] && "$coach" cache clear >/dev/null
    local extra=()
    [ "$mode" = no-cache ] && extra=(--no-cache)
    [ "$mode" = warm ] && mapfile -t extra < <(rewrite_of "$coach")
    /usr/bin/time -a -f '%e %U %S %M' -o "$out/cache_times" \
      "$coach" export "$routine" -o "$out/cache.$fmt" -q "${extra[@]}"
    cp "$out/cache.$fmt" "$out/cache-$mode.$fmt"
  done
  python3 - "$out/cache_times" "$mode" "$fmt" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
med = lambda k: statistics.median(r[k] for r in rows)
print(f"{sys.argv[3]:5} {sys.argv[2]:9} wall {med(0):6.3f} s  cpu {med(1) + med(2):6.3f} s  "
      f"rss {med(3) / 1024:6.1f} MB  ({len(rows)} runs)")
PY
}

for fmt in wav flac; do
  "$coach" export "$routine" -o "$out/cache-warmup.$fmt" -q # the cache filled
  for mode in cold warm kept no-cache; do one "$mode" "$fmt"; done
  cmp -s "$out/cache-cold.$fmt" "$out/cache-warm.$fmt" &&
    cmp -s "$out/cache-cold.$fmt" "$out/cache-kept.$fmt" &&
    cmp -s "$out/cache-cold.$fmt" "$out/cache-no-cache.$fmt" &&
    echo "$fmt: cold, warm, kept and --no-cache outputs byte-identical" ||
    echo "$fmt: OUTPUTS DIFFER"
done
"$coach" cache
