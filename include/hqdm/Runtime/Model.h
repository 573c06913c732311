/*===- Model.h - Run a whole-model library on the GPU from C -------------===*
 *
 * The C ABI of libhqdm_cuda_runtime.so for a model compiled with
 * `hqdm-lower-to-cuda{whole-model=true emit-c-interface=true}` and linked as
 * a shared library (hqdm compile --target cuda --whole-model, or
 * hqdm.compile(..., target="cuda", whole_model=True)):
 *
 *   hqdm_model *m = hqdm_model_load("dit.so");
 *   if (!m) { fprintf(stderr, "%s\n", hqdm_last_error()); return 1; }
 *   hqdm_copy_to_device(hqdm_model_input(m, 0), x, hqdm_model_input_bytes(m, 0));
 *   hqdm_model_step(m);          // eager the first time, then a CUDA graph
 *   hqdm_copy_to_host(y, hqdm_model_output(m, 0), hqdm_model_output_bytes(m, 0));
 *   hqdm_model_free(m);
 *
 * Inputs and outputs live in device buffers the model owns, at fixed
 * addresses, so that a captured step replays on whatever the caller wrote
 * there. The first step runs eagerly: it uploads the weights and sizes the
 * buffer pool. The second is captured into a CUDA graph (unless graphs are
 * off) and replayed by every later one. Steps are synchronous.
 *
 * A library compiled with external weights (hqdm-lower-to-cuda{whole-model
 * external-weights=FILE}, hqdm compile --external-weights) keeps
 * no weight data: it names FILE, a safetensors file, and takes the device
 * copies of its tensors from the runtime (hqdmDeviceWeight). Load it with
 * hqdm_model_load_with_weights(library, file), or with hqdm_model_load,
 * which looks for FILE's base name in the library's directory. The file is
 * checked against the library before any device is touched (tensor count,
 * bytes of tensor data, the file's size, and a fingerprint of the tensor
 * list: names, dtypes, shapes, offsets; not the values), then mapped and
 * uploaded to the device once, each tensor 256-byte aligned.
 *
 * Functions returning a pointer return NULL, and int functions -1, on a
 * usage error, with the reason in hqdm_last_error(). A CUDA failure (no
 * driver, no device, an unsupported architecture, out of memory, a failed
 * launch) prints "hqdm CUDA runtime: ..." and exits the process with
 * status 1, as the mgpu* functions do.
 *
 *===----------------------------------------------------------------------===*/
#ifndef HQDM_RUNTIME_MODEL_H
#define HQDM_RUNTIME_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A compiled model. */
typedef struct hqdm_model hqdm_model;

hqdm_model *hqdm_model_load(const char *path);
/* `weights`: the library's external weights file; NULL for the one it
 * names, beside it. A library with embedded weights takes NULL only. */
hqdm_model *hqdm_model_load_with_weights(const char *path,
                                         const char *weights);
void hqdm_model_free(hqdm_model *model);
int hqdm_model_num_inputs(const hqdm_model *model);
int hqdm_model_num_outputs(const hqdm_model *model);
/* The signature line of a buffer, e.g. "f32 2x16x64" ("f32 scalar"). */
const char *hqdm_model_input_type(const hqdm_model *model, int index);
const char *hqdm_model_output_type(const hqdm_model *model, int index);
size_t hqdm_model_input_bytes(const hqdm_model *model, int index);
size_t hqdm_model_output_bytes(const hqdm_model *model, int index);
/* Device buffers owned by the model. */
void *hqdm_model_input(hqdm_model *model, int index);
void *hqdm_model_output(hqdm_model *model, int index);
/* Runs one step; 0 on success. */
int hqdm_model_step(hqdm_model *model);
/* Graphs on (the default) or off; turning them off drops a captured one. */
int hqdm_model_use_graphs(hqdm_model *model, int enabled);
/* Nodes of the captured step (kernels and copies); 0 before capture. */
size_t hqdm_model_graph_nodes(const hqdm_model *model);
/* The external weights: tensors, and device bytes held for them (with
 * alignment); 0 for a library with embedded weights. */
size_t hqdm_model_weight_tensors(const hqdm_model *model);
uint64_t hqdm_model_weight_bytes(const hqdm_model *model);
const char *hqdm_last_error(void);

/* Capture of any sequence of mgpu* calls made by generated host code on
 * this thread (hqdm_model_step uses it). */
typedef struct hqdm_graph hqdm_graph;
void hqdm_graph_begin(void);
hqdm_graph *hqdm_graph_end(void);
void hqdm_graph_launch(hqdm_graph *graph);
size_t hqdm_graph_num_nodes(const hqdm_graph *graph);
void hqdm_graph_destroy(hqdm_graph *graph);

/* Device memory and copies (synchronous). */
void *hqdm_device_alloc(size_t bytes);
void hqdm_device_free(void *ptr);
void hqdm_copy_to_device(void *device, const void *host, size_t bytes);
void hqdm_copy_to_host(void *host, const void *device, size_t bytes);
/* Device memory the runtime holds: pooled buffers and weights. */
uint64_t hqdm_device_bytes(void);

/* The device copy of a host constant, uploaded at its first use and kept
 * (whole-model libraries call it for their weights and tables). */
void *hqdmDeviceConstant(const void *host, int64_t sizeBytes);

/* The device copy of the tensor at `offset` (`sizeBytes` long) of the data
 * of the external weights file loaded for the library whose
 * hqdm_model_weights description is `weights` (libraries compiled with
 * external-weights call it for their weights and tables). */
void *hqdmDeviceWeight(const void *weights, int64_t offset,
                       int64_t sizeBytes);

#ifdef __cplusplus
}
#endif

#endif /* HQDM_RUNTIME_MODEL_H */
