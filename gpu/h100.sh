#!/usr/bin/env bash
# The gpu package's conformance suite and benchmarks on a lent NVIDIA
# machine, from $GL/gpu.test (built here with go test -c -tags gl,egl; see
# bench/device/README.md). Logs go to $OUT.
#
#   bash gpu/h100.sh                 conformance, then the table: at each L
#                                    SSDAuto, SSD, Quadratic and the stage
#                                    times, each L in a process of its own;
#                                    SGEMM; SSDAuto at every L in one process
#   bash gpu/h100.sh PATTERN ...     conformance, then each -test.bench
#                                    pattern in a process of its own
#
# BT sets -test.benchtime (10x). Every benchmark warms the GPU up for 0.5 s
# first (an idle H100 runs its first calls up to 4x slower).
set -u
source bench/device/env.sh
T="$GL"/gpu.test
BT=${BT:-10x}
date -u | tee "$OUT/date.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv | tee "$OUT/smi.txt"
timeout 240 $T -test.v -test.count=1 >"$OUT/conformance.log" 2>&1
echo "conformance rc=$? checks: $(grep -c 'largest relative' "$OUT/conformance.log")"
grep -E "^(--- (FAIL|SKIP)|ok|PASS|FAIL)|gpu: |not run|fell|grew" "$OUT/conformance.log" | head -30
if [ $# -gt 0 ]; then
	for pat in "$@"; do
		timeout 150 $T -test.run '^$' -test.bench "$pat" -test.benchtime "$BT" 2>&1 | tee -a "$OUT/bench.log" | short
	done
	exit 0
fi
for L in 2048 8192 32768 131072; do
	for pat in "SSDAuto/order=/L=$L\$" "SSD\$/order=/chunk=/L=$L\$" "Quadratic/order=/L=$L\$" "SSDStages/order=/chunk=/L=$L\$"; do
		timeout 150 $T -test.run '^$' -test.bench "$pat" -test.benchtime "$BT" 2>&1 | tee -a "$OUT/bench-table.log" | short
	done
done
timeout 120 $T -test.run '^$' -test.bench 'SGEMM' -test.benchtime 20x 2>&1 | tee "$OUT/bench-sgemm.log" | short
timeout 150 $T -test.run '^$' -test.bench 'SSDAuto' -test.benchtime "$BT" 2>&1 | tee "$OUT/bench-oneprocess.log" | short
