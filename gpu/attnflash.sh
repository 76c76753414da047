#!/usr/bin/env bash
# The register-tiled attention prototype (attnflash.comp, build tag dev) on
# a lent NVIDIA machine, from $GL/gpu.test (built here with
# go test -c -tags gl,egl,dev -o .gl/gpu.test ./gpu: the prototype is built
# only with the dev tag; see bench/device/README.md):
# its tests and the device attention's on the GPU, then
# BenchmarkAttentionFlash ("current" beside "flash", forward and
# forward+backward, with a profile of each) with small tiles of 32 and of
# 16. BT sets -test.benchtime (10x). Logs go to $OUT.
#
#   bash gpu/attnflash.sh
set -u
source bench/device/env.sh
T="$GL"/gpu.test
BT=${BT:-10x}
date -u | tee "$OUT/date.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv | tee "$OUT/smi.txt"
timeout 240 $T -test.v -test.count=1 -test.run 'TestAttentionFlash|TestAttentionDevice$|TestAttnRef' >"$OUT/flash-tests.log" 2>&1
echo "tests rc=$?"
grep -E "^(--- (FAIL|SKIP)|ok|PASS|FAIL)|largest errors|gpu: " "$OUT/flash-tests.log" | head -30
for kt in 32 16; do
	timeout 240 $T -test.run '^$' -test.bench AttentionFlash -test.benchtime "$BT" -attnflash.kt "$kt" >"$OUT/flash-bench-kt$kt.log" 2>&1
	echo "small tile $kt: rc=$?"
	short <"$OUT/flash-bench-kt$kt.log"
done
