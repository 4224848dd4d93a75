// Small AVX2/FMA/F16C helpers for the x86 kernel files. Everything here has internal linkage
// (anonymous namespace): each including file is compiled with its own instruction-set flags, and an
// inline function with external linkage could otherwise be merged across files compiled for
// different instruction sets. For the same reason the x86 kernel files use no std:: templates.
#pragma once

// GCC 12's AVX-512 intrinsic headers trip -Wuninitialized on their own _mm512_undefined_*
// placeholders (GCC bug 105593); the warnings point into the system headers, not at our code.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

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

inline float Fp16ToF32(uint16_t h) { return _cvtsh_ss(h); }
inline float LoadFp16(const uint8_t* p) { return _cvtsh_ss(LoadU16(p)); }

// Sum of the 8 lanes in a fixed order.
inline float HsumPs(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float HsumPs128(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int32_t HsumEpi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}


// Round half away from zero (std::round) of floats with |v| < 2^23, exactly.
inline __m256 RoundHalfAway(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
  const __m256 frac = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
  const __m256 up = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), _mm256_set1_ps(1.0f));
  return _mm256_add_ps(t, _mm256_or_ps(up, sign));
}

}  // namespace
}  // namespace st
