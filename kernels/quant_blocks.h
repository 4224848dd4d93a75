// Block layouts of the quantized formats (bit-exact with ggml).
//
// Q4_0: 32 weights in 18 bytes: fp16 scale d, then 16 bytes; element j (0..15) is
//       (qs[j] & 0xF) - 8, element j+16 is (qs[j] >> 4) - 8; value = d * q.
// Q8_0: 32 weights in 34 bytes: fp16 scale d = amax/127, then 32 int8 q = round(x/d).
#pragma once

#include <cstdint>

namespace st {

inline constexpr int kQK4_0 = 32;
inline constexpr int kQK8_0 = 32;

struct BlockQ4_0 {
  uint16_t d;       // fp16 scale
  uint8_t qs[16];   // nibbles: low = elements 0..15, high = elements 16..31
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ8_0 {
  uint16_t d;       // fp16 scale
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

}  // namespace st
