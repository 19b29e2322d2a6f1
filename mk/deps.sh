#!/bin/sh
# Checks that the tools and libraries gillab needs are on this machine. As root on a
# Debian/Ubuntu machine it installs what is missing; otherwise it prints the exact
# install line and fails. Usage: mk/deps.sh [extra-debian-package ...]
set -u
missing=""
need() { # need PACKAGE TEST-COMMAND...
    pkg=$1; shift
    if ! "$@" >/dev/null 2>&1; then missing="$missing $pkg"; fi
}
have() { command -v "$1"; }
# clang's TSan runtime for this machine's architecture.
tsan_rt() {
    for f in /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.tsan-"$(uname -m)".a; do
        [ -e "$f" ] && return 0
    done
    return 1
}

need make       have make
need gcc        have gcc
need clang      have clang
need libclang-rt-14-dev tsan_rt
need pkg-config have pkg-config
need libcmocka-dev pkg-config --exists cmocka
need gnuplot-nox have gnuplot
need valgrind   have valgrind
need python3    have python3
for extra in "$@"; do
    case $extra in
        pypy3) need pypy3 have pypy3 ;;
        ruby) need ruby have ruby ;;
        *) need "$extra" dpkg -s "$extra" ;;
    esac
done

[ -z "$missing" ] && exit 0
line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    # apt-get update is needed on a fresh image whose package lists are empty.
    if apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
        exit 0
    fi
    echo "deps: the install failed; run it by hand: $line" >&2
    exit 1
fi
echo "deps: missing:$missing" >&2
echo "deps: run as root: $line" >&2
exit 1
