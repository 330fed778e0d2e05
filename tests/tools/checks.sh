# Checks for the shell tests that drive coach (faults.sh, attack_*.sh):
# counters and the one way to run a command and look at what it said.
# Sourced after $tmp exists; the file names expect writes (default
# $tmp/out, $tmp/err) can be changed first with expect_out, expect_err.
pass=0 fail=0 skipped=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
skip() { skipped=$((skipped + 1)); echo "SKIP: $*" >&2; }
section() { echo "== $*"; }
# expect STATUS CMD...: runs CMD (at most 60 s: a hang fails, as 124),
# stdout and stderr in $out and $err (and the files $expect_out,
# $expect_err), its status in $got
expect() {
  local want=$1 o=${expect_out:-$tmp/out} e=${expect_err:-$tmp/err}
  shift
  timeout 60 "$@" >"$o" 2>"$e" </dev/null
  got=$?
  out=$(cat "$o")
  err=$(cat "$e")
  if [ "$got" = "$want" ]; then ok; else bad "$* exited $got, wanted $want; stderr: $err"; fi
  echo "  $got: $(head -n 3 "$e" | cut -c1-200 | tr '\n' ' ')"
}
# mount_ns DIR: MOUNT_NS becomes the command that runs a program in a
# private mount namespace (as root `unshare -m`, as a user `unshare -rm`,
# root inside it), tried by mounting a tmpfs on DIR in one; fails (and
# MOUNT_NS is empty) where the machine cannot
mount_ns() {
  MOUNT_NS=(unshare -m --propagation private)
  [ "$(id -u)" = 0 ] || MOUNT_NS=(unshare -rm --propagation private)
  mkdir -p "$1"
  command -v unshare >/dev/null && "${MOUNT_NS[@]}" sh -c "mount -t tmpfs -o size=64k tmpfs '$1'" 2>/dev/null && return 0
  MOUNT_NS=()
  return 1
}
has() { case "$1" in *"$2"*) ok ;; *) bad "expected '$2' in: $1" ;; esac; }
lacks() { case "$1" in *"$2"*) bad "did not expect '$2' in: $1" ;; *) ok ;; esac; }
