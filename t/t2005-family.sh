#!/bin/bash
test_description='the tiny trained family: breeds that reproduce known files

llama.cpp'"'"'s llama-quantize made base/prose/code-q8_0.gguf from the F16 files, and
merge-linear-f16.gguf is 0.5 prose + 0.5 code computed in F32 and stored F16;
t/fixtures/family/SHA256SUMS and merge-linear-f16.tensors hold their digests.'
. ./test-lib.sh

fam=$FIXTURES/family

test_expect_success 'setup: base, and the specialists fine-tuned from it' '
	mbr init -q reg &&
	mbr -C reg add -q "$fam/base-f16.gguf" --name base &&
	for m in prose code
	do
		mbr -C reg add -q "$fam/$m-f16.gguf" --name $m --parent base || return 1
	done
'

test_expect_success 'add --parent: the base is the parent and the input' '
	lineage rev-parse base >expect &&
	lineage log --format=%P -1 prose >actual &&
	test_cmp expect actual &&
	lineage show prose:operator.json >op &&
	grep "\"operator\": \"add\"" op &&
	sed -n "/\"inputs\"/,\$p" op | grep "\"commit\": \"$(cat expect)\"" &&
	lineage show base:manifest.json | sha256sum | cut -d" " -f1 >digest &&
	grep "\"manifest_sha256\": \"sha256:$(cat digest)\"" op
'

test_expect_success 'add --parent: an unknown parent or one with --base is refused, nothing stored' '
	(cd reg && find .mbr/objects -type f | sort) >before &&
	lineage for-each-ref >refs-before &&
	expect_code 128 mbr -C reg add "$fam/prose-lora-r8.gguf" --parent nosuch 2>err &&
	grep "nosuch" err &&
	expect_code 129 mbr -C reg add "$fam/prose-lora-r8.gguf" --parent base --base base &&
	(cd reg && find .mbr/objects -type f | sort) >after &&
	lineage for-each-ref >refs-after &&
	test_cmp before after && test_cmp refs-before refs-after
'

for m in base prose code
do
	test_expect_success "quantize $m to Q8_0: the file llama-quantize made" "
		mbr -C reg breed quantize $m --type Q8_0 &&
		mbr -C reg export $m-q8_0 -o $m-q8_0.gguf &&
		grep ' $m-q8_0.gguf\$' \"\$fam/SHA256SUMS\" >expect &&
		sha256sum $m-q8_0.gguf >actual &&
		test_cmp expect actual
	"
done

test_expect_success 'linear merge 0.5 prose + 0.5 code: the known tensors, bit for bit' '
	mbr -C reg breed merge --method linear prose code --weight 0.5 --weight 0.5 \
		--name merge-linear &&
	mbr -C reg ls-tensors merge-linear >tensors &&
	sed "s/^sha256://" tensors | awk "{print \$1, \$4}" | sort -k2 >actual &&
	sort -k2 "$fam/merge-linear-f16.tensors" >expect &&
	test_cmp expect actual
'

test_expect_success 'the merge has both specialists as parents' '
	lineage log --format=%P -1 merge-linear >parents &&
	test $(wc -w <parents) = 2 &&
	lineage rev-parse prose code >inputs &&
	tr " " "\n" <parents | grep . | sort >actual &&
	sort inputs >expect &&
	test_cmp expect actual
'

test_done
