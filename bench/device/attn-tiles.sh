#!/usr/bin/env bash
# The GEMM attention form's forward (BenchmarkAttentionDevice, 16 heads, d 64,
# L 2048 and 8192, 2mamba and softmax with a decay) under candidate tilings of
# its two products, K chunks of y's and heads a pass at 8K: -attn.stile (the
# scores' product), -attn.ytile (y = (sc∘P̃)·V), -attn.kc, -attn.gemmcap (2^29
# and 2^30 floats: 8 and 16 heads a pass at 8K, where the forward holds one
# L×L scratch and the backward three); ROUNDS rounds (default 2) of every
# variant in a process of its own, then the attention tests under each
# -attn.ytile variant, then one profiled forward+backward at 2K of 2mamba,
# softmax and both without a decay (the scores' epilogue with and without
# its exp and decay sums: its product's row, against the backward's bare
# scores product). Needs $GL/gpu.test (see README.md here). Prints one line
# per benchmark: its variants' medians (ms). Run in session 12 on main
# 53aeaad (gpu/BENCH.md), where -attn.kc set y's K chunk at every length;
# it now sets the shortest (attnGemmKChunk takes L/8 where longer).
# VARIANTS (";"-separated flag sets, an empty one the code's own) and KINDS
# (a pattern of BenchmarkAttentionDevice's kinds) replace the defaults; the
# attention tests run under each -attn.ytile and -attn.stile variant.
#
#   bash bench/device/attn-tiles.sh
#   VARIANTS=";-attn.stile 128,128,16,8,8,16" KINDS="softmax|softmax-nodecay" bash bench/device/attn-tiles.sh
set -u
source bench/device/env.sh
cd gpu
variants=(
	""
	"-attn.ytile 128,64,16,8,4,16"
	"-attn.ytile 128,64,16,4,8,8"
	"-attn.kc 256"
	"-attn.kc 1024"
	"-attn.gemmcap 536870912"
	"-attn.gemmcap 1073741824"
)
if [ -n "${VARIANTS:-}" ]; then # ";"-separated, an empty one the code's own
	IFS=';' read -r -a variants <<<"$VARIANTS"
fi
for ((r = 0; r < ${ROUNDS:-2}; r++)); do
	for v in "${variants[@]}"; do
		tag=${v:-default}
		# shellcheck disable=SC2086 # $v is flags
		timeout 60 ../"$GL"/gpu.test -test.run '^$' -test.bench "AttentionDevice/(mid|long)/(${KINDS:-2mamba|softmax})/gemm/forward\$" \
			-test.benchtime 10x $v 2>&1 | short | sed "s|^|${tag// /_} |" >>"$OUT/attn-tiles.txt"
	done
done
awk '{v = $1; n = ""; ms = ""; for (i = 2; i <= NF; i++) { if ($i ~ /^BenchmarkAttentionDevice/) n = $i; if ($(i+1) == "ms/median") ms = $i }
	sub("BenchmarkAttentionDevice/", "", n); sub("/gemm/forward", "", n); row[n] = row[n] " " v "=" ms }
	END { for (n in row) print n ":" row[n] }' "$OUT/attn-tiles.txt" | sort
for v in "${variants[@]}"; do
	case $v in -attn.ytile* | -attn.stile*) ;; *) continue ;; esac
	# shellcheck disable=SC2086
	timeout 60 ../"$GL"/gpu.test -test.run 'TestAttentionDevice$|TestAttentionGemm|TestAttentionDeviceStrongDecay|TestAttentionDeviceLong' \
		-test.count=1 $v >"$OUT/tests-$(echo "$v" | tr " ," "__").log" 2>&1
	echo "tests under $v: rc=$? $(tail -1 "$OUT/tests-$(echo "$v" | tr " ," "__").log")"
done
timeout 60 ../"$GL"/gpu.test -test.run '^$' -test.bench 'AttentionDevice/mid/(2mamba|2mamba-nodecay|softmax|softmax-nodecay)/gemm/forward\+backward$' \
	-test.benchtime 3x -attndev.profile >"$OUT/attn-profile.txt" 2>&1
grep -E 'forward\+backward: one|EPI|BN 128;BK [0-9]+;TM 8;TN 8;TX 16;TY 16;NT 256;WTX [0-9]+;VEC4;AKM;EXACT;VEC4C\]' "$OUT/attn-profile.txt" | sed -E 's/ +/ /g' | cut -c1-140
