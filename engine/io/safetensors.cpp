#include "engine/io/safetensors.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/io/half.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors I/O copies raw bytes and assumes a little-endian host"
#endif

namespace cuttle::engine {

namespace {

using json = nlohmann::json;

constexpr StDType kAllStDTypes[] = {StDType::F32, StDType::F64, StDType::F16, StDType::BF16,
                                    StDType::I64, StDType::I32, StDType::U8,  StDType::BOOL};

#define ST_FAIL(path, ...) CUTTLE_FAIL("safetensors file '", path, "': ", __VA_ARGS__)
#define ST_CHECK(cond, path, ...) CUTTLE_CHECK(cond, "safetensors file '", path, "': ", __VA_ARGS__)

bool parse_st_dtype(const std::string& s, StDType* out) {
  for (StDType t : kAllStDTypes)
    if (s == st_dtype_name(t)) { *out = t; return true; }
  return false;
}

StDType st_dtype_for(DType t, HalfFormat f32_as) {
  switch (t) {
    case DType::f32: return f32_as == HalfFormat::f16 ? StDType::F16 : f32_as == HalfFormat::bf16 ? StDType::BF16 : StDType::F32;
    case DType::f64: return StDType::F64;
    case DType::i32: return StDType::I32;
    case DType::i64: return StDType::I64;
    case DType::u8: return StDType::U8;
    case DType::boolean: return StDType::BOOL;
  }
  CUTTLE_FAIL("safetensors: unsupported dtype");
}

// Parses one tensor's header entry; `name` is only for messages.
SafetensorsEntry parse_entry(const std::string& path, const std::string& name, const json& j) {
  ST_CHECK(j.is_object(), path, "entry '", name, "' is not a JSON object");
  SafetensorsEntry e;
  e.name = name;
  for (auto it = j.begin(); it != j.end(); ++it)
    ST_CHECK(it.key() == "dtype" || it.key() == "shape" || it.key() == "data_offsets", path, "entry '", name,
             "' has an unknown field '", it.key(), "'");
  ST_CHECK(j.contains("dtype") && j["dtype"].is_string(), path, "entry '", name, "' has no string 'dtype'");
  const std::string ds = j["dtype"].get<std::string>();
  ST_CHECK(parse_st_dtype(ds, &e.dtype), path, "entry '", name, "' has unknown dtype '", ds,
           "' (supported: F32 F64 F16 BF16 I64 I32 U8 BOOL)");

  ST_CHECK(j.contains("shape") && j["shape"].is_array(), path, "entry '", name, "' has no 'shape' array");
  uint64_t numel = 1;
  for (const json& d : j["shape"]) {
    ST_CHECK(d.is_number_unsigned(), path, "entry '", name, "' has a shape that is not a list of non-negative integers: ",
             j["shape"].dump());
    uint64_t v = d.get<uint64_t>();
    ST_CHECK(v <= (uint64_t(1) << 62) && (v == 0 || numel <= (uint64_t(1) << 62) / v), path, "entry '", name,
             "' has an impossibly large shape ", j["shape"].dump());
    numel *= v;
    e.shape.push_back(int64_t(v));
  }
  ST_CHECK(j.contains("data_offsets") && j["data_offsets"].is_array() && j["data_offsets"].size() == 2 &&
               j["data_offsets"][0].is_number_unsigned() && j["data_offsets"][1].is_number_unsigned(),
           path, "entry '", name, "' needs 'data_offsets' [begin, end] of non-negative integers");
  e.begin = j["data_offsets"][0].get<uint64_t>();
  e.end = j["data_offsets"][1].get<uint64_t>();
  ST_CHECK(e.begin <= e.end, path, "entry '", name, "' has data_offsets [", e.begin, ", ", e.end, "] with begin > end");
  uint64_t want = numel * st_dtype_size(e.dtype);
  ST_CHECK(e.end - e.begin == want, path, "entry '", name, "' (", ds, " ", shape_str(e.shape), ") needs ", want,
           " bytes but data_offsets [", e.begin, ", ", e.end, "] span ", e.end - e.begin);
  return e;
}

}  // namespace

const char* st_dtype_name(StDType t) {
  switch (t) {
    case StDType::F32: return "F32";
    case StDType::F64: return "F64";
    case StDType::F16: return "F16";
    case StDType::BF16: return "BF16";
    case StDType::I64: return "I64";
    case StDType::I32: return "I32";
    case StDType::U8: return "U8";
    case StDType::BOOL: return "BOOL";
  }
  return "?";
}

size_t st_dtype_size(StDType t) {
  switch (t) {
    case StDType::F64: case StDType::I64: return 8;
    case StDType::F32: case StDType::I32: return 4;
    case StDType::F16: case StDType::BF16: return 2;
    case StDType::U8: case StDType::BOOL: return 1;
  }
  return 0;
}

DType st_load_dtype(StDType t) {
  switch (t) {
    case StDType::F32: case StDType::F16: case StDType::BF16: return DType::f32;
    case StDType::F64: return DType::f64;
    case StDType::I64: return DType::i64;
    case StDType::I32: return DType::i32;
    case StDType::U8: return DType::u8;
    case StDType::BOOL: return DType::boolean;
  }
  return DType::f32;
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
  std::error_code ec;
  ST_CHECK(std::filesystem::is_regular_file(path, ec), path, "not found or not a regular file");
  SafetensorsHeader h;
  h.file_size = std::filesystem::file_size(path, ec);
  ST_CHECK(!ec, path, "cannot read its size: ", ec.message());
  std::ifstream in(path, std::ios::binary);
  ST_CHECK(in.good(), path, "cannot be opened for reading");
  ST_CHECK(h.file_size >= 8, path, "truncated: ", h.file_size, " bytes, shorter than the 8-byte header length");

  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  ST_CHECK(in.good(), path, "reading the header length failed");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
  ST_CHECK(n <= kSafetensorsMaxHeader, path, "header length ", n, " exceeds the limit of ", kSafetensorsMaxHeader,
           " bytes (corrupt or not a safetensors file)");
  ST_CHECK(n >= 2, path, "header length ", n, " is too small to hold a JSON object");
  ST_CHECK(8 + n <= h.file_size, path, "truncated: the header claims ", n, " bytes but only ", h.file_size - 8,
           " follow the length");
  h.data_start = 8 + n;

  std::string text(n, '\0');
  in.read(text.data(), std::streamsize(n));
  ST_CHECK(in.good(), path, "reading the ", n, "-byte header failed");
  ST_CHECK(text[0] == '{', path, "the header does not start with '{'");

  // Duplicate top-level names would silently shadow each other in a JSON object: reject them.
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && !seen.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    ST_FAIL(path, "the header is not valid JSON: ", e.what());
  }
  ST_CHECK(duplicate.empty(), path, "the header names '", duplicate, "' twice");
  ST_CHECK(j.is_object(), path, "the header is not a JSON object");

  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      ST_CHECK(it->is_object(), path, "'__metadata__' is not an object of strings");
      for (auto m = it->begin(); m != it->end(); ++m) {
        ST_CHECK(m->is_string(), path, "'__metadata__' value of '", m.key(), "' is not a string");
        h.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    h.entries.push_back(parse_entry(path, it.key(), *it));
  }

  // The entries must tile the data section: sorted by offset, each starts where the last ended.
  std::sort(h.entries.begin(), h.entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t data_size = h.file_size - h.data_start, pos = 0;
  for (size_t i = 0; i < h.entries.size(); ++i) {
    const SafetensorsEntry& e = h.entries[i];
    ST_CHECK(e.end <= data_size, path, "entry '", e.name, "' ends at data offset ", e.end,
             " but the data section has only ", data_size, " bytes (truncated file or offsets out of range)");
    ST_CHECK(e.begin >= pos, path, "entry '", e.name, "' [", e.begin, ", ", e.end, ") overlaps entry '",
             h.entries[i - 1].name, "' [", h.entries[i - 1].begin, ", ", h.entries[i - 1].end, ")");
    ST_CHECK(e.begin == pos, path, "the data section has a hole: bytes [", pos, ", ", e.begin,
             ") before entry '", e.name, "' belong to no tensor");
    pos = e.end;
  }
  ST_CHECK(pos == data_size, path, data_size - pos, " trailing bytes after the last tensor's data (offset ", pos, ")");
  return h;
}

SafetensorsContents load_safetensors(const std::string& path) {
  SafetensorsHeader h = read_safetensors_header(path);
  std::ifstream in(path, std::ios::binary);
  ST_CHECK(in.good(), path, "cannot be opened for reading");
  SafetensorsContents out;
  out.metadata = h.metadata;
  std::vector<uint16_t> half;
  for (const SafetensorsEntry& e : h.entries) {
    Tensor t = Tensor::empty(e.shape, st_load_dtype(e.dtype));
    uint64_t nbytes = e.end - e.begin;
    in.seekg(std::streamoff(h.data_start + e.begin));
    bool is_half = e.dtype == StDType::F16 || e.dtype == StDType::BF16;
    if (is_half) half.resize(size_t(t.numel()));
    char* dst = is_half ? reinterpret_cast<char*>(half.data()) : static_cast<char*>(t.raw_data());
    if (nbytes) in.read(dst, std::streamsize(nbytes));
    ST_CHECK(in.good(), path, "reading ", nbytes, " bytes of entry '", e.name, "' failed (file changed or truncated?)");
    if (e.dtype == StDType::F16 || e.dtype == StDType::BF16) {
      float* f = t.data<float>();
      for (size_t i = 0; i < half.size(); ++i)
        f[i] = e.dtype == StDType::F16 ? f16_to_f32(half[i]) : bf16_to_f32(half[i]);
    } else if (e.dtype == StDType::BOOL) {
      // Any nonzero byte is true; the engine's bool must hold exactly 0 or 1.
      auto* b = static_cast<unsigned char*>(t.raw_data());
      for (int64_t i = 0; i < t.numel(); ++i) b[i] = b[i] ? 1 : 0;
    }
    out.stored_dtypes[e.name] = e.dtype;
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata, const SafetensorsSaveOptions& opts) {
  // Header first: names, dtypes, shapes and offsets, in the given order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  std::vector<StDType> kinds;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    CUTTLE_CHECK(!name.empty() && name != "__metadata__", "save_safetensors '", path, "': invalid tensor name '",
                 name, "'");
    CUTTLE_CHECK(names.insert(name).second, "save_safetensors '", path, "': tensor name '", name, "' given twice");
    CUTTLE_CHECK(t.defined(), "save_safetensors '", path, "': tensor '", name, "' is undefined");
    StDType k = st_dtype_for(t.dtype(), opts.f32_as);
    kinds.push_back(k);
    uint64_t nbytes = uint64_t(t.numel()) * st_dtype_size(k);
    header[name] = {{"dtype", st_dtype_name(k)}, {"shape", t.shape()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text = header.dump();
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');  // pad so the data starts 8-byte aligned
  CUTTLE_CHECK(text.size() <= kSafetensorsMaxHeader, "save_safetensors '", path, "': header of ", text.size(),
               " bytes exceeds the format's limit");

  AtomicFileWriter w(path);
  unsigned char len_bytes[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = (unsigned char)(n >> (8 * i));
  w.write(len_bytes, 8);
  w.write(text.data(), text.size());
  std::vector<uint16_t> half;
  for (size_t i = 0; i < tensors.size(); ++i) {
    Tensor t = tensors[i].second.device().is_cpu() ? tensors[i].second.contiguous()
                                                   : tensors[i].second.to(Device::cpu()).contiguous();
    if (kinds[i] == StDType::F16 || kinds[i] == StDType::BF16) {
      const float* f = t.data<float>();
      half.resize(size_t(t.numel()));
      for (size_t k = 0; k < half.size(); ++k) half[k] = kinds[i] == StDType::F16 ? f32_to_f16(f[k]) : f32_to_bf16(f[k]);
      w.write(half.data(), half.size() * 2);
    } else {
      w.write(t.raw_data(), size_t(t.numel()) * dtype_size(t.dtype()));
    }
  }
  w.commit();
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata, const SafetensorsSaveOptions& opts) {
  save_safetensors(path, NamedTensors(tensors.begin(), tensors.end()), metadata, opts);
}

}  // namespace cuttle::engine
