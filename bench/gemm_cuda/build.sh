#!/usr/bin/env bash
# Builds gemm_bench with nvcc: bash bench/gemm_cuda/build.sh [OUTPUT]
#
# OUTPUT defaults to bench/gemm_cuda/out/gemm_bench, beside prepare.py's
# manifest, so that one directory carries both to the GPU machine. The binary
# links the driver API (-lcuda) against the toolkit's stub when there is no
# driver here, cuBLAS and cuBLASLt dynamically, the CUDA runtime statically;
# its RUNPATH names this toolkit's lib64 for cuBLAS.
#
# Environment: CUDA_HOME (default: nvcc's toolkit, else /usr/local/cuda),
# GEMM_BENCH_ARCHS (default "80 86 89 90": SASS of the bench's own small
# kernels for these, plus PTX for the newest, so any GPU from sm_80 runs it).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
output=${1:-$here/out/gemm_bench}

if [[ -z "${CUDA_HOME:-}" ]]; then
  if command -v nvcc >/dev/null; then
    CUDA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
  else
    CUDA_HOME=/usr/local/cuda
  fi
fi
nvcc=$CUDA_HOME/bin/nvcc
[[ -x $nvcc ]] || { echo "build.sh: error: no nvcc at $nvcc (set CUDA_HOME)" >&2; exit 1; }

archs=${GEMM_BENCH_ARCHS:-80 86 89 90}
gencode=()
last=
for a in $archs; do
  gencode+=(-gencode "arch=compute_$a,code=sm_$a")
  last=$a
done
gencode+=(-gencode "arch=compute_$last,code=compute_$last")

# libcuda: the driver's where there is one, else the toolkit's stub (enough to
# link; the GPU machine's driver provides libcuda.so.1 at run time).
libdirs=(-L"$CUDA_HOME/lib64")
if ! ldconfig -p 2>/dev/null | grep 'libcuda\.so\.1 ' >/dev/null; then
  libdirs+=(-L"$CUDA_HOME/lib64/stubs")
fi

# nlohmann/json reads the manifest. It is copied beside the binary so that a
# rebuild on the GPU machine (no package registry there) finds it too.
mkdir -p "$(dirname "$output")"
include=$(dirname "$output")/include
if [[ ! -f $include/nlohmann/json.hpp ]]; then
  if [[ ! -f /usr/include/nlohmann/json.hpp ]]; then
    echo "build.sh: installing nlohmann-json3-dev" >&2
    apt-get install -y -q nlohmann-json3-dev >/dev/null \
      || { echo "build.sh: error: no nlohmann/json.hpp and apt-get failed" >&2; exit 1; }
  fi
  mkdir -p "$include/nlohmann"
  cp /usr/include/nlohmann/json.hpp "$include/nlohmann/"
fi
set -x
"$nvcc" -O2 -std=c++17 "${gencode[@]}" -I"$include" \
  -Xcompiler -Wall,-ffp-contract=off \
  -o "$output" "$here/gemm_bench.cu" \
  "${libdirs[@]}" -lcublasLt -lcublas -lcuda \
  -Xlinker "-rpath,$CUDA_HOME/lib64"
