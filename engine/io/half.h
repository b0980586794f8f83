// Defines the conversions between f32 and the two 16-bit float formats stored in files: IEEE
// binary16 (F16) and bfloat16 (BF16). Round to nearest even; inf and NaN are kept.
#pragma once
#include <cstdint>
#include <cstring>

namespace cuttle::engine {

inline uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float f32_from_bits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

inline float bf16_to_f32(uint16_t h) { return f32_from_bits(uint32_t(h) << 16); }

inline uint16_t f32_to_bf16(float f) {
  uint32_t x = f32_bits(f);
  if ((x & 0x7F800000u) == 0x7F800000u && (x & 0x007FFFFFu))  // NaN: keep it a (quiet) NaN
    return uint16_t((x >> 16) | 0x0040u);
  uint32_t round = 0x7FFFu + ((x >> 16) & 1u);  // ties to even
  return uint16_t((x + round) >> 16);            // a carry into the exponent is the right result
}

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return f32_from_bits(sign | 0x7F800000u | (mant << 13));
  if (exp != 0) return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0) return f32_from_bits(sign);
  // Subnormal (mant * 2^-24): shift the leading one up to the implicit position.
  int shifts = 0;
  while (!(mant & 0x400u)) { mant <<= 1; ++shifts; }
  return f32_from_bits(sign | uint32_t(113 - shifts) << 23 | ((mant & 0x3FFu) << 13));
}

inline uint16_t f32_to_f16(float f) {
  uint32_t x = f32_bits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xFFu;
  uint32_t mant = x & 0x7FFFFFu;
  if (exp == 0xFF) return uint16_t(sign | 0x7C00u | (mant ? 0x200u | (mant >> 13) : 0u));
  int32_t e = int32_t(exp) - 112;  // the binary16 exponent field
  if (e >= 0x1F) return uint16_t(sign | 0x7C00u);  // overflow: infinity
  if (e <= 0) {
    // Subnormal result (or zero): value / 2^-24 = full mantissa >> (14 - e), rounded.
    if (e < -10) return uint16_t(sign);  // below half the smallest subnormal
    uint32_t full = mant | 0x800000u;
    int shift = 14 - e;
    uint32_t m = full >> shift, rem = full & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (m & 1u))) ++m;
    return uint16_t(sign | m);
  }
  uint32_t h = sign | (uint32_t(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry may reach infinity: correct
  return uint16_t(h);
}

}  // namespace cuttle::engine
