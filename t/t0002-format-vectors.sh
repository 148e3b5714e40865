#!/bin/bash
test_description='the golden vectors of store-format/vectors pin the on-disk format'
. ./test-lib.sh

VEC=$SRC_DIRECTORY/store-format/vectors

# The README's "id", "region" and "digest" lines; its ids were computed
# with coreutils sha256sum, independently of mbr.
readme_lines () {
	grep "^$1 " "$VEC/README"
}

range_sha () {	# FILE OFFSET SIZE
	dd if="$1" bs=1 skip="$2" count="$3" status=none | sha256sum | cut -d' ' -f1
}

test_expect_success 'make-vectors.sh reproduces the committed vector files' '
	mkdir gen &&
	bash "$VEC/make-vectors.sh" "$PWD/gen" &&
	for f in empty.bin abc.txt tiny.gguf; do
		cmp "$VEC/$f" "gen/$f" || exit 1
	done
'

test_expect_success 'the README ids are the sha256sum of the files' '
	readme_lines id >ids &&
	test $(wc -l <ids) = 3 &&
	while read -r _ id file; do
		test "$id" = "sha256:$(sha256sum <"$VEC/$file" | cut -d" " -f1)" || exit 1
	done <ids
'

test_expect_success 'mbr hash-object gives the documented ids' '
	while read -r _ id file; do
		echo "$id" >expect &&
		mbr hash-object "$VEC/$file" >actual &&
		test_cmp expect actual || exit 1
	done <ids
'

test_expect_success 'the documented regions tile tiny.gguf and hash as listed' '
	readme_lines region >regions &&
	pos=0 &&
	while read -r _ off size kind id file; do
		test "$off" = "$pos" || { echo "gap or overlap at $off"; exit 1; }
		if test "$id" = zeros; then
			test "$(range_sha "$VEC/tiny.gguf" $off $size)" = \
			     "$(head -c $size /dev/zero | sha256sum | cut -d" " -f1)" || exit 1
		else
			test "$id" = "sha256:$(range_sha "$VEC/tiny.gguf" $off $size)" || exit 1
		fi
		pos=$((off + size))
	done <regions &&
	test "$pos" = "$(wc -c <"$VEC/tiny.gguf")"
'

test_expect_success 'the array digests are the sha256 of their element bytes' '
	printf "\001\000\000\000\376\377\377\377\003\000\000\000" | sha256sum | cut -d" " -f1 >expect &&
	readme_lines digest | grep " tiny.small$" | sed "s/^digest sha256:\([0-9a-f]*\) .*/\1/" >actual &&
	test_cmp expect actual &&
	readme_lines digest | grep " tiny.big$" | cut -d" " -f2 >big &&
	grep "^region 243 " regions | awk "{print \$5}" >expect &&
	test_cmp expect big
'

test_expect_success 'adding tiny.gguf stores exactly the documented manifest' '
	mbr init -q reg &&
	cp "$VEC/tiny.gguf" tiny.gguf &&
	mbr -C reg add tiny.gguf >commit &&
	git --git-dir=reg/.mbr/lineage.git show tiny:manifest.json >manifest.json &&
	test_cmp "$VEC/tiny.manifest.json" manifest.json
'

test_expect_success 'the manifest names the documented ids' '
	while read -r _ off size kind id file; do
		test "$id" = zeros && continue
		grep -q "\"$id\"" manifest.json || { echo "missing $id"; exit 1; }
	done <regions &&
	grep -q "\"file\":{\"sha256\":\"$(readme_lines id | grep " tiny.gguf$" | cut -d" " -f2)\",\"size\":4480}" manifest.json &&
	while read -r _ id key; do
		grep -q "\"key\":\"$key\".*\"digest\":\"$id\"" manifest.json || exit 1
	done <<-EOF
	$(readme_lines digest)
	EOF
'

test_expect_success 'the store holds exactly the documented object files' '
	while read -r _ off size kind id file; do
		test "$id" = zeros && continue
		hex=${id#sha256:} &&
		echo "reg/.mbr/objects/$(echo $hex | cut -c1-2)/$file" || exit 1
	done <regions | sort >expect &&
	find reg/.mbr/objects -path reg/.mbr/objects/tmp -prune -o -type f -print | sort >actual &&
	test_cmp expect actual
'

test_expect_success 'raw objects are the bytes themselves; .zst objects are one zstd frame of them' '
	while read -r _ off size kind id file; do
		test "$id" = zeros && continue
		hex=${id#sha256:} &&
		path=reg/.mbr/objects/$(echo $hex | cut -c1-2)/$file &&
		dd if="$VEC/tiny.gguf" bs=1 skip=$off count=$size status=none >range &&
		case "$file" in
		*.zst) zstd -q -d -c "$path" >bytes ;;
		*) cp "$path" bytes ;;
		esac &&
		cmp range bytes &&
		mbr -C reg cat-object $id >cat &&
		cmp range cat || exit 1
	done <regions
'

test_expect_success 'exporting the version gives back tiny.gguf' '
	mbr -C reg export tiny -o out.gguf &&
	cmp "$VEC/tiny.gguf" out.gguf
'

test_expect_success 'a chunked tensor lists its chunks: consecutive byte ranges, the last short' '
	mbr init -q chunked &&
	MBR_TEST_CHUNK_SIZE=6 mbr -C chunked add tiny.gguf &&
	git --git-dir=chunked/.mbr/lineage.git show tiny:manifest.json >chunked.json &&
	for r in "4416 6" "4422 6" "4428 4"; do
		echo "sha256:$(range_sha "$VEC/tiny.gguf" $r)" || exit 1
	done | paste -sd, >expect &&
	grep "\"name\":\"a\"" chunked.json >a.json &&
	grep -q "\"size\":16,\"chunk_size\":6,\"objects\":\[" a.json &&
	sed "s/.*\"objects\":\[\([^]]*\)\].*/\1/; s/\"//g" a.json >actual &&
	test_cmp expect actual &&
	mbr -C chunked export tiny -o chunked.gguf &&
	cmp "$VEC/tiny.gguf" chunked.gguf
'

test_expect_success 'a second registry stores the same objects under the same names' '
	mbr init -q reg2 &&
	mbr -C reg2 add tiny.gguf --name other &&
	(cd reg/.mbr/objects && find . -path ./tmp -prune -o -type f -print | sort) >a &&
	(cd reg2/.mbr/objects && find . -path ./tmp -prune -o -type f -print | sort) >b &&
	test_cmp a b
'

test_done
