#!/bin/bash
# demo.sh - what mbr does, on the bundled tiny trained family (make demo).
#
# A base model trained on prose and C headers, a prose specialist and a
# code specialist fine-tuned from it, and a LoRA adapter for the base:
# store them, breed descendants (a merge of the specialists, the adapter
# baked in, quantized variants), evaluate every version on the prose and
# code suites, and read the scorecard and the lineage. Works in a fresh
# temporary registry; prints each command before running it.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
fam=$src/t/fixtures/family
work=${MBR_DEMO_DIR:-$(mktemp -d /tmp/mbr-demo.XXXXXX)}
export PATH=$src:$PATH
start=$(date +%s)

run () {
	printf '\n$ %s\n' "$*"
	"$@"
}

cd "$work"
run mbr init -q "$work"
run mbr add "$fam/base-f16.gguf" --name base -m "trained on fortunes and C headers" --license MIT
run mbr add "$fam/prose-f16.gguf" --name prose --parent base -m "fine-tuned on fortunes"
run mbr add "$fam/code-f16.gguf" --name code --parent base -m "fine-tuned on C headers"
run mbr add "$fam/prose-lora-r8.gguf" --name prose-lora --base base
run mbr breed merge --method linear prose code --weight 0.5 --weight 0.5 --name generalist
run mbr breed lora-merge base prose-lora --name base-prose
run mbr breed quantize generalist --type Q8_0
run mbr breed quantize generalist --type Q4_0
run mbr ls
run mbr log --graph --oneline

versions="base prose code generalist base-prose generalist-q8_0 generalist-q4_0"
# The versions are tiny: one thread each, two evaluations at a time.
printf '\n$ mbr eval <version> --suite prose.suite.json / code.suite.json   (2 at a time)\n'
for v in $versions; do for suite in prose code; do echo "$v $suite"; done; done |
xargs -P 2 -n 2 sh -c 'mbr eval "$0" --suite "'"$fam"'/$1.suite.json" -t 1 >"eval-$0-$1.out"'
for v in $versions
do
	for suite in prose code
	do
		printf '%-16s %-6s %s\n' "$v" "$suite" "$(tail -n 1 "eval-$v-$suite.out")"
	done
done
run mbr scorecard $versions --suite prose
run mbr scorecard $versions --suite code
run mbr diff prose generalist --stat
run mbr diff generalist generalist-q4_0 --stat
run mbr fsck
printf '\n$ git --git-dir=.mbr/lineage.git log --oneline generalist\n'
git --git-dir=.mbr/lineage.git log --oneline generalist
printf '\nThe registry is in %s (demo took %d s)\n' "$work" $(( $(date +%s) - start ))
