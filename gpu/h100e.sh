#!/usr/bin/env bash
# gpuperf's first call (BENCH.md, 2026-11-23b): SGEMM versions 12-19
# checked (TestMatMul) and timed, the "Erratic 32K" order-1 run repeated in
# fresh processes with every run's time, the GL driver's debug log and the
# GPU clocks sampled by nvidia-smi, and order 1 at chunks 64/128/256.
# Staged in .gl/perf/ (gpu.test, this script, the loader debs).
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
short() { grep -E "^Benchmark|FAIL|panic|gl debug|each run" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'; }
timeout 120 $T -test.run 'TestMatMul' -test.v -test.count=1 >"$OUT/matmul.log" 2>&1
echo "TestMatMul rc=$? checks=$(grep -c 'largest relative' "$OUT/matmul.log") $(grep -E '^(--- FAIL|ok|PASS|FAIL)' "$OUT/matmul.log" | head -5 | tr '\n' ' ')"
echo "== sgemm"; timeout 150 $T -test.run '^$' -test.bench 'SGEMM' -test.benchtime 20x 2>&1 | tee -a "$OUT/bench.log" | short
for i in 1 2 3 4 5; do
  echo "== stages order 1 32K, process $i $(date -u +%T.%N)"
  timeout 60 $T -test.run '^$' -test.bench 'SSDStages/order=1/chunk=64/rpt=4/L=32768$' -test.benchtime 20x -ssd.all -gl.debug 2>&1 | tee -a "$OUT/bench.log" | short
done
for i in 1 2 3; do
  echo "== auto order 1 32K, process $i"
  timeout 60 $T -test.run '^$' -test.bench 'SSDAuto/order=1/L=32768/' -test.benchtime 30x -ssd.all 2>&1 | tee -a "$OUT/bench.log" | short
done
echo "== auto order 1 32K, glBufferData"
FURIOUS_GL_BUFFERDATA=1 timeout 60 $T -test.run '^$' -test.bench 'SSDAuto/order=1/L=32768/' -test.benchtime 30x -ssd.all -gl.debug 2>&1 | tee -a "$OUT/bench.log" | short
echo "== order 1 chunks"
timeout 120 $T -test.run '^$' -test.bench 'SSD/order=1/chunk=.*/L=(32768|131072)$' -test.benchtime 10x -ssd.chunk1 64,128,256 2>&1 | tee -a "$OUT/bench.log" | short
kill $SMI
awk -F, '{print $2,$3,$4}' "$OUT/smi.csv" | sort | uniq -c | sort -rn | head -12
