// Q4_0 / Q8_0 weights against Q8_0 activations with 256-bit integer dots, one 32-weight block per
// register (the AVX2 table; the AVX-512 files reuse its helpers under their own flags). Internal
// linkage, see avx2_util.h.
//
// An Ops class supplies, per weight type:
//   kBlockBytes;                                   // 18 (Q4_0) or 34 (Q8_0)
//   static __m256i Decode(const uint8_t* block);   // the 32 weights in the form Dot consumes
//   static __m256i Prep(__m256i act);              // per activation block, shared by all rows
//   static __m256i Dot(__m256i w, __m256i act, __m256i prep);  // 8 exact int32 partial dots
// Lane k of Dot holds the dot of weights/activations 4k..4k+3 whatever the Ops.
#pragma once

#include "kernels/avx2/avx2_util.h"

namespace st {
namespace {

inline constexpr int kQ8_0Bytes = 34;

template <class Ops>
struct Q8Tiles {
  template <int R, int T>
  static void Tile(const uint8_t* const* wr, int64_t n, const uint8_t* const* at, float* out, int64_t out_stride,
                   const uint8_t* const* pf) {
    __m256 acc[R][T];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    const int64_t nb = n / 32;
    for (int64_t b = 0; b < nb; ++b) {
      __m256i av[T], pv[T];
      __m256 da[T];
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const uint8_t* ab = at[t] + b * kQ8_0Bytes;
        da[t] = _mm256_set1_ps(LoadFp16(ab));
        av[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab + 2));
        pv[t] = Ops::Prep(av[t]);
      }
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const uint8_t* wb = wr[r] + b * Ops::kBlockBytes;
        Prefetch(pf[r] + b * Ops::kBlockBytes);
        const __m256i wv = Ops::Decode(wb);
        const __m256 dw = _mm256_set1_ps(LoadFp16(wb));
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          const __m256 p = _mm256_cvtepi32_ps(Ops::Dot(wv, av[t], pv[t]));
          acc[r][t] = _mm256_fmadd_ps(p, _mm256_mul_ps(dw, da[t]), acc[r][t]);
        }
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) out[t * out_stride + r] = HsumPs(acc[r][t]);
  }
};

// The 32 weights of a Q4_0 block as unsigned nibbles 0..15 in element order.
inline __m256i DecodeQ4_0Nibbles(const uint8_t* block) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2));
  const __m256i v = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
  return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

// AVX2 Ops: maddubs (u8 x s8 -> s16 pairs, no saturation here) then madd with ones.
struct Q4_0Madd {
  static constexpr int kBlockBytes = 18;
  static __m256i Decode(const uint8_t* block) { return DecodeQ4_0Nibbles(block); }
  // 8 * (sum of each 4 activations): the nibble offset, subtracted in Dot.
  static __m256i Prep(__m256i act) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(8), act), _mm256_set1_epi16(1));
  }
  static __m256i Dot(__m256i w, __m256i act, __m256i prep) {
    return _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(w, act), _mm256_set1_epi16(1)), prep);
  }
};

struct Q8_0Madd {
  static constexpr int kBlockBytes = 34;
  static __m256i Decode(const uint8_t* block) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
  }
  static __m256i Prep(__m256i act) { return act; }
  // |w| as u8 (|-128| = 128 fits) times act with w's sign; pairs stay below 2^15.
  static __m256i Dot(__m256i w, __m256i act, __m256i) {
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(act, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
  }
};

// ---- axpy_indexed: y[0:n] += sum_i a[i] * dequant(W[rows[i]]) ----
//
// Per element and row the operation is y = fma(a[i] * d_block, q, y), in ascending i.

// The 32 weights of a block as int8 (element order).
inline __m256i BlockInt8Q4_0(const uint8_t* block) {
  return _mm256_sub_epi8(DecodeQ4_0Nibbles(block), _mm256_set1_epi8(8));
}
inline __m256i BlockInt8Q8_0(const uint8_t* block) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
}

// axpy_indexed by groups of G rows (tile_driver.h).
template <__m256i (*kInt8)(const uint8_t*), int kBlockBytes>
struct AxpyGroupQ {
  template <int G>
  static void Apply(const uint8_t* const* wr, const float* a, int64_t n, float* y, const uint8_t* const* pf) {
    for (int64_t b = 0; b < n / 32; ++b) {
      __m256 acc[4];
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) acc[k] = _mm256_loadu_ps(y + 32 * b + 8 * k);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const uint8_t* blk = wr[g] + b * kBlockBytes;
        Prefetch(pf[g] + b * kBlockBytes);
        const __m256 s = _mm256_set1_ps(a[g] * LoadFp16(blk));
        const __m256i q = kInt8(blk);
        const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
        acc[0] = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), acc[0]);
        acc[1] = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), acc[1]);
        acc[2] = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), acc[2]);
        acc[3] = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), acc[3]);
      }
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) _mm256_storeu_ps(y + 32 * b + 8 * k, acc[k]);
    }
  }
};

template <__m256i (*kInt8)(const uint8_t*), int kBlockBytes>
void DequantizeQ(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* blk = src + b * kBlockBytes;
    const __m256 d = _mm256_set1_ps(LoadFp16(blk));
    const __m256i q = kInt8(blk);
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    float* o = dst + 32 * b;
    _mm256_storeu_ps(o + 0, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
    _mm256_storeu_ps(o + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
    _mm256_storeu_ps(o + 16, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
    _mm256_storeu_ps(o + 24, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
  }
}

// f32 -> Q8_0, bit-identical to QuantizeRowRef: d = amax / 127 (stored as fp16), q = round(x / d)
// with ties away from zero, computed as x * (1 / d).
inline void QuantizeQ8_0Avx2(const float* x, int64_t n, void* out) {
  auto* o = static_cast<uint8_t*>(out);
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* xb = x + 32 * b;
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
#pragma GCC unroll 16
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(xb + 8 * k);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[k]));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float d = _mm_cvtss_f32(m) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    uint8_t* ob = o + b * kQ8_0Bytes;
    std::memcpy(ob, &dh, 2);
    __m256i q[4];
#pragma GCC unroll 16
    for (int k = 0; k < 4; ++k) q[k] = _mm256_cvttps_epi32(RoundHalfAway(_mm256_mul_ps(v[k], _mm256_set1_ps(id))));
    // int32 -> int8; packs interleave 128-bit lanes, the permute restores element order.
    const __m256i p01 = _mm256_packs_epi32(q[0], q[1]);
    const __m256i p23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i p = _mm256_packs_epi16(p01, p23);
    const __m256i ordered = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(ob + 2), ordered);
  }
}

}  // namespace
}  // namespace st
