#!/usr/bin/env bash
# The kernel benchmark of issue 6 on a GPU machine, in one command:
#
#   bash bench/gemm_cuda/run.sh [OUT_DIR] [gemm_bench options]
#
# OUT_DIR (default bench/gemm_cuda/out) is what prepare.py and build.sh wrote
# on the development machine: manifest.json, the cubins/PTX, the packed
# weights and the gemm_bench binary. No MLIR and no network are needed here.
#
# If this machine has nvcc, gemm_bench is rebuilt first (OUT_DIR/
# gemm_bench.local) so that it matches the local CUDA driver and cuBLAS; if
# that fails, or GEMM_BENCH_REBUILD=0, the carried binary runs. The table
# goes to stdout and to OUT_DIR/results-<UTC time>.md (and, when $OUT names
# a directory, as the device runner sets it, a copy there). Options after
# OUT_DIR go to gemm_bench (--reps N, --warmup N, --no-flush, --only TEXT,
# --check-rows N). The exit status is gemm_bench's: 0 all checks passed,
# 1 error, 3 a correctness check failed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$here/out
if [[ $# -gt 0 && $1 != -* ]]; then
  out=$1
  shift
fi
out=$(cd "$out" && pwd)
if [[ ! -f $out/manifest.json ]]; then
  echo "run.sh: error: no $out/manifest.json: run prepare.py and build.sh" \
       "on the development machine and bring $out here" >&2
  exit 1
fi

bin=$out/gemm_bench
if [[ ${GEMM_BENCH_REBUILD:-1} != 0 ]] && command -v nvcc >/dev/null; then
  echo "run.sh: building gemm_bench with $(command -v nvcc)" >&2
  if bash "$here/build.sh" "$out/gemm_bench.local" >"$out/build.log" 2>&1; then
    bin=$out/gemm_bench.local
  else
    echo "run.sh: the local build failed (see $out/build.log); running" \
         "the carried binary" >&2
  fi
fi
if [[ ! -x $bin ]]; then
  echo "run.sh: error: no gemm_bench binary in $out (bash $here/build.sh)" >&2
  exit 1
fi

log=$out/results-$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "<!-- run.sh on $(uname -n), binary $bin -->"
  if command -v nvidia-smi >/dev/null; then
    echo '```'
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu \
      --format=csv 2>&1 || true
    echo '```'
  fi
} | tee "$log"
set +e
"$bin" "$out" "$@" 2> >(tee "$log.stderr" >&2) | tee -a "$log"
status=${PIPESTATUS[0]}
set -e
echo "run.sh: results in $log (exit status $status)" >&2
if [[ -n ${OUT:-} && -d ${OUT:-} ]]; then
  cp "$log" "$log.stderr" "$OUT/" 2>/dev/null || true
fi
exit "$status"
