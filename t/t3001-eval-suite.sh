#!/bin/bash
test_description='mbr eval --suite: perplexity, multiple choice and generation tasks against llama.cpp'
. ./test-lib.sh

FAMILY=$FIXTURES/family

# metric FILE NAME: a metric's value in mbr eval's text output
metric () {
	awk -v m="$2" '$1 == m { print $2 }' "$1"
}

test_expect_success 'setup: the family in a registry' '
	mbr init -q reg &&
	for m in base prose code; do
		mbr -C reg add -q "$FAMILY/$m-f16.gguf" --name $m || return 1
	done
'

# expected-mc.tsv: llama.cpp's acc / acc_norm (4 decimals) over 300 items,
# by lm-evaluation-harness's method; expected-ppl-c128-n32.tsv:
# llama-perplexity -c 128 -b 128 --chunks 32 (t/fixtures/README). One run
# of a shipped suite gives both; single-threaded, as two threads on a
# busy two-core machine wait on each other.
for m in base prose code; do
	for set in prose code; do
		test_expect_success "$m on the $set suite: llama.cpp's acc, acc_norm and perplexity" "
			mbr -C reg eval $m --suite \"$FAMILY/$set.suite.json\" -t 1 >out &&
			cat out &&
			want=\$(awk -v m=$m -v s=$set '\$1 == m && \$2 == s { print \$3, \$4 }' \
				\"$FAMILY/expected-mc.tsv\") &&
			test \"\$(metric out cloze.acc) \$(metric out cloze.acc_norm)\" = \"\$want\" &&
			test \"\$(metric out cloze.items)\" = 300 &&
			test \"\$(metric out ppl.chunks)\" = 32 &&
			awk -v got=\$(metric out ppl.perplexity) -v want=\$(awk -v m=$m -v s=$set \
				'\$1 == m && \$2 == s { print \$3 }' \"$FAMILY/expected-ppl-c128-n32.tsv\") '
				BEGIN { rel = (got - want) / want; if (rel < 0) rel = -rel
					printf \"got %s, llama.cpp %s, relative error %.3g\\n\", got, want, rel
					exit !(rel <= 0.001) }'
		"
	done
done

test_expect_success 'a whole text: llama-perplexity over every chunk (expected-ppl-c128.tsv)' '
	cat >whole.suite.json <<-EOF &&
	{"name": "whole", "tasks": [{"name": "ppl", "type": "perplexity",
	  "file": "$FAMILY/code-val.txt", "ctx": 128}]}
	EOF
	mbr -C reg eval code --suite whole.suite.json -t 1 >out &&
	want=$(awk "\$1 == \"code\" && \$2 == \"code\" { print \$3 }" "$FAMILY/expected-ppl-c128.tsv") &&
	awk -v got=$(metric out ppl.perplexity) -v want=$want "BEGIN {
		rel = (got - want) / want; if (rel < 0) rel = -rel
		printf \"got %s, llama.cpp %s, relative error %.3g\\n\", got, want, rel
		exit !(rel <= 0.001) }"
'

# greedy-n24.tsv: llama-simple's greedy text for tiny-f32 after the prompt
# (BOS as "<s>", the prompt, 24 pieces); the continuation is the target.
test_expect_success 'setup: generation items from llama-simple greedy text' '
	mbr -C reg add -q "$FIXTURES/models/tiny-f32.gguf" &&
	line=$(grep "^tiny-f32	Once upon a time	" "$FIXTURES/expected/greedy-n24.tsv") &&
	cont=${line#*<s> Once upon a time} &&
	test -n "$cont" &&
	{
		printf "{\"prompt\": \"Once upon a time\", \"target\": \"%s\"}\n" "$cont" &&
		printf "{\"prompt\": \"Once upon a time\", \"target\": \"%s\"}\n" "${cont% *}" &&
		printf "{\"prompt\": \"Once upon a time\", \"target\": \" Once upon\"}\n"
	} >gen.jsonl &&
	printf "{\"prompt\": \"Once upon a time\", \"target\": \"%s\"}\n" "${cont%% orthogonal*}" >stop.jsonl &&
	cat >gen.suite.json <<-\EOF
	{"name": "gen", "tasks": [
	  {"name": "full", "type": "generate", "file": "gen.jsonl", "max_tokens": 24},
	  {"name": "stop", "type": "generate", "file": "stop.jsonl", "max_tokens": 24,
	   "stop": [" orthogonal", "never appears"]},
	  {"name": "short", "type": "generate", "file": "stop.jsonl", "max_tokens": 1}]}
	EOF
'

test_expect_success 'generate: exact_match and contains against the known continuation; stop strings' '
	mbr -C reg eval tiny-f32 --suite gen.suite.json -t 1 >out &&
	cat out &&
	test "$(metric out full.exact_match)" = 0.3333 &&
	test "$(metric out full.contains)" = 0.6667 &&
	test "$(metric out full.items)" = 3 &&
	test "$(metric out stop.exact_match)" = 1.0000 &&
	test "$(metric out short.exact_match)" = 0.0000 &&
	test "$(metric out short.contains)" = 0.0000
'

# Five prompts of BOS + 4 tokens go through as batches; one by one go
# 23 tokens after each of the three 24-token texts (the last is never
# fed back), 2 before " orthogonal" stops the stop task, none for
# max_tokens 1: 69 + 2.
test_expect_success 'the prompt and decode speed and the peak memory are measured' '
	mbr -C reg eval tiny-f32 --suite gen.suite.json -t 1 --force --json >out.json &&
	grep "\"prompt_tokens\": 25," out.json &&
	grep "\"decode_tokens\": 71," out.json &&
	grep "\"prompt_tps\": [1-9]" out.json &&
	grep "\"decode_tps\": [1-9]" out.json &&
	grep "\"peak_rss_bytes\": [1-9]" out.json
'

# A suite that cannot run is refused before anything runs or is recorded.
bad_suite () {
	suite=$2 pattern=$3
	test_expect_success "a suite with $1 is refused, naming the problem" '
		printf "%s\n" "$suite" >bad.suite.json &&
		find reg/.mbr -type f | sort | xargs sha256sum >before &&
		test_must_fail mbr -C reg eval tiny-f32 --suite bad.suite.json 2>err &&
		cat err &&
		grep "bad.suite.json" err &&
		grep -- "$pattern" err &&
		find reg/.mbr -type f | sort | xargs sha256sum >after &&
		test_cmp before after
	'
}

printf '%s\n' '{"context": "a", "choices": [" b", " c"], "answer": 2}' >bad-answer.jsonl
printf '%s\n' '{"context": "a", "choices": [" b", " c"], "answer": 0}' '{"context": "a",' >bad-json.jsonl
printf '%s\n' '{"context": "a", "choices": [" b"], "answer": 0, "extra": 1}' >bad-key.jsonl

bad_suite 'a missing file' '{"name": "x", "tasks": [{"name": "t", "type": "multiple_choice", "file": "nosuch.jsonl"}]}' "task 't': cannot open .*nosuch.jsonl"
bad_suite 'bad JSON' '{"name": "x", "tasks": [' 'line 2'
bad_suite 'an unknown type' '{"name": "x", "tasks": [{"name": "t", "type": "essay", "file": "gen.jsonl"}]}' 'unknown type "essay"'
bad_suite 'an unknown field' '{"name": "x", "tasks": [{"name": "t", "type": "generate", "file": "gen.jsonl", "ctx": 4}]}' 'unknown field "ctx"'
bad_suite 'an answer out of range' '{"name": "x", "tasks": [{"name": "t", "type": "multiple_choice", "file": "bad-answer.jsonl"}]}' 'bad-answer.jsonl:1: "answer" is not'
bad_suite 'a broken data line' '{"name": "x", "tasks": [{"name": "t", "type": "multiple_choice", "file": "bad-json.jsonl"}]}' 'bad-json.jsonl:2: not a JSON object'
bad_suite 'an unknown data field' '{"name": "x", "tasks": [{"name": "t", "type": "multiple_choice", "file": "bad-key.jsonl"}]}' 'bad-key.jsonl:1: unknown field "extra"'
bad_suite 'two tasks of one name' '{"name": "x", "tasks": [{"name": "t", "type": "generate", "file": "gen.jsonl"}, {"name": "t", "type": "generate", "file": "gen.jsonl"}]}' 'a second task of this name'
bad_suite 'a context too small' '{"name": "x", "tasks": [{"name": "t", "type": "perplexity", "file": "gen.jsonl", "ctx": 2}]}' '"ctx" is not an integer from 4'

test_expect_success 'a text too short for its context fails naming the task' '
	printf "{\"name\": \"x\", \"tasks\": [{\"name\": \"p\", \"type\": \"perplexity\", \"file\": \"gen.jsonl\", \"ctx\": 64}]}\n" >short.suite.json &&
	test_must_fail mbr -C reg eval tiny-f32 --suite short.suite.json 2>err &&
	grep "task .p. (gen.jsonl): perplexity needs at least 128 tokens" err
'

test_expect_success 'a suite on a model file is refused: evidence needs a stored version' '
	test_must_fail mbr -C reg eval "$FIXTURES/models/tiny-f32.gguf" --suite gen.suite.json 2>err &&
	grep "is a file: evidence is recorded for stored versions" err
'

test_expect_success '--suite and --perplexity together are a usage error' '
	expect_code 129 mbr -C reg eval tiny-f32 --suite gen.suite.json \
		--perplexity "$FAMILY/code-val.txt" 2>err &&
	grep "usage: mbr eval" err
'

test_done
