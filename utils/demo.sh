#!/usr/bin/env bash
#===- utils/demo.sh - Set up, build and run the main job -----------------===#
#
# Installs what is missing, builds hqdm-opt, and quantizes a DiT block as
# torch-mlir emitted it (test/Models/dit_block.mlir): shows what hqdm-quantize
# decided for every layer, runs the quantized program on the CPU with
# mlir-runner, and reports its output SQNR against the float model for every
# scheme and Hadamard mode. Then takes the tiny trained DiT from PyTorch
# through import, calibration, quantization and sampling (hqdm eval).
#
#===----------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="$root/test/Models/dit_block.mlir"
bin=/usr/lib/llvm-22/bin
lib=/usr/lib/llvm-22/lib
runner="$bin/mlir-runner -e main -entry-point-result=void -shared-libs=$lib/libmlir_runner_utils.so,$lib/libmlir_c_runner_utils.so"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

bash "$root/utils/setup.sh"
echo "== building hqdm-opt (first time: about two minutes on 2 cores)"
bash "$root/utils/build.sh" "$root/build" >"$work/build.log" 2>&1 ||
  { tail -n 30 "$work/build.log"; exit 1; }
opt="$root/build/bin/hqdm-opt"

echo
echo "== 1. quantize: hqdm-opt test/Models/dit_block.mlir --hqdm-quantize=\"scheme=w4a4 hadamard=single\""
echo "   (a DiT block, D=64, 2 heads, 16 tokens, batch 2, imported by torch-mlir;"
echo "   its inputs have outlier channels). The decisions, from --remarks-filter='hqdm.*':"
"$opt" "$model" --hqdm-quantize="scheme=w4a4 hadamard=single" \
  --remarks-filter='hqdm.*' -o "$work/quantized.mlir" 2>"$work/remarks.txt"
sed -n 's/.*Category:\(hqdm-[a-z]*\) | Remark="\(.*\)"$/     \1: \2/p' \
  "$work/remarks.txt" | grep -v "hqdm-plan\|hqdm-rotate"
echo "   Quantized program: $(grep -c 'hqdm.qlinear' "$work/quantized.mlir") hqdm.qlinear," \
  "$(grep -c 'hqdm.hadamard' "$work/quantized.mlir") online hqdm.hadamard," \
  "functions kept: $(grep -o 'func.func @[a-zA-Z_]*' "$work/quantized.mlir" | sed 's/func.func //' | tr '\n' ' ')"

echo
echo "== 2. lower to LLVM and run: hqdm-opt --hqdm-lower-to-cpu | mlir-runner"
"$opt" "$work/quantized.mlir" --hqdm-lower-to-cpu | $runner >"$work/out.txt"
head -n 3 "$work/out.txt" | cut -c1-100
echo "   ..."

echo
echo "== 3. every scheme and mode against float (test/Quantization/quality.py)"
"$root/.venv/bin/python" "$root/test/Quantization/quality.py" "$model" \
  --hqdm-opt "$opt" --runner "$runner" | sed 's/^/   /'
echo
echo "== 4. from PyTorch: the tiny trained DiT (examples/tiny_dit) imported with torch-mlir,"
echo "   calibrated along its own sampling trajectories, quantized, compiled and sampled"
echo "   against the float model from the same noise (hqdm eval; about a minute)"
"$root/.venv/bin/hqdm" eval --model tiny-dit --steps 10 --samples 2 \
  --schemes w4a8,w4a4 --methods rtn,had1,hqdm --layer-steps 0 \
  --hqdm-opt "$opt" --out "$work/eval" --quiet >"$work/eval.log" 2>&1 ||
  { tail -n 20 "$work/eval.log"; exit 1; }
sed -n '/## Mean per-step/,/## Per-step output/p' "$work/eval/results.md" |
  grep -v "^## Per-step output" | sed 's/^/   /'
echo "   (the full grid, per-layer SQNR and plots: docs/Evaluation.md)"
echo
echo "Next: docs/Import.md (from PyTorch), docs/Quantization.md (the pipeline, its"
echo "options and remarks), docs/Evaluation.md; utils/test.sh runs every test."
