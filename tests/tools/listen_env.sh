# What the spoken-command tests (listen.sh, listen_aec.sh) share, sourced
# after `set -u`: $coach and $src from the environment (skips, 77, without
# flite, paplay, python3 or pocketsphinx's English model), a fresh $tmp
# (tests' tmp/NAME.PID) with a home, the private PulseAudio of
# pulse_env.sh (a SKIP if it cannot start) with micsink, the null sink
# whose monitor is the microphone; ok, bad, check, wait_for, now; a coach
# still running as $coach_pid is killed on exit, $tmp removed if all passed.
#
#   . "$COACH_SOURCE_DIR/tests/tools/listen_env.sh" NAME
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
for p in flite paplay python3; do
  command -v $p >/dev/null || { echo "SKIP: no $p (scripts/setup.sh --test installs it)" >&2; exit 77; }
done
[ -d /usr/share/pocketsphinx/model/en-us ] ||
  { echo "SKIP: no pocketsphinx English model (pocketsphinx-en-us)" >&2; exit 77; }

tmp=${COACH_TEST_TMP:-/tmp}/$1.$$
rm -rf "$tmp"
mkdir -p "$tmp/home"
. "$src/tests/tools/pulse_env.sh"
pass=0 fail=0
cleanup() {
  [ -n "${coach_pid:-}" ] && kill -KILL "$coach_pid" 2>/dev/null
  [ "$fail" -eq 0 ] && rm -rf "$tmp"
}
pulse_on_exit cleanup
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok "$2"; else bad "$2 ($3)"; fi; }
now() { python3 -c 'import time; print(time.time())'; }
# wait_for SECONDS WHAT CMD...: until CMD succeeds
wait_for() {
  local secs=$1 what=$2 i
  shift 2
  for i in $(seq $((secs * 10))); do "$@" && return 0; sleep 0.1; done
  bad "$what: not within $secs s"
  return 1
}
# rms_between FILE FROM TO: the RMS (0..1) of a WAV between two times (s)
rms_between() {
  python3 - "$@" <<'PY'
import sys, wave, array, math
w = wave.open(sys.argv[1]); r = w.getframerate(); ch = w.getnchannels()
s = array.array('h', w.readframes(w.getnframes()))
a, b = float(sys.argv[2]), float(sys.argv[3])
seg = s[int(a * r) * ch:int(b * r) * ch]
print("%.6f" % (math.sqrt(sum(x * x for x in seg) / len(seg)) / 32768 if seg else -1))
PY
}
lt() { python3 -c "import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))" "$1" "$2"; }

pulse_start "$tmp/pa" || { echo "SKIP: PulseAudio cannot start here" >&2; exit 77; }
pactl load-module module-null-sink sink_name=micsink rate=16000 >/dev/null ||
  { bad "cannot make the microphone sink"; exit 1; }
export COACH_DATA_DIR=$src HOME=$tmp/home XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE=$tmp/home/history.tsv
