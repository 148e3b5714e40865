#!/bin/bash
test_description='mbr infer: greedy text as llama.cpp makes it, other shapes, refusals'
. ./test-lib.sh

VOCAB=$FIXTURES/vocab/ggml-vocab-llama-spm.gguf

# greedy-n24.tsv holds what llama-simple printed: the BOS as "<s>", the
# prompt, then the 24 pieces it generated. mbr infer prints only the
# generated text and a newline, so the expected output is rebuilt from it.
while IFS='	' read -r model prompt output; do
	test "$model" = model && continue
	# the body runs now, in this loop turn: it reads the variables
	test_expect_success "greedy text of $model after '$prompt' is llama.cpp's" '
		printf "%s\n" "$output" >expect &&
		mbr infer "$FIXTURES/models/$model.gguf" -p "$prompt" -n 24 --temp 0 >gen &&
		{ printf "<s> %s" "$prompt" && cat gen; } >actual &&
		test_cmp expect actual
	'
done <"$FIXTURES/expected/greedy-n24.tsv"

test_expect_success 'setup: models of other shapes' '
	mbr init -q reg &&
	test-tool mkmodel -o head32-tied.gguf --vocab "$VOCAB" --dim 128 --layers 2 \
		--heads 4 --kv-heads 2 --ff 256 --ctx 256 --tied --rope-base 500000 &&
	test-tool mkmodel -o head64-q8.gguf --vocab "$VOCAB" --dim 128 --layers 3 \
		--heads 2 --kv-heads 1 --ff 384 --ctx 128 --type Q8_0 --rope-base 20000 \
		--scale-output 8 &&
	mbr -C reg add head32-tied.gguf &&
	mbr -C reg add head64-q8.gguf
'

for m in head32-tied head64-q8; do
	test_expect_success "$m: the same text from its file and from the store" "
		mbr infer $m.gguf -p 'The quick brown fox' -n 16 --temp 0 >file.out &&
		mbr -C reg infer $m -p 'The quick brown fox' -n 16 --temp 0 >stored.out &&
		test_cmp file.out stored.out &&
		test \$(wc -c <file.out) -gt 16
	"
done

test_expect_success 'generation stops at the context size' '
	mbr infer head64-q8.gguf -p "The quick brown fox" -n 1000 --temp 0 -c 16 --json \
		2>timings >/dev/null &&
	grep "\"decode_tokens\":11," timings
'

test_expect_success 'sampling is reproducible for a seed' '
	for run in a b; do
		for seed in 1 2; do
			mbr infer head64-q8.gguf -p "Once" -n 24 --temp 1.5 --top-k 0 \
				--top-p 1 --min-p 0 --seed $seed >$run-$seed.out || return 1
		done
	done &&
	test_cmp a-1.out b-1.out &&
	test_cmp a-2.out b-2.out &&
	! cmp -s a-1.out a-2.out
'

test_expect_success '--timings reports speed and peak memory on stderr' '
	mbr infer head32-tied.gguf -p "Hello" -n 4 --temp 0 --timings >out 2>err &&
	grep "^prompt: 2 tokens, [0-9.]* tokens/s$" err &&
	grep "^decode: 4 tokens, [0-9.]* tokens/s$" err &&
	grep "^peak RSS: [0-9.]* MiB$" err &&
	! grep tokens out
'

test_expect_success '--json puts the timings in one JSON object on stderr' '
	mbr infer head32-tied.gguf -p "Hello" -n 4 --temp 0 --json >out 2>err &&
	test $(wc -l <err) = 1 &&
	for k in prompt_tokens prompt_tps decode_tokens decode_tps peak_rss_bytes; do
		grep "\"$k\":[0-9]" err || return 1
	done
'

test_expect_success 'an unsupported architecture is refused by name' '
	test-tool gguf-rewrite "$FIXTURES/models/tiny-f32.gguf" gpt9.gguf \
		--set general.architecture=gpt9 &&
	test_must_fail mbr infer gpt9.gguf -p "Hi" 2>err &&
	grep "architecture .gpt9. is not supported" err
'

test_expect_success 'an unsupported tensor type is refused naming the tensor' '
	cp "$FIXTURES/models/tiny-f32.gguf" i32.gguf &&
	eval "$(test-tool gguf-fields i32.gguf blk.0.attn_q.weight)" &&
	printf "\032\000\000\000" | dd of=i32.gguf bs=1 seek=$type conv=notrunc 2>/dev/null &&
	test_must_fail mbr infer i32.gguf -p "Hi" 2>err &&
	grep "blk.0.attn_q.weight. of type I32" err
'

test_expect_success 'unsupported rope scaling is refused' '
	test-tool mkmodel -o yarn.gguf --vocab "$VOCAB" --dim 64 --layers 1 --heads 2 \
		--kv-heads 2 --ff 64 --set llama.rope.scaling.type=yarn &&
	test_must_fail mbr infer yarn.gguf -p "Hi" 2>err &&
	grep "rope scaling .yarn. is not supported" err
'

test_expect_success 'metadata of the wrong kind is refused naming the key' '
	test-tool gguf-rewrite "$FIXTURES/models/tiny-f32.gguf" badkv.gguf \
		--set llama.embedding_length=64 &&
	test_must_fail mbr infer badkv.gguf -p "Hi" 2>err &&
	grep "llama.embedding_length. is not an integer" err
'

test_expect_success 'infer without a prompt is a usage error' '
	{ mbr infer head32-tied.gguf 2>err; test $? = 129; } &&
	grep "usage: mbr infer" err
'

test_done
