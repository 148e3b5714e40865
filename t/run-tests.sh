#!/bin/bash
# run-tests.sh - run the unit tests and the shell tests, two at a time,
# and end with the line "N passed, N failed, N skipped".
#
#   bash t/run-tests.sh [t0001-init.sh ...]
cd "$(dirname "$0")" || exit 1
unit_dir=${MBR_UNIT_DIR:-../build/t/unit-tests}
case "$unit_dir" in /*) ;; *) unit_dir=$PWD/../${unit_dir#../} ;; esac
# Each run has its own results directory, so runs at once don't mix.
mkdir -p results
results=$(mktemp -d "$PWD/results/run.XXXXXX")
export results
export MBR_FIXTURES=$PWD/fixtures

if test $# -gt 0; then
	tests=("$@")
else
	tests=()
	for u in "$unit_dir"/u-*; do test -x "$u" && tests+=("$u"); done
	for s in t[0-9][0-9][0-9][0-9]-*.sh; do tests+=("$s"); done
fi

run_one () {
	name=$(basename "$1" .sh)
	case "$1" in
	*.sh) bash "$1" >"$results/$name.tap" 2>&1 ;;
	*) (cd "$(dirname "$1")" && "./$name") >"$results/$name.tap" 2>&1 ;;
	esac
	echo "$?" >"$results/$name.rc"
}
export -f run_one

jobs=${MBR_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
printf '%s\n' "${tests[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}

passed=0 failed=0 skipped=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	tap=$results/$name.tap
	p=$(grep -c '^ok ' "$tap" 2>/dev/null)
	s=$(grep -ci '^ok .*# skip' "$tap" 2>/dev/null)
	f=$(grep -c '^not ok ' "$tap" 2>/dev/null)
	rc=$(cat "$results/$name.rc" 2>/dev/null || echo missing)
	p=${p:-0} s=${s:-0} f=${f:-0}
	# A script that died before its plan counts as a failure.
	if test "$rc" != 0 && test "$f" = 0; then f=1; fi
	p=$((p - s))
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if test "$f" != 0; then
		echo "FAIL $name ($p passed, $f failed)"
		grep -v '^ok ' "$tap" | head -n 60
	else
		if test "$s" = 0; then echo "ok   $name ($p passed)"; else echo "ok   $name ($p passed, $s skipped)"; fi
	fi
done
echo "$passed passed, $failed failed, $skipped skipped"
test "$failed" = 0
