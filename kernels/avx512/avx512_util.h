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

// HsumPs512 of 16 vectors at once, with the same additions for each (a tree of 256-, 128-, 64- and
// 32-bit halves), so every sum has HsumPs512's bits. The sum of v[i] lands in lane 4 * (i % 4) +
// i / 4 of the result: for v[4 * r + t], lane 4 * t + r. Four times fewer operations than sixteen
// HsumPs512 calls, which matters for short rows (attention's 128-element heads).
inline __m512 Hsum16Ps512(const __m512 v[16]) {
  __m512 a[8], b[4], c[2];
  for (int i = 0; i < 8; ++i) {  // lo256 + hi256, two vectors per register
    const __m512 x = _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0));
    const __m512 y = _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2));
    a[i] = _mm512_add_ps(x, y);
  }
  for (int i = 0; i < 4; ++i) {  // lo128 + hi128, four vectors per register
    const __m512 x = _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0));
    const __m512 y = _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1));
    b[i] = _mm512_add_ps(x, y);
  }
  for (int i = 0; i < 2; ++i) {  // lanes 0,1 + lanes 2,3 of each 128
    const __m512 x = _mm512_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0));
    const __m512 y = _mm512_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2));
    c[i] = _mm512_add_ps(x, y);
  }
  const __m512 x = _mm512_shuffle_ps(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0));  // lane 0 + lane 1
  const __m512 y = _mm512_shuffle_ps(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1));
  return _mm512_add_ps(x, y);
}

// Mask of the first `k` (0..16) lanes.
inline __mmask16 FirstLanes(int64_t k) { return static_cast<__mmask16>((1u << k) - 1u); }

// AxpyMultiBuffered's Select: the i < n (<= 64) with a[i] != 0 (a NaN counts as non-zero, -0 as
// zero), compressed 16 at a time; sel and coef need room for n + 16 entries.
inline int64_t SelectNonZero512(const float* a, int64_t n, int32_t* sel, float* coef, uint64_t* used) {
  int64_t c = 0;
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 in = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : FirstLanes(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(in, a + i);
    const __mmask16 nz = _mm512_mask_cmp_ps_mask(in, v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
    _mm512_storeu_ps(coef + c, _mm512_maskz_compress_ps(nz, v));
    const __m512i idx = _mm512_add_epi32(iota, _mm512_set1_epi32(static_cast<int>(i)));
    _mm512_storeu_si512(sel + c, _mm512_maskz_compress_epi32(nz, idx));
    *used |= static_cast<uint64_t>(nz) << i;
    c += __builtin_popcount(nz);
  }
  return c;
}

// AxpyMultiBuffered's FmaRows for chunks of kCols columns (a multiple of 16): y[j] = fma(coef[k],
// buf[sel[k] * kCols + j], y[j]) for k ascending, j < cols (<= kCols); buf is 64-byte aligned.
template <int kCols>
inline void FmaRows512(const float* buf, const int32_t* sel, const float* coef, int64_t count, int64_t cols, float* y) {
  constexpr int kVecs = kCols / 16;
  if (cols == kCols) {
    __m512 acc[kVecs];
#pragma GCC unroll 16
    for (int v = 0; v < kVecs; ++v) acc[v] = _mm512_loadu_ps(y + 16 * v);
    for (int64_t k = 0; k < count; ++k) {
      const float* p = buf + static_cast<int64_t>(sel[k]) * kCols;
      const __m512 c = _mm512_set1_ps(coef[k]);
#pragma GCC unroll 16
      for (int v = 0; v < kVecs; ++v) acc[v] = _mm512_fmadd_ps(c, _mm512_load_ps(p + 16 * v), acc[v]);
    }
#pragma GCC unroll 16
    for (int v = 0; v < kVecs; ++v) _mm512_storeu_ps(y + 16 * v, acc[v]);
    return;
  }
  for (int64_t j = 0; j < cols; j += 16) {
    const __mmask16 m = cols - j >= 16 ? static_cast<__mmask16>(0xFFFF) : FirstLanes(cols - j);
    __m512 v = _mm512_maskz_loadu_ps(m, y + j);
    for (int64_t k = 0; k < count; ++k) {
      const float* p = buf + static_cast<int64_t>(sel[k]) * kCols + j;
      v = _mm512_fmadd_ps(_mm512_set1_ps(coef[k]), _mm512_maskz_loadu_ps(m, p), v);
    }
    _mm512_mask_storeu_ps(y + j, m, v);
  }
}

}  // namespace
}  // namespace st
