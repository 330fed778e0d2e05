#!/usr/bin/env bash
# Cross-builds coach for arm64 (Raspberry Pi OS / Debian bookworm arm64) on
# an x86-64 Debian 12 machine, runs the offline test suite under qemu-user,
# and checks that the arm64 build makes the same plans and the same audio
# as an x86-64 build. Idempotent; see docs/cross-arm64.md.
#
#   scripts/cross-arm64.sh [--host-build DIR] [--no-tests] [--all-tests]
#                          [--no-compare] [--refresh] [-j N] [ROUTINE...]
#
# 1. installs (apt-get, sudo when not root) the host's tools: the cross
#    compiler gcc-aarch64-linux-gnu and qemu-user (not qemu-user-binfmt:
#    nothing is registered with the kernel), plus what scripts/setup.sh
#    installs for the x86-64 build;
# 2. makes an arm64 sysroot, build-arm64/sysroot: Debian's arm64 packages
#    of the dependencies, resolved and downloaded by apt-get with a private
#    state in build-arm64/apt (arm64 only, the machine's own sources) and
#    unpacked with dpkg-deb -x. The machine's dpkg is not touched: no
#    foreign architecture, nothing installed or upgraded for arm64. Also
#    ALSA's pulse plugin, so the arm64 coach can play into PulseAudio;
# 3. configures and builds build-arm64 with cmake/toolchain-aarch64.cmake;
# 4. runs ctest there (each test program under qemu-aarch64; the shell tests
#    run coach through a wrapper), all tests but play_pulse, faults and
#    install_deb, whose known failures under the emulator are listed in
#    docs/cross-arm64.md (--all-tests runs them too);
# 5. builds coach for x86-64 in build-arm64-host (or uses --host-build DIR);
# 6. `coach plan --json` of every shipped routine from both builds must be
#    byte-identical; for each ROUTINE (default: lower-back-relief
#    breathing), `coach export` to WAV from both must match: tones and
#    silence exactly, speech within the tolerance below; coach-onsets must
#    find the same tone onsets in both.
#
# Exits non-zero when a step fails, a test fails or the builds disagree.
# COACH_ARM64_BUILD (default build-arm64) and COACH_ARM64_HOST_BUILD
# (default build-arm64-host) name the build directories.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

# Outside speech (tones, clicks, silence) every sample must be equal.
# Speech may differ in the last bit: espeak-ng's 22050 Hz samples are the
# same on both, but libsoxr's float resampling to 48000 Hz differs by a few
# float ulps (up to 4e-7 of full scale, 1/80 LSB: its SIMD code differs
# between x86-64 and arm64), which turns into a +-1 LSB difference where a
# sample lies next to a rounding boundary of the int16 output. So: at most
# 1 LSB in speech, and an SNR of the speech against the difference of at
# least 90 dB (measured: 102-103 dB, about 0.06 % of speech samples differ).
# Any real difference (a clip at another frame, another length, missing
# speech) is thousands of LSB.
max_speech_lsb=${COACH_CROSS_MAX_SPEECH_LSB:-1}
min_speech_snr_db=${COACH_CROSS_MIN_SPEECH_SNR_DB:-90}
# Left out of the ctest run under qemu unless --all-tests (see
# docs/cross-arm64.md): play_pulse (it looks for a process named coach, which
# is named qemu-aarch64 here, and its timing assumes a first sound within
# ~0.1 s, ~1.2 s under qemu), faults (it hides espeak-ng's data with a mount
# namespace, which does not hide the sysroot's copy, and qemu -L does not
# redirect access(2), so two messages come out different) and install_deb
# (the installed bash completion runs the installed arm64 coach directly,
# which needs binfmt_misc); attack_control and attack_voice (their fork-
# and memory-limit sweeps run past ctest's 1500 s under the emulator) and
# attack_export (its two-writers race: under qemu the first export is done
# before the second starts, so the "another coach is writing" check loses);
# alsa_plugins (the sysroot has only ALSA's pulse plugin: the jack plugin
# a user's PCM keeps cannot load); memory (the peak RSS it bounds is
# qemu's, 34-40 MB with its translation cache, not coach's); listen (its
# "silent after coach pause" window starts 4.5 s after the command is
# spoken: under the emulator the recognizer is ~10x slower and the pause,
# its fade and "Paused" reach into the window; 21 of 22 checks pass).
exclude='^(play_pulse|faults|install_deb|attack_control|attack_voice|attack_export|alsa_plugins|memory|listen)$'

host_build="" run_tests=1 run_compare=1 refresh=0 jobs=$(nproc)
routines=()
while [ $# -gt 0 ]; do
  case "$1" in
    --host-build) host_build=${2:?--host-build needs a directory}; shift ;;
    --no-tests) run_tests=0 ;;
    --all-tests) exclude='' ;;
    --no-compare) run_compare=0 ;;
    --refresh) refresh=1 ;;
    -j) jobs=${2:?-j needs a number}; shift ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "cross-arm64: unknown option $1" >&2; exit 2 ;;
    *) routines+=("$1") ;;
  esac
  shift
done
[ ${#routines[@]} -gt 0 ] || routines=(lower-back-relief breathing)

build=${COACH_ARM64_BUILD:-$src/build-arm64}
host=${host_build:-${COACH_ARM64_HOST_BUILD:-$src/build-arm64-host}}
sysroot=$build/sysroot
aptdir=$build/apt
triplet=aarch64-linux-gnu
arm64_packages=(libc6-dev libstdc++-12-dev portaudio19-dev libsndfile1-dev libespeak-ng-dev libsoxr-dev libtag1-dev libsystemd-dev libpulse-dev libpocketsphinx-dev
  libebur128-dev libflac-dev nettle-dev flite1-dev libspeexdsp-dev libmp3lame-dev libopus-dev libogg-dev # as scripts/setup.sh
  pocketsphinx-en-us) # the English model: test_spotter and listen need it
# unpacked without their dependencies, only these files: ALSA's pulse
# plugin (libpulse0 is there already) for play tests through PulseAudio
arm64_extras=(libasound2-plugins)
arm64_extra_files=("./usr/lib/$triplet/alsa-lib/libasound_module_*_pulse.so")

t0=$SECONDS
step_t=$SECONDS
step() {
  echo "cross-arm64: [$((SECONDS - t0))s] $*"
  step_t=$SECONDS
}
done_step() { echo "cross-arm64:   ... $(($SECONDS - step_t))s"; }
die() {
  echo "cross-arm64: FAILED: $*" >&2
  exit 1
}

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# ---- 1. host tools -----------------------------------------------------
step "host packages"
bash scripts/setup.sh
host_packages=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user python3)
missing=()
for p in "${host_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ -z "$sudo" ] || command -v sudo >/dev/null ||
    die "need root or sudo to install: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # never let this remove anything the main build needs
  if apt-get -s install --no-install-recommends "${missing[@]}" | grep '^Remv'; then
    die "installing ${missing[*]} would remove the packages above; install them by hand"
  fi
  echo "cross-arm64: installing ${missing[*]}"
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
done_step

# ---- 2. the arm64 sysroot ----------------------------------------------
step "arm64 sysroot in $sysroot"
want="packages: ${arm64_packages[*]}; files of ${arm64_extras[*]}"
if [ $refresh = 0 ] && [ -f "$sysroot/.coach-sysroot" ] &&
  [ "$(head -n 1 "$sysroot/.coach-sysroot")" = "$want" ]; then
  echo "cross-arm64: sysroot is there ($(($(wc -l <"$sysroot/.coach-sysroot") - 1)) packages; --refresh remakes it)"
else
  mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
  : >"$aptdir/status" # dpkg status of the sysroot: nothing installed
  {
    echo "Dir::State \"$aptdir\";"
    echo "Dir::State::Lists \"$aptdir/lists\";"
    echo "Dir::State::status \"$aptdir/status\";"
    echo "Dir::Cache \"$aptdir/cache\";"
    echo 'APT::Architecture "arm64";'
    echo 'APT::Architectures { "arm64"; };'
    echo 'APT::Install-Recommends "false";'
    echo 'pkgCacheGen::Essential "none";' # no Essential set: only what the packages need
    echo 'Debug::NoLocking "true";'        # private state: no system locks
    [ "$(id -u)" -ne 0 ] || echo 'APT::Sandbox::User "root";'
  } >"$aptdir/apt.conf"
  export APT_CONFIG=$aptdir/apt.conf # the machine's sources.list and apt.conf.d still apply
  apt-get update -qq || echo "cross-arm64: apt-get update reported errors; trying with what it got" >&2
  rm -rf "$aptdir/cache/archives"/*.deb "$aptdir/extras"
  apt-get install -y -qq --download-only "${arm64_packages[@]}" >/dev/null
  mkdir -p "$aptdir/extras"
  (cd "$aptdir/extras" && apt-get download -qq "${arm64_extras[@]}")
  unset APT_CONFIG
  rm -rf "$sysroot.new"
  mkdir -p "$sysroot.new"
  debs=("$aptdir"/cache/archives/*.deb)
  for deb in "${debs[@]}"; do dpkg-deb -x "$deb" "$sysroot.new"; done
  for deb in "$aptdir"/extras/*.deb; do
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$sysroot.new" --wildcards "${arm64_extra_files[@]}"
  done
  debs+=("$aptdir"/extras/*.deb)
  # absolute symlinks (libm.so -> /lib/aarch64-linux-gnu/libm.so.6) must
  # point into the sysroot, not at the host
  find "$sysroot.new" -type l -lname '/*' | while read -r l; do
    ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$sysroot.new$(readlink "$l")")" "$l"
  done
  # the links update-alternatives makes when BLAS and LAPACK are installed
  # (no postinst runs here): libsphinxbase (voices_bench) links through them
  for alt in blas lapack; do
    d=$sysroot.new/usr/lib/$triplet
    [ -e "$d/$alt/lib$alt.so.3" ] && [ ! -e "$d/lib$alt.so.3" ] && ln -s "$alt/lib$alt.so.3" "$d/lib$alt.so.3"
  done
  {
    echo "$want"
    for deb in "${debs[@]}"; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb"; done
  } >"$sysroot.new/.coach-sysroot"
  rm -rf "$sysroot"
  mv "$sysroot.new" "$sysroot"
  echo "cross-arm64: sysroot made from ${#debs[@]} packages ($(du -sh "$sysroot" | cut -f1))"
fi
grep -E '^(libespeak-ng1|libsndfile1|libsoxr0|libportaudio2|libc6) ' "$sysroot/.coach-sysroot" |
  sed 's/^/cross-arm64:   arm64 /' || true
done_step

# ---- 3. cross build ----------------------------------------------------
step "configure and build $build"
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchain-aarch64.cmake" \
  -DCOACH_ARM64_SYSROOT="$sysroot" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
  die "configuring $build"
cmake --build "$build" -j"$jobs" >"$build/build.log" 2>&1 || {
  tail -n 40 "$build/build.log" >&2
  die "cross build (log: $build/build.log)"
}
grep -i 'warning:' "$build/build.log" | sort -u | sed 's/^/cross-arm64:   /' || true
machine=$(LC_ALL=C readelf -h "$build/coach" | sed -n 's/^ *Machine: *//p')
[ "$machine" = AArch64 ] || die "$build/coach is for '$machine', not AArch64"
# -std=c11 (CMAKE_C_EXTENSIONS OFF) means -ffp-contract=off for GCC: no
# a*b+c fused into one rounding on arm64 where x86-64 (no FMA in its
# baseline) rounds twice. Informational: fma() itself would be fine.
std=$(grep -ho -- '-std=[a-z0-9+]*' "$build/CMakeFiles/coachcore.dir/flags.make" | head -n 1)
nfma=$(${triplet}-objdump -d "$build/coach" | grep -cE $'\t(fmadd|fmsub|fnmadd|fnmsub|fmla|fmls)\s' || true)
echo "cross-arm64: compiled with ${std:-no -std}; fused multiply-adds in coach: $nfma"
# the emulator command as the toolchain file made it (-cpu, -L sysroot)
IFS=';' read -r -a qemu <<<"$(sed -n 's/^CMAKE_CROSSCOMPILING_EMULATOR:[A-Z]*=//p' "$build/CMakeCache.txt")"
[ ${#qemu[@]} -gt 0 ] || die "no CMAKE_CROSSCOMPILING_EMULATOR in $build/CMakeCache.txt"
"${qemu[@]}" "$build/coach" --version || die "the arm64 coach does not run under qemu"
done_step

# ---- 4. the offline tests under qemu -----------------------------------
tests_failed=0
if [ $run_tests = 1 ]; then
  step "ctest under qemu${exclude:+ (all but $exclude)}"
  ctest --test-dir "$build" ${exclude:+-E "$exclude"} --output-on-failure -j"$jobs" || tests_failed=1
  done_step
fi

# ---- 5. the x86-64 build to compare with --------------------------------
[ $run_compare = 1 ] || {
  [ $tests_failed = 0 ] || die "tests failed under qemu"
  echo "cross-arm64: done in $((SECONDS - t0))s"
  exit 0
}
if [ -n "$host_build" ]; then
  step "x86-64 build: $host (given)"
  [ -x "$host/coach" ] || die "$host/coach is not built"
else
  step "x86-64 build in $host"
  cmake -S . -B "$host" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || die "configuring $host"
  cmake --build "$host" -j"$jobs" --target coach coach-onsets >"$host/build.log" 2>&1 || {
    tail -n 40 "$host/build.log" >&2
    die "x86-64 build (log: $host/build.log)"
  }
fi
onsets=$host/tests/tools/coach-onsets
[ -x "$onsets" ] || cmake --build "$host" --target coach-onsets >/dev/null
done_step

# ---- 6. same plans, same audio -----------------------------------------
step "compare x86-64 and arm64: ${routines[*]}"
cmp_dir=$build/compare
rm -rf "$cmp_dir"
mkdir -p "$cmp_dir/home"
# a small sample comparer: int16 frames of two files, split by a mask of
# frame ranges (the speech events of the plan)
cat >"$cmp_dir/wavdiff.c" <<'EOF'
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
struct part { const char *name; unsigned long long n, ndiff; long maxd; double sig, err; };
static short *load(const char *p, SF_INFO *in)
{
    SNDFILE *f = sf_open(p, SFM_READ, in);
    if (!f) { fprintf(stderr, "wavdiff: %s: %s\n", p, sf_strerror(NULL)); exit(2); }
    short *x = malloc((size_t)in->frames * in->channels * sizeof *x + 1);
    if (!x || sf_readf_short(f, x, in->frames) != in->frames) { fprintf(stderr, "wavdiff: %s: read\n", p); exit(2); }
    sf_close(f);
    return x;
}
static void show(const struct part *p)
{
    printf("  %-7s %11llu samples, %9llu differ, max |diff| %ld LSB", p->name, p->n, p->ndiff, p->maxd);
    if (p->maxd) printf(" (%.1f dBFS), SNR %.1f dB\n", 20 * log10(p->maxd / 32768.0), 10 * log10(p->sig / p->err));
    else printf(" (bit-identical)\n");
}
int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: wavdiff A B RANGES\n"); return 2; }
    SF_INFO ia = {0}, ib = {0};
    short *a = load(argv[1], &ia), *b = load(argv[2], &ib);
    if (ia.frames != ib.frames || ia.channels != ib.channels || ia.samplerate != ib.samplerate) {
        printf("  lengths/formats differ: %lld x %d @ %d vs %lld x %d @ %d\n", (long long)ia.frames,
               ia.channels, ia.samplerate, (long long)ib.frames, ib.channels, ib.samplerate);
        return 1;
    }
    unsigned char *speech = calloc((size_t)ia.frames + 1, 1);
    FILE *r = fopen(argv[3], "r");
    unsigned long long s, e;
    while (r && fscanf(r, "%llu %llu", &s, &e) == 2)
        for (unsigned long long f = s; f < e && f < (unsigned long long)ia.frames; f++) speech[f] = 1;
    if (r) fclose(r);
    struct part p[3] = {{"all"}, {"speech"}, {"other"}};
    for (long long f = 0; f < ia.frames; f++)
        for (int c = 0; c < ia.channels; c++) {
            long x = a[f * ia.channels + c], y = b[f * ia.channels + c], d = labs(x - y);
            for (int k = 0; k < 3; k++) {
                if (k && (k == 1) != speech[f]) continue;
                p[k].n++;
                p[k].sig += (double)x * x;
                p[k].err += (double)d * d;
                if (d) p[k].ndiff++;
                if (d > p[k].maxd) p[k].maxd = d;
            }
        }
    for (int k = 0; k < 3; k++) show(&p[k]);
    printf("RESULT speech_max=%ld speech_snr=%.2f other_max=%ld\n", p[1].maxd,
           p[1].err > 0 ? 10 * log10(p[1].sig / p[1].err) : 999.0, p[2].maxd);
    return 0;
}
EOF
cc -O2 -o "$cmp_dir/wavdiff" "$cmp_dir/wavdiff.c" $(pkg-config --cflags --libs sndfile) -lm ||
  die "cannot build the sample comparer"

# both builds run with the same data and nothing from the user's home
export COACH_DATA_DIR=$src HOME=$cmp_dir/home XDG_DATA_HOME= XDG_DATA_DIRS=/nonexistent
run_x86() { "$host/coach" "$@"; }
run_arm() { "${qemu[@]}" "$build/coach" "$@"; }
mismatch=0
bad() {
  echo "cross-arm64: MISMATCH: $*" >&2
  mismatch=1
}
# every shipped routine's plan (cheap), then the audio of the chosen ones
mkdir -p "$cmp_dir/plans"
nplans=0
for f in routines/*.ini; do
  r=$(basename "$f" .ini)
  p=$cmp_dir/plans/$r
  run_x86 plan "$r" --json >"$p.x86_64.json" || die "x86-64: coach plan $r"
  run_arm plan "$r" --json >"$p.arm64.json" || die "arm64: coach plan $r"
  if cmp -s "$p.x86_64.json" "$p.arm64.json"; then
    nplans=$((nplans + 1))
  else
    diff "$p.x86_64.json" "$p.arm64.json" | head -n 20 >&2 || true
    bad "$r: plan --json differs"
  fi
done
echo "cross-arm64: plan --json byte-identical for $nplans of $(ls routines/*.ini | wc -l) shipped routines"
for r in "${routines[@]}"; do
  d=$cmp_dir/$r
  mkdir -p "$d"
  run_x86 plan "$r" --json >"$d/plan-x86_64.json" || die "x86-64: coach plan $r"
  run_arm plan "$r" --json >"$d/plan-arm64.json" || die "arm64: coach plan $r"
  if cmp -s "$d/plan-x86_64.json" "$d/plan-arm64.json"; then
    echo "cross-arm64: $r: plan --json identical ($(wc -c <"$d/plan-x86_64.json") bytes)"
  else
    diff "$d/plan-x86_64.json" "$d/plan-arm64.json" | head -n 20 >&2 || true
    bad "$r: plan --json differs"
  fi
  ta=$SECONDS
  run_arm export "$r" -o "$d/arm64.wav" -q &
  arm_pid=$!
  run_x86 export "$r" -o "$d/x86_64.wav" -q || die "x86-64: coach export $r"
  tb=$SECONDS
  wait $arm_pid || die "arm64: coach export $r"
  tc=$SECONDS
  echo "cross-arm64: $r: export to WAV: x86-64 $((tb - ta))s, arm64 under qemu $((tc - ta))s (side by side)"
  python3 - "$d/plan-x86_64.json" >"$d/speech.ranges" <<'PY'
import json, sys
for e in json.load(open(sys.argv[1]))["events"]:
    if e["kind"] == "speech":
        print(e["frame"], e["frame"] + e["len_frames"])
PY
  if cmp -s "$d/x86_64.wav" "$d/arm64.wav"; then
    echo "cross-arm64: $r: WAV files byte-identical"
  else
    "$cmp_dir/wavdiff" "$d/x86_64.wav" "$d/arm64.wav" "$d/speech.ranges" >"$d/wavdiff.txt" ||
      { cat "$d/wavdiff.txt"; bad "$r: the WAV files differ in length or format"; continue; }
    grep -v '^RESULT' "$d/wavdiff.txt"
    read -r smax ssnr omax < <(sed -n 's/^RESULT speech_max=\(.*\) speech_snr=\(.*\) other_max=\(.*\)/\1 \2 \3/p' "$d/wavdiff.txt")
    [ "$omax" = 0 ] || bad "$r: outside speech (tones, silence) the audio differs by up to $omax LSB"
    [ "$smax" -le "$max_speech_lsb" ] || bad "$r: speech differs by $smax LSB (> $max_speech_lsb)"
    awk -v s="$ssnr" -v m="$min_speech_snr_db" 'BEGIN { exit !(s >= m) }' ||
      bad "$r: speech SNR $ssnr dB (< $min_speech_snr_db dB)"
  fi
  "$onsets" "$d/arm64.wav" >"$d/onsets-arm64.txt" &
  on_pid=$!
  "$onsets" "$d/x86_64.wav" >"$d/onsets-x86_64.txt" || die "coach-onsets $d/x86_64.wav"
  wait $on_pid || die "coach-onsets $d/arm64.wav"
  if cmp -s "$d/onsets-x86_64.txt" "$d/onsets-arm64.txt"; then
    echo "cross-arm64: $r: the same $(wc -l <"$d/onsets-x86_64.txt") tone onsets (coach-onsets)"
  else
    diff "$d/onsets-x86_64.txt" "$d/onsets-arm64.txt" | head -n 20 >&2 || true
    bad "$r: coach-onsets finds different tone onsets"
  fi
done
done_step

echo "cross-arm64: done in $((SECONDS - t0))s"
[ $tests_failed = 0 ] || die "tests failed under qemu (see above)"
[ $mismatch = 0 ] || die "the arm64 build does not match the x86-64 build (see above; files in $cmp_dir)"
tested="tests pass under qemu"
[ $run_tests = 1 ] || tested="tests not run"
echo "cross-arm64: OK: $tested; plans identical and audio matches for ${routines[*]}"
