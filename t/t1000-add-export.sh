#!/bin/bash
test_description='mbr add stores files; mbr export gives them back byte for byte'
. ./test-lib.sh

test_expect_success 'setup' '
	mbr init -q reg
'

# The fixtures' SHA-256 sums were taken with coreutils at copy time.
for f in "$FIXTURES"/models/*.gguf; do
	name=$(basename "$f" .gguf)
	test_expect_success "add and export $name: same SHA-256" "
		mbr -C reg add '$f' >commit &&
		test \$(wc -c <commit) = 41 &&
		mbr -C reg export $name -o out.gguf &&
		grep ' $name.gguf\$' '$FIXTURES/models/SHA256SUMS' | cut -d' ' -f1 >expect &&
		sha256sum out.gguf | cut -d' ' -f1 >actual &&
		test_cmp expect actual
	"
done

test_expect_success 'the manifest records the whole-file SHA-256 and size' '
	mbr -C reg show --json tiny-f32 >show.json &&
	grep "\"sha256\": \"sha256:$(grep tiny-f32 "$FIXTURES/models/SHA256SUMS" | cut -d" " -f1)\"" show.json &&
	grep "\"size\": $(wc -c <"$FIXTURES/models/tiny-f32.gguf")\$" show.json
'

test_expect_success 'adding the same file again adds no object and no commit' '
	before=$(object_count) &&
	head=$(git --git-dir=reg/.mbr/lineage.git rev-parse refs/heads/tiny-f32) &&
	mbr -C reg add "$FIXTURES/models/tiny-f32.gguf" >out &&
	grep "unchanged" out &&
	test "$(object_count)" = "$before" &&
	test "$(git --git-dir=reg/.mbr/lineage.git rev-parse refs/heads/tiny-f32)" = "$head"
' 2>/dev/null

test_expect_success 'a copy of a stored file under a new name adds no object' '
	cp "$FIXTURES/models/tiny-Q8_0.gguf" copy.gguf &&
	before=$(object_count) &&
	mbr -C reg add copy.gguf --name q8-copy --json >res.json &&
	grep "\"objects_written\": 0" res.json &&
	test "$(object_count)" = "$before" &&
	git --git-dir=reg/.mbr/lineage.git rev-parse --verify refs/heads/q8-copy
'

test_expect_success 'export to standard output' '
	mbr -C reg export tiny-Q4_0 -o - >stdout.gguf &&
	cmp stdout.gguf "$FIXTURES/models/tiny-Q4_0.gguf"
'

test_expect_success 'export of an unknown revision fails and writes nothing' '
	test_must_fail mbr -C reg export nosuch -o none.gguf 2>err &&
	grep "nosuch" err &&
	! test -e none.gguf
'

test_expect_success 'the file is stored one object per tensor' '
	mbr -C reg ls-tensors tiny-f32 >tensors &&
	test $(wc -l <tensors) = 21 &&
	obj=$(awk "/ token_embd.weight\$/ { print \$1 }" tensors) &&
	mbr -C reg cat-object -s $obj >size &&
	echo $((64 * 32000 * 4)) >expect &&
	test_cmp expect size
'

test_expect_success 'a tensor object is exactly the tensor bytes (OCI-blob compatible)' '
	obj=$(awk "/ output_norm.weight\$/ { print \$1 }" tensors) &&
	mbr -C reg cat-object $obj >bytes &&
	echo "sha256:$(sha256sum bytes | cut -d" " -f1)" >actual &&
	echo $obj >expect &&
	test_cmp expect actual
'

test_expect_success 'mbr add --license records an SPDX id; a bad one is refused' '
	mbr -C reg add "$FIXTURES/models/tiny-Q5_0.gguf" --name licensed --license "Apache-2.0" &&
	mbr -C reg show --json licensed >show.json &&
	grep "\"license\": \"Apache-2.0\"" show.json &&
	test_must_fail mbr -C reg add "$FIXTURES/models/tiny-Q5_0.gguf" --name bad --license "not a license!" 2>err &&
	grep "SPDX" err
'

test_expect_success 'mbr add -m adds to the commit message; git log reads the lineage' '
	mbr -C reg add "$FIXTURES/models/tiny-Q5_1.gguf" --name msg -m "from the nightly run" &&
	git --git-dir=reg/.mbr/lineage.git log -1 --format=%B msg >msg &&
	grep "^add tiny-Q5_1.gguf" msg &&
	grep "^from the nightly run" msg &&
	grep "^Mbr-Operator: add" msg &&
	git --git-dir=reg/.mbr/lineage.git show msg:operator.json >op &&
	grep "\"operator\": \"add\"" op
'

test_expect_success 'a second version of a model has the first as parent' '
	test_tick &&
	mbr -C reg add "$FIXTURES/models/tiny-Q8_0.gguf" --name msg >c2 &&
	git --git-dir=reg/.mbr/lineage.git rev-parse msg~1 >parent &&
	git --git-dir=reg/.mbr/lineage.git log --format=%H msg >all &&
	test $(wc -l <all) = 2 &&
	mbr -C reg export msg~1 -o old.gguf &&
	cmp old.gguf "$FIXTURES/models/tiny-Q5_1.gguf"
'

test_expect_success 'an invalid model name is refused' '
	test_must_fail mbr -C reg add "$FIXTURES/models/tiny-Q8_0.gguf" --name "a b" 2>err &&
	grep "not a valid model name" err
'

test_expect_success 'fsck is clean after all that' '
	mbr -C reg fsck
'

test_done
