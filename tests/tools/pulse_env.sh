#!/usr/bin/env bash
# A private PulseAudio for tests, sourced by the live-playback tests: a
# server whose runtime, state and home live under the test's directory,
# with one null sink `ci_sink` at 48000 Hz (ALSA `default` reaches it through
# libasound2-plugins' pulse plugin), and a recorder of that sink's monitor.
# Nothing outlives the test: an EXIT trap stops the recorder and the server
# (and runs the caller's own cleanup, given with pulse_on_exit).
#
#   . tests/tools/pulse_env.sh
#   pulse_start "$tmp/pa" || exit 77     # prints why on failure
#   pulse_record "$tmp/cap.wav"          # returns once audio is flowing
#   ... play something ...
#   pulse_record_stop
#   pulse_kill_server                    # e.g. to lose the device mid-run
#   pulse_stop
#
# Run directly (ctest runs every tests/*.sh), it checks itself: start,
# record a moment of silence, stop, nothing left running; 77 if it cannot.

PULSE_DIR=
PULSE_PID=
PULSE_REC_PID=
PULSE_REC_FILE=
PULSE_WATCHDOG_PID=
PULSE_EXIT_HOOKS=()

_pulse_say() { echo "pulse_env: $*" >&2; }

# pulse_on_exit CMD: run CMD (a string, eval'd) on exit, before the server
# goes away: for the caller's own processes (a coach still playing).
pulse_on_exit() { PULSE_EXIT_HOOKS+=("$1"); }

_pulse_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# pulse_start DIR: starts the server with everything under DIR and exports
# the variables that make clients (pactl, parecord, the ALSA plugin, coach)
# use it. Returns 1 with the reason on stderr if it cannot.
pulse_start() {
  PULSE_DIR=$1
  local p
  for p in pulseaudio pactl parecord; do
    command -v "$p" >/dev/null || { _pulse_say "$p is not installed (scripts/setup.sh --test)"; return 1; }
  done
  if [ ! -e /usr/share/alsa/alsa.conf.d/50-pulseaudio.conf ] && [ ! -e /etc/alsa/conf.d/50-pulseaudio.conf ]; then
    _pulse_say "the ALSA pulse plugin (libasound2-plugins) is not installed"
    return 1
  fi
  mkdir -p "$PULSE_DIR/rt" "$PULSE_DIR/state" "$PULSE_DIR/home" "$PULSE_DIR/xdg" || return 1
  chmod 700 "$PULSE_DIR/rt" "$PULSE_DIR/xdg"
  export PULSE_RUNTIME_PATH=$PULSE_DIR/rt PULSE_STATE_PATH=$PULSE_DIR/state
  export HOME=$PULSE_DIR/home XDG_RUNTIME_DIR=$PULSE_DIR/xdg
  # no user or system config may point clients elsewhere
  unset PULSE_SERVER PULSE_SINK PULSE_SOURCE PULSE_COOKIE
  export XDG_CONFIG_HOME=$PULSE_DIR/home/.config
  if ! pulseaudio --daemonize=yes --system=no --exit-idle-time=-1 -n --use-pid-file=yes \
    --log-target="file:$PULSE_DIR/log" \
    -L "module-null-sink sink_name=ci_sink rate=48000" \
    -L module-native-protocol-unix 2>"$PULSE_DIR/start.err"; then
    _pulse_say "pulseaudio did not start: $(cat "$PULSE_DIR/start.err" "$PULSE_DIR/log" 2>/dev/null |
      grep -v 'not intended to be run as root' | tail -n 3 | tr '\n' ' ')"
    return 1
  fi
  local i
  for i in $(seq 50); do
    PULSE_PID=$(cat "$PULSE_DIR/rt/pid" 2>/dev/null)
    if pactl info >/dev/null 2>&1; then
      if pactl list short sinks 2>/dev/null | grep -q ci_sink; then
        _pulse_watchdog
        _pulse_stallwatch
        return 0
      fi
      _pulse_say "the server runs but has no ci_sink"
      return 1
    fi
    sleep 0.1
  done
  _pulse_say "pactl info got no answer within 5 s: $(tail -n 3 "$PULSE_DIR/log" 2>/dev/null | tr '\n' ' ')"
  return 1
}

# A test killed with SIGKILL (a ctest timeout) runs no trap: a small
# watchdog, detached from the test's output, kills the server once the test
# shell is gone (it ends by itself then, or is stopped by pulse_stop).
_pulse_watchdog() {
  local shell=$$ server=$PULSE_PID
  (
    trap '' INT HUP
    while kill -0 "$shell" 2>/dev/null; do sleep 1; done
    kill -KILL "$server" 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  PULSE_WATCHDOG_PID=$!
}

# Machine stalls during the test (tests/tools/stallwatch.py), for
# pulse_stalls; the watcher dies with the watchdog's shell or in pulse_stop.
_pulse_stallwatch() {
  PULSE_STALLS=$PULSE_DIR/stalls
  : >"$PULSE_STALLS"
  python3 "$(dirname "${BASH_SOURCE[0]}")/stallwatch.py" "$PULSE_STALLS" 100 $$ </dev/null >/dev/null 2>&1 &
  PULSE_STALLWATCH_PID=$!
}

# pulse_stalls T0 T1: the machine stalls (whole machine not scheduled for
# 100 ms or more) that overlap wall-clock seconds T0..T1, as "N ms at
# +S s" words, or nothing
pulse_stalls() {
  [ -s "${PULSE_STALLS:-}" ] || return 0
  awk -v t0="$1" -v t1="$2" '$1 >= t0 && $1 - $2 / 1000 <= t1 {
    printf "%s%d ms at +%.1f s", n++ ? ", " : "", $2, $1 - $2 / 1000 - t0 }' "$PULSE_STALLS"
}

# pulse_record FILE: records ci_sink's monitor (48000 Hz, 2 channels, s16)
# into FILE. Returns once audio arrives: an idle null sink runs with ~2 s
# latency until a low-latency reader attaches, so the first data is late.
pulse_record() {
  PULSE_REC_FILE=$1
  rm -f "$PULSE_REC_FILE"
  parecord -d ci_sink.monitor --latency-msec=10 --file-format=wav --rate=48000 --channels=2 \
    --format=s16le "$PULSE_REC_FILE" 2>"$PULSE_DIR/parecord.err" &
  PULSE_REC_PID=$!
  local i size
  for i in $(seq 60); do
    _pulse_alive "$PULSE_REC_PID" || { _pulse_say "parecord died: $(cat "$PULSE_DIR/parecord.err")"; return 1; }
    size=$(stat -c %s "$PULSE_REC_FILE" 2>/dev/null || echo 0)
    # a WAV header is under 100 bytes; 0.1 s of audio is 19200
    [ "$size" -gt 20000 ] && { sleep 0.2; return 0; }
    sleep 0.1
  done
  _pulse_say "no audio from ci_sink.monitor within 6 s"
  return 1
}

# pulse_stream_of PID: the index of process PID's sink input (its playing
# stream, e.g. for pactl set-sink-input-volume), or nothing before it plays.
pulse_stream_of() {
  pactl list sink-inputs | awk -v p="$1" '/^Sink Input #/ {i = substr($3, 2)}
    /application.process.id = / {gsub(/"/, "", $3); if ($3 == p) print i}'
}

# pulse_record_stop: ends the recording (SIGINT: parecord finishes the WAV
# header) and waits for it.
pulse_record_stop() {
  if _pulse_alive "$PULSE_REC_PID"; then
    kill -INT "$PULSE_REC_PID" 2>/dev/null
    local i
    for i in $(seq 50); do _pulse_alive "$PULSE_REC_PID" || break; sleep 0.1; done
    _pulse_alive "$PULSE_REC_PID" && kill -KILL "$PULSE_REC_PID" 2>/dev/null
    wait "$PULSE_REC_PID" 2>/dev/null
  fi
  PULSE_REC_PID=
}

# pulse_kill_server [SIGNAL]: the server dies at once (default SIGKILL), as
# when a sound server crashes or a USB device is pulled.
pulse_kill_server() {
  local sig=${1:-KILL}
  _pulse_alive "$PULSE_PID" && kill "-$sig" "$PULSE_PID" 2>/dev/null
  local i
  for i in $(seq 50); do _pulse_alive "$PULSE_PID" || return 0; sleep 0.1; done
  return 1
}

# pulse_stop: the recorder and the server, politely then not.
pulse_stop() {
  pulse_record_stop
  if _pulse_alive "$PULSE_PID"; then
    kill -TERM "$PULSE_PID" 2>/dev/null
    local i
    for i in $(seq 30); do _pulse_alive "$PULSE_PID" || break; sleep 0.1; done
    _pulse_alive "$PULSE_PID" && kill -KILL "$PULSE_PID" 2>/dev/null
  elif [ -z "$PULSE_PID" ] && [ -n "$PULSE_DIR" ] && [ -S "$PULSE_DIR/rt/native" ]; then
    pulseaudio --kill 2>/dev/null # no pid file: ask it through its socket
  fi
  PULSE_PID=
  if _pulse_alive "$PULSE_WATCHDOG_PID"; then
    kill "$PULSE_WATCHDOG_PID" 2>/dev/null
    wait "$PULSE_WATCHDOG_PID" 2>/dev/null
  fi
  PULSE_WATCHDOG_PID=
  if _pulse_alive "${PULSE_STALLWATCH_PID:-}"; then
    kill "$PULSE_STALLWATCH_PID" 2>/dev/null
    wait "$PULSE_STALLWATCH_PID" 2>/dev/null
  fi
  PULSE_STALLWATCH_PID=
}

_pulse_cleanup() {
  local h
  for h in "${PULSE_EXIT_HOOKS[@]}"; do eval "$h"; done
  pulse_stop
}
trap _pulse_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run directly: a self-check of the helpers.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  dir=${COACH_TEST_TMP:-/tmp}/pulse_env.$$
  rm -rf "$dir"
  pulse_start "$dir" || { echo "SKIP: PulseAudio cannot run here" >&2; rm -rf "$dir"; exit 77; }
  pulse_record "$dir/cap.wav" || exit 1
  sleep 0.3
  pulse_record_stop
  size=$(stat -c %s "$dir/cap.wav" 2>/dev/null || echo 0)
  [ "$size" -gt 20000 ] || { echo "FAIL: capture is $size bytes" >&2; exit 1; }
  pid=$PULSE_PID
  pulse_stop
  if kill -0 "$pid" 2>/dev/null; then echo "FAIL: pulseaudio $pid still runs" >&2; exit 1; fi
  rm -rf "$dir"
  echo "pulse_env: ok (server, null sink, capture of $size bytes, stopped)"
  exit 0
fi

# pulse_server_pid: the server's pid (from its pid file if pulse_start's
# copy is empty), on stdout; returns 1 if it does not run.
pulse_server_pid() {
  local pid=${PULSE_PID:-$(cat "$PULSE_DIR/rt/pid" 2>/dev/null)}
  _pulse_alive "$pid" || return 1
  echo "$pid"
}

# pulse_freeze / pulse_thaw: the server stops answering (SIGSTOP: it still
# exists, its clients stay connected, nothing moves) and comes back
# (SIGCONT), as a sound server that hangs for a while.
pulse_freeze() {
  local pid
  pid=$(pulse_server_pid) || return 1
  kill -STOP "$pid"
}
pulse_thaw() {
  local pid
  pid=$(pulse_server_pid) || return 1
  kill -CONT "$pid"
}
