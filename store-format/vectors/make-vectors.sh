#!/bin/bash
# make-vectors.sh - write the golden input files of store-format/vectors/
# from nothing but printf, so that their bytes do not depend on mbr.
#
#   bash make-vectors.sh [DIR]      (default: the directory of this script)
#
# Writes empty.bin, abc.txt and tiny.gguf. The ids listed in README were
# computed from these files with coreutils sha256sum (and dd for the byte
# ranges of tiny.gguf), never with mbr.
set -e
dir=${1:-$(cd "$(dirname "$0")" && pwd)}

# Little-endian integers as printf escapes.
le () {	# le BYTES VALUE
	local n=$1 v=$2 i out=
	for ((i = 0; i < n; i++)); do
		out+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255)))
		:
	done
	printf "$out"
}
u32 () { le 4 "$1"; }
u64 () { le 8 "$1"; }
# A GGUF string: u64 length, then the bytes.
str () { u64 ${#1}; printf '%s' "$1"; }

: >"$dir/empty.bin"
printf 'abc' >"$dir/abc.txt"

# tiny.gguf: GGUF v3, 6 metadata entries, 2 tensors, default alignment 32.
#   general.architecture  string   "tiny"
#   general.name          string   "vector"
#   tiny.context_length   uint32   64
#   tiny.eps              float32  0.5
#   tiny.small            array of 3 int32: 1, -2, 3 (listed in full)
#   tiny.big              array of 4096 uint8, all 7 (>= 4096 bytes of
#                         element data: its own region and object)
#   a  F32 [4]  1.0 2.0 3.0 4.0           data offset 0
#   b  F16 [8]  1.0 x 8 (0x3c00)          data offset 32
# The data section starts at the next multiple of 32 after the tensor
# infos; 16 zero bytes pad a to 32, and 16 more end the file after b.
gguf=$dir/tiny.gguf
{
	printf 'GGUF'; u32 3; u64 2; u64 6
	str general.architecture; u32 8; str tiny
	str general.name; u32 8; str vector
	str tiny.context_length; u32 4; u32 64
	str tiny.eps; u32 6; u32 0x3f000000
	str tiny.small; u32 9; u32 5; u64 3; u32 1; u32 0xfffffffe; u32 3
	str tiny.big; u32 9; u32 0; u64 4096
	head -c 4096 /dev/zero | tr '\0' '\7'
	str a; u32 1; u64 4; u32 0; u64 0
	str b; u32 1; u64 8; u32 1; u64 32
} >"$gguf"
size=$(stat -c %s "$gguf")
pad=$(((32 - size % 32) % 32))
{
	head -c "$pad" /dev/zero
	u32 0x3f800000; u32 0x40000000; u32 0x40400000; u32 0x40800000
	head -c 16 /dev/zero
	for i in 1 2 3 4 5 6 7 8; do le 2 0x3c00; done
	head -c 16 /dev/zero
} >>"$gguf"
