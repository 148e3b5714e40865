#!/bin/bash
# demo.sh - what mbr does, on the bundled tiny models (make demo).
# Works in a fresh temporary registry; prints each command before running it.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
models=$src/t/fixtures/models
text=$src/t/fixtures/text/gpl-3.txt
work=${MBR_DEMO_DIR:-$(mktemp -d /tmp/mbr-demo.XXXXXX)}
export PATH=$src:$PATH MBR_DIR=$work

run () {
	printf '\n$ %s\n' "$*"
	"$@"
}

cd "$work"
run mbr init "$work"
run mbr add "$models/tiny-f32.gguf" --name tiny -m "random-weight llama, F32" --license MIT
run mbr breed quantize tiny --type Q8_0
run mbr breed quantize tiny --type Q4_0
run mbr add "$models/small-f16.gguf" --name small
run mbr ls
run mbr log --graph --oneline
run mbr diff tiny tiny-q4_0
run mbr export tiny-q8_0 -o tiny-q8_0.gguf
printf '\n$ cmp tiny-q8_0.gguf %s   # the file llama-quantize made\n' "$models/tiny-Q8_0.gguf"
cmp tiny-q8_0.gguf "$models/tiny-Q8_0.gguf" && echo identical
run mbr eval tiny --perplexity "$text" --ctx 128
run mbr eval tiny-q4_0 --perplexity "$text" --ctx 128
run mbr infer tiny-q8_0 -p "Once upon a time" -n 16 --temp 0
echo
run mbr fsck
printf '\n$ git --git-dir=%s/.mbr/lineage.git log --all --oneline\n' "$work"
git --git-dir="$work/.mbr/lineage.git" log --all --oneline
printf '\nThe registry is in %s\n' "$work"
