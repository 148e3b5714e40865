#!/bin/bash
test_description='fsck finds damage; gc keeps what is reachable'
. ./test-lib.sh

obj_path () {
	hex=${1#sha256:}
	if test -f reg/.mbr/objects/${hex:0:2}/${hex:2}; then
		echo reg/.mbr/objects/${hex:0:2}/${hex:2}
	else
		echo reg/.mbr/objects/${hex:0:2}/${hex:2}.zst
	fi
}

test_expect_success 'setup' '
	mbr init -q reg &&
	mbr -C reg add "$FIXTURES/models/tiny-Q8_0.gguf" --name q8 &&
	mbr -C reg add "$FIXTURES/models/tiny-Q4_0.gguf" --name q4 &&
	mbr -C reg fsck >out &&
	grep "0 problems" out &&
	mbr -C reg ls-tensors q8 >q8.tensors &&
	mbr -C reg ls-tensors q4 >q4.tensors
'

test_expect_success 'fsck finds a flipped byte in an object and names it' '
	obj=$(awk "/ blk.0.ffn_up.weight\$/ { print \$1 }" q8.tensors) &&
	p=$(obj_path $obj) &&
	cp $p saved && chmod u+w $p &&
	test_when_finished "cp saved $p" &&
	printf "\\377" | dd of=$p bs=1 seek=100 conv=notrunc status=none &&
	{ mbr -C reg fsck 2>err; echo $? >rc; } &&
	test "$(cat rc)" = 1 &&
	grep "$obj" err &&
	mbr -C reg fsck --json >report.json; grep "\"ok\": false" report.json
'

test_expect_success 'export refuses to produce a file from a damaged object' '
	obj=$(awk "/ blk.0.ffn_up.weight\$/ { print \$1 }" q8.tensors) &&
	p=$(obj_path $obj) &&
	cp $p saved && chmod u+w $p &&
	test_when_finished "cp saved $p" &&
	printf "\\377" | dd of=$p bs=1 seek=100 conv=notrunc status=none &&
	test_must_fail mbr -C reg export q8 -o damaged.gguf 2>err &&
	grep "fsck" err &&
	! test -e damaged.gguf &&
	! ls damaged.gguf.* 2>/dev/null
'

test_expect_success 'fsck is clean again once the object is restored' '
	mbr -C reg fsck
'

test_expect_success 'fsck finds a missing object' '
	obj=$(awk "/ output.weight\$/ { print \$1 }" q4.tensors) &&
	p=$(obj_path $obj) &&
	mv $p saved-missing &&
	test_when_finished "mv saved-missing $p" &&
	test_must_fail mbr -C reg fsck 2>err &&
	grep "$obj" err &&
	grep "missing" err
'

test_expect_success 'fsck finds a dangling ref' '
	echo 0123456789012345678901234567890123456789 >reg/.mbr/lineage.git/refs/heads/dangling &&
	test_when_finished "rm -f reg/.mbr/lineage.git/refs/heads/dangling" &&
	test_must_fail mbr -C reg fsck 2>err &&
	grep "refs/heads/dangling" err
'

test_expect_success 'gc keeps everything reachable' '
	before=$(object_count) &&
	mbr -C reg gc >out &&
	grep "removed 0 " out &&
	test "$(object_count)" = "$before" &&
	mbr -C reg export q8 -o q8.gguf && cmp q8.gguf "$FIXTURES/models/tiny-Q8_0.gguf" &&
	mbr -C reg export q4 -o q4.gguf && cmp q4.gguf "$FIXTURES/models/tiny-Q4_0.gguf"
'

test_expect_success 'gc deletes objects only a deleted model used' '
	git --git-dir=reg/.mbr/lineage.git update-ref -d refs/heads/q4 &&
	mbr -C reg gc --dry-run --json >dry.json &&
	grep "\"objects_removed\": [1-9]" dry.json &&
	test "$(object_count)" -gt 0 &&
	before=$(object_count) &&
	mbr -C reg gc &&
	test "$(object_count)" -lt "$before" &&
	mbr -C reg fsck &&
	mbr -C reg export q8 -o q8b.gguf && cmp q8b.gguf "$FIXTURES/models/tiny-Q8_0.gguf"
'

test_expect_success 'objects shared with a kept model survive gc' '
	mbr -C reg add "$FIXTURES/models/tiny-Q4_0.gguf" --name q4 &&
	mbr -C reg add "$FIXTURES/models/tiny-Q4_1.gguf" --name q41 &&
	git --git-dir=reg/.mbr/lineage.git update-ref -d refs/heads/q41 &&
	mbr -C reg gc &&
	mbr -C reg export q4 -o q4c.gguf && cmp q4c.gguf "$FIXTURES/models/tiny-Q4_0.gguf"
'

test_expect_success 'gc keeps the objects of older versions of a model' '
	mbr -C reg add "$FIXTURES/models/tiny-Q5_0.gguf" --name q4 &&
	mbr -C reg gc &&
	mbr -C reg export q4~1 -o old.gguf && cmp old.gguf "$FIXTURES/models/tiny-Q4_0.gguf"
'

test_done
