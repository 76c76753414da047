#!/usr/bin/env bash
# gpuperf's fourth call (BENCH.md, 2026-11-23b): the conformance suite, SGEMM
# v4 and v24 (default); the fused SSD's stages with and without FULL
# (-ssd.nofull) and with SCAN unrolled by 8 (-ssd.scanu 8); SSDAuto at each
# L and order in a process of its own (the final table); the chunked form
# of order 2 at 2K (crossover). Every benchmark warms up for 0.5 s. The driver's binaries
# of SGEMM v4, v24 and the order-1 SSD programs go to $OUT/bin (NVIDIA's hold the assembly).
set -u
cd "$(dirname "$0")/../.." || exit 1
for f in .gl/perf/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
T=.gl/perf/gpu.test
date -u
nvidia-smi --query-gpu=name,driver_version,persistence_mode,pstate,clocks.sm,clocks.max.sm,clocks.mem --format=csv
nvidia-smi --query-gpu=timestamp,pstate,clocks.sm,clocks.mem,power.draw,utilization.gpu --format=csv,noheader -lms 100 >"$OUT/smi.csv" 2>&1 &
SMI=$!
short() { grep -E "^Benchmark|FAIL|panic" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'; }
timeout 240 $T -test.v -test.count=1 >"$OUT/conf.log" 2>&1
echo "conformance rc=$? checks=$(grep -c 'largest relative' "$OUT/conf.log")"
grep -E "^(--- (FAIL|SKIP)|ok|PASS|FAIL)" "$OUT/conf.log" | sort | uniq -c | head -20
echo "== sgemm"; mkdir -p "$OUT/bin"; FURIOUS_GL_DUMP="$OUT/bin" timeout 100 $T -test.run '^$' -test.bench 'SGEMM/v(4|24)/' -test.benchtime 20x 2>&1 | tee -a "$OUT/bench.log" | short
st() { echo "== stages $*"; timeout 90 $T -test.run '^$' -test.bench "SSDStages/order=$1/chunk=$2/rpt=4/L=$3\$" -test.benchtime 10x "${@:4}" 2>&1 | tee -a "$OUT/bench.log" | short; }
st 1 64 32768
FURIOUS_GL_DUMP="$OUT/bin" st 1 64 131072
ls -la "$OUT/bin"
st 1 64 131072 -ssd.nofull
st 1 64 131072 -ssd.scanu 8
st 2 256 32768
st 2 256 32768 -ssd.nofull -ssd.scanu 8
au() { echo "== auto $*"; timeout 90 $T -test.run '^$' -test.bench "SSDAuto/order=$1/L=$2/" -test.benchtime 10x "${@:3}" 2>&1 | tee -a "$OUT/bench.log" | short; }
for L in 2048 8192 32768 131072; do au 1 $L; au 2 $L; done
au 1 131072 -ssd.nofull -ssd.scanu 8
au 2 32768 -ssd.nofull -ssd.scanu 8
echo "== crossover"
timeout 100 $T -test.run '^$' -test.bench 'BenchmarkSSD$/order=2/chunk=256/rpt=4/L=2048$' -test.benchtime 10x 2>&1 | tee -a "$OUT/bench.log" | short
kill $SMI
awk -F', ' '{print $3}' "$OUT/smi.csv" | sort | uniq -c | sort -rn | head -6
date -u
