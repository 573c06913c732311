//===- gemm_bench.cu - hqdm's generated INT4/INT8 kernels vs cuBLAS -------===//
//
// Issue 6's kernel benchmark. Reads the manifest that prepare.py writes
// (the cubin of each case, its launches and buffers, the packed weights),
// and for every case:
//
//   * loads the cubin with the driver API (the PTX if the cubin is refused),
//     fills the input with random data and uploads the packed weights, the
//     weight scale and the bias;
//   * checks the result: the prologue's scales and levels against a host
//     emulation of it, and the GEMM's output against a host GEMM on the
//     prologue's own levels and the weights unpacked from the packed layout
//     (all rows for the cases prepare.py marked, else a sample of rows);
//     the unpacked weights are compared with the quantized weights themselves
//     where prepare.py stored them;
//   * times, with CUDA events (warm-up, then the median of N repetitions,
//     each after an L2 flush): prologue + GEMM, each alone, a device-to-device
//     cudaMemcpy of the prologue's input (M*K*4 bytes), cuBLASLt's INT8 GEMM
//     (int8 x int8 -> int32, TN) and cuBLAS's BF16 GEMM (FP32 accumulation,
//     BF16 output) of the same M, N, K;
//
// then prints a markdown table. --dry-run does everything that needs no GPU
// (manifest, files, weight unpacking against the quantized weights, the host
// references) and makes no CUDA call; with --dump DIR it writes the input and
// the reference output of the fully checked cases (verify_reference.py
// compares them with hqdm's CPU lowering).
//
//   gemm_bench OUT_DIR [--reps N] [--warmup N] [--no-flush] [--only TEXT]
//              [--check-rows N] [--dry-run [--dump DIR]]
//
// Exit status: 0 when every check passed, 1 on an error (no GPU, a failing
// CUDA or cuBLAS call, a bad manifest), 3 when a correctness check failed.
//
//===----------------------------------------------------------------------===//

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

[[noreturn]] static void fail(const char *format, ...) {
  std::fflush(stdout);
  std::fprintf(stderr, "gemm_bench: error: ");
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fprintf(stderr, "\n");
  std::exit(1);
}

static void checkCu(CUresult result, const char *call, int line) {
  if (result == CUDA_SUCCESS)
    return;
  const char *name = "?", *text = "?";
  cuGetErrorName(result, &name);
  cuGetErrorString(result, &text);
  fail("line %d: %s failed: %s (%s)", line, call, name, text);
}

static void checkCuda(cudaError_t result, const char *call, int line) {
  if (result == cudaSuccess)
    return;
  fail("line %d: %s failed: %s (%s)", line, call, cudaGetErrorName(result),
       cudaGetErrorString(result));
}

static void checkCublas(cublasStatus_t status, const char *call, int line) {
  if (status == CUBLAS_STATUS_SUCCESS)
    return;
  fail("line %d: %s failed: %s (%s)", line, call, cublasGetStatusName(status),
       cublasGetStatusString(status));
}

#define CU(call) checkCu((call), #call, __LINE__)
#define CUDA(call) checkCuda((call), #call, __LINE__)
#define CUBLAS(call) checkCublas((call), #call, __LINE__)

//===----------------------------------------------------------------------===//
// The manifest (JSON, written by prepare.py), read with nlohmann/json; a
// missing key or a wrong type throws json::exception, which main reports.
//===----------------------------------------------------------------------===//

using Json = nlohmann::json;

static std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail("cannot open %s", path.c_str());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

//===----------------------------------------------------------------------===//
// The manifest
//===----------------------------------------------------------------------===//

/// A buffer of the gpu_launch: an operand (input, scales, weights, output)
/// or a temp; kernels name them by index.
struct Buffer {
  std::string name, role, dtype, file, init;
  std::vector<int64_t> shape;
  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  size_t bytes() const { return static_cast<size_t>(elements()) * 4; }
};

struct Kernel {
  std::string name, role;
  unsigned grid[3], block[3];
  std::vector<int> args;
};

/// What the kernels were specialised to (Kernels.h, LayerKernelConfig).
struct Config {
  int activationBits = 4, activationMaxLevel = 7;
  int weightBits = 8, weightPlanes = 1, hadamardBlock = 1;
  bool dynamicScale = true, hasBias = false, int4Mma = false;
  float multiplier = 1.0f;
  int64_t mPad = 0, nPad = 0, kPad = 0;
  std::string mma;
  std::vector<int64_t> tile;
};

struct Case {
  std::string name, scheme, chip, cubin, ptx;
  int64_t m = 0, n = 0, k = 0;
  Config config;
  std::vector<Buffer> buffers;
  std::vector<Kernel> kernels;
  std::string centeredFile;  ///< quantized weights [N, K] int16, or empty
  bool baselineOnly = false; ///< no hqdm kernels (the conv shape)
  std::string note;

  int bufferIndex(const std::string &role) const {
    for (size_t i = 0; i < buffers.size(); ++i)
      if (buffers[i].role == role)
        return static_cast<int>(i);
    return -1;
  }
  const Kernel &kernel(const std::string &role) const {
    for (const Kernel &kernel : kernels)
      if (kernel.role == role)
        return kernel;
    fail("%s: no %s kernel", name.c_str(), role.c_str());
  }
};

static std::string joinPath(const std::string &dir, const std::string &rel) {
  if (rel.empty() || rel[0] == '/')
    return rel;
  return dir + "/" + rel;
}

static Case readCase(const Json &j, const std::string &dir) {
  Case c;
  c.name = j.at("name").get<std::string>();
  c.scheme = j.at("scheme").get<std::string>();
  c.chip = j.at("chip").get<std::string>();
  c.m = j.at("m").get<int64_t>();
  c.n = j.at("n").get<int64_t>();
  c.k = j.at("k").get<int64_t>();
  const Json &module = j.at("module");
  c.cubin = joinPath(dir, module.at("cubin").get<std::string>());
  if (module.contains("ptx"))
    c.ptx = joinPath(dir, module.at("ptx").get<std::string>());

  const Json &cj = j.at("config");
  Config &cfg = c.config;
  cfg.activationBits = cj.at("activation_bits").get<int64_t>();
  cfg.activationMaxLevel = cj.at("activation_max_level").get<int64_t>();
  cfg.weightBits = cj.at("weight_bits").get<int64_t>();
  cfg.weightPlanes = cj.at("weight_planes").get<int64_t>();
  cfg.hadamardBlock = cj.at("hadamard_block").get<int64_t>();
  cfg.dynamicScale = cj.at("dynamic_scale").get<bool>();
  cfg.hasBias = cj.at("has_bias").get<bool>();
  cfg.mma = cj.at("mma").get<std::string>();
  cfg.int4Mma =
      cfg.mma.size() >= 2 && cfg.mma.substr(cfg.mma.size() - 2) == "s4";
  cfg.multiplier = static_cast<float>(cj.at("multiplier").get<double>());
  cfg.mPad = cj.at("m_pad").get<int64_t>();
  cfg.nPad = cj.at("n_pad").get<int64_t>();
  cfg.kPad = cj.at("k_pad").get<int64_t>();
  cfg.tile = cj.at("tile").get<std::vector<int64_t>>();
  if ((cfg.activationBits != 4 && cfg.activationBits != 8) ||
      (cfg.weightBits != 4 && cfg.weightBits != 8) ||
      (cfg.weightPlanes != 1 && cfg.weightPlanes != 2) || cfg.kPad % 32 ||
      cfg.hadamardBlock < 1 || cfg.hadamardBlock > 32)
    fail("%s: unsupported kernel configuration", c.name.c_str());

  for (const Json &bj : j.at("buffers")) {
    Buffer b;
    b.name = bj.at("name").get<std::string>();
    b.role = bj.at("role").get<std::string>();
    b.dtype = bj.at("dtype").get<std::string>();
    b.shape = bj.at("shape").get<std::vector<int64_t>>();
    if (bj.contains("file"))
      b.file = joinPath(dir, bj.at("file").get<std::string>());
    if (bj.contains("init"))
      b.init = bj.at("init").get<std::string>();
    if (b.dtype != "f32" && b.dtype != "i32")
      fail("%s: buffer %s has element type %s (the bench handles f32 and "
           "i32)",
           c.name.c_str(), b.name.c_str(), b.dtype.c_str());
    c.buffers.push_back(b);
  }
  for (const Json &kj : j.at("kernels")) {
    Kernel kernel;
    kernel.name = kj.at("name").get<std::string>();
    kernel.role = kj.at("role").get<std::string>();
    auto grid = kj.at("grid").get<std::vector<int64_t>>(), block = kj.at("block").get<std::vector<int64_t>>();
    if (grid.size() != 3 || block.size() != 3)
      fail("%s: grid and block must have 3 dimensions", c.name.c_str());
    for (int d = 0; d < 3; ++d) {
      kernel.grid[d] = static_cast<unsigned>(grid[d]);
      kernel.block[d] = static_cast<unsigned>(block[d]);
    }
    for (int64_t a : kj.at("args").get<std::vector<int64_t>>()) {
      if (a < 0 || a >= static_cast<int64_t>(c.buffers.size()))
        fail("%s: kernel %s names buffer %lld of %zu", c.name.c_str(),
             kernel.name.c_str(), static_cast<long long>(a), c.buffers.size());
      kernel.args.push_back(static_cast<int>(a));
    }
    c.kernels.push_back(kernel);
  }
  for (const char *role :
       {"input", "packed_weight", "weight_scale", "output", "packed_input"})
    if (c.bufferIndex(role) < 0)
      fail("%s: no %s buffer", c.name.c_str(), role);
  if (c.bufferIndex(cfg.dynamicScale ? "token_scale" : "input_scale") < 0)
    fail("%s: no activation scale buffer", c.name.c_str());
  c.kernel("prologue");
  c.kernel("gemm");
  if (c.buffers[c.bufferIndex("output")].dtype != "f32")
    fail("%s: only f32 outputs are supported", c.name.c_str());
  if (j.contains("check"))
    c.centeredFile =
        joinPath(dir, j.at("check").at("centered_weights").get<std::string>());
  return c;
}

template <typename T>
static std::vector<T> readArray(const std::string &path, size_t count) {
  std::string bytes = readFile(path);
  if (bytes.size() != count * sizeof(T))
    fail("%s holds %zu bytes, expected %zu", path.c_str(), bytes.size(),
         count * sizeof(T));
  std::vector<T> out(count);
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

//===----------------------------------------------------------------------===//
// Host references (no CUDA)
//===----------------------------------------------------------------------===//

/// The seed of every case's random input (inputValue).
static const uint64_t kInputSeed = 0x5eed;

/// The random input: about normal, with 8x larger values in every 61st
/// channel (as diffusion transformers' activations have outlier channels),
/// from a counter-based hash so that any element can be recomputed. (The
/// device may contract the last steps into FMAs: the checks read the input
/// back from the device rather than recompute it.)
__host__ __device__ inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

__host__ __device__ inline float inputValue(uint64_t seed, uint64_t i,
                                            int64_t k) {
  uint64_t h = mix64(seed ^ mix64(i));
  // The sum of four uniforms in [-1, 1) (Irwin-Hall), scaled to unit
  // variance.
  float sum = 0.0f;
  for (int j = 0; j < 4; ++j)
    sum +=
        static_cast<float>((h >> (16 * j)) & 0xFFFF) * (1.0f / 32768.0f) - 1.0f;
  float v = sum * 0.8660254f;
  return (i % static_cast<uint64_t>(k)) % 61 == 7 ? 8.0f * v : v;
}

/// Where packWeights (Kernels.cpp) puts element e of a row: the 32-bit word
/// within the row and the bit shift within the word.
static std::pair<int64_t, int> weightPosition(const Config &c, int64_t e) {
  int64_t chunk = e / 32, inChunk = e % 32;
  if (c.weightBits == 4) {
    int64_t position = inChunk;
    if (!c.int4Mma && c.activationBits == 8) {
      int64_t half = inChunk / 16, r = inChunk % 16;
      position = (r / 4) * 8 + (r % 4) * 2 + half;
    }
    return {chunk * 4 + position / 8, static_cast<int>(4 * (position % 8))};
  }
  int64_t position = inChunk;
  if (c.activationBits == 4) {
    int64_t t = inChunk / 8, j = (inChunk % 8) / 2;
    position = inChunk % 2 == 0 ? 4 * t + j : 16 + 4 * t + j;
  }
  return {chunk * 8 + position / 4, static_cast<int>(8 * (position % 4))};
}

/// The centered integer weights [N, K] that the packed buffer
/// [planes, nPad, words] holds: digits sign-extended, w = lo + 128 * hi.
static std::vector<int32_t> unpackWeights(const Case &cs,
                                          const std::vector<int32_t> &packed) {
  const Config &c = cs.config;
  int64_t words = c.kPad * c.weightBits / 32;
  std::vector<std::pair<int64_t, int>> where(cs.k);
  for (int64_t e = 0; e < cs.k; ++e)
    where[e] = weightPosition(c, e);
  std::vector<int32_t> w(static_cast<size_t>(cs.n * cs.k));
  for (int64_t row = 0; row < cs.n; ++row) {
    for (int64_t e = 0; e < cs.k; ++e) {
      int32_t value = 0;
      for (int p = 0; p < c.weightPlanes; ++p) {
        uint32_t word = static_cast<uint32_t>(
            packed[(p * c.nPad + row) * words + where[e].first]);
        int32_t digit;
        if (c.weightBits == 4)
          digit = static_cast<int32_t>((word >> where[e].second) & 0xF) ^ 8;
        else
          digit = static_cast<int32_t>((word >> where[e].second) & 0xFF) ^ 128;
        digit -= c.weightBits == 4 ? 8 : 128; // sign-extend
        value += p == 0 ? digit : 128 * digit;
      }
      w[row * cs.k + e] = value;
    }
  }
  return w;
}

/// One row of x [K] rotated as the prologue does, zero-padded to kPad: the
/// block Hadamard in the kernel's butterfly order (partners at distance B/2
/// first), then the normalization. Every step is one IEEE f32 operation, as
/// in the kernel, so the results are expected to be identical.
static std::vector<float> hostRotateRow(const Config &c, int64_t k,
                                        const float *x) {
  int64_t chunks = c.kPad / 32;
  std::vector<float> rotated(static_cast<size_t>(c.kPad));
  const float norm =
      static_cast<float>(1.0 / std::sqrt(double(c.hadamardBlock)));
  for (int64_t ch = 0; ch < chunks; ++ch) {
    float v[32], next[32];
    for (int l = 0; l < 32; ++l) {
      int64_t e = ch * 32 + l;
      v[l] = e < k ? x[e] : 0.0f;
    }
    for (int s = c.hadamardBlock / 2; s >= 1; s /= 2) {
      for (int l = 0; l < 32; ++l)
        next[l] = (l & s) ? v[l ^ s] - v[l] : v[l] + v[l ^ s];
      std::memcpy(v, next, sizeof(v));
    }
    for (int l = 0; l < 32; ++l)
      rotated[ch * 32 + l] = c.hadamardBlock > 1 ? v[l] * norm : v[l];
  }
  return rotated;
}

/// max |v| over a row, NaN propagating (as the kernel's maximumf).
static float absMax(const std::vector<float> &row) {
  float amax = 0.0f;
  for (float v : row)
    amax =
        std::isnan(v) || std::isnan(amax) ? NAN : std::max(amax, std::fabs(v));
  return amax;
}

/// The prologue on the host for one row: the rotation, the per-token absmax
/// scale (div.rn, as the kernel) or the given one, round-half-even levels
/// clamped to the symmetric range.
static void hostPrologueRow(const Config &c, int64_t k, const float *x,
                            float givenScale, float &scale,
                            std::vector<int32_t> &levels) {
  std::vector<float> rotated = hostRotateRow(c, k, x);
  if (c.dynamicScale) {
    scale = absMax(rotated) / static_cast<float>(c.activationMaxLevel);
  } else {
    scale = givenScale;
  }
  levels.assign(static_cast<size_t>(c.kPad), 0);
  const float maxLevel = static_cast<float>(c.activationMaxLevel);
  for (int64_t e = 0; e < c.kPad; ++e) {
    float r = std::nearbyint(rotated[e] / scale);
    r = std::min(std::max(r, -maxLevel), maxLevel);
    levels[e] = scale == 0.0f ? 0 : static_cast<int32_t>(r);
  }
}

/// Level e of a row of packed activations: 4-bit words hold 8 nibbles
/// (element e at bit 4 * (e % 8) of word e / 8), 8-bit ones 4 bytes.
static int32_t activationLevel(const Config &c, const int32_t *row, int64_t e) {
  uint32_t word;
  if (c.activationBits == 4) {
    word = static_cast<uint32_t>(row[e / 8]) >> (4 * (e % 8));
    return static_cast<int32_t>(word << 28) >> 28;
  }
  word = static_cast<uint32_t>(row[e / 4]) >> (8 * (e % 4));
  return static_cast<int32_t>(word << 24) >> 24;
}

/// The scale given to a layer whose activation scale is not per token: the
/// per-tensor absmax of the rotated input over levels (what hqdm's
/// tensor_scale computes on the host), from the host's copy of the input.
static float givenInputScale(const Case &cs) {
  float amax = 0.0f;
  std::vector<float> x(static_cast<size_t>(cs.k));
  for (int64_t row = 0; row < cs.m; ++row) {
    for (int64_t e = 0; e < cs.k; ++e)
      x[e] = inputValue(kInputSeed, row * cs.k + e, cs.k);
    amax = std::max(amax, absMax(hostRotateRow(cs.config, cs.k, x.data())));
  }
  return amax / static_cast<float>(cs.config.activationMaxLevel);
}

/// Packs one row of levels like the prologue (for --dry-run).
static void packActivationRow(const Config &c,
                              const std::vector<int32_t> &levels,
                              int32_t *row) {
  int perWord = 32 / c.activationBits;
  uint32_t mask = (1u << c.activationBits) - 1;
  for (int64_t w = 0; w < c.kPad / perWord; ++w) {
    uint32_t word = 0;
    for (int s = 0; s < perWord; ++s)
      word |= (static_cast<uint32_t>(levels[w * perWord + s]) & mask)
              << (c.activationBits * s);
    row[w] = static_cast<int32_t>(word);
  }
}

/// One output row from the integer levels, in the epilogue's f32 order:
/// ((acc * sx) * sw) * multiplier + bias (mul.rn and add.rn, no FMA).
static void hostGemmRow(const Case &cs, const std::vector<int32_t> &levels,
                        float rowScale, const std::vector<int32_t> &weights,
                        const std::vector<float> &weightScale,
                        const std::vector<float> &bias, float *y) {
  const Config &c = cs.config;
  for (int64_t n = 0; n < cs.n; ++n) {
    const int32_t *w = &weights[n * cs.k];
    int64_t acc = 0;
    for (int64_t e = 0; e < cs.k; ++e)
      acc += static_cast<int64_t>(levels[e]) * w[e];
    // The kernel's accumulators are int32 and wrap.
    int32_t wrapped = static_cast<int32_t>(static_cast<uint32_t>(acc));
    float v = static_cast<float>(wrapped) * rowScale;
    v = v * (weightScale.size() == 1 ? weightScale[0] : weightScale[n]);
    if (c.multiplier != 1.0f)
      v = v * c.multiplier;
    if (c.hasBias)
      v = v + bias[n];
    y[n] = v;
  }
}

//===----------------------------------------------------------------------===//
// Device helpers
//===----------------------------------------------------------------------===//

__global__ void fillInput(float *x, uint64_t count, uint64_t seed, int64_t k) {
  for (uint64_t i = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x; i < count;
       i += uint64_t(gridDim.x) * blockDim.x)
    x[i] = inputValue(seed, i, k);
}

__global__ void fillInt8(int8_t *p, uint64_t count, uint64_t seed) {
  for (uint64_t i = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x; i < count;
       i += uint64_t(gridDim.x) * blockDim.x)
    p[i] = static_cast<int8_t>(static_cast<int>(mix64(seed ^ i) % 255) - 127);
}

__global__ void fillBf16(__nv_bfloat16 *p, uint64_t count, uint64_t seed) {
  for (uint64_t i = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x; i < count;
       i += uint64_t(gridDim.x) * blockDim.x)
    p[i] = __float2bfloat16(inputValue(seed, i, 1 << 30));
}

/// Keeps the GPU busy for about `cycles` so that the CPU has enqueued the
/// timed work before the start event is reached.
__global__ void spin(long long cycles) {
  long long start = clock64();
  while (clock64() - start < cycles) {
  }
}

static const unsigned kFillBlocks = 1024, kFillThreads = 256;
/// About 50 us at H100 clocks: longer than enqueueing two launches.
static const long long kSpinCycles = 100000;

/// A device allocation freed at scope exit.
struct DeviceBuffer {
  void *ptr = nullptr;
  size_t bytes = 0;
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : bytes(n) {
    CUDA(cudaMalloc(&ptr, std::max<size_t>(n, 16)));
  }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  DeviceBuffer(DeviceBuffer &&o) noexcept : ptr(o.ptr), bytes(o.bytes) {
    o.ptr = nullptr;
  }
  DeviceBuffer &operator=(DeviceBuffer &&o) noexcept {
    std::swap(ptr, o.ptr);
    std::swap(bytes, o.bytes);
    return *this;
  }
  ~DeviceBuffer() {
    if (ptr)
      cudaFree(ptr);
  }
};

struct Options {
  std::string dir;
  int reps = 100, warmup = 10, checkRows = 32;
  bool flush = true, dryRun = false;
  std::vector<std::string> only;
  std::string dumpDir; ///< --dry-run --dump: where to write x and y_ref
};

/// CUDA-event timing: `warmup` runs, then `reps` runs each preceded by an L2
/// flush (a memset larger than the L2) and a short spin; the median in us.
class Timer {
public:
  Timer(cudaStream_t stream, const Options &options, size_t l2Bytes)
      : stream(stream), options(options) {
    CUDA(cudaEventCreate(&start));
    CUDA(cudaEventCreate(&stop));
    if (options.flush)
      flushBuffer = DeviceBuffer(std::max<size_t>(2 * l2Bytes, 64u << 20));
  }
  ~Timer() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }

  double medianMicros(const std::function<void()> &work) {
    for (int i = 0; i < options.warmup; ++i)
      work();
    CUDA(cudaStreamSynchronize(stream));
    std::vector<float> times;
    for (int i = 0; i < options.reps; ++i) {
      if (flushBuffer.ptr)
        CUDA(cudaMemsetAsync(flushBuffer.ptr, i & 0xFF, flushBuffer.bytes,
                             stream));
      spin<<<1, 1, 0, stream>>>(kSpinCycles);
      CUDA(cudaGetLastError());
      CUDA(cudaEventRecord(start, stream));
      work();
      CUDA(cudaEventRecord(stop, stream));
      CUDA(cudaEventSynchronize(stop));
      float ms = 0;
      CUDA(cudaEventElapsedTime(&ms, start, stop));
      times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    size_t n = times.size();
    double median =
        n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    return median * 1000.0;
  }

private:
  cudaStream_t stream;
  const Options &options;
  cudaEvent_t start, stop;
  DeviceBuffer flushBuffer;
};

//===----------------------------------------------------------------------===//
// Baselines
//===----------------------------------------------------------------------===//

/// cuBLASLt INT8 GEMM: Y[M,N] (int32) = X[M,K] (int8) * W[N,K]^T (int8). In
/// cuBLAS's column-major terms Y^T = op_T(W) * X with both stored K-major:
/// the TN layout its IMMA kernels require.
struct LtInt8Gemm {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo;
  DeviceBuffer x, w, y;
  bool ok = false;
  std::string why;

  LtInt8Gemm(cublasLtHandle_t lt, int64_t m, int64_t n, int64_t k,
             void *workspace, size_t workspaceBytes)
      : x(m * k), w(n * k), y(m * n * 4) {
    fillInt8<<<kFillBlocks, kFillThreads>>>(static_cast<int8_t *>(x.ptr), m * k,
                                            11);
    fillInt8<<<kFillBlocks, kFillThreads>>>(static_cast<int8_t *>(w.ptr), n * k,
                                            12);
    CUDA(cudaGetLastError());
    CUBLAS(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32I, CUDA_R_32I));
    cublasOperation_t transA = CUBLAS_OP_T, transB = CUBLAS_OP_N;
    CUBLAS(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA,
                                          &transA, sizeof(transA)));
    CUBLAS(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB,
                                          &transB, sizeof(transB)));
    CUBLAS(cublasLtMatrixLayoutCreate(&a, CUDA_R_8I, k, n, k));
    CUBLAS(cublasLtMatrixLayoutCreate(&b, CUDA_R_8I, k, m, k));
    CUBLAS(cublasLtMatrixLayoutCreate(&c, CUDA_R_32I, n, m, n));
    cublasLtMatmulPreference_t preference;
    CUBLAS(cublasLtMatmulPreferenceCreate(&preference));
    CUBLAS(cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspaceBytes,
        sizeof(workspaceBytes)));
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
        lt, desc, a, b, c, c, preference, 1, &result, &found);
    CUBLAS(cublasLtMatmulPreferenceDestroy(preference));
    if (status != CUBLAS_STATUS_SUCCESS || found == 0) {
      why = std::string("no cuBLASLt INT8 algorithm (") +
            cublasGetStatusName(status) + ")";
      return;
    }
    algo = result.algo;
    ok = true;
  }
  ~LtInt8Gemm() {
    if (a)
      cublasLtMatrixLayoutDestroy(a);
    if (b)
      cublasLtMatrixLayoutDestroy(b);
    if (c)
      cublasLtMatrixLayoutDestroy(c);
    if (desc)
      cublasLtMatmulDescDestroy(desc);
  }
  void run(cublasLtHandle_t lt, cudaStream_t stream, void *workspace,
           size_t workspaceBytes) {
    const int32_t alpha = 1, beta = 0;
    CUBLAS(cublasLtMatmul(lt, desc, &alpha, w.ptr, a, x.ptr, b, &beta, y.ptr, c,
                          y.ptr, c, &algo, workspace, workspaceBytes, stream));
  }
};

/// cuBLAS BF16 GEMM: Y[M,N] (bf16) = X[M,K] (bf16) * W[N,K]^T (bf16), FP32
/// accumulation (what a BF16 PyTorch Linear runs).
struct Bf16Gemm {
  DeviceBuffer x, w, y;
  int64_t m, n, k;
  Bf16Gemm(int64_t m, int64_t n, int64_t k)
      : x(m * k * 2), w(n * k * 2), y(m * n * 2), m(m), n(n), k(k) {
    fillBf16<<<kFillBlocks, kFillThreads>>>(static_cast<__nv_bfloat16 *>(x.ptr),
                                            m * k, 21);
    fillBf16<<<kFillBlocks, kFillThreads>>>(static_cast<__nv_bfloat16 *>(w.ptr),
                                            n * k, 22);
    CUDA(cudaGetLastError());
  }
  void run(cublasHandle_t handle) {
    const float alpha = 1.0f, beta = 0.0f;
    CUBLAS(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha,
                        w.ptr, CUDA_R_16BF, k, x.ptr, CUDA_R_16BF, k, &beta,
                        y.ptr, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                        CUBLAS_GEMM_DEFAULT));
  }
};

//===----------------------------------------------------------------------===//
// One case
//===----------------------------------------------------------------------===//

struct Row {
  std::string name, scheme, note;
  int64_t m = 0, n = 0, k = 0;
  double total = NAN, prologue = NAN, gemm = NAN, memcpy = NAN, int8 = NAN,
         bf16 = NAN;
  std::string details;
  std::string check = "-";
};

struct Context {
  const Options &options;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cublasLtHandle_t lt = nullptr;
  DeviceBuffer workspace;
  size_t l2Bytes = 0;
  bool checksFailed = false;
};

/// The rows to check: all, or a sample spread over M (first and last too).
static std::vector<int64_t> checkedRows(const Case &cs, const Options &o) {
  std::vector<int64_t> rows;
  bool all = !cs.centeredFile.empty() || cs.m <= o.checkRows;
  if (all) {
    for (int64_t r = 0; r < cs.m; ++r)
      rows.push_back(r);
    return rows;
  }
  for (int i = 0; i < o.checkRows; ++i)
    rows.push_back(i * (cs.m - 1) / std::max(1, o.checkRows - 1));
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

/// Host data of a case: the weights as packed and unpacked, the scales.
struct HostData {
  std::vector<int32_t> packed, weights;
  std::vector<float> weightScale, bias;
};

static HostData loadHostData(const Case &cs, std::string &report) {
  HostData h;
  const Buffer &pw = cs.buffers[cs.bufferIndex("packed_weight")];
  h.packed = readArray<int32_t>(pw.file, pw.elements());
  if (pw.shape.size() != 3 || pw.shape[0] != cs.config.weightPlanes ||
      pw.shape[1] != cs.config.nPad ||
      pw.shape[2] != cs.config.kPad * cs.config.weightBits / 32)
    fail("%s: packed weight shape does not match the configuration",
         cs.name.c_str());
  h.weights = unpackWeights(cs, h.packed);
  const Buffer &ws = cs.buffers[cs.bufferIndex("weight_scale")];
  h.weightScale = readArray<float>(ws.file, ws.elements());
  if (cs.config.hasBias) {
    const Buffer &b = cs.buffers[cs.bufferIndex("bias")];
    h.bias = readArray<float>(b.file, b.elements());
  }
  if (!cs.centeredFile.empty()) {
    // The packed layout against the quantized weights themselves.
    auto centered = readArray<int16_t>(cs.centeredFile, cs.n * cs.k);
    int64_t bad = 0;
    for (size_t i = 0; i < centered.size(); ++i)
      bad += centered[i] != h.weights[i];
    if (bad)
      fail("%s: %lld of %zu weights unpacked from the packed layout differ "
           "from the quantized weights: the bench's view of packWeights is "
           "wrong",
           cs.name.c_str(), static_cast<long long>(bad), centered.size());
    report += "weights unpack exactly; ";
  }
  return h;
}

/// Compares the prologue's scales and levels, and the GEMM's output, with
/// the host references on `rows`. Returns a one-line summary; sets `failed`.
static std::string compare(const Case &cs, const HostData &h,
                           const std::vector<int64_t> &rows,
                           const std::vector<float> &x,            // rows x K
                           const std::vector<int32_t> &packedRows, // rows x Wa
                           const std::vector<float> &scales,       // rows
                           const std::vector<float> &y,            // rows x N
                           float givenScale, bool &failed) {
  const Config &c = cs.config;
  int64_t wa = c.kPad * c.activationBits / 32;
  int64_t scaleMismatch = 0, levelMismatch = 0, levelFar = 0;
  int64_t notExact = 0, integerMismatch = 0;
  double maxDiff = 0, maxAbsY = 0;
  std::vector<float> yRef(cs.n);
  std::vector<int32_t> levels, deviceLevels(c.kPad);
  for (size_t r = 0; r < rows.size(); ++r) {
    float scale;
    hostPrologueRow(c, cs.k, &x[r * cs.k], givenScale, scale, levels);
    if (!(scale == scales[r]))
      ++scaleMismatch;
    for (int64_t e = 0; e < c.kPad; ++e) {
      deviceLevels[e] = activationLevel(c, &packedRows[r * wa], e);
      int32_t d = std::abs(deviceLevels[e] - levels[e]);
      levelMismatch += d != 0;
      levelFar += d > 1;
    }
    // The GEMM on the device's own levels and scale.
    hostGemmRow(cs, deviceLevels, scales[r], h.weights, h.weightScale, h.bias,
                yRef.data());
    for (int64_t n = 0; n < cs.n; ++n) {
      float got = y[r * cs.n + n], want = yRef[n];
      maxAbsY = std::max(maxAbsY, std::fabs(double(want)));
      if (got == want)
        continue;
      ++notExact;
      // One unit of the integer accumulator moves the output by this much;
      // a difference of half of it is an integer error, not rounding.
      double quantum = std::fabs(
          double(scales[r]) *
          (h.weightScale.size() == 1 ? h.weightScale[0] : h.weightScale[n]) *
          c.multiplier);
      double diff = std::fabs(double(got) - double(want));
      if (!(diff <= 0.5 * quantum))
        ++integerMismatch;
      maxDiff = std::isnan(diff) ? INFINITY : std::max(maxDiff, diff);
    }
  }
  double maxRel = maxAbsY > 0 ? maxDiff / maxAbsY : maxDiff;
  int64_t outputs = static_cast<int64_t>(rows.size()) * cs.n;
  int64_t levelCount = static_cast<int64_t>(rows.size()) * c.kPad;
  char text[512];
  std::snprintf(
      text, sizeof text,
      "%zu rows: scales %lld/%zu differ, levels %lld/%lld differ "
      "(%lld by more than 1); output %lld/%lld not bit-exact, "
      "%lld integer mismatches, max |diff|/max|y| %.2e",
      rows.size(), static_cast<long long>(scaleMismatch), rows.size(),
      static_cast<long long>(levelMismatch), static_cast<long long>(levelCount),
      static_cast<long long>(levelFar), static_cast<long long>(notExact),
      static_cast<long long>(outputs), static_cast<long long>(integerMismatch),
      maxRel);
  // The GEMM must be exact up to f32 rounding; the prologue is expected to
  // match the host bit for bit, and a rare level off by one (a rounding tie
  // decided differently) is reported but tolerated.
  failed = integerMismatch > 0 || maxRel > 1e-6 || levelFar > 0 ||
           levelMismatch * 10000 > levelCount ||
           scaleMismatch * 100 > static_cast<int64_t>(rows.size());
  return text;
}

/// --dry-run: the host references on the case's own data, no CUDA.
static void dryRunCase(const Case &cs, const Options &o, Row &row) {
  std::string report;
  HostData h = loadHostData(cs, report);
  const Config &c = cs.config;
  std::vector<int64_t> rows = checkedRows(cs, o);
  int64_t wa = c.kPad * c.activationBits / 32;
  std::vector<float> x(rows.size() * cs.k), scales(rows.size()),
      y(rows.size() * cs.n);
  std::vector<int32_t> packed(rows.size() * wa);
  float givenScale = c.dynamicScale ? 0.0f : givenInputScale(cs);
  std::vector<int32_t> levels;
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int64_t e = 0; e < cs.k; ++e)
      x[r * cs.k + e] = inputValue(kInputSeed, rows[r] * cs.k + e, cs.k);
    // What the device would produce, by the host references themselves:
    // this exercises packing, unpacking and the GEMM reference.
    hostPrologueRow(c, cs.k, &x[r * cs.k], givenScale, scales[r], levels);
    packActivationRow(c, levels, &packed[r * wa]);
    hostGemmRow(cs, levels, scales[r], h.weights, h.weightScale, h.bias,
                &y[r * cs.n]);
  }
  bool failed = false;
  row.check =
      report + compare(cs, h, rows, x, packed, scales, y, givenScale, failed);
  if (failed)
    fail("%s: the host references disagree with themselves: %s",
         cs.name.c_str(), row.check.c_str());

  // Negative controls: the check must catch one wrong level (the output no
  // longer matches the GEMM of the device's levels) and one NaN output.
  {
    std::vector<int32_t> wrongLevels = packed;
    int64_t e = cs.k / 2; // level e of the last checked row
    int32_t *last = &wrongLevels[(rows.size() - 1) * wa];
    int32_t level = activationLevel(c, last, e);
    int32_t changed = level < c.activationMaxLevel ? level + 1 : level - 1;
    int per = 32 / c.activationBits;
    uint32_t mask = ((1u << c.activationBits) - 1)
                    << (c.activationBits * (e % per));
    uint32_t word = static_cast<uint32_t>(last[e / per]);
    word = (word & ~mask) |
           ((static_cast<uint32_t>(changed) << (c.activationBits * (e % per))) &
            mask);
    last[e / per] = static_cast<int32_t>(word);
    std::vector<float> nanY = y;
    nanY[nanY.size() / 2] = NAN;
    bool caughtLevel = false, caughtNan = false;
    compare(cs, h, rows, x, wrongLevels, scales, y, givenScale, caughtLevel);
    compare(cs, h, rows, x, packed, scales, nanY, givenScale, caughtNan);
    if (!caughtLevel || !caughtNan)
      fail("%s: the check misses a planted error (%s)", cs.name.c_str(),
           caughtLevel ? "a NaN output" : "a wrong level");
    row.check += "; planted errors caught";
  }
  if (!o.dumpDir.empty() && !cs.centeredFile.empty()) {
    // Every row of x and of the reference output, for verify_reference.py.
    auto dump = [&](const std::string &suffix, const std::vector<float> &v) {
      std::string path = o.dumpDir + "/" + cs.name + suffix;
      std::ofstream out(path, std::ios::binary);
      out.write(reinterpret_cast<const char *>(v.data()), v.size() * 4);
      if (!out)
        fail("cannot write %s", path.c_str());
    };
    dump(".x.f32.bin", x);
    dump(".y.f32.bin", y);
  }
}

static CUmodule loadModule(const Case &cs, std::string &loaded) {
  // The cubin first; the PTX (JIT-compiled by the driver) if the driver
  // refuses the cubin, e.g. one from a newer ptxas than it supports.
  CUmodule module = nullptr;
  std::string cubin = readFile(cs.cubin);
  CUresult result = cuModuleLoadData(&module, cubin.data());
  if (result == CUDA_SUCCESS) {
    loaded = "cubin";
    return module;
  }
  const char *name = "?";
  cuGetErrorName(result, &name);
  if (cs.ptx.empty())
    fail("%s: cuModuleLoadData(%s) failed: %s (built for %s; rerun "
         "prepare.py --chip for this GPU)",
         cs.name.c_str(), cs.cubin.c_str(), name, cs.chip.c_str());
  std::string ptx = readFile(cs.ptx);
  char log[8192] = {0};
  CUjit_option keys[] = {CU_JIT_ERROR_LOG_BUFFER,
                         CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log))};
  CUresult jit = cuModuleLoadDataEx(&module, ptx.c_str(), 2, keys, values);
  if (jit != CUDA_SUCCESS) {
    const char *jitName = "?";
    cuGetErrorName(jit, &jitName);
    fail("%s: the cubin (%s) and the PTX (%s) both failed to load (%s, %s); "
         "built for %s. JIT log:\n%s",
         cs.name.c_str(), cs.cubin.c_str(), cs.ptx.c_str(), name, jitName,
         cs.chip.c_str(), log);
  }
  std::fprintf(stderr, "  %s: cubin refused (%s), PTX JIT-compiled instead\n",
               cs.name.c_str(), name);
  loaded = "ptx (cubin refused: " + std::string(name) + ")";
  return module;
}

static void runCase(const Case &cs, Context &ctx, Row &row) {
  const Config &c = cs.config;
  std::string loaded;
  CUmodule module = loadModule(cs, loaded);

  // Functions, and a check of their ABI: one 8-byte pointer per argument.
  struct Launch {
    CUfunction function;
    const Kernel *kernel;
  };
  std::vector<Launch> launches;
  std::string details = loaded;
  for (const Kernel &kernel : cs.kernels) {
    CUfunction f;
    CU(cuModuleGetFunction(&f, module, kernel.name.c_str()));
#if CUDA_VERSION >= 12040
    for (size_t i = 0; i <= kernel.args.size(); ++i) {
      size_t offset = 0, size = 0;
      CUresult r = cuFuncGetParamInfo(f, i, &offset, &size);
      if (i == kernel.args.size()) {
        if (r == CUDA_SUCCESS)
          fail("%s: %s takes more than the %zu arguments the manifest "
               "gives",
               cs.name.c_str(), kernel.name.c_str(), kernel.args.size());
        break;
      }
      if (r != CUDA_SUCCESS || size != 8)
        fail("%s: %s argument %zu is not an 8-byte pointer", cs.name.c_str(),
             kernel.name.c_str(), i);
    }
#endif
    int regs = 0, spill = 0, smem = 0, maxThreads = 0;
    CU(cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, f));
    CU(cuFuncGetAttribute(&spill, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, f));
    CU(cuFuncGetAttribute(&smem, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f));
    CU(cuFuncGetAttribute(&maxThreads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
                          f));
    if (static_cast<unsigned>(maxThreads) <
        kernel.block[0] * kernel.block[1] * kernel.block[2])
      fail("%s: %s can run %d threads per block, the launch wants %u",
           cs.name.c_str(), kernel.name.c_str(), maxThreads,
           kernel.block[0] * kernel.block[1] * kernel.block[2]);
    char text[160];
    std::snprintf(text, sizeof text, "; %s: %d regs, %d B smem, %d B local",
                  kernel.role.c_str(), regs, smem, spill);
    details += text;
    launches.push_back({f, &kernel});
  }

  // Buffers. What the kernels write (the output and the temps) starts as
  // 0xFF bytes (NaN, level -1): the check sees anything left unwritten, and
  // nothing may rely on zeroed temps (hqdm's host code does not clear them).
  std::string report;
  HostData h = loadHostData(cs, report);
  std::vector<DeviceBuffer> buffers;
  std::vector<CUdeviceptr> pointers;
  for (const Buffer &b : cs.buffers) {
    buffers.emplace_back(b.bytes());
    CUDA(cudaMemsetAsync(buffers.back().ptr, 0xFF, b.bytes(), ctx.stream));
    pointers.push_back(reinterpret_cast<CUdeviceptr>(buffers.back().ptr));
  }
  const int inputIndex = cs.bufferIndex("input");
  float *x = static_cast<float *>(buffers[inputIndex].ptr);
  fillInput<<<kFillBlocks, kFillThreads, 0, ctx.stream>>>(x, cs.m * cs.k,
                                                          kInputSeed, cs.k);
  CUDA(cudaGetLastError());
  auto upload = [&](const char *role, const void *data) {
    int i = cs.bufferIndex(role);
    CUDA(cudaMemcpyAsync(buffers[i].ptr, data, cs.buffers[i].bytes(),
                         cudaMemcpyHostToDevice, ctx.stream));
  };
  upload("packed_weight", h.packed.data());
  upload("weight_scale", h.weightScale.data());
  if (c.hasBias)
    upload("bias", h.bias.data());
  float givenScale = 0;
  if (!c.dynamicScale) {
    givenScale = givenInputScale(cs);
    upload("input_scale", &givenScale);
  }
  CUDA(cudaStreamSynchronize(ctx.stream));

  std::vector<std::vector<void *>> params(launches.size());
  for (size_t i = 0; i < launches.size(); ++i)
    for (int a : launches[i].kernel->args)
      params[i].push_back(&pointers[a]);
  auto launch = [&](size_t i) {
    const Kernel &k = *launches[i].kernel;
    CU(cuLaunchKernel(launches[i].function, k.grid[0], k.grid[1], k.grid[2],
                      k.block[0], k.block[1], k.block[2], 0, ctx.stream,
                      params[i].data(), nullptr));
  };
  size_t prologue = 0, gemm = 0;
  for (size_t i = 0; i < launches.size(); ++i)
    (launches[i].kernel->role == "prologue" ? prologue : gemm) = i;

  // Correctness: one run, then the host references.
  for (size_t i = 0; i < launches.size(); ++i)
    launch(i);
  CUDA(cudaStreamSynchronize(ctx.stream));
  {
    std::vector<int64_t> rows = checkedRows(cs, ctx.options);
    int64_t wa = c.kPad * c.activationBits / 32;
    std::vector<float> hx(rows.size() * cs.k), hy(rows.size() * cs.n),
        scales(rows.size(), givenScale);
    std::vector<int32_t> packedRows(rows.size() * wa);
    const float *dy =
        static_cast<const float *>(buffers[cs.bufferIndex("output")].ptr);
    const int32_t *dp = static_cast<const int32_t *>(
        buffers[cs.bufferIndex("packed_input")].ptr);
    const float *ds = c.dynamicScale
                          ? static_cast<const float *>(
                                buffers[cs.bufferIndex("token_scale")].ptr)
                          : nullptr;
    for (size_t r = 0; r < rows.size(); ++r) {
      CUDA(cudaMemcpy(&hx[r * cs.k], x + rows[r] * cs.k, cs.k * 4,
                      cudaMemcpyDeviceToHost));
      CUDA(cudaMemcpy(&hy[r * cs.n], dy + rows[r] * cs.n, cs.n * 4,
                      cudaMemcpyDeviceToHost));
      CUDA(cudaMemcpy(&packedRows[r * wa], dp + rows[r] * wa, wa * 4,
                      cudaMemcpyDeviceToHost));
      if (ds)
        CUDA(cudaMemcpy(&scales[r], ds + rows[r], 4, cudaMemcpyDeviceToHost));
    }
    bool failed = false;
    row.check = report + compare(cs, h, rows, hx, packedRows, scales, hy,
                                 givenScale, failed);
    if (failed) {
      ctx.checksFailed = true;
      row.check = "FAILED: " + row.check;
      std::fprintf(stderr, "  %s: CHECK FAILED: %s\n", cs.name.c_str(),
                   row.check.c_str());
    }
  }

  // Timing.
  Timer timer(ctx.stream, ctx.options, ctx.l2Bytes);
  row.total = timer.medianMicros([&] {
    for (size_t i = 0; i < launches.size(); ++i)
      launch(i);
  });
  row.prologue = timer.medianMicros([&] { launch(prologue); });
  row.gemm = timer.medianMicros([&] { launch(gemm); });
  DeviceBuffer copy(cs.m * cs.k * 4);
  row.memcpy = timer.medianMicros([&] {
    CUDA(cudaMemcpyAsync(copy.ptr, x, cs.m * cs.k * 4, cudaMemcpyDeviceToDevice,
                         ctx.stream));
  });
  row.details = details;
  CU(cuModuleUnload(module));
}

static void runBaselines(int64_t m, int64_t n, int64_t k, Context &ctx,
                         Row &row) {
  Timer timer(ctx.stream, ctx.options, ctx.l2Bytes);
  {
    LtInt8Gemm int8(ctx.lt, m, n, k, ctx.workspace.ptr, ctx.workspace.bytes);
    CUDA(cudaDeviceSynchronize());
    if (int8.ok)
      row.int8 = timer.medianMicros([&] {
        int8.run(ctx.lt, ctx.stream, ctx.workspace.ptr, ctx.workspace.bytes);
      });
    else
      row.note += int8.why + ". ";
  }
  {
    Bf16Gemm bf16(m, n, k);
    CUDA(cudaDeviceSynchronize());
    row.bf16 = timer.medianMicros([&] { bf16.run(ctx.cublas); });
  }
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

static std::string fmt(double v, const char *format = "%.1f") {
  if (std::isnan(v))
    return "n/a";
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

static std::string ratio(double num, double den) {
  if (std::isnan(num) || std::isnan(den) || den <= 0)
    return "n/a";
  return fmt(num / den, "%.2fx");
}

static void printTable(const std::vector<Row> &rows) {
  std::printf(
      "\n| case | M | N | K | hqdm us (prologue+GEMM) | hqdm GEMM us | TOPS "
      "| cuBLASLt INT8 us | cuBLAS BF16 us | INT8/hqdm | BF16/hqdm | "
      "prologue us | memcpy us | prologue/memcpy |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:"
      "|\n");
  for (const Row &r : rows) {
    double tops = 2.0 * r.m * r.n * r.k / (r.total * 1e-6) / 1e12;
    std::printf("| %s | %lld | %lld | %lld | %s | %s | %s | %s | %s | %s | "
                "%s | %s | %s | %s |\n",
                r.name.c_str(), static_cast<long long>(r.m),
                static_cast<long long>(r.n), static_cast<long long>(r.k),
                fmt(r.total).c_str(), fmt(r.gemm).c_str(),
                fmt(tops, "%.0f").c_str(), fmt(r.int8).c_str(),
                fmt(r.bf16).c_str(), ratio(r.int8, r.total).c_str(),
                ratio(r.bf16, r.total).c_str(), fmt(r.prologue).c_str(),
                fmt(r.memcpy).c_str(), ratio(r.prologue, r.memcpy).c_str());
  }
  std::printf(
      "\nINT8/hqdm and BF16/hqdm: baseline time / hqdm time (above 1: hqdm is "
      "faster), hqdm counted as prologue + GEMM, the baselines as the GEMM "
      "alone on already-quantized (INT8) or BF16 inputs. TOPS: 2*M*N*K / hqdm "
      "time. prologue/memcpy: the fused rotate-quantize-pack kernel against "
      "a device-to-device cudaMemcpy of its f32 input (M*K*4 bytes; the copy "
      "also writes them, the prologue writes M*K/2 or M*K bytes).\n");
}

//===----------------------------------------------------------------------===//
// Main
//===----------------------------------------------------------------------===//

static Options parseOptions(int argc, char **argv) {
  Options o;
  auto value = [&](int &i) -> const char * {
    if (i + 1 >= argc)
      fail("%s needs a value", argv[i]);
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--reps")
      o.reps = std::atoi(value(i));
    else if (a == "--warmup")
      o.warmup = std::atoi(value(i));
    else if (a == "--check-rows")
      o.checkRows = std::atoi(value(i));
    else if (a == "--no-flush")
      o.flush = false;
    else if (a == "--dry-run")
      o.dryRun = true;
    else if (a == "--only")
      o.only.push_back(value(i));
    else if (a == "--dump")
      o.dumpDir = value(i);
    else if (a == "-h" || a == "--help") {
      std::printf("usage: %s OUT_DIR [--reps N] [--warmup N] [--no-flush] "
                  "[--only TEXT]... [--check-rows N] [--dry-run [--dump "
                  "DIR]]\n",
                  argv[0]);
      std::exit(0);
    } else if (!a.empty() && a[0] == '-')
      fail("unknown option %s", a.c_str());
    else if (o.dir.empty())
      o.dir = a;
    else
      fail("more than one directory given");
  }
  if (o.dir.empty())
    fail("usage: gemm_bench OUT_DIR [options] (OUT_DIR: prepare.py's output, "
         "with manifest.json)");
  if (o.reps < 1 || o.warmup < 0 || o.checkRows < 2)
    fail("--reps must be at least 1, --check-rows at least 2");
  if (!o.dumpDir.empty() && !o.dryRun)
    fail("--dump goes with --dry-run");
  return o;
}

static std::string nowUtc() {
  std::time_t t = std::time(nullptr);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
  return text;
}

/// The sm_XY a cubin was built for, as a compute capability.
static std::pair<int, int> chipCapability(const std::string &chip) {
  int v = std::atoi(chip.c_str() + 3);
  return {v / 10, v % 10};
}

int main(int argc, char **argv) {
  Options options = parseOptions(argc, argv);
  Json manifest;
  std::vector<Case> cases;
  try {
    manifest = Json::parse(readFile(options.dir + "/manifest.json"));
    for (const Json &j : manifest.at("cases")) {
      Case c = readCase(j, options.dir);
      bool selected = options.only.empty();
      for (const std::string &text : options.only)
        selected |= c.name.find(text) != std::string::npos;
      if (selected)
        cases.push_back(c);
    }
  } catch (const Json::exception &e) {
    fail("%s/manifest.json: %s", options.dir.c_str(), e.what());
  }
  // The 3x3 convolution of an LDM UNet has no GPU lowering yet: its
  // im2col-equivalent GEMM (64x64 latent, 320 -> 320 channels: M = 4096,
  // N = 320, K = 320 * 9) is timed for the baselines only.
  Case conv;
  conv.name = "conv3x3 LDM UNet 320ch 64x64 (im2col)";
  conv.scheme = "-";
  conv.m = 64 * 64;
  conv.n = 320;
  conv.k = 320 * 9;
  conv.baselineOnly = true;
  bool runConv = options.only.empty();
  for (const std::string &text : options.only)
    runConv |= conv.name.find(text) != std::string::npos;

  std::printf("# hqdm generated GEMM kernels vs cuBLAS\n\n");
  auto field = [&](const char *key) -> std::string {
    auto value = manifest.find(key);
    return value != manifest.end() && value->is_string()
               ? value->get<std::string>()
               : std::string("?");
  };
  std::printf("- manifest: %s/manifest.json (%zu cases; generated %s at "
              "commit %s for %s)\n",
              options.dir.c_str(), cases.size(), field("generated").c_str(),
              field("hqdm_commit").c_str(), field("chip").c_str());
  std::printf("- date: %s\n", nowUtc().c_str());
  std::printf("- timing: median of %d runs after %d warm-up runs, CUDA "
              "events, %s\n",
              options.reps, options.warmup,
              options.flush ? "L2 flushed before each run" : "L2 not flushed");

  std::vector<Row> rows;
  if (options.dryRun) {
    std::printf("- dry run: host checks only, no CUDA call\n\n");
    for (const Case &cs : cases) {
      Row row;
      row.name = cs.name;
      if (access(cs.cubin.c_str(), R_OK) != 0)
        fail("%s: %s is missing", cs.name.c_str(), cs.cubin.c_str());
      dryRunCase(cs, options, row);
      std::printf("- %s: %s\n", cs.name.c_str(), row.check.c_str());
      std::fflush(stdout);
    }
    std::printf("\ndry run passed: %zu cases\n", cases.size());
    return 0;
  }

  // The device.
  int devices = 0;
  cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0)
    fail("no usable CUDA device: %s (%s). Is there a GPU and a driver?",
         status == cudaSuccess ? "none found" : cudaGetErrorName(status),
         status == cudaSuccess ? "0 devices" : cudaGetErrorString(status));
  CUDA(cudaSetDevice(0));
  CUDA(cudaFree(nullptr)); // creates the primary context the driver API uses
  Context ctx{options};
  cudaDeviceProp prop;
  CUDA(cudaGetDeviceProperties(&prop, 0));
  int l2 = 0, driver = 0, runtime = 0, sms = 0;
  CUDA(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
  CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  ctx.l2Bytes = static_cast<size_t>(l2);
  CUDA(cudaDriverGetVersion(&driver));
  CUDA(cudaRuntimeGetVersion(&runtime));
  std::printf("- device: %s, sm_%d%d, %d SMs, %.1f GiB, L2 %d MiB\n", prop.name,
              prop.major, prop.minor, sms,
              prop.totalGlobalMem / double(1 << 30), l2 >> 20);
  std::printf("- CUDA driver %d.%d, runtime %d.%d, cuBLASLt %zu\n",
              driver / 1000, driver % 1000 / 10, runtime / 1000,
              runtime % 1000 / 10, cublasLtGetVersion());
  if (prop.major < 8)
    fail("%s is sm_%d%d: hqdm's kernels need sm_80 or newer", prop.name,
         prop.major, prop.minor);
  for (const Case &cs : cases) {
    auto [major, minor] = chipCapability(cs.chip);
    if (major != prop.major || minor > prop.minor)
      std::fprintf(stderr,
                   "gemm_bench: warning: %s was built for %s, the device is "
                   "sm_%d%d: the cubin will likely be refused and the PTX "
                   "JIT-compiled (or rerun prepare.py --chip sm_%d%d)\n",
                   cs.name.c_str(), cs.chip.c_str(), prop.major, prop.minor,
                   prop.major, prop.minor);
  }
  std::fflush(stdout);

  CUDA(cudaStreamCreateWithFlags(&ctx.stream, cudaStreamNonBlocking));
  CUBLAS(cublasCreate(&ctx.cublas));
  CUBLAS(cublasSetStream(ctx.cublas, ctx.stream));
  CUBLAS(cublasLtCreate(&ctx.lt));
  ctx.workspace = DeviceBuffer(32u << 20);
  CUBLAS(
      cublasSetWorkspace(ctx.cublas, ctx.workspace.ptr, ctx.workspace.bytes));

  std::vector<std::string> details;
  for (const Case &cs : cases) {
    std::fprintf(stderr, "[gemm_bench] %s\n", cs.name.c_str());
    Row row;
    row.name = cs.name;
    row.scheme = cs.scheme;
    row.m = cs.m;
    row.n = cs.n;
    row.k = cs.k;
    runCase(cs, ctx, row);
    runBaselines(cs.m, cs.n, cs.k, ctx, row);
    const Config &c = cs.config;
    char text[512];
    std::snprintf(
        text, sizeof text,
        "A%d W%d%s %s, tile %lldx%lldx%lld, grids %ux%u / %ux%u; ",
        c.activationBits, c.weightBits, c.weightPlanes == 2 ? "x2" : "",
        c.mma.c_str(), static_cast<long long>(c.tile[0]),
        static_cast<long long>(c.tile[1]), static_cast<long long>(c.tile[2]),
        cs.kernel("prologue").grid[0], cs.kernel("prologue").grid[1],
        cs.kernel("gemm").grid[0], cs.kernel("gemm").grid[1]);
    // Bytes each moves: the prologue reads x and writes the packed levels
    // and the scales; the copy reads and writes x.
    const Buffer &packedInput = cs.buffers[cs.bufferIndex("packed_input")];
    double prologueBytes = 4.0 * cs.m * cs.k + packedInput.bytes() +
                           (c.dynamicScale ? 4.0 * c.mPad : 0.0);
    std::snprintf(text + std::strlen(text), sizeof text - std::strlen(text),
                  "prologue %.0f GB/s, memcpy %.0f GB/s; ",
                  prologueBytes / (row.prologue * 1e3),
                  8.0 * cs.m * cs.k / (row.memcpy * 1e3));
    details.push_back("- " + cs.name + ": " + text + row.details +
                      "\n  - check: " + row.check +
                      (row.note.empty() ? "" : "\n  - note: " + row.note));
    rows.push_back(row);
  }
  if (runConv) {
    std::fprintf(stderr, "[gemm_bench] %s\n", conv.name.c_str());
    Row row;
    row.name = conv.name;
    row.m = conv.m;
    row.n = conv.n;
    row.k = conv.k;
    runBaselines(conv.m, conv.n, conv.k, ctx, row);
    details.push_back("- " + conv.name +
                      ": not generated yet (hqdm.qconv2d has no GPU "
                      "lowering); baselines only, on the im2col GEMM shape "
                      "(the im2col itself is not timed)");
    rows.push_back(row);
  }

  printTable(rows);
  std::printf("\nPer case:\n\n");
  for (const std::string &line : details)
    std::printf("%s\n", line.c_str());

  cublasLtDestroy(ctx.lt);
  cublasDestroy(ctx.cublas);
  cudaStreamDestroy(ctx.stream);
  if (ctx.checksFailed) {
    std::fflush(stdout);
    std::fprintf(stderr, "gemm_bench: CORRECTNESS CHECK FAILED (see 'check' "
                         "above): the timings are of wrong kernels\n");
    return 3;
  }
  std::printf("\nAll correctness checks passed.\n");
  return 0;
}
