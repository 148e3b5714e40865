#!/bin/bash
test_description='mbr eval --perplexity matches llama-perplexity on the fixture models'
. ./test-lib.sh

TEXT=$FIXTURES/text/gpl-3.txt

# The perplexity of a --json result.
json_ppl () {
	sed -n 's/^ *"perplexity": \([0-9.e+-]*\),$/\1/p' "$1"
}

# ppl-c128.tsv holds llama.cpp's numbers (t/fixtures/README). Float
# models must agree within 0.1%; quantized ones within 1%, as their
# activations are quantized too and a last-bit difference upstream can
# flip a rounding.
while IFS='	' read -r model ppl; do
	test "$model" = model && continue
	case "$model" in
	*-f32|*-f16) tolerance=0.001 ;;
	*) tolerance=0.01 ;;
	esac
	test_expect_success "perplexity of $model at ctx 128 matches llama.cpp" '
		mbr eval "$FIXTURES/models/$model.gguf" --perplexity "$TEXT" \
			--ctx 128 --json >out.json &&
		grep "\"chunks\": 68," out.json &&
		grep "\"tokens_scored\": 4284," out.json &&
		grep "\"ctx\": 128," out.json &&
		awk -v got=$(json_ppl out.json) -v want=$ppl -v tol=$tolerance "BEGIN {
			rel = (got - want) / want; if (rel < 0) rel = -rel
			printf \"got %s, llama.cpp %s, relative error %.3g\\n\", got, want, rel
			exit !(rel <= tol)
		}"
	'
done <"$FIXTURES/expected/ppl-c128.tsv"

test_expect_success 'a stored version gives exactly what its file gives' '
	mbr init -q reg &&
	mbr -C reg add "$FIXTURES/models/tiny-Q8_0.gguf" &&
	mbr eval "$FIXTURES/models/tiny-Q8_0.gguf" --perplexity "$TEXT" --ctx 128 >file.out &&
	mbr -C reg eval tiny-Q8_0 --perplexity "$TEXT" --ctx 128 >stored.out &&
	head -n 1 file.out >expect &&
	head -n 1 stored.out >actual &&
	test_cmp expect actual &&
	grep "^perplexity: [0-9]" actual
'

test_expect_success 'the thread count does not change the result' '
	mbr eval "$FIXTURES/models/tiny-Q8_0.gguf" --perplexity "$TEXT" --ctx 128 -t 1 >one.out &&
	mbr eval "$FIXTURES/models/tiny-Q8_0.gguf" --perplexity "$TEXT" --ctx 128 -t 3 >three.out &&
	head -n 1 one.out >expect &&
	head -n 1 three.out >actual &&
	test_cmp expect actual
'

test_expect_success 'a text shorter than two contexts is refused' '
	head -c 2000 "$TEXT" >short.txt &&
	test_must_fail mbr eval "$FIXTURES/models/tiny-f32.gguf" --perplexity short.txt \
		--ctx 512 2>err &&
	grep "at least 1024 tokens" err
'

test_expect_success 'eval without --perplexity is a usage error' '
	{ mbr eval "$FIXTURES/models/tiny-f32.gguf" 2>err; test $? = 129; } &&
	grep "usage: mbr eval" err
'

test_expect_success 'an unknown model is an error naming it' '
	test_must_fail mbr -C reg eval nosuch --perplexity "$TEXT" 2>err &&
	grep nosuch err
'

test_done
