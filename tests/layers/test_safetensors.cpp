// safetensors I/O: the byte-level format (a file built by hand, and the exact bytes the writer
// produces), round trips of every dtype, F16/BF16 conversion, corrupt files rejected with a message
// naming the file and the problem, and atomic replacement.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/io/half.h"
#include "engine/io/safetensors.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::engine;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path dir;
  TempDir() {
    static int counter = 0;
    dir = fs::temp_directory_path() /
          ("cuttle_st_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = char((n >> (8 * i)) & 0xFF);
  return s;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A file from a header text and raw data bytes.
std::string st_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

std::string load_error(const std::string& path) {
  try {
    load_safetensors(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("safetensors reads a file built byte by byte") {
  TempDir tmp;
  const std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I64","shape":[],"data_offsets":[8,16]},)"
      R"("c":{"dtype":"BF16","shape":[1,2],"data_offsets":[16,20]},)"
      R"("d":{"dtype":"BOOL","shape":[3],"data_offsets":[20,23]},)"
      R"("e":{"dtype":"F16","shape":[1],"data_offsets":[23,25]},)"
      R"("f":{"dtype":"U8","shape":[2,0],"data_offsets":[25,25]},)"
      R"("g":{"dtype":"I32","shape":[1],"data_offsets":[25,29]},)"
      R"("h":{"dtype":"F64","shape":[1],"data_offsets":[29,37]}})";
  const unsigned char data[] = {
      0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0,  // a: 1.0f, -2.5f
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // b: 0x0102030405060708
      0x80, 0x3F, 0x00, 0xBF,                          // c: bf16 1.0, -0.5
      0x01, 0x00, 0x02,                                // d: true, false, true (any nonzero)
      0x00, 0xC5,                                      // e: f16 -5.0
      0xFE, 0xFF, 0xFF, 0xFF,                          // g: -2
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x3F,  // h: 1.0
  };
  const std::string path = tmp.path("hand.safetensors");
  write_bytes(path, st_file(header, std::string(reinterpret_cast<const char*>(data), sizeof(data))));

  SafetensorsHeader h = read_safetensors_header(path);
  CHECK(h.data_start == 8 + header.size());
  REQUIRE(h.entries.size() == 8);
  CHECK(h.entries[2].name == "c");
  CHECK(h.entries[2].begin == 16);

  SafetensorsContents c = load_safetensors(path);
  CHECK(c.metadata == std::map<std::string, std::string>{{"format", "pt"}});
  CHECK(c.tensors.at("a").to_vector<float>() == std::vector<float>{1.0f, -2.5f});
  CHECK(c.tensors.at("b").dim() == 0);
  CHECK(c.tensors.at("b").item<int64_t>() == 0x0102030405060708LL);
  CHECK(c.tensors.at("c").dtype() == DType::f32);
  CHECK(c.tensors.at("c").shape() == Shape{1, 2});
  CHECK(c.tensors.at("c").to_vector<float>() == std::vector<float>{1.0f, -0.5f});
  CHECK(c.stored_dtypes.at("c") == StDType::BF16);
  CHECK(c.tensors.at("d").dtype() == DType::boolean);
  CHECK(c.tensors.at("d").to_vector<int>() == std::vector<int>{1, 0, 1});
  CHECK(c.tensors.at("e").to_vector<float>() == std::vector<float>{-5.0f});
  CHECK(c.tensors.at("f").shape() == Shape{2, 0});
  CHECK(c.tensors.at("f").dtype() == DType::u8);
  CHECK(c.tensors.at("g").to_vector<int32_t>() == std::vector<int32_t>{-2});
  CHECK(c.tensors.at("h").to_vector<double>() == std::vector<double>{1.0});
}

TEST_CASE("safetensors writer produces the exact reference bytes") {
  TempDir tmp;
  const std::string path = tmp.path("w.safetensors");
  NamedTensors ts{{"x", Tensor::from_vector<float>({1.0f, 2.0f}, {2})},
                  {"i", Tensor::from_vector<int32_t>({7}, {})}};
  save_safetensors(path, ts, {{"k", "v"}});
  std::string header =
      R"({"__metadata__":{"k":"v"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("i":{"dtype":"I32","shape":[],"data_offsets":[8,12]}})";
  header.append((8 - header.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  const std::string data("\x00\x00\x80\x3F\x00\x00\x00\x40\x07\x00\x00\x00", 12);
  CHECK(read_bytes(path) == st_file(header, data));
}

TEST_CASE("safetensors round trips every dtype and strided tensors") {
  TempDir tmp;
  const std::string path = tmp.path("rt.safetensors");
  Tensor f32 = randn({3, 4}, 1, DType::f32);
  Tensor f64 = randn({2, 2, 2}, 2);
  Tensor i64 = Tensor::from_vector<int64_t>({-1, 0, int64_t(1) << 40}, {3});
  Tensor i32 = Tensor::from_vector<int32_t>({5, -6}, {1, 2});
  Tensor u8 = Tensor::from_vector<uint8_t>({0, 128, 255}, {3});
  Tensor b = Tensor::from_vector<uint8_t>({1, 0}, {2}).to(DType::boolean);
  Tensor strided = f32.transpose(0, 1);  // non-contiguous: written in logical order
  Tensor scalar = Tensor::scalar(3.5, DType::f64);
  Tensor empty = Tensor::zeros({0, 3});
  std::map<std::string, Tensor> in{{"f32", f32}, {"f64", f64}, {"i64", i64}, {"i32", i32}, {"u8", u8},
                                   {"bool", b},  {"t", strided}, {"scalar", scalar}, {"empty", empty}};
  save_safetensors(path, in);
  SafetensorsContents c = load_safetensors(path);
  CHECK(c.metadata.empty());
  REQUIRE(c.tensors.size() == in.size());
  for (const auto& [name, t] : in) {
    CAPTURE(name);
    const Tensor& got = c.tensors.at(name);
    CHECK(got.dtype() == t.dtype());
    CHECK(got.shape() == t.shape());
    CHECK(got.is_contiguous());
    if (t.numel()) CHECK(max_rel_diff(got.to(DType::f64), t.to(DType::f64)) == 0);
  }
  CHECK(c.stored_dtypes.at("scalar") == StDType::F64);
  CHECK(c.tensors.at("i64").to_vector<int64_t>()[2] == int64_t(1) << 40);
}

TEST_CASE("safetensors writes f32 as BF16 or F16 on request") {
  TempDir tmp;
  Tensor x = Tensor::from_vector<float>({1.0f, 1.0f + 1.0f / 256, 1.0f + 3.0f / 256, 65504.0f, 1e-8f, -0.0f}, {6});
  const std::string pb = tmp.path("b.safetensors"), ph = tmp.path("h.safetensors");
  save_safetensors(pb, NamedTensors{{"x", x}, {"d", Tensor::ones({1}, DType::f64)}}, {}, {HalfFormat::bf16});
  save_safetensors(ph, NamedTensors{{"x", x}}, {}, {HalfFormat::f16});
  SafetensorsContents cb = load_safetensors(pb), ch = load_safetensors(ph);
  CHECK(cb.stored_dtypes.at("x") == StDType::BF16);
  CHECK(cb.stored_dtypes.at("d") == StDType::F64);  // only f32 is narrowed
  CHECK(ch.stored_dtypes.at("x") == StDType::F16);
  CHECK(read_safetensors_header(pb).file_size == read_safetensors_header(pb).data_start + 12 + 8);
  // bf16 keeps 8 mantissa bits: 1 + 2^-8 is a tie that rounds to even (1), 1 + 3 * 2^-8 rounds up.
  std::vector<float> vb = cb.tensors.at("x").to_vector<float>();
  CHECK(vb[0] == 1.0f);
  CHECK(vb[1] == 1.0f);
  CHECK(vb[2] == 1.0f + 4.0f / 256);
  CHECK(vb[3] == 65536.0f);
  CHECK(std::signbit(vb[5]));
  std::vector<float> vh = ch.tensors.at("x").to_vector<float>();
  CHECK(vh[1] == 1.0f + 1.0f / 256);  // f16 has 10 mantissa bits
  CHECK(vh[3] == 65504.0f);
  CHECK(vh[4] == 0.0f);  // below half the smallest f16 subnormal
}

TEST_CASE("half conversions round to nearest even and round trip every 16-bit pattern") {
  CHECK(f32_to_f16(1.0f) == 0x3C00);
  CHECK(f32_to_f16(-2.0f) == 0xC000);
  CHECK(f32_to_f16(65504.0f) == 0x7BFF);
  CHECK(f32_to_f16(65520.0f) == 0x7C00);  // rounds up to infinity
  CHECK(f32_to_f16(65519.0f) == 0x7BFF);
  CHECK(f32_to_f16(std::ldexp(1.0f, -24)) == 0x0001);           // smallest subnormal
  CHECK(f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);           // tie: to even (0)
  CHECK(f32_to_f16(std::ldexp(3.0f, -25)) == 0x0002);           // tie: to even (2)
  CHECK(f32_to_f16(std::ldexp(1.0f, -14)) == 0x0400);           // smallest normal
  CHECK(f32_to_f16(std::ldexp(1023.0f, -24) + std::ldexp(1.0f, -25)) == 0x0400);  // rounds into the normals
  CHECK(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);    // tie: to even
  CHECK(f32_to_f16(1.0f + std::ldexp(3.0f, -11)) == 0x3C02);
  CHECK(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(f32_to_f16(std::numeric_limits<float>::infinity()) == 0x7C00);
  CHECK(f32_to_bf16(1.0f) == 0x3F80);
  CHECK(f32_to_bf16(-0.5f) == 0xBF00);
  CHECK(f32_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);  // rounds up to infinity
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  int bad_f16 = 0, bad_bf16 = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    float a = f16_to_f32(uint16_t(h)), b = bf16_to_f32(uint16_t(h));
    if (!std::isnan(a) && f32_to_f16(a) != h) ++bad_f16;
    if (!std::isnan(b) && f32_to_bf16(b) != h) ++bad_bf16;
  }
  CHECK(bad_f16 == 0);
  CHECK(bad_bf16 == 0);
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(f16_to_f32(0x03FF) == std::ldexp(1023.0f, -24));
}

TEST_CASE("safetensors rejects corrupt files naming the file and the problem") {
  TempDir tmp;
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string eight(8, '\x01');
  struct Case {
    const char* what;
    std::string bytes;
    const char* expect;
  };
  std::vector<Case> cases{
      {"short", std::string("\x01\x02\x03", 3), "truncated"},
      {"header past end", le64(1000) + "{}", "truncated"},
      {"huge header", le64(uint64_t(200) << 20) + "{}", "exceeds the limit"},
      {"bad json", st_file(R"({"a":{"dtype":)", ""), "not valid JSON"},
      {"not an object", st_file("[1,2]", ""), "does not start with '{'"},
      {"unknown dtype", st_file(R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", "ab"), "unknown dtype 'F8'"},
      {"out of range", st_file("{" + ok_entry + "}", "abcd"), "ends at data offset 8"},
      {"overlap", st_file("{" + ok_entry + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          eight + "1234"),
       "overlaps entry 'a'"},
      {"hole", st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                       eight + "1234"),
       "hole"},
      {"trailing", st_file("{" + ok_entry + "}", eight + "xy"), "2 trailing bytes"},
      {"size mismatch", st_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight), "needs 12 bytes"},
      {"reversed offsets", st_file(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}})", eight), "begin > end"},
      {"negative dim", st_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight), "non-negative"},
      {"duplicate", st_file("{" + ok_entry + "," + ok_entry + "}", eight), "'a' twice"},
      {"bad metadata", st_file(R"({"__metadata__":{"n":1}})", ""), "is not a string"},
      {"no offsets", st_file(R"({"a":{"dtype":"F32","shape":[2]}})", eight), "data_offsets"},
      {"extra field", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", eight),
       "unknown field 'x'"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(cases[i].what);
    const std::string path = tmp.path("bad" + std::to_string(i) + ".safetensors");
    write_bytes(path, cases[i].bytes);
    std::string err = load_error(path);
    CAPTURE(err);
    CHECK(err.find(cases[i].expect) != std::string::npos);
    CHECK(err.find(path) != std::string::npos);
  }
  std::string missing = load_error(tmp.path("nope.safetensors"));
  CHECK(missing.find("nope.safetensors") != std::string::npos);
  CHECK(missing.find("not found") != std::string::npos);
  // An empty file set is valid: "{}" and no data.
  write_bytes(tmp.path("empty.safetensors"), st_file("{}", ""));
  CHECK(load_safetensors(tmp.path("empty.safetensors")).tensors.empty());
}

TEST_CASE("safetensors save replaces the file atomically and leaves no temporary behind") {
  TempDir tmp;
  const std::string path = tmp.path("a.safetensors");
  save_safetensors(path, NamedTensors{{"x", Tensor::ones({2})}});
  save_safetensors(path, NamedTensors{{"y", Tensor::zeros({3})}});
  SafetensorsContents c = load_safetensors(path);
  CHECK(c.tensors.size() == 1);
  CHECK(c.tensors.count("y") == 1);
  // A failing save (duplicate names) keeps the old file intact.
  CHECK_THROWS_WITH_AS(save_safetensors(path, NamedTensors{{"z", Tensor::ones({1})}, {"z", Tensor::ones({1})}}),
                       doctest::Contains("given twice"), Error);
  CHECK(load_safetensors(path).tensors.count("y") == 1);
  int files = 0;
  for (const auto& entry : fs::directory_iterator(tmp.dir)) {
    (void)entry;
    ++files;
  }
  CHECK(files == 1);
  CHECK_THROWS_WITH_AS(save_safetensors(tmp.path("no/such/dir/x.safetensors"), NamedTensors{}),
                       doctest::Contains("no/such/dir"), Error);
}

}
