/*===- CudaRuntime.h - The mgpu* entry points of libhqdm_cuda_runtime ----===*
 *
 * C declarations of the host functions that MLIR 22's gpu-to-llvm lowering
 * calls, as libhqdm_cuda_runtime.so implements them (lib/Runtime/
 * CudaRuntime.cpp documents the contract). Usable from C and C++ host code.
 * None returns a status: a failure prints a message and exits with status 1.
 *
 *===----------------------------------------------------------------------===*/
#ifndef HQDM_RUNTIME_CUDARUNTIME_H
#define HQDM_RUNTIME_CUDARUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define HQDM_RUNTIME_BOOL bool
extern "C" {
#else
#define HQDM_RUNTIME_BOOL _Bool
#endif

void *mgpuModuleLoad(void *data, size_t gpuBlobSize);
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t paramsCount);

void *mgpuStreamCreate(void);
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void *mgpuEventCreate(void);
void mgpuEventDestroy(void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventRecord(void *event, void *stream);

void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, HQDM_RUNTIME_BOOL isHostShared);
void mgpuMemFree(void *ptr, void *stream);
void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream);
void mgpuMemset32(void *dst, unsigned int value, size_t count, void *stream);
void mgpuMemset16(void *dst, unsigned short value, size_t count,
                  void *stream);
void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes);
void mgpuMemHostUnregister(void *ptr);
void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                               int64_t elementSizeBytes);
void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                 int64_t elementSizeBytes);
void mgpuSetDefaultDevice(int32_t ordinal);

#ifdef __cplusplus
}
#endif

#endif /* HQDM_RUNTIME_CUDARUNTIME_H */
