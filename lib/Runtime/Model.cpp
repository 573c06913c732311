//===- Model.cpp - Load a whole-model library and run its steps ----------===//
//
// The model half of the C ABI in include/hqdm/Runtime/Model.h. A library
// compiled with hqdm-lower-to-cuda{whole-model emit-c-interface} exports
// `_mlir_ciface_<function>` and `hqdm_model_signature`, a text the compiler
// writes (hqdm-emit-model-signature):
//
//   hqdm-model-signature v1
//   function forward
//   in f32 2x16x64
//   out f32 2x16x64
//
// The loader reads it, owns a device buffer per input and output, and calls
// the function through MLIR's C interface: a pointer to the result
// descriptor(s) first when there are results, then a pointer to each
// argument's descriptor {allocated, aligned, offset, sizes[], strides[]}.
//
// A library compiled with external weights also exports
// `hqdm_model_weights`; the loader checks and uploads the weights file it
// names (Weights.cpp) before the model's first step.
//
//===----------------------------------------------------------------------===//

#include "Weights.h"

#include "hqdm/Runtime/CudaRuntime.h"
#include "hqdm/Runtime/Model.h"

#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#define HQDM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

thread_local std::string lastError;

int usageError(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int usageError(const char *fmt, ...) {
  char buffer[4096];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buffer, sizeof(buffer), fmt, args);
  va_end(args);
  lastError = buffer;
  return -1;
}

/// One argument or result: its element type, shape and device buffer.
struct Buffer {
  std::string type; ///< The signature's text, e.g. "f32 2x16x64".
  std::vector<int64_t> shape;
  int64_t elementSize = 0;
  size_t bytes = 0;
  void *device = nullptr;
};

int64_t elementBytes(const std::string &element) {
  static const std::pair<const char *, int64_t> sizes[] = {
      {"f64", 8}, {"f32", 4}, {"f16", 2}, {"bf16", 2}, {"i64", 8},
      {"i32", 4}, {"i16", 2}, {"i8", 1},  {"i1", 1}};
  for (auto [name, size] : sizes)
    if (element == name)
      return size;
  return 0;
}

/// Parses "f32 2x16x64" (or "f32 scalar"); false when malformed.
bool parseBuffer(const std::string &text, Buffer &buffer) {
  std::istringstream in(text);
  std::string element, dims;
  if (!(in >> element >> dims))
    return false;
  int64_t size = elementBytes(element);
  if (size == 0)
    return false;
  buffer.type = text;
  buffer.elementSize = size;
  int64_t count = 1;
  if (dims != "scalar") {
    std::istringstream dimsIn(dims);
    std::string dim;
    while (std::getline(dimsIn, dim, 'x')) {
      char *end = nullptr;
      long long value = std::strtoll(dim.c_str(), &end, 10);
      if (dim.empty() || *end || value < 0)
        return false;
      buffer.shape.push_back(value);
      count *= value;
    }
  }
  buffer.bytes = static_cast<size_t>(count * size);
  return true;
}

/// A memref descriptor of a contiguous buffer, as 64-bit words.
std::vector<int64_t> descriptor(const Buffer &buffer) {
  std::vector<int64_t> words = {reinterpret_cast<int64_t>(buffer.device),
                                reinterpret_cast<int64_t>(buffer.device), 0};
  words.insert(words.end(), buffer.shape.begin(), buffer.shape.end());
  int64_t stride = 1;
  std::vector<int64_t> strides(buffer.shape.size());
  for (size_t d = buffer.shape.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= buffer.shape[d];
  }
  words.insert(words.end(), strides.begin(), strides.end());
  return words;
}

constexpr size_t kMaxArguments = 8;

} // namespace

struct hqdm_model {
  void *library = nullptr;
  void *entry = nullptr; ///< _mlir_ciface_<function>
  std::vector<Buffer> inputs, outputs;
  hqdm::runtime::WeightSet *weights = nullptr; ///< External weights.
  hqdm_graph *graph = nullptr;
  bool useGraphs = true;
  int64_t steps = 0;

  ~hqdm_model() {
    hqdm_graph_destroy(graph);
    // Only what was allocated: a load that failed before touching the
    // device must not start it (there may be none).
    for (Buffer &b : inputs)
      if (b.device)
        hqdm_device_free(b.device);
    for (Buffer &b : outputs)
      if (b.device)
        hqdm_device_free(b.device);
    hqdm::runtime::releaseWeights(weights);
    if (library)
      dlclose(library);
  }

  /// Calls the function once on the model's buffers and copies its results
  /// into the output buffers, all on one stream (the capturing one when a
  /// capture is in progress).
  void call();
};

void hqdm_model::call() {
  std::vector<std::vector<int64_t>> args;
  for (const Buffer &b : inputs)
    args.push_back(descriptor(b));
  // The results: descriptors laid out one after another.
  size_t resultSize = 0;
  for (const Buffer &b : outputs)
    resultSize += 3 + 2 * b.shape.size();
  std::vector<int64_t> results(resultSize, 0);
  std::vector<void *> pointers;
  if (!outputs.empty())
    pointers.push_back(results.data());
  for (auto &words : args)
    pointers.push_back(words.data());
  using P = void *;
  switch (pointers.size()) {
#define HQDM_CALL(N, ...)                                                      \
  case N:                                                                      \
    reinterpret_cast<void (*)(__VA_ARGS__)>(entry)
    HQDM_CALL(1, P)(pointers[0]);
    break;
    HQDM_CALL(2, P, P)(pointers[0], pointers[1]);
    break;
    HQDM_CALL(3, P, P, P)(pointers[0], pointers[1], pointers[2]);
    break;
    HQDM_CALL(4, P, P, P, P)(pointers[0], pointers[1], pointers[2],
                             pointers[3]);
    break;
    HQDM_CALL(5, P, P, P, P, P)(pointers[0], pointers[1], pointers[2],
                                pointers[3], pointers[4]);
    break;
    HQDM_CALL(6, P, P, P, P, P, P)(pointers[0], pointers[1], pointers[2],
                                   pointers[3], pointers[4], pointers[5]);
    break;
    HQDM_CALL(7, P, P, P, P, P, P, P)(pointers[0], pointers[1], pointers[2],
                                      pointers[3], pointers[4], pointers[5],
                                      pointers[6]);
    break;
    HQDM_CALL(8, P, P, P, P, P, P, P, P)(pointers[0], pointers[1],
                                         pointers[2], pointers[3],
                                         pointers[4], pointers[5],
                                         pointers[6], pointers[7]);
    break;
    HQDM_CALL(9, P, P, P, P, P, P, P, P, P)(pointers[0], pointers[1],
                                            pointers[2], pointers[3],
                                            pointers[4], pointers[5],
                                            pointers[6], pointers[7],
                                            pointers[8]);
    break;
#undef HQDM_CALL
  }
  // The results were allocated by the step (from the pool); copy them to
  // the model's buffers and give them back.
  void *stream = mgpuStreamCreate();
  size_t offset = 0;
  for (Buffer &b : outputs) {
    auto *aligned = reinterpret_cast<char *>(results[offset + 1]);
    int64_t elementOffset = results[offset + 2];
    mgpuMemcpy(b.device, aligned + elementOffset * b.elementSize, b.bytes,
               stream);
    mgpuMemFree(reinterpret_cast<void *>(results[offset]), stream);
    offset += 3 + 2 * b.shape.size();
  }
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
}

namespace {
/// The file a library's weights description names, in the library's
/// directory.
std::string besideLibrary(const char *library, const std::string &file) {
  std::string path = library;
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? file : path.substr(0, slash + 1) + file;
}
} // namespace

HQDM_EXPORT hqdm_model *hqdm_model_load(const char *path) {
  return hqdm_model_load_with_weights(path, nullptr);
}

HQDM_EXPORT hqdm_model *hqdm_model_load_with_weights(const char *path,
                                                     const char *weights) {
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *why = dlerror();
    usageError("cannot load %s: %s", path, why ? why : "dlopen failed");
    return nullptr;
  }
  auto *signature =
      static_cast<const char *>(dlsym(library, "hqdm_model_signature"));
  if (!signature) {
    dlclose(library);
    usageError("%s has no hqdm_model_signature: compile it with "
               "hqdm-lower-to-cuda{whole-model=true emit-c-interface=true}",
               path);
    return nullptr;
  }
  auto *model = new hqdm_model;
  model->library = library;
  std::istringstream lines(signature);
  std::string line, function;
  std::getline(lines, line);
  if (line != "hqdm-model-signature v1") {
    usageError("%s: unknown signature header '%s'", path, line.c_str());
    delete model;
    return nullptr;
  }
  while (std::getline(lines, line)) {
    if (line.empty())
      continue;
    std::string kind = line.substr(0, line.find(' '));
    std::string rest = line.substr(std::min(line.size(), kind.size() + 1));
    if (kind == "function") {
      function = rest;
      continue;
    }
    Buffer buffer;
    if ((kind != "in" && kind != "out") || !parseBuffer(rest, buffer)) {
      usageError("%s: malformed signature line '%s'", path, line.c_str());
      delete model;
      return nullptr;
    }
    (kind == "in" ? model->inputs : model->outputs).push_back(buffer);
  }
  std::string symbol = "_mlir_ciface_" + function;
  model->entry = dlsym(library, symbol.c_str());
  if (function.empty() || !model->entry) {
    usageError("%s has no %s: compile it with emit-c-interface=true", path,
               symbol.c_str());
    delete model;
    return nullptr;
  }
  if (model->inputs.size() > kMaxArguments) {
    usageError("%s: @%s has %zu arguments; the loader calls at most %zu",
               path, function.c_str(), model->inputs.size(), kMaxArguments);
    delete model;
    return nullptr;
  }
  // External weights: checked (no device needed) and uploaded first.
  auto *description =
      static_cast<const char *>(dlsym(library, "hqdm_model_weights"));
  if (!description && weights) {
    usageError("%s keeps its weights in the library (compiled without "
               "external-weights); it takes no weights file (%s)",
               path, weights);
    delete model;
    return nullptr;
  }
  if (description) {
    hqdm::runtime::WeightsDescription wanted;
    std::string error;
    if (!hqdm::runtime::parseWeightsDescription(description, wanted,
                                                error)) {
      usageError("%s: %s", path, error.c_str());
      delete model;
      return nullptr;
    }
    std::string file =
        weights ? std::string(weights) : besideLibrary(path, wanted.file);
    model->weights =
        hqdm::runtime::acquireWeights(description, wanted, file, error);
    if (!model->weights) {
      if (!weights)
        error += " (the library was compiled with external weights in " +
                 wanted.file +
                 ": put it beside the library or name it with "
                 "hqdm_model_load_with_weights)";
      usageError("%s", error.c_str());
      delete model;
      return nullptr;
    }
  }
  for (Buffer &b : model->inputs)
    b.device = hqdm_device_alloc(b.bytes ? b.bytes : 1);
  for (Buffer &b : model->outputs)
    b.device = hqdm_device_alloc(b.bytes ? b.bytes : 1);
  return model;
}

HQDM_EXPORT void hqdm_model_free(hqdm_model *model) { delete model; }

HQDM_EXPORT int hqdm_model_num_inputs(const hqdm_model *model) {
  return static_cast<int>(model->inputs.size());
}

HQDM_EXPORT int hqdm_model_num_outputs(const hqdm_model *model) {
  return static_cast<int>(model->outputs.size());
}

namespace {
const Buffer *lookup(const std::vector<Buffer> &buffers, int index,
                     const char *what) {
  if (index < 0 || index >= static_cast<int>(buffers.size())) {
    usageError("%s %d out of range: the model has %zu", what, index,
               buffers.size());
    return nullptr;
  }
  return &buffers[index];
}
} // namespace

HQDM_EXPORT const char *hqdm_model_input_type(const hqdm_model *model,
                                              int index) {
  const Buffer *b = lookup(model->inputs, index, "input");
  return b ? b->type.c_str() : nullptr;
}

HQDM_EXPORT const char *hqdm_model_output_type(const hqdm_model *model,
                                               int index) {
  const Buffer *b = lookup(model->outputs, index, "output");
  return b ? b->type.c_str() : nullptr;
}

HQDM_EXPORT size_t hqdm_model_input_bytes(const hqdm_model *model,
                                          int index) {
  const Buffer *b = lookup(model->inputs, index, "input");
  return b ? b->bytes : 0;
}

HQDM_EXPORT size_t hqdm_model_output_bytes(const hqdm_model *model,
                                           int index) {
  const Buffer *b = lookup(model->outputs, index, "output");
  return b ? b->bytes : 0;
}

HQDM_EXPORT void *hqdm_model_input(hqdm_model *model, int index) {
  const Buffer *b = lookup(model->inputs, index, "input");
  return b ? b->device : nullptr;
}

HQDM_EXPORT void *hqdm_model_output(hqdm_model *model, int index) {
  const Buffer *b = lookup(model->outputs, index, "output");
  return b ? b->device : nullptr;
}

HQDM_EXPORT int hqdm_model_step(hqdm_model *model) {
  if (model->graph) {
    hqdm_graph_launch(model->graph);
  } else if (model->useGraphs && model->steps > 0) {
    // Capturing records the step without running it.
    hqdm_graph_begin();
    model->call();
    model->graph = hqdm_graph_end();
    hqdm_graph_launch(model->graph);
  } else {
    model->call();
  }
  ++model->steps;
  return 0;
}

HQDM_EXPORT int hqdm_model_use_graphs(hqdm_model *model, int enabled) {
  model->useGraphs = enabled != 0;
  if (!model->useGraphs) {
    hqdm_graph_destroy(model->graph);
    model->graph = nullptr;
  }
  return 0;
}

HQDM_EXPORT size_t hqdm_model_graph_nodes(const hqdm_model *model) {
  return model->graph ? hqdm_graph_num_nodes(model->graph) : 0;
}

HQDM_EXPORT size_t hqdm_model_weight_tensors(const hqdm_model *model) {
  return hqdm::runtime::weightTensors(model->weights);
}

HQDM_EXPORT uint64_t hqdm_model_weight_bytes(const hqdm_model *model) {
  return hqdm::runtime::weightDeviceBytes(model->weights);
}

HQDM_EXPORT const char *hqdm_last_error(void) { return lastError.c_str(); }
