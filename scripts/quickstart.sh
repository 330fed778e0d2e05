#!/usr/bin/env bash
# The main job on a fresh machine: install, build, and run the default
# routine. Until live playback exists this exports the routine to an audio
# file and says where it is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
routine="${1:-lower-back-relief}"
out="$PWD/$routine.flac"
./build/coach export "$routine" -o "$out"
echo "Your coached session is in: $out"
