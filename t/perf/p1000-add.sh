#!/bin/bash
# p1000-add.sh - mbr add of a TinyLlama-1.1B-shaped Q8_0 GGUF (~1.2 GB)
# against `openssl dgst -sha256` of the same file, measured in this run.
#
# Goal (issue 2): mbr add <= 1.5x openssl's time; re-adding near-instant
# and writing nothing. Each figure is the best of $RUNS runs with the file
# in the page cache. mbr add is measured twice: with MBR_FSYNC=0 (the CPU
# work: read once, hash twice on all cores, write once) and durable, which
# also waits for the disk; `dd conv=fsync` of the same file shows what
# durably writing those bytes costs on this machine by itself.
# Optional peers when installed: git-annex add, git lfs (via git add).
set -eu
cd "$(dirname "$0")"
src=$(cd ../.. && pwd)
work=${MBR_PERF_DIR:-$src/t/perf/work}
RUNS=${RUNS:-3}
mkdir -p "$work"
model=$work/tinyllama-q8_0.gguf

if ! test -f "$model"; then
	echo "generating $model"
	"$src/t/helper/test-tool" mkmodel -o "$model" --vocab "$src/t/fixtures/vocab/ggml-vocab-llama-spm.gguf" \
		--dim 2048 --layers 22 --heads 32 --kv-heads 4 --ff 5632 --ctx 2048 --type Q8_0 --seed 1 >/dev/null
fi
size=$(stat -c %s "$model")
cat "$model" >/dev/null

now () { date +%s.%N; }
# best_of CMD...: the shortest wall time of $RUNS runs, in seconds
best_of () {
	local best= t0 t1 d
	for _ in $(seq "$RUNS"); do
		eval "${SETUP:-:}"
		t0=$(now); "$@" >/dev/null; t1=$(now)
		d=$(echo "$t1 - $t0" | bc -l)
		if test -z "$best" || test "$(echo "$d < $best" | bc -l)" = 1; then best=$d; fi
	done
	echo "$best"
}

openssl_s=$(best_of openssl dgst -sha256 "$model")
SETUP="rm -rf '$work/reg' && '$src/mbr' init -q '$work/reg'"
nosync_s=$(MBR_FSYNC=0 best_of "$src/mbr" -C "$work/reg" add "$model" --name tinyllama)
mbr_s=$(best_of "$src/mbr" -C "$work/reg" add "$model" --name tinyllama)
SETUP="rm -f '$work/dd.out'"
dd_s=$(best_of dd if="$model" of="$work/dd.out" bs=16M conv=fsync status=none)
rm -f "$work/dd.out"
SETUP=
readd_s=$(best_of "$src/mbr" -C "$work/reg" add "$model" --name tinyllama)
objs_before=$(find "$work/reg/.mbr/objects" -type f | wc -l)
"$src/mbr" -C "$work/reg" add "$model" --name tinyllama >/dev/null
objs_after=$(find "$work/reg/.mbr/objects" -type f | wc -l)
export_s=$(best_of "$src/mbr" -C "$work/reg" export tinyllama -o "$work/export.gguf")
cmp "$model" "$work/export.gguf"
rm -f "$work/export.gguf"

ratio () { echo "scale=2; $1 / $2" | bc -l; }
printf 'file: %s (%d bytes), %d cores, best of %d\n' "$(basename "$model")" "$size" "$(nproc)" "$RUNS"
printf '%-34s %8.3f s\n' "openssl dgst -sha256" "$openssl_s"
printf '%-34s %8.3f s   %sx openssl (goal <= 1.5x)\n' "mbr add, MBR_FSYNC=0" "$nosync_s" "$(ratio "$nosync_s" "$openssl_s")"
printf '%-34s %8.3f s   %sx openssl; the disk floor below bounds it\n' "mbr add, durable (default)" "$mbr_s" "$(ratio "$mbr_s" "$openssl_s")"
printf '%-34s %8.3f s   %sx openssl (copying the file durably, no hashing)\n' "dd conv=fsync (disk floor)" "$dd_s" "$(ratio "$dd_s" "$openssl_s")"
printf '%-34s %8.3f s   %sx openssl, objects written: %d\n' "mbr add (same file again)" "$readd_s" \
	"$(ratio "$readd_s" "$openssl_s")" "$((objs_after - objs_before))"
printf '%-34s %8.3f s   %sx openssl (verified byte-identical)\n' "mbr export" "$export_s" "$(ratio "$export_s" "$openssl_s")"

if command -v git-annex >/dev/null; then
	SETUP="rm -rf '$work/annex' && git init -q '$work/annex' && git -C '$work/annex' annex init -q && cp --reflink=auto '$model' '$work/annex/m.gguf'"
	annex_s=$(best_of git -C "$work/annex" annex add m.gguf)
	printf '%-34s %8.3f s   %sx openssl\n' "git annex add" "$annex_s" "$(ratio "$annex_s" "$openssl_s")"
fi
if command -v git-lfs >/dev/null; then
	SETUP="rm -rf '$work/lfs' && git init -q '$work/lfs' && git -C '$work/lfs' lfs track '*.gguf' >/dev/null && cp '$model' '$work/lfs/m.gguf'"
	lfs_s=$(best_of git -C "$work/lfs" add m.gguf)
	printf '%-34s %8.3f s   %sx openssl\n' "git lfs (git add)" "$lfs_s" "$(ratio "$lfs_s" "$openssl_s")"
fi
