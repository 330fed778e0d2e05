#!/usr/bin/env bash
# Chapters inside exported audio, read back with ffprobe (package ffmpeg):
# a short routine (tests/good/chapters.ini) exported to MP3 (ID3v2 CHAP +
# CTOC), FLAC, Ogg Vorbis and Opus (Vorbis comments CHAPTER001...) and WAV
# (cue points, named by labl chunks) carries every chapter of its chapter
# list (--chapters .json): the same count, start times to the millisecond,
# the same names, short names for the say steps, and the title and
# artist tags. Then --split DIR: one file per chapter, numbered and named
# with safe characters, each tagged with its title, an .m3u listing them,
# durations summing to the whole; and a --split that cannot be done leaves
# nothing behind (a non-empty or non-directory target, a file size limit
# reached midway).
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/chapters_embed.$$
command -v ffprobe >/dev/null || { echo "SKIP: no ffprobe (scripts/setup.sh --test installs ffmpeg)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
rm -rf "$tmp"
mkdir -p "$tmp/home"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
cd "$src"
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE="$tmp/home/history.tsv"
. "$src/tests/tools/checks.sh"
routine=tests/good/chapters.ini

# compare FILE LIST.json NAMED: FILE's embedded chapters against the list
compare() {
  ffprobe -v error -show_chapters -show_entries format_tags=title,artist:stream_tags=title,artist \
    -of json "$1" >"$tmp/probe.json" ||
    { bad "ffprobe cannot read $1"; return; }
  local why
  if why=$(python3 - "$tmp/probe.json" "$2" "$3" <<'PY'
import json, sys
probe = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))["chapters"]
named = sys.argv[3] == "1"
got = probe.get("chapters", [])
errs = []
if len(got) != len(want):
    errs.append("%d chapters, wanted %d" % (len(got), len(want)))
for i, (g, w) in enumerate(zip(got, want)):
    if abs(float(g["start_time"]) - w["startTime"]) > 0.0015:
        errs.append("chapter %d starts at %s, wanted %.3f" % (i + 1, g["start_time"], w["startTime"]))
    name = g.get("tags", {}).get("title")
    if named and name != w["title"]:
        errs.append("chapter %d is named %r, wanted %r" % (i + 1, name, w["title"]))
# Ogg keeps the comments with its stream, the others with the file
where = [probe.get("format", {})] + probe.get("streams", [])
tags = {k.lower(): v for d in where for k, v in d.get("tags", {}).items()}
if tags.get("title") != "Chapter test" or tags.get("artist") != "coach":
    errs.append("tags %r, wanted title 'Chapter test' and artist 'coach'" % tags)
print("; ".join(errs))
sys.exit(1 if errs else 0)
PY
  ); then ok; else bad "$1: $why"; fi
}

section "chapters inside each format"
for f in mp3 flac ogg opus wav; do
  expect 0 "$coach" export "$routine" -q -o "$tmp/t.$f" --chapters "$tmp/t.$f.json"
  compare "$tmp/t.$f" "$tmp/t.$f.json" 1
done

section "short chapter names: say steps named by the voice profile"
names=$(python3 -c 'import json,sys; print("|".join(c["title"] for c in json.load(open(sys.argv[1]))["chapters"]))' "$tmp/t.flac.json")
echo "  $names"
if [ "$names" = "Chapter test|Introduction|Exercise 1 of 2: Reach up|Note|Exercise 2 of 2: Squeeze: Hands/fists|Closing" ]; then ok; else
  bad "chapter names: $names"; fi

section "--split DIR: one file per chapter and a playlist"
expect 0 "$coach" export "$routine" --split "$tmp/split/" --format flac
has "$out" "Wrote $tmp/split: one file per step and a playlist"
ls "$tmp/split" >"$tmp/listing"
want_listing="01 Chapter test.flac
02 Introduction.flac
03 Exercise 1 of 2 - Reach up.flac
04 Note.flac
05 Exercise 2 of 2 - Squeeze - Hands_fists.flac
06 Closing.flac
chapters.m3u"
if [ "$(cat "$tmp/listing")" = "$want_listing" ]; then ok; else bad "split listing: $(tr '\n' '|' <"$tmp/listing")"; fi
m3u=$tmp/split/chapters.m3u
[ "$(head -n 1 "$m3u")" = "#EXTM3U" ] && ok || bad "the playlist does not start with #EXTM3U"
[ "$(grep -c '^#EXTINF:[0-9]*,' "$m3u")" = 6 ] && ok || bad "the playlist has not 6 #EXTINF lines: $(cat "$m3u")"
grep -qx '#EXTINF:6,Exercise 1 of 2: Reach up' "$m3u" && ok || bad "no '#EXTINF:6,Exercise 1 of 2: Reach up' in: $(cat "$m3u")"
missing=0
while IFS= read -r line; do
  case $line in '#'*) ;; *) [ -f "$tmp/split/$line" ] || missing=1 ;; esac
done <"$m3u"
[ "$missing" = 0 ] && ok || bad "the playlist names files that are not there"
dur() { ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 "$1"; }
whole=$(dur "$tmp/t.flac")
sum=0
for f in "$tmp"/split/*.flac; do sum=$(python3 -c "print($sum + $(dur "$f"))"); done
echo "  whole $whole s, files $sum s"
python3 -c "import sys; sys.exit(abs($whole - $sum) > 0.001)" && ok || bad "durations sum to $sum s, the whole is $whole s"
tags=$(ffprobe -v error -show_entries format_tags=title,album,track -of default=nw=1 \
  "$tmp/split/03 Exercise 1 of 2 - Reach up.flac" | tr 'A-Z' 'a-z' | LC_ALL=C sort | tr '\n' '|')
[ "$tags" = "tag:album=chapter test|tag:title=exercise 1 of 2: reach up|tag:track=3|" ] &&
  ok || bad "split file tags: $tags"
expect 0 "$coach" export "$routine" --split "$tmp/split-mp3" --format mp3 -q
n=$(ls "$tmp/split-mp3" | grep -c '\.mp3$')
[ "$n" = 6 ] && ok || bad "$n mp3 files, wanted 6"

section "--split refused or failed: nothing left behind"
expect 2 "$coach" export "$routine" --split "$tmp/x" -o "$tmp/x.flac"
has "$err" "--split DIR names its files itself"
expect 4 "$coach" export "$routine" --split "$tmp/split" -q
has "$err" "is not empty"
[ "$(ls "$tmp/split")" = "$(cat "$tmp/listing")" ] && ok || bad "the earlier split set changed"
echo data >"$tmp/afile"
expect 4 "$coach" export "$routine" --split "$tmp/afile" -q
has "$err" "not a directory"
[ "$(cat "$tmp/afile")" = data ] && ok || bad "the file was changed"
mkdir "$tmp/empty"
expect 0 "$coach" export "$routine" --split "$tmp/empty" --format wav -q
[ "$(ls "$tmp/empty" | wc -l)" = 7 ] && ok || bad "an empty directory did not receive the set"
# the files are the whole export cut at the chapters: the same frames, the
# same energy (espeak-ng is not bit-identical from run to run: no bytes)
if why=$(python3 - "$tmp/t.wav" "$tmp"/empty/*.wav <<'PY'
import array, sys, wave
def pcm(path):
    w = wave.open(path)
    return array.array("h", w.readframes(w.getnframes()))
whole = pcm(sys.argv[1])
parts = array.array("h")
for p in sys.argv[2:]:
    parts.extend(pcm(p))
def energy(a):
    return sum(x * x for x in a) / max(len(a), 1)
if len(parts) != len(whole):
    print("the files have %d frames, the whole %d" % (len(parts), len(whole)))
    sys.exit(1)
e1, e2 = energy(whole), energy(parts)
if abs(e1 - e2) > 0.01 * e1:
    print("energy %g, the whole %g" % (e2, e1))
    sys.exit(1)
PY
); then ok; else bad "split WAV files against the whole: $why"; fi
# a file size limit that the second file passes: the first is written, then
# the export fails; neither the target nor a temporary directory remains
mkdir "$tmp/limit"
expect 4 bash -c 'ulimit -f 600 && exec "$@"' _ "$coach" export "$routine" --split "$tmp/limit/set" --format wav -q
has "$err" "no file was changed"
[ -z "$(ls -A "$tmp/limit")" ] && ok || bad "left behind: $(ls -A "$tmp/limit")"

echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ] && rm -rf "$tmp"
[ "$fail" -eq 0 ]
