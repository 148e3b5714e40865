#!/bin/bash
test_description='bash completion: commands, options, model names and files'
. ./test-lib.sh

. "$SRC_DIRECTORY/contrib/completion/mbr-completion.bash"

# Complete the command line $1 as if TAB were pressed at its end (a
# trailing space starts a new, empty word), and write the candidates,
# sorted, one a line, to "actual".
run_completion () {
	local line=$1
	COMP_WORDS=()
	read -r -a COMP_WORDS <<<"$line"
	case "$line" in *" ") COMP_WORDS+=("") ;; esac
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	_mbr || return 1
	if test ${#COMPREPLY[@]} -gt 0; then
		printf '%s\n' "${COMPREPLY[@]}" | sort >actual
	else
		: >actual
	fi
}

# test_completion LINE EXPECTED: the candidates are exactly EXPECTED
# (lines; empty for none).
test_completion () {
	run_completion "$1" &&
	if test -n "$2"; then printf '%s\n' "$2" | sort >expect; else : >expect; fi &&
	test_cmp expect actual
}

test_expect_success 'the completion function is registered for mbr' '
	complete -p mbr | grep -- "-F _mbr"
'

test_expect_success 'a command name is completed' '
	test_completion "mbr ad" "add"
'

test_expect_success 'command prefixes offer every match' '
	test_completion "mbr ls" "ls
ls-tensors"
'

test_expect_success 'an empty word offers every command of mbr --list-cmds' '
	mbr --list-cmds | sort >expect &&
	run_completion "mbr " &&
	test_cmp expect actual &&
	grep -x init actual && grep -x cat-object actual
'

test_expect_success 'global options are completed before the command' '
	test_completion "mbr --ver" "--version"
'

test_expect_success 'an option that takes a value is offered with "="' '
	test_completion "mbr add --lic" "--license="
'

test_expect_success 'every long option of add is offered, from its option table' '
	test_completion "mbr add --" "--name=
--message=
--license=
--base=
--parent=
--threads=
--quiet
--json"
'

test_expect_success 'options are per command' '
	test_completion "mbr gc --" "--dry-run
--json" &&
	test_completion "mbr export --o" "--output="
'

test_expect_success 'setup: a registry with a model' '
	mbr init -q reg &&
	mbr -C reg add "$FIXTURES/models/tiny-Q8_0.gguf" &&
	mbr -C reg add "$FIXTURES/models/tiny-Q4_0.gguf" --name other
'

test_expect_success 'a model name is completed for show inside the registry' '
	(cd reg && test_completion "mbr show ti" "tiny-Q8_0")
'

test_expect_success 'all model names are offered for an empty word' '
	(cd reg && test_completion "mbr log " "other
tiny-Q8_0")
'

test_expect_success 'model names are found from a subdirectory of the registry' '
	mkdir -p reg/sub/dir &&
	(cd reg/sub/dir && test_completion "mbr export o" "other")
'

test_expect_success 'model names are found through -C and MBR_DIR' '
	test_completion "mbr -C reg show ti" "tiny-Q8_0" &&
	(MBR_DIR=reg && export MBR_DIR && test_completion "mbr diff tiny-Q8_0 o" "other")
'

test_expect_success 'tags are offered as revisions too' '
	git --git-dir=reg/.mbr/lineage.git tag v1 tiny-Q8_0 &&
	test_completion "mbr -C reg ls-tensors v" "v1"
'

test_expect_success 'no model names outside a registry, and no error' '
	mkdir outside &&
	(cd outside && run_completion "mbr show t" 2>err && test_cmp /dev/null actual && test ! -s err)
'

test_expect_success '--name= completes model names, in one word or split at =' '
	test_completion "mbr -C reg add x.gguf --name=ti" "--name=tiny-Q8_0" &&
	COMP_WORDS=(mbr -C reg add x.gguf --name = ot) && COMP_CWORD=7 &&
	_mbr && test "${COMPREPLY[*]}" = other
'

test_expect_success 'add completes file names' '
	mkdir files && : >files/tiny.gguf && : >files/tinier.safetensors && : >files/other &&
	(cd files && test_completion "mbr add tin" "tinier.safetensors
tiny.gguf")
'

test_expect_success 'export -o completes file names' '
	(cd files && test_completion "mbr export tiny-Q8_0 -o o" "other")
'

test_expect_success 'the engine commands complete a model: a revision or a file' '
	mkdir models && : >models/other.gguf &&
	for c in tokenize infer eval bench; do
		(cd models && test_completion "mbr -C ../reg $c o" "other
other.gguf") || return 1
	done
'

test_expect_success 'help completes command names' '
	test_completion "mbr help ex" "export"
'

# The option tables that drive completion also bound the manual: every
# option a command accepts is described in its OPTIONS section.
test_expect_success 'every option offered for completion is documented' '
	for c in $(mbr --list-cmds); do
		test $c = help && continue
		page=$SRC_DIRECTORY/Documentation/mbr-$c.adoc &&
		sed -n "/^== OPTIONS/,/^== EXIT STATUS/p" "$page" >options &&
		for o in $(mbr $c --mbr-completion-helper); do
			o=${o%=}
			grep -q -e "^$o\b" -e ", $o\b" options ||
				{ echo "mbr-$c.adoc does not describe $o"; exit 1; }
		done
	done
'

test_done
