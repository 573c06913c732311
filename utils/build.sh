#!/usr/bin/env bash
#===- utils/build.sh - Configure and build hqdm --------------------------===#
#
# Usage: utils/build.sh [BUILD_DIR] [extra cmake args...]
# Configures (once) and builds hqdm with Ninja, lld and ccache against
# Debian's LLVM/MLIR 22. BUILD_DIR defaults to build/; HQDM_BUILD_TARGET
# (default: all) names the Ninja target.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
shift || true

if [[ ! -f "$build/build.ninja" ]]; then
  launcher=()
  command -v ccache >/dev/null &&
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_USE_LINKER=lld \
    "${launcher[@]}" "$@" >/dev/null
fi
ninja -C "$build" "${HQDM_BUILD_TARGET:-all}"
