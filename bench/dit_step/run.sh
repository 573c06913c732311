#!/usr/bin/env bash
# The DiT-XL/2 denoising-step benchmark of issue 7 on a GPU machine, in one
# command:
#
#   bash bench/dit_step/run.sh [OUT_DIR] [dit_step.py options]
#
# OUT_DIR (default bench/dit_step/out) is what prepare.py wrote on the
# development machine: manifest.json, the xz-compressed whole-model
# libraries and runtime/libhqdm_cuda_runtime.so. Needs the CUDA driver,
# Python with PyTorch and numpy; no MLIR, no network.
#
# If this machine has a C++ compiler and cuda.h, the runtime is rebuilt from
# lib/Runtime first (OUT_DIR/runtime-local/), so that it matches the local
# C and C++ libraries; if that fails, or HQDM_RUNTIME_REBUILD=0, the carried
# one is used. The table goes to stdout and, with the run's context, to
# OUT_DIR/results-<UTC time>.md, the data to OUT_DIR/results-<UTC time>.json
# (and, when $OUT names a directory, as the device runner sets it, copies
# there). Options after OUT_DIR go to dit_step.py (--batches 1,8, --reps N,
# --warmup N, --compile-modes default,reduce-overhead, --no-compile,
# --only TEXT, --dry-run). Exit status: 0 every row ran, 1 an error before
# any row (no GPU, no manifest), 2 some row failed (it says why in the
# table).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$here/out
if [[ $# -gt 0 && $1 != -* ]]; then
  out=$1
  shift
fi
out=$(cd "$out" && pwd)
if [[ ! -f $out/manifest.json ]]; then
  echo "run.sh: error: no $out/manifest.json: run prepare.py on the" \
       "development machine and bring $out here" >&2
  exit 1
fi

python=${PYTHON:-python3}
runtime=$out/runtime/libhqdm_cuda_runtime.so
if [[ ${HQDM_RUNTIME_REBUILD:-1} != 0 ]]; then
  cuda_home=${CUDA_HOME:-}
  if [[ -z $cuda_home ]] && command -v nvcc >/dev/null; then
    cuda_home=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
  fi
  cuda_home=${cuda_home:-/usr/local/cuda}
  cxx=${CXX:-c++}
  if [[ -f $cuda_home/include/cuda.h ]] && command -v "$cxx" >/dev/null; then
    mkdir -p "$out/runtime-local"
    if "$cxx" -std=c++17 -O2 -fPIC -shared -fvisibility=hidden \
         -Wl,-soname,libhqdm_cuda_runtime.so \
         -I"$root/include" -isystem "$cuda_home/include" \
         "$root"/lib/Runtime/*.cpp -ldl -lpthread \
         -o "$out/runtime-local/libhqdm_cuda_runtime.so" \
         >"$out/runtime-local/build.log" 2>&1; then
      runtime=$out/runtime-local/libhqdm_cuda_runtime.so
      echo "run.sh: runtime rebuilt with $cxx against $cuda_home/include" >&2
    else
      echo "run.sh: rebuilding the runtime failed (see" \
           "$out/runtime-local/build.log); using the carried one" >&2
    fi
  fi
fi
if [[ ! -f $runtime ]]; then
  echo "run.sh: error: no runtime at $runtime" >&2
  exit 1
fi
export HQDM_CUDA_RUNTIME=$runtime
# The libraries depend on libhqdm_cuda_runtime.so by name; the runtime is
# loaded first by path, and this covers a loader that looks again.
export LD_LIBRARY_PATH=$(dirname "$runtime")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
log=$out/results-$stamp.md
{
  echo "<!-- bench/dit_step/run.sh on $(uname -n), $(date -u), runtime $runtime -->"
  if command -v nvidia-smi >/dev/null; then
    echo '```'
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu \
      --format=csv 2>&1 || true
    echo '```'
  fi
} | tee "$log"
set +e
"$python" "$here/dit_step.py" "$out" --json "$out/results-$stamp.json" "$@" \
  2> >(tee "$log.stderr" >&2) | tee -a "$log"
status=${PIPESTATUS[0]}
set -e
echo "run.sh: results in $log and $out/results-$stamp.json (exit status $status)" >&2
if [[ -n ${OUT:-} && -d ${OUT:-} ]]; then
  cp "$log" "$log.stderr" "$OUT/" 2>/dev/null || true
  cp "$out/results-$stamp.json" "$OUT/" 2>/dev/null || true
fi
exit "$status"
