"""Ahead-of-time compilation of MLIR modules, and calls into them from numpy.

`compile_shared_library` runs the same commands as
test/Pipelines/aot-shared-library.test:

    hqdm-opt MODULE [pipeline args] --hqdm-lower-to-cpu=emit-c-interface
      | mlir-translate --mlir-to-llvmir
      | llc -O2 -filetype=obj -relocation-model=pic
    cc -shared OBJECT -o LIBRARY.so [MLIR runner utils] -lm

(each step writes a file in `out_dir`, so that a failure can be looked at).
`Library` loads the result with ctypes and calls the `_mlir_ciface_<name>`
wrappers that `emit-c-interface` asks the LLVM lowering for.

The C interface, as checked on this toolchain (test/Python/aot.test):

* A memref argument is passed as a pointer to its descriptor
  `{allocated, aligned, offset, sizes[R], strides[R]}` (pointers and int64;
  a rank-0 descriptor is `{allocated, aligned, offset}`). Arguments that are
  not memrefs (index, integers, floats) are passed by value; `index` is int64.
* Results: when the function returns one memref, the first C argument is a
  pointer to a descriptor that the callee fills. When it returns two or more
  values, the first C argument is a pointer to a struct with one field per
  result in order: a descriptor (inline, not a pointer) for a memref, an
  int64 for an `index`, the plain value for a scalar. Every field is 8 bytes
  wide, so the struct has no padding. A single scalar result is the C return
  value; no results, void.
* Result buffers come from malloc in the generated code. hqdm-lower-to-cpu
  runs the ownership-based buffer deallocation pipeline, which gives the
  caller ownership of every returned memref: a function that returns its
  argument or a constant returns a fresh copy (memref.alloc + memref.copy).
  `Library.call` copies each result into a numpy array and calls free() on
  its `allocated` pointer, except when that pointer
    - is NULL, or 0xdeadbeef (the marker MLIR's LLVM lowering puts in the
      descriptor of a memref.get_global, so that freeing it is caught),
    - lies inside one of the argument buffers of the call (a result aliasing
      an argument),
    - lies inside a loaded object's image (dladdr finds it: a global of the
      library), or
    - was already freed for an earlier result of the same call.
  These exceptions do not happen with hqdm-lower-to-cpu's output; they keep
  a library built otherwise from corrupting the heap.

Arguments are always copied into fresh C-contiguous arrays: with function
boundaries bufferized, the callee may write into its argument buffers.
"""

import ctypes
import ctypes.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

LLVM_BIN_DEFAULT = "/usr/lib/llvm-22/bin"

# MLIR's LLVM lowering of memref.get_global puts this in `allocated`.
_DEADBEEF = 0xDEADBEEF


class AotError(RuntimeError):
    """A failure to compile, load or call a module."""


class CompileError(AotError):
    """A compilation command failed; `command` and `stderr` say which and why."""

    def __init__(self, what, command, returncode, stderr):
        self.what = what
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        text = stderr.strip()
        super().__init__(
            "{} failed (exit status {}):\n  {}\n{}".format(
                what, returncode, shlex.join(str(c) for c in command),
                text if text else "(no error output)"))


# --------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------

def find_hqdm_opt(hqdm_opt=None):
    """The hqdm-opt to run: `hqdm_opt` if given, else $HQDM_OPT, else the one
    on PATH, else the repository's build/bin/hqdm-opt (for the package
    installed in place from a checkout, as utils/setup.sh does)."""
    for candidate, origin in ((hqdm_opt, "the hqdm_opt argument"),
                              (os.environ.get("HQDM_OPT"), "$HQDM_OPT")):
        if candidate:
            path = shutil.which(str(candidate))
            if path is None:
                raise AotError("hqdm-opt from {} is not an executable: {}".format(
                    origin, candidate))
            return path
    path = shutil.which("hqdm-opt")
    built = Path(__file__).resolve().parents[2] / "build" / "bin" / "hqdm-opt"
    if path is None and built.is_file():
        path = str(built)
    if path is None:
        raise AotError(
            "cannot find hqdm-opt: pass its path (hqdm_opt=, --hqdm-opt) or set "
            "HQDM_OPT, e.g. HQDM_OPT=build/bin/hqdm-opt")
    return path


def llvm_tool(name):
    """An LLVM tool: from $HQDM_LLVM_BIN, else /usr/lib/llvm-22/bin, else PATH."""
    directory = os.environ.get("HQDM_LLVM_BIN", LLVM_BIN_DEFAULT)
    path = os.path.join(directory, name)
    if os.access(path, os.X_OK):
        return path
    for candidate in (name + "-22", name):
        found = shutil.which(candidate)
        if found:
            return found
    raise AotError("cannot find {} (looked in {} and on PATH; set "
                   "HQDM_LLVM_BIN)".format(name, directory))


def llvm_lib_dir():
    """The LLVM library directory next to the tools' (lib/ beside bin/)."""
    return Path(llvm_tool("llc")).resolve().parent.parent / "lib"


# MLIR's runtime libraries a module may call into: printMemrefF32 and the
# like, which the models' @main test harnesses use.
RUNNER_UTILS = ("mlir_runner_utils", "mlir_c_runner_utils")


def runtime_link_args():
    """Linker arguments for MLIR's runner utilities, when LLVM has them, so
    that a module declaring e.g. printMemrefF32 loads (ctypes binds every
    symbol at load time). They are linked as needed: a library that calls
    none of them (a whole model on the GPU) does not depend on them, so it
    loads on a machine without LLVM."""
    lib = llvm_lib_dir()
    names = [n for n in RUNNER_UTILS if (lib / "lib{}.so".format(n)).exists()]
    if not names:
        return []
    return (["-L{}".format(lib), "-Wl,-rpath,{}".format(lib),
             "-Wl,--push-state,--as-needed"]
            + ["-l{}".format(n) for n in names] + ["-Wl,--pop-state"])


def _c_compiler(cc=None):
    cc = cc or os.environ.get("CC") or "cc"
    path = shutil.which(cc)
    if path is None:
        raise AotError("cannot find the C compiler {!r} (set CC)".format(cc))
    return path


def run_command(what, command, stdout=None):
    """Runs `command`; raises CompileError naming `what` on failure. With
    `stdout` (a path), the command's output goes to that file."""
    command = [str(c) for c in command]
    try:
        if stdout is None:
            proc = subprocess.run(command, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        else:
            with open(stdout, "w") as out:
                proc = subprocess.run(command, stdout=out,
                                      stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise CompileError(what, command, -1, str(e)) from None
    if proc.returncode != 0:
        raise CompileError(what, command, proc.returncode, proc.stderr)
    return proc


# --------------------------------------------------------------------------
# Compilation
# --------------------------------------------------------------------------

RUNTIME_NAME = "libhqdm_cuda_runtime.so"


def cuda_runtime_dir(hqdm_opt=None):
    """The directory of libhqdm_cuda_runtime.so: lib/ beside the bin/ of
    hqdm-opt (the build tree's layout)."""
    tool = Path(find_hqdm_opt(hqdm_opt)).resolve()
    lib = tool.parent.parent / "lib"
    if not (lib / RUNTIME_NAME).exists():
        raise AotError("no {} in {} (the build found no cuda.h, so it has no "
                       "CUDA runtime)".format(RUNTIME_NAME, lib))
    return lib


def find_cuda_runtime(runtime=None, hqdm_opt=None):
    """The libhqdm_cuda_runtime.so to run whole-model libraries with:
    `runtime` (the file or its directory) if given, else $HQDM_CUDA_RUNTIME,
    else the one beside hqdm-opt (cuda_runtime_dir), else the repository's
    build/lib. Needs no hqdm-opt when one of the first two is set, so that
    a machine with the compiled libraries and the runtime, but no MLIR, can
    run them."""
    for candidate, origin in ((runtime, "the runtime argument"),
                              (os.environ.get("HQDM_CUDA_RUNTIME"),
                               "$HQDM_CUDA_RUNTIME")):
        if candidate:
            path = Path(candidate)
            if path.is_dir():
                path = path / RUNTIME_NAME
            if not path.is_file():
                raise AotError("no CUDA runtime at {} (from {})".format(
                    path, origin))
            return path
    try:
        return cuda_runtime_dir(hqdm_opt) / RUNTIME_NAME
    except AotError as e:
        built = Path(__file__).resolve().parents[2] / "build" / "lib" / RUNTIME_NAME
        if built.is_file():
            return built
        raise AotError("cannot find {}: {}; or set HQDM_CUDA_RUNTIME to its "
                       "path".format(RUNTIME_NAME, e)) from None


def parse_target(target):
    """"cpu", "cuda" (sm_90) or "cuda:CHIP" -> (kind, chip)."""
    if target == "cpu":
        return "cpu", None
    kind, _, chip = target.partition(":")
    if kind == "cuda":
        return "cuda", chip or "sm_90"
    raise AotError("unknown target {!r}: use cpu, cuda or cuda:CHIP (sm_80, "
                   "sm_86, sm_89, sm_90, sm_90a)".format(target))


def compile_shared_library(mlir_path, out_dir, hqdm_opt=None, pipeline_args=(),
                           name=None, cc=None, lower=True, target="cpu",
                           whole_model=False, fuse_attention=True,
                           external_weights=None):
    """Compiles the MLIR file `mlir_path` to `out_dir`/NAME.so and returns its
    path. `pipeline_args` are hqdm-opt arguments run before the lowering
    (e.g. ["--hqdm-quantize=scheme=w4a8"]). Intermediate files stay in
    `out_dir`: NAME.llvm.mlir, NAME.ll, NAME.o. With lower=False the file is
    already in the LLVM dialect and hqdm-opt does not run. `target` "cuda" or
    "cuda:CHIP" runs the quantized layers as generated CUDA kernels (cubin
    embedded) and links hqdm's CUDA host runtime; with `whole_model` every
    op runs on the GPU and the library is driven through the runtime's C ABI
    (include/hqdm/Runtime/Model.h, `DeviceModel`), with each attention one
    fused f16 tensor-core kernel unless `fuse_attention` is False.
    `external_weights` (with whole_model; a path, or True for
    `out_dir`/NAME.weights.safetensors) writes the weights and tables to that
    safetensors file instead of embedding them in the library; `DeviceModel`
    loads it from beside the library, or from where its `weights` argument
    says."""
    kind, chip = parse_target(target)
    if whole_model and kind != "cuda":
        raise AotError("whole_model needs a cuda target")
    if external_weights and not whole_model:
        raise AotError("external_weights needs whole_model=True")
    mlir_path = Path(mlir_path)
    if not mlir_path.is_file():
        raise AotError("no such MLIR file: {}".format(mlir_path))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or mlir_path.stem
    lowered = out_dir / (name + ".llvm.mlir")
    llvm_ir = out_dir / (name + ".ll")
    obj = out_dir / (name + ".o")
    library = out_dir / (name + ".so")
    if external_weights is True:
        external_weights = out_dir / (name + ".weights.safetensors")

    if lower:
        lowering = ("--hqdm-lower-to-cpu=emit-c-interface" if kind == "cpu"
                    else "--hqdm-lower-to-cuda=emit-c-interface format=bin "
                         "chip={}{}{}".format(
                             chip, " whole-model=true" if whole_model else "",
                             "" if fuse_attention else " fuse-attention=false"))
        if external_weights:
            path = str(Path(external_weights).resolve())
            if any(c in path for c in " {}\"'"):
                raise AotError("external_weights path {!r} has a character "
                               "the pipeline options cannot hold".format(path))
            lowering += " external-weights={}".format(path)
        run_command("hqdm-opt (lowering to the LLVM dialect)",
                    [find_hqdm_opt(hqdm_opt), mlir_path, *pipeline_args,
                     lowering, "-o", lowered])
    else:
        if pipeline_args:
            raise AotError("pipeline_args need lower=True")
        lowered = mlir_path
    run_command("mlir-translate (LLVM dialect to LLVM IR)",
                [llvm_tool("mlir-translate"), "--mlir-to-llvmir", lowered,
                 "-o", llvm_ir])
    run_command("llc (LLVM IR to an object file)",
                [llvm_tool("llc"), "-O2", "-filetype=obj",
                 "-relocation-model=pic", llvm_ir, "-o", obj])
    gpu_link = []
    if kind == "cuda":
        lib = cuda_runtime_dir(hqdm_opt)
        gpu_link = ["-L{}".format(lib), "-Wl,-rpath,{}".format(lib),
                    "-lhqdm_cuda_runtime"]
    run_command("cc (linking the shared library)",
                [_c_compiler(cc), "-shared", obj, "-o", library,
                 *gpu_link, *runtime_link_args(), "-lm"])
    return library


def compile_module_text(text, out_dir, name="module", **kwargs):
    """Like compile_shared_library, for MLIR source text (written to
    `out_dir`/NAME.mlir first)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = out_dir / (name + ".mlir")
    source.write_text(text)
    return compile_shared_library(source, out_dir, name=name, **kwargs)


# --------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------

# MLIR element type names -> numpy dtypes. `index` is int64 on this target.
_DTYPES = {
    "f64": np.float64, "f32": np.float32, "f16": np.float16,
    "i64": np.int64, "index": np.int64, "i32": np.int32, "i16": np.int16,
    "i8": np.int8, "ui8": np.uint8, "i1": np.bool_, "bool": np.bool_,
}

# numpy dtypes -> ctypes scalar types, for scalar arguments and results.
_CTYPES = {
    np.dtype(np.float64): ctypes.c_double, np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.int64): ctypes.c_int64, np.dtype(np.int32): ctypes.c_int32,
    np.dtype(np.int16): ctypes.c_int16, np.dtype(np.int8): ctypes.c_int8,
    np.dtype(np.uint8): ctypes.c_uint8, np.dtype(np.bool_): ctypes.c_bool,
}

_MEMREF_DTYPES = {np.dtype(t) for t in _DTYPES.values()}


def numpy_dtype(dtype):
    """The numpy dtype of an MLIR element type name ("f32", "i64", "index",
    "i1", ...) or of anything numpy.dtype accepts."""
    if isinstance(dtype, str) and dtype in _DTYPES:
        return np.dtype(_DTYPES[dtype])
    try:
        result = np.dtype(dtype)
    except TypeError:
        raise AotError("unknown element type {!r}".format(dtype)) from None
    if result not in _MEMREF_DTYPES:
        raise AotError("unsupported element type {}".format(result))
    return result


_DESCRIPTORS = {}


def memref_descriptor_type(rank):
    """The ctypes struct of a rank-`rank` memref descriptor."""
    if rank not in _DESCRIPTORS:
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                  ("offset", ctypes.c_int64)]
        if rank > 0:
            fields += [("sizes", ctypes.c_int64 * rank),
                       ("strides", ctypes.c_int64 * rank)]
        _DESCRIPTORS[rank] = type("MemRef{}D".format(rank), (ctypes.Structure,),
                                  {"_fields_": fields})
    return _DESCRIPTORS[rank]


def make_descriptor(array):
    """A descriptor for the C-contiguous numpy array `array` (not copied; keep
    the array alive while the descriptor is used)."""
    if not array.flags.c_contiguous:
        raise AotError("make_descriptor needs a C-contiguous array")
    desc = memref_descriptor_type(array.ndim)()
    desc.allocated = desc.aligned = array.ctypes.data
    desc.offset = 0
    if array.ndim:
        for d, (size, stride) in enumerate(zip(array.shape, array.strides)):
            desc.sizes[d] = size
            desc.strides[d] = stride // array.itemsize
    return desc


class ResultSpec:
    """One result of a call: a memref of `shape` (a tuple whose entries may be
    None for any size; () for rank 0) and element type `dtype`, or a scalar
    when `shape` is None."""

    def __init__(self, shape, dtype):
        self.shape = None if shape is None else tuple(
            None if s is None or s < 0 else int(s) for s in shape)
        self.dtype = numpy_dtype(dtype)
        if self.shape is None and self.dtype not in _CTYPES:
            raise AotError("scalar results of type {} are not supported".format(
                self.dtype))

    @classmethod
    def of(cls, spec):
        if isinstance(spec, ResultSpec):
            return spec
        if isinstance(spec, str):  # "index", "f32": a scalar
            return cls(None, spec)
        shape, dtype = spec
        return cls(shape, dtype)

    @property
    def is_memref(self):
        return self.shape is not None

    def ctype(self):
        if self.is_memref:
            return memref_descriptor_type(len(self.shape))
        return _CTYPES[self.dtype]

    def __repr__(self):
        return "ResultSpec({}, {})".format(self.shape, self.dtype)


# --------------------------------------------------------------------------
# Loading and calling
# --------------------------------------------------------------------------

class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _libc():
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    libc.free.restype = None
    try:
        dladdr = libc.dladdr
    except AttributeError:  # glibc before 2.34 keeps it in libdl
        dladdr = ctypes.CDLL(ctypes.util.find_library("dl")).dladdr
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    dladdr.restype = ctypes.c_int
    return libc.free, dladdr


_FREE, _DLADDR = _libc()


def in_loaded_image(address):
    """Whether `address` lies in a loaded object (executable or shared
    library), as opposed to the heap."""
    info = _DlInfo()
    return _DLADDR(ctypes.c_void_p(address), ctypes.byref(info)) != 0


def _decode_memref(desc, spec, what):
    rank = len(spec.shape)
    shape = tuple(desc.sizes[d] for d in range(rank)) if rank else ()
    strides = tuple(desc.strides[d] for d in range(rank)) if rank else ()
    for d, (want, got) in enumerate(zip(spec.shape, shape)):
        if want is not None and want != got:
            raise AotError("{}: expected shape {}, the function returned {}".format(
                what, list(spec.shape), list(shape)))
    dtype = spec.dtype
    if any(s == 0 for s in shape):
        return np.empty(shape, dtype)
    if not desc.aligned:
        raise AotError("{}: the function returned a null buffer".format(what))
    # The span of elements the view touches, relative to aligned + offset.
    low = sum(min(0, (s - 1) * st) for s, st in zip(shape, strides))
    high = sum(max(0, (s - 1) * st) for s, st in zip(shape, strides))
    count = high - low + 1
    base = desc.aligned + (desc.offset + low) * dtype.itemsize
    raw = (ctypes.c_char * (count * dtype.itemsize)).from_address(base)
    flat = np.frombuffer(raw, dtype=dtype)
    view = np.lib.stride_tricks.as_strided(
        flat[-low:], shape=shape,
        strides=tuple(st * dtype.itemsize for st in strides))
    return np.array(view, copy=True)


class Library:
    """A shared library built by compile_shared_library, loaded with ctypes."""

    def __init__(self, path):
        self.path = str(path)
        try:
            self._dll = ctypes.CDLL(self.path)
        except OSError as e:
            raise AotError("cannot load {}: {}".format(self.path, e)) from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Unloads the library (dlclose). A later load of the same path after
        it was rebuilt then sees the new file."""
        if self._dll is not None:
            import _ctypes
            _ctypes.dlclose(self._dll._handle)
            self._dll = None

    def has_function(self, name):
        try:
            self._entry(name)
            return True
        except AotError:
            return False

    def _entry(self, name):
        if self._dll is None:
            raise AotError("{} is closed".format(self.path))
        symbol = "_mlir_ciface_" + name
        try:
            return self._dll[symbol]  # a fresh function pointer object
        except AttributeError:
            raise AotError(
                "{} has no {} (is @{} a public function with a body, compiled "
                "with emit-c-interface?)".format(self.path, symbol, name)) from None

    def call(self, name, *args, results=(), free_results=True):
        """Calls @`name` through `_mlir_ciface_<name>`.

        `args`: numpy arrays for memref arguments (copied to C-contiguous
        buffers of their dtype; 0-d arrays are rank-0 memrefs), numpy scalars
        (np.int64(3), np.float32(0.5)) for scalar arguments.
        `results`: one (shape, dtype) per result of the function, in order;
        shape None (or a bare dtype string such as "index") for a scalar.
        Returns a list with one numpy array per memref result and one numpy
        scalar per scalar result."""
        entry = self._entry(name)
        specs = [ResultSpec.of(r) for r in results]

        keep_alive = []
        argument_spans = []
        c_args = []
        for i, arg in enumerate(args):
            if isinstance(arg, np.ndarray):
                if arg.dtype not in _MEMREF_DTYPES:
                    raise AotError("@{} argument {}: unsupported dtype {}".format(
                        name, i, arg.dtype))
                buffer = np.array(arg, order="C", copy=True)
                desc = make_descriptor(buffer)
                keep_alive.append((buffer, desc))
                argument_spans.append(
                    (buffer.ctypes.data, buffer.ctypes.data + buffer.nbytes))
                c_args.append(ctypes.byref(desc))
            elif isinstance(arg, np.generic):
                ctype = _CTYPES.get(arg.dtype)
                if ctype is None:
                    raise AotError("@{} argument {}: unsupported scalar type "
                                   "{}".format(name, i, arg.dtype))
                c_args.append(ctype(arg.item()))
            else:
                raise AotError(
                    "@{} argument {}: expected a numpy array (memref) or a numpy "
                    "scalar such as np.int64(1), got {}".format(
                        name, i, type(arg).__name__))

        out = None
        if not specs:
            entry.restype = None
        elif len(specs) == 1 and not specs[0].is_memref:
            entry.restype = specs[0].ctype()
        else:
            entry.restype = None
            if len(specs) == 1:
                out = specs[0].ctype()()
            else:
                fields = [("r{}".format(k), s.ctype()) for k, s in enumerate(specs)]
                out = type("Results", (ctypes.Structure,), {"_fields_": fields})()
            c_args.insert(0, ctypes.byref(out))
        returned = entry(*c_args)

        if not specs:
            return []
        if out is None:
            return [specs[0].dtype.type(returned)]
        fields = [out] if len(specs) == 1 else [
            getattr(out, "r{}".format(k)) for k in range(len(specs))]
        values = []
        error = None
        for k, (spec, field) in enumerate(zip(specs, fields)):
            if not spec.is_memref:
                values.append(spec.dtype.type(field))
                continue
            if error is None:
                try:
                    values.append(_decode_memref(
                        field, spec, "@{} result {}".format(name, k)))
                except AotError as e:
                    error = e  # still free the remaining buffers
        if free_results:
            self._free_results(
                [f for s, f in zip(specs, fields) if s.is_memref],
                argument_spans)
        if error is not None:
            raise error
        return values

    @staticmethod
    def _free_results(descriptors, argument_spans):
        freed = set()
        for desc in descriptors:
            ptr = desc.allocated
            if not ptr or ptr == _DEADBEEF or ptr in freed:
                continue
            if any(lo <= ptr < hi for lo, hi in argument_spans):
                continue
            if in_loaded_image(ptr):
                continue
            _FREE(ptr)
            freed.add(ptr)


def load(path):
    return Library(path)


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(
        prog="python -m hqdm.aot",
        description="Compile an MLIR module to a shared library whose public "
                    "functions have _mlir_ciface_ entry points.")
    parser.add_argument("module", help="MLIR file (hqdm, linalg on tensors)")
    parser.add_argument("out_dir", help="directory for NAME.so and the "
                        "intermediate files")
    parser.add_argument("--hqdm-opt", default=None,
                        help="hqdm-opt to run (default: $HQDM_OPT, then PATH)")
    parser.add_argument("--name", default=None,
                        help="base name of the outputs (default: the module's)")
    args, pipeline_args = parser.parse_known_args(argv)
    try:
        print(compile_shared_library(args.module, args.out_dir,
                                     hqdm_opt=args.hqdm_opt, name=args.name,
                                     pipeline_args=pipeline_args))
    except AotError as e:
        sys.stderr.write("python -m hqdm.aot: error: {}\n".format(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


class DeviceModel:
    """A whole-model library (compiled with whole_model=True) run through the
    C ABI of libhqdm_cuda_runtime.so: the model owns device buffers for its
    inputs and outputs; a call copies the inputs there, runs one step (eager
    the first time, then captured into a CUDA graph and replayed) and copies
    the outputs back."""

    def __init__(self, path, hqdm_opt=None, weights=None, runtime=None):
        """Loads the library `path`. `weights`: its external weights file
        (default: the one it names, beside it; see compile_shared_library).
        `runtime`: libhqdm_cuda_runtime.so or its directory (default:
        find_cuda_runtime, which needs no hqdm-opt when $HQDM_CUDA_RUNTIME
        is set)."""
        self.path = Path(path)
        self.runtime = find_cuda_runtime(runtime, hqdm_opt)
        # Loaded first and by path, so that the library's own dependency on
        # it (by soname) resolves to this copy wherever its rpath points.
        self._model = None
        self._rt = rt = ctypes.CDLL(str(self.runtime))
        P, I, S = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
        for fn, res, args in [
                ("hqdm_model_load", P, [ctypes.c_char_p]),
                ("hqdm_model_load_with_weights", P,
                 [ctypes.c_char_p, ctypes.c_char_p]),
                ("hqdm_model_weight_tensors", S, [P]),
                ("hqdm_model_weight_bytes", ctypes.c_uint64, [P]),
                ("hqdm_model_free", None, [P]),
                ("hqdm_model_num_inputs", I, [P]),
                ("hqdm_model_num_outputs", I, [P]),
                ("hqdm_model_input_type", ctypes.c_char_p, [P, I]),
                ("hqdm_model_output_type", ctypes.c_char_p, [P, I]),
                ("hqdm_model_input_bytes", S, [P, I]),
                ("hqdm_model_output_bytes", S, [P, I]),
                ("hqdm_model_input", P, [P, I]),
                ("hqdm_model_output", P, [P, I]),
                ("hqdm_model_step", I, [P]),
                ("hqdm_model_use_graphs", I, [P, I]),
                ("hqdm_model_graph_nodes", S, [P]),
                ("hqdm_last_error", ctypes.c_char_p, []),
                ("hqdm_copy_to_device", None, [P, P, S]),
                ("hqdm_copy_to_host", None, [P, P, S]),
                ("hqdm_device_bytes", ctypes.c_uint64, [])]:
            getattr(rt, fn).restype = res
            getattr(rt, fn).argtypes = args
        self.weights = None if weights is None else Path(weights)
        self._model = rt.hqdm_model_load_with_weights(
            str(self.path).encode(),
            None if weights is None else str(weights).encode())
        if not self._model:
            raise AotError(rt.hqdm_last_error().decode())
        self.inputs = [self._spec(rt.hqdm_model_input_type(self._model, i))
                       for i in range(rt.hqdm_model_num_inputs(self._model))]
        self.outputs = [self._spec(rt.hqdm_model_output_type(self._model, i))
                        for i in range(rt.hqdm_model_num_outputs(self._model))]

    @staticmethod
    def _spec(text):
        dtype, dims = text.decode().split()
        shape = () if dims == "scalar" else tuple(int(d) for d in dims.split("x"))
        return shape, numpy_dtype(dtype)

    def use_graphs(self, enabled):
        self._rt.hqdm_model_use_graphs(self._model, int(bool(enabled)))

    def graph_nodes(self):
        """Kernels and copies of the captured step (0 before the capture)."""
        return self._rt.hqdm_model_graph_nodes(self._model)

    def device_bytes(self):
        """Device memory the runtime holds (pooled buffers and weights)."""
        return self._rt.hqdm_device_bytes()

    def weight_tensors(self):
        """Tensors of the external weights file (0: embedded weights)."""
        return self._rt.hqdm_model_weight_tensors(self._model)

    def weight_bytes(self):
        """Device bytes of the external weights (0: embedded weights, which
        the first step uploads; device_bytes counts them then)."""
        return self._rt.hqdm_model_weight_bytes(self._model)

    def write_inputs(self, *args):
        """Copies the inputs (numpy arrays) to the model's device buffers."""
        if len(args) != len(self.inputs):
            raise TypeError("the model takes {} inputs, got {}".format(
                len(self.inputs), len(args)))
        rt = self._rt
        for i, (a, (shape, dtype)) in enumerate(zip(args, self.inputs)):
            a = np.ascontiguousarray(a, dtype=dtype)
            if a.shape != shape:
                raise ValueError("input {}: shape {}, the model takes {}".format(
                    i, a.shape, shape))
            rt.hqdm_copy_to_device(rt.hqdm_model_input(self._model, i),
                                   a.ctypes.data, a.nbytes)

    def step(self):
        """One step on the inputs in the device buffers (synchronous)."""
        if self._rt.hqdm_model_step(self._model) != 0:
            raise AotError(self._rt.hqdm_last_error().decode())

    def __call__(self, *args):
        self.write_inputs(*args)
        self.step()
        rt = self._rt
        results = []
        for i, (shape, dtype) in enumerate(self.outputs):
            out = np.empty(shape, dtype=dtype)
            rt.hqdm_copy_to_host(out.ctypes.data,
                                 rt.hqdm_model_output(self._model, i),
                                 out.nbytes)
            results.append(out)
        return results[0] if len(results) == 1 else tuple(results)

    def close(self):
        if self._model:
            self._rt.hqdm_model_free(self._model)
            self._model = None
