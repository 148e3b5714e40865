# bash completion for mbr                                    -*- shell-script -*-
#
# Completes command names (from `mbr --list-cmds`), each command's long
# options (from `mbr <cmd> --mbr-completion-helper`, which prints them
# space-separated, an option that takes a value ending in '='), model
# names and tags for the commands that take a revision, and file names
# where a command takes a file.
#
# To use it, source it from ~/.bashrc:
#
#	. /path/to/mbr/contrib/completion/mbr-completion.bash
#
# The registry whose models are offered is found as mbr finds it: the
# -C <dir> given on the command line, else $MBR_DIR, else the current
# directory, then each parent in turn.

# The mbr being completed: the word typed, when it is a path to a program.
__mbr_program ()
{
	local prog=${COMP_WORDS[0]/#\~/$HOME}

	case "$prog" in
	*/*) [[ -x $prog ]] && { printf '%s' "$prog"; return; } ;;
	esac
	printf 'mbr'
}

__mbr_commands ()
{
	if [[ -z ${__mbr_cmd_cache-} ]]; then
		__mbr_cmd_cache=$("$(__mbr_program)" --list-cmds 2>/dev/null)
	fi
	printf '%s\n' "$__mbr_cmd_cache"
}

# The long options of command $1, cached per command.
__mbr_options ()
{
	declare -gA __mbr_opt_cache
	if [[ -z ${__mbr_opt_cache[$1]+set} ]]; then
		__mbr_opt_cache[$1]=$("$(__mbr_program)" "$1" --mbr-completion-helper 2>/dev/null)
	fi
	printf '%s\n' "${__mbr_opt_cache[$1]}"
}

# The lineage repository of the registry, or nothing when there is none.
# $1: the -C directory from the command line, if any.
__mbr_lineage_dir ()
{
	local dir=${1:-${MBR_DIR:-.}}

	dir=${dir/#\~/$HOME}
	dir=$(cd "$dir" 2>/dev/null && pwd -P) || return
	while :; do
		if [[ -f $dir/format ]]; then
			printf '%s/lineage.git' "$dir"
			return
		elif [[ -f $dir/.mbr/format ]]; then
			printf '%s/.mbr/lineage.git' "${dir%/}"
			return
		fi
		[[ $dir == / ]] && return
		dir=${dir%/*}
		dir=${dir:-/}
	done
}

# Model names and tags: what a <rev> usually is.
__mbr_revisions ()
{
	local gitdir

	gitdir=$(__mbr_lineage_dir "$1")
	[[ -n $gitdir ]] || return
	git --git-dir="$gitdir" for-each-ref --format='%(refname:short)' \
		refs/heads refs/tags 2>/dev/null
}

# The types mbr breed quantize takes: the list it prints for a bad one
# (checked before it looks for a registry).
__mbr_quantize_types ()
{
	"$(__mbr_program)" breed quantize - --type - 2>&1 >/dev/null |
		sed -n 's/^types: //p' | tr ' ' '\n'
}

# The methods of mbr breed merge: the list it prints for a bad one.
__mbr_merge_methods ()
{
	"$(__mbr_program)" breed merge --method - - 2>&1 >/dev/null |
		sed -n 's/^methods: //p' | tr ' ' '\n'
}

# COMPREPLY from a word list ($1) matching the current word ($2).
__mbr_reply ()
{
	local IFS=$'\n'

	COMPREPLY=($(compgen -W "$1" -- "$2"))
}

__mbr_reply_files ()
{
	local IFS=$'\n'

	compopt -o filenames 2>/dev/null || :
	COMPREPLY=($(compgen -f -- "$1"))
}

__mbr_reply_dirs ()
{
	local IFS=$'\n'

	compopt -o filenames 2>/dev/null || :
	COMPREPLY=($(compgen -d -- "$1"))
}

# Complete the value of option $1 (long or short form); $2 is the value
# typed so far, $3 the -C directory. Returns 1 when $1 takes no value.
__mbr_complete_value ()
{
	case "$1" in
	-o|--output|-f|--file|-C|--suite|--perplexity)
		if [[ $1 == -C ]]; then __mbr_reply_dirs "$2"; else __mbr_reply_files "$2"; fi ;;
	--name|--base|--parent)
		__mbr_reply "$(__mbr_revisions "$3")" "$2" ;;
	--adapter)
		# an adapter: a stored version or a GGUF file
		__mbr_reply_files "$2"
		local IFS=$'\n'
		COMPREPLY+=($(compgen -W "$(__mbr_revisions "$3")" -- "$2")) ;;
	--method)
		__mbr_reply "$(__mbr_merge_methods)" "$2" ;;
	--out-type)
		__mbr_reply "$(__mbr_quantize_types)" "$2" ;;
	--type)
		__mbr_reply "$(__mbr_quantize_types)" "$2" ;;
	-m|--message|--license|-t|--threads|--scale|--rank)
		COMPREPLY=() ;;
	*)
		return 1 ;;
	esac
}

_mbr ()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	local cmd= chdir= i=1 word

	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# Global options come before the command; -C takes a value.
	while ((i < COMP_CWORD)); do
		word=${COMP_WORDS[i]}
		case "$word" in
		-C) chdir=${COMP_WORDS[i + 1]}; ((i += 2)); continue ;;
		-*) ;;
		*) cmd=$word; break ;;
		esac
		((i++))
	done

	if [[ -z $cmd ]]; then
		if [[ $prev == -C ]]; then
			__mbr_reply_dirs "$cur"
		elif [[ $cur == -* ]]; then
			__mbr_reply $'-C\n--version\n--list-cmds\n--help' "$cur"
		else
			__mbr_reply "$(__mbr_commands)" "$cur"
		fi
		return 0
	fi

	# An option's value: "--opt=value" in one word, the same split at
	# '=' by bash (COMP_WORDBREAKS holds '='), or the word after "--opt".
	if [[ $cur == --*=* ]]; then
		__mbr_complete_value "${cur%%=*}" "${cur#*=}" "$chdir" || COMPREPLY=()
		COMPREPLY=("${COMPREPLY[@]/#/${cur%%=*}=}")
		return 0
	fi
	if [[ $cur == = && $prev == --* ]]; then
		__mbr_complete_value "$prev" "" "$chdir" || COMPREPLY=()
		return 0
	fi
	if [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
		__mbr_complete_value "${COMP_WORDS[COMP_CWORD - 2]}" "$cur" "$chdir" ||
			COMPREPLY=()
		return 0
	fi
	if [[ $prev == -* ]] && __mbr_complete_value "$prev" "$cur" "$chdir"; then
		return 0
	fi

	if [[ $cur == -* ]]; then
		[[ $cmd == help ]] && return 0
		__mbr_reply "$(__mbr_options "$cmd" | tr ' ' '\n')" "$cur"
		# "--name=" wants its value next to it, not after a space
		[[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} == *= ]] &&
			compopt -o nospace 2>/dev/null || :
		return 0
	fi

	case "$cmd" in
	show|log|diff|export|ls-tensors|scorecard)
		__mbr_reply "$(__mbr_revisions "$chdir")" "$cur" ;;
	add|hash-object)
		__mbr_reply_files "$cur" ;;
	tokenize|infer|eval|bench)
		# a model: a revision or a GGUF file
		__mbr_reply_files "$cur"
		local IFS=$'\n'
		COMPREPLY+=($(compgen -W "$(__mbr_revisions "$chdir")" -- "$cur")) ;;
	breed)
		# first the operator, then the revision it starts from
		local w n=0
		for w in "${COMP_WORDS[@]:i+1:COMP_CWORD-i-1}"; do
			[[ $w == -* ]] || ((n++))
		done
		if ((n == 0)); then
			__mbr_reply $'quantize\nmerge\nlora-merge\nlora-extract' "$cur"
		else
			__mbr_reply "$(__mbr_revisions "$chdir")" "$cur"
		fi ;;
	init)
		__mbr_reply_dirs "$cur" ;;
	help)
		__mbr_reply "$(__mbr_commands)" "$cur" ;;
	esac
	return 0
}

complete -F _mbr mbr
