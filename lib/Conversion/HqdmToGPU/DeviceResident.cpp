//===- DeviceResident.cpp - a whole model in device memory -------*- C++ -*-===//
//
// The passes that put a whole model on the GPU once its quantized layers are
// kernels of their own (HqdmToGPU.cpp):
//
// * hqdm-map-to-gpu runs every other computation (the linalg ops on
//   buffers) as a kernel: a one-dimensional launch with a thread per point
//   of the parallel dimensions, or a single thread when there is none;
// * hqdm-buffers-to-device moves every buffer of the host functions to the
//   device (weights included, uploaded once by the runtime, from the module
//   or from a safetensors file written beside it) and rejects whatever
//   would still touch memory from the CPU;
// * hqdm-report-launches says how many kernels one call launches;
// * hqdm-emit-model-signature describes the entry point for the C ABI.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"
#include "Kernels.h"
#include "hqdm/Conversion/Passes.h"

#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Remarks.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::hqdm {
#define GEN_PASS_DEF_MAPTOGPUPASS
#define GEN_PASS_DEF_BUFFERSTODEVICEPASS
#define GEN_PASS_DEF_REPORTLAUNCHESPASS
#define GEN_PASS_DEF_EMITMODELSIGNATUREPASS
#include "hqdm/Conversion/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;

namespace {

/// The functions that run on the host: those outside gpu.module ops.
SmallVector<func::FuncOp> hostFunctions(ModuleOp module) {
  return llvm::to_vector(module.getOps<func::FuncOp>());
}

/// Whether a device copy of contiguous bytes can stand for a copy of `v`.
bool isContiguous(Value v) {
  return memref::isStaticShapeAndContiguousRowMajor(
      cast<MemRefType>(v.getType()));
}

/// Walks the host part of `func`: every op except those inside kernels.
void walkHost(func::FuncOp func, function_ref<void(Operation *)> callback) {
  func.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (isa<gpu::LaunchOp>(op))
      return WalkResult::skip();
    callback(op);
    return WalkResult::advance();
  });
}

//===----------------------------------------------------------------------===//
// hqdm-map-to-gpu
//===----------------------------------------------------------------------===//

struct MapToGpuPass
    : hqdm::impl::MapToGpuPassBase<MapToGpuPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockSize <= 0 || blockSize > 1024) {
      emitError(getOperation().getLoc())
          << "block-size must be in [1, 1024], got "
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    for (func::FuncOp func : hostFunctions(getOperation())) {
      SmallVector<linalg::LinalgOp> linalgOps;
      walkHost(func, [&](Operation *op) {
        if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
          linalgOps.push_back(linalgOp);
      });
      for (linalg::LinalgOp op : linalgOps)
        if (failed(lowerLinalg(op)))
          return signalPassFailure();
      SmallVector<memref::CopyOp> copies;
      walkHost(func, [&](Operation *op) {
        if (auto copy = dyn_cast<memref::CopyOp>(op))
          if (!isContiguous(copy.getSource()) ||
              !isContiguous(copy.getTarget()))
            copies.push_back(copy);
      });
      for (memref::CopyOp copy : copies)
        copyAsLoop(copy);
      SmallVector<scf::ParallelOp> loops;
      walkHost(func, [&](Operation *op) {
        auto loop = dyn_cast<scf::ParallelOp>(op);
        if (loop && !loop->getParentOfType<scf::ParallelOp>() &&
            loop.getNumResults() == 0)
          loops.push_back(loop);
      });
      for (scf::ParallelOp loop : loops)
        convert(loop);
      // What is left touching memory at the top level (loops without a
      // parallel dimension, such as a reduction to a scalar) runs in one
      // thread.
      for (Block &block : func.getBody())
        for (Operation &op : llvm::make_early_inc_range(block))
          if (op.getNumResults() == 0 && !isa<gpu::GPUDialect>(op.getDialect()) &&
              accessesMemory(&op))
            runInOneThread(&op);
    }
  }

  /// Parallel loops for the kernel of a linalg op with a parallel
  /// dimension; a single-thread kernel with sequential loops otherwise.
  LogicalResult lowerLinalg(linalg::LinalgOp op) {
    if (!op.hasPureBufferSemantics())
      return op->emitOpError() << "is not bufferized";
    IRRewriter rewriter(op->getContext());
    if (op.getNumParallelLoops() == 0) {
      runInOneThread(op);
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToLoops(rewriter, op)))
        return op->emitOpError() << "cannot be lowered to loops";
    } else {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToParallelLoops(rewriter, op)))
        return op->emitOpError() << "cannot be lowered to parallel loops";
    }
    rewriter.eraseOp(op);
    return success();
  }

  static bool accessesMemory(Operation *root) {
    WalkResult result = root->walk([](Operation *op) {
      auto effects = dyn_cast<MemoryEffectOpInterface>(op);
      if (effects && (effects.hasEffect<MemoryEffects::Read>() ||
                      effects.hasEffect<MemoryEffects::Write>()))
        return WalkResult::interrupt();
      return WalkResult::advance();
    });
    return result.wasInterrupted();
  }

  void runInOneThread(Operation *op) {
    OpBuilder b(op);
    Value one = arith::ConstantIndexOp::create(b, op->getLoc(), 1);
    auto launch =
        gpu::LaunchOp::create(b, op->getLoc(), one, one, one, one, one, one);
    OpBuilder body = OpBuilder::atBlockBegin(&launch.getBody().front());
    auto terminator = gpu::TerminatorOp::create(body, op->getLoc());
    op->moveBefore(terminator);
  }

  /// A strided copy as an element-wise parallel loop (a device copy of
  /// contiguous bytes cannot do it).
  void copyAsLoop(memref::CopyOp copy) {
    OpBuilder b(copy);
    Location loc = copy.getLoc();
    auto type = cast<MemRefType>(copy.getSource().getType());
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    SmallVector<Value> lower(type.getRank(), zero), steps(type.getRank(), one);
    SmallVector<Value> upper;
    for (int64_t d = 0; d < type.getRank(); ++d)
      upper.push_back(memref::DimOp::create(b, loc, copy.getSource(), d));
    scf::ParallelOp::create(
        b, loc, lower, upper, steps,
        [&](OpBuilder &nested, Location l, ValueRange ivs) {
          Value v = memref::LoadOp::create(nested, l, copy.getSource(), ivs);
          memref::StoreOp::create(nested, l, v, copy.getTarget(), ivs);
        });
    copy.erase();
  }

  /// `loop` as a launch of ceil(iterations / block-size) blocks; thread i
  /// runs iteration i of the row-major linearized space.
  void convert(scf::ParallelOp loop) {
    OpBuilder b(loop);
    Location loc = loop.getLoc();
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value one = index(1);
    SmallVector<Value> trips;
    Value total = one;
    for (auto [lb, ub, step] : llvm::zip(loop.getLowerBound(),
                                         loop.getUpperBound(),
                                         loop.getStep())) {
      // ceil((ub - lb) / step), zero when ub <= lb.
      Value span = arith::SubIOp::create(b, loc, ub, lb);
      Value positive = arith::MaxSIOp::create(b, loc, span, index(0));
      Value trip = arith::CeilDivUIOp::create(b, loc, positive, step);
      trips.push_back(trip);
      total = arith::MulIOp::create(b, loc, total, trip);
    }
    Value threads = index(blockSize);
    Value blocks = arith::MaxUIOp::create(
        b, loc, arith::CeilDivUIOp::create(b, loc, total, threads), one);
    auto launch = gpu::LaunchOp::create(b, loc, blocks, one, one, threads,
                                        one, one);

    OpBuilder body = OpBuilder::atBlockBegin(&launch.getBody().front());
    Value linear = arith::AddIOp::create(
        body, loc,
        arith::MulIOp::create(body, loc, launch.getBlockIds().x, threads),
        launch.getThreadIds().x);
    Value inRange = arith::CmpIOp::create(body, loc, arith::CmpIPredicate::ult,
                                          linear, total);
    auto guard = scf::IfOp::create(body, loc, inRange, /*withElse=*/false);
    gpu::TerminatorOp::create(body, loc);

    OpBuilder inner = guard.getThenBodyBuilder();
    IRMapping mapping;
    Value rest = linear;
    for (int64_t d = loop.getNumLoops() - 1; d >= 0; --d) {
      Value position = arith::RemUIOp::create(inner, loc, rest, trips[d]);
      rest = arith::DivUIOp::create(inner, loc, rest, trips[d]);
      Value iv = arith::AddIOp::create(
          inner, loc, loop.getLowerBound()[d],
          arith::MulIOp::create(inner, loc, position, loop.getStep()[d]));
      mapping.map(loop.getInductionVars()[d], iv);
    }
    for (Operation &op : loop.getBody()->without_terminator())
      inner.clone(op, mapping);
    loop.erase();
  }
};

//===----------------------------------------------------------------------===//
// hqdm-buffers-to-device
//===----------------------------------------------------------------------===//

/// How the external weights file stores a global's elements: the
/// safetensors dtype and the bytes per element, as the LLVM lowering lays
/// out the global (i1 and narrower integers take a byte each, zero-extended;
/// `index` is 64-bit).
struct StoredType {
  StringRef dtype;
  int64_t bytes = 0;
};

std::optional<StoredType> storedType(Type type) {
  if (type.isF64())
    return StoredType{"F64", 8};
  if (type.isF32())
    return StoredType{"F32", 4};
  if (type.isF16())
    return StoredType{"F16", 2};
  if (type.isBF16())
    return StoredType{"BF16", 2};
  if (isa<IndexType>(type))
    return StoredType{"I64", 8};
  auto integer = dyn_cast<IntegerType>(type);
  if (!integer)
    return std::nullopt;
  bool isUnsigned = integer.isUnsigned();
  switch (integer.getWidth()) {
  case 1:
    return StoredType{"BOOL", 1};
  case 8:
    return StoredType{isUnsigned ? "U8" : "I8", 1};
  case 16:
    return StoredType{isUnsigned ? "U16" : "I16", 2};
  case 32:
    return StoredType{isUnsigned ? "U32" : "I32", 4};
  case 64:
    return StoredType{isUnsigned ? "U64" : "I64", 8};
  default:
    if (integer.getWidth() < 8)
      return StoredType{"U8", 1};
    return std::nullopt;
  }
}

/// One global moved to the external weights file.
struct ExternalTensor {
  mutable memref::GlobalOp global; ///< Op accessors are not const.
  StoredType stored;
  int64_t offset = 0; ///< Into the file's data section.
  int64_t bytes = 0;
};

/// 64-bit FNV-1a, the fingerprint of the tensor list (the runtime computes
/// the same from the file's header: lib/Runtime/Model.cpp).
uint64_t fnv1a(StringRef text, uint64_t hash = 0xcbf29ce484222325ull) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

/// The fingerprint of a tensor list: the hash of one line per tensor,
/// "NAME DTYPE [D0,D1,...] BEGIN END\n", in the order of the names. It
/// covers what the host code relies on (which bytes hold which tensor), not
/// the values, so that a file of other values of the same tensors matches.
uint64_t fingerprint(
    const llvm::MapVector<Operation *, ExternalTensor> &tensors) {
  std::vector<std::string> lines;
  for (const auto &entry : tensors) {
    const ExternalTensor &t = entry.second;
    std::string line;
    llvm::raw_string_ostream os(line);
    os << t.global.getSymName() << " " << t.stored.dtype << " [";
    llvm::interleave(t.global.getType().getShape(), os, ",");
    os << "] " << t.offset << " " << t.offset + t.bytes << "\n";
    lines.push_back(std::move(line));
  }
  llvm::sort(lines);
  uint64_t hash = fnv1a("");
  for (const std::string &line : lines)
    hash = fnv1a(line, hash);
  return hash;
}

struct BuffersToDevicePass
    : hqdm::impl::BuffersToDevicePassBase<BuffersToDevicePass> {
  using Base::Base;

  /// The symbol of the weights file's description in the module.
  static constexpr StringLiteral kWeightsSymbol = "hqdm_model_weights";

  void runOnOperation() override {
    ModuleOp module = getOperation();
    LLVMTypeConverter converter(&getContext());
    bool external = !externalWeights.empty();
    llvm::MapVector<Operation *, ExternalTensor> tensors;
    if (external) {
      if (failed(planExternalTensors(tensors)))
        return signalPassFailure();
      addWeightsDescription(tensors);
    }
    for (func::FuncOp func : hostFunctions(module)) {
      SmallVector<Operation *> ops;
      walkHost(func, [&](Operation *op) { ops.push_back(op); });
      for (Operation *op : ops)
        if (failed(convert(op, converter, external ? &tensors : nullptr)))
          return signalPassFailure();
    }
    for (func::FuncOp func : hostFunctions(module)) {
      WalkResult result = WalkResult::advance();
      walkHost(func, [&](Operation *op) {
        if (failed(checkStaysOffMemory(op)))
          result = WalkResult::interrupt();
      });
      if (result.wasInterrupted())
        return signalPassFailure();
    }
    if (!external)
      return;
    if (failed(writeWeightsFile(tensors)))
      return signalPassFailure();
    // The data now lives in the file; globals that kernels still reference
    // (none in a module this pipeline builds) keep theirs.
    for (auto &entry : tensors) {
      memref::GlobalOp global = entry.second.global;
      if (SymbolTable::symbolKnownUseEmpty(global, module))
        global.erase();
    }
  }

  /// The globals read by host functions, in module order, with their
  /// places in the weights file's data section (contiguous: safetensors
  /// allows no holes; the runtime aligns each tensor on the device).
  LogicalResult
  planExternalTensors(llvm::MapVector<Operation *, ExternalTensor> &tensors) {
    ModuleOp module = getOperation();
    llvm::SmallPtrSet<Operation *, 16> used;
    for (func::FuncOp func : hostFunctions(module))
      walkHost(func, [&](Operation *op) {
        auto get = dyn_cast<memref::GetGlobalOp>(op);
        if (!get || get.use_empty())
          return;
        if (Operation *global = SymbolTable::lookupNearestSymbolFrom(
                get, get.getNameAttr()))
          used.insert(global);
      });
    int64_t offset = 0;
    for (auto global : module.getOps<memref::GlobalOp>()) {
      if (!used.contains(global))
        continue;
      MemRefType type = global.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity())
        return global.emitOpError()
               << "is not a static, contiguous global; external-weights "
                  "cannot store it";
      std::optional<StoredType> stored = storedType(type.getElementType());
      if (!stored)
        return global.emitOpError()
               << "has element type " << type.getElementType()
               << ", which external-weights cannot store";
      auto init = global.getInitialValue();
      if (!init || !isa<DenseElementsAttr, DenseResourceElementsAttr>(*init))
        return global.emitOpError()
               << "has no dense initial value for external-weights to store";
      ExternalTensor tensor{global, *stored, offset,
                            type.getNumElements() * stored->bytes};
      offset += tensor.bytes;
      tensors.insert({global, tensor});
    }
    return success();
  }

  /// `hqdm_model_weights`: what the runtime checks the file against.
  void addWeightsDescription(
      const llvm::MapVector<Operation *, ExternalTensor> &tensors) {
    ModuleOp module = getOperation();
    int64_t bytes = 0;
    for (const auto &entry : tensors)
      bytes += entry.second.bytes;
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "hqdm-model-weights v1\nfile "
       << llvm::sys::path::filename(externalWeights) << "\ntensors "
       << tensors.size() << "\nbytes " << bytes << "\nfingerprint "
       << llvm::format_hex_no_prefix(fingerprint(tensors), 16) << "\n";
    text.push_back('\0');
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto type = LLVM::LLVMArrayType::get(b.getI8Type(), text.size());
    auto global = LLVM::GlobalOp::create(
        b, module.getLoc(), type, /*isConstant=*/true, LLVM::Linkage::External,
        kWeightsSymbol, b.getStringAttr(text));
    // Exported for the loader's dlsym, but the library's own references bind
    // to its own copy, so that the key the host code passes is the address
    // the loader registered even if another library with the same symbol
    // was loaded with RTLD_GLOBAL.
    global.setDsoLocal(true);
  }

  /// Writes the tensors in safetensors format: the header's length (8 bytes,
  /// little-endian), the JSON header padded with spaces to 8 bytes, then the
  /// data.
  LogicalResult writeWeightsFile(
      const llvm::MapVector<Operation *, ExternalTensor> &tensors) {
    ModuleOp module = getOperation();
    llvm::json::Object header;
    int64_t total = 0;
    for (const auto &entry : tensors) {
      const ExternalTensor &t = entry.second;
      llvm::json::Array shape;
      for (int64_t d : t.global.getType().getShape())
        shape.push_back(d);
      header[t.global.getSymName()] = llvm::json::Object{
          {"dtype", t.stored.dtype},
          {"shape", std::move(shape)},
          {"data_offsets", llvm::json::Array{t.offset, t.offset + t.bytes}}};
      total += t.bytes;
    }
    std::string hex;
    llvm::raw_string_ostream(hex)
        << llvm::format_hex_no_prefix(fingerprint(tensors), 16);
    header["__metadata__"] = llvm::json::Object{
        {"format", "hqdm-model-weights v1"}, {"fingerprint", hex}};
    std::string json;
    llvm::raw_string_ostream(json) << llvm::json::Value(std::move(header));
    json.append((8 - json.size() % 8) % 8, ' ');

    std::error_code ec;
    llvm::raw_fd_ostream os(externalWeights, ec, llvm::sys::fs::OF_None);
    if (ec)
      return module.emitError() << "cannot write the external weights file '"
                                << externalWeights << "': " << ec.message();
    char length[8];
    llvm::support::endian::write64le(length, json.size());
    os.write(length, sizeof(length));
    os << json;
    for (const auto &entry : tensors)
      if (failed(writeTensor(entry.second, os)))
        return failure();
    os.close();
    if (os.has_error())
      return module.emitError() << "cannot write the external weights file '"
                                << externalWeights
                                << "': " << os.error().message();
    numExternalTensors += tensors.size();
    numExternalBytes += total;
    return success();
  }

  /// The bytes of a global's initial value, as the LLVM lowering would lay
  /// them out in the module.
  LogicalResult writeTensor(const ExternalTensor &t, raw_ostream &os) {
    Attribute init = *t.global.getInitialValue();
    int64_t count = t.global.getType().getNumElements();
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(init)) {
      AsmResourceBlob *blob = resource.getRawHandle().getBlob();
      if (!blob)
        return t.global.emitOpError()
               << "refers to a resource without data; load the weights "
                  "first (hqdm-load-weights)";
      ArrayRef<char> data = blob->getData();
      if (static_cast<int64_t>(data.size()) != t.bytes)
        return t.global.emitOpError()
               << "has " << data.size() << " bytes of resource data, "
               << t.bytes << " expected";
      os.write(data.data(), data.size());
      return success();
    }
    auto dense = cast<DenseElementsAttr>(init);
    Type element = dense.getElementType();
    unsigned width = isa<IndexType>(element)
                         ? 64
                         : element.getIntOrFloatBitWidth();
    if (width == 8 * t.stored.bytes) {
      // Raw storage is the little-endian elements, one when splat.
      ArrayRef<char> raw = dense.getRawData();
      if (dense.isSplat()) {
        for (int64_t i = 0; i < count; ++i)
          os.write(raw.data(), t.stored.bytes);
        return success();
      }
      if (static_cast<int64_t>(raw.size()) != t.bytes)
        return t.global.emitOpError()
               << "has " << raw.size() << " bytes of data, " << t.bytes
               << " expected";
      os.write(raw.data(), raw.size());
      return success();
    }
    // i1 and narrow integers: a byte each, zero-extended.
    for (const APInt &value : dense.getValues<APInt>())
      os << static_cast<char>(value.getZExtValue());
    return success();
  }

  LogicalResult
  convert(Operation *op, const LLVMTypeConverter &converter,
          const llvm::MapVector<Operation *, ExternalTensor> *tensors) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      auto device = gpu::AllocOp::create(
          b, loc, alloc.getType(), Type(), ValueRange{},
          alloc.getDynamicSizes(), alloc.getSymbolOperands());
      alloc.replaceAllUsesWith(device.getMemref());
      alloc.erase();
      return success();
    }
    if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
      gpu::DeallocOp::create(b, loc, Type(), ValueRange{},
                             dealloc.getMemref());
      dealloc.erase();
      return success();
    }
    if (auto copy = dyn_cast<memref::CopyOp>(op)) {
      if (!isContiguous(copy.getSource()) || !isContiguous(copy.getTarget()))
        return copy.emitOpError()
               << "copies a strided buffer, which hqdm-buffers-to-device "
                  "cannot do on the device";
      gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, copy.getTarget(),
                            copy.getSource());
      copy.erase();
      return success();
    }
    if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
      if (tensors) {
        if (global.use_empty()) {
          global.erase();
          return success();
        }
        Operation *symbol =
            SymbolTable::lookupNearestSymbolFrom(global, global.getNameAttr());
        return deviceWeight(global, tensors->lookup(symbol), converter);
      }
      return deviceConstant(global, converter);
    }
    if (isa<memref::AllocaOp>(op))
      return op->emitOpError()
             << "is a stack buffer of the host; a model on the device "
                "cannot use one";
    return success();
  }

  /// The declaration of a runtime function, added once.
  LLVM::LLVMFuncOp runtimeFunction(StringRef name, Type result,
                                   ArrayRef<Type> arguments) {
    ModuleOp module = getOperation();
    if (auto callee = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
      return callee;
    OpBuilder top = OpBuilder::atBlockBegin(module.getBody());
    return LLVM::LLVMFuncOp::create(
        top, module.getLoc(), name,
        LLVM::LLVMFunctionType::get(result, arguments));
  }

  /// `device` (a pointer to the start of a buffer of `type`) as a memref.
  static Value asMemRef(OpBuilder &b, Location loc,
                        const LLVMTypeConverter &converter, MemRefType type,
                        Value device) {
    Value descriptor =
        MemRefDescriptor::fromStaticShape(b, loc, converter, type, device);
    return UnrealizedConversionCastOp::create(b, loc, type, descriptor)
        .getResult(0);
  }

  /// Replaces a global read by the device copy of its tensor in the
  /// external weights file:
  /// `hqdmDeviceWeight(@hqdm_model_weights, offset, bytes)`.
  LogicalResult deviceWeight(memref::GetGlobalOp global,
                             const ExternalTensor &tensor,
                             const LLVMTypeConverter &converter) {
    if (!tensor.global)
      return global.emitOpError()
             << "reads a global that external-weights did not store";
    MLIRContext *ctx = &getContext();
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    LLVM::LLVMFuncOp callee =
        runtimeFunction("hqdmDeviceWeight", ptrType, {ptrType, i64, i64});
    OpBuilder b(global);
    Location loc = global.getLoc();
    Value table = LLVM::AddressOfOp::create(b, loc, ptrType, kWeightsSymbol);
    Value offset = LLVM::ConstantOp::create(b, loc, i64, tensor.offset);
    Value size = LLVM::ConstantOp::create(b, loc, i64, tensor.bytes);
    Value device =
        LLVM::CallOp::create(b, loc, callee, ValueRange{table, offset, size})
            .getResult();
    global.replaceAllUsesWith(
        asMemRef(b, loc, converter, global.getType(), device));
    global.erase();
    return success();
  }

  /// Replaces the uses of a host global by the device copy the runtime
  /// keeps: `hqdmDeviceConstant(host address, bytes)` wrapped in a
  /// descriptor of the same static type.
  LogicalResult deviceConstant(memref::GetGlobalOp global,
                               const LLVMTypeConverter &converter) {
    MemRefType type = global.getType();
    if (!type.hasStaticShape() || !type.getLayout().isIdentity())
      return global.emitOpError()
             << "is not a static, contiguous global; its device copy cannot "
                "be described";
    if (global.use_empty())
      return success();
    MLIRContext *ctx = &getContext();
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    LLVM::LLVMFuncOp callee =
        runtimeFunction("hqdmDeviceConstant", ptrType, {ptrType, i64});

    OpBuilder b(global->getContext());
    b.setInsertionPointAfter(global);
    Location loc = global.getLoc();
    Value address =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, global);
    Value hostAddress = arith::IndexCastOp::create(b, loc, i64, address);
    Value host = LLVM::IntToPtrOp::create(b, loc, ptrType, hostAddress);
    int64_t bytes =
        type.getNumElements() *
        llvm::divideCeil(type.getElementTypeBitWidth(), 8);
    Value size = LLVM::ConstantOp::create(b, loc, i64, bytes);
    Value device =
        LLVM::CallOp::create(b, loc, callee, ValueRange{host, size})
            .getResult();
    Value replacement = asMemRef(b, loc, converter, type, device);
    global.getResult().replaceUsesWithIf(replacement, [&](OpOperand &use) {
      return use.getOwner() != address.getDefiningOp();
    });
    return success();
  }

  /// Host code may allocate, copy on the device and launch, but not read or
  /// write a buffer itself: every buffer is in device memory now.
  LogicalResult checkStaysOffMemory(Operation *op) {
    if (isa<gpu::GPUDialect>(op->getDialect()))
      return success();
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      bool passesBuffers = llvm::any_of(call.getOperandTypes(), [](Type t) {
        return isa<BaseMemRefType>(t);
      });
      if (callee && callee.isExternal() && passesBuffers)
        return call.emitOpError()
               << "passes device buffers to @" << callee.getSymName()
               << ", which runs on the host";
      return success();
    }
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects) {
      bool touchesBuffers = llvm::any_of(op->getOperandTypes(), [](Type t) {
        return isa<BaseMemRefType>(t);
      });
      if (!touchesBuffers || op->hasTrait<OpTrait::ReturnLike>() ||
          isa<RegionBranchOpInterface, UnrealizedConversionCastOp>(op))
        return success();
      return op->emitOpError()
             << "stays on the host with device buffers as operands";
    }
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (const MemoryEffects::EffectInstance &effect : instances) {
      if (!isa<MemoryEffects::Read, MemoryEffects::Write>(effect.getEffect()))
        continue;
      Value value = effect.getValue();
      if (value && !isa<BaseMemRefType>(value.getType()))
        continue;
      // Reading a host global's address (its device copy is made from it).
      if (isa<memref::GetGlobalOp, memref::ExtractAlignedPointerAsIndexOp>(op))
        continue;
      return op->emitOpError()
             << "stays on the host but would access a device buffer; only "
                "quantized layers, linalg ops and loops become kernels";
    }
    return success();
  }
};

//===----------------------------------------------------------------------===//
// hqdm-report-launches
//===----------------------------------------------------------------------===//

struct ReportLaunchesPass
    : hqdm::impl::ReportLaunchesPassBase<ReportLaunchesPass> {
  void runOnOperation() override {
    for (func::FuncOp func : hostFunctions(getOperation())) {
      int64_t launches = 0, generated = 0, attention = 0, allocations = 0;
      func.walk([&](Operation *op) {
        if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
          ++launches;
          StringRef module = launch.getKernelModuleName().getValue();
          if (module == hqdm::gpu_kernels::kKernelModule)
            ++generated;
          else if (module == hqdm::gpu_kernels::kAttentionModule)
            ++attention;
        } else if (isa<gpu::AllocOp>(op)) {
          ++allocations;
        }
      });
      if (launches == 0)
        continue;
      remark::analysis(func.getLoc(), remark::RemarkOpts::name("Launches")
                                          .category("hqdm-lower-to-cuda"))
          << ("@" + func.getSymName().str() + " launches " +
              std::to_string(launches) + " kernels per call (" +
              std::to_string(generated) + " of quantized layers, " +
              (attention ? std::to_string(attention) + " of attention, "
                         : std::string()) +
              std::to_string(launches - generated - attention) +
              " from parallel loops) and allocates " +
              std::to_string(allocations) + " device buffers");
    }
  }
};

//===----------------------------------------------------------------------===//
// hqdm-emit-model-signature
//===----------------------------------------------------------------------===//

struct EmitModelSignaturePass
    : hqdm::impl::EmitModelSignaturePassBase<EmitModelSignaturePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(function);
    if (!func || func.isExternal())
      return;
    std::string text = "hqdm-model-signature v1\nfunction " + function + "\n";
    auto describe = [&](StringRef kind, Type type, unsigned index) {
      auto memref = dyn_cast<MemRefType>(type);
      if (!memref || !memref.hasStaticShape() ||
          !memref.getLayout().isIdentity()) {
        func.emitError() << kind << " " << index << " of @" << function
                         << " is " << type
                         << ", not a static contiguous buffer the runtime's "
                            "C ABI can pass";
        return false;
      }
      std::string element;
      llvm::raw_string_ostream os(element);
      memref.getElementType().print(os);
      text += (kind == "argument" ? "in " : "out ") + element + " ";
      if (memref.getRank() == 0)
        text += "scalar";
      for (auto [d, size] : llvm::enumerate(memref.getShape()))
        text += (d ? "x" : "") + std::to_string(size);
      text += "\n";
      return true;
    };
    for (auto [i, type] : llvm::enumerate(func.getArgumentTypes()))
      if (!describe("argument", type, i))
        return signalPassFailure();
    for (auto [i, type] : llvm::enumerate(func.getResultTypes()))
      if (!describe("result", type, i))
        return signalPassFailure();
    text.push_back('\0');

    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto type = LLVM::LLVMArrayType::get(b.getI8Type(), text.size());
    LLVM::GlobalOp::create(b, module.getLoc(), type, /*isConstant=*/true,
                           LLVM::Linkage::External, "hqdm_model_signature",
                           b.getStringAttr(text));
  }
};

} // namespace
