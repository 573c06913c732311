//===- Fatal.h - How the CUDA runtime ends on an error --------*- C++ -*-===//
//
// Internal to libhqdm_cuda_runtime.so, shared by its sources.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_LIB_RUNTIME_FATAL_H
#define HQDM_LIB_RUNTIME_FATAL_H

namespace hqdm::runtime {

/// Prints "hqdm CUDA runtime: <message>" on stderr, flushes both streams and
/// ends the process with status 1: the runtime's answer to a CUDA failure.
[[noreturn]] __attribute__((format(printf, 1, 2))) void fatal(const char *fmt,
                                                               ...);

} // namespace hqdm::runtime

#endif // HQDM_LIB_RUNTIME_FATAL_H
