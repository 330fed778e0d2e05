#!/usr/bin/env bash
# The threaded tests under ThreadSanitizer: builds everything (coach, the
# core library, every test) in ./build-tsan with -fsanitize=thread and runs
# the tests whose code runs on more than one thread: the lock-free ring
# (test_ring), the export's renderer and encoder threads (test_blockq,
# test_export), the clips made ahead of the renderer (test_clipahead),
# the MP3 and Opus writers' segment workers (segpar.c:
# test_mp3par, test_opuspar), the live engine, the player with its speech thread
# (test_player, test_selfpaced: control thread, speech thread, the memory
# sink's callback),
# the control socket's clients (test_control), and coach itself playing
# through a real sound server (play_pulse: PortAudio's callback thread, the
# sound server plugin's thread, the speech thread, the control loop), and
# an export's key made on a thread while it renders (test_uptodate,
# uptodate). Any
# report fails the run, also from a process whose exit status a test does
# not check: every process writes its reports under build-tsan/sanitizer/,
# and they are printed at the end. Races inside third-party libraries
# (PortAudio, ALSA, PulseAudio, espeak-ng's own threads) are suppressed by
# tests/sanitizers/tsan.supp, each with its reason; never our own code.
#
#   scripts/tsan.sh [ctest options...]    CC=clang to build with clang
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/build-tsan
logs=$build/sanitizer
san="-fsanitize=thread -fno-omit-frame-pointer"

. scripts/sanitizer-lib.sh
san_build "$build" "$san"

rm -rf "$logs"
mkdir -p "$logs"
# exitcode 86: a process with a report fails, whatever it would have
# returned; the log files catch the reports of every process anyway.
# coach runs many times slower than real time under ThreadSanitizer:
# play_pulse plays every scenario but does not hold the capture to the
# export's timing (COACH_PLAY_PULSE_LOOSE).
export COACH_PLAY_PULSE_LOOSE=1
export TSAN_OPTIONS="halt_on_error=1:exitcode=86:second_deadlock_stack=1:log_path=$logs/tsan:suppressions=$root/tests/sanitizers/tsan.supp"

status=0
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" \
  -R '^(test_ring|test_blockq|test_export|test_clipahead|test_mp3par|test_opuspar|test_live|test_player|test_selfpaced|test_control|play_pulse|listen|test_echo|test_uptodate|uptodate)$' "$@" || status=$?

san_reports "$logs" "$status" tsan
