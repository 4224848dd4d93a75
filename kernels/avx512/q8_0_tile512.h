// Q4_0 / Q8_0 weights against Q8_0 activations with 512-bit integer dots: two 32-weight blocks per
// register. Shared by avx512_q8.cc (AVX-512BW Ops) and avx512_vnni.cc (vpdpbusd Ops).
//
// A pair of blocks (b, b+1) sits in one register as four 128-bit lanes. Q4_0 ("split" layout):
// [b: weights 0..15 | b+1: 0..15 | b: 16..31 | b+1: 16..31], which is what the nibble decode gives
// directly; the activations are permuted to match, once per tile. Q8_0 ("plain" layout):
// [b: 0..31 | b+1: 0..31]. The scale vector holds d_w * d_a of each lane's block.
//
// An Ops class supplies:
//   kBlockBytes; kSplit (the layout);
//   static __m512i Decode2(const uint8_t* block_b);              // both blocks, b+1 right after b
//   static __m512i Decode1(const uint8_t* block_b);              // block b only; b+1's lanes zero
//   static __m512i Prep(__m512i act);                            // per activation pair, shared by rows
//   static __m512i Dot(__m512i w, __m512i act, __m512i prep);    // 16 exact int32 partial dots
#pragma once

#include "kernels/avx2/q8_0_tile.h"
#include "kernels/avx512/avx512_util.h"

namespace st {
namespace {

// Lane -> block (0 = b, 1 = b+1) for each layout, as float permutation indices.
inline __m512i ScaleIndex(bool split) {
  return split ? _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1)
               : _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
}

// The fp16 scales of blocks b and b+1 (18 or 34 bytes apart) as floats in lanes 0 and 1.
template <int kBlockBytes>
inline __m128 LoadScalePair(const uint8_t* block_b, bool second) {
  __m128i h = _mm_cvtsi32_si128(LoadU16(block_b));
  if (second) h = _mm_insert_epi16(h, LoadU16(block_b + kBlockBytes), 1);
  return _mm_cvtph_ps(h);
}

template <class Ops>
struct Q8Tiles512 {
  template <int R, int T>
  static void Tile(const uint8_t* const* wr, int64_t n, const uint8_t* const* at, float* out, int64_t out_stride,
                   const uint8_t* const* pf) {
    __m512 acc[R][T];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    const int64_t nb = n / 32;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) Step<R, T, true>(wr, at, pf, b, acc);
    if (b < nb) Step<R, T, false>(wr, at, pf, b, acc);  // an odd last block runs alone, b+1's lanes zero
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) out[t * out_stride + r] = HsumPs512(acc[r][t]);
  }

  // Blocks b and b+1 (or b alone) of every row and activation of the tile.
  template <int R, int T, bool kPair>
  static inline __attribute__((always_inline)) void Step(const uint8_t* const* wr, const uint8_t* const* at,
                                                         const uint8_t* const* pf, int64_t b, __m512 (&acc)[R][T]) {
    constexpr int BB = Ops::kBlockBytes;
    const __m512i sidx = ScaleIndex(Ops::kSplit);
    __m512i av[T], pv[T];
    __m512 da[T];  // d_a of each lane's block
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const uint8_t* ab = at[t] + b * kQ8_0Bytes;
      const __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab + 2));
      const __m256i a1 = kPair ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab + kQ8_0Bytes + 2))
                               : _mm256_setzero_si256();
      const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(a0), a1, 1);
      av[t] = Ops::kSplit ? _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0)) : z;
      pv[t] = Ops::Prep(av[t]);
      da[t] = _mm512_permutexvar_ps(sidx, _mm512_castps128_ps512(LoadScalePair<kQ8_0Bytes>(ab, kPair)));
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const uint8_t* wb = wr[r] + b * BB;
      Prefetch(pf[r] + b * BB);  // a pair spans <= 68 bytes: one touch per pair covers every line
      const __m512i wv = kPair ? Ops::Decode2(wb) : Ops::Decode1(wb);
      const __m512 dw = _mm512_permutexvar_ps(sidx, _mm512_castps128_ps512(LoadScalePair<BB>(wb, kPair)));
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m512 p = _mm512_cvtepi32_ps(Ops::Dot(wv, av[t], pv[t]));
        acc[r][t] = _mm512_fmadd_ps(p, _mm512_mul_ps(dw, da[t]), acc[r][t]);
      }
    }
  }
};

// Q4_0 nibbles of blocks b and b+1 in the split layout.
inline __m512i DecodeQ4_0Pair(const uint8_t* block_b, bool second) {
  const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block_b + 2));
  const __m128i q1 = second ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(block_b + 18 + 2)) : _mm_setzero_si128();
  const __m256i y = _mm256_set_m128i(q1, q0);
  const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(y), _mm256_srli_epi16(y, 4), 1);
  return _mm512_and_si512(z, _mm512_set1_epi8(0x0F));
}

// Q8_0 quants of blocks b and b+1 in the plain layout.
inline __m512i DecodeQ8_0Pair(const uint8_t* block_b, bool second) {
  const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block_b + 2));
  const __m256i q1 =
      second ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block_b + 34 + 2)) : _mm256_setzero_si256();
  return _mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1);
}

// The exact weights d * q of a block (equal to DequantizeRowRef's) as two vectors of 16 floats
// (elements 0..15, 16..31). Q4_0: the nibbles index a table of (q - 8) * d (vpermps reads the low 4
// bits of each index).
inline void BlockExactQ4_0(const uint8_t* block, __m512* f0, __m512* f1) {
  const __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2)));
  const __m512 d = _mm512_cvtph_ps(_mm256_set1_epi16(static_cast<int16_t>(LoadU16(block))));
  const __m512 lut = _mm512_mul_ps(_mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7), d);
  *f0 = _mm512_permutexvar_ps(q, lut);
  *f1 = _mm512_permutexvar_ps(_mm512_srli_epi32(q, 4), lut);
}

inline void BlockExactQ8_0(const uint8_t* block, __m512* f0, __m512* f1) {
  const __m512 d = _mm512_set1_ps(LoadFp16(block));
  const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2));
  const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 18));
  *f0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0)), d);
  *f1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1)), d);
}

// axpy_indexed by groups of G rows (tile_driver.h); per element y = fma(a[i], w, y) with the exact
// weight w.
template <void (*kExact)(const uint8_t*, __m512*, __m512*), int kBlockBytes>
struct AxpyGroupQ512 {
  template <int G>
  static void Apply(const uint8_t* const* wr, const float* a, int64_t n, float* y, const uint8_t* const* pf) {
    for (int64_t b = 0; b < n / 32; ++b) {
      __m512 y0 = _mm512_loadu_ps(y + 32 * b), y1 = _mm512_loadu_ps(y + 32 * b + 16);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const uint8_t* blk = wr[g] + b * kBlockBytes;
        Prefetch(pf[g] + b * kBlockBytes);
        const __m512 s = _mm512_set1_ps(a[g]);
        __m512 f0, f1;
        kExact(blk, &f0, &f1);
        y0 = _mm512_fmadd_ps(s, f0, y0);
        y1 = _mm512_fmadd_ps(s, f1, y1);
      }
      _mm512_storeu_ps(y + 32 * b, y0);
      _mm512_storeu_ps(y + 32 * b + 16, y1);
    }
  }
};

// AxpyMultiBuffered's chunk operations for the same blocks (bit-compatible with AxpyGroupQ512).
template <void (*kExact)(const uint8_t*, __m512*, __m512*), int kBB>
struct AxpyBufferQ512 {
  static constexpr int64_t kBlock = 32, kBlockBytes = kBB, kCols = 128, kSlab = 48;
  static void Dequant(const uint8_t* src, int64_t cols, float* dst) {
    for (int64_t b = 0; b < cols / 32; ++b) {
      __m512 f0, f1;
      kExact(src + b * kBB, &f0, &f1);
      _mm512_store_ps(dst + 32 * b, f0);
      _mm512_store_ps(dst + 32 * b + 16, f1);
    }
  }
  static int64_t Select(const float* a, int64_t n, int32_t* sel, float* coef, uint64_t* used) {
    return SelectNonZero512(a, n, sel, coef, used);
  }
  static void FmaRows(const float* buf, const int32_t* sel, const float* coef, int64_t count, int64_t cols, float* y) {
    FmaRows512<kCols>(buf, sel, coef, count, cols, y);
  }
};

}  // namespace
}  // namespace st
