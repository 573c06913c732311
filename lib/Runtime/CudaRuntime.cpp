//===- CudaRuntime.cpp - The mgpu* host runtime on the CUDA driver API ----===//
//
// libhqdm_cuda_runtime.so: the host functions that MLIR 22's `gpu-to-llvm`
// lowering (and the LLVM translation of gpu.binary / gpu.launch_func) calls.
//
// Contract
// --------
// * Entry points and signatures are exactly those MLIR 22 emits (checked by
//   test/Runtime/runtime-symbols*.test against the lowered IR of
//   test/Runtime/Inputs/gpu-host.mlir):
//     ptr  mgpuModuleLoad(ptr data, i64 size)        cubin / fatbin / PTX
//     ptr  mgpuModuleLoadJIT(ptr data, i32 optLevel) PTX (format=isa)
//     void mgpuModuleUnload(ptr module)
//     ptr  mgpuModuleGetFunction(ptr module, ptr name)
//     void mgpuLaunchKernel(ptr f, i64 gx, i64 gy, i64 gz, i64 bx, i64 by,
//                           i64 bz, i32 smem, ptr stream, ptr params,
//                           ptr extra, i64 paramsCount)
//     ptr  mgpuStreamCreate(); void mgpuStreamSynchronize(ptr);
//     void mgpuStreamDestroy(ptr); void mgpuStreamWaitEvent(ptr, ptr event)
//     ptr  mgpuEventCreate(); void mgpuEventRecord(ptr event, ptr stream);
//     void mgpuEventSynchronize(ptr); void mgpuEventDestroy(ptr)
//     ptr  mgpuMemAlloc(i64 bytes, ptr stream, i8 hostShared)
//     void mgpuMemFree(ptr, ptr stream)
//     void mgpuMemcpy(ptr dst, ptr src, i64 bytes, ptr stream)
//     void mgpuMemset32(ptr dst, i32 value, i64 count, ptr stream)
//     void mgpuMemset16(ptr dst, i16 value, i64 count, ptr stream)
//     void mgpuMemHostRegister(ptr, i64 bytes); void mgpuMemHostUnregister(ptr)
//     void mgpuMemHostRegisterMemRef(i64 rank, ptr desc, i64 elemBytes)
//     void mgpuMemHostUnregisterMemRef(i64 rank, ptr desc, i64 elemBytes)
//     void mgpuSetDefaultDevice(i32 ordinal)
// * HQDM_CUDA_POISON (set to anything) fills every new allocation with 0xFF
//   bytes (NaN as f32), so tests see outputs a kernel failed to write.
// * CUDA driver API only. The driver is loaded lazily with
//   dlopen("libcuda.so.1") (HQDM_CUDA_DRIVER names another file, for tests)
//   and each cu* function is resolved with dlsym under its versioned ABI name
//   (cuda.h's macros, e.g. cuMemAlloc -> cuMemAlloc_v2); cuda.h is used for
//   types and constants only, and libcuda is not a DT_NEEDED of this library.
//   A machine without a GPU can therefore load it and gets a clear message.
// * Modules load lazily: mgpuModuleLoad (called by the constructors of a
//   compiled library) only records the image; the driver loads it at the
//   first mgpuModuleGetFunction, so a library loads where there is no GPU.
// * One context per process: the primary context of device 0, or of
//   HQDM_CUDA_DEVICE (or mgpuSetDefaultDevice before first use), created on
//   first use and made current on each entry. Devices below sm_80 are refused.
// * These entry points return no status. Any failure prints
//   "hqdm CUDA runtime: <call> failed: <CUDA error name>: <string>" (plus
//   context: requested size, kernel, compute capability) to stderr and
//   terminates the process with exit status 1 (not a signal).
// * mgpuLaunchKernel raises CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
//   when more than 48 KiB of dynamic shared memory is requested.
// * Device memory (mgpuMemAlloc without hostShared) comes from a pool: a
//   freed buffer is kept and handed out again for a request of the same
//   size class, so a model that runs step after step allocates from the
//   driver only during its first step. The generated host code runs each
//   call on one stream, which orders every reuse after the last use.
// * hqdmDeviceConstant(host, bytes) returns the device copy of a weight or
//   table of a whole-model library, uploaded at its first use and kept.
// * Graph capture (hqdm_graph_begin / hqdm_graph_end, include/hqdm/Runtime/
//   Model.h): between the two, mgpuStreamCreate hands out the capturing
//   stream, synchronizing and destroying it do nothing, and buffers come
//   from a pool of the graph's own, which it keeps while it exists, so its
//   replays find them where the capture left them.
//
//===----------------------------------------------------------------------===//

#include "Fatal.h"
#include "hqdm/Runtime/CudaRuntime.h"
#include "hqdm/Runtime/Model.h"

#include <cuda.h>

#include <dlfcn.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#define HQDM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

// Stringify after macro expansion: HQDM_ABI_NAME(cuMemAlloc) is
// "cuMemAlloc_v2", the symbol the driver exports for this cuda.h.
#define HQDM_STR2(x) #x
#define HQDM_ABI_NAME(x) HQDM_STR2(x)

// The driver functions this runtime uses. X(name) with the cuda.h name.
#define HQDM_CU_FUNCTIONS(X)                                                   \
  X(cuGetErrorName)                                                            \
  X(cuGetErrorString)                                                          \
  X(cuInit)                                                                    \
  X(cuDeviceGetCount)                                                          \
  X(cuDeviceGet)                                                               \
  X(cuDeviceGetName)                                                           \
  X(cuDeviceGetAttribute)                                                      \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuCtxSetCurrent)                                                           \
  X(cuModuleLoadDataEx)                                                        \
  X(cuModuleUnload)                                                            \
  X(cuModuleGetFunction)                                                       \
  X(cuFuncSetAttribute)                                                        \
  X(cuLaunchKernel)                                                            \
  X(cuStreamCreate)                                                            \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamDestroy)                                                           \
  X(cuStreamWaitEvent)                                                         \
  X(cuEventCreate)                                                             \
  X(cuEventRecord)                                                             \
  X(cuEventSynchronize)                                                        \
  X(cuEventDestroy)                                                            \
  X(cuMemAlloc)                                                                \
  X(cuMemAllocManaged)                                                         \
  X(cuMemFree)                                                                 \
  X(cuMemGetInfo)                                                              \
  X(cuMemcpyAsync)                                                             \
  X(cuMemsetD32Async)                                                          \
  X(cuMemsetD8)                                                                \
  X(cuMemsetD16Async)                                                          \
  X(cuMemHostRegister)                                                         \
  X(cuMemHostUnregister)                                                       \
  X(cuMemcpyHtoD)                                                              \
  X(cuMemcpyDtoH)                                                              \
  X(cuStreamBeginCapture)                                                      \
  X(cuStreamEndCapture)                                                        \
  X(cuGraphInstantiate)                                                        \
  X(cuGraphLaunch)                                                             \
  X(cuGraphGetNodes)                                                           \
  X(cuGraphExecDestroy)                                                        \
  X(cuGraphDestroy)

struct Driver {
#define HQDM_DECLARE(name) decltype(&::name) name = nullptr;
  HQDM_CU_FUNCTIONS(HQDM_DECLARE)
#undef HQDM_DECLARE
};

Driver drv;
std::once_flag initOnce;
CUcontext context = nullptr;
CUdevice device = 0;
int defaultDevice = -1; // set by mgpuSetDefaultDevice before first use

[[noreturn]] void die() {
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(1);
}

} // namespace

void hqdm::runtime::fatal(const char *fmt, ...) {
  std::fputs("hqdm CUDA runtime: ", stderr);
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fputc('\n', stderr);
  die();
}

namespace {
using hqdm::runtime::fatal;

void describe(CUresult result, const char **name, const char **text) {
  *name = nullptr;
  *text = nullptr;
  if (drv.cuGetErrorName && drv.cuGetErrorName(result, name) != CUDA_SUCCESS)
    *name = nullptr;
  if (drv.cuGetErrorString &&
      drv.cuGetErrorString(result, text) != CUDA_SUCCESS)
    *text = nullptr;
  if (!*name && result == CUDA_ERROR_STUB_LIBRARY)
    *name = "CUDA_ERROR_STUB_LIBRARY";
  if (!*text && result == CUDA_ERROR_STUB_LIBRARY)
    *text = "the CUDA driver loaded is the toolkit's stub, not a real driver";
}

// Reports a failed driver call `call` (with optional extra context) and exits.
[[noreturn]] void fail(const char *call, CUresult result,
                       const char *context = nullptr) {
  const char *name, *text;
  describe(result, &name, &text);
  std::fprintf(stderr, "hqdm CUDA runtime: %s failed: %s (error %d): %s%s%s\n",
               call, name ? name : "unknown CUDA error", (int)result,
               text ? text : "no description", context ? "; " : "",
               context ? context : "");
  die();
}

inline void check(CUresult result, const char *call,
                  const char *context = nullptr) {
  if (result != CUDA_SUCCESS)
    fail(call, result, context);
}

void loadDriver() {
  const char *path = std::getenv("HQDM_CUDA_DRIVER");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    fatal("cannot load %s (no NVIDIA driver on this machine): %s", path,
          why ? why : "dlopen failed");
  }
#define HQDM_RESOLVE(name)                                                     \
  drv.name = reinterpret_cast<decltype(drv.name)>(                             \
      dlsym(handle, HQDM_ABI_NAME(name)));                                     \
  if (!drv.name)                                                               \
    fatal("the CUDA driver %s lacks %s (driver too old for CUDA %d.%d?)",      \
          path, HQDM_ABI_NAME(name), CUDA_VERSION / 1000,                      \
          (CUDA_VERSION % 1000) / 10);
  HQDM_CU_FUNCTIONS(HQDM_RESOLVE)
#undef HQDM_RESOLVE
}

int pickDevice() {
  if (defaultDevice >= 0)
    return defaultDevice;
  const char *env = std::getenv("HQDM_CUDA_DEVICE");
  if (!env || !*env)
    return 0;
  char *end = nullptr;
  long ordinal = std::strtol(env, &end, 10);
  if (*end || ordinal < 0 || ordinal > 1 << 16)
    fatal("HQDM_CUDA_DEVICE=%s is not a device ordinal", env);
  return (int)ordinal;
}

void initialize() {
  loadDriver();
  CUresult result = drv.cuInit(0);
  if (result == CUDA_ERROR_NO_DEVICE)
    fail("cuInit", result, "no CUDA device on this machine");
  check(result, "cuInit");
  int count = 0;
  check(drv.cuDeviceGetCount(&count), "cuDeviceGetCount");
  if (count == 0)
    fatal("no CUDA device on this machine (cuDeviceGetCount returned 0)");
  int ordinal = pickDevice();
  if (ordinal >= count)
    fatal("device %d requested (HQDM_CUDA_DEVICE or mgpuSetDefaultDevice) "
          "but this machine has %d CUDA device(s)",
          ordinal, count);
  check(drv.cuDeviceGet(&device, ordinal), "cuDeviceGet");
  int major = 0, minor = 0;
  check(drv.cuDeviceGetAttribute(
            &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
        "cuDeviceGetAttribute");
  check(drv.cuDeviceGetAttribute(
            &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
        "cuDeviceGetAttribute");
  if (major < 8) {
    char name[256] = "unknown";
    drv.cuDeviceGetName(name, sizeof(name), device);
    fatal("device %d (%s) has compute capability sm_%d%d; hqdm needs sm_80 "
          "or newer",
          ordinal, name, major, minor);
  }
  check(drv.cuDevicePrimaryCtxRetain(&context, device),
        "cuDevicePrimaryCtxRetain");
}

// Called on every entry: loads the driver and creates the context once, then
// makes the context current on the calling thread.
void enter() {
  std::call_once(initOnce, initialize);
  check(drv.cuCtxSetCurrent(context), "cuCtxSetCurrent");
}

CUmodule loadModule(const void *data, const char *call, int optLevel) {
  enter();
  static char errorLog[8192];
  static char infoLog[8192];
  errorLog[0] = infoLog[0] = 0;
  CUjit_option options[5] = {CU_JIT_ERROR_LOG_BUFFER,
                             CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                             CU_JIT_INFO_LOG_BUFFER,
                             CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
                             CU_JIT_OPTIMIZATION_LEVEL};
  void *values[5] = {errorLog, reinterpret_cast<void *>(sizeof(errorLog)),
                     infoLog, reinterpret_cast<void *>(sizeof(infoLog)),
                     reinterpret_cast<void *>((uintptr_t)optLevel)};
  unsigned numOptions = optLevel >= 0 ? 5 : 4;
  CUmodule module = nullptr;
  CUresult result =
      drv.cuModuleLoadDataEx(&module, data, numOptions, options, values);
  if (result != CUDA_SUCCESS) {
    const char *name, *text;
    describe(result, &name, &text);
    std::fprintf(stderr,
                 "hqdm CUDA runtime: %s (cuModuleLoadDataEx) failed: %s "
                 "(error %d): %s\n",
                 call, name ? name : "unknown CUDA error", (int)result,
                 text ? text : "no description");
    if (result == CUDA_ERROR_NO_BINARY_FOR_GPU ||
        result == CUDA_ERROR_UNSUPPORTED_PTX_VERSION) {
      int major = 0, minor = 0;
      drv.cuDeviceGetAttribute(
          &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
      drv.cuDeviceGetAttribute(
          &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
      std::fprintf(stderr,
                   "hqdm CUDA runtime: the image has no code for this "
                   "device (sm_%d%d) or needs a newer driver\n",
                   major, minor);
    }
    if (errorLog[0])
      std::fprintf(stderr, "hqdm CUDA runtime: JIT error log:\n%s\n",
                   errorLog);
    die();
  }
  return module;
}

} // namespace

//===----------------------------------------------------------------------===//
// Modules and kernels
//===----------------------------------------------------------------------===//

namespace {

/// A kernel image registered by mgpuModuleLoad. MLIR loads its modules from
/// global constructors, i.e. when the compiled library is loaded; the driver
/// loads the image only when a kernel is first looked up, so that a compiled
/// model loads on a machine without a GPU and fails, with a message, only
/// when it runs.
struct LazyModule {
  const void *image;
  const char *call;
  int optLevel; ///< -1: the driver's default (cubin, fatbin, PTX)
  CUmodule module = nullptr;
};

std::mutex lazyModulesMutex;

CUmodule resolve(LazyModule *lazy) {
  std::lock_guard<std::mutex> lock(lazyModulesMutex);
  if (!lazy->module)
    lazy->module = loadModule(lazy->image, lazy->call, lazy->optLevel);
  return lazy->module;
}

} // namespace

HQDM_EXPORT void *mgpuModuleLoad(void *data, size_t /*gpuBlobSize*/) {
  // A cubin, fatbin or (NUL-terminated) PTX image; the driver tells them
  // apart by their headers.
  return new LazyModule{data, "mgpuModuleLoad", -1};
}

HQDM_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel) {
  if (optLevel < 0 || optLevel > 4)
    optLevel = 4;
  return new LazyModule{data, "mgpuModuleLoadJIT", optLevel};
}

HQDM_EXPORT void mgpuModuleUnload(void *module) {
  auto *lazy = static_cast<LazyModule *>(module);
  if (lazy->module) {
    enter();
    check(drv.cuModuleUnload(lazy->module), "cuModuleUnload");
  }
  delete lazy;
}

HQDM_EXPORT void *mgpuModuleGetFunction(void *module, const char *name) {
  enter();
  CUmodule loaded = resolve(static_cast<LazyModule *>(module));
  CUfunction function = nullptr;
  CUresult result = drv.cuModuleGetFunction(&function, loaded, name);
  if (result != CUDA_SUCCESS) {
    char context[512];
    std::snprintf(context, sizeof(context), "kernel '%s'", name);
    fail("cuModuleGetFunction", result, context);
  }
  return function;
}

HQDM_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                  intptr_t gridY, intptr_t gridZ,
                                  intptr_t blockX, intptr_t blockY,
                                  intptr_t blockZ, int32_t smem, void *stream,
                                  void **params, void **extra,
                                  size_t /*paramsCount*/) {
  enter();
  CUfunction f = static_cast<CUfunction>(function);
  constexpr int32_t kDefaultSmemLimit = 48 * 1024;
  if (smem > kDefaultSmemLimit) {
    int maxOptin = 0;
    check(drv.cuDeviceGetAttribute(
              &maxOptin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
              device),
          "cuDeviceGetAttribute");
    if (smem > maxOptin)
      fatal("mgpuLaunchKernel: %d bytes of dynamic shared memory requested, "
            "the device allows at most %d per block",
            smem, maxOptin);
    char context[128];
    std::snprintf(context, sizeof(context),
                  "setting %d bytes of dynamic shared memory", smem);
    CUresult result = drv.cuFuncSetAttribute(
        f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem);
    if (result != CUDA_SUCCESS)
      fail("cuFuncSetAttribute", result, context);
  }
  CUresult result = drv.cuLaunchKernel(
      f, (unsigned)gridX, (unsigned)gridY, (unsigned)gridZ, (unsigned)blockX,
      (unsigned)blockY, (unsigned)blockZ, (unsigned)smem,
      static_cast<CUstream>(stream), params, extra);
  if (result != CUDA_SUCCESS) {
    char context[256];
    std::snprintf(context, sizeof(context),
                  "kernel launch with grid (%ld, %ld, %ld), block (%ld, %ld, "
                  "%ld), %d bytes of dynamic shared memory",
                  (long)gridX, (long)gridY, (long)gridZ, (long)blockX,
                  (long)blockY, (long)blockZ, smem);
    fail("cuLaunchKernel", result, context);
  }
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

namespace {

/// Device memory kept for reuse, by size class.
struct Pool {
  std::unordered_multimap<uint64_t, void *> free;

  void *take(uint64_t size) {
    auto it = free.find(size);
    if (it == free.end())
      return nullptr;
    void *ptr = it->second;
    free.erase(it);
    return ptr;
  }
  void put(uint64_t size, void *ptr) { free.emplace(size, ptr); }
};

/// A capture in progress: its stream and every buffer it has used.
struct Capture {
  CUstream stream = nullptr;
  Pool pool;
  std::vector<std::pair<void *, uint64_t>> owned;
};

std::mutex memoryMutex;
Pool sharedPool;
std::unordered_map<void *, uint64_t> pooledSizes; // every pooled buffer
std::atomic<uint64_t> reservedBytes{0}; // pooled buffers and constants
Capture *capture = nullptr; // at most one at a time

bool isCaptureStream(void *stream) {
  return capture && static_cast<CUstream>(stream) == capture->stream;
}

/// Requests are rounded up to 256 bytes (the driver's alignment) below 1 MiB
/// and to 64 KiB above, so that buffers of nearly equal sizes are shared.
uint64_t sizeClass(uint64_t bytes) {
  uint64_t granule = bytes < (1u << 20) ? 256 : 64 * 1024;
  return (bytes + granule - 1) / granule * granule;
}

} // namespace

HQDM_EXPORT void *mgpuStreamCreate() {
  enter();
  if (capture)
    return capture->stream;
  CUstream stream = nullptr;
  check(drv.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  return stream;
}

HQDM_EXPORT void mgpuStreamDestroy(void *stream) {
  enter();
  if (isCaptureStream(stream))
    return;
  check(drv.cuStreamDestroy(static_cast<CUstream>(stream)), "cuStreamDestroy");
}

HQDM_EXPORT void mgpuStreamSynchronize(void *stream) {
  enter();
  if (isCaptureStream(stream))
    return;
  // Asynchronous failures (a kernel that faulted, a bad copy) surface here.
  check(drv.cuStreamSynchronize(static_cast<CUstream>(stream)),
        "cuStreamSynchronize",
        "an earlier kernel launch or copy on this stream failed");
}

HQDM_EXPORT void mgpuStreamWaitEvent(void *stream, void *event) {
  enter();
  check(drv.cuStreamWaitEvent(static_cast<CUstream>(stream),
                              static_cast<CUevent>(event), 0),
        "cuStreamWaitEvent");
}

HQDM_EXPORT void *mgpuEventCreate() {
  enter();
  CUevent event = nullptr;
  check(drv.cuEventCreate(&event, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
  return event;
}

HQDM_EXPORT void mgpuEventDestroy(void *event) {
  enter();
  check(drv.cuEventDestroy(static_cast<CUevent>(event)), "cuEventDestroy");
}

HQDM_EXPORT void mgpuEventSynchronize(void *event) {
  enter();
  check(drv.cuEventSynchronize(static_cast<CUevent>(event)),
        "cuEventSynchronize",
        "an earlier kernel launch or copy before this event failed");
}

HQDM_EXPORT void mgpuEventRecord(void *event, void *stream) {
  enter();
  check(drv.cuEventRecord(static_cast<CUevent>(event),
                          static_cast<CUstream>(stream)),
        "cuEventRecord");
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

namespace {

/// A new buffer from the driver; out of memory names the request.
void *driverAlloc(uint64_t sizeBytes, bool isHostShared) {
  CUdeviceptr ptr = 0;
  const char *call = isHostShared ? "cuMemAllocManaged" : "cuMemAlloc";
  CUresult result = isHostShared
                        ? drv.cuMemAllocManaged(&ptr, sizeBytes,
                                                CU_MEM_ATTACH_GLOBAL)
                        : drv.cuMemAlloc(&ptr, sizeBytes);
  if (result != CUDA_SUCCESS) {
    char context[160];
    size_t freeBytes = 0, totalBytes = 0;
    if (result == CUDA_ERROR_OUT_OF_MEMORY &&
        drv.cuMemGetInfo(&freeBytes, &totalBytes) == CUDA_SUCCESS)
      std::snprintf(context, sizeof(context),
                    "out of memory: requested %llu bytes, %llu of %llu free",
                    (unsigned long long)sizeBytes,
                    (unsigned long long)freeBytes,
                    (unsigned long long)totalBytes);
    else
      std::snprintf(context, sizeof(context), "requested %llu bytes",
                    (unsigned long long)sizeBytes);
    fail(call, result, context);
  }
  return reinterpret_cast<void *>(ptr);
}

} // namespace

HQDM_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes, void * /*stream*/,
                               bool isHostShared) {
  enter();
  if (sizeBytes == 0)
    return nullptr;
  if (isHostShared)
    return driverAlloc(sizeBytes, /*isHostShared=*/true);
  uint64_t size = sizeClass(sizeBytes);
  bool capturing;
  void *ptr = nullptr;
  {
    std::lock_guard<std::mutex> lock(memoryMutex);
    capturing = capture != nullptr;
    if (capturing)
      ptr = capture->pool.take(size);
    if (!ptr)
      ptr = sharedPool.take(size);
    if (!ptr) {
      ptr = driverAlloc(size, /*isHostShared=*/false);
      pooledSizes[ptr] = size;
      reservedBytes += size;
    }
    if (capturing) {
      capture->owned.emplace_back(ptr, size);
      return ptr;
    }
  }
  // Tests poison buffers, so that anything a kernel should have written but
  // did not reads as NaN (0xFF bytes; -1 for integers).
  if (std::getenv("HQDM_CUDA_POISON"))
    check(drv.cuMemsetD8(reinterpret_cast<CUdeviceptr>(ptr), 0xFF, size),
          "cuMemsetD8");
  return ptr;
}

HQDM_EXPORT void mgpuMemFree(void *ptr, void * /*stream*/) {
  enter();
  if (!ptr)
    return;
  std::unique_lock<std::mutex> lock(memoryMutex);
  auto it = pooledSizes.find(ptr);
  if (it == pooledSizes.end()) {
    lock.unlock();
    check(drv.cuMemFree(reinterpret_cast<CUdeviceptr>(ptr)), "cuMemFree");
    return;
  }
  (capture ? capture->pool : sharedPool).put(it->second, ptr);
}

HQDM_EXPORT void *hqdmDeviceConstant(const void *host, int64_t sizeBytes) {
  enter();
  static std::mutex constantsMutex;
  static std::unordered_map<const void *, CUdeviceptr> constants;
  std::lock_guard<std::mutex> lock(constantsMutex);
  auto it = constants.find(host);
  if (it != constants.end())
    return reinterpret_cast<void *>(it->second);
  if (capture)
    fatal("a weight of %lld bytes was first used during a graph capture; "
          "run the step once before capturing it (hqdm_model_step does)",
          (long long)sizeBytes);
  void *device = driverAlloc(sizeBytes > 0 ? sizeBytes : 1, false);
  auto ptr = reinterpret_cast<CUdeviceptr>(device);
  if (sizeBytes > 0)
    check(drv.cuMemcpyHtoD(ptr, host, sizeBytes), "cuMemcpyHtoD",
          "uploading a weight");
  constants.emplace(host, ptr);
  reservedBytes += sizeBytes;
  return device;
}

HQDM_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                            void *stream) {
  enter();
  check(drv.cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                          reinterpret_cast<CUdeviceptr>(src), sizeBytes,
                          static_cast<CUstream>(stream)),
        "cuMemcpyAsync");
}

HQDM_EXPORT void mgpuMemset32(void *dst, unsigned int value, size_t count,
                              void *stream) {
  enter();
  check(drv.cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                             static_cast<CUstream>(stream)),
        "cuMemsetD32Async");
}

HQDM_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                              void *stream) {
  enter();
  check(drv.cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                             static_cast<CUstream>(stream)),
        "cuMemsetD16Async");
}

HQDM_EXPORT void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  enter();
  if (sizeBytes == 0)
    return;
  char context[64];
  std::snprintf(context, sizeof(context), "%llu bytes",
                (unsigned long long)sizeBytes);
  CUresult result = drv.cuMemHostRegister(ptr, sizeBytes, 0);
  if (result != CUDA_SUCCESS)
    fail("cuMemHostRegister", result, context);
}

HQDM_EXPORT void mgpuMemHostUnregister(void *ptr) {
  enter();
  check(drv.cuMemHostUnregister(ptr), "cuMemHostUnregister");
}

namespace {
// The ranked descriptor an unranked memref points at:
// {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct RankedDescriptor {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizesAndStrides[];
};

void *hostRange(int64_t rank, void *descriptor, int64_t elementSizeBytes,
                uint64_t *sizeBytes) {
  auto *desc = static_cast<RankedDescriptor *>(descriptor);
  const int64_t *sizes = desc->sizesAndStrides;
  const int64_t *strides = sizes + rank;
  // Only densely packed, row-major memrefs are supported (as upstream).
  int64_t dense = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    if (sizes[i] != 1 && strides[i] != dense)
      fatal("mgpuMemHostRegisterMemRef: only densely packed memrefs can be "
            "registered (dimension %lld has stride %lld, expected %lld)",
            (long long)i, (long long)strides[i], (long long)dense);
    dense *= sizes[i];
  }
  *sizeBytes = (uint64_t)dense * (uint64_t)elementSizeBytes;
  return desc->aligned + desc->offset * elementSizeBytes;
}
} // namespace

HQDM_EXPORT void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                                           int64_t elementSizeBytes) {
  uint64_t sizeBytes = 0;
  void *ptr = hostRange(rank, descriptor, elementSizeBytes, &sizeBytes);
  mgpuMemHostRegister(ptr, sizeBytes);
}

HQDM_EXPORT void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                             int64_t elementSizeBytes) {
  uint64_t sizeBytes = 0;
  void *ptr = hostRange(rank, descriptor, elementSizeBytes, &sizeBytes);
  if (sizeBytes != 0)
    mgpuMemHostUnregister(ptr);
}

//===----------------------------------------------------------------------===//
// Device selection
//===----------------------------------------------------------------------===//

HQDM_EXPORT void mgpuSetDefaultDevice(int32_t ordinal) {
  // The context is per process and created on first use; a later call
  // naming another device than the one in use is an error.
  if (context) {
    int current = -1;
    for (int i = 0, n = 0; drv.cuDeviceGetCount(&n) == CUDA_SUCCESS && i < n;
         ++i) {
      CUdevice d;
      if (drv.cuDeviceGet(&d, i) == CUDA_SUCCESS && d == device) {
        current = i;
        break;
      }
    }
    if (current != ordinal)
      fatal("mgpuSetDefaultDevice(%d) after device %d is already in use",
            ordinal, current);
    return;
  }
  defaultDevice = ordinal;
}

//===----------------------------------------------------------------------===//
// Graph capture
//===----------------------------------------------------------------------===//

struct hqdm_graph {
  CUgraph graph = nullptr;
  CUgraphExec exec = nullptr;
  CUstream stream = nullptr;
  std::vector<std::pair<void *, uint64_t>> owned;
};

HQDM_EXPORT void hqdm_graph_begin(void) {
  enter();
  std::lock_guard<std::mutex> lock(memoryMutex);
  if (capture)
    fatal("hqdm_graph_begin: a capture is already in progress");
  auto *c = new Capture;
  check(drv.cuStreamCreate(&c->stream, CU_STREAM_NON_BLOCKING),
        "cuStreamCreate");
  // Relaxed: the first use of a buffer size may still allocate from the
  // driver while the stream captures.
  check(drv.cuStreamBeginCapture(c->stream, CU_STREAM_CAPTURE_MODE_RELAXED),
        "cuStreamBeginCapture");
  capture = c;
}

HQDM_EXPORT hqdm_graph *hqdm_graph_end(void) {
  enter();
  Capture *c;
  {
    std::lock_guard<std::mutex> lock(memoryMutex);
    if (!capture)
      fatal("hqdm_graph_end: no capture in progress");
    c = capture;
    capture = nullptr;
  }
  auto *g = new hqdm_graph;
  check(drv.cuStreamEndCapture(c->stream, &g->graph), "cuStreamEndCapture",
        "the step did something a CUDA graph cannot capture");
  check(drv.cuGraphInstantiate(&g->exec, g->graph, 0), "cuGraphInstantiate");
  g->stream = c->stream;
  // The graph keeps every buffer it used; its free ones are not shared.
  g->owned = std::move(c->owned);
  std::sort(g->owned.begin(), g->owned.end());
  g->owned.erase(std::unique(g->owned.begin(), g->owned.end()),
                 g->owned.end());
  delete c;
  return g;
}

HQDM_EXPORT void hqdm_graph_launch(hqdm_graph *graph) {
  enter();
  check(drv.cuGraphLaunch(graph->exec, graph->stream), "cuGraphLaunch");
  check(drv.cuStreamSynchronize(graph->stream), "cuStreamSynchronize",
        "a kernel or copy of the graph failed");
}

HQDM_EXPORT size_t hqdm_graph_num_nodes(const hqdm_graph *graph) {
  enter();
  size_t count = 0;
  check(drv.cuGraphGetNodes(graph->graph, nullptr, &count), "cuGraphGetNodes");
  return count;
}

HQDM_EXPORT void hqdm_graph_destroy(hqdm_graph *graph) {
  if (!graph)
    return;
  enter();
  check(drv.cuGraphExecDestroy(graph->exec), "cuGraphExecDestroy");
  check(drv.cuGraphDestroy(graph->graph), "cuGraphDestroy");
  check(drv.cuStreamDestroy(graph->stream), "cuStreamDestroy");
  std::lock_guard<std::mutex> lock(memoryMutex);
  for (auto [ptr, size] : graph->owned)
    sharedPool.put(size, ptr);
  delete graph;
}

//===----------------------------------------------------------------------===//
// Buffers for callers
//===----------------------------------------------------------------------===//

HQDM_EXPORT void *hqdm_device_alloc(size_t bytes) {
  return mgpuMemAlloc(bytes, nullptr, false);
}

HQDM_EXPORT void hqdm_device_free(void *ptr) { mgpuMemFree(ptr, nullptr); }

HQDM_EXPORT void hqdm_copy_to_device(void *device, const void *host,
                                     size_t bytes) {
  enter();
  check(drv.cuMemcpyHtoD(reinterpret_cast<CUdeviceptr>(device), host, bytes),
        "cuMemcpyHtoD");
}

HQDM_EXPORT void hqdm_copy_to_host(void *host, const void *device,
                                   size_t bytes) {
  enter();
  check(drv.cuMemcpyDtoH(host, reinterpret_cast<CUdeviceptr>(device), bytes),
        "cuMemcpyDtoH", "an earlier kernel may have failed");
}

HQDM_EXPORT uint64_t hqdm_device_bytes(void) { return reservedBytes; }
