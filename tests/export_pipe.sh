#!/usr/bin/env bash
# Exports in pipelines and the files they must not touch. `-o -` streams
# every format to standard output (read back by ffmpeg from the pipe, the
# same length as a file export), never a file named "-"; messages go to
# standard error; a terminal as standard output is refused (status 2); a
# reader that stops early ends the export with status 4 and a clear
# message, no crash, no file left; --captions, --chapters and --transcript
# still work with `-o -`. A --format that disagrees with the output's
# extension is refused (status 2, naming both). An existing read-only
# (0444) output or sidecar is never replaced, even by root (status 4).
# --transcript writes one "M:SS text" line per cue, no markup.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/export_pipe.$$
rm -rf "$tmp"
mkdir -p "$tmp/home" "$tmp/w"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
cleanup() { [ "${fail:-1}" -eq 0 ] && rm -rf "$tmp"; }
trap cleanup EXIT

export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE="$tmp/home/history.tsv"
. "$src/tests/tools/checks.sh"
cd "$tmp/w"
have_ffmpeg=1
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || have_ffmpeg=0

# seconds of audio in FILE, by decoding it all (a stream's header may not know)
decoded_s() {
  ffmpeg -v error -i "$1" -f f32le -ac 1 -ar 48000 - 2>/dev/null | wc -c |
    awk '{printf "%.2f", $1 / 4 / 48000}'
}

section "-o - streams each format to standard output"
"$coach" export cool-down -q -o "$tmp/ref.wav" || bad "reference export failed"
[ "$have_ffmpeg" = 1 ] && ref_s=$(decoded_s "$tmp/ref.wav")
for fmt in wav flac ogg opus mp3; do
  "$coach" export cool-down -q --format "$fmt" -o - >"$tmp/stream.$fmt" 2>"$tmp/err"
  st=$?
  if [ "$st" = 0 ]; then ok; else bad "$fmt: -o - exited $st: $(cat "$tmp/err")"; fi
  if [ -e ./- ]; then bad "$fmt: a file named '-' was written"; rm -f ./-; else ok; fi
  [ -s "$tmp/stream.$fmt" ] && ok || bad "$fmt: nothing on standard output"
  if [ "$have_ffmpeg" = 1 ]; then
    # decoded from a pipe, as a player reads it
    got_s=$(ffmpeg -v error -f "$( [ "$fmt" = opus ] && echo ogg || echo "$fmt")" -i - \
      -f f32le -ac 1 -ar 48000 - <"$tmp/stream.$fmt" 2>"$tmp/ff" | wc -c |
      awk '{printf "%.2f", $1 / 4 / 48000}')
    [ -s "$tmp/ff" ] && bad "$fmt: ffmpeg complained: $(head -c 300 "$tmp/ff")"
    # lossy encoders pad a little; a doubled header or a lost tail is more
    awk -v a="$got_s" -v b="$ref_s" 'BEGIN { d = a - b; exit !(d > -0.1 && d < 0.2) }' && ok ||
      bad "$fmt: decoded $got_s s from the pipe, the file export has $ref_s s"
  fi
done
if [ "$have_ffmpeg" = 1 ]; then
  # WAV from the pipe carries its exact sizes: the same samples as the file
  cmp -s <(ffmpeg -v error -i "$tmp/ref.wav" -f s16le -) \
    <(ffmpeg -v error -f wav -i - -f s16le - <"$tmp/stream.wav") && ok ||
    bad "wav: streamed samples differ from the file export's"
else
  skip "ffmpeg missing: streams not decoded"
fi
"$coach" export cool-down -q -o - >"$tmp/stream.bin" 2>"$tmp/err" && ok || bad "-o - failed"
[ "$(head -c 4 "$tmp/stream.bin")" = RIFF ] && ok || bad "-o - without --format: not WAV"
section "-o -: messages on standard error, sidecars written"
"$coach" export cool-down -o - --format flac --captions c.vtt --chapters c.json \
  --transcript c.txt >"$tmp/stream.bin" 2>"$tmp/err" && ok || bad "-o - with sidecars failed"
[ "$(head -c 4 "$tmp/stream.bin")" = fLaC ] && ok || bad "standard output does not start with the audio"
has "$(cat "$tmp/err")" "Wrote c.vtt"
[ -s c.vtt ] && [ -s c.json ] && [ -s c.txt ] && ok || bad "sidecars missing: $(ls)"
rm -f c.vtt c.json c.txt

section "-o - to a terminal is refused"
if script -qec true /dev/null >/dev/null 2>&1; then
  script -qec "'$coach' export cool-down -o - 2>'$tmp/tty.err'" /dev/null >"$tmp/tty.out" 2>&1
  st=$?
  [ "$st" = 2 ] && ok || bad "to a terminal: exited $st, wanted 2"
  has "$(cat "$tmp/tty.err")" "refusing to write audio to a terminal"
  [ "$(wc -c <"$tmp/tty.out")" -lt 100 ] && ok || bad "audio was written to the terminal"
else
  skip "script(1) cannot make a terminal here"
fi

section "a reader that stops early"
"$coach" export lower-back-relief --format wav -o - 2>"$tmp/err" | head -c 1000 >/dev/null
st=${PIPESTATUS[0]}
[ "$st" = 4 ] && ok || bad "broken pipe: exited $st, wanted 4: $(cat "$tmp/err")"
has "$(cat "$tmp/err")" "the reader closed the pipe"
"$coach" export lower-back-relief --format ogg -o - --captions late.vtt 2>"$tmp/err" |
  head -c 1000 >/dev/null
st=${PIPESTATUS[0]}
[ "$st" = 4 ] && ok || bad "broken pipe (ogg): exited $st, wanted 4: $(cat "$tmp/err")"
"$coach" export lower-back-relief --format opus -o - 2>"$tmp/err" | head -c 1000 >/dev/null
st=${PIPESTATUS[0]}
[ "$st" = 4 ] && ok || bad "broken pipe (opus, encoded on every core): exited $st, wanted 4: $(cat "$tmp/err")"
has "$(cat "$tmp/err")" "the reader closed the pipe"
left=$(ls -A)
[ -z "$left" ] && ok || bad "left behind after a broken pipe: $left"

section "--format that disagrees with the extension"
expect 2 "$coach" export cool-down --format wav -o x.flac
has "$err" "wav"
has "$err" ".flac"
[ -e x.flac ] && bad "x.flac written" || ok
expect 2 "$coach" export cool-down -f mp3 -o x.OGG
expect 0 "$coach" export cool-down -q --format wav -o x.audio
[ "$(head -c 4 x.audio)" = RIFF ] && ok || bad "--format wav -o x.audio is not WAV"
expect 0 "$coach" export cool-down -q --format flac -o x.FLAC
expect 0 "$coach" export cool-down -q --format ogg -o x.oga
rm -f x.audio x.FLAC x.oga

section "an existing read-only file is never replaced (root or not)"
echo keep >ro.wav
chmod 0444 ro.wav
expect 4 "$coach" export cool-down -q -o ro.wav
has "$err" "read-only"
[ "$(cat ro.wav)" = keep ] && ok || bad "ro.wav was replaced"
echo keep >ro.vtt
chmod 0444 ro.vtt
expect 4 "$coach" export cool-down -q -o new.wav --captions ro.vtt
has "$err" "ro.vtt"
[ "$(cat ro.vtt)" = keep ] && ok || bad "ro.vtt was replaced"
[ -e new.wav ] && bad "new.wav written though its captions cannot be" || ok
echo keep >ro.txt
chmod 0444 ro.txt
expect 4 "$coach" export cool-down -q -o new.wav --transcript ro.txt
[ "$(cat ro.txt)" = keep ] && ok || bad "ro.txt was replaced"
chmod 0644 ro.wav ro.vtt ro.txt
rm -f ro.wav ro.vtt ro.txt

section "--transcript: one timed plain line per cue"
expect 0 "$coach" export breathing -q -o b.wav --captions b.vtt --transcript b.txt
n_bad=$(grep -cvE '^[0-9]+:[0-5][0-9] [^ ]' b.txt)
[ "$n_bad" = 0 ] && ok || bad "transcript lines not 'M:SS text': $(grep -vE '^[0-9]+:[0-5][0-9] ' b.txt | head -3)"
head -n 1 b.txt | grep -q '^0:00 Breathing for back relief' && ok || bad "first line: $(head -n 1 b.txt)"
grep -q '[<>]' b.txt && bad "markup in the transcript" || ok
n_vtt=$(grep -c -- ' --> ' b.vtt)
[ "$(wc -l <b.txt)" = "$n_vtt" ] && ok || bad "transcript has $(wc -l <b.txt) lines, captions $n_vtt cues"
expect 0 "$coach" export warm-up cool-down -q -o seq.wav --transcript seq.txt
grep -q 'Next routine: Cool-down' seq.txt && ok || bad "sequence transcript lacks the second routine"

echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
