//===- Passes.td - hqdm conversion passes ------------------*- tablegen -*-===//
//
// This file declares the conversions out of the hqdm dialect.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_CONVERSION_PASSES_TD
#define HQDM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertHqdmToLinalgPass : Pass<"convert-hqdm-to-linalg"> {
  let summary = "Lower hqdm ops to linalg, tensor, arith, math and scf on tensors";
  let description = [{
    The CPU reference semantics of every hqdm op, written as linalg-on-tensors
    so that the rest of MLIR's CPU pipeline can bufferize and compile it. It is
    the oracle that GPU kernels are compared against, so it follows the
    numerics contract literally:

    * quantizers divide by the scale, round half to even (`math.roundeven`),
      add the zero point and clamp; a zero scale yields the zero point;
    * `hqdm.hadamard` reshapes the rotated axis into `[blocks, K, 2, ..., 2]`
      and applies the dense K x K product, then one two-point butterfly per
      power-of-two factor (the fast transform), then scales by `f32(1/sqrt(B))`;
      this order of f32 operations is part of the reference;
    * `hqdm.qlinear` and `hqdm.qconv2d` subtract zero points and accumulate
      in `i32` (`linalg.generic` and `linalg.conv_2d_nchw_fchw`), then
      dequantize as `((acc * sx) * sw) * multiplier + bias` in `f32`;
    * the float layers compute in `f32` whatever their element type and
      round only the result: `hqdm.linear` is a `linalg.generic` reduction
      over K reading the weight through a transposed map, `hqdm.conv2d` a
      `tensor.pad` and `linalg.conv_2d_nchw_fchw`, each followed by the bias;
      an `input_rotation` becomes an `hqdm.hadamard` of the weight (its K
      axis, or axis 1 of a conv weight), lowered like any other;
      `hqdm.gelu` (erf, or tanh with `sqrt(2/pi)`), `hqdm.silu` and
      `hqdm.modulate` are elementwise; `hqdm.layer_norm` and
      `hqdm.group_norm` (on `[N, G, C/G, ...]`) reduce twice, for the mean
      and then the biased variance; `hqdm.softmax` subtracts the maximum
      along its axis before `exp`; `hqdm.tensor_scale` and
      `hqdm.token_scale` are an absmax reduction and one division;
    * `hqdm.linear`'s `input_shift` s is added to the input in `f32` before
      the product, `(x + s) * W^T + b`; `activation_scales` is metadata for
      the quantization passes and has no effect here;
    * `hqdm.channel_shift` is elementwise, `(x - shift[c]) / divisor[c]` in
      `f32`;
    * `hqdm.observe` computes the channel minima and maxima in one
      `linalg.generic` reduction in `f32` (`minnumf`/`maxnumf` from +-inf, so
      NaNs are skipped and an all-NaN channel keeps +inf/-inf), and the
      histogram in an `scf.for` over the flattened input that extracts each
      element and increments one bin of the histogram tensor it carries
      (linalg cannot scatter); the bin is
      `clamp(floor(((x - low) * bins) / (high - low)), 0, bins - 1)` in `f64`,
      in that order, and NaN elements are not counted;
    * `hqdm.step_index` extends the timestep's first element to `f64` and
      keeps the step of least `|t - steps[i]|`, the first one on ties (a NaN
      timestep selects step 0): an unrolled `cmpf`/`select` chain for up to
      64 steps, an `scf.for` over a constant `tensor<Nxf64>` beyond;
    * `hqdm.step_select` is a `tensor.extract_slice` of the clamped step's
      (or group's) entry, for scale and zero-point tables alike.

    Example:

    ```mlir
    %q = hqdm.quantize %x, %s <bits = 4>
        : (tensor<8xf32>, tensor<f32>) -> tensor<8xi8>
    ```

    becomes

    ```mlir
    %q = linalg.generic {indexing_maps = [...], iterator_types = ["parallel"]}
        ins(%x, %s : tensor<8xf32>, tensor<f32>) outs(%e : tensor<8xi8>) {
      // divf, math.roundeven, maxnumf/minnumf clamp to [-7, 7], fptosi, trunci
    } -> tensor<8xi8>
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def EmitCInterfacePass : Pass<"hqdm-emit-c-interface", "::mlir::ModuleOp"> {
  let summary = "Mark public functions for C-interface wrappers";
  let description = [{
    Sets `llvm.emit_c_interface` on every public `func.func` with a body, so
    that `convert-func-to-llvm` emits `_mlir_ciface_<name>` wrappers taking
    memref descriptors by pointer. Used when a model is compiled ahead of time
    to a shared library that C code calls.
  }];
}

def ConvertHqdmToGPUPass : Pass<"convert-hqdm-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Compile quantized linear layers to generated CUDA kernels";
  let description = [{
    Replaces each `hqdm.qlinear` whose activations come from an
    `hqdm.quantize` (symmetric, at most 8 bits) of an optionally
    block-Hadamard-rotated f32 tensor by an `hqdm.gpu_launch` of two kernels
    generated for its shapes and added to `gpu.module @hqdm_kernels`:

    * a prologue, one warp per row: the block rotation in the CPU
      reference's operation order, so bit-identical (power-of-two blocks up
      to 4096 and K x 2^m blocks with 2^m >= 32 up to 4608: the H_K product
      and butterflies at distances of 32 or more in registers, shorter
      butterflies by warp shuffles), the
      per-token absmax scale (or the given per-tensor or per-step scale),
      round-half-even quantization and packing to 4 or 8 bits;
    * a GEMM on the tensor cores: `mma.sync m16n8k64` on packed s4 operands
      when both are 4-bit and the chip is sm_80/86/89; otherwise
      `mma.sync m16n8k32` on s8, with 4-bit operands kept packed in memory
      and unpacked to bytes in registers (Hopper has no 4-bit tensor-core
      math). Weights are centered on their zero points at compile time and
      stored as 4-bit values, one int8 plane, or two int8 digits
      `w = lo + 128 * hi` for exactly rotated weights that exceed a byte.
      Two-stage cp.async pipeline through shared memory; tiles of 64 or 128
      chosen from the layer's shape. On sm_90a the GEMM instead runs
      `wgmma.mma_async m64nNk32` s8 on one warpgroup, with activations and
      weights stored as bytes and read from shared memory through matrix
      descriptors. The epilogue dequantizes
      (`((acc * sx) * sw) * multiplier + bias`), applies an `hqdm.gelu`
      that is the layer's only user (fused: the launch produces its result),
      and stores f32, f16 or bf16.

    With `fuse-ops` (the default) the kernels also run the ops around a
    layer: the prologue of a linear layer runs the producers of its float
    input that only the quantization reads (a LayerNorm over K, when the
    prologue holds the row in registers, then hqdm.modulate, hqdm.silu and
    hqdm.gelu), and the epilogue runs a chain of elementwise
    `linalg.generic` consumers of the result (DiT's gate and residual add),
    reading their other operands, slices of them included, in place. The
    layer's remark lists what each kernel runs.

    Layers the kernels do not cover stay as they are, for the CPU lowering,
    with a remark saying why (`--remarks-filter=hqdm-lower-to-cuda`).
  }];
  let options = [
    Option<"chip", "chip", "std::string", "\"sm_90\"",
           "Target: sm_80, sm_86, sm_89, sm_90 or sm_90a">,
    Option<"smCount", "sm-count", "int64_t", "132",
           "Streaming multiprocessors to fill when choosing tiles">,
    Option<"fuseGelu", "fuse-gelu", "bool", "true",
           "Fuse an hqdm.gelu that is a layer's only user into the GEMM "
           "epilogue (its erf and tanh come from libdevice); off, no fused "
           "code calls a math function">,
    Option<"fuseOps", "fuse-ops", "bool", "true",
           "Fuse a linear layer's LayerNorm, modulate, SiLU and GELU "
           "producers into its prologue, and elementwise linalg.generic "
           "consumers of a layer's result into its GEMM epilogue">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def ConvertAttentionToGPUPass
    : Pass<"convert-attention-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Run softmax(scale * q * k^T) * v as one fused tensor-core kernel";
  let description = [{
    Recognizes an attention as torch-mlir and `hqdm-quantize` leave it, on
    tensors: a `linalg.batch_matmul` of q and k^T into a zero-filled init,
    an `hqdm.softmax` over its last axis, a `linalg.batch_matmul` of the
    probabilities and v, with reshapes around them and a constant scale
    multiplying q, k or the scores. q, k and v are traced up through
    `tensor.expand_shape`, `tensor.collapse_shape`, `tensor.extract_slice`
    and `linalg.transpose` to the buffers they are views of (the qkv
    projection's output), and the output down through the reshapes and
    transposes that merge the heads back. The whole of it becomes one
    `hqdm.gpu_launch` of a kernel generated for its shapes (in
    `gpu.module @hqdm_attention`): FlashAttention-style, 64 query rows of
    one (batch, head) per block of 4 warps, K and V tiles staged in shared
    memory as f16, `mma.sync m16n8k16` f16 with f32 accumulation for
    q * k^T and p * v, an online softmax in f32 with `ex2.approx`, head
    dims zero-padded to a multiple of 16 (up to 128) and keys past the end
    masked.

    ```mlir
    %s = linalg.batch_matmul ins(%q, %kt : tensor<4x16x32xf32>, tensor<4x32x16xf32>)
                             outs(%zero : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
    %p = hqdm.softmax %s : tensor<4x16x16xf32>
    %o = linalg.batch_matmul ins(%p, %v : tensor<4x16x16xf32>, tensor<4x16x32xf32>)
                             outs(%zero2 : tensor<4x16x32xf32>) -> tensor<4x16x32xf32>
    ```

    becomes

    ```mlir
    %o = hqdm.gpu_launch "attention0" ins(%qkv : tensor<6144xf32>)
        outs(%init : tensor<2048xf32>) {launches = [...], temps = []}
        -> tensor<2048xf32>
    ```

    An attention that does not match (a mask or another elementwise op on
    the scores, other element types, probabilities used elsewhere, a head
    dim above 128, operands that are not strided views of one buffer)
    stays as it is, with a remark saying why
    (`--remarks-filter=hqdm-lower-to-cuda`).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def GpuLaunchToHostPass : Pass<"hqdm-gpu-launch-to-host", "::mlir::ModuleOp"> {
  let summary = "Turn bufferized hqdm.gpu_launch ops into GPU host operations";
  let description = [{
    Each `hqdm.gpu_launch` on memrefs becomes, on one asynchronous stream:
    a device buffer per operand and temp (`gpu.alloc`), copies of the inputs
    to the device, the `gpu.launch_func` ops in order, copies of the outputs
    back, `gpu.dealloc` of every device buffer, and a final `gpu.wait`.
    Operands with a non-identity layout go through a contiguous host copy.

    With `device-resident`, the operands already live in device memory
    (a whole model on the GPU): they are passed to the kernels as they are,
    only the temps are allocated, and the launches are left synchronous for
    `gpu-async-region` to chain on the function's stream.
  }];
  let options = [
    Option<"deviceResident", "device-resident", "bool", "false",
           "Operands are device buffers: no copies">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def MapToGpuPass : Pass<"hqdm-map-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Run the linalg ops and parallel loops of host functions as kernels";
  let description = [{
    The plain path to the GPU for what is not a quantized layer (norms,
    softmax, elementwise chains, batch matmuls): every linalg op on buffers
    in a host function becomes `scf.parallel` over its parallel dimensions
    with its reductions as sequential loops inside, and every outermost
    `scf.parallel` becomes a `gpu.launch` with one thread per iteration: the
    iteration space is linearized in row-major order, so consecutive threads
    take consecutive innermost indices, and split into blocks of
    `block-size` threads. Linalg ops without a parallel dimension (a
    reduction to a scalar, a rank-0 update) and any other loop left at the
    top level run in a single thread; strided `memref.copy` ops become
    element-wise parallel loops.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "256",
           "Threads per block">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def BuffersToDevicePass
    : Pass<"hqdm-buffers-to-device", "::mlir::ModuleOp"> {
  let summary = "Keep every buffer of the host functions in device memory";
  let description = [{
    For a model whose computation all runs in kernels: in the host functions,
    `memref.alloc`/`memref.dealloc` become `gpu.alloc`/`gpu.dealloc`,
    `memref.copy` between contiguous buffers becomes a device `gpu.memcpy`,
    and each `memref.get_global` (weights, tables) becomes the device copy
    that the runtime uploads on first use and keeps
    (`hqdmDeviceConstant(host, bytes)`). Function arguments and results are
    device buffers. An operation left on the host that would read or write
    a buffer is an error naming it: it would touch device memory from the
    CPU.

    With `external-weights=FILE`, the weights and tables leave the module:
    their bytes (laid out as the LLVM lowering of the globals would lay them
    out) go to FILE in safetensors format, one tensor per global named after
    its symbol, and each use becomes
    `hqdmDeviceWeight(@hqdm_model_weights, offset, bytes)`, the device copy
    of that tensor which the runtime uploads when the model is loaded with
    the file (`hqdm_model_load_with_weights`). `hqdm_model_weights`, a
    NUL-terminated string constant, tells the runtime which file it needs:

    ```
    hqdm-model-weights v1
    file dit.weights.safetensors
    tensors 15
    bytes 1369088
    fingerprint 8d2f6a0c51e3b7f4
    ```

    (the file's base name, its number of tensors, the bytes of tensor data,
    and an FNV-1a hash of the tensor list: each tensor's name, dtype, shape
    and data offsets, not the data). Before:

    ```mlir
    %w = memref.get_global @__constant_64x64xi32 : memref<64x64xi32>
    ```

    After (the global is gone):

    ```mlir
    %p = llvm.call @hqdmDeviceWeight(%table, %offset, %bytes)
        : (!llvm.ptr, i64, i64) -> !llvm.ptr
    %w = builtin.unrealized_conversion_cast %descriptor
        : !llvm.struct<...> to memref<64x64xi32>
    ```
  }];
  let options = [
    Option<"externalWeights", "external-weights", "std::string", "\"\"",
           "Write the weights and tables to this safetensors file instead of "
           "keeping them in the module">,
  ];
  let statistics = [
    Statistic<"numExternalTensors", "external-tensors",
              "Globals written to the external weights file">,
    Statistic<"numExternalBytes", "external-bytes",
              "Bytes of tensor data in the external weights file">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def ReportLaunchesPass : Pass<"hqdm-report-launches", "::mlir::ModuleOp"> {
  let summary = "Report the kernel launches of each host function";
  let description = [{
    Emits a remark (category `hqdm-lower-to-cuda`) per function with
    `gpu.launch_func` ops: how many kernels one call launches, how many of
    them are generated quantized-layer kernels, and the device buffers it
    allocates.
  }];
}

def EmitModelSignaturePass
    : Pass<"hqdm-emit-model-signature", "::mlir::ModuleOp"> {
  let summary = "Describe a model's entry point for the runtime's C ABI";
  let description = [{
    Adds `hqdm_model_signature`, a NUL-terminated string constant that
    `hqdm_model_load` (include/hqdm/Runtime/Model.h) reads to call the
    function through its C interface:

    ```
    hqdm-model-signature v1
    function forward
    in f32 2x16x64
    out f32 2x16x64
    ```

    One `in` line per argument and one `out` line per result, each a
    statically shaped buffer (`scalar` for rank 0). A function with another
    kind of argument gets no signature and an error.
  }];
  let options = [
    Option<"function", "function", "std::string", "\"forward\"",
           "The entry point">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // HQDM_CONVERSION_PASSES_TD
