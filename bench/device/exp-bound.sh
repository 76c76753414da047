#!/usr/bin/env bash
# The GEMM form's exp forward against row bounds (attngemm.comp BOUND,
# matmul.comp EXPB) against the tiles' maxima (-attn.expbound=false):
# BenchmarkAttentionDevice, softmax with and without a decay, L 1024 (64
# heads), 2048 and 8192 (16 heads), forward and forward+backward, ROUNDS
# rounds (default 2) each setting in a process of its own; then the
# attention tests and a profile of one 2K forward+backward each way.
# Needs $GL/gpu.test (see README.md here). Prints one line per benchmark:
# its settings' medians (ms).
#
#   bash bench/device/exp-bound.sh
set -u
source bench/device/env.sh
cd gpu
for ((r = 0; r < ${ROUNDS:-2}; r++)); do
	for v in true false; do
		timeout 90 ../"$GL"/gpu.test -test.run '^$' -test.bench 'AttentionDevice/(large|mid|long)/softmax(-nodecay)?/gemm/forward(\+backward)?$' \
			-test.benchtime 10x -attn.expbound=$v 2>&1 | short | sed "s|^|expbound=$v |" >>"$OUT/exp-bound.txt"
	done
done
awk '{v = $1; n = ""; ms = ""; for (i = 2; i <= NF; i++) { if ($i ~ /^BenchmarkAttentionDevice/) n = $i; if ($(i+1) == "ms/median") ms = $i }
	sub("BenchmarkAttentionDevice/", "", n); sub("/gemm", "", n); row[n] = row[n] " " v "=" ms }
	END { for (n in row) print n ":" row[n] }' "$OUT/exp-bound.txt" | sort
timeout 120 ../"$GL"/gpu.test -test.run 'Attention|MatMul' -test.count=1 >"$OUT/tests.log" 2>&1
echo "attention tests: rc=$? $(tail -1 "$OUT/tests.log")"
for v in true false; do
	timeout 60 ../"$GL"/gpu.test -test.run '^$' -test.bench 'AttentionDevice/mid/softmax/gemm/forward\+backward$' \
		-test.benchtime 3x -attndev.profile -attn.expbound=$v >"$OUT/profile-$v.txt" 2>&1
	echo "profile, expbound=$v:"
	grep -E 'forward\+backward: one|matmul|attngemm' "$OUT/profile-$v.txt" | sed -E 's/ +/ /g' | cut -c1-140 | head -24
done
