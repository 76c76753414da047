#!/usr/bin/env bash
# A/B of the order-2 STATE tiling (128 features, 8 a thread, against 64
# and 4 with -ssd.narrow) on a lent NVIDIA machine; see h100.sh for setup.
set -u
source "$(dirname "$0")/env.sh"
T=.gl/gpu.test
date -u | tee "$OUT/date.txt"
timeout 180 $T -test.count=1 -test.run 'SSD|MatMul' >"$OUT/conformance.log" 2>&1
echo "conformance (SSD, MatMul) rc=$?"; tail -1 "$OUT/conformance.log"
short() { grep -E "^Benchmark|FAIL|panic" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'; }
for L in 2048 8192 32768 131072; do
	for fl in "" "-ssd.narrow"; do
		echo "L=$L $fl"
		timeout 120 $T -test.run '^$' -test.bench "SSDAuto/order=2/L=$L\$" -test.benchtime 10x $fl 2>&1 | tee -a "$OUT/bench-ab.log" | short
		timeout 120 $T -test.run '^$' -test.bench "SSDStages/order=2/chunk=256/rpt=4/L=$L\$" -test.benchtime 10x $fl 2>&1 | tee -a "$OUT/bench-ab.log" | short
	done
done
