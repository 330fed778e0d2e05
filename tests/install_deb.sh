#!/usr/bin/env bash
# The installed coach works with no environment at all. Builds the Debian
# package from this build with CPack and checks its control fields and
# contents (binary, every routine and voice, man pages, bash completion,
# systemd user units); extracts it with dpkg -x into a scratch root and runs
# the coach from there with no COACH_* variables, HOME and XDG_DATA_DIRS
# pointing at empty directories and a working directory with no routines/:
# it must list, check and complete every routine and voice from the scratch
# root itself; its man pages render without groff warnings and its units
# run the installed programs. The same for `cmake --install --prefix` and
# (checking one routine only) a DESTDIR install. Skips (77) without cpack or
# dpkg-deb. Files are kept in $COACH_TEST_TMP/install_deb on failure only.
set -u
coach=${COACH:?} src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:?}/install_deb
for t in cpack dpkg-deb dpkg; do
    command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done

# The build directory holds the binary, or (a cross build) the emulator
# wrapper in <build>/emulated.
build=$(dirname "$coach")
[ -f "$build/CPackConfig.cmake" ] || build=$(dirname "$build")
[ -f "$build/CPackConfig.cmake" ] ||
    { echo "FAIL: no CPackConfig.cmake in $(dirname "$coach") or its parent: is include(CPack) in CMakeLists.txt?"; exit 1; }
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
prefix=$(cache CMAKE_INSTALL_PREFIX)
emu=()
IFS=';' read -r -a emu <<<"$(cache CMAKE_CROSSCOMPILING_EMULATOR)"

rm -rf "$tmp" && mkdir -p "$tmp/home" "$tmp/xdg" "$tmp/cwd" || exit 1
tmp=$(cd "$tmp" && pwd -P) # the coach prints resolved paths (/proc/self/exe)
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

routines=$(cd "$src/routines" && ls -- *.ini | sed 's/\.ini$//')
voices=$(cd "$src/voices" && ls -- *.ini | sed 's/\.ini$//')
version=$("$coach" --version | sed -n 's/^coach //p')
[ -n "$routines" ] && [ -n "$voices" ] && [ -n "$version" ] ||
    { echo "FAIL: no routines or voices in $src, or no version from $coach --version"; exit 1; }

# Runs an installed coach as a user with nothing set up would: no COACH_*
# variables, nothing in HOME or XDG_DATA_DIRS, no routines/ in the cwd.
bare() {
    local bin=$1
    shift
    (cd "$tmp/cwd" && env -i PATH=/usr/bin:/bin HOME="$tmp/home" XDG_DATA_DIRS="$tmp/xdg" \
        ${emu[@]+"${emu[@]}"} "$bin" "$@")
}

# check_tree WHAT ROOT BINPREFIX [quick]: the coach installed under ROOT
# (ROOT/bin/coach, ROOT/share/...) finds every routine and voice under ROOT,
# checks every routine (quick: only one), its man pages render without
# warnings, its completion completes routine names, and its units name
# BINPREFIX/bin/coach (where the files will be once installed).
check_tree() {
    local what=$1 root=$2 binprefix=$3 quick=${4-}
    local bin=$root/bin/coach out n
    [ -x "$bin" ] || { fail "$what: no $bin"; return; }
    out=$(bare "$bin" list 2>&1) || fail "$what: coach list failed: $out"
    for n in $routines; do
        grep -q "^$n: .* ($root/.*/$n\.ini)\$" <<<"$out" ||
            fail "$what: coach list does not show routine $n from $root; it says:"$'\n'"$out"
    done
    grep -q 'has errors' <<<"$out" && fail "$what: coach list finds routines with errors:"$'\n'"$out"
    out=$(bare "$bin" voices 2>&1) || fail "$what: coach voices failed: $out"
    for n in $voices; do
        grep -q "^  $n: .* ($root/.*/$n\.ini)\$" <<<"$out" ||
            fail "$what: coach voices does not show voice $n from $root; it says:"$'\n'"$(sed '/^$/q' <<<"$out")"
    done
    local names=$routines
    [ -n "$quick" ] && names=$(head -n 1 <<<"$routines")
    # Two processes, every other routine each: checking plans every routine
    # in full, speech included, the slow part of this test.
    local a=() b=() i=0 sa=0 sb=0 pa log=$tmp/check-out.$BASHPID
    for n in $names; do
        if ((i++ % 2)); then b+=("$n"); else a+=("$n"); fi
    done
    # One routine a check: several in one are checked as one session too,
    # with one voice for all, and the routines are for different voices.
    check_each() { local n st=0; for n; do bare "$bin" check "$n" || st=$?; done; return $st; }
    check_each "${a[@]}" >"$log.a" 2>&1 &
    pa=$!
    : >"$log.b"
    if [ ${#b[@]} -gt 0 ]; then check_each "${b[@]}" >"$log.b" 2>&1 || sb=$?; fi
    wait "$pa" || sa=$?
    out=$(cat "$log.a" "$log.b")
    [ "$sa" -eq 0 ] && [ "$sb" -eq 0 ] ||
        fail "$what: coach check (by name) failed (status $sa, $sb):"$'\n'"$out"
    for n in $names; do
        grep -q "^$root/.*/$n\.ini: ok, " <<<"$out" ||
            fail "$what: coach check $n did not check $root's copy; it says:"$'\n'"$out"
    done
    # man pages: present, and groff has nothing to warn about
    local page f
    for page in man1/coach.1 man5/coach-routine.5 man5/coach-voice.5; do
        f=$root/share/man/$page
        [ -f "$f.gz" ] && f=$f.gz
        [ -f "$f" ] || { fail "$what: no man page $root/share/man/$page(.gz)"; continue; }
        if command -v groff >/dev/null; then
            out=$( (if [[ $f == *.gz ]]; then gzip -dc "$f"; else cat "$f"; fi) |
                groff -man -Tutf8 -ww -z 2>&1)
            [ -z "$out" ] || fail "$what: groff warns about $f:"$'\n'"$out"
        else
            echo "note: no groff (package groff-base): $f not linted"
        fi
    done
    # bash completion: routine names from this very coach
    f=$root/share/bash-completion/completions/coach
    if [ -f "$f" ]; then
        out=$(cd "$tmp/cwd" && env -i PATH=/usr/bin:/bin HOME="$tmp/home" XDG_DATA_DIRS="$tmp/xdg" \
            bash -c 'source "$1" && COMP_WORDS=("$2" play "") COMP_CWORD=2 && _coach &&
                     printf "%s\n" "${COMPREPLY[@]}"' _ "$f" "$bin" 2>&1 | sort | tr '\n' ' ')
        [ "$out" = "$(sort <<<"$routines" | tr '\n' ' ')" ] ||
            fail "$what: the installed completion offers '$out' for 'coach play', not the routines"
    else
        fail "$what: no bash completion $f"
    fi
    # units: ExecStart names the installed programs
    f=$root/lib/systemd/user
    grep -qx "ExecStart=$binprefix/bin/coach menu" "$f/coach.service" 2>/dev/null ||
        fail "$what: $f/coach.service does not run $binprefix/bin/coach menu: $(grep "^ExecStart=" "$f/coach.service" 2>&1)"
    grep -qx "ExecStart=$binprefix/libexec/coach/coach-buttons" "$f/coach-buttons.service" 2>/dev/null ||
        fail "$what: $f/coach-buttons.service does not run $binprefix/libexec/coach/coach-buttons: $(grep "^ExecStart=" "$f/coach-buttons.service" 2>&1)"
    grep -qx "ExecStart=/usr/bin/mpris-proxy" "$f/coach-mpris-proxy.service" 2>/dev/null ||
        fail "$what: $f/coach-mpris-proxy.service does not run bluez's mpris-proxy"
    [ -x "$root/libexec/coach/coach-buttons" ] || fail "$what: no executable $root/libexec/coach/coach-buttons"
    [ -f "$root/share/doc/coach/raspberry-pi.md" ] || fail "$what: no $root/share/doc/coach/raspberry-pi.md"
}

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
start=$(now_ms)

# Checking every routine is the slow part, so the work overlaps: both
# cmake --install trees are made first (cpack's preinstall step may rebuild
# what they copy) and checked while cpack builds the package. The checks
# run in the background and write logs; failures are counted from them.

# 1. cmake --install --prefix (the prefix chosen at install time), and a
# DESTDIR install (the configured prefix, staged elsewhere)
checked=()
if cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1; then
    check_tree "cmake --install --prefix" "$tmp/prefix" "$tmp/prefix" >"$tmp/check-prefix.log" 2>&1 &
    checked+=(prefix)
else
    fail "cmake --install $build --prefix $tmp/prefix failed:"$'\n'"$(tail -n 20 "$tmp/install.log")"
fi
if DESTDIR="$tmp/destdir" cmake --install "$build" >"$tmp/destdir.log" 2>&1; then
    check_tree "DESTDIR install" "$tmp/destdir$prefix" "$prefix" quick >"$tmp/check-destdir.log" 2>&1 &
    checked+=(destdir)
else
    fail "DESTDIR=$tmp/destdir cmake --install $build failed:"$'\n'"$(tail -n 20 "$tmp/destdir.log")"
fi

# 2. The package
if ! cpack -G DEB -B "$tmp/cpack" --config "$build/CPackConfig.cmake" >"$tmp/cpack.log" 2>&1; then
    echo "FAIL: cpack -G DEB --config $build/CPackConfig.cmake failed:"
    tail -n 30 "$tmp/cpack.log"
    wait
    exit 1
fi
debs=("$tmp"/cpack/*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
    echo "FAIL: cpack made ${#debs[@]} .deb files in $tmp/cpack, not one:"
    ls -l "$tmp/cpack"
    wait
    exit 1
fi
deb=${debs[0]}
echo "cpack: $(basename "$deb") in $(($(now_ms) - start)) ms"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = coach ] || fail "Package is '$(field Package)', not coach"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', not $version (coach --version)"
[ "$(field Section)" = sound ] || fail "Section is '$(field Section)', not sound"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ -n "$(field Description)" ] || fail "no Description"
if [ ${#emu[@]} -eq 0 ]; then
    [ "$(field Architecture)" = "$(dpkg --print-architecture)" ] ||
        fail "Architecture is '$(field Architecture)', not $(dpkg --print-architecture)"
fi
depends=$(field Depends)
for p in espeak-ng-data libc6 libespeak-ng1 libportaudio2 libsndfile1 libsoxr0 libtag1v5 libebur128-1 libsystemd0 libpulse0 libpocketsphinx3 libsphinxbase3 libflite1 libspeexdsp1; do
    [[ ", $depends," == *", $p"[\ ,]* ]] || fail "Depends lacks $p: $depends"
done
# the mb-* profiles: espeak-ng's MBROLA voices need mbrola (contrib/non-free)
[[ ", $(field Suggests)," == *", mbrola,"* ]] || fail "Suggests lacks mbrola: $(field Suggests)"

listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
want="./usr/bin/coach ./usr/share/bash-completion/completions/coach
./usr/lib/systemd/user/coach.service ./usr/lib/systemd/user/coach-buttons.service
./usr/lib/systemd/user/coach-mpris-proxy.service
./usr/libexec/coach/coach-buttons ./usr/share/doc/coach/raspberry-pi.md"
for n in $routines; do want+=" ./usr/share/coach/routines/$n.ini"; done
for n in $voices; do want+=" ./usr/share/coach/voices/$n.ini"; done
for f in $want; do
    grep -qxF "$f" <<<"$listing" || fail "the package lacks $f"
done
for page in man1/coach.1 man5/coach-routine.5 man5/coach-voice.5; do
    grep -qE "^\./usr/share/man/$page(\.gz)?\$" <<<"$listing" || fail "the package lacks the man page $page"
done
stray=$(grep -v '^\./usr/' <<<"$listing" | grep -vx '\./')
[ -z "$stray" ] || fail "the package installs outside /usr:"$'\n'"$stray"
if dpkg -x "$deb" "$tmp/root"; then
    check_tree "the package" "$tmp/root/usr" /usr >"$tmp/check-deb.log" 2>&1 &
    checked+=(deb)
else
    fail "dpkg -x $deb $tmp/root failed"
fi

wait
for c in "${checked[@]}"; do
    cat "$tmp/check-$c.log"
    fails=$((fails + $(grep -c '^FAIL:' "$tmp/check-$c.log")))
done
echo "install_deb: done in $(($(now_ms) - start)) ms"

if [ "$fails" -ne 0 ]; then
    echo "install_deb: $fails check(s) failed (files kept in $tmp)"
    exit 1
fi
rm -rf "$tmp"
echo "install_deb: the package, --prefix and DESTDIR installs work with no environment"
