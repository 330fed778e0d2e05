#!/usr/bin/env bash
# --preroll end to end, through a private PulseAudio (tests/tools/pulse_env.sh)
# whose default sink is a null sink named like a Bluetooth speaker's
# (bluez_sink.00_11_22_33_44_55.a2dp_sink):
#   - `coach play --verbose` turns the preroll on by itself and says why;
#     the capture of that sink shows the lead-in before the first word: an
#     inaudible signal (nonzero, at most -60 dBFS before the default
#     --loudness gain of +2.8 dB: 46 LSB) for about 0.5 s;
#   - with --preroll 0 it does not: digital silence, then the first word;
#   - PULSE_SINK naming a PipeWire-style Bluetooth sink (bluez_output.*)
#     turns it on too; an ordinary default sink does not;
#   - a sound server that does not answer does not hang the question
#     (coach ends as it does without the preroll: status 6 within ~15 s);
#   - export is unaffected unless --preroll is given; with it, the file is
#     0.5 s longer and its captions and chapters move by 0.5 s;
#   - --preroll out of range is a usage error (2).
# Exits 77 when PulseAudio cannot run here.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/preroll.$$
rm -rf "$tmp"
mkdir -p "$tmp"
. "$src/tests/tools/checks.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed" >&2; exit 77; }
"$coach" --help 2>/dev/null | grep -q -- '--preroll' || { echo "FAIL: no --preroll in --help" >&2; exit 1; }
export COACH_DATA_DIR="$src" XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent

routine=$tmp/wake.ini
cat >"$routine" <<'EOF'
[routine]
title = Wake test
prepare = 2
countdown = 2

[exercise hold]
name = Plank
hold = 12
EOF

section "usage"
expect 2 "$coach" play "$routine" --preroll 10001
has "$err" "preroll must be 0-10000"
expect 2 "$coach" export "$routine" --preroll -5 -o "$tmp/x.wav"

section "export: unaffected unless asked"
expect 0 "$coach" export "$routine" -q -o "$tmp/plain.wav" --captions "$tmp/plain.vtt" --chapters "$tmp/plain.json"
expect 0 "$coach" export "$routine" -q --preroll 500 -o "$tmp/pre.wav" --captions "$tmp/pre.vtt" --chapters "$tmp/pre.json"
python3 - "$tmp" <<'PY' && ok || bad "export with --preroll: see above"
import json, re, sys, wave
d = sys.argv[1]
def frames(p):
    with wave.open(p) as w:
        return w.getnframes(), w.getframerate(), w.readframes(w.getnframes())
n0, rate, _ = frames(d + "/plain.wav")
n1, _, pcm = frames(d + "/pre.wav")
assert n1 - n0 == rate // 2, "length grew by %d frames, not %d" % (n1 - n0, rate // 2)
def cues(p):
    out = []
    for line in open(p):
        m = re.match(r"(\d+):(\d+):(\d+)\.(\d+) --> ", line)
        if m:
            h, mi, s, ms = map(int, m.groups())
            out.append(((h * 60 + mi) * 60 + s) * 1000 + ms)
    return out
a, b = cues(d + "/plain.vtt"), cues(d + "/pre.vtt")
assert len(a) == len(b) and a, (len(a), len(b))
assert all(y - x == 500 for x, y in zip(a, b)), list(zip(a, b))[:5]
ca = json.load(open(d + "/plain.json"))["chapters"]
cb = json.load(open(d + "/pre.json"))["chapters"]
assert len(ca) == len(cb) > 1
assert cb[0]["startTime"] == 0 and ca[0]["startTime"] == 0
assert all(abs(y["startTime"] - x["startTime"] - 0.5) < 1e-6 for x, y in zip(ca[1:], cb[1:])), (ca, cb)
import array
x = array.array("h", pcm[: rate // 2 * 2])
peak = max(abs(v) for v in x)
assert 0 < peak <= 46, "the lead-in's 16-bit peak is %d" % peak
print("export: +%d frames, captions and chapters +0.5 s, lead-in peak %d LSB" % (n1 - n0, peak))
PY

section "BlueALSA as ALSA's default, no sound server"
# ALSA's configuration is read, never opened: each file below stands in for
# /etc/asound.conf (ALSA_CONFIG_PATH replaces the whole configuration). The
# play then fails for want of a device (no BlueALSA here), after the line.
alsa_case() { # NAME WANT(on|off) CONFIG [OPTION...]
  local name=$1 want=$2
  printf '%s\n' "$3" >"$tmp/asound-$1.conf"
  shift 3
  ALSA_CONFIG_PATH=$tmp/asound-$name.conf PULSE_SERVER=unix:$tmp/no-server timeout 30 \
    "$coach" play "$routine" --verbose --socket "$tmp/alsa-sock" "$@" </dev/null >/dev/null 2>"$tmp/alsa-$name.err"
  local st=$?
  set -- "$name" "$want"
  if [ "$2" = on ]; then
    grep -q "coach: preroll 500 ms on: the output is Bluetooth (ALSA's default device is BlueALSA)" \
      "$tmp/alsa-$1.err" && [ $st != 124 ] && ok || bad "$1: no preroll line (status $st): $(head -c 400 "$tmp/alsa-$1.err")"
  else
    ! grep -q "coach: preroll" "$tmp/alsa-$1.err" && [ $st != 124 ] && ok || bad "$1: preroll on (status $st): $(head -c 400 "$tmp/alsa-$1.err")"
  fi
}
bt_pcm='pcm.btspeaker { type bluealsa device "00:11:22:33:44:55" profile "a2dp" }'
alsa_case alias on "$bt_pcm
pcm.!default \"btspeaker\""
alsa_case plug-named-slave on "$bt_pcm
pcm.!default { type plug slave.pcm \"btspeaker\" }"
alsa_case plug-inline-slave on 'pcm.!default { type plug slave { pcm { type bluealsa device "00:11:22:33:44:55" profile "a2dp" } } }'
alsa_case bluealsa-name on 'pcm.!default { type plug slave.pcm "bluealsa:DEV=00:11:22:33:44:55" }'
alsa_case hw off 'pcm.!default { type hw card 0 }'
alsa_case plug-hw off 'pcm.!default { type plug slave.pcm "hw:0,0" }'
alsa_case loop off 'pcm.a "b"
pcm.b "a"
pcm.!default "a"'
alsa_case preroll-0 off "$bt_pcm
pcm.!default \"btspeaker\"" --preroll 0

. "$src/tests/tools/pulse_env.sh"
if ! pulse_start "$tmp/pa"; then
  echo "SKIP: PulseAudio cannot run here ($pass passed, $fail failed so far)" >&2
  [ "$fail" -eq 0 ] && { rm -rf "$tmp"; exit 77; }
  exit 1
fi
bt=bluez_sink.00_11_22_33_44_55.a2dp_sink
pactl load-module module-null-sink sink_name=$bt rate=48000 >/dev/null &&
  pactl set-default-sink $bt || { echo "FAIL: cannot make the Bluetooth-named sink" >&2; exit 1; }

section "export with a Bluetooth default sink: still no lead-in unless asked"
expect 0 "$coach" export "$routine" -q -o "$tmp/bt-export.wav"
python3 - "$tmp/plain.wav" "$tmp/bt-export.wav" <<'PY' && ok || bad "export changed with a Bluetooth default sink"
import sys, wave
a, b = (wave.open(p).getnframes() for p in sys.argv[1:3])
assert a == b, (a, b)
PY

# record NAME: records the Bluetooth-named sink's monitor into $tmp/NAME.wav
# (returns once a second of audio is in the file: an idle null sink starts
# late, and before_word needs half a second of capture before the first
# word; coach with a warm phrase cache speaks within ~0.1 s of starting)
rec_pid=
record() {
  rm -f "$tmp/$1.wav"
  parecord -d $bt.monitor --latency-msec=10 --file-format=wav --rate=48000 --channels=1 \
    --format=s16le "$tmp/$1.wav" 2>/dev/null &
  rec_pid=$!
  local i
  for i in $(seq 100); do
    [ "$(stat -c %s "$tmp/$1.wav" 2>/dev/null || echo 0)" -gt 96000 ] && return 0
    sleep 0.1
  done
  return 1
}
record_stop() {
  kill -INT "$rec_pid" 2>/dev/null
  wait "$rec_pid" 2>/dev/null
  rec_pid=
}
pulse_on_exit 'record_stop'

# play NAME ARGS...: plays the routine for ~4 s (then ctl stop), recording
play() {
  local name=$1
  shift
  record "$name" || { bad "no capture for $name"; return; }
  timeout 60 "$coach" play "$routine" --socket "$tmp/sock" --verbose "$@" </dev/null \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  local pid=$!
  sleep 5
  "$coach" ctl stop --socket "$tmp/sock" >/dev/null 2>&1
  wait $pid
  echo "  play $name: $?"
  sleep 0.3
  record_stop
}

# what comes before the first word: "word PEAK RMS" of the 0.4 s before
# the first sample above -30 dBFS; "none" when no sample is that loud,
# "early SECONDS" when the first is too near the capture's start to judge
before_word() {
  python3 - "$tmp/$1.wav" <<'PY'
import array, math, sys, wave
with wave.open(sys.argv[1]) as w:
    rate = w.getframerate()
    x = array.array("h", w.readframes(w.getnframes()))
loud = next((i for i, v in enumerate(x) if abs(v) > 1036), None)
if loud is None:
    print("none 0 0")
    sys.exit()
if loud < rate // 2:
    print("early %.3f 0" % (loud / rate))
    sys.exit()
seg = x[loud - rate * 45 // 100 : loud - rate * 5 // 100]
peak = max(abs(v) for v in seg)
rms = math.sqrt(sum(v * v for v in seg) / len(seg))
print("word %d %.1f" % (peak, rms))
PY
}

section "a Bluetooth default sink: on, with a lead-in"
play bt
err=$(cat "$tmp/bt.err")
has "$err" "preroll 500 ms on"
has "$err" "$bt"
read -r what peak rms < <(before_word bt)
echo "  before the first word: peak $peak LSB, rms $rms LSB"
[ "$what" = word ] && [ "$peak" -gt 0 ] && [ "$peak" -le 46 ] &&
  python3 -c "import sys; sys.exit(not float(sys.argv[1]) >= 5)" "$rms" && ok ||
  bad "no inaudible lead-in before the first word ($what: peak $peak, rms $rms)"

section "--preroll 0: off"
play off --preroll 0
lacks "$(cat "$tmp/off.err")" "coach: preroll"
read -r what peak rms < <(before_word off)
echo "  before the first word: peak $peak LSB, rms $rms LSB"
if [ "$what" = word ]; then
  [ "$peak" = 0 ] && ok || bad "with --preroll 0 something came before the first word (peak $peak)"
else
  bad "with --preroll 0 the capture shows no first word to judge ($what $peak s)"
fi

section "PULSE_SINK names a Bluetooth sink (PipeWire style); an ordinary default does not"
pw=bluez_output.AA_BB_CC_DD_EE_FF.1
pactl load-module module-null-sink sink_name=$pw rate=48000 >/dev/null
pactl set-default-sink ci_sink
expect_err=$tmp/pw.err
PULSE_SINK=$pw timeout 60 "$coach" play "$routine" --socket "$tmp/sock" --verbose </dev/null \
  >/dev/null 2>"$tmp/pw.err" &
pid=$!
sleep 3
"$coach" ctl stop --socket "$tmp/sock" >/dev/null 2>&1
wait $pid
has "$(cat "$tmp/pw.err")" "PULSE_SINK's sink $pw"
timeout 60 "$coach" play "$routine" --socket "$tmp/sock" --verbose </dev/null >/dev/null 2>"$tmp/ci.err" &
pid=$!
sleep 3
"$coach" ctl stop --socket "$tmp/sock" >/dev/null 2>&1
wait $pid
lacks "$(cat "$tmp/ci.err")" "coach: preroll"

section "a sound server that does not answer: no hang"
pactl set-default-sink $bt
pulse_freeze
start=$(date +%s)
timeout 40 "$coach" play "$routine" --socket "$tmp/sock" --verbose </dev/null >/dev/null 2>"$tmp/hung.err"
st=$?
took=$(($(date +%s) - start))
pulse_thaw
echo "  hung server: status $st after $took s"
[ "$st" = 6 ] && [ "$took" -le 20 ] && ok || bad "with a hung server: status $st after $took s: $(head -c 300 "$tmp/hung.err")"

pulse_stop
echo "preroll: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && rm -rf "$tmp"
[ "$fail" -eq 0 ]
