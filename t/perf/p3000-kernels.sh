#!/bin/bash
# p3000-kernels.sh - the dot products a decode step spends its time in:
# test-tool bench-kernels streams a 4096 x 4096 weight matrix of each type
# from memory (a 256 MiB pool of copies, so no cache holds it) and times
# one vec_dot per row against an activation row already converted to the
# type's vec_dot_type, the scalar reference against AVX2.
#
# Goal (inference engine issue): decode, which reads every weight once per
# token, is memory-bound at ~20 GB/s on 2 threads, so the AVX2 Q4_0, Q4_K,
# Q6_K, Q8_0 and F16 kernels should stream well over 10 GB/s on one thread
# and reach the memory's rate on two. Shown for 1 and 2 threads, and from
# cache (--pool-mib 0, 256 rows), which is the kernels' own speed.
set -eu
cd "$(dirname "$0")"
tool=../helper/test-tool
SECONDS_EACH=${SECONDS_EACH:-0.5}
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
"$tool" bench-kernels --threads 1 --seconds "$SECONDS_EACH"
"$tool" bench-kernels --threads 2 --seconds "$SECONDS_EACH"
"$tool" bench-kernels --threads 1 --seconds "$SECONDS_EACH" --pool-mib 0 --rows 256
for t in F16 Q8_0 Q4_0; do
	"$tool" bench-matmul --type "$t" --threads 2 --seconds "$SECONDS_EACH"
done
