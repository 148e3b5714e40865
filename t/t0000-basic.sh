#!/bin/bash
test_description='the command line: version, help, usage errors and exit codes'
. ./test-lib.sh

test_expect_success 'mbr --version names the program' '
	mbr --version >out &&
	grep "^mbr version [0-9]" out
'

test_expect_success 'mbr help lists every porcelain command' '
	mbr help >out &&
	for c in init add ls show log diff export fsck gc help; do
		grep "^   $c " out || exit 1
	done
'

test_expect_success 'mbr help COMMAND shows its manual page' '
	mbr help add >out &&
	grep "^== SYNOPSIS" out &&
	grep "mbr add" out
'

test_expect_success 'an unknown command exits 129 and says so' '
	{ mbr frobnicate 2>err; echo $? >rc; } &&
	test "$(cat rc)" = 129 &&
	grep "not an mbr command" err
'

test_expect_success 'an unknown option exits 129 with the usage' '
	mbr init -q repo &&
	{ mbr -C repo ls --bogus 2>err; echo $? >rc; } &&
	test "$(cat rc)" = 129 &&
	grep "unknown option" err &&
	grep "^usage: mbr ls" err
'

test_expect_success 'a missing option value exits 129' '
	{ mbr -C repo add 2>err; echo $? >rc; } &&
	test "$(cat rc)" = 129
'

test_expect_success '-h prints the usage on stdout and succeeds' '
	mbr add -h >out &&
	grep "^usage: mbr add" out &&
	grep -- "--license" out
'

test_expect_success 'every command has a manual page' '
	for c in $(mbr --list-cmds); do
		test -f "$SRC_DIRECTORY/Documentation/mbr-$c.adoc" || { echo "no page for $c"; exit 1; }
	done
'

test_done
