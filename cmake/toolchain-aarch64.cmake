# Cross-compiling coach for 64-bit ARM Linux (Raspberry Pi OS / Debian arm64)
# with Debian's cross compiler (package gcc-aarch64-linux-gnu), running the
# tests under qemu-user (package qemu-user). scripts/cross-arm64.sh does all
# of it; see docs/cross-arm64.md.
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#         -DCOACH_ARM64_SYSROOT=$PWD/build-arm64/sysroot
#
# COACH_ARM64_SYSROOT (cache variable, or the environment variable of that
# name) is a directory holding Debian's arm64 packages of the dependencies
# unpacked with `dpkg -x` (scripts/cross-arm64.sh makes it): headers, .pc
# files and libraries are taken from there, and qemu runs the test programs
# with it as its library prefix (-L). Set it to / when the arm64 -dev
# packages are installed on this machine with multiarch
# (dpkg --add-architecture arm64).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(COACH_TARGET_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${COACH_TARGET_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${COACH_TARGET_TRIPLET}-g++) # src/tags.cpp (TagLib)

# This file is read again for every try_compile project: the sysroot travels
# there through CMAKE_TRY_COMPILE_PLATFORM_VARIABLES (or the environment).
if(NOT COACH_ARM64_SYSROOT AND DEFINED ENV{COACH_ARM64_SYSROOT})
  set(COACH_ARM64_SYSROOT "$ENV{COACH_ARM64_SYSROOT}")
endif()
if(NOT COACH_ARM64_SYSROOT)
  message(FATAL_ERROR "toolchain-aarch64: set COACH_ARM64_SYSROOT to the unpacked arm64 "
                      "packages (scripts/cross-arm64.sh makes build-arm64/sysroot), or to / "
                      "for multiarch-installed arm64 -dev packages")
endif()
get_filename_component(COACH_ARM64_SYSROOT "${COACH_ARM64_SYSROOT}" ABSOLUTE)
if(NOT EXISTS "${COACH_ARM64_SYSROOT}/usr/lib/${COACH_TARGET_TRIPLET}")
  message(FATAL_ERROR "toolchain-aarch64: ${COACH_ARM64_SYSROOT} has no "
                      "usr/lib/${COACH_TARGET_TRIPLET}: not an arm64 sysroot")
endif()
set(COACH_ARM64_SYSROOT "${COACH_ARM64_SYSROOT}" CACHE PATH
    "Root of the arm64 libraries (dpkg -x of Debian's arm64 packages, or / for multiarch)")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES COACH_ARM64_SYSROOT)

# Debian's cross gcc searches <sysroot>/usr/include/aarch64-linux-gnu and
# <sysroot>/usr/lib/aarch64-linux-gnu (multiarch); ld resolves the libraries'
# own dependencies there too. With / this is the compiler's default.
if(NOT COACH_ARM64_SYSROOT STREQUAL "/")
  set(CMAKE_SYSROOT "${COACH_ARM64_SYSROOT}")
endif()
set(CMAKE_FIND_ROOT_PATH "${COACH_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (the host's program) reads only the arm64 .pc files, and
# prefixes the paths in them with the sysroot.
set(ENV{PKG_CONFIG_LIBDIR}
    "${COACH_ARM64_SYSROOT}/usr/lib/${COACH_TARGET_TRIPLET}/pkgconfig:${COACH_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
if(COACH_ARM64_SYSROOT STREQUAL "/")
  unset(ENV{PKG_CONFIG_SYSROOT_DIR})
else()
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "${COACH_ARM64_SYSROOT}")
endif()

# ctest runs every test executable (add_test(COMMAND <target>)) through
# qemu; -L makes the target's /lib/ld-linux-aarch64.so.1, its libraries and
# espeak-ng's data directory come from the sysroot. Kept in the cache, so
# scripts reading CMakeCache.txt (tests/install_deb.sh) find it too.
find_program(COACH_QEMU_AARCH64 qemu-aarch64)
if(NOT COACH_QEMU_AARCH64)
  set(COACH_QEMU_AARCH64 qemu-aarch64)
endif()
# The emulated CPU is a Raspberry Pi 4's (a Pi 3 has cortex-a53, a Pi 5
# cortex-a76): the libraries see the Pi's CPU features, not those of qemu's
# default "max" CPU (SVE and more, which no Pi has; also a bit slower).
set(COACH_QEMU_CPU cortex-a72 CACHE STRING "qemu-aarch64 -cpu for running the tests")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES COACH_QEMU_CPU)
set(CMAKE_CROSSCOMPILING_EMULATOR
    "${COACH_QEMU_AARCH64};-cpu;${COACH_QEMU_CPU};-L;${COACH_ARM64_SYSROOT}"
    CACHE STRING "Runs the aarch64 test programs" FORCE)
