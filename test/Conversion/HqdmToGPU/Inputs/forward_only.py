"""Prints an MLIR module without its `func.func @main` and the printing
functions only @main calls.

The held-in models (test/Models) append a @main that builds inputs on the
host and prints the result; a model compiled to run entirely on the GPU
takes device buffers, so the whole-model tests keep only @forward (and its
library does not depend on MLIR's runner utilities).

Usage: forward_only.py IN.mlir OUT.mlir
"""
import sys


def main():
    source, target = sys.argv[1:3]
    kept, skipping = [], False
    for line in open(source):
        if line.startswith("  func.func private @printMemref"):
            continue
        if line.startswith("  func.func @main("):
            skipping = True
        if not skipping:
            kept.append(line)
        elif line.rstrip() == "  }":
            skipping = False
    if skipping:
        sys.exit(f"{source}: @main does not end")
    open(target, "w").writelines(kept)


if __name__ == "__main__":
    main()
