#!/usr/bin/env bash
# gpuperf2's second call (BENCH.md, 2026-11-23c): 32-row tiles of ssdf.comp
# (-ssd.rt32) at order 1 without RUNS, against the default in the same
# call: stages at 32K and 128K, SSDAuto at 2K-128K; order 2 at 32K.
set -u
cd "$(dirname "$0")/../.." || exit 1
for f in .gl/perf/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
T=.gl/perf/gpu.test
date -u
short() { grep -E "^Benchmark|FAIL|panic" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'; }
st() { echo "== stages $*"; timeout 30 $T -test.run '^$' -test.bench "SSDStages/order=$1/chunk=$2/rpt=4/L=$3\$" -test.benchtime 10x "${@:4}" 2>&1 | tee -a "$OUT/bench.log" | short; }
au() { echo "== auto $*"; timeout 30 $T -test.run '^$' -test.bench "SSDAuto/order=$1/L=$2/" -test.benchtime 10x "${@:3}" 2>&1 | tee -a "$OUT/bench.log" | short; }
st 1 64 131072 -ssd.rt32
st 1 64 131072
st 1 64 32768 -ssd.rt32
au 1 131072 -ssd.rt32
au 1 131072
for L in 2048 8192 32768; do au 1 $L -ssd.rt32; au 1 $L; done
st 2 256 32768 -ssd.rt32
date -u
