#!/bin/bash
test_description='the tiny trained family: breeds that reproduce known files

llama.cpp'"'"'s llama-quantize made base/prose/code-q8_0.gguf from the F16 files, and
merge-linear-f16.gguf is 0.5 prose + 0.5 code computed in F32 and stored F16;
t/fixtures/family/SHA256SUMS and merge-linear-f16.tensors hold their digests.'
. ./test-lib.sh

fam=$FIXTURES/family

test_expect_success 'setup: a registry with base, prose and code' '
	mbr init -q reg &&
	for m in base prose code
	do
		mbr -C reg add "$fam/$m-f16.gguf" --name $m || return 1
	done
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
