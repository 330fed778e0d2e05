#!/usr/bin/env bash
# The whole test suite on a fresh machine: install, build, run ctest; then
# the same suite again under ASan, LeakSanitizer and UBSan
# (scripts/sanitize.sh), the threaded tests under ThreadSanitizer
# (scripts/tsan.sh) and a minute of fuzzing per target (scripts/fuzz.sh;
# FUZZ_SECONDS changes it). Every stage runs even when an earlier one failed,
# so one run shows everything. The last line sums up: "N passed, M failed",
# counting the tests of the ctest runs and the fuzz targets (a stage that
# fails without a count, e.g. a broken build, counts as one failure).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
bash scripts/build.sh

logs=build/test-logs
mkdir -p "$logs"
passed=0 failed=0 summary=()

# stage NAME CMD...: runs CMD, showing and keeping its output; adds its
# counts from the last "N passed, M failed" or ctest summary it prints.
stage() {
  local name=$1 start=$SECONDS rc=0 p f line
  shift
  "$@" 2>&1 | tee "$logs/$name.log" || rc=$?
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of|^fuzz: [0-9]+ passed, [0-9]+ failed' \
    "$logs/$name.log" | tail -n 1 || true)
  if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    f=${BASH_REMATCH[1]}
    p=$((BASH_REMATCH[2] - f))
  elif [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    p=${BASH_REMATCH[1]}
    f=${BASH_REMATCH[2]}
  else
    p=0 f=0
  fi
  # a failure the counts do not show (a sanitizer report, a build error)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
  summary+=("$(printf '%-9s %s, %d passed, %d failed, %d s' "$name" \
    "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)" "$p" "$f" $((SECONDS - start)))")
}

stage ctest ctest --test-dir build --output-on-failure -j"$(nproc)"
stage sanitize bash scripts/sanitize.sh
stage tsan bash scripts/tsan.sh
stage fuzz bash scripts/fuzz.sh

echo
printf 'test.sh: %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
