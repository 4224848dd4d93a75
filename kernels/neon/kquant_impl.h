// NEON kernels of the K-quants (Q4_K, Q5_K, Q6_K weights; Q8_K activations), the dots templated on
// the 16-byte integer dot (D::Dot16, see q8_impl.h). Per super-block the integer sums are exact
// (per sub-block dots in 4 lanes, reduced, times the sub-block scale); then acc += (d * d_a) * sumi
// and, for Q4_K/Q5_K, acc_m += (dmin * d_a) * summ; the result is acc - acc_m.
// Internal linkage, see tile_driver.h.
#pragma once

#include "kernels/neon/neon_util.h"

namespace st {
namespace {

constexpr int kQ8KBytes = 292;  // f32 d, int8 qs[256], int16 bsums[16]

// 8 scales then 8 mins of a Q4_K/Q5_K block (ggml's get_scale_min_k4).
inline void ScalesMins(const uint8_t* q, uint8_t sc[8], uint8_t m[8]) {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      sc[j] = q[j] & 63;
      m[j] = q[j + 4] & 63;
    } else {
      sc[j] = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
      m[j] = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
  }
}

// Quants (0..31) of chunk c (weights 64c..64c+63) of a Q4_K/Q5_K block as 4 vectors of 16.
template <bool kQ5>
inline void Q45Chunk(const uint8_t* blk, int c, uint8x16_t q[4]) {
  constexpr int kQsOffset = kQ5 ? 48 : 16;
  const uint8x16_t b0 = vld1q_u8(blk + kQsOffset + 32 * c), b1 = vld1q_u8(blk + kQsOffset + 32 * c + 16);
  const uint8x16_t m4 = vdupq_n_u8(0x0F);
  q[0] = vandq_u8(b0, m4);
  q[1] = vandq_u8(b1, m4);
  q[2] = vshrq_n_u8(b0, 4);
  q[3] = vshrq_n_u8(b1, 4);
  if constexpr (kQ5) {
    const uint8x16_t h0 = vld1q_u8(blk + 16), h1 = vld1q_u8(blk + 32);
    const uint8x16_t bit_lo = vdupq_n_u8(static_cast<uint8_t>(1u << (2 * c)));
    const uint8x16_t bit_hi = vdupq_n_u8(static_cast<uint8_t>(1u << (2 * c + 1)));
    const uint8x16_t sixteen = vdupq_n_u8(16);
    q[0] = vorrq_u8(q[0], vandq_u8(vtstq_u8(h0, bit_lo), sixteen));
    q[1] = vorrq_u8(q[1], vandq_u8(vtstq_u8(h1, bit_lo), sixteen));
    q[2] = vorrq_u8(q[2], vandq_u8(vtstq_u8(h0, bit_hi), sixteen));
    q[3] = vorrq_u8(q[3], vandq_u8(vtstq_u8(h1, bit_hi), sixteen));
  }
}

template <bool kQ5, class D>
struct Q45KDot {
  static constexpr int kBlockBytes = kQ5 ? 176 : 144;
  static float Dot(const uint8_t* row, int64_t n, const uint8_t* act) {
    float acc = 0.0f, acc_m = 0.0f;
    for (int64_t b = 0; b < n / 256; ++b) {
      const uint8_t* blk = row + b * kBlockBytes;
      const uint8_t* ab = act + b * kQ8KBytes;
      const float da = LoadF32(ab);
      const int8_t* q8 = reinterpret_cast<const int8_t*>(ab + 4);
      int16_t bsums[16];
      std::memcpy(bsums, ab + 260, 32);
      uint8_t sc[8], mn[8];
      ScalesMins(blk + 4, sc, mn);
      int32_t sumi = 0, summ = 0;
      for (int c = 0; c < 4; ++c) {
        uint8x16_t q[4];
        Q45Chunk<kQ5>(blk, c, q);
        const int32x4_t lo = vaddq_s32(D::Dot16(vreinterpretq_s8_u8(q[0]), vld1q_s8(q8 + 64 * c)),
                                       D::Dot16(vreinterpretq_s8_u8(q[1]), vld1q_s8(q8 + 64 * c + 16)));
        const int32x4_t hi = vaddq_s32(D::Dot16(vreinterpretq_s8_u8(q[2]), vld1q_s8(q8 + 64 * c + 32)),
                                       D::Dot16(vreinterpretq_s8_u8(q[3]), vld1q_s8(q8 + 64 * c + 48)));
        sumi += sc[2 * c] * vaddvq_s32(lo) + sc[2 * c + 1] * vaddvq_s32(hi);
      }
      for (int j = 0; j < 8; ++j) summ += mn[j] * (bsums[2 * j] + bsums[2 * j + 1]);
      acc += (LoadFp16(blk) * da) * static_cast<float>(sumi);
      acc_m += (LoadFp16(blk + 2) * da) * static_cast<float>(summ);
    }
    return acc - acc_m;
  }
};

// Signed quants (-32..31) of the 32 weights 128h + 32k + 0..31 of a Q6_K block, as 2 vectors.
inline void Q6Group(const uint8_t* blk, int h, int k, int8x16_t q[2]) {
  for (int v = 0; v < 2; ++v) {
    const uint8x16_t bits = vld1q_u8(blk + 64 * h + 32 * (k & 1) + 16 * v);
    const uint8x16_t low = k < 2 ? vandq_u8(bits, vdupq_n_u8(0x0F)) : vshrq_n_u8(bits, 4);
    const uint8x16_t hb = vld1q_u8(blk + 128 + 32 * h + 16 * v);
    const uint8x16_t high = vandq_u8(vshlq_u8(hb, vdupq_n_s8(static_cast<int8_t>(-2 * k))), vdupq_n_u8(3));
    q[v] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(low, vshlq_n_u8(high, 4))), vdupq_n_s8(32));
  }
}

template <class D>
struct Q6KDot {
  static constexpr int kBlockBytes = 210;
  static float Dot(const uint8_t* row, int64_t n, const uint8_t* act) {
    float acc = 0.0f;
    for (int64_t b = 0; b < n / 256; ++b) {
      const uint8_t* blk = row + b * kBlockBytes;
      const uint8_t* ab = act + b * kQ8KBytes;
      const int8_t* q8 = reinterpret_cast<const int8_t*>(ab + 4);
      const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
      int32_t sumi = 0;
      for (int h = 0; h < 2; ++h) {
        for (int k = 0; k < 4; ++k) {
          int8x16_t q[2];
          Q6Group(blk, h, k, q);
          const int s = 8 * h + 2 * k;  // sub-blocks s and s+1
          sumi += sc[s] * vaddvq_s32(D::Dot16(q[0], vld1q_s8(q8 + 16 * s)));
          sumi += sc[s + 1] * vaddvq_s32(D::Dot16(q[1], vld1q_s8(q8 + 16 * s + 16)));
        }
      }
      acc += (LoadFp16(blk + 208) * LoadF32(ab)) * static_cast<float>(sumi);
    }
    return acc;
  }
};

// ---- dequantize / axpy: 64 weights (chunk c) at a time as 16 vectors of 4 ----

template <GgmlType kType>
inline void ChunkFloats(const uint8_t* blk, int c, float32x4_t f[16]) {
  int8x16_t q[4];
  if constexpr (kType == GgmlType::kQ6_K) {
    Q6Group(blk, c / 2, 2 * (c & 1), q);
    Q6Group(blk, c / 2, 2 * (c & 1) + 1, q + 2);
  } else {
    uint8x16_t u[4];
    Q45Chunk<kType == GgmlType::kQ5_K>(blk, c, u);
    for (int v = 0; v < 4; ++v) q[v] = vreinterpretq_s8_u8(u[v]);
  }
  for (int v = 0; v < 4; ++v) {
    const int16x8_t lo = vmovl_s8(vget_low_s8(q[v])), hi = vmovl_s8(vget_high_s8(q[v]));
    f[4 * v + 0] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo)));
    f[4 * v + 1] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo)));
    f[4 * v + 2] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi)));
    f[4 * v + 3] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi)));
  }
}

// Scale and min of vector v (4 weights) of chunk c, times `a`.
template <GgmlType kType>
inline void ChunkScales(const uint8_t* blk, int c, float a, float s[16], float m[16]) {
  if constexpr (kType == GgmlType::kQ6_K) {
    const float ad = a * LoadFp16(blk + 208);
    const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
    for (int v = 0; v < 16; ++v) {
      s[v] = ad * static_cast<float>(sc[4 * c + v / 4]);
      m[v] = 0.0f;
    }
  } else {
    uint8_t sc[8], mn[8];
    ScalesMins(blk + 4, sc, mn);
    const float ad = a * LoadFp16(blk), am = a * LoadFp16(blk + 2);
    for (int v = 0; v < 16; ++v) {
      const int j = 2 * c + v / 8;
      s[v] = ad * static_cast<float>(sc[j]);
      m[v] = am * static_cast<float>(mn[j]);
    }
  }
}

template <GgmlType kType, int kBlockBytes>
void DequantizeK(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t b = 0; b < n / 256; ++b) {
    for (int c = 0; c < 4; ++c) {
      float32x4_t f[16];
      float s[16], m[16];
      ChunkFloats<kType>(src + b * kBlockBytes, c, f);
      ChunkScales<kType>(src + b * kBlockBytes, c, 1.0f, s, m);
      for (int v = 0; v < 16; ++v) {
        vst1q_f32(dst + 256 * b + 64 * c + 4 * v, vsubq_f32(vmulq_n_f32(f[v], s[v]), vdupq_n_f32(m[v])));
      }
    }
  }
}

// Per element y = y + fma(s, q, -m), rows in order.
template <GgmlType kType, int kBlockBytes>
void AxpyIndexedK(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, const float* a, int64_t n_rows,
                  int64_t n, float* y) {
  for (int64_t b = 0; b < n / 256; ++b) {
    for (int c = 0; c < 4; ++c) {
      float* yc = y + 256 * b + 64 * c;
      float32x4_t acc[16];
      for (int v = 0; v < 16; ++v) acc[v] = vld1q_f32(yc + 4 * v);
      for (int64_t i = 0; i < n_rows; ++i) {
        const uint8_t* blk = w + RowOffset(rows != nullptr ? rows[i] : i, row_bytes) + b * kBlockBytes;
        float32x4_t f[16];
        float s[16], m[16];
        ChunkFloats<kType>(blk, c, f);
        ChunkScales<kType>(blk, c, a[i], s, m);
        for (int v = 0; v < 16; ++v) acc[v] = vaddq_f32(acc[v], vfmaq_n_f32(vdupq_n_f32(-m[v]), f[v], s[v]));
      }
      for (int v = 0; v < 16; ++v) vst1q_f32(yc + 4 * v, acc[v]);
    }
  }
}

template <GgmlType kType, int kBlockBytes>
void AxpyK(const uint8_t* w_row, int64_t n, float a, float* y) {
  AxpyIndexedK<kType, kBlockBytes>(w_row, 0, nullptr, &a, 1, n, y);
}

// f32 -> Q8_K, bit-identical to QuantizeRowRef: q = nearest-even(x * iscale) (fcvtns), capped at 127.
inline void QuantizeQ8_K(const float* x, int64_t n, void* out) {
  auto* o = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < n / 256; ++b) {
    const float* xb = x + 256 * b;
    uint8_t* ob = o + b * kQ8KBytes;
    float32x4_t amax_v = vdupq_n_f32(0.0f);
    for (int k = 0; k < 64; ++k) amax_v = vmaxq_f32(amax_v, vabsq_f32(vld1q_f32(xb + 4 * k)));
    const float amax = vmaxvq_f32(amax_v);
    if (amax == 0.0f) {
      std::memset(ob, 0, kQ8KBytes);
      continue;
    }
    float max = 0.0f;
    for (int j = 0; j < 256; ++j) {
      if (__builtin_fabsf(xb[j]) == amax) {
        max = xb[j];
        break;
      }
    }
    const float iscale = -127.0f / max;
    int8_t q[256];
    int16_t bsums[16];
    for (int g = 0; g < 16; ++g) {
      int32x4_t s = vdupq_n_s32(0);
      for (int k = 0; k < 4; ++k) {
        const int32x4_t qi = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(xb + 16 * g + 4 * k), iscale)),
                                       vdupq_n_s32(127));
        s = vaddq_s32(s, qi);
        const int16x4_t q16 = vmovn_s32(qi);
        const int8x8_t q8 = vmovn_s16(vcombine_s16(q16, q16));
        vst1_lane_s32(reinterpret_cast<int32_t*>(q + 16 * g + 4 * k), vreinterpret_s32_s8(q8), 0);
      }
      bsums[g] = static_cast<int16_t>(vaddvq_s32(s));
    }
    const float d = 1.0f / iscale;
    std::memcpy(ob, &d, 4);
    std::memcpy(ob + 4, q, 256);
    std::memcpy(ob + 260, bsums, 32);
  }
}

template <class Dot>
using KEntries = MatEntries<TileShape<PairTiles<Dot>, 4, 1>, TileShape<PairTiles<Dot>, 4, 4>>;

}  // namespace
}  // namespace st
