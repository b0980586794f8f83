// Declares safetensors I/O, the weights interchange format with PyTorch: an 8-byte little-endian
// header length N, N bytes of JSON ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// optional "__metadata__": {string: string}}), then the raw little-endian data, offsets relative to
// its start. F16/BF16 load as f32 (the engine has no half dtype yet); f32 can be written as either.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace cuttle::engine {

// The element types a safetensors file may hold (the names in the header).
enum class StDType : uint8_t { F32, F64, F16, BF16, I64, I32, U8, BOOL };
const char* st_dtype_name(StDType t);
size_t st_dtype_size(StDType t);
// The engine dtype a stored dtype loads as (F16/BF16 -> f32).
DType st_load_dtype(StDType t);

struct SafetensorsEntry {
  std::string name;
  StDType dtype = StDType::F32;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;  // in data order (ascending offsets)
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // 8 + N
  uint64_t file_size = 0;
};

struct SafetensorsContents {
  std::map<std::string, Tensor> tensors;  // CPU, contiguous
  std::map<std::string, StDType> stored_dtypes;
  std::map<std::string, std::string> metadata;
};

// Upper bound on the JSON header (as the reference implementation): larger means a corrupt file.
constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

// Reads and validates the header only: sizes, JSON, dtypes, shapes against offsets, offsets in range
// and tiling the data section without overlaps or holes. Errors name the file and the problem.
SafetensorsHeader read_safetensors_header(const std::string& path);
SafetensorsContents load_safetensors(const std::string& path);

enum class HalfFormat : uint8_t { none, f16, bf16 };
struct SafetensorsSaveOptions {
  HalfFormat f32_as = HalfFormat::none;  // write f32 tensors as F16 or BF16 (rounded to nearest even)
};
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes tensors (any device; copied to the CPU) in the given order, atomically (temporary file,
// fsync, rename). Names must be unique, non-empty and not "__metadata__".
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      const SafetensorsSaveOptions& opts = {});
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      const SafetensorsSaveOptions& opts = {});

}  // namespace cuttle::engine
