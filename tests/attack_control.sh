#!/usr/bin/env bash
# Attacks on a playing coach's inputs: the control socket and the signals,
# through a private PulseAudio (tests/tools/pulse_env.sh).
#   (a) 50 idle clients that connect and send nothing (and reconnect when
#       dropped) do not keep 5 `coach ctl where` from being answered.
#   (b) Out of descriptors (the limit lowered to the lowest free one while
#       playing): a `ctl` connection that cannot be accepted gets an answer
#       or nothing, but coach does not spin (its CPU time over 3 s, from
#       /proc/PID/stat, stays small) and says why, naming the errno;
#       SIGTERM then ends it with 143 promptly and the session is recorded.
#   (c) With XDG_RUNTIME_DIR unset, a hostile /tmp/coach-UID (another
#       user's, writable by all, a symlink) is refused by play and by ctl
#       with a message naming it (in a private mount namespace and /tmp).
#   (d) --socket under umask 000: the socket is still 0600.
#   (e) A fake listener that replies with escape sequences, C1 controls and
#       a bidi override: `coach ctl` prints none of them.
#   (f) Peer credentials: a client of another uid (nobody) is refused even
#       when it can reach the socket, and `coach ctl` refuses a listener of
#       another uid (it never hears the word).
# Exits 77 when PulseAudio or python3 cannot run here; parts that need
# root (setpriv, unshare, prlimit of another process) are skipped otherwise.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/attack_control.$$
rm -rf "$tmp"
mkdir -p "$tmp"
chmod 755 "$tmp"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
skip77() {
  echo "SKIP: $*" >&2
  rm -rf "$tmp"
  exit 77
}
"$coach" --help 2>/dev/null | grep -q '^ *play ' || skip77 "this coach has no play command"
py=$(command -v python3) || skip77 "python3 is needed"
[ -x /usr/bin/python3 ] && py=/usr/bin/python3 # one another user can run too

. "$src/tests/tools/pulse_env.sh"
cd "$src"
export COACH_DATA_DIR="$src" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE=$tmp/history.tsv

pass=0 fail=0 skipped=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
skip() { skipped=$((skipped + 1)); echo "SKIP: $*" >&2; }
has() { grep -q -- "$2" <<<"$1" && ok "$3" || bad "$3: '$2' not in: $1"; }

routine=$tmp/attack.ini
cat >"$routine" <<'EOF'
[routine]
title = Attack test
rest = 2
prepare = 2

[exercise hold]
name = Plank
hold = 300
EOF

# Helpers in Python: an idle flood, a fake listener.
cat >"$tmp/tools.py" <<'PY'
import os, select, socket, sys, time

def idle(path, n, seconds):
    """n connections that send nothing, reconnected whenever dropped."""
    end = time.time() + seconds
    conns = []
    while time.time() < end:
        while len(conns) < n:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(path)
            except (BlockingIOError, InterruptedError):
                pass  # a full backlog: counts as a waiting client
            except OSError:
                s.close()
                break
            conns.append(s)
        r, _, _ = select.select(conns, [], [], 0.05)
        for s in r:
            try:
                if s.recv(64) == b"":
                    conns.remove(s)
                    s.close()
            except OSError:
                conns.remove(s)
                s.close()

def fake(path, reply_hex, log):
    """Answers one connection with the given bytes; logs what it heard."""
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    l.bind(path)
    l.listen(4)
    open(log + ".ready", "w").close()
    l.settimeout(20)
    try:
        c, _ = l.accept()
    except socket.timeout:
        return
    c.settimeout(2)
    heard = b""
    try:
        heard = c.recv(256)
    except OSError:
        pass
    with open(log, "wb") as f:
        f.write(heard)
    try:
        c.sendall(bytes.fromhex(reply_hex))
    except OSError:
        pass  # the client went away (refused us)
    c.close()

if sys.argv[1] == "idle":
    idle(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
elif sys.argv[1] == "fake":
    fake(sys.argv[2], sys.argv[3], sys.argv[4])
PY

pulse_start "$tmp/pa" || skip77 "PulseAudio cannot start here (reason above)"
coach_pid=
bg_pids=()
cleanup() {
  [ -n "$coach_pid" ] && kill -KILL "$coach_pid" 2>/dev/null
  for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  [ "$fail" -eq 0 ] && rm -rf "$tmp"
}
pulse_on_exit cleanup

# start NAME [ARGS...]: `coach play` in the background on $tmp/NAME.sock
# (or ARGS' own --socket); waits until the socket answers
start() {
  local name=$1
  shift
  timeout 120 "$coach" play "$routine" "$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
  coach_pid=$!
}
# wait_sock PATH: until `coach ctl where` answers there (20 s)
wait_sock() {
  local i
  for i in $(seq 100); do
    "$coach" ctl where --socket "$1" >/dev/null 2>&1 && return 0
    kill -0 "$coach_pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
# finish SIGNAL SECONDS: sends SIGNAL, waits at most SECONDS; the status
# (124 if it had to be killed) in $st, the time taken in $took
finish() {
  local t0 i
  t0=$(date +%s%N)
  kill "-$1" "$coach_pid" 2>/dev/null
  st=124
  for i in $(seq $(($2 * 10))); do
    kill -0 "$coach_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$coach_pid" 2>/dev/null; then
    kill -KILL "$coach_pid"
    wait "$coach_pid" 2>/dev/null
  else
    wait "$coach_pid"
    st=$?
  fi
  took=$((($(date +%s%N) - t0) / 1000000))
  coach_pid=
}
# cpu_ticks PID: user + system time in clock ticks
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
records() { [ -f "$COACH_HISTORY_FILE" ] && wc -l <"$COACH_HISTORY_FILE" || echo 0; }

# ---- (a) idle clients ----
echo "(a) 50 idle clients, 5 ctl calls"
sock=$tmp/a.sock
start a --socket "$sock"
if wait_sock "$sock"; then
  "$py" "$tmp/tools.py" idle "$sock" 50 25 &
  flood=$!
  bg_pids+=("$flood")
  sleep 2
  answered=0
  for i in 1 2 3 4 5; do
    r=$(timeout 10 "$coach" ctl where --socket "$sock" 2>&1)
    echo "  ctl where -> $r"
    case $r in ok*) answered=$((answered + 1)) ;; esac
  done
  [ "$answered" = 5 ] && ok "5 of 5 ctl calls answered among 50 idle clients" ||
    bad "$answered of 5 ctl calls answered among 50 idle clients"
  kill "$flood" 2>/dev/null
  wait "$flood" 2>/dev/null
  finish TERM 10
  [ "$st" = 143 ] && ok "SIGTERM after the flood: 143" || bad "SIGTERM after the flood: status $st"
else
  bad "coach did not come up on $sock: $(cat "$tmp/a.err")"
  finish KILL 5
fi

# ---- (b) out of descriptors ----
echo "(b) out of file descriptors"
if command -v prlimit >/dev/null; then
  sock=$tmp/b.sock
  before=$(records)
  (
    ulimit -n 64
    exec timeout 120 "$coach" play "$routine" --socket "$sock" </dev/null >"$tmp/b.out" 2>"$tmp/b.err"
  ) &
  coach_pid=$!
  if wait_sock "$sock"; then
    sleep 1
    # the player: timeout's child
    player=$(pgrep -P "$coach_pid" -x coach || echo "$coach_pid")
    # every descriptor below the lowest free one is taken: the limit there
    # makes every new one fail with EMFILE
    low=$(ls "/proc/$player/fd" | sort -n | awk 'BEGIN { n = 0 } $1 == n { n++ } END { print n }')
    if prlimit --pid "$player" --nofile="$low:$low"; then
      r=$(timeout 10 "$coach" ctl where --socket "$sock" 2>&1)
      echo "  ctl where at the limit ($low) -> $r"
      # a second client that stays pending
      "$py" "$tmp/tools.py" idle "$sock" 3 6 &
      bg_pids+=($!)
      sleep 0.5
      t0=$(cpu_ticks "$player")
      sleep 3
      t1=$(cpu_ticks "$player")
      hz=$(getconf CLK_TCK)
      echo "  CPU over 3 s: $((t1 - t0)) ticks of $((3 * hz))"
      [ $((t1 - t0)) -lt $((3 * hz / 4)) ] && ok "a stuck accept does not spin ($((t1 - t0)) ticks in 3 s)" ||
        bad "coach spins at the descriptor limit: $((t1 - t0)) ticks in 3 s"
      finish TERM 10
      echo "  SIGTERM: status $st after $took ms"
      [ "$st" = 143 ] && ok "SIGTERM at the descriptor limit: 143" || bad "SIGTERM at the descriptor limit: status $st"
      [ "$took" -lt 5000 ] && ok "it stopped within 5 s ($took ms)" || bad "SIGTERM took $took ms"
      after=$(records)
      [ "$after" -gt "$before" ] && ok "the session is in the history" ||
        bad "no history record at the descriptor limit: $(cat "$tmp/b.err")"
      has "$(cat "$tmp/b.err")" "Too many open files" "the refused connection is explained with its errno"
    else
      skip "prlimit cannot lower coach's limit here"
      finish KILL 5
    fi
  else
    bad "coach did not come up under ulimit -n 64: $(cat "$tmp/b.err")"
    finish KILL 5
  fi
else
  skip "prlimit is not installed"
fi

# ---- (c) hostile /tmp/coach-UID ----
echo "(c) a hostile /tmp/coach-$(id -u)"
case $tmp in /tmp/*) hostile_ok=no ;; *) hostile_ok=yes ;; esac
if [ "$hostile_ok" = yes ] && [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
  cat >"$tmp/hostile.sh" <<'EOF'
# runs in a private mount namespace with its own /tmp: $1 the case
set -u
mount --make-rprivate / && mount -t tmpfs tmpfs /tmp || exit 99
d=/tmp/coach-$(id -u)
case $1 in
owner) mkdir -m 700 "$d" && chown 65534:65534 "$d" ;;
mode) mkdir "$d" && chmod 777 "$d" ;;
link) mkdir -m 700 /tmp/elsewhere && ln -s /tmp/elsewhere "$d" ;;
esac
unset XDG_RUNTIME_DIR
timeout 20 "$COACH" ctl where >"$T/ctl.out" 2>"$T/ctl.err"
echo $? >"$T/ctl.st"
timeout 60 "$COACH" play "$R" </dev/null >"$T/play.out" 2>"$T/play.err" &
p=$!
for i in $(seq 50); do grep -q "$d" "$T/play.err" && break; sleep 0.1; done
sleep 0.5
kill -TERM $p
wait $p
echo $? >"$T/play.st"
EOF
  for kind in owner mode link; do
    T=$tmp/c-$kind
    mkdir -p "$T"
    T=$T COACH=$coach R=$routine unshare -m bash "$tmp/hostile.sh" $kind
    d=/tmp/coach-$(id -u)
    cst=$(cat "$T/ctl.st" 2>/dev/null)
    cerr=$(cat "$T/ctl.err" 2>/dev/null)
    perr=$(cat "$T/play.err" 2>/dev/null)
    echo "  $kind: ctl $cst: $cerr"
    echo "  $kind: play: $(head -n 1 "$T/play.err")"
    [ "$cst" = 3 ] && ok "$kind: ctl refuses with status 3" || bad "$kind: ctl status '$cst'"
    has "$cerr" "$d" "$kind: ctl names $d"
    has "$perr" "$d" "$kind: play names $d"
    has "$perr" "XDG_RUNTIME_DIR\|--socket" "$kind: play says what to do"
    [ "$(cat "$T/play.st" 2>/dev/null)" = 143 ] && ok "$kind: play still plays (SIGTERM: 143)" ||
      bad "$kind: play status $(cat "$T/play.st" 2>/dev/null)"
  done
else
  skip "a private /tmp needs root and unshare (and a test directory outside /tmp)"
fi

# ---- (d) --socket under umask 000 ----
echo "(d) --socket under umask 000"
sock=$tmp/d.sock
(
  umask 000
  exec timeout 120 "$coach" play "$routine" --socket "$sock" </dev/null >"$tmp/d.out" 2>"$tmp/d.err"
) &
coach_pid=$!
if wait_sock "$sock"; then
  mode=$(stat -c %a "$sock")
  [ "$mode" = 600 ] && ok "the socket is 0600 under umask 000" || bad "the socket is $mode under umask 000"
else
  bad "coach did not come up under umask 000: $(cat "$tmp/d.err")"
fi
finish TERM 10

# ---- (e) a listener that answers with escape sequences ----
echo "(e) escape sequences in a reply"
fake=$tmp/fake.sock
# "ok " ESC ] 0;pwned BEL  ESC [2J  C1 CSI (U+009B) 31m  raw 0x9b  U+202E  "done" CR
payload=6f6b201b5d303b70776e6564071b5b324ac29b33316d9b20e280ae646f6e650d0a
"$py" "$tmp/tools.py" fake "$fake" "$payload" "$tmp/fake.log" &
bg_pids+=($!)
for i in $(seq 50); do [ -e "$tmp/fake.log.ready" ] && break; sleep 0.1; done
timeout 10 "$coach" ctl where --socket "$fake" >"$tmp/e.out" 2>"$tmp/e.err"
echo "  status $?: $(od -An -c "$tmp/e.out" "$tmp/e.err" | tr -s ' ' | head -n 3)"
if "$py" - "$tmp/e.out" "$tmp/e.err" <<'PY'; then
import sys
data = b"".join(open(p, "rb").read() for p in sys.argv[1:])
text = data.decode("utf-8", "replace")
bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f
       or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufffd"]
sys.exit(1 if bad or "done" not in text else 0)
PY
  ok "the reply is printed without control characters"
else
  bad "control characters reached the terminal: $(od -An -tx1 "$tmp/e.out" "$tmp/e.err" | head -n 3)"
fi

# ---- (f) peer credentials ----
echo "(f) a client and a listener of another uid"
nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
if [ "$(id -u)" = 0 ] && "${nobody[@]}" true 2>/dev/null; then
  sock=$tmp/f/f.sock
  mkdir -p "$tmp/f"
  chmod 755 "$tmp/f"
  start f --socket "$sock"
  if wait_sock "$sock"; then
    chmod 666 "$sock" # as if the mode had leaked: only the peer check is left
    r=$(timeout 10 "${nobody[@]}" "$coach" ctl stop --socket "$sock" 2>&1)
    fst=$?
    echo "  nobody: ctl stop -> $r (status $fst)"
    [ "$fst" != 0 ] && ok "a client of another uid is refused" || bad "nobody stopped root's coach: $r"
    sleep 1
    kill -0 "$coach_pid" 2>/dev/null && ok "the session plays on" || bad "the session ended after nobody's stop"
    r=$(timeout 10 "$coach" ctl where --socket "$sock" 2>&1)
    case $r in ok*) ok "its own user is still answered" ;; *) bad "root's ctl where: $r" ;; esac
  else
    bad "coach did not come up on $sock: $(cat "$tmp/f.err")"
  fi
  finish TERM 10

  mkdir -p "$tmp/fn"
  chown 65534:65534 "$tmp/fn"
  fake=$tmp/fn/fake.sock
  "${nobody[@]}" "$py" "$tmp/tools.py" fake "$fake" 6f6b2070617573656420617420303a30302e300a "$tmp/fn/fake.log" &
  bg_pids+=($!)
  for i in $(seq 50); do [ -e "$tmp/fn/fake.log.ready" ] && break; sleep 0.1; done
  chmod 666 "$fake" 2>/dev/null
  r=$(timeout 10 "$coach" ctl pause --socket "$fake" 2>&1)
  fst=$?
  echo "  root: ctl pause to nobody's listener -> $r (status $fst)"
  [ "$fst" != 0 ] && ok "a listener of another uid is refused" || bad "ctl trusted nobody's listener: $r"
  sleep 0.5
  heard=$(cat "$tmp/fn/fake.log" 2>/dev/null)
  [ -z "$heard" ] && ok "the listener heard nothing" || bad "nobody's listener heard '$heard'"
else
  skip "peer checks need root and setpriv"
fi

echo "attack_control: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
