#!/usr/bin/env bash
# Installs every Debian package coach needs to build, run and test.
# Idempotent: installs only what is missing. Works on Debian 12 and
# Raspberry Pi OS (bookworm). Uses sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  portaudio19-dev libasound2-dev libsndfile1-dev libespeak-ng-dev espeak-ng-data libsoxr-dev libsystemd-dev
  libebur128-dev
  libflac-dev nettle-dev # FLAC export on every core (src/flacpar.c) and its MD5
  libpulse-dev
  libtag1-dev
  libpocketsphinx-dev pocketsphinx-en-us
  flite1-dev # the second speech engine (slt, rms, awb, kal16); voices_bench too
  libspeexdsp-dev
  libmp3lame-dev # MP3 files encoded on every core (src/mp3par.c)
  libopus-dev libogg-dev # Opus files encoded on every core (src/opuspar.c)
)
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--bench" ]; then
  # tests check JSON with python3; the benchmark compares against the
  # espeak-ng command line and sox, and measures memory with GNU time;
  # the live-playback test (tests/play_pulse.sh) plays through a private
  # PulseAudio with a null sink (ALSA default -> pulse via the plugin) and
  # records its monitor with parecord (pulseaudio-utils); scripts/fuzz.sh
  # builds with clang, whose libFuzzer and sanitizer runtimes are in
  # libclang-rt-14-dev (only recommended by clang, and we skip recommends)
  # tests/faults.sh makes a file vanish and a read fail with strace;
  # tests/install_deb.sh lints the man pages with groff and man;
  # tests/play_terminal.sh plays from an interactive shell in tmux;
  # tests/mpris.sh steers a session over a private session bus with playerctl;
  # test_spotter and bench/listen_bench.sh speak the commands with flite;
  # tests/chapters_embed.sh reads the embedded chapters back with ffprobe (ffmpeg);
  # tests/flac_check.sh tests exported FLAC files with the reference decoder (flac -t)
  packages+=(espeak-ng sox time python3 pulseaudio pulseaudio-utils libasound2-plugins
             clang libclang-rt-14-dev strace groff-base man-db tmux dbus playerctl flite ffmpeg flac)
fi
if [ "${1:-}" = "--bench" ]; then
  # bench/live_bench.sh loads both cores with stress-ng and counts the
  # renderer's instructions with valgrind (callgrind); docs/PERFORMANCE.md's
  # export profiles (issue 14) are perf record's; bench/timing.sh subtracts
  # clock readings with bc; bench/listen_live_bench.sh measures speech levels
  # with Debian's python3, numpy and soundfile
  packages+=(stress-ng valgrind linux-perf bc python3-numpy python3-soundfile)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages are installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
