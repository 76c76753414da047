#!/usr/bin/env bash
# furious version, the gpu conformance suite and furious bench --device gpu
# (SSD forms) and --train (both devices) on a lent NVIDIA machine, from
# $GL/furious and $GL/gpu.test (see README.md here).
set -u
source bench/device/env.sh
date -u | tee "$OUT/date.txt"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a "$OUT/date.txt"
"$GL"/furious version | tee "$OUT/version.txt"
(cd gpu && timeout 200 ../"$GL"/gpu.test -test.count=1 > "$OUT/conformance.log" 2>&1); echo "conformance rc=$? $(tail -1 $OUT/conformance.log)"
timeout 330 "$GL"/furious bench --device gpu --H 16 --d 64 --L 2048,8192,32768,131072 --reps 10 --max-quadratic 8192 2>&1 | tee "$OUT/bench-gpu.txt"
for dev in gpu cpu; do
	timeout 200 "$GL"/furious bench --train --device $dev --reps 8 2>&1 | tee "$OUT/train-$dev.txt"
done
