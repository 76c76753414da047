#!/usr/bin/env bash
# Prints the Go build tags this machine supports, detected by linking tiny C
# programs: "openblas" when OpenBLAS can be linked (gonum's netlib BLAS), "gl,egl"
# when EGL can be linked (the OpenGL 4.3 compute backend). A missing
# library only drops its tag: the build never fails because of it.
set -u
[ "${CGO_ENABLED:-1}" = 0 ] && exit 0
command -v gcc >/dev/null 2>&1 || exit 0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tags=()
links() { printf 'int main(void){return 0;}\n' >"$tmp/t.c"; gcc "$tmp/t.c" -o "$tmp/t" "$@" >/dev/null 2>&1; }
links -lopenblas && tags+=(openblas)
# gl: our EGL code; egl: go-gl loads entry points through EGL and links only
# libEGL (without it go-gl links libGL, which pulls in GLX and X11).
links -lEGL && pkg-config --exists egl 2>/dev/null && tags+=(gl egl)
( IFS=,; echo "${tags[*]:-}" )
