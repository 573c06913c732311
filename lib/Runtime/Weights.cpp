//===- Weights.cpp - External weights files of whole-model libraries ------===//
//
// Reads a safetensors file (an 8-byte little-endian header length, a JSON
// object `name -> {dtype, shape, data_offsets}` with an optional
// `__metadata__`, then the tensor data), checks it against the description a
// library exports (Weights.h), and keeps one device copy of each tensor for
// hqdmDeviceWeight. Everything that can be wrong with the file is found
// before the device is touched and reported as a message, never a crash:
// the JSON parser bounds its depth and every offset is range-checked.
//
//===----------------------------------------------------------------------===//

#include "Fatal.h"
#include "Weights.h"

#include "hqdm/Runtime/Model.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#define HQDM_EXPORT extern "C" __attribute__((visibility("default")))

using namespace hqdm::runtime;

namespace {

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
  char buffer[4096];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buffer, sizeof(buffer), fmt, args);
  va_end(args);
  return buffer;
}

//===----------------------------------------------------------------------===//
// A small JSON reader: what a safetensors header needs
//===----------------------------------------------------------------------===//

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  bool integral = false; ///< A number without fraction or exponent.
  int64_t integer = 0;   ///< Its value when integral (and in range).
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;

  const Json *get(const std::string &key) const {
    for (const auto &[k, v] : object)
      if (k == key)
        return &v;
    return nullptr;
  }
};

class JsonParser {
public:
  JsonParser(const char *begin, const char *end) : p(begin), end(end) {}

  bool parse(Json &out, std::string &error) {
    if (!value(out, 0) || (skipSpace(), p != end)) {
      if (this->error.empty())
        this->error = "trailing characters";
      error = format("%s at byte %ld of the header", this->error.c_str(),
                     static_cast<long>(p - start));
      return false;
    }
    return true;
  }

private:
  const char *p, *end;
  const char *start = p;
  std::string error;
  static constexpr int kMaxDepth = 32;

  bool fail(const char *what) {
    error = what;
    return false;
  }
  void skipSpace() {
    while (p != end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
      ++p;
  }
  bool literal(const char *word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end - p) < n || std::memcmp(p, word, n) != 0)
      return fail("invalid literal");
    p += n;
    return true;
  }

  bool value(Json &out, int depth) {
    if (depth > kMaxDepth)
      return fail("nesting too deep");
    skipSpace();
    if (p == end)
      return fail("unexpected end");
    switch (*p) {
    case '{':
      return object(out, depth);
    case '[':
      return array(out, depth);
    case '"':
      out.kind = Json::String;
      return string(out.string);
    case 't':
      out.kind = Json::Bool;
      out.boolean = true;
      return literal("true");
    case 'f':
      out.kind = Json::Bool;
      return literal("false");
    case 'n':
      return literal("null");
    default:
      return number(out);
    }
  }

  bool object(Json &out, int depth) {
    out.kind = Json::Object;
    ++p; // {
    skipSpace();
    if (p != end && *p == '}') {
      ++p;
      return true;
    }
    while (true) {
      skipSpace();
      std::string key;
      if (p == end || *p != '"')
        return fail("expected a string key");
      if (!string(key))
        return false;
      skipSpace();
      if (p == end || *p != ':')
        return fail("expected ':'");
      ++p;
      Json v;
      if (!value(v, depth + 1))
        return false;
      out.object.emplace_back(std::move(key), std::move(v));
      skipSpace();
      if (p != end && *p == ',') {
        ++p;
        continue;
      }
      if (p != end && *p == '}') {
        ++p;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(Json &out, int depth) {
    out.kind = Json::Array;
    ++p; // [
    skipSpace();
    if (p != end && *p == ']') {
      ++p;
      return true;
    }
    while (true) {
      Json v;
      if (!value(v, depth + 1))
        return false;
      out.array.push_back(std::move(v));
      skipSpace();
      if (p != end && *p == ',') {
        ++p;
        continue;
      }
      if (p != end && *p == ']') {
        ++p;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  static int hexDigit(char c) {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  }

  bool string(std::string &out) {
    ++p; // "
    while (p != end && *p != '"') {
      char c = *p++;
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in a string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (p == end)
        return fail("unterminated string");
      char e = *p++;
      switch (e) {
      case '"': case '\\': case '/': out.push_back(e); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        if (end - p < 4)
          return fail("bad \\u escape");
        unsigned code = 0;
        for (int i = 0; i < 4; ++i) {
          int d = hexDigit(p[i]);
          if (d < 0)
            return fail("bad \\u escape");
          code = code * 16 + d;
        }
        p += 4;
        // UTF-8 of the code unit (names are compared, not displayed, so a
        // surrogate pair stays two units).
        if (code < 0x80) {
          out.push_back(static_cast<char>(code));
        } else if (code < 0x800) {
          out.push_back(static_cast<char>(0xC0 | (code >> 6)));
          out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        } else {
          out.push_back(static_cast<char>(0xE0 | (code >> 12)));
          out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
          out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        }
        break;
      }
      default:
        return fail("bad escape in a string");
      }
    }
    if (p == end)
      return fail("unterminated string");
    ++p; // "
    return true;
  }

  bool number(Json &out) {
    out.kind = Json::Number;
    const char *begin = p;
    if (p != end && *p == '-')
      ++p;
    const char *digits = p;
    while (p != end && *p >= '0' && *p <= '9')
      ++p;
    if (p == digits)
      return fail("invalid value");
    out.integral = true;
    if (p != end && *p == '.') {
      out.integral = false;
      ++p;
      while (p != end && *p >= '0' && *p <= '9')
        ++p;
    }
    if (p != end && (*p == 'e' || *p == 'E')) {
      out.integral = false;
      ++p;
      if (p != end && (*p == '+' || *p == '-'))
        ++p;
      while (p != end && *p >= '0' && *p <= '9')
        ++p;
    }
    if (out.integral) {
      std::string text(begin, p);
      errno = 0;
      char *stop = nullptr;
      long long v = std::strtoll(text.c_str(), &stop, 10);
      if (errno == ERANGE)
        out.integral = false;
      out.integer = v;
    }
    return true;
  }
};

//===----------------------------------------------------------------------===//
// The file
//===----------------------------------------------------------------------===//

int64_t dtypeBytes(const std::string &dtype) {
  static const std::pair<const char *, int64_t> sizes[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U64", 8},  {"U32", 4},
      {"U16", 2}, {"U8", 1},  {"BOOL", 1}};
  for (auto [name, size] : sizes)
    if (dtype == name)
      return size;
  return 0;
}

uint64_t fnv1a(const std::string &text, uint64_t hash) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

struct Tensor {
  std::string name;
  uint64_t begin = 0, end = 0;
  uint64_t deviceOffset = 0; ///< Into the set's device block.
};

/// A read-only mapping of a whole file.
struct Mapping {
  void *data = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (data != MAP_FAILED)
      munmap(data, size);
  }
};

bool mapFile(const std::string &path, Mapping &mapping, std::string &error) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = format("cannot open the weights file %s: %s", path.c_str(),
                   std::strerror(errno));
    return false;
  }
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    error = format("the weights file %s is not a regular file", path.c_str());
    close(fd);
    return false;
  }
  mapping.size = static_cast<size_t>(info.st_size);
  if (mapping.size > 0)
    mapping.data = mmap(nullptr, mapping.size, PROT_READ, MAP_PRIVATE, fd, 0);
  int mapErrno = errno;
  close(fd);
  if (mapping.size > 0 && mapping.data == MAP_FAILED) {
    error = format("cannot map the weights file %s: %s", path.c_str(),
                   std::strerror(mapErrno));
    return false;
  }
  return true;
}

/// Reads and checks the header of `file` (mapped at `bytes`, `size` long)
/// against the description; on success `tensors` lists the tensors and
/// `dataStart` is where their data begins.
bool readHeader(const std::string &file, const char *bytes, size_t size,
                const WeightsDescription &description,
                std::vector<Tensor> &tensors, size_t &dataStart,
                std::string &error) {
  const char *path = file.c_str();
  if (size < 8) {
    error = format("%s is not a safetensors file: %zu bytes, shorter than "
                   "the 8-byte header length",
                   path, size);
    return false;
  }
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i)
    headerLength = headerLength << 8 | static_cast<unsigned char>(bytes[i]);
  if (headerLength > size - 8 || headerLength > (100u << 20)) {
    error = format("%s is not a safetensors file: its header length %llu "
                   "exceeds the file (%zu bytes)",
                   path, (unsigned long long)headerLength, size);
    return false;
  }
  Json header;
  std::string why;
  JsonParser parser(bytes + 8, bytes + 8 + headerLength);
  if (!parser.parse(header, why)) {
    error = format("%s: malformed safetensors header: %s", path, why.c_str());
    return false;
  }
  if (header.kind != Json::Object) {
    error = format("%s: malformed safetensors header: not a JSON object",
                   path);
    return false;
  }
  dataStart = 8 + headerLength;
  uint64_t dataSize = size - dataStart;
  std::vector<std::string> lines;
  uint64_t total = 0;
  for (const auto &[name, entry] : header.object) {
    if (name == "__metadata__")
      continue;
    const Json *dtype = entry.get("dtype");
    const Json *shape = entry.get("shape");
    const Json *offsets = entry.get("data_offsets");
    bool ok = entry.kind == Json::Object && dtype &&
              dtype->kind == Json::String && shape &&
              shape->kind == Json::Array && offsets &&
              offsets->kind == Json::Array && offsets->array.size() == 2;
    int64_t elementBytes = ok ? dtypeBytes(dtype->string) : 0;
    std::string dims;
    uint64_t count = 1;
    for (size_t d = 0; ok && d < shape->array.size(); ++d) {
      const Json &dim = shape->array[d];
      ok = dim.kind == Json::Number && dim.integral && dim.integer >= 0 &&
           (dim.integer == 0 ||
            count <= UINT64_MAX / static_cast<uint64_t>(dim.integer));
      if (ok) {
        count *= static_cast<uint64_t>(dim.integer);
        dims += (d ? "," : "") + std::to_string(dim.integer);
      }
    }
    for (int i = 0; ok && i < 2; ++i)
      ok = offsets->array[i].kind == Json::Number &&
           offsets->array[i].integral && offsets->array[i].integer >= 0;
    if (!ok) {
      error = format("%s: malformed safetensors header: tensor '%s' needs a "
                     "dtype, a shape of sizes and two data offsets",
                     path, name.c_str());
      return false;
    }
    if (elementBytes == 0) {
      error = format("%s: tensor '%s' has dtype %s, which hqdm never writes",
                     path, name.c_str(), dtype->string.c_str());
      return false;
    }
    Tensor t{name, static_cast<uint64_t>(offsets->array[0].integer),
             static_cast<uint64_t>(offsets->array[1].integer)};
    if (t.begin > t.end || t.end > dataSize ||
        count > UINT64_MAX / elementBytes ||
        t.end - t.begin != count * elementBytes) {
      error = format("%s: tensor '%s' has data offsets [%llu, %llu], which "
                     "do not hold its shape or lie beyond the %llu bytes of "
                     "data (the file is truncated or corrupt)",
                     path, name.c_str(), (unsigned long long)t.begin,
                     (unsigned long long)t.end, (unsigned long long)dataSize);
      return false;
    }
    lines.push_back(name + " " + dtype->string + " [" + dims + "] " +
                    std::to_string(t.begin) + " " + std::to_string(t.end) +
                    "\n");
    total += t.end - t.begin;
    tensors.push_back(std::move(t));
  }

  if (static_cast<int64_t>(tensors.size()) != description.tensors) {
    error = format("%s has %zu tensors, the library expects %lld: it is not "
                   "the weights file of this library (%s)",
                   path, tensors.size(), (long long)description.tensors,
                   description.file.c_str());
    return false;
  }
  if (total != description.bytes || dataSize != description.bytes) {
    error = format("%s holds %llu bytes of tensor data (%llu in its "
                   "tensors), the library expects %llu: it is truncated or "
                   "not the weights file of this library (%s)",
                   path, (unsigned long long)dataSize,
                   (unsigned long long)total,
                   (unsigned long long)description.bytes,
                   description.file.c_str());
    return false;
  }
  std::sort(lines.begin(), lines.end());
  uint64_t fingerprint = 0xcbf29ce484222325ull;
  for (const std::string &line : lines)
    fingerprint = fnv1a(line, fingerprint);
  if (fingerprint != description.fingerprint) {
    error = format("%s does not match the library: its tensor list (names, "
                   "dtypes, shapes, offsets) has fingerprint %016llx, the "
                   "library was compiled for %016llx (%s)",
                   path, (unsigned long long)fingerprint,
                   (unsigned long long)description.fingerprint,
                   description.file.c_str());
    return false;
  }
  // The fingerprint fixes every tensor's place; overlaps are impossible
  // unless the compiler wrote them, but cost nothing to rule out.
  std::vector<const Tensor *> order;
  for (const Tensor &t : tensors)
    order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const Tensor *a, const Tensor *b) {
    return a->begin < b->begin;
  });
  for (size_t i = 1; i < order.size(); ++i)
    if (order[i]->begin < order[i - 1]->end) {
      error = format("%s: tensors '%s' and '%s' overlap", path,
                     order[i - 1]->name.c_str(), order[i]->name.c_str());
      return false;
    }
  return true;
}

} // namespace

//===----------------------------------------------------------------------===//
// Weight sets and the registry
//===----------------------------------------------------------------------===//

struct hqdm::runtime::WeightSet {
  const void *key = nullptr;
  std::string path; ///< As given, for messages.
  std::string identity; ///< realpath, to recognise the same file.
  /// (data offset, bytes) -> device offset.
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> byPlace;
  size_t tensors = 0;
  void *device = nullptr;
  uint64_t deviceBytes = 0;
  int references = 0;
};

namespace {
std::mutex registryMutex;
std::unordered_map<const void *, WeightSet *> registry;

std::string realPath(const std::string &path) {
  char *resolved = realpath(path.c_str(), nullptr);
  if (!resolved)
    return path;
  std::string result = resolved;
  std::free(resolved);
  return result;
}
} // namespace

bool hqdm::runtime::parseWeightsDescription(const char *text,
                                            WeightsDescription &out,
                                            std::string &error) {
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  if (line != "hqdm-model-weights v1") {
    error = format("unknown weights description header '%s'", line.c_str());
    return false;
  }
  bool file = false, tensors = false, bytes = false, fingerprint = false;
  while (std::getline(lines, line)) {
    if (line.empty())
      continue;
    std::string key = line.substr(0, line.find(' '));
    std::string rest = line.substr(std::min(line.size(), key.size() + 1));
    char *end = nullptr;
    errno = 0;
    if (key == "file") {
      out.file = rest;
      file = !rest.empty();
      continue;
    }
    unsigned long long value =
        std::strtoull(rest.c_str(), &end, key == "fingerprint" ? 16 : 10);
    bool ok = !rest.empty() && *end == 0 && errno == 0;
    if (key == "tensors" && ok && value <= INT64_MAX) {
      out.tensors = static_cast<int64_t>(value);
      tensors = true;
    } else if (key == "bytes" && ok) {
      out.bytes = value;
      bytes = true;
    } else if (key == "fingerprint" && ok) {
      out.fingerprint = value;
      fingerprint = true;
    } else {
      error = format("malformed weights description line '%s'", line.c_str());
      return false;
    }
  }
  if (!(file && tensors && bytes && fingerprint)) {
    error = "incomplete weights description";
    return false;
  }
  return true;
}

WeightSet *hqdm::runtime::acquireWeights(const void *key,
                                         const WeightsDescription &description,
                                         const std::string &path,
                                         std::string &error) {
  std::lock_guard<std::mutex> lock(registryMutex);
  std::string identity = realPath(path);
  auto it = registry.find(key);
  if (it != registry.end()) {
    WeightSet *set = it->second;
    if (set->identity != identity) {
      error = format("this library is already loaded with the weights file "
                     "%s; a library's weights are bound to it, so free that "
                     "model before loading it with %s",
                     set->path.c_str(), path.c_str());
      return nullptr;
    }
    ++set->references;
    return set;
  }

  Mapping mapping;
  if (!mapFile(path, mapping, error))
    return nullptr;
  std::vector<Tensor> tensors;
  size_t dataStart = 0;
  if (!readHeader(path, static_cast<const char *>(mapping.data), mapping.size,
                  description, tensors, dataStart, error))
    return nullptr;

  // One device block, each tensor at a 256-byte boundary (the kernels'
  // vector loads need 16; the driver aligns allocations to 256).
  auto *set = new WeightSet;
  set->key = key;
  set->path = path;
  set->identity = identity;
  uint64_t offset = 0;
  for (Tensor &t : tensors) {
    t.deviceOffset = offset;
    set->byPlace[{t.begin, t.end - t.begin}] = offset;
    offset += (t.end - t.begin + 255) / 256 * 256;
  }
  set->tensors = tensors.size();
  set->deviceBytes = offset;
  if (offset > 0) {
    set->device = hqdm_device_alloc(offset);
    const char *data = static_cast<const char *>(mapping.data) + dataStart;
    for (const Tensor &t : tensors)
      if (t.end > t.begin)
        hqdm_copy_to_device(static_cast<char *>(set->device) + t.deviceOffset,
                            data + t.begin, t.end - t.begin);
  }
  set->references = 1;
  registry[key] = set;
  return set;
}

void hqdm::runtime::releaseWeights(WeightSet *set) {
  if (!set)
    return;
  std::lock_guard<std::mutex> lock(registryMutex);
  if (--set->references > 0)
    return;
  registry.erase(set->key);
  if (set->device)
    hqdm_device_free(set->device);
  delete set;
}

size_t hqdm::runtime::weightTensors(const WeightSet *set) {
  return set ? set->tensors : 0;
}

uint64_t hqdm::runtime::weightDeviceBytes(const WeightSet *set) {
  return set ? set->deviceBytes : 0;
}

HQDM_EXPORT void *hqdmDeviceWeight(const void *weights, int64_t offset,
                                   int64_t sizeBytes) {
  std::lock_guard<std::mutex> lock(registryMutex);
  auto it = registry.find(weights);
  if (it == registry.end())
    fatal("a library compiled with external weights ran without them: load "
          "it with hqdm_model_load_with_weights (or hqdm_model_load with its "
          "weights file beside it)");
  WeightSet *set = it->second;
  auto tensor = set->byPlace.find(
      {static_cast<uint64_t>(offset), static_cast<uint64_t>(sizeBytes)});
  if (offset < 0 || sizeBytes < 0 || tensor == set->byPlace.end())
    fatal("the library asked for %lld bytes at offset %lld of %s, which "
          "holds no such tensor",
          (long long)sizeBytes, (long long)offset, set->path.c_str());
  return static_cast<char *>(set->device) + tensor->second;
}
