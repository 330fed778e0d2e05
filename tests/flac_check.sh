#!/usr/bin/env bash
# FLAC exports checked by the reference decoder (package flac): a routine
# exported to FLAC (encoded on every core, src/flacpar.c; chapters added
# by TagLib afterwards) mono and stereo, at 48 and 44.1 kHz, passes
# `flac -t` (every frame's CRCs and the MD5 of the samples in STREAMINFO),
# holds the routine's length in STREAMINFO, and decodes to the very
# samples of the same routine's WAV export (the phrase cache makes the
# second export speak the same clips). Then a FLAC streamed into a pipe
# (-o -) is a valid stream too, with its length but no MD5.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/flac_check.$$
command -v flac >/dev/null || { echo "SKIP: no flac (scripts/setup.sh --test installs it)"; exit 77; }
command -v metaflac >/dev/null || { echo "SKIP: no metaflac (package flac)"; exit 77; }
rm -rf "$tmp"
mkdir -p "$tmp/home"
trap 'rm -rf "$tmp"' EXIT
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
cd "$src"
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE="$tmp/home/history.tsv"
. "$src/tests/tools/checks.sh"
routine=tests/good/chapters.ini

# raw FILE: its samples as signed 16-bit little-endian, headers dropped
raw_flac() { flac -d -s -f --force-raw-format --endian=little --sign=signed -o "$2" "$1"; }
# a canonical or cue-carrying WAV of coach's: the bytes of its data chunk
raw_wav() {
  python3 - "$1" "$2" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
at = 12
while at + 8 <= len(d):
    cid, n = d[at:at + 4], struct.unpack("<I", d[at + 4:at + 8])[0]
    if cid == b"data":
        open(sys.argv[2], "wb").write(d[at + 8:at + 8 + n])
        sys.exit(0)
    at += 8 + n + (n & 1)
sys.exit("no data chunk")
PY
}

for rate in 48000 44100; do
  for ch in 1 2; do
    section "$rate Hz, $ch channel(s)"
    f=$tmp/r-$rate-$ch.flac w=$tmp/r-$rate-$ch.wav
    expect 0 "$coach" export "$routine" -q -r "$rate" -c "$ch" -o "$f"
    expect 0 flac -t -s "$f"
    lacks "$err" "MD5"
    [ "$(metaflac --show-md5sum "$f")" != 00000000000000000000000000000000 ] && ok ||
      bad "$f: no MD5 in STREAMINFO"
    expect 0 "$coach" export "$routine" -q -r "$rate" -c "$ch" -o "$w"
    raw_flac "$f" "$tmp/f.raw" && raw_wav "$w" "$tmp/w.raw" || bad "cannot decode $f or $w"
    cmp -s "$tmp/f.raw" "$tmp/w.raw" && ok || bad "$f: not the samples of $w"
    frames=$(( $(stat -c %s "$tmp/w.raw") / (2 * ch) ))
    [ "$(metaflac --show-total-samples "$f")" = "$frames" ] && ok ||
      bad "$f: STREAMINFO says $(metaflac --show-total-samples "$f") samples, the WAV has $frames"
    [ "$(metaflac --show-sample-rate "$f")" = "$rate" ] && [ "$(metaflac --show-channels "$f")" = "$ch" ] &&
      ok || bad "$f: rate or channels wrong"
  done
done

section "a FLAC into a pipe"
"$coach" export "$routine" -q -o - --format flac >"$tmp/pipe.flac" 2>"$tmp/err" && ok ||
  bad "export to stdout failed: $(cat "$tmp/err")"
expect 0 flac -t -s "$tmp/pipe.flac"
# libsndfile's stream had 0 here and 27 bytes of STREAMINFO values after
# its last frame (flac -t: LOST_SYNC)
[ "$(metaflac --show-total-samples "$tmp/pipe.flac")" = "$(metaflac --show-total-samples "$tmp/r-48000-1.flac")" ] &&
  ok || bad "the piped FLAC's STREAMINFO lacks the length"
raw_flac "$tmp/pipe.flac" "$tmp/p.raw" && raw_flac "$tmp/r-48000-1.flac" "$tmp/r.raw" &&
  cmp -s "$tmp/p.raw" "$tmp/r.raw" && ok || bad "the piped FLAC's samples differ from the file's"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
