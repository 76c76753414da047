#!/usr/bin/env bash
# gpuperf's last call (BENCH.md, 2026-11-23b): the conformance suite; SGEMM
# v24 (default); the fused SSD's stages with whole-vec4 staging (VV, VLOAD
# as 4×4 transposes, VPH) against -ssd.novecio; SSDAuto at each L and order
# in a process of its own (the final table). Every benchmark warms up for
# 0.5 s. The driver's binaries of the order-1 SSD programs go to $OUT/bin.
set -u
cd "$(dirname "$0")/../.." || exit 1
for f in .gl/perf/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT/bin"
T=.gl/perf/gpu.test
date -u
nvidia-smi --query-gpu=name,driver_version,persistence_mode,pstate,clocks.sm,clocks.max.sm,clocks.mem --format=csv
short() { grep -E "^Benchmark|FAIL|panic" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'; }
timeout 240 $T -test.v -test.count=1 >"$OUT/conf.log" 2>&1
echo "conformance rc=$? checks=$(grep -c 'largest relative' "$OUT/conf.log")"
grep -E "^(--- (FAIL|SKIP)|ok|PASS|FAIL)" "$OUT/conf.log" | sort | uniq -c | head -20
echo "== sgemm"; timeout 60 $T -test.run '^$' -test.bench 'SGEMM/v24/' -test.benchtime 20x 2>&1 | tee -a "$OUT/bench.log" | short
st() { echo "== stages $*"; timeout 90 $T -test.run '^$' -test.bench "SSDStages/order=$1/chunk=$2/rpt=4/L=$3\$" -test.benchtime 10x "${@:4}" 2>&1 | tee -a "$OUT/bench.log" | short; }
st 1 64 32768
FURIOUS_GL_DUMP="$OUT/bin" st 1 64 131072
st 1 64 131072 -ssd.novecio
st 2 256 32768
st 2 256 32768 -ssd.novecio
au() { echo "== auto $*"; timeout 90 $T -test.run '^$' -test.bench "SSDAuto/order=$1/L=$2/" -test.benchtime 10x "${@:3}" 2>&1 | tee -a "$OUT/bench.log" | short; }
for L in 2048 8192 32768 131072; do au 1 $L; au 2 $L; done
au 1 131072 -ssd.novecio
au 2 32768 -ssd.novecio
rm -f "$OUT"/bin/*STATE*.bin "$OUT"/bin/matmul*
date -u
