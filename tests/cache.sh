#!/usr/bin/env bash
# The phrase cache (phrasecache.h) as a user meets it: exports cold, warm
# and with --no-cache are byte-identical; check fills it too; 'coach cache'
# shows it and 'coach cache clear' empties it; a small COACH_CACHE_MAX_MB
# evicts; two coaches exporting at once into one cache succeed and leave no
# temporary file; damaged entries (truncated, a flipped byte, another
# phrase's entry under the name) are misses, re-synthesized and replaced;
# a read-only cache directory (as nobody) works without writing, with one
# warning line at most; one on a full disk stores only whole entries and
# says so once. Every run has its own XDG_CACHE_HOME under
# $COACH_TEST_TMP: the real ~/.cache is never touched.
#
# espeak-ng's samples for a text depend on what the process synthesized
# before (by a few samples; DEPENDENCY-NOTES), so an export that mixes hits
# with fresh syntheses is not byte-identical to a --no-cache one: there the
# checks are the length (within 1 %) and that the next, warm export gives
# exactly the same bytes (every phrase then came back from the entries the
# mixed export stored).
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/cache.$$
rm -rf "$tmp"
mkdir -p "$tmp"
chmod 755 "$tmp"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
nobody_dir=
cleanup() {
  [ -n "$nobody_dir" ] && rm -rf "$nobody_dir"
  [ "${fail:-1}" -eq 0 ] && rm -rf "$tmp"
}
trap cleanup EXIT
cd "$src"
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE="$tmp/home/history.tsv" XDG_CACHE_HOME="$tmp/xdg"
unset COACH_CACHE_MAX_MB
mkdir -p "$tmp/home"
. "$src/tests/tools/checks.sh"
cache=$tmp/xdg/coach

# two small routines sharing some phrases, and a shipped one
a=$tmp/a.ini b=$tmp/b.ini
printf '[routine]\ntitle = Cache A\nprepare = 2\n[exercise hug]\nname = Knee hug\nsetup = Lie on your back.\ncue = Hug both knees.\nhold = 5\nreps = 2\n' >"$a"
printf '[routine]\ntitle = Cache B\nprepare = 2\n[exercise cat]\nname = Cat cow\ncue = Round, then arch the back.\nduration = 10\n[exercise hug]\nname = Knee hug\ncue = Hug both knees.\nhold = 5\n' >"$b"
chmod 644 "$a" "$b"
long=$src/routines/warm-up.ini

entries() { find "$cache" -name '*.phrase' 2>/dev/null | wc -l; }
temps() { find "$cache" -name '.tmp-*' 2>/dev/null | wc -l; }
same_file() { if cmp -s "$1" "$2"; then ok; else bad "$3: $1 and $2 differ"; fi; }
# near REF FILE WHAT: FILE's size within 1 % of REF's
near() {
  local r f
  r=$(stat -c %s "$1") f=$(stat -c %s "$2")
  if [ $(((f - r) * 100 / r)) -eq 0 ] && [ $(((r - f) * 100 / r)) -eq 0 ]; then ok; else
    bad "$3: $2 is $f bytes, $1 $r"
  fi
}

section "reference: --no-cache writes no cache at all"
expect 0 "$coach" export "$a" -o "$tmp/a-ref.wav" -q --no-cache
expect 0 "$coach" export "$b" -o "$tmp/b-ref.wav" -q --no-cache
expect 0 "$coach" export "$long" -o "$tmp/long-ref.wav" -q --no-cache
[ ! -e "$cache" ] && ok || bad "--no-cache made $cache"
expect 2 "$coach" list --no-cache
has "$err" "--no-cache is for"

section "cold, then warm: the same bytes; coach cache counts them"
expect 0 "$coach" cache
has "$out" "entries: 0"
expect 0 "$coach" export "$a" -o "$tmp/a-cold.wav" -q
same_file "$tmp/a-ref.wav" "$tmp/a-cold.wav" "cold export"
n_a=$(entries)
[ "$n_a" -gt 0 ] && ok || bad "a cold export stored no phrase"
[ "$(temps)" = 0 ] && ok || bad "temporary files left: $(temps)"
expect 0 "$coach" export "$a" -o "$tmp/a-warm.wav" -q
same_file "$tmp/a-ref.wav" "$tmp/a-warm.wav" "warm export"
[ "$(entries)" = "$n_a" ] && ok || bad "a warm export stored again: $(entries) entries, was $n_a"
expect 0 "$coach" cache
has "$out" "directory: $cache"
has "$out" "entries: $n_a"
has "$out" "limit: 256 MB"
expect 0 "$coach" export "$a" -o "$tmp/a-flac-cold.flac" -q --no-cache
expect 0 "$coach" export "$a" -o "$tmp/a-flac-warm.flac" -q
same_file "$tmp/a-flac-cold.flac" "$tmp/a-flac-warm.flac" "warm FLAC export"

section "check and plan fill the cache for export"
expect 0 "$coach" cache clear
has "$out" "removed $n_a entries"
[ "$(entries)" = 0 ] && ok || bad "clear left $(entries) entries"
expect 0 "$coach" check "$b"
n_b=$(entries)
[ "$n_b" -gt 0 ] && ok || bad "check stored no phrase"
expect 0 "$coach" plan "$b"
[ "$(entries)" = "$n_b" ] && ok || bad "plan after check stored again"
expect 0 "$coach" export "$b" -o "$tmp/b-warm.wav" -q
same_file "$tmp/b-ref.wav" "$tmp/b-warm.wav" "export after check"
[ "$(entries)" = "$n_b" ] && ok || bad "export after check stored again"
expect 2 "$coach" cache bogus

section "damaged entries: misses, re-synthesized, replaced"
mkdir -p "$tmp/good"
cp "$cache"/*.phrase "$tmp/good/"
mapfile -t es < <(cd "$cache" && ls *.phrase | LC_ALL=C sort)
if [ "${#es[@]}" -ge 4 ]; then
  truncate -s 100 "$cache/${es[0]}"                            # short
  size=$(stat -c %s "$cache/${es[1]}")
  old=$(od -An -tu1 -j $((size - 7)) -N 1 "$cache/${es[1]}" | tr -d ' ')
  printf "\\x$(printf %02x $((old ^ 0xff)))" |
    dd of="$cache/${es[1]}" bs=1 seek=$((size - 7)) conv=notrunc 2>/dev/null # a flipped byte in the audio
  cp "$cache/${es[3]}" "$cache/${es[2]}"                        # another phrase's entry
  : >"$cache/${es[3]}"                                          # empty
  expect 0 "$coach" export "$b" -o "$tmp/b-damaged.wav" -q
  near "$tmp/b-ref.wav" "$tmp/b-damaged.wav" "export over damaged entries"
  for e in "${es[@]:0:4}"; do
    [ "$(stat -c %s "$cache/$e")" -gt 1000 ] && ok || bad "entry $e not replaced"
  done
  [ "$(entries)" = "$n_b" ] && ok || bad "$(entries) entries after the repair, wanted $n_b"
  expect 0 "$coach" export "$b" -o "$tmp/b-repaired.wav" -q
  same_file "$tmp/b-damaged.wav" "$tmp/b-repaired.wav" "warm export from the replaced entries"
else
  bad "only ${#es[@]} entries to damage"
fi

section "eviction: COACH_CACHE_MAX_MB=1 keeps the cache under 1 MB"
# from empty: with some of its phrases cached, the ones synthesized would
# be split between the workers otherwise, and their samples can differ by
# a few (synthpool.h)
expect 0 "$coach" cache clear
expect 0 env COACH_CACHE_MAX_MB=1 "$coach" export "$long" -o "$tmp/long-small.wav" -q
same_file "$tmp/long-ref.wav" "$tmp/long-small.wav" "export with a small cache"
bytes=$(du -sb --apparent-size "$cache" | cut -f1)
kept=$(find "$cache" -name '*.phrase' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
[ "$kept" -le 1048576 ] && [ "$kept" -gt 0 ] && ok || bad "1 MB cache holds $kept bytes"
expect 0 env COACH_CACHE_MAX_MB=1 "$coach" cache
has "$out" "limit: 1 MB"
expect 0 env COACH_CACHE_MAX_MB=0 "$coach" export "$a" -o "$tmp/a-off.wav" -q
same_file "$tmp/a-ref.wav" "$tmp/a-off.wav" "export with the cache off"
: "$bytes"

section "concurrent writers: two coaches, one cache, the same and different routines"
expect 0 "$coach" cache clear
for round in 1 2; do
  "$coach" export "$long" -o "$tmp/c1.wav" -q &
  p1=$!
  "$coach" export "$long" -o "$tmp/c2.wav" -q &
  p2=$!
  "$coach" export "$a" -o "$tmp/c3.wav" -q &
  p3=$!
  wait $p1 && wait $p2 && wait $p3 && ok || bad "a concurrent export failed (round $round)"
  near "$tmp/long-ref.wav" "$tmp/c1.wav" "concurrent export 1, round $round"
  near "$tmp/long-ref.wav" "$tmp/c2.wav" "concurrent export 2, round $round"
  near "$tmp/a-ref.wav" "$tmp/c3.wav" "concurrent export 3, round $round"
  [ "$(temps)" = 0 ] && ok || bad "temporary files left after concurrent exports: $(temps)"
done
# round 2 was warm: both coaches read the same entries
same_file "$tmp/c1.wav" "$tmp/c2.wav" "two warm concurrent exports"
expect 0 "$coach" export "$long" -o "$tmp/c4.wav" -q
same_file "$tmp/c1.wav" "$tmp/c4.wav" "a warm export after the concurrent ones"

section "read-only cache directory (as nobody): works, writes nothing, one warning at most"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  nobody_dir=$(mktemp -d /tmp/coach-cache.XXXXXX)
  chmod 755 "$nobody_dir"
  cp "$coach" "$nobody_dir/coach"
  # a cross build's coach is an emulator wrapper that copies its binary
  # beside itself on first run: done here, as root, not by nobody
  "$nobody_dir/coach" --version >/dev/null 2>&1
  mkdir -p "$nobody_dir/voices" "$nobody_dir/out" "$nobody_dir/home"
  cp "$src/voices/en-us.ini" "$nobody_dir/voices/"
  cp "$a" "$b" "$nobody_dir/"
  chown 65534:65534 "$nobody_dir/out" "$nobody_dir/home"
  mkdir -p "$nobody_dir/xdg/coach"
  cp "$tmp/good/"*.phrase "$nobody_dir/xdg/coach/" # b's phrases, owned by root
  chmod -R a+rX "$nobody_dir/xdg"
  before=$(cd "$nobody_dir/xdg" && find . -printf '%P %s %T@\n' | LC_ALL=C sort)
  as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups env COACH_DATA_DIR="$nobody_dir"
    HOME="$nobody_dir/home" XDG_CACHE_HOME="$nobody_dir/xdg" COACH_HISTORY_FILE="$nobody_dir/home/h.tsv")
  # warm: every phrase found, nothing to write, nothing said
  expect 0 "${as_nobody[@]}" "$nobody_dir/coach" export "$nobody_dir/b.ini" -o "$nobody_dir/out/b.wav" -q
  same_file "$tmp/b-ref.wav" "$nobody_dir/out/b.wav" "read-only warm export"
  [ -z "$err" ] && ok || bad "a warm read-only cache said: $err"
  # cold: the phrases cannot be kept; one line says so
  expect 0 "${as_nobody[@]}" "$nobody_dir/coach" export "$nobody_dir/a.ini" -o "$nobody_dir/out/a.wav" -q
  near "$tmp/a-ref.wav" "$nobody_dir/out/a.wav" "read-only export, partly cold"
  [ "$(printf '%s\n' "$err" | grep -c .)" -le 1 ] && ok || bad "more than one line: $err"
  has "$err" "not kept"
  after=$(cd "$nobody_dir/xdg" && find . -printf '%P %s %T@\n' | LC_ALL=C sort)
  [ "$(printf '%s\n' "$before" | cut -d' ' -f1,2)" = "$(printf '%s\n' "$after" | cut -d' ' -f1,2)" ] &&
    ok || bad "the read-only cache changed"
  # a cache that cannot even be made (XDG_CACHE_HOME under a file): the same
  expect 0 "${as_nobody[@]}" XDG_CACHE_HOME="$nobody_dir/a.ini/x" "$nobody_dir/coach" export \
    "$nobody_dir/a.ini" -o "$nobody_dir/out/a2.wav" -q
  same_file "$tmp/a-ref.wav" "$nobody_dir/out/a2.wav" "export with no cache directory"
  [ "$(printf '%s\n' "$err" | grep -c .)" -le 1 ] && ok || bad "more than one line: $err"
else
  skip "not root or no setpriv: read-only cache as nobody skipped"
fi

section "a cache on a full disk: the export goes on, one warning, only whole entries"
# a 128 KiB tmpfs in a private mount namespace holds a few of the long
# routine's phrases, then is full
mkdir -p "$tmp/fullcopy"
if mount_ns "$tmp/fullc"; then
  st=$("${MOUNT_NS[@]}" bash -c '
    mount -t tmpfs -o size=128k tmpfs "$1/fullc" || exit 99
    XDG_CACHE_HOME=$1/fullc "$2" export "$3" -o "$1/full.wav" -q 2>"$1/full.err"
    r=$?
    cp -a "$1/fullc/." "$1/fullcopy/"
    exit $r' _ "$tmp" "$coach" "$long"; echo $?)
  err=$(cat "$tmp/full.err")
  [ "$st" = 0 ] && ok || bad "export with its cache on a full disk exited $st: $err"
  near "$tmp/long-ref.wav" "$tmp/full.wav" "export with its cache on a full disk"
  [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] && ok || bad "not one line: $err"
  has "$err" "No space left on device"
  has "$err" "not kept"
  n_full=$(find "$tmp/fullcopy" -name '*.phrase' | wc -l)
  n_tmp=$(find "$tmp/fullcopy" -name '.tmp-*' | wc -l)
  [ "$n_full" -gt 0 ] && ok || bad "no entry fitted on the small disk"
  [ "$n_tmp" = 0 ] && ok || bad "temporary files left on the full disk: $n_tmp"
  # what was stored is whole: read by an export with room, every entry a hit,
  # none replaced (a damaged one would be synthesized again and rewritten)
  sums=$(cd "$tmp/fullcopy/coach" && md5sum ./*.phrase)
  expect 0 env XDG_CACHE_HOME="$tmp/fullcopy" "$coach" export "$long" -o "$tmp/full2.wav" -q
  [ "$(cd "$tmp/fullcopy/coach" && md5sum $(printf '%s\n' "$sums" | awk '{print $2}'))" = "$sums" ] &&
    ok || bad "an entry stored on the full disk was replaced"
  [ "$(find "$tmp/fullcopy" -name '*.phrase' | wc -l)" -gt "$n_full" ] && ok || bad "the export with room stored nothing"
else
  skip "no private mount namespace here (unshare): the full disk is not tried"
fi

section "no cache directory at all (neither XDG_CACHE_HOME nor HOME): silent"
expect 0 env -u HOME XDG_CACHE_HOME= "$coach" export "$a" -o "$tmp/a-nohome.wav" -q
same_file "$tmp/a-ref.wav" "$tmp/a-nohome.wav" "export without a cache directory"
[ -z "$err" ] && ok || bad "said: $err"

echo "cache: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
