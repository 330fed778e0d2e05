#!/usr/bin/env bash
# The limit of an export (issue 14), run by hand:
#   bash bench/limit_bench.sh [ROUTINE|all] [FORMATS] [RUNS]
#   e.g. bash bench/limit_bench.sh all "wav flac mp3 opus" 3
# For the routine(s): the phrases its export synthesizes (the distinct
# speech clips of `coach plan --json`) and the samples it writes (its WAV
# export, decoded). Timed, median of RUNS (default 3) whole-process runs:
#   synth    espeak-ng alone on those phrases, one process (build/limit_bench)
#   encode   libsndfile alone writing those samples in FORMAT, export.c's levels
#   limit 1c synth + encode, one after the other
#   limit 2c half the phrases and half the samples in each of 2 processes at once
#   cold     `coach export` with an empty XDG_CACHE_HOME (fresh each run)
#   warm     `coach export` with an XDG_CACHE_HOME filled by one export before
# and prints × real time of each and export ÷ limit (2 cores). Then the CPU
# seconds (user + system, every process of coach's, medians) of the cold and
# warm exports, and what they allow: on 2 cores a cold export cannot take
# less wall time than its CPU ÷ 2, so limit 2c ÷ (cold CPU ÷ 2) is the most
# export ÷ limit can reach however well the work overlaps. limit 2c and
# cold run in turn (limit2 cold limit2 cold ...): "paired" is the median of
# their ratio run by run, which holds when the machine's speed drifts (the
# two medians alone gave 50 %, 55 % and 64 % on one quiet afternoon). Works with or
# without a phrase cache in coach (without one, warm = cold).
# Env: COACH (default build/coach), LIMIT_BENCH (default build/limit_bench).
# Simplification: every phrase is spoken at the profile's rate; steps with
# speech_rate = slower (the breathing parts) are synthesized a little slower
# by coach, so synth is a slight underestimate there.
set -euo pipefail
cd "$(dirname "$0")/.."
coach=${COACH:-$PWD/build/coach}
lb=${LIMIT_BENCH:-$PWD/build/limit_bench}
what=${1:-all}
formats=${2:-wav flac mp3 opus}
runs=${3:-3}
[ -x "$coach" ] && [ -x "$lb" ] || { echo "build first: $coach, $lb" >&2; exit 1; }
work=$(mktemp -d /tmp/coach-limit-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ "$what" = all ]; then routines=(routines/*.ini); else
  routines=("$what"); [ -f "$what" ] || routines=("routines/$what.ini"); fi

. bench/timing.sh

# 1. the work: phrases per voice profile, the exported WAV of each routine
: >"$work/groups"
for r in "${routines[@]}"; do
  name=$(basename "$r" .ini)
  voice=$(sed -nE 's/^voice *= *([^ ;]+).*/\1/p' "$r" | head -1)
  prof=voices/${voice:-en-us}.ini
  espeak=$(sed -nE 's/^espeak *= *([^ ;]+).*/\1/p' "$prof" | head -1)
  rate=$(sed -nE 's/^rate *= *([0-9]+).*/\1/p' "$prof" | head -1)
  pitch=$(sed -nE 's/^pitch *= *([0-9]+).*/\1/p' "$prof" | head -1)
  key="$espeak $rate $pitch"
  grep -qxF "$key" "$work/groups" || echo "$key" >>"$work/groups"
  gid=$(grep -nxF "$key" "$work/groups" | cut -d: -f1)
  "$coach" plan "$r" --json | python3 -c '
import json, sys
seen = {}
for e in json.load(sys.stdin)["events"]:
    if e["kind"] == "speech" and e["clip"] not in seen:
        seen[e["clip"]] = e["text"].replace("\n", " ")
print("\n".join(seen.values()))' >>"$work/phrases.$gid"
  "$coach" export "$r" -o "$work/$name.wav" -q
done
# one WAV holding every routine's samples, end to end (same rate/channels)
if [ "${#routines[@]}" -gt 1 ]; then sox "$work"/*.wav "$work/all.samples.wav"; else
  cp "$work/$(basename "${routines[0]}" .ini).wav" "$work/all.samples.wav"; fi
audio_s=$(soxi -D "$work/all.samples.wav")
hz=$(soxi -r "$work/all.samples.wav"); ch=$(soxi -c "$work/all.samples.wav")
sox "$work/all.samples.wav" -t f32 "$work/all.f32" && rm "$work"/*.wav
nphr=$(cat "$work"/phrases.* | wc -l)
echo "routines: ${#routines[@]}, audio ${audio_s} s, distinct phrases ${nphr}, runs ${runs} (median wall s)"

synth_all() { # $1 part, $2 nparts
  local e r p gid
  while read -r e r p; do
    gid=$(grep -nxF "$e $r $p" "$work/groups" | cut -d: -f1)
    "$lb" synth "$e" "$r" "$p" "$work/phrases.$gid" "$1" "$2"
  done <"$work/groups"
}
synth1() { synth_all 0 1; }
enc1() { "$lb" encode "$work/all.f32" "$hz" "$ch" "$fmt" "$work/out.$fmt"; }
limit1() { synth1 && enc1; }
limit2() {
  (synth_all 0 2 && "$lb" encode "$work/all.f32" "$hz" "$ch" "$fmt" "$work/a.$fmt" 0 2) &
  local bg=$!
  synth_all 1 2 && "$lb" encode "$work/all.f32" "$hz" "$ch" "$fmt" "$work/b.$fmt" 1 2
  wait "$bg"
}
mapfile -t rw < <(rewrite_of "$coach") # every export renders and writes its file
export_all() { # coach export of the routine(s), XDG_CACHE_HOME=$1
  for r in "${routines[@]}"; do
    XDG_CACHE_HOME=$1 "$coach" export "$r" -o "$work/e.$fmt" -q --format "$fmt" "${rw[@]}"
  done
}
fresh_cache() { rm -rf "$work/cache.cold"; mkdir "$work/cache.cold"; }
cold() { export_all "$work/cache.cold"; }
warm() { export_all "$work/cache.warm"; }

t_synth=$(median_of synth1)
printf '%-6s %8s %8s %8s %8s %8s %8s %8s %8s %10s %8s\n' format synth_s enc_s lim1c_s lim2c_s cold_s warm_s \
  'lim2c×' 'cold×' 'cold÷lim2c' paired
for fmt in $formats; do
  rm -rf "$work/cache.warm"; mkdir "$work/cache.warm"; export_all "$work/cache.warm"
  t_enc=$(median_of enc1)
  t_l1=$(median_of limit1)
  read -r t_l2 t_cold t_ratio < <(prep=fresh_cache paired_of limit2 -- cold)
  t_warm=$(median_of warm)
  c_cold=$(prep=fresh_cache cpu_of cold)
  c_warm=$(cpu_of warm)
  awk -v f="$fmt" -v a="$audio_s" -v s="$t_synth" -v e="$t_enc" -v l1="$t_l1" -v l2="$t_l2" \
    -v c="$t_cold" -v w="$t_warm" -v p="$t_ratio" -v cc="$c_cold" -v cw="$c_warm" 'BEGIN {
      printf "%-6s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %7.0fx %7.0fx %9.0f%% %7.0f%%\n", f, s, e, l1, l2, c, w, a/l2, a/c, 100*l2/c, 100*p
      printf "       × real time: limit 1 core %.0f, limit 2 cores %.0f, export cold %.0f, warm %.0f; export ÷ limit (1 core) %.0f%%\n", a/l1, a/l2, a/c, a/w, 100*l1/c
      printf "       CPU s: cold %.2f, warm %.2f; cold CPU ÷ 2 cores %.2f s: export ÷ limit (2 cores) %.0f%% at most\n", cc, cw, cc/2, 100*l2/(cc/2) }'
done
