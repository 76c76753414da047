#!/usr/bin/env bash
# gpuperf's last call (BENCH.md, 2026-11-23b): the conformance suite, then
# the order-2 crossover with the rates of the whole-vec4 ssdf.comp
# (SSDForm now picks the chunked form at 2K): both forms at 1K and 2K, and
# SSDAuto at 2K. Every benchmark warms up for 0.5 s.
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
timeout 240 $T -test.v -test.count=1 >"$OUT/conf.log" 2>&1
echo "conformance rc=$? checks=$(grep -c 'largest relative' "$OUT/conf.log")"
grep -E "^(--- (FAIL|SKIP)|ok|PASS|FAIL)" "$OUT/conf.log" | sort | uniq -c | head -20
timeout 100 $T -test.run '^$' -test.bench 'BenchmarkSSD$/order=./chunk=(64|256)/rpt=4/' -test.benchtime 10x -bench.ls 1024,2048 2>&1 | tee -a "$OUT/bench.log" | short
timeout 100 $T -test.run '^$' -test.bench 'BenchmarkQuadratic$' -test.benchtime 10x -bench.ls 1024,2048 2>&1 | tee -a "$OUT/bench.log" | short
timeout 60 $T -test.run '^$' -test.bench 'SSDAuto/order=2/L=2048/' -test.benchtime 10x 2>&1 | tee -a "$OUT/bench.log" | short
date -u
