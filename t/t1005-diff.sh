#!/bin/bash
test_description='mbr diff: metadata and tensor changes, relative L2'
. ./test-lib.sh

# rel_l2_of DIFF-OUTPUT TENSOR: the rel_l2 mbr diff printed for the tensor
rel_l2_of () {
	sed -n "s/^~ $2 .* rel_l2 \([0-9.e+-]*\)\$/\1/p" "$1"
}

# mk FILE TYPE SEED: a small random llama model
mk () {
	test-tool mkmodel -o "$1" --vocab "$FIXTURES/vocab/ggml-vocab-llama-spm.gguf" \
		--dim 64 --layers 1 --heads 4 --kv-heads 2 --ff 128 --type "$2" --seed "$3"
}

test_expect_success 'setup' '
	mbr init -q reg &&
	mbr -C reg add "$FIXTURES/models/tiny-f32.gguf" --name m &&
	test_tick &&
	mbr -C reg add "$FIXTURES/models/tiny-Q8_0.gguf" --name m &&
	mbr -C reg add "$FIXTURES/models/tiny-Q4_0.gguf" --name q4 &&
	mbr -C reg add "$FIXTURES/models/small-f16.gguf" --name small
'

test_expect_success 'a version against itself: nothing changed' '
	mbr -C reg diff m m --json >d.json &&
	grep "\"unchanged\": 21" d.json &&
	mbr -C reg diff m m >d.txt &&
	! grep "^[-+~] " d.txt
'

test_expect_success 'F32 to Q8_0: file_type changes, matrices change type' '
	mbr -C reg diff m~1 m >d.txt &&
	cat d.txt &&
	grep "^~ general.file_type: 0 -> 7" d.txt &&
	grep "^~ blk.0.attn_q.weight F32 \[64,64\] -> Q8_0 \[64,64\]  rel_l2 0.00" d.txt &&
	grep "tensors unchanged" d.txt
'

test_expect_success '--stat: the counts and the rel_l2 range of the full listing' '
	mbr -C reg diff m~1 m >full.txt &&
	mbr -C reg diff m~1 m --stat >stat.txt &&
	cat stat.txt &&
	! grep "^~ blk" stat.txt &&
	grep "^~ general.file_type: 0 -> 7" stat.txt &&
	n=$(grep -c "^~ [a-z_.0-9]*weight " full.txt) &&
	lo=$(sed -n "s/^~ .* rel_l2 //p" full.txt | sort -g | head -n 1) &&
	hi=$(sed -n "s/^~ .* rel_l2 //p" full.txt | sort -g | tail -n 1) &&
	printf "  %d tensors changed (rel_l2 %.3g .. %.3g), 0 added, 0 removed, %d unchanged\n" \
		$n $lo $hi $((21 - n)) >expect &&
	grep "tensors changed" stat.txt >actual &&
	test_cmp expect actual
'

# independent_rel_l2 TYPE: rel_l2 between two versions of random weights
# drawn with different seeds, stored in TYPE; for iid values it is sqrt(2).
independent_rel_l2 () {
	mk "$1-a.gguf" "$1" 1 && mk "$1-b.gguf" "$1" 2 &&
	mbr -C reg add "$1-a.gguf" --name "ind-$1" &&
	mbr -C reg add "$1-b.gguf" --name "ind-$1" &&
	mbr -C reg diff "ind-$1~1" "ind-$1" >"$1.txt" &&
	l2=$(rel_l2_of "$1.txt" blk.0.ffn_up.weight) &&
	echo "$1 rel_l2 $l2" &&
	test "$(echo "$l2 > 1.35 && $l2 < 1.48" | bc -l)" = 1
}

test_expect_success 'same type and shape: rel_l2 of independent random weights is sqrt(2)' '
	independent_rel_l2 F32
'

test_expect_success 'Q8_0 (dequantized) rel_l2 of independent weights is also near sqrt(2)' '
	independent_rel_l2 Q8_0
'

test_expect_success 'quantization error across types: Q4_0 is coarser than Q8_0' '
	mbr -C reg diff m~1 m >q8.txt &&
	mbr -C reg diff m~1 q4 >q4.txt &&
	q8=$(rel_l2_of q8.txt blk.0.ffn_up.weight) &&
	q4=$(rel_l2_of q4.txt blk.0.ffn_up.weight) &&
	echo "Q8_0 $q8 Q4_0 $q4" &&
	# uniform rounding in blocks of 32 gaussians: about 0.005 for Q8_0, 0.09 for Q4_0
	test "$(echo "$q8 > 0.003 && $q8 < 0.008 && $q4 > 0.06 && $q4 < 0.12" | bc -l)" = 1
'

test_expect_success 'different models: shape changes and added/removed metadata show' '
	mbr -C reg diff m~1 small >ds.txt &&
	grep "^~ token_embd.weight F32 \[64,32000\] -> F16 \[256,32000\]" ds.txt &&
	grep "^~ llama.embedding_length: 64 -> 256" ds.txt &&
	grep "^+ blk.2.attn_q.weight" ds.txt
'

test_expect_success 'diff of an unknown revision fails' '
	test_must_fail mbr -C reg diff m nosuch 2>err &&
	grep "nosuch" err
'

test_done
