#!/usr/bin/env bash
# Faults: what coach does when the world misbehaves, and that it loses
# nothing. Export to a full disk (a 64 KiB tmpfs, and the file size limit),
# to a read-only directory or over a read-only file, to a device, a pipe,
# a directory or a missing directory; SIGINT and SIGTERM in the middle of an
# export; espeak-ng's data missing; a routine that cannot be read; a history
# that cannot be written or read; the sound server killed while playing.
# Each fault: the exact exit status, a message naming the file and what to
# do, and no file changed (the directory's listing and every file's checksum
# are the same before and after: no temporary file left, an earlier file of
# that name byte-identical).
#
# Privileges are chosen here, so that it runs as root and as a user: a
# private mount namespace (`unshare -m` as root, `unshare -rm` as a user)
# for tmpfs mounts; as root, permission faults run as nobody (root ignores
# file permissions), as a user, chmod does. What the machine cannot do is
# skipped with a SKIP line and the rest still runs (most faults need nothing
# special, so this never exits 77). The play faults need the private
# PulseAudio of tests/tools/pulse_env.sh; without it they are skipped.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/faults.$$
rm -rf "$tmp"
mkdir -p "$tmp"
chmod 755 "$tmp"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac

. "$src/tests/tools/pulse_env.sh" # its EXIT trap also runs our cleanup
cleanup() {
  [ -n "${bg_pid:-}" ] && kill -KILL "$bg_pid" 2>/dev/null
  chmod -R u+rwx "$tmp" 2>/dev/null
  [ -n "${nobody_dir:-}" ] && rm -rf "$nobody_dir"
  [ "${fail:-1}" -eq 0 ] && rm -rf "$tmp"
}
pulse_on_exit cleanup

cd "$src"
export COACH_DATA_DIR="$src" HOME="$tmp/home" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE="$tmp/home/history.tsv"
unset ESPEAK_DATA_PATH
mkdir -p "$tmp/home"

. "$src/tests/tools/checks.sh"
# snap DIR: every entry (hidden ones too) with its type, size and checksum
snap() {
  (cd "$1" && find . -mindepth 1 -printf '%P %y %s\n' | LC_ALL=C sort &&
    find . -type f -exec sha256sum {} + | LC_ALL=C sort -k 2)
}
export -f snap
# same DIR SNAPFILE WHAT: DIR is as it was when SNAPFILE was taken
same() {
  if [ "$(snap "$1")" = "$(cat "$2")" ]; then ok; else
    bad "$3: $1 changed: $(diff <(cat "$2") <(snap "$1") | tr '\n' ' ')"
  fi
}
# earlier DIR FILE...: puts an "earlier" file of each name in DIR
earlier() {
  local d=$1 f
  shift
  for f in "$@"; do printf 'earlier %s\n' "$f" >"$d/$f"; done
}

# Routines: a short one (fast), and a long shipped one (for signals).
short=$tmp/short.ini
printf '[routine]\ntitle = Short\n[say hello]\ntext = Hello there.\n' >"$short"
long=$src/routines/lower-back-relief.ini
chmod 644 "$short"

# ---- mechanisms -----------------------------------------------------------
uid=$(id -u)
# NS: a private mount namespace in which tmpfs can be mounted
NS=()
if mount_ns "$tmp/probe"; then
  NS=("${MOUNT_NS[@]}")
else
  skip "no private mount namespace here (unshare): tmpfs faults fall back to the file size limit"
fi
# AS_USER: runs a command as a user whom file permissions bind: nobody when
# we are root, ourselves otherwise. own DIR gives DIR to that user.
AS_USER=()
nobody_dir=
if [ "$uid" = 0 ]; then
  if command -v setpriv >/dev/null; then
    AS_USER=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  elif command -v runuser >/dev/null && getent passwd nobody >/dev/null; then
    AS_USER=(runuser -u nobody --)
  fi
  # nobody must reach the binary, the voices and a directory of its own
  if [ ${#AS_USER[@]} -gt 0 ]; then
    perm=$tmp/perm
    mkdir -p "$perm"
    chown 65534:65534 "$perm"
    if ! "${AS_USER[@]}" sh -c "test -x '$coach' && test -r '$src/voices/en-us.ini' && test -w '$perm'"; then
      nobody_dir=$(mktemp -d /tmp/coach-faults.XXXXXX)
      chmod 755 "$nobody_dir"
      cp "$coach" "$nobody_dir/coach"
      mkdir -p "$nobody_dir/voices" && cp "$src/voices/en-us.ini" "$nobody_dir/voices/"
      perm=$nobody_dir/perm
      mkdir -p "$perm" && chown 65534:65534 "$perm"
      "${AS_USER[@]}" sh -c "test -x '$nobody_dir/coach' && test -w '$perm'" || AS_USER=()
    fi
  fi
  [ ${#AS_USER[@]} -gt 0 ] || skip "cannot run as nobody (setpriv, runuser): permission faults skipped"
else
  AS_USER=(env)
  perm=$tmp/perm
  mkdir -p "$perm"
fi
own() { [ "$uid" = 0 ] && chown -R 65534:65534 "$@"; return 0; }
# the binary, data and a routine that user can reach
pcoach=$coach pdata=$src
[ -n "$nobody_dir" ] && pcoach=$nobody_dir/coach pdata=$nobody_dir
if [ ${#AS_USER[@]} -gt 0 ]; then
  [ "$uid" = 0 ] && AS_USER+=(env)
  AS_USER+=(COACH_DATA_DIR="$pdata")
  pshort=$perm/short.ini
  cp "$short" "$pshort"
  chmod 644 "$pshort"
fi

# in_ns NAME SETUP CMD...: in a private mount namespace, runs the shell code
# SETUP (mounts into $M, puts files there), snapshots $M into $tmp/NAME.before,
# runs CMD (at most 60 s), snapshots $M again into NAME.after; CMD's status,
# stdout and stderr go to $st, $out and $err.
in_ns() {
  local name=$1 setup=$2
  shift 2
  rm -f "$tmp/$name".*
  M=$M T=$tmp "${NS[@]}" bash -c '
    name=$1 setup=$2
    shift 2
    eval "$setup" || { echo "setup failed" >"$T/$name.err"; echo 99 >"$T/$name.st"; exit; }
    snap "$M" >"$T/$name.before"
    timeout 60 "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null
    echo $? >"$T/$name.st"
    snap "$M" >"$T/$name.after"
  ' _ "$name" "$setup" "$@"
  st=$(cat "$tmp/$name.st" 2>/dev/null || echo none)
  out=$(cat "$tmp/$name.out" 2>/dev/null)
  err=$(cat "$tmp/$name.err" 2>/dev/null)
  echo "  $st: $(head -n 3 "$tmp/$name.err" 2>/dev/null | tr '\n' ' ')"
}
# ns_check NAME STATUS WHAT: the in_ns run exited STATUS and left $M as it was
ns_check() {
  [ "$st" = "$2" ] && ok || bad "$3: exited $st, wanted $2; stderr: $err"
  if [ -f "$tmp/$1.before" ] && cmp -s "$tmp/$1.before" "$tmp/$1.after"; then ok; else
    bad "$3: the directory changed: $(diff "$tmp/$1.before" "$tmp/$1.after" 2>&1 | tr '\n' ' ')"
  fi
}

# ---- the output is not a file we may write --------------------------------
section "output paths: a directory, a missing directory, a device, a pipe"
d=$tmp/paths
mkdir -p "$d/adir.wav" "$d/sub"
earlier "$d" a.vtt a.json
echo x >"$d/plain"
mkfifo "$d/pipe.wav"
ln -s /dev/full "$d/full.wav"
ln -s /dev/full "$d/full.vtt"
snap "$d" >"$tmp/paths.snap"
expect 4 "$coach" export "$short" -o "$d/adir.wav" --captions "$d/a.vtt"
has "$err" "coach: $d/adir.wav: is a directory"; has "$err" "name a file"
expect 4 "$coach" export "$short" -o "$d/sub/" -f flac
has "$err" "$d/sub/: is a directory"
expect 4 "$coach" export "$short" -o "$d/missing/a.wav" --chapters "$d/a.json"
has "$err" "$d/missing/a.wav: the directory $d/missing does not exist"
has "$err" "create the directory first"; has "$err" "no file was changed"
expect 4 "$coach" export "$short" -o "$d/a.wav" --captions "$d/missing/a.vtt"
has "$err" "$d/missing/a.vtt: the directory $d/missing does not exist"
expect 4 "$coach" export "$short" -o "$d/a.wav" --chapters "$d/plain/a.json"
has "$err" "$d/plain is not a directory"
expect 4 "$coach" export "$short" -o "$d/pipe.wav"
has "$err" "$d/pipe.wav: is not a regular file"
# /dev/full itself: no extension, so the format must be named; then it is
# refused before anything is written (no temporary file in /dev, and the
# device is never renamed over). Root could replace the real device node if
# that broke, so root tries it in a private /dev with nodes of its own.
expect 2 "$coach" export "$short" -o /dev/full; has "$err" "cannot tell the format"
if [ "$uid" != 0 ]; then
  expect 4 "$coach" export "$short" -o /dev/full -f wav
  has "$err" "coach: /dev/full: is not a regular file (a device"; has "$err" "regular files only"
elif [ ${#NS[@]} -gt 0 ]; then
  M=/dev
  in_ns devfull 'mount -t tmpfs -o mode=755 tmpfs /dev && mknod -m 666 /dev/full c 1 7 &&
    mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 &&
    mknod -m 666 /dev/urandom c 1 9 && ln -s /proc/self/fd /dev/fd' \
    "$coach" export "$short" -o /dev/full -f wav
  ns_check devfull 4 "export to /dev/full"
  grep -qx 'full c 0' "$tmp/devfull.after" && ok || bad "/dev/full was replaced: $(cat "$tmp/devfull.after")"
  has "$err" "coach: /dev/full: is not a regular file (a device"; has "$err" "regular files only"
else
  skip "export to /dev/full as root without a private /dev"
fi
expect 4 "$coach" export "$short" -o "$d/full.wav" -f wav
has "$err" "$d/full.wav: is not a regular file"
expect 4 "$coach" export "$short" -o "$d/a.wav" --captions "$d/full.vtt"
has "$err" "$d/full.vtt: is not a regular file"
[ -c /dev/full ] && ok || bad "/dev/full is no longer a character device"
[ -z "$(ls -A /dev | grep '^\.full\.')" ] && ok || bad "temporary files in /dev: $(ls -A /dev | grep '^\.full')"
same "$d" "$tmp/paths.snap" "output paths"
[ -L "$d/full.wav" ] && [ -p "$d/pipe.wav" ] && ok || bad "a link or the pipe was replaced"

# ---- a full disk ----------------------------------------------------------
section "full disk: a 64 KiB tmpfs"
if [ ${#NS[@]} -gt 0 ]; then
  M=$tmp/full
  mkdir -p "$M"
  full_setup='mount -t tmpfs -o size=64k tmpfs "$M" && cd "$M" &&
    for f in a.wav a.flac a.mp3 a.ogg a.vtt a.srt a.cue a.json; do echo "earlier $f" >$f; done'
  for fmt in wav flac mp3 ogg; do
    in_ns "full-$fmt" "$full_setup" "$coach" export "$short" -o "$M/a.$fmt" \
      --captions "$M/a.vtt" --chapters "$M/a.cue"
    ns_check "full-$fmt" 4 "full disk ($fmt)"
    has "$err" "coach: $M/a.$fmt: write failed: No space left on device"
    has "$err" "the disk is full: free some space"; has "$err" "no file was changed"
  done
  # the disk fills while the sidecars are written (they come before the
  # audio): the audio, on another disk, is not written either
  r=$tmp/roomy
  mkdir -p "$r"
  earlier "$r" b.wav
  snap "$r" >"$tmp/roomy.snap"
  # 8 KiB left: the captions (21 KB) fill it while being written
  sidecar_setup='mount -t tmpfs -o size=64k tmpfs "$M" && echo earlier >"$M/b.srt" &&
    echo earlier >"$M/b.json" && head -c 49152 /dev/zero >"$M/filler"'
  in_ns full-captions "$sidecar_setup" "$coach" export "$long" -o "$r/b.wav" --captions "$M/b.srt"
  ns_check full-captions 4 "captions on a full disk"
  has "$err" "coach: $M/b.srt: write failed: No space left on device"; has "$err" "disk is full"
  same "$r" "$tmp/roomy.snap" "captions on a full disk: the audio's directory"
  in_ns full-chapters "$sidecar_setup && head -c 8192 /dev/zero >\"\$M/filler2\"" \
    "$coach" export "$short" -o "$r/b.wav" --chapters "$M/b.json"
  ns_check full-chapters 4 "chapters on a full disk"
  has "$err" "coach: $M/b.json: write failed: No space left on device"
  same "$r" "$tmp/roomy.snap" "chapters on a full disk: the audio's directory"
  # the audio fills the disk after the sidecars were written elsewhere:
  # their temporary files go too, the earlier ones stay
  earlier "$r" b.vtt b.json
  snap "$r" >"$tmp/roomy.snap"
  in_ns full-audio 'mount -t tmpfs -o size=64k tmpfs "$M"' \
    "$coach" export "$short" -o "$M/b.mp3" --captions "$r/b.vtt" --chapters "$r/b.json"
  ns_check full-audio 4 "audio on a full disk"
  has "$err" "$M/b.mp3: write failed: No space left on device"
  same "$r" "$tmp/roomy.snap" "audio on a full disk: the sidecars' directory"
else
  skip "full tmpfs: no mount namespace"
fi

section "full disk: the file size limit (ulimit -f, EFBIG)"
d=$tmp/fsize
mkdir -p "$d"
earlier "$d" a.wav a.mp3 a.flac a.vtt a.json
snap "$d" >"$tmp/fsize.snap"
# SIGXFSZ at its default disposition (env resets it even if this shell was
# started with it ignored), as a user's shell has it: coach itself must
# ignore it, so that write() fails with EFBIG instead of the signal killing
# coach (status 153) with its temporary files left behind
for fmt in wav mp3 flac; do
  expect 4 bash -c 'ulimit -f 64; exec env --default-signal=XFSZ "$@"' _ "$coach" export "$short" \
    -o "$d/a.$fmt" --captions "$d/a.vtt" --chapters "$d/a.json"
  has "$err" "$d/a.$fmt: write failed: File too large"; has "$err" "file size limit (ulimit -f)"
  has "$err" "no file was changed"
done
same "$d" "$tmp/fsize.snap" "file size limit"

# ---- read-only places -----------------------------------------------------
section "read-only: a read-only file system"
if [ ${#NS[@]} -gt 0 ]; then
  M=$tmp/ro
  mkdir -p "$M"
  ro_setup='mount -t tmpfs -o size=1m tmpfs "$M" && cd "$M" &&
    for f in a.wav a.flac a.vtt a.json; do echo "earlier $f" >$f; done &&
    mount --bind "$M" "$M" && mount -o remount,bind,ro "$M"'
  for fmt in wav flac; do
    in_ns "ro-$fmt" "$ro_setup" "$coach" export "$short" -o "$M/a.$fmt" --captions "$M/a.vtt"
    ns_check "ro-$fmt" 4 "read-only file system ($fmt)"
    has "$err" "coach: $M/a.$fmt: cannot write in the directory $M: Read-only file system"
    has "$err" "the file system is read-only: write somewhere else"
  done
  in_ns ro-sidecar "$ro_setup" "$coach" export "$short" -o "$tmp/ro-ok.wav" --chapters "$M/a.json"
  ns_check ro-sidecar 4 "chapters on a read-only file system"
  has "$err" "$M/a.json: cannot write in the directory $M: Read-only file system"
  [ ! -e "$tmp/ro-ok.wav" ] && ok || bad "audio written although its chapters could not be"
else
  skip "read-only tmpfs: no mount namespace"
fi

section "read-only: a directory and a file without write permission"
if [ ${#AS_USER[@]} -gt 0 ]; then
  d=$perm/rodir
  mkdir -p "$d"
  earlier "$d" a.wav a.mp3 a.vtt
  own "$d"
  chmod 555 "$d"
  snap "$d" >"$tmp/rodir.snap"
  for fmt in wav mp3; do
    expect 4 "${AS_USER[@]}" "$pcoach" export "$pshort" -o "$d/a.$fmt" --captions "$d/a.vtt"
    has "$err" "coach: $d/a.$fmt: cannot write in the directory $d: Permission denied"
    has "$err" "no permission"
  done
  same "$d" "$tmp/rodir.snap" "read-only directory"
  chmod 755 "$d"
  # a writable directory, read-only files in it: not replaced (a rename
  # could replace them; their mode says keep them)
  d=$perm/rofile
  mkdir -p "$d"
  earlier "$d" a.flac a.srt
  own "$d"
  chmod 444 "$d/a.flac" "$d/a.srt"
  snap "$d" >"$tmp/rofile.snap"
  expect 4 "${AS_USER[@]}" "$pcoach" export "$pshort" -o "$d/a.flac"
  has "$err" "coach: $d/a.flac: the file exists and is read-only (Permission denied): it is not replaced"
  expect 4 "${AS_USER[@]}" "$pcoach" export "$pshort" -o "$d/b.flac" --captions "$d/a.srt"
  has "$err" "$d/a.srt: the file exists and is read-only"
  same "$d" "$tmp/rofile.snap" "read-only files"
else
  skip "permission faults: no unprivileged user"
fi

# ---- signals mid-export ---------------------------------------------------
# sig_export NAME SIGNAL STATUS WORD FILE ARGS...: starts an export to FILE,
# sends SIGNAL once FILE's temporary file is being written, wants STATUS,
# WORD in the message, and the directory as it was
sig_export() {
  local name=$1 sig=$2 want=$3 word=$4 file=$5
  shift 5
  local dir=${file%/*} base=${file##*/}
  snap "$dir" >"$tmp/$name.snap"
  timeout 60 "$coach" export "$@" -o "$file" -q 2>"$tmp/$name.err" </dev/null &
  bg_pid=$!
  local i seen=
  for i in $(seq 600); do # 30 s
    if ls -A "$dir" | grep -q "^\.$base\.coach-......\$"; then seen=1; break; fi
    kill -0 "$bg_pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$seen" ] && ok || bad "$name: no temporary file for $file appeared"
  kill "-$sig" "$bg_pid" 2>/dev/null
  wait "$bg_pid"
  local got=$?
  bg_pid=
  err=$(cat "$tmp/$name.err")
  echo "  $got: $err"
  [ "$got" = "$want" ] && ok || bad "$name: exited $got, wanted $want; stderr: $err"
  has "$err" "coach: $word; $file was not written (no file was changed)"
  same "$dir" "$tmp/$name.snap" "$name"
}
section "signals mid-export"
d=$tmp/sig
mkdir -p "$d"
earlier "$d" long.wav long.mp3 long.flac long.vtt long.json
sig_export sigint-wav INT 130 interrupted "$d/long.wav" "$long" --captions "$d/long.vtt" \
  --chapters "$d/long.json"
sig_export sigint-mp3 INT 130 interrupted "$d/long.mp3" "$long" --captions "$d/long.vtt"
sig_export sigterm-flac TERM 143 terminated "$d/long.flac" "$long" --chapters "$d/long.json"
sig_export sigterm-mp3 TERM 143 terminated "$d/long.mp3" "$long"
# export --all forwards the signal to its exports and ends with its status
d=$tmp/sig-all
mkdir -p "$d"
"$coach" export --all "$d" -f wav >"$tmp/all.out" 2>"$tmp/all.err" </dev/null &
bg_pid=$!
for i in $(seq 600); do
  ls -A "$d" | grep -q '^\..*\.wav\.coach-......$' && break
  sleep 0.05
done
kill -TERM "$bg_pid"
wait "$bg_pid"
st=$?
bg_pid=
echo "  export --all: $st"
[ "$st" = 143 ] && ok || bad "export --all after SIGTERM exited $st, wanted 143"
[ -z "$(ls -A "$d" | grep '^\.')" ] && ok || bad "export --all left temporary files: $(ls -A "$d")"

# ---- espeak-ng's data missing ----------------------------------------------
section "espeak-ng data missing"
mkdir -p "$tmp/empty"
d=$tmp/speech
mkdir -p "$d"
earlier "$d" a.wav a.vtt
snap "$d" >"$tmp/speech.snap"
export ESPEAK_DATA_PATH=$tmp/empty
speech_msg() {
  has "$err" "espeak-ng cannot start: its data is missing from $tmp/empty"
  has "$err" "install the package espeak-ng-data"; has "$err" "ESPEAK_DATA_PATH"
}
expect 5 "$coach" export "$short" -o "$d/a.wav" --captions "$d/a.vtt"; speech_msg
expect 5 "$coach" plan "$short"; speech_msg # the plan needs every phrase's length
expect 5 "$coach" check "$short"; speech_msg
expect 5 "$coach" voices; speech_msg
expect 0 "$coach" list # no speech needed
same "$d" "$tmp/speech.snap" "espeak-ng data missing"
unset ESPEAK_DATA_PATH
if [ ${#NS[@]} -gt 0 ]; then
  # the package itself gone: an empty tmpfs over its directories
  M=$tmp/nodata
  mkdir -p "$M"
  hide='for x in /usr/lib/*/espeak-ng-data /usr/share/espeak-ng-data /usr/local/share/espeak-ng-data; do
    [ -d "$x" ] && { mount -t tmpfs tmpfs "$x" || exit 1; }; done; true'
  in_ns nodata "$hide" "$coach" export "$short" -o "$M/a.wav"
  ns_check nodata 5 "espeak-ng-data not installed"
  has "$err" "espeak-ng cannot start: its data is missing from /"
  has "$err" "sudo apt-get install espeak-ng-data"; lacks "$err" "ESPEAK_DATA_PATH"
else
  skip "hiding the system's espeak-ng data: no mount namespace"
fi
# a voice espeak-ng does not have is another fault: the profile is named
sed 's/^espeak *=.*/espeak = xx-zz/' voices/en-us.ini >"$tmp/xx.ini"
expect 5 "$coach" plan "$short" --voice "$tmp/xx.ini"
has "$err" "$tmp/xx.ini: espeak-ng has no voice 'xx-zz'"; has "$err" "coach voices"

# ---- a routine that cannot be read -----------------------------------------
section "routine unreadable"
d=$tmp/rt
mkdir -p "$d/dir.ini"
mkfifo "$d/fifo.ini"
snap "$d" >"$tmp/rt.snap"
expect 3 "$coach" export "$d/dir.ini" -o "$d/a.wav"
has "$err" "coach: $d/dir.ini: is a directory, not a routine file"
expect 3 "$coach" check "$d"; has "$err" "$d: is a directory"
# a FIFO is never opened (it would block until a writer comes)
expect 3 "$coach" export "$d/fifo.ini" -o "$d/a.wav"
has "$err" "$d/fifo.ini: is a device, pipe or socket, not a routine file"
expect 3 "$coach" plan /dev/null; has "$err" "/dev/null: is a device, pipe or socket"
same "$d" "$tmp/rt.snap" "routine unreadable"
if [ ${#AS_USER[@]} -gt 0 ]; then
  cp "$short" "$perm/secret.ini"
  own "$perm/secret.ini"
  chmod 000 "$perm/secret.ini"
  expect 3 "${AS_USER[@]}" "$pcoach" export "$perm/secret.ini" -o "$perm/secret.wav"
  has "$err" "$perm/secret.ini: cannot open: Permission denied"
  has "$err" "coach: the routine $perm/secret.ini cannot be read (see above): check the file and its permissions"
  [ ! -e "$perm/secret.wav" ] && ok || bad "exported an unreadable routine"
  expect 3 "${AS_USER[@]}" "$pcoach" check "$perm/secret.ini"; has "$err" "Permission denied"
  cp "$pdata/voices/en-us.ini" "$perm/voice.ini"
  own "$perm/voice.ini"
  chmod 000 "$perm/voice.ini"
  expect 3 "${AS_USER[@]}" "$pcoach" plan "$pshort" --voice "$perm/voice.ini"
  has "$err" "coach: the voice profile $perm/voice.ini cannot be read"
else
  skip "unreadable routine: no unprivileged user"
fi
if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
  # found, then gone before it is opened; a disk error while reading
  expect 3 strace -f -o /dev/null -P "$short" -e trace=openat -e inject=openat:error=ENOENT \
    "$coach" plan "$short"
  has "$err" "$short: cannot open: No such file or directory"
  expect 3 strace -f -o /dev/null -P "$short" -e trace=read -e inject=read:error=EIO \
    "$coach" check "$short"
  has "$err" "$short: cannot read: Input/output error"; has "$err" "cannot be read"
else
  skip "a routine vanishing or failing mid-read: no strace"
fi

# ---- the history ------------------------------------------------------------
section "history that cannot be read"
# status 4 (coach(1)); the message's advice comes from cli_play.c's cmd_history
mkdir -p "$tmp/hdir"
COACH_HISTORY_FILE=$tmp/hdir expect 4 "$coach" history
has "$err" "coach: cannot read the history $tmp/hdir: Is a directory"; has "$err" "COACH_HISTORY_FILE"
# --progress without a readable history: a warning, the level unchanged
COACH_HISTORY_FILE=$tmp/hdir expect 0 "$coach" plan "$short" --progress
has "$err" "warning: cannot read the history $tmp/hdir"; has "$err" "level unchanged"
# a pipe or /dev/null keeps no history: read as none, never waited on
mkfifo "$tmp/hfifo"
COACH_HISTORY_FILE=$tmp/hfifo expect 0 "$coach" history; has "$out" "No sessions yet."
COACH_HISTORY_FILE=$tmp/hfifo expect 0 "$coach" plan "$short" --progress
has "$err" "progress: 0 completions in a row"
COACH_HISTORY_FILE=/dev/null expect 0 "$coach" history; has "$out" "No sessions yet."
if [ ${#AS_USER[@]} -gt 0 ]; then
  printf '2026-01-01T10:00:00\tshort\tShort\t1\t1\t60\tcompleted\n' >"$perm/history.tsv"
  own "$perm/history.tsv"
  chmod 000 "$perm/history.tsv"
  COACH_HISTORY_FILE=$perm/history.tsv expect 4 "${AS_USER[@]}" "$pcoach" history
  has "$err" "cannot read the history $perm/history.tsv: Permission denied"
fi

section "play: history not writable, espeak-ng data missing, the server killed"
play_routine=$tmp/play.ini
printf '[routine]\ntitle = Play test\nprepare = 2\n[exercise hold]\nname = Plank\nhold = 30\n[exercise two]\nname = Squat\nhold = 10\n' >"$play_routine"
if ! "$coach" --help 2>/dev/null | grep -q '^ *play '; then
  skip "this coach has no play command"
elif ! pulse_start "$tmp/pa"; then
  skip "play faults: PulseAudio cannot start here (reason above)"
else
  sock=$tmp/control.sock
  # play_bg NAME HISTORY [ARGS]: plays in the background, history to HISTORY
  play_bg() {
    local name=$1 hist=$2
    shift 2
    COACH_HISTORY_FILE=$hist timeout 60 "$coach" play "$play_routine" --socket "$sock" "$@" \
      </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
    bg_pid=$!
  }
  # stop_play: `coach ctl stop`, again until the socket answers
  stop_play() {
    local i
    for i in $(seq 40); do
      "$coach" ctl stop --socket "$sock" >/dev/null 2>&1 && return 0
      sleep 0.25
    done
    bad "coach ctl stop got no answer"
  }
  wait_bg() {
    wait "$bg_pid"
    st=$?
    bg_pid=
    out=$(cat "$tmp/$1.out")
    err=$(cat "$tmp/$1.err")
    echo "  $st: $(grep -v '^coach: played' "$tmp/$1.err" | tr '\n' ' ')"
  }
  # loud CAPTURE: the recording has sound in it (the coach played)
  loud() {
    command -v python3 >/dev/null || return 0
    python3 - "$1" <<'PY'
import array, sys, wave
w = wave.open(sys.argv[1])
a = array.array("h", w.readframes(w.getnframes()))
sys.exit(0 if a and max(abs(x) for x in a) > 1000 else 1)
PY
  }
  # play_history NAME HISTORY REASON: plays 2 s, stops; playback works, the
  # history cannot take the record: a warning naming it and the reason
  # (and what to do: cli_play.c's play_session words it)
  play_history() {
    local name=$1 hist=$2 reason=$3
    pulse_record "$tmp/$name.wav" || { bad "$name: cannot record"; return; }
    play_bg "$name" "$hist"
    sleep 2.5
    stop_play
    wait_bg "$name"
    pulse_record_stop
    [ "$st" = 0 ] && ok || bad "$name: exited $st, wanted 0; stderr: $err"
    has "$out" "Play test"
    loud "$tmp/$name.wav" && ok || bad "$name: nothing was heard"
    has "$err" "coach: warning: cannot record this session in the history $hist: $reason"
    has "$err" "COACH_HISTORY_FILE"
  }
  # /dev/null as the history: no history kept, and no warning either
  play_bg hist-null /dev/null
  sleep 1.5
  stop_play
  wait_bg hist-null
  [ "$st" = 0 ] && ok || bad "history /dev/null: exited $st, wanted 0; stderr: $err"
  lacks "$err" "warning"
  play_history hist-dir "$tmp/hdir" "Is a directory"
  play_history hist-full /dev/full "No space left on device"
  [ -c /dev/full ] && ok || bad "/dev/full is no longer a character device"
  if [ "$uid" != 0 ]; then
    mkdir -p "$tmp/hro"
    chmod 555 "$tmp/hro"
    play_history hist-ro "$tmp/hro/history.tsv" "Permission denied"
    [ ! -e "$tmp/hro/history.tsv" ] && ok || bad "a history appeared in a read-only directory"
    chmod 755 "$tmp/hro"
  fi

  # the history passes the file size limit: SIGXFSZ (at its default, as in
  # a user's shell) must not kill coach at the end of the session; the
  # append fails with EFBIG and is reported like any other
  hist=$tmp/home/fsize.tsv
  for i in $(seq 1300); do
    printf '2026-11-21T19:40:05\tplay\tPlay test\t2\t2\t40\tcompleted\t0\n'
  done >"$hist" # 70 KB, over the 64 KiB limit
  snap "$tmp/home" >"$tmp/hist-fsize.snap"
  COACH_HISTORY_FILE=$hist timeout 60 bash -c 'ulimit -f 64; exec env --default-signal=XFSZ "$@"' \
    _ "$coach" play "$play_routine" --socket "$sock" </dev/null >"$tmp/hist-fsize.out" \
    2>"$tmp/hist-fsize.err" &
  bg_pid=$!
  sleep 2.5
  stop_play
  wait_bg hist-fsize
  [ "$st" = 0 ] && ok || bad "history over the file size limit: exited $st, wanted 0 (153: SIGXFSZ)"
  has "$err" "coach: warning: cannot record this session in the history $hist: File too large"
  same "$tmp/home" "$tmp/hist-fsize.snap" "history over the file size limit"

  # espeak-ng's data missing: nothing plays, status 5, the same advice
  # (feeder.c words it, through speech_explain in speech.c)
  ESPEAK_DATA_PATH=$tmp/empty timeout 30 "$coach" play "$play_routine" --socket "$sock" \
    </dev/null >"$tmp/play-nodata.out" 2>"$tmp/play-nodata.err"
  st=$?
  err=$(cat "$tmp/play-nodata.err")
  echo "  $st: $err"
  [ "$st" = 5 ] && ok || bad "play without espeak-ng data exited $st, wanted 5"
  has "$err" "its data is missing"; has "$err" "espeak-ng-data"

  # a server that hangs (stopped) must not hold up what needs no sound:
  # espeak-ng 1.51 opens an audio device when it starts, even to make
  # speech into memory (libpcaudio waits 30 s for the server); speech.c
  # keeps it from doing so
  kill -STOP "$PULSE_PID"
  t0=$(date +%s%N)
  expect 0 "$coach" export "$short" -o "$tmp/hung.wav" -q
  took=$((($(date +%s%N) - t0) / 1000000))
  kill -CONT "$PULSE_PID"
  echo "  export with a hung sound server: ${took} ms"
  [ "$took" -lt 5000 ] && ok || bad "export took $took ms with a hung sound server"

  # play with the server hung: PortAudio's probe would wait 30 s per device
  # (minutes); sink_portaudio.c gives up after 10 s with status 6 and advice
  kill -STOP "$PULSE_PID"
  t0=$(date +%s%N)
  timeout 60 "$coach" play "$play_routine" --socket "$sock" </dev/null >"$tmp/play-hung.out" \
    2>"$tmp/play-hung.err"
  st=$?
  took=$((($(date +%s%N) - t0) / 1000000))
  kill -CONT "$PULSE_PID"
  err=$(cat "$tmp/play-hung.err")
  echo "  play with a hung sound server: status $st after ${took} ms: $err"
  [ "$st" = 6 ] && ok || bad "play with a hung sound server exited $st, wanted 6 (124: it hung)"
  [ "$took" -lt 20000 ] && ok || bad "play with a hung sound server took $took ms"
  has "$err" "does not answer"; has "$err" "coach export"

  # the server dies mid-play: status 7 within 5 s, a message, and the
  # partial session in the history
  hist=$tmp/home/lost.tsv
  rm -f "$hist"
  play_bg lost "$hist"
  sleep 3
  if pulse_kill_server KILL; then
    t0=$(date +%s%N)
    wait_bg lost
    took=$((($(date +%s%N) - t0) / 1000000))
    echo "  exited ${took} ms after the server died"
    [ "$st" = 7 ] && ok || bad "server killed: exited $st, wanted 7 (124: it hung)"
    [ "$took" -lt 5000 ] && ok || bad "server killed: took $took ms to exit"
    has "$err" "the audio device stopped"; has "$err" "coach export"
    rec=$(cat "$hist" 2>/dev/null)
    echo "  history: $rec"
    # routine, title, steps done, steps in all, seconds, ending, skipped
    awk -F'\t' 'NF == 8 && $2 == "play" && $3 == "Play test" && $4 < $5 && $5 == 2 &&
      $6 <= 5 && $7 == "error" && $8 == 0 { n++ } END { exit n != 1 }' "$hist" 2>/dev/null && ok ||
      bad "server killed: the history has no record of the partial session: '$rec'"
  else
    bad "could not kill the sound server"
  fi
  pulse_stop
fi

echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ] || echo "kept $tmp for a look" >&2
[ "$fail" -eq 0 ]
