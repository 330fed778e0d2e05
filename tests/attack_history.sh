#!/usr/bin/env bash
# Attacks on the session history (issue 10, items 9 and 13), as a user
# meets them through `coach history`, `coach plan --progress` and
# `coach play`:
# - a symbolic link as the history, or planted on the way to it in a shared
#   directory (or a directory another user made there), must not make coach
#   (root here) read or append to another file: refused, the target
#   unchanged, a message naming the path, why and COACH_HISTORY_FILE;
# - a history right in a directory others can write to is refused too;
# - a 300 MB damaged line (sparse: no disk used) under `ulimit -v 200000`
#   is skipped with a warning naming file:line, and the records after it
#   still count for --progress;
# - a record that does not fit (a full 64 KiB tmpfs, the file size limit)
#   leaves the history byte-identical and the warning gives the real
#   reason, not "Input/output error".
# The play cases need the private PulseAudio of tests/tools/pulse_env.sh
# and are skipped without it; the tmpfs one needs a private mount namespace.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/attack_history.$$
rm -rf "$tmp"
mkdir -p "$tmp"
chmod 755 "$tmp"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac

. "$src/tests/tools/pulse_env.sh" # its EXIT trap also runs our cleanup
cleanup() {
  [ -n "${bg_pid:-}" ] && kill -KILL "$bg_pid" 2>/dev/null
  [ "${fail:-1}" -eq 0 ] && rm -rf "$tmp"
}
pulse_on_exit cleanup

cd "$src"
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
unset COACH_HISTORY_FILE XDG_STATE_HOME ESPEAK_DATA_PATH
mkdir -p "$tmp/home"

. "$src/tests/tools/checks.sh"
# unchanged FILE SUM WHAT: FILE still has the sha256 SUM
unchanged() {
  [ "$(sha256sum <"$1")" = "$2" ] && ok || bad "$3: $1 changed: $(tail -c 200 "$1")"
}
# rec DAY NAME: one completed record of the routine NAME
rec() { printf '2026-01-0%sT10:00:00\t%s\tShort\t1\t1\t60\tcompleted\t0\n' "$1" "$2"; }

short=$tmp/short.ini
printf '[routine]\ntitle = Short\n[say hello]\ntext = Hello there.\n' >"$short"

# The victim: a file the attacker wants root to write to (or read).
victim=$tmp/victim
mkdir -p "$victim"
rec 1 secret >"$victim/target.tsv"
victim_sum=$(sha256sum <"$victim/target.tsv")
# A shared directory, as /tmp: anyone may create entries (sticky bit).
shared=$tmp/shared
mkdir -p "$shared"
chmod 1777 "$shared"
uid=$(id -u)
# as_other CMD...: CMD as another user (nobody) when we are root and nobody
# can reach the shared directory, so the planted entries belong to someone
# else; ourselves otherwise (other=0)
other=0
if [ "$uid" = 0 ] && command -v setpriv >/dev/null &&
  setpriv --reuid=65534 --regid=65534 --clear-groups test -w "$shared" 2>/dev/null; then
  other=1
else
  skip "planted entries are ours: no other user can reach $shared"
fi
as_other() {
  if [ "$other" = 1 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi
}

# ---- item 9: reading through links --------------------------------------
section "the history is a symbolic link"
safe=$tmp/safe
mkdir -p "$safe"
chmod 700 "$safe"
ln -s "$victim/target.tsv" "$safe/history.tsv"
COACH_HISTORY_FILE=$safe/history.tsv expect 4 "$coach" history
lacks "$out" "secret"
has "$err" "coach: cannot read the history $safe/history.tsv: it is a symbolic link"
has "$err" "COACH_HISTORY_FILE"
COACH_HISTORY_FILE=$safe/history.tsv expect 0 "$coach" plan "$short" --progress
has "$err" "warning: cannot read the history $safe/history.tsv: it is a symbolic link"
has "$err" "level unchanged"; has "$err" "progress: 0 completions"

section "XDG_STATE_HOME in a shared directory, coach/ planted there"
# root's state directory is shared (XDG_STATE_HOME=/tmp, say); another user
# made coach/ first with a link in it, or made coach a link
as_other mkdir "$shared/coach"
as_other ln -s "$victim/target.tsv" "$shared/coach/history.tsv"
XDG_STATE_HOME=$shared expect 4 "$coach" history
lacks "$out" "secret"
if [ "$other" = 1 ]; then
  has "$err" "its directory $shared/coach belongs to another user (uid 65534)"
fi
has "$err" "COACH_HISTORY_FILE"
as_other rm -rf "$shared/coach"
as_other ln -s "$victim" "$shared/coach"
XDG_STATE_HOME=$shared expect 4 "$coach" history
lacks "$out" "secret"
has "$err" "$shared/coach is a symbolic link in a directory other users can write to"
XDG_STATE_HOME=$shared expect 0 "$coach" plan "$short" --progress
has "$err" "is a symbolic link in a directory other users can write to"
has "$err" "level unchanged"
unchanged "$victim/target.tsv" "$victim_sum" "read through a planted link"

section "a history right in a directory others can write to"
rec 1 short >"$shared/history.tsv"
COACH_HISTORY_FILE=$shared/history.tsv expect 4 "$coach" history
has "$err" "other users can write to its directory $shared"
mkdir -p "$tmp/group"
chmod 770 "$tmp/group"
COACH_HISTORY_FILE=$tmp/group/history.tsv expect 4 "$coach" history
has "$err" "other users can write to its directory $tmp/group"
# and what stays allowed: the default place, made private, and /dev/null
expect 0 "$coach" history; has "$out" "No sessions yet."
COACH_HISTORY_FILE=/dev/null expect 0 "$coach" history; has "$out" "No sessions yet."

# ---- item 13: a huge damaged line -----------------------------------------
section "a 300 MB damaged line under ulimit -v 200000"
big=$safe/big.tsv
rec 1 short >"$big"
truncate -s +300M "$big" # a hole: NUL bytes, no disk
{ echo; rec 2 short; rec 3 short; rec 4 short; } >>"$big"
# a sanitizer build reserves terabytes of shadow memory: it cannot run
# under any address-space limit, so this part needs a plain build
if ! (ulimit -v 200000 && exec "$coach" version) >/dev/null 2>&1 </dev/null; then
  skip "coach cannot start within 200 MB of address space (a sanitizer build)"
else
  COACH_HISTORY_FILE=$big expect 0 bash -c 'ulimit -v 200000 && exec "$0" plan "$1" --progress' \
    "$coach" "$short"
  has "$err" "progress: 4 completions in a row -> medium"
  has "$err" "$big:2: warning: 1 damaged line skipped"
  COACH_HISTORY_FILE=$big expect 0 bash -c 'ulimit -v 200000 && exec "$0" history' "$coach"
  has "$out" "2026-01-04 10:00: Short (short)"
  [ "$(grep -c 'Short (short)' "$tmp/out")" = 4 ] && ok || bad "history printed: $out"
  has "$err" "$big:2: warning: 1 damaged line skipped"
  [ "$(grep -c warning "$tmp/err")" = 1 ] && ok || bad "the damage is reported more than once: $err"
fi

# ---- play: appending ---------------------------------------------------------
section "play: the record never goes through a link; a full disk leaves no partial record"
play_routine=$tmp/play.ini
printf '[routine]\ntitle = Play test\nprepare = 2\n[exercise hold]\nname = Plank\nhold = 30\n' \
  >"$play_routine"
if ! pulse_start "$tmp/pa"; then
  skip "play: PulseAudio cannot start here (reason above)"
else
  sock=$tmp/control.sock
  # play_one NAME [PREFIX...]: plays (under PREFIX: env, a namespace) about
  # 2 s and stops it through the socket; $st, $out, $err. Status 6 (the
  # device probe timed out: a loaded machine) is tried once more.
  play_one() {
    play_try "$@"
    [ "$st" = 6 ] && { echo "  (no device in time: once more)"; play_try "$@"; }
  }
  play_try() {
    local name=$1
    shift
    "$@" timeout 60 "$coach" play "$play_routine" --socket "$sock" \
      </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
    bg_pid=$!
    sleep 2.5
    local i
    for i in $(seq 40); do
      "$coach" ctl stop --socket "$sock" >/dev/null 2>&1 && break
      sleep 0.25
    done
    wait "$bg_pid"
    st=$?
    bg_pid=
    out=$(cat "$tmp/$name.out")
    err=$(cat "$tmp/$name.err")
    echo "  $st: $(grep -v '^coach: played' "$tmp/$name.err" | tr '\n' ' ')"
  }
  # the history is a link (in our own directory): not appended through
  play_one link env COACH_HISTORY_FILE="$safe/history.tsv"
  [ "$st" = 0 ] && ok || bad "play, history a link: exited $st; $err"
  has "$err" "coach: warning: cannot record this session in the history $safe/history.tsv: it is a"
  has "$err" "history.tsv: it is a symbolic link, so it is not trusted"
  has "$err" "COACH_HISTORY_FILE"
  unchanged "$victim/target.tsv" "$victim_sum" "play appended through a link"
  # root's state in a shared directory where coach is a planted link
  play_one planted env XDG_STATE_HOME="$shared"
  [ "$st" = 0 ] && ok || bad "play, planted link: exited $st; $err"
  has "$err" "is a symbolic link in a directory other users can write to"
  unchanged "$victim/target.tsv" "$victim_sum" "play appended through a planted directory link"
  [ ! -e "$victim/history.tsv" ] && ok || bad "play created $victim/history.tsv through a link"
  # a good history still takes the record
  play_one fine env COACH_HISTORY_FILE="$safe/fine.tsv"
  [ "$(grep -c $'\tplay\tPlay test\t' "$safe/fine.tsv" 2>/dev/null)" = 1 ] && ok ||
    bad "no record in a good history: $err"
  mode=$(stat -c %a "$safe/fine.tsv" 2>&1)
  [ "$mode" = 600 ] && ok || bad "history mode $mode"

  # the file size limit: EFBIG (SIGXFSZ ignored, as coach runs it), rolled back
  limit=$safe/limit.tsv
  # 20 bytes below the limit of 2 KiB: the write is cut short, then fails
  { rec 1 short; head -c $((2048 - 20 - 51 - 1)) /dev/zero | tr '\0' '#'; echo; } >"$limit"
  [ "$(stat -c %s "$limit")" = 2028 ] && ok || bad "limit.tsv is not 2028 bytes"
  sum=$(sha256sum <"$limit")
  play_one limit bash -c 'trap "" XFSZ; ulimit -f 2; exec env COACH_HISTORY_FILE="$0" "$@"' "$limit"
  [ "$st" = 0 ] && ok || bad "play, file size limit: exited $st; $err"
  has "$err" "cannot record this session in the history $limit: File too large"
  lacks "$err" "Input/output error"
  unchanged "$limit" "$sum" "a record cut by the file size limit"

  # a full disk: a 64 KiB tmpfs in a private mount namespace
  mkdir -p "$tmp/full"
  if mount_ns "$tmp/probe"; then
    # in the namespace: the tmpfs, a history ending 20 bytes before a page
    # boundary, the rest filled; then the command, and the history's sum
    full=$tmp/full/history.tsv
    cat >"$tmp/full.sh" <<EOF
mount -t tmpfs -o size=64k,mode=700 tmpfs '$tmp/full' || exit 99
{ printf '%s\n' '$(rec 1 short)'
  head -c \$((4096 - 20 - 51 - 1)) /dev/zero | tr '\0' '#'; echo; } >'$full'
sha256sum <'$full' >'$tmp/full.before'
head -c 100000 /dev/zero >'$tmp/full/fill' 2>/dev/null
COACH_HISTORY_FILE='$full' "\$@"
st=\$?
sha256sum <'$full' >'$tmp/full.after'
stat -c %s '$full' >'$tmp/full.size'
exit \$st
EOF
    play_one full "${MOUNT_NS[@]}" bash "$tmp/full.sh"
    [ "$st" = 0 ] && ok || bad "play, full disk: exited $st; $err"
    has "$err" "cannot record this session in the history $full: No space left on device"
    lacks "$err" "Input/output error"
    cmp -s "$tmp/full.before" "$tmp/full.after" && ok ||
      bad "full disk: the history changed (size now $(cat "$tmp/full.size" 2>/dev/null))"
  else
    skip "full disk: no private mount namespace here (unshare)"
  fi
  pulse_stop
fi

echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ] || echo "kept $tmp for a look" >&2
[ "$fail" -eq 0 ]
