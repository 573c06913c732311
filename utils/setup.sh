#!/usr/bin/env bash
#===- utils/setup.sh - Install what hqdm needs to build and test ---------===#
#
# Installs the Debian packages (LLVM/MLIR 22, lld, Ninja, ccache, GoogleTest)
# and creates the Python virtual environment (.venv) with the hqdm package
# and what it and the tests use.
# Idempotent: when everything is present it only checks and returns in about a
# second. Run as root or with sudo available.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  cmake ninja-build ccache lld-22
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libgtest-dev python3-venv
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Python environment: the hqdm package (python/pyproject.toml, installed
# editable with all its extras: torch and the torch-mlir importer bundled in
# iree-base-compiler, matplotlib and tqdm for `hqdm eval`, pytest). Installs
# again when one of those modules is missing, e.g. one added since .venv was
# made. The first install downloads about 3 GB (torch's CUDA wheels).
venv="$root/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "setup: creating the Python environment in .venv"
  /usr/bin/python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import numpy, safetensors, torch, iree.compiler, matplotlib, tqdm, pytest, hqdm" 2>/dev/null ||
   [[ ! -x "$venv/bin/hqdm" ]]; then
  echo "setup: installing python/ (hqdm[all]) into .venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -e "$root/python[all]"
fi
echo "setup: toolchain ready (LLVM/MLIR $(/usr/lib/llvm-22/bin/llvm-config --version))"
