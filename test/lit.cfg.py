# -*- Python -*-
#===- lit.cfg.py - hqdm lit configuration --------------------------------===#
#
# The test logic: formats, suffixes, tools and substitutions. Build facts come
# from lit.site.cfg.py, which CMake generates.
#
#===----------------------------------------------------------------------===#

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "HQDM"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "reference", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py", "Unit"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.hqdm_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

lib = config.llvm_lib_dir
# Ahead of lit's own %python (its interpreter): the tests need numpy, which
# the project's virtual environment has.
config.substitutions.insert(0, ("%python", config.python_executable))
config.substitutions.append(("%reference", os.path.join(
    config.hqdm_src_root, "test", "Integration", "reference")))
config.substitutions.append(("%host_cc", config.host_cc))
config.substitutions.append(("%mlir_runner_utils",
                             os.path.join(lib, "libmlir_runner_utils.so")))
config.substitutions.append(("%mlir_c_runner_utils",
                             os.path.join(lib, "libmlir_c_runner_utils.so")))
# Runs a lowered module's @main the way every integration test does.
config.substitutions.append((
    "%run_main",
    "mlir-runner -e main -entry-point-result=void -shared-libs={},{}".format(
        os.path.join(lib, "libmlir_runner_utils.so"),
        os.path.join(lib, "libmlir_c_runner_utils.so"))))

# The Python package (python/hqdm): importable in every RUN line, and told
# where the tools of this build are (hqdm-opt, the LLVM tools, the C compiler).
config.substitutions.append(("%hqdm_src", config.hqdm_src_root))
hqdm_python = os.path.join(config.hqdm_src_root, "python")
config.substitutions.append(("%hqdm_python", hqdm_python))
config.environment["PYTHONPATH"] = hqdm_python
config.environment["HQDM_OPT"] = os.path.join(config.hqdm_tools_dir, "hqdm-opt")
config.environment["HQDM_LLVM_BIN"] = config.llvm_tools_dir
config.environment["CC"] = config.host_cc

tools = [
    ToolSubst("hqdm-opt", unresolved="fatal"),
    ToolSubst("hqdm-hadamard", unresolved="fatal"),
    ToolSubst("mlir-runner", unresolved="fatal"),
    ToolSubst("mlir-translate", unresolved="fatal"),
    ToolSubst("llc", unresolved="fatal"),
]
llvm_config.add_tool_substitutions(
    tools, [config.hqdm_tools_dir, config.llvm_tools_dir])

if config.ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.ptxas))

    config.environment["CUDA_HOME"] = os.path.dirname(
        os.path.dirname(config.ptxas))

if config.sanitizers:
    config.available_features.add("asan")
    # Any report (errors, leaks, UBSan findings) fails the test.
    # allow_user_poisoning=0: hqdm's instrumented code and the uninstrumented
    # libMLIR.so share the context's llvm::BumpPtrAllocator slabs. A slab that
    # hqdm's inlined allocator starts is poisoned whole, and libMLIR's own
    # (unannotated) allocations from it are then reported as use-after-poison
    # by the memmove interceptor: a false positive that depends only on where
    # slab boundaries fall (hadamard.test, quantize.test and float-layers.test
    # hit it at 845151f).
    config.environment["ASAN_OPTIONS"] = (
        "detect_leaks=1:abort_on_error=1:allow_user_poisoning=0")
    config.environment["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
