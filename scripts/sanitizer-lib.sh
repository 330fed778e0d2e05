# Shared by scripts/sanitize.sh and scripts/tsan.sh (sourced, not run):
# building everything with sanitizer flags, and the reports every
# sanitized process leaves in a log directory.

# san_build DIR FLAGS: configures and builds everything (coach, the core
# library, every test) in DIR with FLAGS for compiling and linking.
san_build() {
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="${CC:-gcc}" \
    -DCMAKE_C_FLAGS="$2" -DCMAKE_EXE_LINKER_FLAGS="$2" -DCMAKE_SHARED_LINKER_FLAGS="$2" \
    >/dev/null
  cmake --build "$1" -j"$(nproc)"
}

# san_reports LOGS STATUS NAME: prints every report in LOGS; returns
# STATUS, or 1 if it was 0 and there are reports (any report fails the
# run, also one from a process whose exit status no test checks).
san_reports() {
  local logs=$1 status=$2 name=$3 reports f
  shopt -s nullglob
  # a sanitizer runtime that could not reserve its shadow memory under an
  # address-space limit a test set on purpose (`ulimit -v`, to see whether
  # coach runs there and skip if not) found nothing: not a report
  for f in "$logs"/*; do
    if grep -q "ReserveShadowMemoryRange failed" "$f" &&
      ! grep -v "ReserveShadowMemoryRange failed\|AddressSanitizer failed to allocate" "$f" |
        grep -q .; then
      echo "$name: not a report (could not start under a test's ulimit -v): $f"
      rm -f "$f"
    fi
  done
  reports=("$logs"/*)
  if [ ${#reports[@]} -gt 0 ]; then
    for f in "${reports[@]}"; do
      echo "==== $f"
      cat "$f"
    done
    echo "$name: ${#reports[@]} report(s) above (from $logs)" >&2
    [ "$status" -ne 0 ] || status=1
  else
    echo "$name: no reports"
  fi
  return "$status"
}
