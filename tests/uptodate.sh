#!/usr/bin/env bash
# An export whose file is already what it would write keeps it (uptodate.h),
# as a user meets it: the second export of an unchanged routine says "Kept
# FILE (up to date)" and leaves the file, its inode and time stamp as they
# were (captions and chapter lists too); a changed routine, another option,
# a file changed or replaced since, --rewrite and --no-cache write it again,
# with the same bytes as a first export; a damaged or unplaceable record
# only means the export is done; 'coach cache clear' removes the records;
# export --all keeps every unchanged file. Its own XDG_CACHE_HOME under
# $COACH_TEST_TMP.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/uptodate.$$
rm -rf "$tmp"
mkdir -p "$tmp"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
trap '[ "${fail:-1}" -eq 0 ] && rm -rf "$tmp"' EXIT
cd "$src"
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE="$tmp/home/history.tsv" XDG_CACHE_HOME="$tmp/xdg"
unset COACH_CACHE_MAX_MB
mkdir -p "$tmp/home" "$tmp/files"
. "$src/tests/tools/checks.sh"
records=$tmp/xdg/coach/exports

r=$tmp/hug.ini
printf '[routine]\ntitle = Hug\nprepare = 2\n[exercise hug]\nname = Knee hug\nsetup = Lie on your back.\ncue = Hug both knees.\nhold = 5\nreps = 2\n' >"$r"
f=$tmp/files/hug.flac vtt=$tmp/files/hug.vtt json=$tmp/files/hug.json
ident() { stat -c '%i %.9Y %s' "$@"; }

section "first export: written, and recorded"
expect 0 "$coach" export "$r" -o "$f" --captions "$vtt" --chapters "$json"
has "$out" "Wrote $f: "
has "$out" "Wrote $vtt: "
[ "$(find "$records" -name '*.export' | wc -l)" -eq 1 ] && ok || bad "no record in $records"
cp "$f" "$tmp/ref.flac"
before=$(ident "$f" "$vtt" "$json")
first=${before%%$'\n'*} # the audio file's

section "the same export again: kept, file and sidecars untouched"
sleep 0.05 # a rewrite would show in the nanoseconds of the time stamps
expect 0 "$coach" export "$r" -o "$f" --captions "$vtt" --chapters "$json"
has "$out" "Kept $f (up to date): "
has "$out" "Kept $vtt (up to date): "
has "$out" "Kept $json (up to date): "
[ "$(ident "$f" "$vtt" "$json")" = "$before" ] && ok || bad "a kept file changed: $before / $(ident "$f" "$vtt" "$json")"
cmp -s "$f" "$tmp/ref.flac" && ok || bad "the kept file differs"
# by another spelling of the same path, and quiet
expect 0 "$coach" export "$r" -o "$tmp/files/../files/hug.flac" -q
[ -z "$out" ] && ok || bad "-q said: $out"
[ "$(ident "$f")" = "$first" ] && ok || bad "kept by another path: changed"

section "--rewrite writes it anyway, the same bytes"
expect 0 "$coach" export "$r" -o "$f" --rewrite
has "$out" "Wrote $f: "
[ "$(ident "$f")" != "$first" ] && ok || bad "--rewrite did not write"
cmp -s "$f" "$tmp/ref.flac" && ok || bad "--rewrite: other bytes"
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Kept $f (up to date)"
expect 2 "$coach" plan "$r" --rewrite
has "$err" "--rewrite is for export"

section "the file changed since (same size, time stamp put back): written again"
m=$(stat -c %.9Y "$f")
printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
touch -d "@$m" "$f" # its time stamp as it was: the ctime moved anyway
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
cmp -s "$f" "$tmp/ref.flac" && ok || bad "not restored"
# cut short
truncate -s 1000 "$f"
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
cmp -s "$f" "$tmp/ref.flac" && ok || bad "not restored after truncation"
# replaced by another file
cp "$tmp/ref.flac" "$tmp/files/other" && mv "$tmp/files/other" "$f"
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
# removed
rm "$f"
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
cmp -s "$f" "$tmp/ref.flac" && ok || bad "not the same after removal"

section "another option or a changed routine: written again"
expect 0 "$coach" export "$r" -o "$f" --channels 2
has "$out" "Wrote $f: "
has "$out" "stereo"
expect 0 "$coach" export "$r" -o "$f" --channels 2
has "$out" "Kept $f (up to date)"
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
cmp -s "$f" "$tmp/ref.flac" && ok || bad "mono again: other bytes"
expect 0 "$coach" export "$r" -o "$f" --loudness broadcast
has "$out" "Wrote $f: "
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
sed -i 's/hold = 5/hold = 6/' "$r"
expect 0 "$coach" export "$r" -o "$f" --captions "$vtt"
has "$out" "Wrote $f: "
has "$out" "Wrote $vtt: "
cmp -s "$f" "$tmp/ref.flac" && bad "a longer hold, the same file" || ok
sed -i 's/hold = 6/hold = 5/' "$r"
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
cmp -s "$f" "$tmp/ref.flac" && ok || bad "back to hold = 5: other bytes"
# another format to another file: a record of its own; both kept after
expect 0 "$coach" export "$r" -o "$tmp/files/hug.wav"
has "$out" "Wrote $tmp/files/hug.wav"
expect 0 "$coach" export "$r" -o "$tmp/files/hug.wav"
has "$out" "Kept $tmp/files/hug.wav (up to date)"
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Kept $f (up to date)"

section "--no-cache: no record is looked at or kept"
expect 0 "$coach" export "$r" -o "$f" --no-cache
has "$out" "Wrote $f: "
expect 0 "$coach" export "$r" -o "$f" --no-cache
has "$out" "Wrote $f: "

section "damaged records: the export is done"
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
for rec in "$records"/*.export; do sed -i 's/^key \(.\)/key x/' "$rec"; done
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
for rec in "$records"/*.export; do : >"$rec"; done
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Kept $f (up to date)"

section "no place for records (a file where their directory goes): written every time, silently"
rm -rf "$records" && echo x >"$records"
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
[ -z "$err" ] && ok || bad "said: $err"
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "
rm -f "$records"

section "coach cache clear removes the records"
expect 0 "$coach" export "$r" -o "$f"
expect 0 "$coach" export "$r" -o "$tmp/files/hug.wav"
expect 0 "$coach" cache clear
has "$out" "and 2 export records"
[ ! -e "$records" ] && ok || bad "$records is still there"
expect 0 "$coach" export "$r" -o "$f"
has "$out" "Wrote $f: "

section "export --all: every unchanged file kept"
mkdir -p "$tmp/pkg/bin" "$tmp/pkg/routines" "$tmp/pkg/voices"
cp "$coach" "$tmp/pkg/bin/coach"
cp voices/en-us.ini "$tmp/pkg/voices/"
cp "$r" "$tmp/pkg/routines/one.ini"
printf '[routine]\ntitle = Two\n[say bye]\ntext = Goodbye.\n' >"$tmp/pkg/routines/two.ini"
(cd "$tmp/pkg" && COACH_DATA_DIR="$tmp/pkg" timeout 120 ./bin/coach export --all "$tmp/all" >/dev/null 2>&1) &&
  ok || bad "export --all failed"
all_before=$(ident "$tmp/all"/*)
sleep 0.05
(cd "$tmp/pkg" && COACH_DATA_DIR="$tmp/pkg" timeout 120 ./bin/coach export --all "$tmp/all" >"$tmp/all.out" 2>&1) &&
  ok || bad "export --all again failed: $(cat "$tmp/all.out")"
[ "$(ident "$tmp/all"/*)" = "$all_before" ] && ok || bad "export --all rewrote unchanged files"
printf '[routine]\ntitle = Two\n[say bye]\ntext = Good night.\n' >"$tmp/pkg/routines/two.ini"
(cd "$tmp/pkg" && COACH_DATA_DIR="$tmp/pkg" timeout 120 ./bin/coach export --all "$tmp/all" >/dev/null 2>&1) &&
  ok || bad "export --all after a change failed"
[ "$(ident "$tmp/all"/one.*)" = "$(head -3 <<<"$all_before")" ] &&
  ok || bad "one.* changed with two.ini"
[ "$(ident "$tmp/all/two.flac")" != "$(sed -n 4p <<<"$all_before")" ] && ok || bad "two.flac was not written again"

echo "uptodate: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
