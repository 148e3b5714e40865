#!/bin/bash
test_description='concurrent adds on one registry all land'
. ./test-lib.sh

test_expect_success 'setup' '
	mbr init -q reg
'

test_expect_success 'two adds of different models at once both land' '
	mbr -C reg add "$FIXTURES/models/tiny-Q8_0.gguf" --name a >a.out 2>a.err &
	mbr -C reg add "$FIXTURES/models/tiny-Q4_0.gguf" --name b >b.out 2>b.err &
	wait %1 && wait %2 &&
	git --git-dir=reg/.mbr/lineage.git rev-parse --verify refs/heads/a &&
	git --git-dir=reg/.mbr/lineage.git rev-parse --verify refs/heads/b &&
	mbr -C reg fsck
'

test_expect_success 'four adds to the same model at once make a chain of four versions' '
	for f in Q4_1 Q5_0 Q5_1 f32; do
		cp "$FIXTURES/models/tiny-$f.gguf" $f.gguf
	done &&
	for f in Q4_1 Q5_0 Q5_1 f32; do
		mbr -C reg add $f.gguf --name chain >$f.out 2>$f.err &
	done &&
	wait &&
	git --git-dir=reg/.mbr/lineage.git rev-list chain >revs &&
	test $(wc -l <revs) = 4 &&
	for f in Q4_1 Q5_0 Q5_1 f32; do
		grep -q "$(cat $f.out)" revs || exit 1
	done &&
	mbr -C reg fsck
'

test_expect_success 'an add while gc runs loses nothing' '
	mbr -C reg add "$FIXTURES/models/small-Q6_K.gguf" --name late &
	mbr -C reg gc &&
	wait &&
	mbr -C reg fsck &&
	mbr -C reg export late -o late.gguf && cmp late.gguf "$FIXTURES/models/small-Q6_K.gguf"
'

test_done
