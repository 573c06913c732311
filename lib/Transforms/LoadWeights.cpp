//===- LoadWeights.cpp - Attach safetensors data to dense_resource weights ===//
//
// An imported model refers to its parameters by name:
//
//   %w = arith.constant dense_resource<blocks.0.attn.qkv.weight>
//            : tensor<3456x1152xf32>
//
// with no `{-# dialect_resources #-}` entry for the key, so the resource
// handle has no blob. This pass maps a safetensors file (the format of
// `safetensors.torch.save_file`: an 8-byte little-endian header length, a
// JSON header of name -> {dtype, shape, data_offsets}, then the data) and
// attaches each tensor's bytes to the blob of the same name, without copying:
// the blob's deleter holds the mapping, so it lives as long as the last blob
// that points into it. Tensors whose bytes are not aligned to their element
// size are copied into a heap blob instead.
//
//===----------------------------------------------------------------------===//

#include "LayerUtils.h"

#include "hqdm/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Debug.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>

#define DEBUG_TYPE "hqdm-load-weights"

namespace mlir::hqdm {
#define GEN_PASS_DEF_LOADWEIGHTSPASS
#include "hqdm/Transforms/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;
namespace json = llvm::json;

namespace {

/// One tensor of a safetensors header.
struct TensorEntry {
  std::string dtype;
  SmallVector<int64_t> shape;
  /// Byte range in the file (absolute).
  uint64_t begin = 0, end = 0;
};

/// A mapped safetensors file and its parsed header.
struct SafetensorsFile {
  std::shared_ptr<llvm::MemoryBuffer> buffer;
  llvm::StringMap<TensorEntry> tensors;
};

/// Bytes per element of a safetensors dtype, 0 when the dtype is unknown.
unsigned dtypeSize(StringRef dtype) {
  return llvm::StringSwitch<unsigned>(dtype)
      .Cases({"F64", "I64", "U64"}, 8)
      .Cases({"F32", "I32", "U32"}, 4)
      .Cases({"F16", "BF16", "I16", "U16"}, 2)
      .Cases({"I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2"}, 1)
      .Default(0);
}

/// The safetensors dtype that stores `type`, or "" when none does.
StringRef dtypeOf(Type type) {
  if (type.isF32())
    return "F32";
  if (type.isF16())
    return "F16";
  if (type.isBF16())
    return "BF16";
  if (type.isF64())
    return "F64";
  if (isa<Float8E4M3FNType>(type))
    return "F8_E4M3";
  if (isa<Float8E5M2Type>(type))
    return "F8_E5M2";
  if (auto integer = dyn_cast<IntegerType>(type)) {
    if (integer.getWidth() == 1)
      return "BOOL";
    bool isUnsigned = integer.isUnsigned();
    switch (integer.getWidth()) {
    case 8:
      return isUnsigned ? "U8" : "I8";
    case 16:
      return isUnsigned ? "U16" : "I16";
    case 32:
      return isUnsigned ? "U32" : "I32";
    case 64:
      return isUnsigned ? "U64" : "I64";
    default:
      return "";
    }
  }
  return "";
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleaveComma(shape, os);
  os << "]";
  return text;
}

/// Reads one header entry; reports through `path`.
bool readEntry(const json::Value &value, uint64_t dataSize, TensorEntry &entry,
               json::Path path) {
  const json::Object *object = value.getAsObject();
  if (!object) {
    path.report("expected an object with dtype, shape and data_offsets");
    return false;
  }
  std::optional<StringRef> dtype = object->getString("dtype");
  if (!dtype) {
    path.field("dtype").report("missing or not a string");
    return false;
  }
  entry.dtype = dtype->str();
  unsigned size = dtypeSize(*dtype);
  if (!size) {
    path.field("dtype").report("unknown dtype (expected one of F64, F32, F16, "
                               "BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, "
                               "U64, U32, U16, U8, BOOL)");
    return false;
  }
  const json::Array *shape = object->getArray("shape");
  if (!shape) {
    path.field("shape").report("missing or not an array");
    return false;
  }
  uint64_t numel = 1;
  for (auto [i, d] : llvm::enumerate(*shape)) {
    std::optional<int64_t> dim = d.getAsInteger();
    if (!dim || *dim < 0) {
      path.field("shape").index(i).report("not a non-negative integer");
      return false;
    }
    if (*dim && numel > std::numeric_limits<uint64_t>::max() / 8 / *dim) {
      path.field("shape").report("too many elements");
      return false;
    }
    numel *= *dim;
    entry.shape.push_back(*dim);
  }
  const json::Array *offsets = object->getArray("data_offsets");
  if (!offsets || offsets->size() != 2) {
    path.field("data_offsets").report("missing or not [begin, end]");
    return false;
  }
  std::optional<int64_t> begin = (*offsets)[0].getAsInteger();
  std::optional<int64_t> end = (*offsets)[1].getAsInteger();
  if (!begin || !end || *begin < 0 || *end < *begin) {
    path.field("data_offsets").report("not integers 0 <= begin <= end");
    return false;
  }
  if (uint64_t(*end) > dataSize) {
    path.field("data_offsets")
        .report("past the end of the file's data section");
    return false;
  }
  if (uint64_t(*end - *begin) != numel * size) {
    path.field("data_offsets")
        .report("the range does not hold shape x dtype size bytes");
    return false;
  }
  entry.begin = *begin;
  entry.end = *end;
  return true;
}

/// Maps and parses `path`; on failure returns a message naming the file.
FailureOr<SafetensorsFile> openSafetensors(StringRef path,
                                           std::string &error) {
  auto where = ("weights file '" + path + "'").str();
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false,
                                  /*IsVolatile=*/false);
  if (!buffer) {
    error = "cannot open " + where + ": " + buffer.getError().message();
    return failure();
  }
  SafetensorsFile file;
  file.buffer = std::move(*buffer);
  StringRef bytes = file.buffer->getBuffer();
  if (bytes.size() < 8) {
    error = where + " is not a safetensors file: shorter than its 8-byte "
                    "header length";
    return failure();
  }
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | uint8_t(bytes[i]);
  if (headerSize > bytes.size() - 8) {
    error = where + " is not a safetensors file: its header length (" +
            std::to_string(headerSize) + " bytes) runs past the end of the "
            "file (" + std::to_string(bytes.size()) + " bytes)";
    return failure();
  }
  uint64_t dataStart = 8 + headerSize;
  uint64_t dataSize = bytes.size() - dataStart;
  llvm::Expected<json::Value> header =
      json::parse(bytes.substr(8, headerSize));
  if (!header) {
    error = where + ": malformed header: " +
            llvm::toString(header.takeError());
    return failure();
  }
  const json::Object *top = header->getAsObject();
  if (!top) {
    error = where + ": malformed header: not a JSON object";
    return failure();
  }
  json::Path::Root root("header");
  json::Path p(root);
  for (const auto &[name, value] : *top) {
    if (name == "__metadata__")
      continue;
    TensorEntry entry;
    if (!readEntry(value, dataSize, entry, p.field(name))) {
      error = where + ": malformed header entry '" + name.str() +
              "': " + llvm::toString(root.getError());
      return failure();
    }
    entry.begin += dataStart;
    entry.end += dataStart;
    file.tensors[name.str()] = std::move(entry);
  }
  return file;
}

struct LoadWeightsPass : hqdm::impl::LoadWeightsPassBase<LoadWeightsPass> {
  using LoadWeightsPassBase::LoadWeightsPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();

    // Blob-less resources, first use of each key.
    llvm::MapVector<StringRef, std::pair<DenseResourceElementsAttr,
                                         Operation *>>
        missing;
    module->walk([&](Operation *op) {
      op->getAttrDictionary().walk([&](DenseResourceElementsAttr attr) {
        DenseResourceElementsHandle handle = attr.getRawHandle();
        if (handle.getBlob())
          return;
        if (allowElided && handle.getKey().starts_with("__elided__"))
          return;
        missing.insert({handle.getKey(), {attr, op}});
      });
    });

    // The module attribute is only a default: when every weight already has
    // its data (e.g. an explicit file was loaded first), the file it names
    // is not needed and need not exist any more.
    std::string path = file;
    if (path.empty() && !missing.empty())
      if (auto attr = module->getAttrOfType<StringAttr>("hqdm.weights"))
        path = attr.str();
    if (path.empty()) {
      if (missing.empty())
        return;
      auto &[attr, op] = missing.front().second;
      op->emitError() << "weight '" << attr.getRawHandle().getKey()
                      << "' has no data and no weights file is given: pass "
                         "its safetensors file with "
                         "--hqdm-load-weights=file=... (hqdm-quantize: "
                         "weights=...) or set the module attribute "
                         "hqdm.weights";
      return signalPassFailure();
    }

    std::string error;
    FailureOr<SafetensorsFile> weights = openSafetensors(path, error);
    if (failed(weights)) {
      emitError(module.getLoc()) << error;
      return signalPassFailure();
    }
    if (missing.empty()) {
      LLVM_DEBUG(llvm::dbgs() << "hqdm-load-weights: no blob-less resources\n");
      return;
    }

    llvm::StringSet<> used;
    bool failedAny = false;
    for (auto &[key, use] : missing) {
      auto [attr, op] = use;
      auto type = cast<ShapedType>(attr.getType());
      std::string typeText = concat(type); // Unquoted in the messages.
      auto it = weights->tensors.find(key);
      if (it == weights->tensors.end()) {
        op->emitError() << "weight '" << key << "' (" << typeText
                        << ") is not in '" << path << "'";
        failedAny = true;
        continue;
      }
      const TensorEntry &entry = it->second;
      used.insert(key);
      StringRef dtype = dtypeOf(type.getElementType());
      if (dtype != entry.dtype) {
        op->emitError() << "weight '" << key << "' is " << typeText
                        << " in the IR but " << entry.dtype << " in '" << path
                        << "'"
                        << (dtype.empty() ? " (the IR's element type has no "
                                            "safetensors dtype)"
                                          : "");
        failedAny = true;
        continue;
      }
      if (!type.hasStaticShape() || type.getShape() != ArrayRef(entry.shape)) {
        op->emitError() << "weight '" << key << "' is " << typeText
                        << " in the IR but has shape "
                        << formatShape(entry.shape) << " in '" << path << "'";
        failedAny = true;
        continue;
      }
      unsigned size = dtypeSize(entry.dtype);
      ArrayRef<char> data(weights->buffer->getBufferStart() + entry.begin,
                          entry.end - entry.begin);
      AsmResourceBlob blob;
      if (reinterpret_cast<uintptr_t>(data.data()) % size == 0) {
        blob = AsmResourceBlob(
            data, size,
            [keep = weights->buffer](void *, size_t, size_t) {},
            /*dataIsMutable=*/false);
      } else {
        blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
            data, size, /*dataIsMutable=*/false);
        ++numCopied;
      }
      attr.getRawHandle().getResource()->setBlob(std::move(blob));
      ++numLoaded;
      numBytes += data.size();
    }
    if (failedAny)
      return signalPassFailure();

    size_t unused = weights->tensors.size() - used.size();
    numUnused += unused;
    LLVM_DEBUG({
      for (const auto &entry : weights->tensors)
        if (!used.contains(entry.getKey()))
          llvm::dbgs() << "hqdm-load-weights: '" << entry.getKey()
                       << "' in '" << path << "' is not used by the module\n";
    });
    remark::analysis(module.getLoc(), remarkOpts("hqdm-load-weights",
                                                 "Loaded"))
        << concat("loaded ", used.size(), " weights from '", path, "' (",
                  weights->tensors.size(), " in the file, ", unused,
                  " unused)");
  }
};

} // namespace
