// NEON (AArch64 Advanced SIMD) helpers. Internal linkage, see tile_driver.h.
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/kernel_table.h"
#include "kernels/tile_driver.h"

namespace st {
namespace {

inline uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// fp16 -> f32 (exact; fcvt).
inline float LoadFp16(const uint8_t* p) {
  __fp16 h;
  std::memcpy(&h, p, 2);
  return static_cast<float>(h);
}

inline float LoadF32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}

// Exact int32 dot of 16 int8 pairs as 4 lanes, baseline Advanced SIMD: products of elements i and
// i+8 summed in int16 (|w| <= 128, |a| <= 127: below 2^15), then pairwise into int32.
struct BaseDot {
  static int32x4_t Dot16(int8x16_t a, int8x16_t b) {
    const int16x8_t p = vmlal_s8(vmull_s8(vget_low_s8(a), vget_low_s8(b)), vget_high_s8(a), vget_high_s8(b));
    return vpaddlq_s16(p);
  }
};

// Pointwise tile: each (row, activation) pair is one call of Kernel::Dot, so any tiling gives the
// same bits. Used by the NEON kernels, whose per-pair work dominates.
template <class Kernel>
struct PairTiles {
  template <int R, int T>
  static void Tile(const uint8_t* const* wr, int64_t n, const uint8_t* const* at, float* out, int64_t out_stride,
                   const uint8_t* const* pf) {
    for (int r = 0; r < R; ++r) {
      Prefetch(pf[r]);
      for (int t = 0; t < T; ++t) out[t * out_stride + r] = Kernel::Dot(wr[r], n, at[t]);
    }
  }
};

}  // namespace
}  // namespace st
