#!/usr/bin/env bash
# PortAudio's ALSA probe skips the plugins that are no speaker for coach
# (sink_portaudio.c skip_costly_plugins: a52, upmix, vdownmix, speex, jack,
# oss, usbstream, the rate converters), so they are never loaded and the
# first sound comes sooner; but one that the user's own configuration
# builds a PCM on (~/.asoundrc routing a device through "jack") is kept.
# Through a private PulseAudio (tests/tools/pulse_env.sh); the loaded
# plugins are read from the playing process's /proc/PID/maps. Exits 77
# when PulseAudio cannot run here.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/alsa_plugins.$$
rm -rf "$tmp"
mkdir -p "$tmp"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac

skip() {
  echo "SKIP: $*" >&2
  rm -rf "$tmp"
  exit 77
}
"$coach" --help 2>/dev/null | grep -q '^ *play ' || skip "this coach has no play command"
. "$src/tests/tools/pulse_env.sh"
cd "$src"
export COACH_DATA_DIR="$src" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
export COACH_HISTORY_FILE="$tmp/history.tsv"

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

pulse_start "$tmp/pa" || skip "PulseAudio cannot start here (reason above)"
sock=$tmp/control.sock
coach_pid=
pulse_on_exit '[ -n "$coach_pid" ] && kill -KILL "$coach_pid" 2>/dev/null'

# plugins NAME: plays warm-up for 2 s, then "the ALSA plugin modules the
# playing coach has loaded" (pcm_X for each libasound_module_pcm_X.so)
plugins() {
  "$coach" play warm-up --socket "$sock" </dev/null >"$tmp/$1.out" 2>"$tmp/$1.err" &
  coach_pid=$!
  sleep 2
  grep -o 'libasound_module_pcm_[a-z0-9_]*\.so' "/proc/$coach_pid/maps" 2>/dev/null |
    sed -E 's/libasound_module_(pcm_[a-z0-9_]*)\.so/\1/' | sort -u | tr '\n' ' '
  "$coach" ctl stop --socket "$sock" >/dev/null 2>&1 || kill "$coach_pid"
  wait "$coach_pid"
  echo "exit=$?"
  coach_pid=
}
skipped='pcm_a52|pcm_upmix|pcm_vdownmix|pcm_speex|pcm_jack|pcm_oss|pcm_usb_stream'

# the stock configuration: only the sound server's plugin is loaded
got=$(plugins stock)
echo "  stock: $got"
[[ $got == *pcm_pulse* ]] && ok "stock: plays through the pulse plugin" || bad "stock: no pulse plugin ($got; $(cat "$tmp/stock.err"))"
[[ $got == *exit=0* ]] && ok "stock: exit 0 after stop" || bad "stock: $got; $(cat "$tmp/stock.err")"
grep -qE "$skipped" <<<"$got" && bad "stock: plugins that are no speaker were loaded: $got" ||
  ok "stock: none of a52, upmix, vdownmix, speex, jack, oss, usb_stream loaded"

# a PCM of the user's built on "jack": jack is kept (PortAudio probes the
# user's PCM, which opens the jack plugin), the others are still skipped
printf 'pcm.mine {\n    type plug\n    slave.pcm "jack"\n}\n' >"$HOME/.asoundrc"
got=$(plugins user)
echo "  user's PCM on jack: $got"
[[ $got == *pcm_jack* ]] && ok "user: the jack definition the user's PCM is built on is kept" ||
  bad "user: jack was dropped although ~/.asoundrc builds on it ($got)"
[[ $got == *pcm_pulse* && $got == *exit=0* ]] && ok "user: plays through pulse, exit 0" ||
  bad "user: $got; $(cat "$tmp/user.err")"
grep -qE "${skipped/|pcm_jack/}" <<<"$got" && bad "user: other plugins loaded: $got" ||
  ok "user: the other skipped plugins stay unloaded"
rm -f "$HOME/.asoundrc"
pulse_stop

echo "$pass passed, $fail failed"
if [ $fail -eq 0 ]; then
  rm -rf "$tmp"
  exit 0
fi
echo "kept $tmp for a look" >&2
exit 1
