# Sourced by bench/*_bench.sh: whole-process wall times with public tools
# (date, bc, awk), medians of RUNS. A run that fails stops the bench.
#   median_of CMD...      median wall seconds of $runs runs; before each run
#                         the function named in $prep (if set) runs untimed
#   paired_of CMD_A -- CMD_B   A and B in turn (A B A B ...), $runs pairs:
#                         "median_A median_B median(A/B pair by pair)", so the
#                         ratio holds when the machine's speed drifts
#   rewrite_of BIN        "--rewrite" if BIN has it, else nothing: an export
#                         whose file is already what it would write keeps it
#                         (uptodate.h), so a bench of the render asks for the
#                         write; builds from before it have no such option
# Needs: runs, and a writable $work for the failing run's messages.
now_s() { date +%s.%N; }
time_once() {
  [ -n "${prep:-}" ] && "$prep"
  local s
  s=$(now_s)
  "$@" >/dev/null 2>"$work/timing.err" || { echo "failed: $*" >&2; cat "$work/timing.err" >&2; exit 1; }
  echo "$(now_s) - $s" | bc -l
}
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
median_of() {
  local i t=()
  for i in $(seq "$runs"); do t+=("$(time_once "$@")"); done
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
