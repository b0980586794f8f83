// Defines make_png: builds PNG files byte by byte (stored, uncompressed deflate blocks) so the tests
// can produce what stb_image_write cannot: 16-bit, palette and grey+alpha images.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace cuttle::test {

inline uint32_t png_crc32(const uint8_t* p, size_t n, uint32_t crc = 0xFFFFFFFFu) {
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc;
}

inline void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back((uint8_t)(v >> s));
}

inline void put_chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
  put_be32(out, (uint32_t)data.size());
  std::vector<uint8_t> td(type, type + 4);
  td.insert(td.end(), data.begin(), data.end());
  out.insert(out.end(), td.begin(), td.end());
  put_be32(out, png_crc32(td.data(), td.size()) ^ 0xFFFFFFFFu);
}

// rows: the unfiltered scanlines (without the filter byte), big-endian samples for 16-bit.
// color_type: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. palette: RGB triplets (type 3).
inline std::vector<uint8_t> make_png(uint32_t w, uint32_t h, uint8_t bit_depth, uint8_t color_type,
                                     const std::vector<std::vector<uint8_t>>& rows,
                                     const std::vector<uint8_t>& palette = {}) {
  std::vector<uint8_t> raw;
  for (const auto& r : rows) {
    raw.push_back(0);  // filter: none
    raw.insert(raw.end(), r.begin(), r.end());
  }
  // zlib stream of stored blocks, then Adler-32.
  std::vector<uint8_t> z = {0x78, 0x01};
  size_t pos = 0;
  do {
    const size_t len = std::min<size_t>(65535, raw.size() - pos);
    const bool last = pos + len == raw.size();
    z.push_back(last ? 1 : 0);
    z.push_back((uint8_t)(len & 0xFF));
    z.push_back((uint8_t)(len >> 8));
    z.push_back((uint8_t)(~len & 0xFF));
    z.push_back((uint8_t)((~len >> 8) & 0xFF));
    z.insert(z.end(), raw.begin() + (long)pos, raw.begin() + (long)(pos + len));
    pos += len;
  } while (pos < raw.size());
  uint32_t a = 1, b = 0;
  for (uint8_t c : raw) a = (a + c) % 65521, b = (b + a) % 65521;
  put_be32(z, (b << 16) | a);

  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  ihdr.insert(ihdr.end(), {bit_depth, color_type, 0, 0, 0});
  put_chunk(out, "IHDR", ihdr);
  if (color_type == 3) put_chunk(out, "PLTE", palette);
  put_chunk(out, "IDAT", z);
  put_chunk(out, "IEND", {});
  return out;
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), (std::streamsize)bytes.size());
}

}  // namespace cuttle::test
