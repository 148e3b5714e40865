#!/bin/bash
test_description='safetensors files: add, show, export byte for byte, diff'
. ./test-lib.sh

# write_st FILE JSON DATA-BYTES-AS-PRINTF: a safetensors file by hand
write_st () {
	len=${#2}
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x\\x00\\x00\\x00\\x00' \
		$((len & 255)) $((len >> 8 & 255)) $((len >> 16 & 255)) $((len >> 24 & 255)))" >"$1" &&
	printf '%s' "$2" >>"$1" &&
	printf "$3" >>"$1"
}

# two F32 tensors: a [2,2] = 1 2 3 4, b [3] = 0.5 0.5 0.5; then 2 bytes of padding
hdr='{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[3],"data_offsets":[16,28]}}'
a_bytes='\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40'
b_bytes='\x00\x00\x00\x3f\x00\x00\x00\x3f\x00\x00\x00\x3f'

test_expect_success 'setup' '
	mbr init -q reg &&
	write_st m.safetensors "$hdr" "$a_bytes$b_bytes\x00\x00" &&
	test $(wc -c <m.safetensors) = $((8 + ${#hdr} + 30))
'

test_expect_success 'add a safetensors file and export it byte for byte' '
	mbr -C reg add m.safetensors >commit &&
	mbr -C reg export m -o out.safetensors &&
	cmp m.safetensors out.safetensors
'

test_expect_success 'show lists the tensors with ggml-order shapes and metadata' '
	mbr -C reg show m >show &&
	grep "^file safetensors" show &&
	grep "^  a  *F32  *\[2,2\]" show &&
	grep "^  b  *F32  *\[3\]" show &&
	grep "format  *\"pt\"" show
'

test_expect_success 'each tensor is an object holding exactly its bytes' '
	mbr -C reg ls-tensors m >tensors &&
	printf "$a_bytes" >a.bin &&
	echo "sha256:$(sha256sum a.bin | cut -d" " -f1) F32 2x2 a" >expect &&
	grep " a\$" tensors >actual &&
	test_cmp expect actual
'

test_expect_success 'diff of a changed tensor: rel_l2 computed by hand' '
	# a becomes 1 2 3 5: ||d|| = 1, ||a|| = sqrt(30): rel_l2 = 0.182574
	write_st m2.safetensors "$hdr" "\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\xa0\x40$b_bytes\x00\x00" &&
	mbr -C reg add m2.safetensors --name m &&
	mbr -C reg diff m~1 m >d &&
	cat d &&
	grep "^~ a F32 \[2,2\] -> F32 \[2,2\]  rel_l2 0.182574" d &&
	grep "1 tensors unchanged" d
'

test_expect_success 'a tensor whose size does not match its shape is refused' '
	bad=$(echo "$hdr" | sed "s/\[16,28\]/[16,27]/") &&
	write_st bad.safetensors "$bad" "$a_bytes$b_bytes" &&
	test_must_fail mbr -C reg add bad.safetensors 2>err &&
	grep "bad.safetensors" err
'

test_done
