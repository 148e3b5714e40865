#!/bin/bash
test_description='mbr breed merge: mergekit methods on stored versions, with lineage'
. ./test-lib.sh

# mk FILE TYPE SEED [DIM]: a small random llama model
mk () {
	test-tool mkmodel -o "$1" --vocab "$FIXTURES/vocab/ggml-vocab-llama-spm.gguf" \
		--dim ${4:-64} --layers 1 --heads 4 --kv-heads 2 --ff 128 --type "$2" --seed "$3"
}

# rel_l2 REV1 REV2 TENSOR: the rel_l2 mbr diff reports for the tensor
rel_l2 () {
	mbr -C reg diff "$1" "$2" |
	sed -n "s/^~ $3 .* rel_l2 \([0-9.e+-]*\)\$/\1/p"
}

test_expect_success 'setup: two random F32 models of one shape' '
	mk a.gguf F32 1 && mk b.gguf F32 2 && mk wide.gguf F32 3 128 &&
	mbr init -q reg &&
	mbr -C reg add a.gguf && mbr -C reg add b.gguf && mbr -C reg add wide.gguf
'

# For iid gaussians a and b, ||(a+b)/2 - a|| / ||a|| = ||b-a|| / 2||a|| = sqrt(2)/2.
test_expect_success 'linear 0.5/0.5 is the mean: rel_l2 1/sqrt(2) from each input' '
	mbr -C reg breed merge --method linear a b --weight 0.5 --weight 0.5 --name ab >out &&
	grep " ab\$" out &&
	for m in a b; do
		l2=$(rel_l2 $m ab blk.0.ffn_up.weight) &&
		echo "$m: $l2" &&
		test "$(echo "$l2 > 0.67 && $l2 < 0.74" | bc -l)" = 1 || return 1
	done
'

test_expect_success PYTHON 'the mean, value for value (python over the stored tensors)' '
	id () { mbr -C reg ls-tensors "$1" | awk "\$4 == \"blk.0.attn_k.weight\" { print \$1 }"; } &&
	mbr -C reg cat-object $(id a) >a.bin &&
	mbr -C reg cat-object $(id b) >b.bin &&
	mbr -C reg cat-object $(id ab) >ab.bin &&
	python3 -c "
import struct
r = lambda f: struct.unpack(\"<%df\" % (len(open(f, \"rb\").read()) // 4), open(f, \"rb\").read())
a, b, m = r(\"a.bin\"), r(\"b.bin\"), r(\"ab.bin\")
assert len(a) == len(m) == 64 * 32
assert all(abs((x + y) / 2 - z) <= 1e-6 * max(1, abs(z)) for x, y, z in zip(a, b, m))
"
'

test_expect_success PYTHON 'the merge commit has both inputs as parents, and the operator' '
	printf "%s %s\n" $(lineage rev-parse a) $(lineage rev-parse b) >expect &&
	lineage log -1 --format=%P ab >actual &&
	test_cmp expect actual &&
	lineage log -1 --format=%s ab >subject &&
	echo "merge linear of a + b" >expect &&
	test_cmp expect subject &&
	lineage show ab:operator.json >op.json &&
	python3 -c "
import json
d = json.load(open(\"op.json\"))
assert d[\"operator\"] == \"merge\", d
p = d[\"params\"]
assert p[\"method\"] == \"linear\" and p[\"models\"] == [\"a\", \"b\"], p
assert p[\"weights\"] == [0.5, 0.5] and p[\"base\"] is None, p
for k in (\"densities\", \"lambda\", \"t\", \"seed\", \"out_type\"):
    assert k in p and p[k] is None, k
assert len(d[\"inputs\"]) == 2
"
'

test_expect_success 'a model merged with itself is itself: the same tensor objects' '
	mbr -C reg breed merge --method linear a a --name aa &&
	mbr -C reg ls-tensors a >expect &&
	mbr -C reg ls-tensors aa >actual &&
	test_cmp expect actual
'

test_expect_success 'task arithmetic with a base: base + lambda * sum of task vectors' '
	mbr -C reg breed merge --method task-arithmetic b --base a --lambda 0 --name ta0 &&
	mbr -C reg ls-tensors a >expect &&
	mbr -C reg ls-tensors ta0 >actual &&
	test_cmp expect actual &&
	mbr -C reg breed merge --method task-arithmetic b --base a --name ta1 &&
	# a + (b - a): b, but for float rounding
	l2=$(rel_l2 b ta1 blk.0.ffn_up.weight) &&
	echo "$l2" &&
	awk -v x="$l2" "BEGIN { exit !(x > 0 && x < 1e-6) }" &&
	printf "%s %s\n" $(lineage rev-parse b) $(lineage rev-parse a) >expect &&
	lineage log -1 --format=%P ta1 >actual &&
	test_cmp expect actual
'

test_expect_success 'slerp at t=0 is the base; at 0.5 between the two' '
	mbr -C reg breed merge --method slerp a b --t 0 --name s0 &&
	mbr -C reg ls-tensors a >expect &&
	mbr -C reg ls-tensors s0 >actual &&
	test_cmp expect actual &&
	mbr -C reg breed merge --method slerp a b --name s5 &&
	l2=$(rel_l2 a s5 blk.0.ffn_up.weight) &&
	echo "$l2" &&
	test "$(echo "$l2 > 0.67 && $l2 < 0.8" | bc -l)" = 1
'

test_expect_success 'dare: the same seed gives the same result, another seed another' '
	dare () {
		mbr -C reg breed merge --method dare-ties b --base a --density 0.5 \
			--seed $1 --name $2
	} &&
	dare 1 dare1 && dare 1 dare1 >again && dare 2 dare2 &&
	grep "(dare1 unchanged)" again &&
	mbr -C reg diff dare1 dare2 >d &&
	test $(grep -c "^~ .*rel_l2" d) = 12 &&
	lineage show dare1:operator.json >op.json &&
	grep "\"seed\": 1" op.json && grep -A2 "\"densities\"" op.json | grep "0.5"
'

test_expect_success 'ties and dare-linear run; --out-type Q8_0 quantizes the matrices' '
	mbr -C reg breed merge --method ties a b --base a --density 0.7 --name t7 &&
	mbr -C reg breed merge --method dare-linear b --base a --out-type Q8_0 --name dl &&
	mbr -C reg ls-tensors dl >t &&
	grep " Q8_0 64x64 blk.0.attn_q.weight\$" t &&
	grep " F32 64 output_norm.weight\$" t &&
	mbr -C reg show --json dl | grep -A2 "\"general.file_type\"" | grep "\"value\": 7"
'

test_expect_success 'different shapes are refused, naming the tensor and both shapes' '
	lineage for-each-ref >refs.before &&
	test_must_fail mbr -C reg breed merge --method linear a wide --name bad 2>err &&
	cat err &&
	grep "tensor .* is \[64,[0-9]*\] in a but \[128,[0-9]*\] in wide" err &&
	lineage for-each-ref >refs.after &&
	test_cmp refs.before refs.after &&
	test_must_fail ls reg/.mbr/tmp/merge-*
'

test_expect_success 'options the method does not take, bad counts, usage' '
	test_must_fail mbr -C reg breed merge --method linear a b --lambda 2 2>err &&
	grep "lambda" err &&
	test_must_fail mbr -C reg breed merge --method ties a b 2>err &&
	grep "base" err &&
	test_must_fail mbr -C reg breed merge --method linear a b --weight 1,2,3 2>err &&
	grep "3 weights for 2 models" err &&
	test_must_fail mbr -C reg breed merge --method ties b --base a --density 1.5 2>err &&
	grep "density 1.5" err &&
	expect_code 129 mbr -C reg breed merge --method frob a b 2>err &&
	grep "dare-linear" err &&
	expect_code 129 mbr -C reg breed merge --method linear a b --weight x 2>err &&
	expect_code 129 mbr -C reg breed merge a b 2>err
'

test_expect_success 'bash completion: the operator, methods, the base' '
	. "$SRC_DIRECTORY/contrib/completion/mbr-completion.bash" &&
	COMP_WORDS=(mbr breed m) && COMP_CWORD=2 && _mbr &&
	test "${COMPREPLY[*]}" = merge &&
	COMP_WORDS=(mbr breed merge --method dare) && COMP_CWORD=4 && _mbr &&
	test "${COMPREPLY[*]}" = "dare-ties dare-linear" &&
	COMP_WORDS=(mbr -C reg breed merge --method ties a --base ta) && COMP_CWORD=9 && _mbr &&
	test "${COMPREPLY[*]}" = "ta0 ta1"
'

test_done
