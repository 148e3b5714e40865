# test-lib.sh - the shell test library (git's t/test-lib.sh, much reduced).
#
# A test script sources this, then runs test_expect_success blocks:
#
#   test_description='what this script covers'
#   . ./test-lib.sh
#   test_expect_success 'add stores a file' '
#       mbr add "$FIXTURES/models/tiny-f32.gguf"
#   '
#   test_done
#
# Output is TAP. Each script runs in its own trash directory t/trash-<name>,
# removed on success. MBR_TEST_VERBOSE=1 shows the commands' output.

export LC_ALL=C TZ=UTC
export MBR_AUTHOR_NAME='A U Thor' MBR_AUTHOR_EMAIL='author@example.com'
export MBR_AUTHOR_DATE='1700000000 +0000'
export MBR_NO_PROGRESS=1
unset MBR_DIR MBR_TEST_CHUNK_SIZE
# run-tests.sh runs a script per core at once: one thread each by default
# (tests that are about threads say -t); more would only fight for cores.
export MBR_THREADS=${MBR_TEST_THREADS:-1}

TEST_DIRECTORY=$(cd "$(dirname "$0")" && pwd)
SRC_DIRECTORY=$(cd "$TEST_DIRECTORY/.." && pwd)
FIXTURES=$TEST_DIRECTORY/fixtures
TEST_NAME=$(basename "$0" .sh)
# Under t/run-tests.sh each run has its own results directory, so two
# runs at once never share a trash directory.
TRASH_DIRECTORY=${results:-$TEST_DIRECTORY}/trash-$TEST_NAME
# make test SANITIZE=1 points this at its own binaries (build-san/)
bin=${MBR_TEST_BIN_DIR:-$SRC_DIRECTORY}
PATH=$bin:$bin/t/helper:$PATH
export PATH FIXTURES SRC_DIRECTORY

test_count=0
test_failed=0
test_skipped=0
test_tick_time=1700000000

rm -rf "$TRASH_DIRECTORY"
mkdir -p "$TRASH_DIRECTORY" || exit 1
cd "$TRASH_DIRECTORY" || exit 1

# Advance the commit time by a minute, like git's test_tick.
test_tick () {
	test_tick_time=$((test_tick_time + 60))
	MBR_AUTHOR_DATE="$test_tick_time +0000"
}

test_have_prereq () {
	case "$1" in
	EXPENSIVE) test -n "$MBR_TEST_EXPENSIVE" ;;
	AVX2) grep -qw avx2 /proc/cpuinfo 2>/dev/null ;;
	ZSTD) true ;;
	PYTHON) command -v python3 >/dev/null ;;
	*) false ;;
	esac
}

# Run $1 after the current test, pass or fail. The test body runs in a
# subshell, so the cleanups are kept in a file the parent reads.
test_when_finished () {
	printf '%s\n' "$1" >>"$TRASH_DIRECTORY/.cleanup"
}

# The command must fail in a controlled way: exit 1..125 or 128/129, not
# a crash (signal) or "command not found".
test_must_fail () {
	"$@"
	exit_code=$?
	if test $exit_code -eq 0; then
		echo >&2 "test_must_fail: command succeeded: $*"
		return 1
	elif test $exit_code -gt 129 || test $exit_code -eq 126 || test $exit_code -eq 127; then
		echo >&2 "test_must_fail: died by signal or not found ($exit_code): $*"
		return 1
	fi
	return 0
}

test_cmp () {
	diff -u "$1" "$2"
}

test_file_not_empty () {
	test -s "$1" || { echo >&2 "'$1' is empty or missing"; return 1; }
}

# patch_bytes FILE OFFSET HEXBYTES: overwrite bytes in place
patch_bytes () {
	printf "$(echo "$3" | sed 's/\(..\)/\\x\1/g')" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# lineage GIT-ARGS...: plain git on the lineage of the registry in reg/
lineage () {
	git --git-dir=reg/.mbr/lineage.git "$@"
}

# expect_code N CMD...: CMD exits with status N.
expect_code () {
	local want=$1
	shift
	"$@"
	test $? = $want
}

# How many objects the registry in DIR (default: reg) holds.
object_count () {
	find "${1:-reg}/.mbr/objects" -path "${1:-reg}/.mbr/objects/tmp" -prune -o -type f -print | wc -l
}

test_run_ () {
	rm -f "$TRASH_DIRECTORY/.cleanup"
	if test -n "$MBR_TEST_VERBOSE"; then
		(eval "set -e; $1")
	else
		(eval "set -e; $1") >"$TRASH_DIRECTORY/.out" 2>&1
	fi
	test_status=$?
	if test -f "$TRASH_DIRECTORY/.cleanup"; then
		(. "$TRASH_DIRECTORY/.cleanup") >/dev/null 2>&1
		rm -f "$TRASH_DIRECTORY/.cleanup"
	fi
	return $test_status
}

test_expect_success () {
	local prereq=
	if test $# = 3; then prereq=$1; shift; fi
	test_count=$((test_count + 1))
	if test -n "$prereq" && ! test_have_prereq "$prereq"; then
		test_skipped=$((test_skipped + 1))
		echo "ok $test_count # skip $1 (missing $prereq)"
		return
	fi
	if test_run_ "$2"; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		sed 's/^/#	/' <<-EOF
		$2
		EOF
		test -f "$TRASH_DIRECTORY/.out" && sed 's/^/# > /' "$TRASH_DIRECTORY/.out" | tail -n 30
	fi
}

test_done () {
	echo "1..$test_count"
	cd "$TEST_DIRECTORY" || exit 1
	if test $test_failed = 0; then
		rm -rf "$TRASH_DIRECTORY"
		exit 0
	fi
	exit 1
}
