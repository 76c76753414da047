#!/usr/bin/env bash
# The gradient check of furious bench --train on the lent GPU under each
# attention form (FURIOUS_ATTN_FORM=gemm, then tiled), for PRESETS (default
# linear, where the GEMM form checked at 3.9e-4 on the H100 on 2026-12-06
# against 5.5e-5 tiled) at a ladder of sizes from the small model to the
# large one, to find where the two forms part. Needs $GL/furious (see
# README.md here). One line per run: form, size, the check column.
#
#   bash bench/device/check-forms.sh
set -u
source bench/device/env.sh
P=${PRESETS:-linear}
for size in "2 128 4 1024 1" "2 512 8 1024 1" "4 512 8 1024 1" "4 512 8 1024 8" "4 512 8 512 8"; do
	read -r layers dm heads seq batch <<<"$size"
	for form in gemm tiled; do
		FURIOUS_ATTN_FORM=$form timeout 100 "$GL"/furious bench --train --device gpu --presets "$P" --reps 1 \
			--layers "$layers" --d-model "$dm" --H "$heads" --seq "$seq" --batch "$batch" >"$OUT/check-$form-${size// /-}.txt" 2>&1
		echo "$form layers=$layers d_model=$dm heads=$heads L=$seq batch=$batch: $(grep -E '^ +[a-z0-9-]+ +[0-9.]+ +[0-9]+ ' "$OUT/check-$form-${size// /-}.txt" | awk '{printf "%s %s  ", $1, $5}')"
	done
done
