"""aot.test: compiles aot_functions.mlir with hqdm.aot and checks the calls,
the C interface facts hqdm/aot.py relies on, and the freeing rule.

Usage: aot_check.py INPUTS_DIR WORK_DIR"""

import ctypes
import sys
from pathlib import Path

import numpy as np

from hqdm import aot

inputs, work = Path(sys.argv[1]), Path(sys.argv[2])


def show(label, value):
    """Prints shape and values (flat; nested lists would read as FileCheck
    variables)."""
    value = np.asarray(value)
    print("{}: {} {}".format(label, list(value.shape),
                             " ".join(str(v) for v in value.ravel().tolist())))


so = aot.compile_shared_library(inputs / "aot_functions.mlir", work)
print("built:", so.name, sorted(p.name for p in work.iterdir()))
lib = aot.Library(so)

# One memref result: the first C argument is the result descriptor.
x = np.arange(6, dtype=np.float32).reshape(2, 3)
(y,) = lib.call("double", x, results=[((2, 3), "f32")])
show("double", y)
print("double dtype:", y.dtype, "shape:", y.shape)
# The argument is copied: a non-contiguous view works and is not modified.
xt = np.arange(6, dtype=np.float32).reshape(3, 2).T
(yt,) = lib.call("double", xt, results=[((2, 3), "f32")])
print("double transposed view:", np.array_equal(yt, 2 * xt),
      np.array_equal(xt, np.arange(6, dtype=np.float32).reshape(3, 2).T))

# Several results: a pointer to a struct of the results in order; index is an
# int64 field between the descriptors.
v, idx, z, h = lib.call("mixed", np.array([1, -2, 3, -4], np.float32),
                        np.array([999, 7], np.int64),
                        results=[((4,), "f32"), "index", ((2, 2), "i8"),
                                 ((), "f16")])
show("mixed f32", v)
print("mixed index:", idx, type(idx).__name__)
show("mixed i8", z)
print("mixed f16:", h, h.dtype, "rank", h.ndim)

# The struct layout, against offsets worked out by hand: descriptors
# {ptr, ptr, i64, i64[R], i64[R]} = 8 * (3 + 2R) bytes, inline, no padding.
fields = [("r0", aot.memref_descriptor_type(1)), ("r1", ctypes.c_int64),
          ("r2", aot.memref_descriptor_type(2)), ("r3", aot.memref_descriptor_type(0))]
Struct = type("S", (ctypes.Structure,), {"_fields_": fields})
print("struct offsets:", [getattr(Struct, n).offset for n, _ in fields],
      "size:", ctypes.sizeof(Struct))

# Results that were an argument and a constant come back as fresh copies.
a, c = lib.call("passthrough", np.array([1, 2, 3], np.float32),
                results=[((3,), "f32"), ((2,), "f32")])
show("passthrough arg", a)
show("passthrough const", c)

# A single scalar result is the C return value.
print("count:", lib.call("count", np.zeros(3, np.float32), results=["index"]))

# Scalar and rank-0 arguments; i1, f32 scalar, i32 results.
b, m, k = lib.call("compare", np.array([-1, 2, 0.5, 3, -4], np.float32),
                   np.float32(0.75), np.array(2.0, np.float16),
                   results=[((5,), "i1"), "f32", ((2, 3), "i32")])
show("compare i1", b)
print("compare f32:", m, m.dtype)
show("compare i32", k)

# Freeing: with free() the heap in use stays flat; without, it grows by the
# result buffers.
libc = ctypes.CDLL(None)


class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


libc.mallinfo2.restype = MallInfo2


def heap_in_use():
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def heap_growth(free, calls=2000):
    x = np.array([1, -2, 3, -4], np.float32)
    t = np.array([999, 7], np.int64)
    specs = [((4,), "f32"), "index", ((2, 2), "i8"), ((), "f16")]
    for _ in range(100):
        lib.call("mixed", x, t, results=specs)
    before = heap_in_use()
    for _ in range(calls):
        lib.call("mixed", x, t, results=specs, free_results=free)
    return heap_in_use() - before


# A leak grows the heap in every round; the interpreter's own one-off
# allocations (a new arena, a cache) do not recur, so the least growth over
# three rounds is the one that counts.
freed = min(heap_growth(True) for _ in range(3))
leaked = heap_growth(False)
# Three result buffers of at least 16 bytes of heap each per call.
print("heap with free: flat" if freed < 2000 * 8 else
      "heap with free: grew by {} bytes".format(freed))
print("heap without free: grew" if leaked >= 2000 * 3 * 16 else
      "heap without free: grew only {} bytes".format(leaked))

# Results that alias an argument or a global (a module lowered without the
# deallocation pipeline): not freed, so repeated calls do not crash.
raw = work / "raw"
raw.mkdir()
aot.run_command("hqdm-opt (raw lowering)",
                [aot.find_hqdm_opt(), inputs / "aot_raw.mlir",
                 "--finalize-memref-to-llvm", "--convert-func-to-llvm",
                 "--reconcile-unrealized-casts", "-o", raw / "raw.llvm.mlir"])
rawlib = aot.Library(aot.compile_shared_library(raw / "raw.llvm.mlir", raw,
                                                lower=False))
for _ in range(1000):
    r = rawlib.call("aliases", np.array([1, 2, 3], np.float32),
                    results=[((3,), "f32"), ((2,), "f32"), ((3,), "f32")])
show("aliases", np.concatenate(r))
print("in_loaded_image(free):",
      aot.in_loaded_image(ctypes.cast(libc.free, ctypes.c_void_p).value),
      "in_loaded_image(numpy buffer):", aot.in_loaded_image(x.ctypes.data))

# An hqdm op through the library: the rotate-and-quantize of
# test/Pipelines/aot-shared-library.test against numpy.
rq = aot.Library(aot.compile_shared_library(
    inputs.parent.parent / "Pipelines" / "Inputs" / "rotate_quantize.mlir",
    work / "rq"))
xin = np.array([[((r * 7 + c * 3) % 11 - 5) * (9.0 if r == 5 else 0.35)
                 for c in range(8)] for r in range(6)], np.float32)
h = np.array([[(-1) ** bin(i & j).count("1") for j in range(8)]
              for i in range(8)], np.float64)
rotated = (xin.astype(np.float64) @ h / np.sqrt(8.0)).astype(np.float32)
want = np.clip(np.rint(rotated / np.float32(0.25)), -127, 127).astype(np.int8)
(levels,) = rq.call("rotate_quantize", xin, results=[((6, 8), "i8")])
print("rotate_quantize: {} of 48 levels match".format(int(np.sum(levels == want))))

# Errors.
try:
    lib.call("double", x, results=[((3, 2), "f32")])
except aot.AotError as e:
    print("error:", e)
try:
    lib.call("nothing", x)
except aot.AotError as e:
    print("error:", str(e).replace(str(so), "LIB"))
try:
    lib.call("double", [1.0, 2.0])
except aot.AotError as e:
    print("error:", e)
try:
    aot.compile_shared_library(inputs / "aot_bad.mlir", work / "bad")
except aot.CompileError as e:
    print("compile error:", e)
lib.close()
print("done")
