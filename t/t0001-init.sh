#!/bin/bash
test_description='mbr init and finding the registry'
. ./test-lib.sh

test_expect_success 'init creates the registry layout' '
	mbr init reg >out &&
	grep "Initialized empty mbr registry in .*/reg/.mbr" out &&
	test -f reg/.mbr/format &&
	test -d reg/.mbr/objects &&
	test -d reg/.mbr/lineage.git &&
	git --git-dir=reg/.mbr/lineage.git rev-parse --is-bare-repository >bare &&
	echo true >expect && test_cmp expect bare
'

test_expect_success 'init refuses an existing registry, exit 1' '
	{ mbr init reg 2>err; echo $? >rc; } &&
	test "$(cat rc)" = 1 &&
	grep "already exists" err
'

test_expect_success 'commands find the registry from a subdirectory' '
	mkdir -p reg/a/b &&
	(cd reg/a/b && mbr ls)
'

test_expect_success '-C and MBR_DIR choose the registry' '
	mbr -C reg ls &&
	MBR_DIR=reg mbr ls &&
	MBR_DIR=reg/.mbr mbr ls
'

test_expect_success 'outside a registry: exit 128, a clear message' '
	mkdir elsewhere &&
	{ (cd elsewhere && mbr ls 2>../err); echo $? >rc; } &&
	test "$(cat rc)" = 128 &&
	grep "not an mbr registry" err
'

test_expect_success 'a registry of an unknown format version is refused' '
	mbr init -q future &&
	echo "mbr-registry 9" >future/.mbr/format &&
	test_must_fail mbr -C future ls 2>err &&
	grep "unsupported registry format" err
'

test_expect_success 'init with no argument uses the current directory' '
	mkdir here && (cd here && mbr init -q) && test -f here/.mbr/format
'

test_done
