//===- Weights.h - External weights of whole-model libraries --*- C++ -*-===//
//
// Internal to libhqdm_cuda_runtime.so. A whole-model library compiled with
// `external-weights=FILE` exports `hqdm_model_weights`, a description of
// FILE that hqdm-buffers-to-device writes:
//
//   hqdm-model-weights v1
//   file dit.weights.safetensors
//   tensors 15
//   bytes 81408
//   fingerprint 8156ac0d3e6f2b19
//
// and calls hqdmDeviceWeight(&hqdm_model_weights, offset, bytes) for each
// tensor it reads. The loader (Model.cpp) checks a safetensors file against
// the description, uploads it, and registers it under the description's
// address, which is how hqdmDeviceWeight finds the tensors of the library
// that calls it.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_LIB_RUNTIME_WEIGHTS_H
#define HQDM_LIB_RUNTIME_WEIGHTS_H

#include <cstdint>
#include <string>

namespace hqdm::runtime {

/// What a library says about the weights file it needs.
struct WeightsDescription {
  std::string file; ///< Base name of the file the compiler wrote.
  int64_t tensors = 0;
  uint64_t bytes = 0; ///< Of tensor data.
  uint64_t fingerprint = 0;
};

/// Parses `hqdm_model_weights`; false with `error` set when malformed.
bool parseWeightsDescription(const char *text, WeightsDescription &out,
                             std::string &error);

/// A weights file checked and uploaded to the device for one library.
struct WeightSet;

/// Maps `path`, checks it against `description` (the library's, at address
/// `key`), uploads every tensor to the device, and registers the result
/// under `key`. Loading the same library again with the same file shares
/// the set. Returns nullptr with `error` set when the file cannot be read
/// or does not match; a CUDA failure exits as every runtime call does.
WeightSet *acquireWeights(const void *key,
                          const WeightsDescription &description,
                          const std::string &path, std::string &error);

/// Gives a set back; the last release frees its device memory.
void releaseWeights(WeightSet *set);

size_t weightTensors(const WeightSet *set);
uint64_t weightDeviceBytes(const WeightSet *set);

} // namespace hqdm::runtime

#endif // HQDM_LIB_RUNTIME_WEIGHTS_H
