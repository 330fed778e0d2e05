#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz: fuzz_routine, fuzz_voice,
# fuzz_speech: a profile through espeak-ng) with clang, ASan and UBSan in
# ./build-fuzz and runs each for a bounded time, all at once. Fails on any crash, leak, undefined behaviour,
# timeout or out-of-memory, and prints where the input that caused it was
# saved and how to replay it. See docs/testing.md.
#
#   scripts/fuzz.sh [SECONDS]      seconds per target (or FUZZ_SECONDS; default 60)
#   scripts/fuzz.sh --merge [SECONDS]
#                                  then add the new inputs that reach new code to
#                                  the committed seed corpus (tests/fuzz/corpus)
#   FUZZ_TARGETS="routine"         run only some targets
#
# Each run starts from the committed corpus and the regression inputs and
# keeps what it learns in build-fuzz/corpus/<target> for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/build-fuzz

merge=0
if [ "${1:-}" = "--merge" ]; then
  merge=1
  shift
fi
seconds=${1:-${FUZZ_SECONDS:-60}}
case $seconds in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [--merge] [SECONDS]" >&2; exit 2 ;;
esac
read -ra targets <<<"${FUZZ_TARGETS:-routine voice speech}"

files() { find "$1" -maxdepth 1 -type f | wc -l; }

command -v clang >/dev/null || {
  echo "fuzz: clang is not installed (bash scripts/setup.sh --test)" >&2
  exit 1
}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCOACH_FUZZ=ON \
  >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

# Leaks and UB are findings like crashes: stop at the first, with a stack.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

# The repository's own files of each kind seed the runs too.
declare -A seeds=(
  [routine]="routines tests/good tests/bad tests/golden"
  [voice]="voices tests/voices"
  [speech]="voices tests/voices"
)

pids=()
for t in "${targets[@]}"; do
  extra=()
  for d in ${seeds[$t]:-}; do extra+=("$root/$d"); done
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t" "$build/logs"
  rm -f "$build/artifacts/$t"/*
  # New inputs go to the first corpus directory only: the committed ones stay
  # as they are.
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -dict="$root/tests/fuzz/$t.dict" \
    -artifact_prefix="$build/artifacts/$t/" \
    "$build/corpus/$t" "$root/tests/fuzz/corpus/$t" "$root/tests/fuzz/regressions/$t" \
    "${extra[@]}" >"$build/logs/$t.log" 2>&1 &
  pids+=($!)
done

failed=0
for i in "${!targets[@]}"; do
  t=${targets[$i]}
  rc=0
  wait "${pids[$i]}" || rc=$?
  log=$build/logs/$t.log
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  shopt -s nullglob
  found=("$build/artifacts/$t"/{crash,leak,timeout,oom}-*)
  shopt -u nullglob
  if [ "$rc" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
    failed=$((failed + 1))
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*fuzz check failed|.*runtime error)' "$log" | head -n 20 >&2 || true
    echo "fuzz: $t FAILED (exit $rc); log: $log" >&2
    for f in "${found[@]}"; do
      echo "fuzz: $t: input saved in $f" >&2
      echo "fuzz:   replay: $build/tests/fuzz/fuzz_$t $f" >&2
    done
    echo "fuzz:   fix it, then keep the input in tests/fuzz/regressions/$t/ (docs/testing.md)" >&2
  else
    echo "fuzz: $t ok: ${runs:-?} runs in ${seconds} s (${speed:-?}/s), corpus $(files "$build/corpus/$t") files"
  fi
done

if [ "$merge" -eq 1 ] && [ "$failed" -eq 0 ]; then
  for t in "${targets[@]}"; do
    before=$(files "$root/tests/fuzz/corpus/$t")
    "$build/tests/fuzz/fuzz_$t" -merge=1 -timeout=10 "$root/tests/fuzz/corpus/$t" \
      "$build/corpus/$t" >"$build/logs/$t.merge.log" 2>&1
    echo "fuzz: $t: corpus $before -> $(files "$root/tests/fuzz/corpus/$t") files," \
      "$(du -sk --apparent-size "$root/tests/fuzz/corpus/$t" | cut -f1) KiB"
  done
fi

echo "fuzz: $((${#targets[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
