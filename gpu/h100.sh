#!/usr/bin/env bash
# Runs the gpu package's conformance tests and benchmarks on a lent NVIDIA
# machine, from a folder .gl/ at the repository root that holds the glvnd
# loader debs (libegl1 libglvnd0 libopengl0 libgl1 libglx0), this script and
# the test binary built here with
#   go test -c -tags gl,egl -o .gl/gpu.test ./gpu
# Call: run(command="bash .gl/h100.sh", carry=[".gl"]). Logs go to $OUT.
# The benchmarks at each L run in a process of their own (one process
# running all sizes in turn was seen to give erratic times at L = 32K);
# the last step repeats SSDAuto for all sizes in one process, to compare.
set -u
source "$(dirname "$0")/env.sh"
T=.gl/gpu.test
BT=${BT:-10x}
date -u | tee "$OUT/date.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv | tee "$OUT/smi.txt"
timeout 180 $T -test.v -test.count=1 >"$OUT/conformance.log" 2>&1
echo "conformance rc=$?"
grep -E "^(--- (FAIL|SKIP)|ok|PASS|FAIL)|gpu: |not run|fell|grew" "$OUT/conformance.log" | head -30
echo "checks: $(grep -c 'largest relative' "$OUT/conformance.log")"
short() { grep -E "^Benchmark|FAIL|panic" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'; }
for L in 2048 8192 32768 131072; do
	for pat in "SSDAuto/order=/L=$L\$" "SSD\$/order=/chunk=/rpt=/L=$L\$" "Quadratic/order=/L=$L\$" "SSDStages/order=/chunk=/rpt=4/L=$L\$"; do
		timeout 150 $T -test.run '^$' -test.bench "$pat" -test.benchtime "$BT" 2>&1 | tee -a "$OUT/bench-table.log" | short
	done
done
timeout 120 $T -test.run '^$' -test.bench 'SGEMM' -test.benchtime 20x 2>&1 | tee "$OUT/bench-sgemm.log" | grep -E "^Benchmark|FAIL" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'
timeout 150 $T -test.run '^$' -test.bench 'SSDAuto' -test.benchtime "$BT" 2>&1 | tee "$OUT/bench-oneprocess.log" | short
