#!/bin/bash
test_description='descendants share what they did not change'
. ./test-lib.sh

base=$FIXTURES/models/tiny-Q8_0.gguf

new_bytes () {
	mbr -C reg add --json "$@" | sed -n 's/.*"bytes_written": \([0-9]*\).*/\1/p'
}

test_expect_success 'setup' '
	mbr init -q reg &&
	mbr -C reg add "$base" --name base
'

test_expect_success 'a changed metadata value adds < 64 KiB' '
	test-tool gguf-rewrite "$base" same.gguf &&
	cmp same.gguf "$base" &&
	test-tool gguf-rewrite "$base" renamed.gguf --set general.name=tinx &&
	! cmp renamed.gguf "$base" &&
	bytes=$(new_bytes renamed.gguf --name renamed) &&
	echo "new bytes: $bytes" &&
	test "$bytes" -gt 0 &&
	test "$bytes" -lt 65536
'

test_expect_success 'a metadata value of another length also adds < 64 KiB' '
	test-tool gguf-rewrite "$base" longer.gguf --set general.name=a-much-longer-model-name-than-before &&
	bytes=$(new_bytes longer.gguf --name longer) &&
	echo "new bytes: $bytes" &&
	test "$bytes" -lt 65536 &&
	mbr -C reg export longer -o longer.out &&
	cmp longer.gguf longer.out
'

test_expect_success 'a file that differs in one tensor stores only that tensor' '
	cp "$base" onetensor.gguf &&
	eval "$(test-tool gguf-fields onetensor.gguf blk.1.ffn_up.weight)" &&
	patch_bytes onetensor.gguf $((data + 7)) 5a &&
	mbr -C reg add --json onetensor.gguf --name onetensor >res.json &&
	grep "\"objects_written\": 1," res.json &&
	grep "\"bytes_written\": $size," res.json &&
	mbr -C reg diff base onetensor --json >diff.json &&
	grep "blk.1.ffn_up.weight" diff.json &&
	grep "\"unchanged\": 20" diff.json
'

test_expect_success 'the stored versions still export byte for byte' '
	mbr -C reg export onetensor -o one.out && cmp one.out onetensor.gguf &&
	mbr -C reg export renamed -o renamed.out && cmp renamed.out renamed.gguf &&
	mbr -C reg export base -o base.out && cmp base.out "$base"
'

test_expect_success 'large tensors are split into chunks and reassemble exactly' '
	mbr init -q chunked &&
	MBR_TEST_CHUNK_SIZE=100000 mbr -C chunked add "$base" --name base &&
	mbr -C chunked ls-tensors base >tensors &&
	grep "," tensors &&
	mbr -C chunked export base -o chunked.out &&
	cmp chunked.out "$base" &&
	mbr -C chunked fsck
'

test_done
