#!/usr/bin/env bash
# gpuperf's third call (BENCH.md, 2026-11-23b): the conformance suite, SGEMM
# versions 4, 13, 16, 24 (default), 27; vec4 q/k/y access in the fused
# SSD's OUT stage against scalar (-ssd.novecio); order-1 chunk lengths;
# SSDAuto at each L and order in a process of its own (the final table),
# and both forms at 2K/8K (crossover). Every benchmark warms up for 0.5 s.
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
echo "== sgemm"; timeout 100 $T -test.run '^$' -test.bench 'SGEMM/v(4|13|16|24|27)/' -test.benchtime 20x 2>&1 | tee -a "$OUT/bench.log" | short
st() { echo "== stages $*"; timeout 90 $T -test.run '^$' -test.bench "SSDStages/order=$1/chunk=$2/rpt=4/L=$3\$" -test.benchtime 10x "${@:4}" 2>&1 | tee -a "$OUT/bench.log" | short; }
st 1 64 32768
st 1 64 131072
st 1 64 131072 -ssd.novecio
st 2 256 32768
st 2 256 32768 -ssd.novecio
echo "== order 1 chunks"
timeout 150 $T -test.run '^$' -test.bench 'BenchmarkSSD$/order=1/chunk=.*/rpt=4/L=(32768|131072)$' -test.benchtime 10x -ssd.chunk1 64,128,256 2>&1 | tee -a "$OUT/bench.log" | short
au() { echo "== auto $*"; timeout 90 $T -test.run '^$' -test.bench "SSDAuto/order=$1/L=$2/" -test.benchtime 10x "${@:3}" 2>&1 | tee -a "$OUT/bench.log" | short; }
for L in 2048 8192 32768 131072; do au 1 $L; au 2 $L; done
au 1 131072 -ssd.novecio
au 2 32768 -ssd.novecio
echo "== crossover"
timeout 150 $T -test.run '^$' -test.bench 'Benchmark(SSD|Quadratic)$/order=.*/L=(2048|8192)$' -test.benchtime 10x 2>&1 | tee -a "$OUT/bench.log" | short
kill $SMI
awk -F', ' '{print $3}' "$OUT/smi.csv" | sort | uniq -c | sort -rn | head -6
date -u
