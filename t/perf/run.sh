#!/bin/bash
# Run every benchmark in t/perf (make perf).
cd "$(dirname "$0")" || exit 1
status=0
for p in p[0-9][0-9][0-9][0-9]-*.sh; do
	echo "== $p"
	bash "$p" || status=1
done
exit $status
