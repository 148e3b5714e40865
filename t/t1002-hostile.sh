#!/bin/bash
test_description='hostile and broken model files: clear errors, registry unchanged'
. ./test-lib.sh

good=$FIXTURES/models/tiny-Q4_0.gguf

# The registry must look exactly as it did: same objects, same refs, fsck clean.
snapshot () {
	{ find reg/.mbr/objects -path reg/.mbr/objects/tmp -prune -o -type f -print | sort
	  git --git-dir=reg/.mbr/lineage.git for-each-ref; } >"$1"
}

# expect_refused FILE PATTERN: add fails (exit 1), names the file, says PATTERN,
# and leaves the registry unchanged.
expect_refused () {
	snapshot before &&
	test_must_fail mbr -C reg add "$1" --name hostile 2>err &&
	cat err &&
	grep -F "$(basename "$1")" err &&
	grep -i -- "$2" err &&
	snapshot after &&
	test_cmp before after &&
	mbr -C reg fsck
}

test_expect_success 'setup' '
	mbr init -q reg &&
	mbr -C reg add "$FIXTURES/models/tiny-Q8_0.gguf" --name good &&
	eval "$(test-tool gguf-fields "$good" blk.0.attn_q.weight)" &&
	cat >fields <<-EOF
	ndims=$ndims ne0=$ne0 type=$type offset=$offset data=$data size=$size
	EOF
'

test_expect_success 'an empty file' '
	: >empty.gguf &&
	expect_refused empty.gguf "empty"
'

test_expect_success 'a file truncated in the header' '
	head -c 1000 "$good" >trunc-header.gguf &&
	expect_refused trunc-header.gguf "cannot fit" &&
	head -c 300000 "$good" >trunc-vocab.gguf &&
	expect_refused trunc-vocab.gguf "truncated"
'

test_expect_success 'a file truncated in the tensor data' '
	head -c $(( $(wc -c <"$good") - 100 )) "$good" >trunc-data.gguf &&
	expect_refused trunc-data.gguf "past the end"
'

test_expect_success 'a wrong magic' '
	cp "$good" magic.gguf && patch_bytes magic.gguf 0 47474758 &&
	expect_refused magic.gguf "magic"
'

test_expect_success 'an unsupported GGUF version' '
	cp "$good" version.gguf && patch_bytes version.gguf 4 01000000 &&
	expect_refused version.gguf "version"
'

test_expect_success 'an absurd tensor count' '
	cp "$good" count.gguf && patch_bytes count.gguf 8 ffffffffffffff0f &&
	expect_refused count.gguf "tensor"
'

test_expect_success 'an absurd metadata count' '
	cp "$good" kvcount.gguf && patch_bytes kvcount.gguf 16 ffffffffffffff7f &&
	expect_refused kvcount.gguf "."
'

test_expect_success 'an absurd dimension' '
	. ./fields &&
	cp "$good" dim.gguf && patch_bytes dim.gguf $ne0 00000000000000f0 &&
	expect_refused dim.gguf "blk.0.attn_q.weight"
'

test_expect_success 'too many dimensions' '
	. ./fields &&
	cp "$good" ndims.gguf && patch_bytes ndims.gguf $ndims 09000000 &&
	expect_refused ndims.gguf "dimension"
'

test_expect_success 'a tensor offset past the end of the file' '
	. ./fields &&
	cp "$good" offset.gguf && patch_bytes offset.gguf $offset 0000000000001000 &&
	expect_refused offset.gguf "blk.0.attn_q.weight"
'

test_expect_success 'an unknown tensor type is refused by name' '
	. ./fields &&
	cp "$good" type.gguf && patch_bytes type.gguf $type 4d000000 &&
	expect_refused type.gguf "type id 77"
'

test_expect_success 'not a model file at all' '
	echo "just some text, long enough to look at" >text.gguf &&
	expect_refused text.gguf "not a GGUF or safetensors"
'

test_expect_success 'a safetensors file with a header larger than the file' '
	printf "\377\377\000\000\000\000\000\000{}" >big.safetensors &&
	expect_refused big.safetensors "header"
'

test_expect_success 'a missing file' '
	test_must_fail mbr -C reg add nosuch.gguf 2>err &&
	grep "nosuch.gguf" err
'

test_done
