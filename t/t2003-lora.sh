#!/bin/bash
test_description='LoRA adapters: stored, applied at run time, baked in, extracted

The truth is llama.cpp'"'"'s: t/fixtures/family/expected-ppl-c128.tsv has
llama-perplexity --lora prose-lora-r8.gguf on base-f16.gguf (row base+prose-lora).'
. ./test-lib.sh

fam=$FIXTURES/family

# expected MODEL TEXT: llama.cpp's perplexity of MODEL on TEXT
expected () {
	awk -v m="$1" -v t="$2" '$1 == m && $2 == t { print $3 }' "$fam/expected-ppl-c128.tsv"
}

# ppl_within FILE WANT REL: eval's perplexity in FILE is WANT within REL
ppl_within () {
	got=$(sed -n "s/^perplexity: \([0-9.]*\) .*/\1/p" "$1") &&
	echo "perplexity $got, llama.cpp $2" &&
	test "$(echo "d = $got - $2; if (d < 0) d = -d; d <= $3 * $2" | bc -l)" = 1
}

test_expect_success 'setup: a registry with base and the adapter' '
	mbr init -q reg &&
	mbr -C reg add -q "$fam/base-f16.gguf" --name base &&
	mbr -C reg add -q "$fam/prose-lora-r8.gguf" --name prose-lora
'

test_expect_success 'eval --adapter FILE:1: llama.cpp'"'"'s perplexity on prose within 0.1%' '
	mbr eval "$fam/base-f16.gguf" --adapter "$fam/prose-lora-r8.gguf:1" \
		--perplexity "$fam/prose-val.txt" --ctx 128 >out &&
	ppl_within out $(expected base+prose-lora prose) 0.001
'

test_expect_success 'eval --adapter REV from the store: llama.cpp'"'"'s on code within 0.1%' '
	mbr -C reg eval base --adapter prose-lora --perplexity "$fam/code-val.txt" \
		--ctx 128 >out &&
	ppl_within out $(expected base+prose-lora code) 0.001
'

test_expect_success 'infer: the adapter changes the text; scale 0 is the base' '
	mbr -C reg infer base -p "The" -n 16 --temp 0 >plain &&
	mbr -C reg infer base -p "The" -n 16 --temp 0 --adapter prose-lora:0 >zero &&
	mbr -C reg infer base -p "The" -n 16 --temp 0 --adapter prose-lora:2 >lora &&
	test_cmp plain zero &&
	! test_cmp plain lora
'

test_expect_success 'two adapters add up: the adapter twice is the adapter at scale 2' '
	mbr -C reg infer base -p "The" -n 16 --temp 0 --adapter prose-lora:2 >one &&
	mbr -C reg infer base -p "The" -n 16 --temp 0 --adapter prose-lora \
		--adapter "$fam/prose-lora-r8.gguf" >two &&
	test_cmp one two
'

test_expect_success 'an adapter for another model is refused, naming the tensor' '
	test-tool mkmodel -o other.gguf --vocab "$FIXTURES/vocab/ggml-vocab-llama-spm.gguf" \
		--dim 64 --layers 1 --heads 4 --kv-heads 2 --ff 128 --type F32 --seed 1 &&
	test_must_fail mbr eval other.gguf --adapter "$fam/prose-lora-r8.gguf" \
		--perplexity "$fam/prose-val.txt" --ctx 128 2>err &&
	grep "prose-lora-r8.gguf does not fit other.gguf: blk.0.attn_q.weight" err
'

test_expect_success 'a model is not an adapter' '
	test_must_fail mbr eval "$fam/base-f16.gguf" --adapter "$fam/base-f16.gguf" \
		--perplexity "$fam/prose-val.txt" --ctx 128 2>err &&
	grep "not an adapter" err
'

test_expect_success 'lora-merge: the baked model has llama.cpp'"'"'s perplexity within 1%' '
	mbr -C reg breed lora-merge base prose-lora >out &&
	grep " base-lora\$" out &&
	mbr -C reg eval base-lora --perplexity "$fam/prose-val.txt" --ctx 128 >out &&
	ppl_within out $(expected base+prose-lora prose) 0.01
'

test_expect_success 'lora-merge: every adapted matrix changed, F16 as export-lora writes it' '
	mbr -C reg diff base base-lora >diff &&
	test $(grep -c "^~ blk\.[0-3]\.\(attn_[qkvo]\|attn_output\|ffn_gate\|ffn_up\|ffn_down\)\.weight F16 .* -> F16 " diff) = 28 &&
	! grep "norm\|token_embd\|^~ output" diff
'

test_expect_success 'lora-merge --scale 0 is the base, byte for byte' '
	mbr -C reg breed lora-merge base prose-lora --scale 0 --name zero &&
	mbr -C reg export zero -o zero.gguf &&
	cmp "$fam/base-f16.gguf" zero.gguf
'

test_expect_success PYTHON 'lora-merge: parents base and adapter, operator and scale' '
	printf "%s %s\n" $(lineage rev-parse base) $(lineage rev-parse prose-lora) >expect &&
	lineage log -1 --format=%P base-lora >actual &&
	test_cmp expect actual &&
	lineage show base-lora:operator.json >op.json &&
	python3 -c "
import json
d = json.load(open(\"op.json\"))
assert d[\"operator\"] == \"lora-merge\" and d[\"params\"] == {\"scale\": 1.0}, d
assert len(d[\"inputs\"]) == 2
"
'

# max_rel_l2 A B: the largest rel_l2 of the tensors mbr diff finds changed
max_rel_l2 () {
	mbr -C reg diff "$1" "$2" | sed -n "s/.* rel_l2 \([0-9.e+-]*\)\$/\1/p" |
	sort -g | tail -1
}

test_expect_success 'lora-extract round trip on F32: base + adapter, extracted, baked again' '
	mbr -C reg breed quantize base --type F32 --name base32 &&
	mbr -C reg breed lora-merge base32 prose-lora --name baked32 &&
	mbr -C reg breed lora-extract base32 baked32 --rank 8 --name x8 &&
	mbr -C reg breed lora-merge base32 x8 --name again32 &&
	test $(mbr -C reg diff baked32 again32 | grep -c "^~ .* rel_l2 ") = 28 &&
	worst=$(max_rel_l2 baked32 again32) &&
	echo "worst rel_l2 $worst" &&
	test "$(echo "$worst < 1e-6" | sed "s/e-/*10^-/g" | bc -l)" = 1
'

test_expect_success 'the extracted adapter: llama.cpp'"'"'s format, parents, base recorded' '
	mbr -C reg show x8 >show &&
	grep "general.type  *\"adapter\"" show &&
	grep "adapter.type  *\"lora\"" show &&
	grep "adapter.lora.alpha  *8.0" show &&
	grep "blk.3.ffn_down.weight.lora_a  *F32  *\[384,8\]" show &&
	grep "blk.3.ffn_down.weight.lora_b  *F32  *\[8,128\]" show &&
	printf "%s %s\n" $(lineage rev-parse base32) $(lineage rev-parse baked32) >expect &&
	lineage log -1 --format=%P x8 >actual &&
	test_cmp expect actual &&
	lineage show x8:operator.json >op.json &&
	grep "\"operator\": \"lora-extract\"" op.json &&
	sed -n "/\"adapter\"/,\$p" op.json | grep "\"commit\": \"$(lineage rev-parse base32)\""
'

test_expect_success 'lora-extract of a full fine-tune: a higher rank comes closer' '
	mbr -C reg add -q "$fam/prose-f16.gguf" --name prose &&
	mbr -C reg breed lora-extract base prose --rank 4 --name p4 &&
	mbr -C reg breed lora-extract base prose --rank 32 --name p32 &&
	mbr -C reg breed lora-merge base p4 --name m4 &&
	mbr -C reg breed lora-merge base p32 --name m32 &&
	t=blk.2.ffn_up.weight &&
	e4=$(mbr -C reg diff prose m4 | sed -n "s/^~ $t .* rel_l2 //p") &&
	e32=$(mbr -C reg diff prose m32 | sed -n "s/^~ $t .* rel_l2 //p") &&
	echo "rank 4: $e4, rank 32: $e32" &&
	test "$(echo "$e32 < $e4" | sed "s/e-/*10^-/g" | bc -l)" = 1
'

test_expect_success 'add --base: the adapter hangs off its base, which operator.json names' '
	mbr -C reg add -q "$fam/prose-lora-r8.gguf" --base base --name prose-lora-on-base &&
	lineage rev-parse base >expect &&
	lineage log -1 --format=%P prose-lora-on-base >actual &&
	test_cmp expect actual &&
	lineage show prose-lora-on-base:operator.json >op.json &&
	sed -n "/\"adapter\"/,\$p" op.json | grep "\"commit\": \"$(cat expect)\"" &&
	! lineage show prose-lora:operator.json | grep "\"adapter\""
'

test_expect_success 'add --base refuses an adapter that does not fit, and a model' '
	test_must_fail mbr -C reg add "$fam/prose-lora-r8.gguf" --base x8 --name bad 2>err &&
	grep "does not fit x8: blk.0.attn_q.weight is not in the base" err &&
	test_must_fail mbr -C reg add "$fam/base-f16.gguf" --base base --name bad 2>err &&
	grep "not an adapter" err &&
	test_must_fail lineage rev-parse --verify -q bad
'

test_done
