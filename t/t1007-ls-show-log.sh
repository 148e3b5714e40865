#!/bin/bash
test_description='mbr ls, show and log, as text and JSON'
. ./test-lib.sh

test_expect_success 'setup' '
	mbr init -q reg &&
	mbr -C reg add "$FIXTURES/models/tiny-f32.gguf" --name tiny --license MIT >c1 &&
	test_tick &&
	mbr -C reg add "$FIXTURES/models/tiny-Q8_0.gguf" --name tiny -m "quantized" >c2 &&
	mbr -C reg add "$FIXTURES/models/small-f16.gguf" --name small >c3
'

test_expect_success 'ls on an empty registry prints nothing' '
	mbr init -q empty && mbr -C empty ls >out && test_must_fail test -s out &&
	mbr -C empty ls --json >out.json && echo "[]" >expect && test_cmp expect out.json
'

test_expect_success 'ls lists each model with its head, format, size and types' '
	mbr -C reg ls >out &&
	cat out &&
	grep "^small  *$(cut -c1-12 c3) gguf" out &&
	grep "^tiny  *$(cut -c1-12 c2) gguf .*F32:5,Q8_0:16" out
'

test_expect_success 'ls --json has the parameter count (hand-computed)' '
	mbr -C reg ls --json >ls.json &&
	# tiny: 64*32000*2 (embd, output) + 64 (output_norm) +
	# 2 layers * (4*64*64 - 2*64*32 attn + 3*64*192 ffn + 2*64 norms)
	echo $(( 64*32000*2 + 64 + 2*(64*64*2 + 64*32*2 + 3*64*192 + 2*64) )) >expect &&
	grep -A4 "\"name\": \"tiny\"" ls.json | sed -n "s/.*\"parameters\": \([0-9]*\).*/\1/p" >actual &&
	test_cmp expect actual
'

test_expect_success 'show prints commit, parents, operator, license, metadata and tensors' '
	mbr -C reg show tiny~1 >show &&
	grep "^commit $(cat c1)" show &&
	grep "^operator add" show &&
	grep "^license MIT" show &&
	grep "general.architecture  *\"llama\"" show &&
	grep "tokenizer.ggml.tokens  *\[string x 32000\]" show &&
	grep "^  blk.1.ffn_down.weight  *F32  *\[192,64\]  *sha256:" show
'

test_expect_success 'show --json: parents and the tensor table' '
	mbr -C reg show --json tiny >show.json &&
	grep "\"parents\": \[" show.json &&
	grep -A1 "\"parents\": \[" show.json | grep "$(cat c1)" &&
	grep "\"name\": \"output.weight\"" show.json &&
	grep "\"type\": \"Q8_0\"" show.json
'

test_expect_success 'show of an unknown revision: exit 128, names it' '
	{ mbr -C reg show nosuch 2>err; echo $? >rc; } &&
	test "$(cat rc)" = 128 && grep "nosuch" err
'

test_expect_success 'REV syntax: name~1 and an id prefix resolve' '
	mbr -C reg show --json tiny~1 | grep -q "$(cat c1)" &&
	mbr -C reg show --json "$(cut -c1-10 c2)" | grep -q "$(cat c2)"
'

test_expect_success 'a git tag is a revision too' '
	git --git-dir=reg/.mbr/lineage.git tag v1 "$(cat c1)" &&
	mbr -C reg show --json v1 | grep -q "$(cat c1)"
'

test_expect_success 'log shows the history of a model, newest first' '
	mbr -C reg log tiny >log &&
	grep "^commit " log | cut -d" " -f2 >ids &&
	cat c2 c1 >expect && test_cmp expect ids &&
	grep "^    quantized" log
'

test_expect_success 'log --oneline --graph over all models' '
	mbr -C reg log --graph --oneline >g &&
	cat g &&
	test $(wc -l <g) = 3 &&
	grep "^\* $(cut -c1-12 c3) (small) add small-f16.gguf" g
'

test_expect_success 'log dates read as git log prints them' '
	mbr -C reg log tiny | grep "^Date:" >ours &&
	git --git-dir=reg/.mbr/lineage.git log tiny | grep "^Date:" >theirs &&
	test_cmp theirs ours
'

test_expect_success 'log --graph folds forks back into their parent like git' '
	mbr -C reg breed quantize tiny~1 --type Q4_0 --name fork-a &&
	mbr -C reg breed quantize tiny~1 --type Q5_0 --name fork-b &&
	mbr -C reg log --graph --oneline >g &&
	cat g &&
	grep -x "|/" g &&
	test $(grep -c " quantize tiny~1 to Q[45]_0\$" g) = 2 &&
	tail -n 1 g | grep "^\* $(cut -c1-12 c1) (tags/v1) add tiny-f32.gguf"
'

test_expect_success 'log --json' '
	mbr -C reg log --json tiny >log.json &&
	grep "\"commit\": \"$(cat c2)\"" log.json &&
	grep "\"refs\": \"tiny\"" log.json
'

test_expect_success 'plain git log --all reads the lineage' '
	git --git-dir=reg/.mbr/lineage.git log --all --format=%s >subjects &&
	grep "^add tiny-Q8_0.gguf" subjects &&
	grep "^add small-f16.gguf" subjects
'

test_done
