#!/usr/bin/env bash
# Final table of the fused SSD on a lent NVIDIA machine (setup as in
# h100.sh): the conformance suite, then SSDAuto at each L in a process of
# its own, and the stage times with and without the padded q tile.
set -u
source "$(dirname "$0")/env.sh"
T=.gl/gpu.test
date -u | tee "$OUT/date.txt"
timeout 180 $T -test.v -test.count=1 >"$OUT/conformance.log" 2>&1
echo "conformance rc=$?"
grep -E "^(--- (FAIL|SKIP)|ok|PASS|FAIL)" "$OUT/conformance.log" | head -20
echo "checks: $(grep -c 'largest relative' "$OUT/conformance.log")"
short() { grep -E "^Benchmark|FAIL|panic" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'; }
for L in 2048 8192 32768 131072; do
	timeout 120 $T -test.run '^$' -test.bench "SSDAuto/order=/L=$L\$" -test.benchtime 10x 2>&1 | tee -a "$OUT/bench-final.log" | short
	for fl in "" "-ssd.nopad"; do
		echo "stages $fl"
		timeout 120 $T -test.run '^$' -test.bench "SSDStages/order=/chunk=/rpt=4/L=$L\$" -test.benchtime 10x $fl 2>&1 | tee -a "$OUT/bench-final.log" | short
	done
done
