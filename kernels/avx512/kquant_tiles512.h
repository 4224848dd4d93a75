// K-quant dots (Q4_K, Q5_K, Q6_K weights; Q8_K activations) with 512-bit registers: 64 weights per
// register. Shared by avx512_kquants.cc (madd) and avx512_vnni.cc (vpdpwssd) through
//   static __m512i MaddAdd(__m512i acc, __m512i p16, __m512i s16);  // acc + madd(p16, s16), exact
// Integer sums per super-block are exact; the float accumulation is 16 lanes per (row, activation).
#pragma once

#include "kernels/avx2/kquant_decode.h"
#include "kernels/avx512/avx512_util.h"

namespace st {
namespace {

// vpermw indices: every int16 of the low 256 bits picks element `lo`, of the high 256 bits `hi`.
inline __m512i HalvesIndex(int lo, int hi) {
  return _mm512_mask_blend_epi16(0xFFFF0000u, _mm512_set1_epi16(static_cast<int16_t>(lo)),
                                 _mm512_set1_epi16(static_cast<int16_t>(hi)));
}
// Every int16 of 128-bit lane j picks element first + j.
inline __m512i LanesIndex(int first) {
  return _mm512_add_epi16(_mm512_set1_epi16(static_cast<int16_t>(first)),
                          _mm512_setr_epi32(0, 0, 0, 0, 0x00010001, 0x00010001, 0x00010001, 0x00010001, 0x00020002,
                                            0x00020002, 0x00020002, 0x00020002, 0x00030003, 0x00030003, 0x00030003,
                                            0x00030003));
}

template <bool kQ5, class Ops>
struct Q45KTiles512 {
  static constexpr int kBlockBytes = kQ5 ? 176 : 144;
  static constexpr int kQsOffset = kQ5 ? 48 : 16;

  template <int R, int T>
  static void Tile(const uint8_t* const* wr, int64_t n, const uint8_t* const* at, float* out, int64_t out_stride,
                   const uint8_t* const* pf) {
    __m512 acc[R][T];
    __m128 acc_m[R][T];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        acc[r][t] = _mm512_setzero_ps();
        acc_m[r][t] = _mm_setzero_ps();
      }
    }
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int64_t b = 0; b < n / 256; ++b) {
      float da[T];
      __m128i pairs[T];
      const uint8_t* q8[T];
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const uint8_t* ab = at[t] + b * kQ8KBytes;
        std::memcpy(&da[t], ab, 4);
        q8[t] = ab + 4;
        const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab + 260));
        pairs[t] = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
      }
      const uint8_t* blk[R];
      __m512i scales[R], qh[R], sumi[R][T];
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        blk[r] = wr[r] + b * kBlockBytes;
#pragma GCC unroll 4
        for (int off = 0; off < kBlockBytes; off += 64) Prefetch(pf[r] + b * kBlockBytes + off);
        const __m256i ms = _mm256_cvtepu8_epi16(UnpackScalesMins(blk[r] + 4));
        scales[r] = _mm512_zextsi256_si512(ms);
        const __m128i mins = _mm256_extracti128_si256(ms, 1);
        const float dmin = LoadFp16(blk[r] + 2);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          const __m128 pm = _mm_cvtepi32_ps(_mm_madd_epi16(mins, pairs[t]));
          acc_m[r][t] = _mm_fmadd_ps(_mm_set1_ps(dmin * da[t]), pm, acc_m[r][t]);
          sumi[r][t] = _mm512_setzero_si512();
        }
        if constexpr (kQ5) {
          // [qh | qh >> 1]: bit 2c of the low half and of the high half are the fifth bits of chunk c.
          const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[r] + 16));
          qh[r] = _mm512_inserti64x4(_mm512_castsi256_si512(h), _mm256_srli_epi16(h, 1), 1);
        }
      }
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        __m512i a[T];
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) a[t] = _mm512_loadu_si512(q8[t] + 64 * c);
        const __m512i sidx = HalvesIndex(2 * c, 2 * c + 1);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[r] + kQsOffset + 32 * c));
          __m512i qz = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1), m4);
          if constexpr (kQ5) {
            qz = _mm512_or_si512(qz, _mm512_slli_epi16(_mm512_and_si512(qh[r], _mm512_set1_epi8(0x01)), 4));
            qh[r] = _mm512_srli_epi16(qh[r], 2);
          }
          const __m512i sc = _mm512_permutexvar_epi16(sidx, scales[r]);
#pragma GCC unroll 16
          for (int t = 0; t < T; ++t) sumi[r][t] = Ops::MaddAdd(sumi[r][t], _mm512_maddubs_epi16(qz, a[t]), sc);
        }
      }
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const float d = LoadFp16(blk[r]);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          acc[r][t] = _mm512_fmadd_ps(_mm512_set1_ps(d * da[t]), _mm512_cvtepi32_ps(sumi[r][t]), acc[r][t]);
        }
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) out[t * out_stride + r] = HsumPs512(acc[r][t]) - HsumPs128(acc_m[r][t]);
  }
};

template <class Ops>
struct Q6KTiles512 {
  static constexpr int kBlockBytes = 210;

  template <int R, int T>
  static void Tile(const uint8_t* const* wr, int64_t n, const uint8_t* const* at, float* out, int64_t out_stride,
                   const uint8_t* const* pf) {
    __m512 acc[R][T];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int64_t b = 0; b < n / 256; ++b) {
      float da[T];
      __m256i bsums[T];
      const uint8_t* q8[T];
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const uint8_t* ab = at[t] + b * kQ8KBytes;
        std::memcpy(&da[t], ab, 4);
        q8[t] = ab + 4;
        bsums[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab + 260));
      }
      const uint8_t* blk[R];
      __m512i scales[R], sumi[R][T];
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        blk[r] = wr[r] + b * kBlockBytes;
#pragma GCC unroll 4
        for (int off = 0; off < kBlockBytes; off += 64) Prefetch(pf[r] + b * kBlockBytes + off);
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[r] + 192)));
        scales[r] = _mm512_zextsi256_si512(sc16);
        // The quants are stored +32: start from -32 * sum_s sc_s * bsums_s.
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(sc16, bsums[t]), 5);
          sumi[r][t] = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), corr));
        }
      }
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        __m512i a0[T], a1[T];
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          a0[t] = _mm512_loadu_si512(q8[t] + 128 * h);
          a1[t] = _mm512_loadu_si512(q8[t] + 128 * h + 64);
        }
        const __m512i sidx0 = LanesIndex(8 * h), sidx1 = LanesIndex(8 * h + 4);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          // Weights 128h + 0..63: low nibbles of ql[0:64] and bits 0-1 / 2-3 of qh; 64..127: high
          // nibbles and bits 4-5 / 6-7.
          const __m512i ql = _mm512_loadu_si512(blk[r] + 64 * h);
          const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[r] + 128 + 32 * h));
          const __m512i hz = _mm512_inserti64x4(_mm512_castsi256_si512(hb), _mm256_srli_epi16(hb, 2), 1);
          const __m512i q0 = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                             _mm512_slli_epi16(_mm512_and_si512(hz, _mm512_set1_epi8(0x03)), 4));
          const __m512i q1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                             _mm512_and_si512(hz, _mm512_set1_epi8(0x30)));
          const __m512i sc0 = _mm512_permutexvar_epi16(sidx0, scales[r]);
          const __m512i sc1 = _mm512_permutexvar_epi16(sidx1, scales[r]);
#pragma GCC unroll 16
          for (int t = 0; t < T; ++t) {
            sumi[r][t] = Ops::MaddAdd(sumi[r][t], _mm512_maddubs_epi16(q0, a0[t]), sc0);
            sumi[r][t] = Ops::MaddAdd(sumi[r][t], _mm512_maddubs_epi16(q1, a1[t]), sc1);
          }
        }
      }
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const float d = LoadFp16(blk[r] + 208);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          acc[r][t] = _mm512_fmadd_ps(_mm512_set1_ps(d * da[t]), _mm512_cvtepi32_ps(sumi[r][t]), acc[r][t]);
        }
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) out[t * out_stride + r] = HsumPs512(acc[r][t]);
  }
};

// axpy_indexed by groups of G rows (tile_driver.h): per element y = y + fmsub(s, q, m) with
// s = (a*d)*sc and m = (a*dmin)*mn, rows in order; 16 weights (one register) at a time.
template <GgmlType kType, int kBlockBytes>
struct AxpyGroupK512 {
  template <int G>
  static void Apply(const uint8_t* const* wr, const float* a, int64_t n, float* y, const uint8_t* const* pf) {
    for (int64_t b = 0; b < n / 256; ++b) {
      float s[G][16], m[G][16];
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
#pragma GCC unroll 4
        for (int off = 0; off < kBlockBytes; off += 64) Prefetch(pf[g] + b * kBlockBytes + off);
        SubBlockScales<kType>(wr[g] + b * kBlockBytes, a[g], s[g], m[g]);
      }
#pragma GCC unroll 1
      for (int c = 0; c < 4; ++c) {
        float* yc = y + 256 * b + 64 * c;
        __m512 acc[4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) acc[k] = _mm512_loadu_ps(yc + 16 * k);
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) {
          __m256i q[2];
          ChunkInts<kType>(wr[g] + b * kBlockBytes, c, q);
          __m512 f[4];
#pragma GCC unroll 2
          for (int h = 0; h < 2; ++h) {
            const __m128i v0 = _mm256_castsi256_si128(q[h]), v1 = _mm256_extracti128_si256(q[h], 1);
            if constexpr (kType == GgmlType::kQ6_K) {
              f[2 * h] = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v0));
              f[2 * h + 1] = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v1));
            } else {
              f[2 * h] = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v0));
              f[2 * h + 1] = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v1));
            }
          }
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) {
            const int j = SubBlockOf<kType>(c, 16 * k);
            const __m512 t = _mm512_fmsub_ps(_mm512_set1_ps(s[g][j]), f[k], _mm512_set1_ps(m[g][j]));
            acc[k] = _mm512_add_ps(acc[k], t);
          }
        }
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) _mm512_storeu_ps(yc + 16 * k, acc[k]);
      }
    }
  }
};

template <class Ops>
void FillKQuants512(KernelTable* t) {
  MatEntries<TileShape<Q45KTiles512<false, Ops>, 4, 1>, TileShape<Q45KTiles512<false, Ops>, 4, 2>>::Fill(
      &t->weights[static_cast<int>(GgmlType::kQ4_K)]);
  MatEntries<TileShape<Q45KTiles512<true, Ops>, 4, 1>, TileShape<Q45KTiles512<true, Ops>, 4, 2>>::Fill(
      &t->weights[static_cast<int>(GgmlType::kQ5_K)]);
  MatEntries<TileShape<Q6KTiles512<Ops>, 4, 1>, TileShape<Q6KTiles512<Ops>, 4, 2>>::Fill(
      &t->weights[static_cast<int>(GgmlType::kQ6_K)]);
  AxpyEntries<AxpyGroupK512<GgmlType::kQ4_K, 144>, 4>::Fill(&t->weights[static_cast<int>(GgmlType::kQ4_K)]);
  AxpyEntries<AxpyGroupK512<GgmlType::kQ5_K, 176>, 4>::Fill(&t->weights[static_cast<int>(GgmlType::kQ5_K)]);
  AxpyEntries<AxpyGroupK512<GgmlType::kQ6_K, 210>, 4>::Fill(&t->weights[static_cast<int>(GgmlType::kQ6_K)]);
}

}  // namespace
}  // namespace st
