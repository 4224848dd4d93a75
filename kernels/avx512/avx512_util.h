// AVX-512 helpers (internal linkage, see avx2_util.h). The AVX-512 files reuse the x86 row drivers
// of avx2_util.h, instantiated under their own flags.
#pragma once

#include "kernels/avx2/avx2_util.h"

namespace st {
namespace {

// Sum of the 16 lanes in a fixed order.
inline float HsumPs512(__m512 v) {
  return HsumPs(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

// Mask of the first `k` (0..16) lanes.
inline __mmask16 FirstLanes(int64_t k) { return static_cast<__mmask16>((1u << k) - 1u); }

}  // namespace
}  // namespace st
