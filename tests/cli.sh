#!/usr/bin/env bash
# The coach command as a user runs it: exit statuses, messages with
# file:line, every shipped routine passing `coach check`, plan JSON, export
# and its failures leaving nothing behind.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/cli.$$
rm -rf "$tmp"; mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
cd "$src"
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect STATUS CMD...: runs CMD, captures stdout/stderr in $out/$err
expect() {
  local want=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?
  out=$(cat "$tmp/out"); err=$(cat "$tmp/err")
  if [ "$got" = "$want" ]; then ok; else bad "$* exited $got, wanted $want; stderr: $err"; fi
}
has() { case "$1" in *"$2"*) ok ;; *) bad "expected '$2' in: $1" ;; esac; }

expect 0 "$coach" --version; has "$out" "coach "
expect 0 "$coach" --help; has "$out" "Exit status"
expect 2 "$coach"
expect 2 "$coach" frobnicate; has "$err" "unknown command 'frobnicate'"
expect 2 "$coach" export --level extreme lower-back-relief; has "$err" "unknown level 'extreme'"
expect 2 "$coach" export lower-back-relief -o out.xyz; has "$err" "cannot tell the format"
expect 3 "$coach" check no-such-routine; has "$err" "routine 'no-such-routine' not found"

# every shipped routine passes check (real speech, real plan)
for f in routines/*.ini; do
  expect 0 "$coach" check "$f"; has "$out" "$f: ok"
done
expect 0 "$coach" list; has "$out" "lower-back-relief: "

# a bad routine: every error with file:line, status 1
printf '[routine]\ntitle = T\nvoice = xx-yy\n[exercise a]\nname = A\nhodl = 5\n' >"$tmp/bad.ini"
expect 1 "$coach" check "$tmp/bad.ini"
has "$err" "$tmp/bad.ini:6: unknown key 'hodl'"
# an unknown voice is reported at its line
printf '[routine]\ntitle = T\nvoice = xx-yy\n[say a]\ntext = Hello.\n' >"$tmp/voice.ini"
expect 1 "$coach" check "$tmp/voice.ini"
has "$err" "$tmp/voice.ini:3: unknown voice 'xx-yy'"

# plan: text and JSON
expect 0 "$coach" plan breathing; has "$out" "breath-in"
expect 0 "$coach" plan breathing --json
if command -v python3 >/dev/null; then
  python3 - "$tmp/out" <<'PY' && ok || bad "plan --json is not the expected JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["rate_hz"] == 48000 and d["length_frames"] > 0
assert abs(d["length_seconds"] - d["length_frames"] / 48000) < 1e-5
kinds = {e["kind"] for e in d["events"]}
assert {"speech", "beep", "beep-final", "breath-in", "breath-out", "bell"} <= kinds, kinds
for e in d["events"]:
    assert abs(e["time"] - e["frame"] / 48000) < 1e-5
    assert "step" in e and "duration" in e
    if e["kind"] == "speech": assert e["text"]
PY
fi

# export: a file appears; failures leave nothing
printf '[routine]\ntitle = Short\n[say hello]\ntext = Hello there.\n' >"$tmp/short.ini"
expect 0 "$coach" export "$tmp/short.ini" -o "$tmp/short.wav"; has "$out" "Wrote $tmp/short.wav"
[ -s "$tmp/short.wav" ] && ok || bad "short.wav missing"
expect 4 "$coach" export "$tmp/short.ini" -o "$tmp/no/such/dir/short.wav"
[ ! -e "$tmp/no/such/dir/short.wav" ] && ok || bad "partial file left"
echo "keep me" >"$tmp/keep.opus"
expect 4 "$coach" export "$tmp/short.ini" -o "$tmp/keep.opus" --rate 44100 --format opus
has "$err" "keep.opus"
[ "$(cat "$tmp/keep.opus")" = "keep me" ] && ok || bad "existing file was touched"
[ -z "$(ls -A "$tmp" | grep '^\.')" ] && ok || bad "temporary files left: $(ls -A "$tmp")"

# Ctrl-C in the middle of a (slow, Vorbis) export: status 130, no file, no
# temporary file, an earlier file with that name untouched
echo "earlier" >"$tmp/long.ogg"
"$coach" export lower-back-relief -o "$tmp/long.ogg" -q 2>"$tmp/err" &
pid=$!
sleep 1.5
kill -INT "$pid"
wait "$pid"; st=$?
[ "$st" = 130 ] && ok || bad "interrupted export exited $st, wanted 130"
has "$(cat "$tmp/err")" "interrupted"
[ "$(cat "$tmp/long.ogg")" = "earlier" ] && ok || bad "interrupted export touched the earlier file"
[ -z "$(ls -A "$tmp" | grep '^\.')" ] && ok || bad "temporary files left after SIGINT: $(ls -A "$tmp")"

# captions and chapter lists beside an export: one cue per speech event of
# the plan, timed by its frames (start rounded down, end up, to the ms)
expect 0 "$coach" export "$tmp/short.ini" -o "$tmp/cap.wav" --captions "$tmp/cap.vtt" \
  --chapters "$tmp/cap.cue"
has "$out" "Wrote $tmp/cap.vtt"; has "$out" "Wrote $tmp/cap.cue"
for f in cap.wav cap.vtt cap.cue; do [ -s "$tmp/$f" ] && ok || bad "$f missing"; done
"$coach" plan "$tmp/short.ini" --json >"$tmp/short.json"
n_speech=$(grep -c '"kind": "speech"' "$tmp/short.json")
n_cues=$(grep -c -- ' --> ' "$tmp/cap.vtt")
[ "$n_cues" -gt 0 ] && [ "$n_cues" = "$n_speech" ] && ok || bad "$n_cues captions for $n_speech speech events"
[ "$(head -n 1 "$tmp/cap.vtt")" = WEBVTT ] && ok || bad "cap.vtt has no WEBVTT header"
n_ch=$(grep -c '"end_frame"' "$tmp/short.json")
[ "$(grep -c '^  TRACK ' "$tmp/cap.cue")" = "$n_ch" ] && ok || bad "cap.cue does not have $n_ch tracks"
grep -qx 'FILE "cap.wav" WAVE' "$tmp/cap.cue" && ok || bad "cap.cue does not name cap.wav"
if command -v python3 >/dev/null; then
  python3 - "$tmp/short.json" "$tmp/cap.vtt" <<'PY' && ok || bad "captions do not match the plan"
import json, re, sys
plan = json.load(open(sys.argv[1]))
rate = plan["rate_hz"]
speech = [e for e in plan["events"] if e["kind"] == "speech"]
cues = re.findall(r"(\d+):(\d\d):(\d\d)\.(\d{3}) --> (\d+):(\d\d):(\d\d)\.(\d{3})\n(.*)\n",
                  open(sys.argv[2]).read())
assert len(cues) == len(speech), (len(cues), len(speech))
ms = lambda h, m, s, f: ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(f)
for c, e in zip(cues, speech):
    a, b, end = ms(*c[0:4]), ms(*c[4:8]), e["frame"] + e["len_frames"]
    assert a == e["frame"] * 1000 // rate, (a, e)
    assert b == -(-end * 1000 // rate), (b, e)
    text = c[8].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert text == e["text"], (text, e["text"])
PY
fi
expect 0 "$coach" export "$tmp/short.ini" -o "$tmp/cap.mp3" --captions "$tmp/cap.SRT" \
  --chapters "$tmp/cap.json" -q
head -n 2 "$tmp/cap.SRT" | grep -q -- '^1$' && ok || bad "cap.SRT does not start with cue 1"
grep -q '"version": "1.2.0"' "$tmp/cap.json" && ok || bad "cap.json is not chapters JSON"
expect 2 "$coach" export "$tmp/short.ini" -o "$tmp/x.wav" --captions "$tmp/x.txt"
has "$err" "captions format of '$tmp/x.txt'"
expect 2 "$coach" export "$tmp/short.ini" -o "$tmp/x.wav" --chapters "$tmp/x.mp4"
has "$err" "chapter list format"
[ ! -e "$tmp/x.wav" ] && [ ! -e "$tmp/x.txt" ] && ok || bad "a usage error wrote files"
# the audio fails: no captions, no chapters, no temporary files
expect 4 "$coach" export "$tmp/short.ini" -o "$tmp/no/such/dir/x.wav" --captions "$tmp/x.vtt" \
  --chapters "$tmp/x.cue"
[ ! -e "$tmp/x.vtt" ] && [ ! -e "$tmp/x.cue" ] && ok || bad "sidecars written for a failed export"
expect 4 "$coach" export "$tmp/short.ini" -o "$tmp/x.wav" --captions "$tmp/no/such/dir/x.vtt"
[ ! -e "$tmp/x.wav" ] && ok || bad "audio written although its captions failed"
[ -z "$(ls -A "$tmp" | grep '^\.')" ] && ok || bad "temporary files left: $(ls -A "$tmp")"

# voice overrides: another profile, espeak settings; bad values are usage errors
expect 0 "$coach" plan "$tmp/short.ini" --voice de; has "$out" "Einheit abgeschlossen"
expect 3 "$coach" plan "$tmp/short.ini" --voice no-such-voice
has "$err" "voice profile 'no-such-voice' not found"
expect 2 "$coach" plan "$tmp/short.ini" --speech-rate 79; has "$err" "speech rate must be 80-450"
expect 2 "$coach" plan "$tmp/short.ini" --speech-rate 451
expect 2 "$coach" plan "$tmp/short.ini" --pitch 101; has "$err" "pitch must be 0-100"
expect 2 "$coach" plan "$tmp/short.ini" --pitch 5x
expect 2 "$coach" plan "$tmp/short.ini" --speech-volume -1; has "$err" "speech volume must be 0-200"
expect 2 "$coach" plan "$tmp/short.ini" --speech-volume; has "$err" "'--speech-volume' needs a value"
expect 0 "$coach" plan "$tmp/short.ini" --json; slow=$out
expect 0 "$coach" plan "$tmp/short.ini" --json --speech-rate 400 --pitch 80 --speech-volume 150
[ "$out" != "$slow" ] && ok || bad "--speech-rate did not change the plan"
expect 0 "$coach" check "$tmp/short.ini" --voice en-gb --speech-rate 200
expect 0 "$coach" voices
has "$out" "en-us: espeak-ng voice en-us"; has "$out" "espeak-ng voices installed"

# --progress: 3 full completions in a row of this routine -> one level up, said
# after the title; a stopped session starts the count over and keeps the
# level; a pain stop steps it back down
export COACH_HISTORY_FILE="$tmp/history.tsv"
expect 0 "$coach" plan "$tmp/short.ini" --progress
has "$err" "progress: 0 completions in a row -> easy"
case "$out" in *"in a row"*) bad "announced without history" ;; *) ok ;; esac
rec() { printf '2026-01-0%sT10:00:00\t%s\tShort\t%s\t1\t60\t%s\n' "$@" >>"$COACH_HISTORY_FILE"; }
rec 1 short 1 completed; rec 2 short 1 completed; rec 3 other 0 stopped; rec 4 short 1 completed
expect 0 "$coach" plan "$tmp/short.ini" --progress
has "$err" "progress: 3 completions in a row -> medium"
has "$out" "You have finished this routine 3 times in a row, so today it is medium."
expect 0 "$coach" export "$tmp/short.ini" --progress -o "$tmp/prog.wav" --captions "$tmp/prog.vtt" -q
grep -q "3 times in a row" "$tmp/prog.vtt" && ok || bad "export --progress did not say it"
expect 0 "$coach" plan "$tmp/short.ini" --progress --level hard; has "$err" "-> hard"
rec 5 short 0 stopped
expect 0 "$coach" plan "$tmp/short.ini" --progress; has "$err" "0 completions in a row -> medium"
# a pain stop (field 12) steps a level back down, said after the title
printf '2026-01-06T10:00:00\tshort\tShort\t0\t1\t20\tstopped\t0\t-\ta\t-\ta\t-\n' >>"$COACH_HISTORY_FILE"
expect 0 "$coach" plan "$tmp/short.ini" --progress
has "$err" "0 completions in a row, the last session hurt: a level down -> easy"
has "$out" "Last time it hurt, so today it is easy."
unset COACH_HISTORY_FILE

# export --all: every routine found, one process each; a copy of the binary
# in a scratch tree so only these routines are found
mkdir -p "$tmp/pkg/bin" "$tmp/pkg/routines" "$tmp/pkg/voices"
cp "$coach" "$tmp/pkg/bin/coach"; cp voices/en-us.ini "$tmp/pkg/voices/"
cp "$tmp/short.ini" "$tmp/pkg/routines/one.ini"
printf '[routine]\ntitle = Two\n[say bye]\ntext = Goodbye.\n' >"$tmp/pkg/routines/two.ini"
printf '[routine]\ntitle = Three\n[say hi]\ntext = Hi.\n' >"$tmp/pkg/routines/three.ini"
(cd "$tmp/pkg" && COACH_DATA_DIR="$tmp/pkg" expect 0 ./bin/coach export --all "$tmp/all" \
  && has "$out" "one: ok" && has "$out" "two: ok" && has "$out" "three: ok" \
  && echo "$pass $fail" >"$tmp/sub")
read -r pass fail <"$tmp/sub" || bad "export --all checks did not run"
for r in one two three; do
  for e in flac vtt json; do [ -s "$tmp/all/$r.$e" ] && ok || bad "export --all: $r.$e missing"; done
done
printf '[routine]\ntitle = Bad\nvoice = xx-yy\n[say a]\ntext = A.\n' >"$tmp/pkg/routines/bad.ini"
(cd "$tmp/pkg" && COACH_DATA_DIR="$tmp/pkg" expect 1 ./bin/coach export --all "$tmp/all2" -f wav \
  && has "$out" "bad: failed (status 1)" && has "$out" "one: ok" && echo "$pass $fail" >"$tmp/sub")
read -r pass fail <"$tmp/sub"
[ -s "$tmp/all2/two.wav" ] && ok || bad "export --all -f wav: two.wav missing"
expect 2 "$coach" export --all "$tmp/all3" lower-back-relief; has "$err" "name none"
expect 2 "$coach" export --all "$tmp/all3" -o x.flac; has "$err" "drop -o"
[ ! -e "$tmp/all3" ] && ok || bad "a usage error created the directory"

# music under the voice: any file libsndfile reads (here an earlier export)
expect 0 "$coach" export "$tmp/short.ini" -o "$tmp/with-music.wav" --music "$tmp/short.wav"
[ -s "$tmp/with-music.wav" ] && ok || bad "export with --music wrote nothing"
expect 3 "$coach" export "$tmp/short.ini" -o "$tmp/no-music.wav" --music "$tmp/missing.flac"
has "$err" "music: $tmp/missing.flac"
[ ! -e "$tmp/no-music.wav" ] && ok || bad "a failed --music export left a file"

# coach menu: usage, and no sound device (a sound server that is not there,
# and no ALSA card: PortAudio then finds no output) is exit 6 with advice
expect 2 "$coach" menu extra; has "$err" "menu takes no arguments"
mkdir -p "$tmp/nopulse"
if [ -z "$(ls /dev/snd 2>/dev/null)" ]; then
  PULSE_SERVER=unix:/nonexistent PULSE_RUNTIME_PATH="$tmp/nopulse" \
    expect 6 timeout 30 "$coach" menu --socket "$tmp/menu.sock" </dev/null
  has "$err" "coach export "; has "$err" "coach list"
else # a real sound card would still play: point ALSA at nothing as well
  PULSE_SERVER=unix:/nonexistent PULSE_RUNTIME_PATH="$tmp/nopulse" ALSA_CONFIG_PATH=/dev/null \
    expect 6 timeout 30 "$coach" menu --socket "$tmp/menu.sock" </dev/null
  has "$err" "coach export "
fi
(cd "$tmp/pkg" && rm -f routines/*.ini && COACH_DATA_DIR="$tmp/pkg" expect 3 ./bin/coach menu \
  && has "$err" "No routines were found" && echo "$pass $fail" >"$tmp/sub")
read -r pass fail <"$tmp/sub"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
