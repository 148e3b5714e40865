#!/bin/bash
# demo.sh - what mbr does, on the bundled tiny models (make demo).
# Works in a fresh temporary registry; prints each command before running it.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
mbr=$src/mbr
models=$src/t/fixtures/models
work=${MBR_DEMO_DIR:-$(mktemp -d /tmp/mbr-demo.XXXXXX)}

run () {
	printf '\n$ %s\n' "$*"
	"$@"
}

cd "$work"
export MBR_DIR=$work
run "$mbr" init "$work"
run "$mbr" add "$models/tiny-f32.gguf" --name tiny -m "random-weight llama, F32" --license MIT
run "$mbr" add "$models/tiny-Q8_0.gguf" --name tiny -m "the same weights quantized to Q8_0"
run "$mbr" add "$models/tiny-Q4_0.gguf" --name tiny-q4 -m "and to Q4_0"
run "$mbr" add "$models/small-f16.gguf" --name small
run "$mbr" ls
run "$mbr" log --graph --oneline
run "$mbr" diff tiny~1 tiny
run "$mbr" export tiny~1 -o tiny-roundtrip.gguf
printf '\n$ sha256sum tiny-roundtrip.gguf %s\n' "$models/tiny-f32.gguf"
sha256sum tiny-roundtrip.gguf "$models/tiny-f32.gguf"
run "$mbr" fsck
printf '\n$ git --git-dir=%s/.mbr/lineage.git log --all --oneline\n' "$work"
git --git-dir="$work/.mbr/lineage.git" log --all --oneline
printf '\nThe registry is in %s\n' "$work"
