#!/bin/bash
test_description='evidence: recorded beside the lineage, reused, listed by show, compared by scorecard and diff'
. ./test-lib.sh

FAMILY=$FIXTURES/family

# the evidence id mbr eval printed first
evidence_id () {
	sed -n '1s/^evidence \(sha256:[0-9a-f]*\) .*/\1/p' "$1"
}

# sha256:<hex> of a file, by coreutils
file_id () {
	echo "sha256:$(sha256sum <"$1" | cut -d" " -f1)"
}

model_refs () {
	lineage for-each-ref refs/heads refs/tags
}

test_expect_success 'setup: base, its Q8_0 descendant, a small suite' '
	mbr init -q reg &&
	mbr -C reg add -q "$FAMILY/base-f16.gguf" --name base &&
	mbr -C reg add -q "$FAMILY/prose-f16.gguf" --name prose &&
	mbr -C reg add -q "$FAMILY/code-f16.gguf" --name code &&
	mbr -C reg breed quantize base --type Q8_0 &&
	head -n 40 "$FAMILY/prose-mc.jsonl" >mc.jsonl &&
	cp "$FAMILY/prose-val.txt" val.txt &&
	cat >mini.suite.json <<-\EOF
	{"name": "mini", "tasks": [
	  {"name": "ppl", "type": "perplexity", "file": "val.txt", "ctx": 128, "chunks": 4},
	  {"name": "cloze", "type": "multiple_choice", "file": "mc.jsonl"}]}
	EOF
'

test_expect_success 'evidence is recorded without moving a model ref' '
	model_refs >refs.before &&
	mbr -C reg eval base --suite mini.suite.json -t 1 >out &&
	cat out &&
	grep "^evidence sha256:[0-9a-f]\{64\} (recorded)$" out &&
	model_refs >refs.after &&
	test_cmp refs.before refs.after &&
	test "$(lineage rev-list --count refs/mbr/evidence)" = 1 &&
	evidence_id out >base.id
'

test_expect_success 'its id is the SHA-256 of the stored text, which the index holds too' '
	id=$(cat base.id) &&
	mbr -C reg cat-object $id >ev.json &&
	test "$(file_id ev.json)" = "$id" &&
	weights=$(lineage show base:manifest.json | sha256sum | cut -d" " -f1) &&
	lineage ls-tree -r --name-only refs/mbr/evidence >index &&
	test "$(sed -n "s|^$weights/\([0-9a-f]\{64\}\)\.json$|\1|p" index | wc -l)" = 1 &&
	lineage show refs/mbr/evidence:$(cat index) >indexed.json &&
	test_cmp ev.json indexed.json
'

test_expect_success 'it names the weights, the suite, every input, the engine and the machine' '
	weights=$(lineage show base:manifest.json | sha256sum | cut -d" " -f1) &&
	grep "\"schema\":\"mbr.evidence/1\"" ev.json &&
	grep "\"manifest\":\"sha256:$weights\"" ev.json &&
	grep "\"commit\":\"$(lineage rev-parse base)\"" ev.json &&
	grep "\"sha256\":\"$(file_id mini.suite.json)\"" ev.json &&
	grep "\"file\":\"val.txt\",\"sha256\":\"$(file_id val.txt)\"" ev.json &&
	grep "\"file\":\"mc.jsonl\",\"sha256\":\"$(file_id mc.jsonl)\"" ev.json &&
	grep "\"adapters\":\[\]" ev.json &&
	grep "\"created\":\"[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]\{6\}Z\"" ev.json &&
	grep "\"engine\":{\"kernels\":\"[a-z0-9]*\",\"name\":\"mbr\",\"threads\":1,\"version\":\"" ev.json &&
	grep "\"cores\":$(nproc)," ev.json &&
	grep "\"peak_rss_bytes\":[1-9]" ev.json &&
	grep "\"cloze\":{\"acc\":[0-9.e-]*,\"acc_norm\":[0-9.e-]*,\"items\":40}" ev.json
'

test_expect_success 'the same inputs on the same weights reuse the record' '
	count=$(object_count) &&
	mbr -C reg eval base --suite mini.suite.json >again &&
	grep "^evidence $(cat base.id) (reused" again &&
	test "$(object_count)" = "$count" &&
	test "$(lineage rev-list --count refs/mbr/evidence)" = 1
'

test_expect_success '--force measures again' '
	mbr -C reg eval base --suite mini.suite.json -t 1 --force >forced &&
	grep "(recorded)$" forced &&
	test "$(lineage rev-list --count refs/mbr/evidence)" = 2 &&
	test "$(lineage ls-tree -r --name-only refs/mbr/evidence | wc -l)" = 1 &&
	evidence_id forced >base.id
'

test_expect_success 'a changed suite file or input file is a new run' '
	printf "\n" >>mini.suite.json &&
	mbr -C reg eval base --suite mini.suite.json -t 1 >out1 &&
	grep "(recorded)$" out1 &&
	echo "one more line" >>val.txt &&
	mbr -C reg eval base --suite mini.suite.json -t 1 >out2 &&
	grep "(recorded)$" out2 &&
	test "$(lineage ls-tree -r --name-only refs/mbr/evidence | wc -l)" = 3 &&
	evidence_id out2 >base.id
'

test_expect_success 'mbr show lists the version'"'"'s evidence' '
	mbr -C reg show base >show &&
	grep "^evidence:" show &&
	test "$(grep -c "^  sha256:[0-9a-f]* mini " show)" = 3 &&
	grep "^  $(cut -c1-19 base.id) mini .* cloze.acc=0\.[0-9]* .*ppl.perplexity=" show &&
	mbr -C reg show base --json >show.json &&
	grep "\"id\": \"$(cat base.id)\"" show.json &&
	mbr -C reg show prose >show &&
	! grep "^evidence:" show
'

test_expect_success 'scorecard: a row per version, a column per metric, the change from the parent' '
	mbr -C reg eval base-q8_0 --suite mini.suite.json -t 1 >q8 &&
	mbr -C reg scorecard base base-q8_0 >card &&
	cat card &&
	grep "^suite mini$" card &&
	head -n 2 card | tail -n 1 | grep "^version  *size  *params  *types  *vs parent  *cloze.acc  *cloze.acc_norm  *ppl.perplexity$" &&
	grep "^base  .*  F16 (F32 norms)  *-  " card &&
	grep "^base-q8_0  .*  Q8_0 (F32 norms)  *base  " card &&
	# the three figures are each rounded to four places: the change
	# agrees with the difference of the other two within 1.5 units of
	# the last place
	awk "/^base / { b = \$NF } /^base-q8_0 / { q = \$(NF - 1); d = \$NF }
	     END { gsub(/[()+]/, \"\", d); printf \"%s - %s = %s?\\n\", q, b, d;
		   x = q - b - d; exit !(x < 0.00016 && x > -0.00016) }" card &&
	mbr -C reg scorecard base base-q8_0 --suite mini --json >card.json &&
	grep "\"ppl.perplexity\"" card.json &&
	grep "\"index\": 0" card.json &&
	grep "\"commit\": \"$(lineage rev-parse base)\"" card.json &&
	grep "\"model\": \"base\"" card.json
'

test_expect_success 'scorecard of a merge says which parent it is compared with' '
	mbr -C reg breed merge --method linear prose code --weight 0.5 --weight 0.5 --name pc &&
	mbr -C reg eval code --suite mini.suite.json -t 1 &&
	mbr -C reg eval pc --suite mini.suite.json -t 1 &&
	mbr -C reg scorecard code pc >card &&
	cat card &&
	grep "^pc  .* code (parent 2 of 2)" card
'

test_expect_success 'mbr diff: the operator that made the newer version and the evidence deltas' '
	mbr -C reg diff base base-q8_0 >diff &&
	cat diff &&
	grep "^operator quantize .*\"type\":\"Q8_0\"" diff &&
	grep "^evidence mini: $(cut -c1-19 base.id) -> " diff &&
	grep "^  ppl.perplexity  *[0-9.]* -> [0-9.]* ([-+][0-9.]*)$" diff &&
	mbr -C reg diff base base-q8_0 --json >diff.json &&
	grep "\"operator\": \"quantize\"" diff.json &&
	grep "\"suite\": \"mini\"" diff.json &&
	mbr -C reg diff base prose >diff2 &&
	! grep "^evidence" diff2
'

test_expect_success 'ls and log list models only; git log --all reads the records' '
	mbr -C reg ls >ls &&
	! grep evidence ls &&
	mbr -C reg log >log &&
	! grep "evidence:" log &&
	lineage log --all --format=%s >all &&
	grep "^evidence: mini on base$" all &&
	lineage log -1 --format=%B refs/mbr/evidence | grep "^Mbr-Evidence: sha256:"
'

test_expect_success 'fsck is clean and gc keeps the evidence' '
	mbr -C reg fsck &&
	mbr -C reg gc &&
	mbr -C reg cat-object $(cat base.id) >kept.json &&
	test "$(file_id kept.json)" = "$(cat base.id)" &&
	mbr -C reg eval base --suite mini.suite.json >again &&
	grep "(reused" again
'

test_expect_success 'fsck reports a lost evidence object' '
	hex=$(cut -c8- base.id) &&
	mv reg/.mbr/objects/$(echo $hex | cut -c1-2)/$(echo $hex | cut -c3-) lost &&
	test_when_finished "mv lost reg/.mbr/objects/$(echo $hex | cut -c1-2)/$(echo $hex | cut -c3-)" &&
	test_must_fail mbr -C reg fsck >fsck.out 2>&1 &&
	grep "$hex.*evidence record" fsck.out
'

test_expect_success 'with an adapter: a run of its own that names the adapter and its scale' '
	mbr -C reg add -q "$FAMILY/prose-lora-r8.gguf" --name prose-lora --base base &&
	mbr -C reg eval base --suite mini.suite.json -t 1 >plain &&
	grep "(reused" plain &&
	mbr -C reg eval base --suite mini.suite.json -t 1 --adapter prose-lora:0.5 >half &&
	grep "(recorded)" half &&
	mbr -C reg eval base --suite mini.suite.json -t 1 --adapter prose-lora:0.5 >again &&
	grep "(reused" again &&
	test "$(evidence_id half)" = "$(evidence_id again)" &&
	mbr -C reg eval base --suite mini.suite.json -t 1 --adapter prose-lora:1 >one &&
	grep "(recorded)" one &&
	mbr -C reg cat-object "$(evidence_id half)" >half.json &&
	lineage show prose-lora:manifest.json | sha256sum | cut -d" " -f1 >digest &&
	grep "\"adapters\":\[{[^]]*\"sha256:$(cat digest)\"" half.json &&
	grep "\"scale\":0.5" half.json
'

test_done
