#!/bin/bash
test_description='mbr breed quantize: llama-quantize results as versions with lineage'
. ./test-lib.sh

# The object id of tensor $2 in version $1.
tensor_id () {
	mbr -C reg ls-tensors "$1" | awk -v t="$2" '$4 == t { print $1 }'
}

test_expect_success 'setup: a registry with the F32 source' '
	mbr init -q reg &&
	mbr -C reg add "$FIXTURES/models/tiny-f32.gguf" >source
'

# The fixtures are what llama.cpp's llama-quantize made of tiny-f32.gguf:
# the same tensors, ids (SHA-256 of the bytes) and types, and in fact the
# same file, byte for byte (metadata, tensor order and padding included).
for t in Q8_0 Q4_0 Q4_1 Q5_0 Q5_1; do
	lt=$(echo $t | tr A-Z a-z)
	test_expect_success "quantize to $t: the tensors of llama-quantize's file" "
		mbr -C reg breed quantize tiny-f32 --type $t >out &&
		test \"\$(cut -d' ' -f2 out)\" = tiny-f32-$lt &&
		mbr -C reg add '$FIXTURES/models/tiny-$t.gguf' --name llama-$t &&
		mbr -C reg ls-tensors tiny-f32-$lt >actual &&
		mbr -C reg ls-tensors llama-$t >expect &&
		test_cmp expect actual &&
		test \$(wc -l <actual) = 21
	"
	test_expect_success "quantize to $t: no metadata difference, the same file" "
		mbr -C reg diff --json llama-$t tiny-f32-$lt >diff.json &&
		grep -A3 '\"metadata\"' diff.json >meta &&
		grep '\"added\": \[\]' meta && grep '\"removed\": \[\]' meta &&
		grep '\"changed\": \[\]' meta &&
		mbr -C reg export tiny-f32-$lt -o out.gguf &&
		cmp out.gguf '$FIXTURES/models/tiny-$t.gguf'
	"
done

test_expect_success 'the tensor choice follows llama-quantize: norms F32, output Q8_0' '
	mbr -C reg ls-tensors tiny-f32-q4_0 >t &&
	test $(grep -c " F32 64 .*_norm.weight\$" t) = 5 &&
	grep " Q8_0 64x32000 output.weight\$" t &&
	grep " Q4_0 64x32000 token_embd.weight\$" t &&
	test $(grep -c " Q4_0 " t) = 15
'

test_expect_success 'unchanged tensors are the source objects (norms shared)' '
	test "$(tensor_id tiny-f32-q4_0 output_norm.weight)" = \
	     "$(tensor_id tiny-f32 output_norm.weight)"
'

test_expect_success 'the commit has the source as parent and records the operator' '
	lineage log -1 --format=%P tiny-f32-q8_0 >parents &&
	lineage rev-parse tiny-f32 >expect &&
	test_cmp expect parents &&
	lineage log -1 --format=%s tiny-f32-q8_0 >subject &&
	echo "quantize tiny-f32 to Q8_0" >expect &&
	test_cmp expect subject &&
	lineage log -1 --format=%B tiny-f32-q8_0 | grep -x "Mbr-Operator: quantize" &&
	lineage show tiny-f32-q8_0:operator.json >op.json &&
	grep "\"operator\": \"quantize\"" op.json &&
	grep "\"type\": \"Q8_0\"" op.json &&
	grep "\"source\": \"tiny-f32\"" op.json &&
	grep "\"commit\": \"$(lineage rev-parse tiny-f32)\"" op.json &&
	lineage show tiny-f32:manifest.json | sha256sum | cut -d" " -f1 >digest &&
	grep "\"manifest_sha256\": \"sha256:$(cat digest)\"" op.json &&
	! grep requantized_from op.json
'

test_expect_success 'mbr log shows the quantized version after its source' '
	mbr -C reg log tiny-f32-q8_0 >log &&
	grep "quantize tiny-f32 to Q8_0" log &&
	grep "add tiny-f32.gguf" log
'

test_expect_success 'quantizing again into the same model changes nothing' '
	head=$(lineage rev-parse tiny-f32-q8_0) &&
	mbr -C reg breed quantize tiny-f32 --type Q8_0 >out &&
	grep "(tiny-f32-q8_0 unchanged)" out &&
	test "$(lineage rev-parse tiny-f32-q8_0)" = "$head"
'

test_expect_success 'into an existing model: its head first, then the source' '
	mbr -C reg add "$FIXTURES/models/tiny-Q5_0.gguf" --name mixed &&
	old=$(lineage rev-parse mixed) &&
	mbr -C reg breed quantize tiny-f32 --type Q8_0 --name mixed --json >res.json &&
	grep "\"name\": \"mixed\"" res.json &&
	printf "%s %s\n" $old $(lineage rev-parse tiny-f32) >expect &&
	lineage log -1 --format=%P mixed >actual &&
	test_cmp expect actual
'

# Python's struct packs a half with IEEE round-to-nearest-even, as ggml
# converts F32 to F16: an independent implementation of the conversion.
test_expect_success PYTHON 'F16: the matrices are the F32 values rounded to half' '
	mbr -C reg breed quantize tiny-f32 --type F16 &&
	mbr -C reg ls-tensors tiny-f32-f16 >t &&
	test $(grep -c " F16 " t) = 16 && test $(grep -c " F32 " t) = 5 &&
	mbr -C reg cat-object $(tensor_id tiny-f32 blk.0.attn_k.weight) >f32.bin &&
	python3 -c "import struct,sys; d=open(\"f32.bin\",\"rb\").read(); n=len(d)//4; sys.stdout.buffer.write(struct.pack(\"<%de\" % n, *struct.unpack(\"<%df\" % n, d)))" >expect.bin &&
	mbr -C reg cat-object $(tensor_id tiny-f32-f16 blk.0.attn_k.weight) >actual.bin &&
	cmp expect.bin actual.bin
'

test_expect_success PYTHON 'F16 back to F32: the source within half precision' '
	mbr -C reg breed quantize tiny-f32-f16 --type F32 --name back &&
	mbr -C reg diff --json tiny-f32 back >diff.json &&
	grep -A3 "\"metadata\"" diff.json | grep "general.quantization_version" &&
	python3 -c "import json; d=json.load(open(\"diff.json\")); c=d[\"tensors\"][\"changed\"]; assert len(c) == 16, c; assert d[\"metadata\"][\"changed\"] == []; assert all(x[\"old_type\"] == x[\"new_type\"] == \"F32\" and 0 < x[\"rel_l2\"] < 5e-4 for x in c), c"
'

# ggml_fp32_to_bf16: round to nearest even on the upper 16 bits.
test_expect_success PYTHON 'BF16: the F32 values rounded to bfloat16' '
	mbr -C reg breed quantize tiny-f32 --type BF16 &&
	python3 -c "import struct,sys; d=open(\"f32.bin\",\"rb\").read(); u=struct.unpack(\"<%dI\" % (len(d)//4), d); sys.stdout.buffer.write(struct.pack(\"<%dH\" % len(u), *[(x + 0x7fff + ((x >> 16) & 1)) >> 16 for x in u]))" >expect.bin &&
	mbr -C reg cat-object $(tensor_id tiny-f32-bf16 blk.0.attn_k.weight) >actual.bin &&
	cmp expect.bin actual.bin &&
	mbr -C reg show --json tiny-f32-bf16 | grep -A2 "\"general.file_type\"" | grep "\"value\": 32"
'

test_expect_success PYTHON 'a quantized source is dequantized and requantized, and says so' '
	mbr -C reg breed quantize tiny-f32-q8_0 --type Q4_0 --name requant &&
	lineage show requant:operator.json >op.json &&
	grep -A2 "\"requantized_from\"" op.json | grep "\"Q8_0\"" &&
	mbr -C reg ls-tensors requant >t &&
	grep " Q4_0 64x64 blk.0.attn_q.weight\$" t &&
	test "$(tensor_id requant output.weight)" = "$(tensor_id tiny-f32-q8_0 output.weight)" &&
	mbr -C reg diff --json tiny-f32-q4_0 requant >diff.json &&
	python3 -c "import json; d=json.load(open(\"diff.json\")); c=d[\"tensors\"][\"changed\"]; assert c and all(x[\"rel_l2\"] < 0.05 for x in c), c"
'

test_expect_success 'a bad type is refused with the list' '
	expect_code 129 mbr -C reg breed quantize tiny-f32 --type Q9_9 2>err &&
	grep "Q9_9" err && grep "Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K" err
'

test_expect_success 'usage errors exit 129' '
	expect_code 129 mbr -C reg breed 2>err &&
	expect_code 129 mbr -C reg breed frobnicate 2>err && grep frobnicate err &&
	expect_code 129 mbr -C reg breed quantize tiny-f32 2>err &&
	expect_code 129 mbr -C reg breed quantize --type Q8_0 2>err &&
	expect_code 0 mbr -C reg breed -h >out && grep "mbr breed quantize" out
'

test_expect_success 'an unknown source fails, naming it, and changes nothing' '
	lineage for-each-ref >refs.before &&
	before=$(object_count) &&
	test_must_fail mbr -C reg breed quantize nosuch --type Q8_0 2>err &&
	grep nosuch err &&
	test_must_fail mbr -C reg breed quantize tiny-f32~1 --type Q8_0 2>err &&
	test_must_fail mbr -C reg breed quantize tiny-f32 --type Q8_0 --name "bad name" 2>err &&
	grep "bad name" err &&
	lineage for-each-ref >refs.after &&
	test_cmp refs.before refs.after &&
	test "$(object_count)" = "$before" &&
	test_must_fail ls reg/.mbr/tmp/quantize-* &&
	mbr -C reg fsck
'

test_expect_success 'a revision that is not a model needs --name' '
	test_must_fail mbr -C reg breed quantize $(lineage rev-parse tiny-f32) --type Q8_0 2>err &&
	grep "give a name" err &&
	mbr -C reg breed quantize $(lineage rev-parse tiny-f32) --type Q8_0 --name by-id &&
	test "$(tensor_id by-id token_embd.weight)" = "$(tensor_id llama-Q8_0 token_embd.weight)"
'

test_expect_success 'bash completion: the operator, revisions, types' '
	. "$SRC_DIRECTORY/contrib/completion/mbr-completion.bash" &&
	COMP_WORDS=(mbr breed q) && COMP_CWORD=2 && _mbr &&
	test "${COMPREPLY[*]}" = quantize &&
	COMP_WORDS=(mbr -C reg breed quantize tiny-f32-q5) && COMP_CWORD=5 && _mbr &&
	test "${COMPREPLY[*]}" = "tiny-f32-q5_0 tiny-f32-q5_1" &&
	COMP_WORDS=(mbr breed quantize x --type Q5) && COMP_CWORD=5 && _mbr &&
	test "${COMPREPLY[*]}" = "Q5_0 Q5_1 Q5_K_S Q5_K_M"
'

test_done
