#!/usr/bin/env bash
# The whole test suite under AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer: builds everything (coach, the core library,
# every test) in ./build-asan and runs all of ctest. Any sanitizer report
# fails the run, even from a process whose exit status a test does not
# check (e.g. a coach that is expected to fail): every process writes its
# reports under build-asan/sanitizer/, and they are printed at the end.
# Leaks inside third-party libraries (PortAudio, ALSA, espeak-ng, ...) are
# suppressed by tests/sanitizers/lsan.supp; never suppress our own code.
#
#   scripts/sanitize.sh [ctest options...]    CC=clang to build with clang
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/build-asan
logs=$build/sanitizer
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

. scripts/sanitizer-lib.sh
san_build "$build" "$san"

rm -rf "$logs"
mkdir -p "$logs"
# exitcode 86: a sanitized process that fails says so, whatever it would
# have returned; the log files catch the reports of every process anyway.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:exitcode=86:log_path=$logs/asan"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86:log_path=$logs/ubsan"

# LeakSanitizer cannot run in a traced process, and tests/faults.sh injects
# faults with strace: a strace found first in PATH runs its command with leak
# checks off (ASan and UBSan stay on).
if real_strace=$(command -v strace); then
  mkdir -p "$build/shims"
  cat >"$build/shims/strace" <<EOF
#!/bin/sh
ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}detect_leaks=0" exec $real_strace "\$@"
EOF
  chmod +x "$build/shims/strace"
  export PATH="$build/shims:$PATH"
fi

status=0
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@" || status=$?

san_reports "$logs" "$status" sanitize
