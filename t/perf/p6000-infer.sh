#!/bin/bash
# p6000-infer.sh - mbr infer against llama.cpp's llama-bench on the same
# TinyLlama-1.1B-shaped files, in the same run, 2 threads.
#
#   LLAMA_BIN=/path/to/llama.cpp/build/bin MODELS=/path/to/dir bash t/perf/p6000-infer.sh
#
# MODELS holds tinyllama-{f16,Q8_0,Q4_0,Q4_K_M}.gguf (make the F16 one with
# `test-tool mkmodel --dim 2048 --layers 22 --heads 32 --kv-heads 4 --ff 5632
# --type F16`, the others with llama-quantize). llama.cpp is the peer, built
# by the person running this from their own checkout; nothing here builds it.
# What is timed: both tools the same way, by llama-bench's method: a
# warm-up run (the 64-token prompt, one generated token), then -r runs of
# each test from an empty cache, the mean of the runs' tokens/s; pp64 is
# one batch of 64 tokens, tg32 32 tokens decoded one at a time with their
# logits. `mbr bench` is the engine's implementation of that method (see
# mbr-bench(1)). The two tools take turns, ROUNDS times per model (llama
# first in odd rounds, mbr first in even ones), and the table shows the
# medians: each ratio is the median of the rounds'
# ratios, as a round's two measurements are minutes apart at most (on a
# shared VM the speed of memory moves by a third from minute to minute).
# The last columns are what a user of `mbr infer --timings` sees in one
# run of a fresh process (a 64-token prompt after a two-token warm-up;
# decode counts sampling and printing; best of -r processes) and that
# run's peak RSS.
# For the kernels a CPU without AVX-512 gets, run it with MBR_KERNELS=avx2
# and LLAMA_BIN pointing at a llama.cpp built with -DGGML_NATIVE=OFF
# -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF.
set -eu
cd "$(dirname "$0")"
src=$(cd ../.. && pwd)
if test -z "${LLAMA_BIN:-}" || test -z "${MODELS:-}"; then
	echo "skipped: set LLAMA_BIN (a llama.cpp build's bin/) and MODELS (tinyllama-*.gguf)"
	exit 0
fi
THREADS=${THREADS:-2}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-4}

# A prompt of the GPL's words that tokenizes to 64 tokens with BOS, as
# llama-bench's pp64 processes 64 tokens.
prompt_for () {
	local words=() n=0 p
	read -ra words <<<"$(tr '\n' ' ' <"$src/t/fixtures/text/gpl-3.txt")"
	for ((k = 20; k < 200; k++)); do
		p="${words[*]:0:k}"
		n=$("$src/mbr" tokenize "$1" --bos "$p" | wc -w)
		if test "$n" -ge 64; then break; fi
		prompt=$p
	done
}

json_num () { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p" | head -1; }

# avg_ts of the test with "$2": N in JSON from llama-bench or mbr bench
test_rate () { tr -d '\n' | sed 's/},/}\n/g' | grep "\"$1\": $2" | json_num avg_ts; }

run_llama () { "$LLAMA_BIN/llama-bench" -m "$1" -t "$THREADS" -p 64 -n 32 -r "$REPS" -o json 2>/dev/null; }
run_mbr () { "$src/mbr" bench "$1" -t "$THREADS" -p 64 -n 32 -r "$REPS" --json; }

median () { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

printf '%-8s %9s %9s %6s   %9s %9s %6s   %9s %9s   %8s %8s\n' type "llama pp" "mbr pp" ratio \
	"llama tg" "mbr tg" ratio "infer pp" "infer tg" "rss MiB" "bound"
for t in Q4_0 Q4_K_M Q8_0 f16; do
	m=$MODELS/tinyllama-$t.gguf
	test -f "$m" || { echo "missing $m" >&2; continue; }
	prompt_for "$m"
	cat "$m" >/dev/null
	lpp= ltg= mpp= mtg= rpp= rtg=
	for round in $(seq "$ROUNDS"); do
		# who goes first alternates, so that neither tool always runs
		# in the wake of the other
		if test $((round % 2)) = 1; then
			llama=$(run_llama "$m") mine=$(run_mbr "$m")
		else
			mine=$(run_mbr "$m") llama=$(run_llama "$m")
		fi
		a=$(echo "$llama" | test_rate n_prompt 64) b=$(echo "$mine" | test_rate n_prompt 64)
		c=$(echo "$llama" | test_rate n_gen 32) d=$(echo "$mine" | test_rate n_gen 32)
		lpp="$lpp $a" mpp="$mpp $b" ltg="$ltg $c" mtg="$mtg $d"
		rpp="$rpp $(echo "$b / $a" | bc -l)" rtg="$rtg $(echo "$d / $c" | bc -l)"
	done
	best_pp=0 best_tg=0 rss=0
	for _ in $(seq "$REPS"); do
		rep=$("$src/mbr" infer "$m" -p "$prompt" -n 32 --temp 0 -t "$THREADS" -c 128 \
			--timings --json 2>&1 >/dev/null | grep prompt_tps)
		pp=$(echo "$rep" | json_num prompt_tps)
		tg=$(echo "$rep" | json_num decode_tps)
		rss=$(echo "$rep" | json_num peak_rss_bytes)
		best_pp=$(echo "if ($pp > $best_pp) $pp else $best_pp" | bc -l)
		best_tg=$(echo "if ($tg > $best_tg) $tg else $best_tg" | bc -l)
	done
	# weights + KV cache (F16, 128 positions) + 64 MiB
	kv=$((2 * 22 * 128 * 256 * 2))
	bound=$(( ($(stat -L -c %s "$m") + kv) / 1048576 + 64 ))
	printf '%-8s %9.1f %9.1f %5.2fx   %9.1f %9.1f %5.2fx   %9.1f %9.1f   %8d %8d\n' "$t" \
		"$(echo $lpp | median)" "$(echo $mpp | median)" "$(echo $rpp | median)" \
		"$(echo $ltg | median)" "$(echo $mtg | median)" "$(echo $rtg | median)" \
		"$best_pp" "$best_tg" $((${rss%.*} / 1048576)) "$bound"
	printf '%-8s rounds: pp%s, tg%s\n' "" "$(printf ' %.2fx' $rpp)" "$(printf ' %.2fx' $rtg)"
done
