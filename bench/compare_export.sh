#!/usr/bin/env bash
# Two builds of coach side by side: the same export made by each in turn
# (A B A B ...), so that a machine whose speed drifts treats both alike;
# the median wall time and peak RSS (GNU time) of each, and the median of
# the ratios A/B pair by pair. Run by hand (never as a test).
#
#   bash bench/compare_export.sh OLD_SOURCE_DIR [ROUTINE] [FORMAT] [RUNS]
#
# OLD_SOURCE_DIR: a checkout built in OLD_SOURCE_DIR/build (its own
# routines and voices are used: profiles gain phrases between versions).
# A is this tree's build/coach, B the old one. Default: lower-back-relief,
# wav, 7 runs. Example, against the commit before issue 9's work:
#   git worktree add /tmp/old 4ef4996 && bash /tmp/old/scripts/build.sh
#   bash bench/compare_export.sh /tmp/old lower-back-relief flac
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: $0 OLD_SOURCE_DIR [ROUTINE] [FORMAT] [RUNS]}
routine=${2:-lower-back-relief}
fmt=${3:-wav}
runs=${4:-7}
work=$(mktemp -d /tmp/coach-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT

# one NAME DATA_DIR COACH: one export; appends "wall_s rss_kb" to $work/NAME
one() {
  COACH_DATA_DIR=$2 /usr/bin/time -f '%e %M' -o "$work/t" "$3" export "$routine" \
    -o "$work/out.$fmt" -q
  cat "$work/t" >>"$work/$1"
}
one A "$PWD" "$PWD/build/coach" # warm-up: the page cache, espeak-ng's data
one B "$old" "$old/build/coach"
: >"$work/A"
: >"$work/B"
for _ in $(seq "$runs"); do
  one A "$PWD" "$PWD/build/coach"
  one B "$old" "$old/build/coach"
done
python3 - "$work/A" "$work/B" "$routine" "$fmt" <<'PY'
import statistics, sys
a = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
b = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
med = statistics.median
print(f"{sys.argv[3]} {sys.argv[4]}, {len(a)} runs each, alternating:")
print(f"  A (this tree): wall {med(x[0] for x in a):.3f} s, peak RSS {med(x[1] for x in a) / 1024:.1f} MB")
print(f"  B (old):       wall {med(x[0] for x in b):.3f} s, peak RSS {med(x[1] for x in b) / 1024:.1f} MB")
print(f"  A/B wall, median of the pairs: {med(x[0] / y[0] for x, y in zip(a, b)):.3f}")
PY
