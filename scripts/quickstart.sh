#!/usr/bin/env bash
# The main job on a fresh machine: install, build, and play the default
# routine through the sound device. With no sound device it says so and
# exports the routine to an audio file instead, naming the file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
routine="${1:-lower-back-relief}"
status=0
./build/coach play "$routine" || status=$?
if [ "$status" -eq 6 ]; then
  out="$PWD/$routine.flac"
  echo "No sound device here: exporting the routine instead." >&2
  ./build/coach export "$routine" -o "$out"
  echo "Your coached session is in: $out"
  exit 0
fi
exit "$status"
