#!/usr/bin/env bash
# Writes a routine of about MINUTES minutes of audio whose every step says
# something new (distinct setup, cue and finish lines: nothing is reused
# but the numbers), for the memory tests and bench/scaling_bench.sh.
#   bash bench/gen_routine.sh MINUTES > routine.ini
set -euo pipefail
minutes=${1:?usage: gen_routine.sh MINUTES}
steps=$(( (minutes * 9 + 9) / 10 )) # one step is about 67 s
# a routine has at most 200 steps: past 180, longer steps (more setup lines,
# longer holds), so the text still grows with the length
f=$(( (steps + 179) / 180 ))
steps=$(( (steps + f - 1) / f ))
words=(arm leg knee hip shoulder wrist ankle neck elbow heel)
printf '[routine]\ntitle = Generated %s minutes\nvoice = en-us\nrest = 10\nprepare = 5\ncountdown = 3\n\n' "$minutes"
for ((i = 1; i <= steps; i++)); do
  a=${words[i % 10]} b=${words[(i / 10) % 10]} c=${words[(i / 100) % 10]}
  printf '[exercise step-%d]\nname = Exercise number %d\n' "$i" "$i"
  for ((j = 1; j <= f; j++)); do
    printf 'setup = For exercise %d, part %d, rest your %s near your %s and keep your %s still.\n' \
      "$i" "$j" "$a" "$b" "$c"
  done
  printf 'cue = Now move the %s toward the %s, %d times in all, slowly.\n' "$a" "$b" "$i"
  printf 'finish = Good, that was exercise %d with the %s and the %s.\n' "$i" "$a" "$c"
  printf 'hold = %d\n\n' $((40 * f + 25 * (f - 1)))
done
