#!/bin/bash
test_description='mbr tokenize agrees with llama.cpp on its own test vectors'
. ./test-lib.sh

VOCAB=$FIXTURES/vocab

# llama.cpp's vectors: the .inp holds the inputs, each ended by a line
# "__ggml_vocab_test__"; the .out one line of ids per input (no BOS),
# after a leading space.
for v in llama-spm gpt-2; do
	gguf=$VOCAB/ggml-vocab-$v.gguf
	mkdir -p $v
	(cd $v && awk 'BEGIN { RS = "\n__ggml_vocab_test__\n" }
		{ printf "%s", $0 > ("in." NR) }' "$gguf.inp")
	n=$(ls $v/in.* | wc -l)

	test_expect_success "$v: as many inputs as expected lines ($n)" "
		test $n -gt 40 &&
		test $n = \$(wc -l <'$gguf.out')
	"
	for i in $(seq 1 $n); do
		test_expect_success "$v: vector $i: $(head -c 40 $v/in.$i | tr '\n\t' '  ')" "
			sed -n '${i}p' '$gguf.out' | sed 's/^ //' >expect &&
			mbr tokenize '$gguf' -f $v/in.$i >actual &&
			test_cmp expect actual
		"
	done
done

test_expect_success 'the text argument and -f give the same ids' '
	printf "Hello world" >hello &&
	mbr tokenize "$VOCAB/ggml-vocab-llama-spm.gguf" -f hello >a &&
	mbr tokenize "$VOCAB/ggml-vocab-llama-spm.gguf" "Hello world" >b &&
	echo "15043 3186" >expect &&
	test_cmp expect a && test_cmp expect b
'

test_expect_success '-f - reads standard input' '
	printf "Hello world" | mbr tokenize "$VOCAB/ggml-vocab-gpt-2.gguf" -f - >actual &&
	echo "15496 995" >expect &&
	test_cmp expect actual
'

test_expect_success '--bos puts the BOS token first; --json counts' '
	mbr tokenize --bos "$VOCAB/ggml-vocab-llama-spm.gguf" "Hello world" >actual &&
	echo "1 15043 3186" >expect &&
	test_cmp expect actual &&
	mbr tokenize --bos --json "$VOCAB/ggml-vocab-gpt-2.gguf" "Hello world" >json &&
	tr -d " \n" <json >actual &&
	echo "{\"tokens\":[50256,15496,995],\"count\":3}" >expect &&
	echo >>actual &&
	test_cmp expect actual
'

test_expect_success 'an empty text has no tokens' '
	mbr tokenize "$VOCAB/ggml-vocab-llama-spm.gguf" "" >actual &&
	echo >expect &&
	test_cmp expect actual
'

# The model fixtures carry the same LLaMA vocabulary.
test_expect_success 'a model file tokenizes like its vocabulary' '
	for f in "$FIXTURES"/models/tiny-f32.gguf "$FIXTURES"/models/small-Q6_K.gguf; do
		mbr tokenize "$f" -f "$TRASH_DIRECTORY/llama-spm/in.46" >actual &&
		sed -n 46p "$VOCAB/ggml-vocab-llama-spm.gguf.out" | sed "s/^ //" >expect &&
		test_cmp expect actual || exit 1
	done
'

test_expect_success 'a stored version tokenizes like the file it was added from' '
	mbr init -q reg &&
	mbr -C reg add "$FIXTURES/models/tiny-Q8_0.gguf" &&
	mbr -C reg tokenize tiny-Q8_0 -f llama-spm/in.46 >actual &&
	mbr tokenize "$FIXTURES/models/tiny-Q8_0.gguf" -f llama-spm/in.46 >expect &&
	test_cmp expect actual &&
	test $(wc -w <actual) -gt 100
'

test_expect_success 'an unknown revision or a file without a tokenizer is fatal' '
	test_must_fail mbr -C reg tokenize nosuch "x" 2>err &&
	grep nosuch err &&
	echo "not a model" >plain &&
	test_must_fail mbr tokenize plain "x" 2>err &&
	grep plain err
'

test_expect_success 'usage errors exit 129' '
	test_expect_code () { "$@"; test $? = 129; } &&
	test_expect_code mbr tokenize 2>/dev/null &&
	test_expect_code mbr tokenize "$VOCAB/ggml-vocab-gpt-2.gguf" 2>/dev/null &&
	test_expect_code mbr tokenize "$VOCAB/ggml-vocab-gpt-2.gguf" -f hello extra 2>/dev/null
'

# A GGUF entry is its key, a u32 type, then the value: patch the value.
test_expect_success 'hostile tokenizer metadata is refused, naming the file' '
	cp "$VOCAB/ggml-vocab-llama-spm.gguf" bad.gguf &&
	key=$(grep -obUa tokenizer.ggml.bos_token_id bad.gguf | cut -d: -f1) &&
	printf "\000\175\000\000" | dd of=bad.gguf bs=1 conv=notrunc \
		seek=$((key + 27 + 4)) 2>/dev/null &&
	test_must_fail mbr tokenize bad.gguf "x" 2>err &&
	grep "bad.gguf: tokenizer.ggml.bos_token_id is 32000" err
'

# Merging goes through a priority queue and lookups through hash tables:
# 100 KB takes well under a second each; the limit leaves room for slow
# machines and sanitizers.
test_expect_success 'a long text takes milliseconds, not seconds' '
	for i in $(seq 1 100); do cat llama-spm/in.*; done >big &&
	test $(wc -c <big) -gt 90000 &&
	start=$(date +%s%N) &&
	mbr tokenize "$VOCAB/ggml-vocab-gpt-2.gguf" -f big >/dev/null &&
	mbr tokenize "$VOCAB/ggml-vocab-llama-spm.gguf" -f big >/dev/null &&
	test $((($(date +%s%N) - start) / 1000000)) -lt 3000
'

test_done
