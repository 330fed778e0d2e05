#!/usr/bin/env bash
# Spoken commands (issue 11): how well the spotter hears the ten commands
# said by voices that are not the coach's, how often the coach's own
# sessions set it off, and its CPU share. Run by hand (not a test):
#
#   bash scripts/setup.sh --bench && bash scripts/build.sh
#   bash bench/listen_bench.sh [LISTEN_FILE [hits|false]]
#
# (a) hits: each command twice (two speaking rates) = 20 utterances per
#     voice: flite's voices (those `flite -lv` has of slt rms awb kal16) and
#     espeak-ng variants that are not the coach's en-us default (en-us+f3,
#     en+m7, en-gb), each alone (0 dB, between seconds of silence), with
#     the coach's own export mixed 10 dB below the command's speech level
#     (the issue's condition: commands said over the coach's speech), the
#     same through a room and an echo canceller (speexdsp's, as PulseAudio's
#     module-echo-cancel aec_method=speex; what --echo-cancelled expects),
#     the same through coach's own canceller (src/aec.c, what `coach play
#     --listen` runs: it finds the delay itself, its reference stamped
#     120 ms off), and
#     with only its sounds (metronome clicks, tones, countdown beeps,
#     the same export where the coach does not speak (by its captions) and
#     is not silent, at the level they have beside its speech, the whole mixed
#     10 dB below the command's speech): the live side ignores commands
#     that overlap the coach's speech, so this is where commands are heard;
#     and alone again, heard as behind coach's own canceller ("0 dB, AEC":
#     `coach play --listen`'s default, the listen file's
#     canceller_gaussians);
# (b) false triggers over every English routine exported as coach plays it
#     (fed straight in, as a microphone next to the speaker would hear it),
#     the same with the live gate (--no-echo-cancel: a phrase over the
#     coach's speech, by the session's captions, is dropped), through the
#     room and speexdsp's canceller (--echo-cancelled), and through the
#     room and coach's own canceller (the default: what the spotter hears
#     live once the canceller has found the coach; the gate is then open);
#     the answers (pain 0-10) are not searched: no question waits;
# (c) CPU seconds per audio second: the share of one core.
# Needs flite and espeak-ng; writes to bench/out/listen (cached: delete it
# to make the audio again).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
bench=$build/listen_bench
coach=$build/coach
listen=${1:-$here/voices/listen/en.ini}
part=${2:-all}
out=$here/bench/out/listen
[ -x "$bench" ] && [ -x "$coach" ] || { echo "build first: $bench, $coach" >&2; exit 1; }
command -v flite >/dev/null || { echo "needs flite (scripts/setup.sh --bench)" >&2; exit 1; }
command -v espeak-ng >/dev/null || { echo "needs espeak-ng (scripts/setup.sh --bench)" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out/misses.txt" "$out/aec.txt"

words=(pause resume next back previous repeat where louder softer stop)
said=("coach pause" "coach continue" "coach next" "coach back" "coach previous"
      "coach repeat" "coach where am I" "coach louder" "coach softer" "coach stop")

# The coach's own sessions: every shipped English routine, as exported
# by this coach (made again when the binary is newer: a cached export of
# an older coach is not what it plays now). Synthesized afresh in one
# process: espeak-ng's pitch flutter runs on from one phrase to the next
# (docs/PERFORMANCE.md), so the phrase cache's history and the number of
# synthesis workers (the cores) would change the sessions, and with them
# the figures, from one machine to the next.
export COACH_DATA_DIR=$here
sessions=()
for r in "$here"/routines/*.ini; do
  name=$(basename "$r" .ini)
  case $name in *.*) continue ;; esac # lower-back-relief.de: not an English voice
  f=$out/session-$name.wav
  # its captions beside it: where the coach speaks (the gate's spans)
  [ -s "$f" ] && [ "$f" -nt "$coach" ] && [ -s "${f%.wav}.vtt" ] ||
    COACH_SYNTH_JOBS=1 "$coach" export "$name" --no-cache -o "$f" --captions "${f%.wav}.vtt" >/dev/null
  sessions+=("$f")
done
bg=$out/session-lower-back-relief.wav
bg_speech=$out/session-lower-back-relief.vtt # where the coach speaks in $bg

# The commands: two takes per voice.
voices=()
have=$(flite -lv 2>/dev/null)
for v in slt rms awb kal16; do
  case " $have " in *" $v "*) ;; *) continue ;; esac
  voices+=("flite:$v")
  for i in "${!words[@]}"; do
    t1=$out/flite-$v-$i-1.wav t2=$out/flite-$v-$i-2.wav
    [ -s "$t1" ] || flite -voice "$v" -t "${said[$i]}" -o "$t1"
    [ -s "$t2" ] || flite -voice "$v" --setf duration_stretch=1.25 -t "${said[$i]}" -o "$t2"
  done
done
for v in en-us+f3 en+m7 en-gb; do
  voices+=("espeak:$v")
  for i in "${!words[@]}"; do
    t1=$out/espeak-$v-$i-1.wav t2=$out/espeak-$v-$i-2.wav
    [ -s "$t1" ] || espeak-ng -v "$v" -s 175 -w "$t1" "${said[$i]}"
    [ -s "$t2" ] || espeak-ng -v "$v" -s 140 -w "$t2" "${said[$i]}"
  done
done

echo "listen file: $listen"
if [ "$part" != false ]; then
echo
echo "(a) hits of 20 (10 commands x 2 rates), each between seconds of silence or background"
printf '%-18s %12s %12s %12s %12s %12s %12s\n' voice "0 dB" "coach -10 dB" "  echo-canc." "in-coach AEC" "sounds -10" "0 dB, AEC"
cpu=0 audio=0 all_right=0 all_items=0 all_wrong=0
for vv in "${voices[@]}"; do
  kind=${vv%%:*} v=${vv#*:}
  items=()
  for i in "${!words[@]}"; do
    items+=("${words[$i]}=$out/$kind-$v-$i-1.wav" "${words[$i]}=$out/$kind-$v-$i-2.wav")
  done
  row=()
  for cond in clean bg aec caec sounds cclean; do
    extra=()
    [ $cond = cclean ] && extra=(--cancelled 1)
    [ $cond = bg ] && extra=(--bg "$bg" --bg-db -10)
    [ $cond = aec ] && extra=(--bg "$bg" --bg-db -10 --aec 1)
    [ $cond = caec ] && extra=(--bg "$bg" --bg-db -10 --aec 2)
    [ $cond = sounds ] && extra=(--bg "$bg" --bg-speech "$bg_speech" --bg-db -10)
    res=$("$bench" "$listen" "${extra[@]}" "${items[@]}")
    tot=$(grep '^total' <<<"$res")
    right=$(awk '{print $3}' <<<"$tot") n=$(awk '{print $5}' <<<"$tot" | tr -d ,)
    wrong=$(awk '{print $7}' <<<"$tot" | tr -d ,)
    missed=$(awk '$1 == "item" && $5 == 0 {print $2}' <<<"$res" | sort | uniq -c | awk '{printf "%s%s", sep, $2 ($1 > 1 ? "x" $1 : ""); sep=","}')
    cell="$right/$n"
    [ "$wrong" != 0 ] && cell="$cell w$wrong"
    row+=("$cell")
    [ -n "$missed" ] && echo "  $vv $cond missed: $missed$(grep '^wrong' <<<"$res" | awk '{printf " (heard %s %s)", $2, $3}')" >>"$out/misses.txt"
    [ $cond = aec ] && grep '^aec:' <<<"$res" | sed "s/^aec:/  $vv echo canceller:/" >>"$out/aec.txt"
    [ $cond = caec ] && grep -E '^(aec|coach aec):' <<<"$res" | sed "s/^aec:/  $vv in-coach canceller:/; s/^coach aec:/  $vv in-coach canceller:/" >>"$out/aec.txt"
    all_right=$((all_right + right)) all_items=$((all_items + n)) all_wrong=$((all_wrong + wrong))
  done
  printf '%-18s %12s %12s %12s %12s %12s %12s\n' "$vv" "${row[0]}" "${row[1]}" "${row[2]}" "${row[3]}" "${row[4]}" "${row[5]}"
done
echo "all: $all_right of $all_items heard, $all_wrong heard as another command"
[ -s "$out/aec.txt" ] && { cat "$out/aec.txt"; rm -f "$out/aec.txt"; }
[ -s "$out/misses.txt" ] && { cat "$out/misses.txt"; rm -f "$out/misses.txt"; }
fi
[ "$part" = hits ] && exit 0

echo
echo "(b) false triggers and (c) CPU over the coach's own sessions"
items=()
for f in "${sessions[@]}"; do items+=("-=$f"); done
res=$("$bench" "$listen" "${items[@]}")
grep '^false' <<<"$res" || true
tot=$(grep '^total' <<<"$res")
awk '{a=$11; printf "%d false triggers over %.1f min of %d sessions; cpu %s s for %s s of audio: %.2f %% of one core (%.4f)\n", $9, a/60, n, $14, a, $17*100, $17}' n=${#sessions[@]} <<<"$tot"
echo "the same with the live gate (--no-echo-cancel: phrases over the coach's speech dropped):"
res=$("$bench" "$listen" --gate 1 "${items[@]}")
grep -E '^(false|gate)' <<<"$res" || true
awk '$1 == "total" {print $9 " false triggers"}' <<<"$res"
echo "the same through the room and speexdsp's canceller (--echo-cancelled):"
res=$("$bench" "$listen" --aec 1 "${items[@]}")
grep '^false' <<<"$res" || true
tot=$(grep '^total' <<<"$res")
awk '{print $9 " false triggers"}' <<<"$tot"
echo "the same through the room and coach's own echo canceller (the default; canceller_gaussians):"
res=$("$bench" "$listen" --aec 2 "${items[@]}")
grep '^false' <<<"$res" || true
tot=$(grep '^total' <<<"$res")
awk '{a=$11; printf "%d false triggers over %.1f min of %d sessions; spotter cpu %s s for %s s of audio: %.2f %% of one core\n", $9, a/60, n, $14, a, $17*100}' n=${#sessions[@]} <<<"$tot"
grep -E '^(aec|coach aec):' <<<"$res" || true
