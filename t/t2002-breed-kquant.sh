#!/bin/bash
test_description='mbr breed quantize to the K-quant mixes: llama-quantize byte for byte'
. ./test-lib.sh

# The known answers are llama.cpp's: small-Q4_K_M.gguf and small-Q6_K.gguf
# are llama-quantize's files of small-f16.gguf, and kquant-SHA256SUMS the
# digests of its files for the other mixes (t/fixtures/README).
SUMS="$FIXTURES/expected/kquant-SHA256SUMS"

# The digest that kquant-SHA256SUMS records for file $1.
expected_sum () {
	awk -v f="$1" '$2 == f { print $1 }' "$SUMS"
}

test_expect_success 'setup: a registry with the F16 and F32 sources' '
	mbr init -q reg &&
	mbr -C reg add "$FIXTURES/models/small-f16.gguf" &&
	mbr -C reg add "$FIXTURES/models/tiny-f32.gguf" &&
	test $(grep -c "small-.*gguf\$" "$SUMS") = 6
'

for t in Q4_K_M Q6_K; do
	lt=$(echo $t | tr A-Z a-z)
	test_expect_success "$t: the tensors and the file of llama-quantize" "
		mbr -C reg breed quantize small-f16 --type $t >out &&
		test \"\$(cut -d' ' -f2 out)\" = small-f16-$lt &&
		mbr -C reg add '$FIXTURES/models/small-$t.gguf' --name llama-$t &&
		mbr -C reg ls-tensors llama-$t >expect &&
		mbr -C reg ls-tensors small-f16-$lt >actual &&
		test_cmp expect actual &&
		mbr -C reg export small-f16-$lt -o out.gguf &&
		cmp out.gguf '$FIXTURES/models/small-$t.gguf'
	"
done

for t in Q2_K Q3_K_S Q3_K_M Q4_K_S Q5_K_S Q5_K_M; do
	lt=$(echo $t | tr A-Z a-z)
	test_expect_success "$t: the digest of llama-quantize's file" "
		mbr -C reg breed quantize small-f16 --type $t &&
		mbr -C reg export small-f16-$lt -o out.gguf &&
		sha256sum out.gguf | cut -d' ' -f1 >actual &&
		expected_sum small-$t.gguf >expect &&
		test -s expect &&
		test_cmp expect actual
	"
done

# use_more_bits picks layer 2 of 3 (the last eighth); n_head / n_head_kv
# is 4, so Q2_K's attn_v gets Q4_K.
test_expect_success 'the mixes spend more bits where llama.cpp does' '
	mbr -C reg ls-tensors small-f16-q4_k_m >t &&
	grep " Q6_K 256x32000 output.weight\$" t &&
	grep " Q4_K 256x32000 token_embd.weight\$" t &&
	test "$(grep " Q6_K " t | awk "{ print \$4 }" | tr "\n" " ")" = \
	     "output.weight blk.2.attn_v.weight blk.2.ffn_down.weight " &&
	mbr -C reg ls-tensors small-f16-q3_k_m >t &&
	grep " Q5_K 256x64 blk.0.attn_v.weight\$" t &&
	grep " Q5_K 256x64 blk.1.attn_v.weight\$" t &&
	grep " Q4_K 256x64 blk.2.attn_v.weight\$" t &&
	grep " Q4_K 256x256 blk.0.attn_output.weight\$" t &&
	grep " Q4_K 768x256 blk.0.ffn_down.weight\$" t &&
	grep " Q3_K 256x256 blk.0.attn_q.weight\$" t &&
	mbr -C reg ls-tensors small-f16-q2_k >t &&
	test $(grep -c " Q4_K 256x64 blk.*attn_v.weight\$" t) = 3 &&
	test $(grep -c " Q3_K 768x256 blk.*ffn_down.weight\$" t) = 3 &&
	test $(grep -c " Q3_K 256x256 blk.*attn_output.weight\$" t) = 3 &&
	grep " Q2_K 256x256 blk.0.attn_q.weight\$" t &&
	mbr -C reg show --json small-f16-q2_k | grep -A2 "\"general.file_type\"" | grep "\"value\": 10"
'

# Rows of 64 fit no K-quant: llama.cpp falls back to Q5_0 for Q4_K and
# to Q8_0 for Q6_K, which mbr writes as it does.
test_expect_success 'tiny-f32 to Q4_K_M: the fallbacks of llama-quantize' '
	mbr -C reg breed quantize tiny-f32 --type Q4_K_M &&
	mbr -C reg ls-tensors tiny-f32-q4_k_m >t &&
	grep " Q8_0 64x32000 output.weight\$" t &&
	grep " Q5_0 64x32000 token_embd.weight\$" t &&
	grep " Q8_0 64x32 blk.1.attn_v.weight\$" t &&
	test $(grep -c " Q5_0 " t) = 13 &&
	mbr -C reg export tiny-f32-q4_k_m -o out.gguf &&
	sha256sum out.gguf | cut -d" " -f1 >actual &&
	expected_sum tiny-Q4_K_M.gguf >expect &&
	test_cmp expect actual
'

test_expect_success 'a fallback to IQ4_NL is refused, naming the tensor, and changes nothing' '
	lineage for-each-ref >refs.before &&
	before=$(object_count) &&
	test_must_fail mbr -C reg breed quantize tiny-f32 --type Q2_K 2>err &&
	grep "token_embd.weight" err && grep "IQ4_NL" err && grep "Q2_K" err &&
	test_must_fail mbr -C reg breed quantize tiny-f32 --type Q3_K_S 2>err &&
	grep "IQ4_NL" err &&
	lineage for-each-ref >refs.after &&
	test_cmp refs.before refs.after &&
	test "$(object_count)" = "$before" &&
	test_must_fail ls reg/.mbr/tmp/quantize-*
'

test_expect_success 'requantizing a K-quant version: the mix again from its values' '
	mbr -C reg breed quantize small-f16-q6_k --type Q4_K_M --name requant &&
	lineage show requant:operator.json >op.json &&
	grep -A2 "\"requantized_from\"" op.json | grep "\"Q6_K\"" &&
	mbr -C reg ls-tensors requant >t &&
	grep " Q4_K 256x256 blk.0.attn_q.weight\$" t &&
	grep " Q6_K 256x32000 output.weight\$" t
'

test_expect_success 'merge cannot make a mix' '
	test_must_fail mbr -C reg breed merge --method linear small-f16 small-f16 \
		--out-type Q4_K_M --name m 2>err &&
	grep "Q4_K_M chooses a type per tensor" err
'

test_done
