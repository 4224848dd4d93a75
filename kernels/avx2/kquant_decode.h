// Decoding of K-quant super-blocks with 256-bit integer ops, shared by the AVX2 and AVX-512 files
// (internal linkage, see avx2_util.h). Chunk c (0..3) of a super-block is weights 64c..64c+63.
#pragma once

#include "kernels/avx2/avx2_util.h"

namespace st {
namespace {

constexpr int kQ8KBytes = 292;  // Q8_K: f32 d, int8 qs[256], int16 bsums[16]

// The 12 packed bytes of Q4_K/Q5_K scales -> 16 bytes: scales 0..7 then mins 0..7 (ggml's utmp).
inline __m128i UnpackScalesMins(const uint8_t* packed) {
  constexpr uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
  uint32_t u[4];
  std::memcpy(u, packed, 12);
  u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
  const uint32_t uaux = u[1] & kmask1;
  u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
  u[2] = uaux;
  u[0] &= kmask1;
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(u));
}

// Sub-block (the unit of one scale) of weight 64c + e of a chunk: 32 weights for Q4_K/Q5_K, 16 for
// Q6_K.
template <GgmlType kType>
constexpr int SubBlockOf(int c, int e) {
  return kType == GgmlType::kQ6_K ? 4 * c + e / 16 : 2 * c + e / 32;
}

// Scale s[j] and min m[j] of every sub-block, times `a` first: s = (a*d)*sc, m = (a*dmin)*mn
// (a = 1 gives the reference's d*sc and dmin*mn exactly). Q6_K: 16 sub-blocks, m = 0.
template <GgmlType kType>
inline void SubBlockScales(const uint8_t* blk, float a, float s[16], float m[16]) {
  if constexpr (kType == GgmlType::kQ6_K) {
    const float ad = a * LoadFp16(blk + 208);
    int8_t sc[16];
    std::memcpy(sc, blk + 192, 16);
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) {
      s[j] = ad * static_cast<float>(sc[j]);
      m[j] = 0.0f;
    }
  } else {
    const float ad = a * LoadFp16(blk), am = a * LoadFp16(blk + 2);
    uint8_t sm[16];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(sm), UnpackScalesMins(blk + 4));
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      s[j] = ad * static_cast<float>(sm[j]);
      m[j] = am * static_cast<float>(sm[8 + j]);
    }
  }
}

// The 64 quants of chunk c as two vectors of 32 bytes (weights 64c..+31, 64c+32..+63): Q4_K/Q5_K
// unsigned 0..31, Q6_K signed -32..31.
template <GgmlType kType>
inline void ChunkInts(const uint8_t* blk, int c, __m256i q[2]) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  if constexpr (kType == GgmlType::kQ6_K) {
    const int h = c / 2, k0 = (c & 1) * 2;  // chunk c = groups k0, k0+1 of half h
    const __m256i bits0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h));
    const __m256i bits1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h + 32));
    const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h));
#pragma GCC unroll 2
    for (int g = 0; g < 2; ++g) {
      const int k = k0 + g;
      const __m256i bits = (k & 1) ? bits1 : bits0;
      const __m256i low = (k < 2) ? _mm256_and_si256(bits, m4) : _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
      const __m256i high = _mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(2 * k)), _mm256_set1_epi8(0x03));
      q[g] = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 4)), _mm256_set1_epi8(32));
    }
  } else {
    constexpr bool kQ5 = kType == GgmlType::kQ5_K;
    constexpr int kQsOffset = kQ5 ? 48 : 16;
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kQsOffset + 32 * c));
    q[0] = _mm256_and_si256(v, m4);
    q[1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    if constexpr (kQ5) {
      // Bit 2c of qh[l] is bit 4 of weight 64c+l; bit 2c+1 of weight 64c+32+l.
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16));
      const __m256i one = _mm256_set1_epi8(0x01);
      const __m128i sh_lo = _mm_cvtsi32_si128(2 * c), sh_hi = _mm_cvtsi32_si128(2 * c + 1);
      q[0] = _mm256_or_si256(q[0], _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(h, sh_lo), one), 4));
      q[1] = _mm256_or_si256(q[1], _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(h, sh_hi), one), 4));
    }
  }
}

}  // namespace
}  // namespace st
