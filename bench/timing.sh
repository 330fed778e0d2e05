# Sourced by bench/*_bench.sh: whole-process wall times with public tools
# (date, bc, awk), medians of RUNS. A run that fails stops the bench.
#   median_of CMD...      median wall seconds of $runs runs; before each run
#                         the function named in $prep (if set) runs untimed
#   paired_of CMD_A -- CMD_B   A and B in turn (A B A B ...), $runs pairs:
#                         "median_A median_B median(A/B pair by pair)", so the
#                         ratio holds when the machine's speed drifts
#   cpu_of CMD...         median CPU seconds (user + system) of $runs runs,
#                         the command and every process it waited for (the
#                         synthesis workers of coach), $prep before each
#   rewrite_of BIN        "--rewrite" if BIN has it, else nothing: an export
#                         whose file is already what it would write keeps it
#                         (uptodate.h), so a bench of the render asks for the
#                         write; builds from before it have no such option
# Needs: runs, and a writable $work for the failing run's messages.
now_s() { date +%s.%N; }
# run_quiet CMD...: CMD with its output dropped; a failure stops the bench
run_quiet() { "$@" >/dev/null 2>"$work/timing.err" || { echo "failed: $*" >&2; cat "$work/timing.err" >&2; exit 1; }; }
time_once() {
  [ -n "${prep:-}" ] && "$prep"
  local s
  s=$(now_s)
  run_quiet "$@"
  echo "$(now_s) - $s" | bc -l
}
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
median_of() {
  local i t=()
  for i in $(seq "$runs"); do t+=("$(time_once "$@")"); done
  printf '%s\n' "${t[@]}" | median
}
# bash's `times` in a subshell: its second line is the CPU its children
# used, each with the children it waited for ("0m1.234s 0m0.100s")
cpu_once() {
  [ -n "${prep:-}" ] && "$prep"
  ( run_quiet "$@"
    times ) | awk 'NR == 2 { t = 0
      for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += 60 * p[1] + p[2] }
      printf "%.3f\n", t }'
}
cpu_of() {
  local i t=()
  for i in $(seq "$runs"); do t+=("$(cpu_once "$@")"); done
  printf '%s\n' "${t[@]}" | median
}
paired_of() {
  local a=() b=() i ta tb ra=() rb=() rr=()
  while [ "$1" != -- ]; do a+=("$1"); shift; done
  shift
  b=("$@")
  for i in $(seq "$runs"); do
    ta=$(time_once "${a[@]}"); tb=$(time_once "${b[@]}")
    ra+=("$ta"); rb+=("$tb"); rr+=("$(echo "$ta / $tb" | bc -l)")
  done
  echo "$(printf '%s\n' "${ra[@]}" | median) $(printf '%s\n' "${rb[@]}" | median) $(printf '%s\n' "${rr[@]}" | median)"
}
# (grep without -q reads all of the help: -q stops at the match, coach then
# dies of SIGPIPE, and pipefail made the answer depend on that race)
rewrite_of() { if "$1" --help 2>/dev/null | grep -- '--rewrite' >/dev/null; then echo --rewrite; fi; }
