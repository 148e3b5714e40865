#!/bin/bash
test_description='mbr bench: llama-bench'"'"'s tests and report on the engine'
. ./test-lib.sh

VOCAB=$FIXTURES/vocab/ggml-vocab-llama-spm.gguf

test_expect_success 'setup: a small model, in a file and stored' '
	test-tool mkmodel -o tiny.gguf --vocab "$VOCAB" --dim 128 --layers 2 \
		--heads 4 --kv-heads 2 --ff 256 --ctx 256 --type Q8_0 &&
	mbr init -q reg &&
	mbr -C reg add tiny.gguf
'

test_expect_success 'the table names each test, its threads and a rate' '
	mbr bench tiny.gguf -p 16 -n 4 -r 2 -t 1 >out &&
	grep -E "^pp16 +1 +[0-9]+\.[0-9]{2} ± +[0-9]+\.[0-9]{2}$" out &&
	grep -E "^tg4 +1 +[0-9]+\.[0-9]{2} ± +[0-9]+\.[0-9]{2}$" out &&
	grep "^peak RSS: [0-9.]* MiB$" out &&
	test $(wc -l <out) = 4
'

# The summary is recomputed from the runs it reports: the mean, and the
# sample standard deviation llama-bench prints.
test_expect_success PYTHON '--json: every run, their mean and deviation' '
	mbr bench tiny.gguf -p 24 -n 3 -r 4 -t 1 --json >out.json &&
	python3 - out.json <<-\PY
	import json, math, sys
	o = json.load(open(sys.argv[1]))
	assert o["repetitions"] == 4 and o["threads"] == 1, o
	assert o["peak_rss_bytes"] > 1 << 20, o
	want = [("pp24", 24, 0), ("tg3", 0, 3)]
	assert [(t["test"], t["n_prompt"], t["n_gen"]) for t in o["tests"]] == want, o
	for t in o["tests"]:
	    s = t["samples_ts"]
	    assert len(s) == 4 and min(s) > 0, t
	    mean = sum(s) / 4
	    dev = math.sqrt(sum((x - mean) ** 2 for x in s) / 3)
	    assert abs(t["avg_ts"] - mean) <= 1e-9 * mean, t
	    assert abs(t["stddev_ts"] - dev) <= 1e-9 * mean + 1e-12, t
	PY
'

test_expect_success 'a stored version runs in place; one test can be left out' '
	mbr -C reg bench tiny -p 0 -n 2 -r 1 --json >out.json &&
	grep "\"test\": \"tg2\"" out.json &&
	! grep "\"test\": \"pp" out.json &&
	mbr -C reg bench tiny -p 8 -n 0 -r 1 >out &&
	grep "^pp8 " out &&
	! grep "^tg" out
'

test_expect_success 'one run has no deviation' '
	mbr bench tiny.gguf -p 8 -n 0 -r 1 -t 1 >out &&
	grep -E "^pp8 +1 +[0-9.]+ ± +0\.00$" out
'

for args in "-p 0 -n 0" "-r 0" "-p -1" "-n -2" ""; do
	test_expect_success "bad usage: bench $args" "
		expect_code 129 mbr bench ${args:+$args }${args:+tiny.gguf} 2>err &&
		grep usage err
	"
done

test_expect_success 'a file that is not a model is refused by name' '
	printf "not a model" >junk.gguf &&
	expect_code 128 mbr bench junk.gguf -p 4 -n 0 -r 1 2>err &&
	grep "junk.gguf" err
'

test_done
