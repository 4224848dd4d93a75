// NEON kernels of Q4_0 and Q8_0 weights against Q8_0 activations, templated on the 16-byte integer
// dot (D::Dot16: baseline vmull/vpadal in neon_q8.cc, sdot in neon_dotprod.cc). Per block: exact
// int32 dot in 4 lanes, converted and accumulated as acc = fma(lanes, d_w * d_a, acc).
// Internal linkage, see tile_driver.h.
#pragma once

#include "kernels/neon/neon_util.h"

namespace st {
namespace {

constexpr int kQ8_0Bytes = 34;

// The 32 weights of a block as int8: elements 0..15 and 16..31.
struct Q4_0Ops {
  static constexpr int kBlockBytes = 18;
  static void Decode(const uint8_t* blk, int8x16_t* w0, int8x16_t* w1) {
    const uint8x16_t q = vld1q_u8(blk + 2);
    *w0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F))), vdupq_n_s8(8));
    *w1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), vdupq_n_s8(8));
  }
};

struct Q8_0Ops {
  static constexpr int kBlockBytes = 34;
  static void Decode(const uint8_t* blk, int8x16_t* w0, int8x16_t* w1) {
    *w0 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 2));
    *w1 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 18));
  }
};

template <class Ops, class D>
struct Q8Tiles {
  template <int R, int T>
  static void Tile(const uint8_t* const* wr, int64_t n, const uint8_t* const* at, float* out, int64_t out_stride,
                   const uint8_t* const* pf) {
    float32x4_t acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < n / 32; ++b) {
      int8x16_t a0[T], a1[T];
      float da[T];
      for (int t = 0; t < T; ++t) {
        const uint8_t* ab = at[t] + b * kQ8_0Bytes;
        da[t] = LoadFp16(ab);
        a0[t] = vld1q_s8(reinterpret_cast<const int8_t*>(ab + 2));
        a1[t] = vld1q_s8(reinterpret_cast<const int8_t*>(ab + 18));
      }
      for (int r = 0; r < R; ++r) {
        const uint8_t* wb = wr[r] + b * Ops::kBlockBytes;
        Prefetch(pf[r] + b * Ops::kBlockBytes);
        int8x16_t w0, w1;
        Ops::Decode(wb, &w0, &w1);
        const float dw = LoadFp16(wb);
        for (int t = 0; t < T; ++t) {
          const int32x4_t s = vaddq_s32(D::Dot16(w0, a0[t]), D::Dot16(w1, a1[t]));
          acc[r][t] = vfmaq_f32(acc[r][t], vcvtq_f32_s32(s), vdupq_n_f32(dw * da[t]));
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) out[t * out_stride + r] = vaddvq_f32(acc[r][t]);
  }
};

// ---- axpy_indexed / dequantize: per element y = fma(a * d, q, y) ----

inline void Floats(int8x16_t v, float32x4_t f[4]) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_s8(vget_high_s8(v));
  f[0] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo)));
  f[1] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo)));
  f[2] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi)));
  f[3] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi)));
}

template <class Ops>
void AxpyIndexedQ(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, const float* a, int64_t n_rows, int64_t n,
                  float* y) {
  for (int64_t b = 0; b < n / 32; ++b) {
    float32x4_t acc[8];
    for (int k = 0; k < 8; ++k) acc[k] = vld1q_f32(y + 32 * b + 4 * k);
    for (int64_t i = 0; i < n_rows; ++i) {
      const uint8_t* blk = w + RowOffset(rows != nullptr ? rows[i] : i, row_bytes) + b * Ops::kBlockBytes;
      int8x16_t w0, w1;
      Ops::Decode(blk, &w0, &w1);
      const float s = a[i] * LoadFp16(blk);
      float32x4_t f[8];
      Floats(w0, f);
      Floats(w1, f + 4);
      for (int k = 0; k < 8; ++k) acc[k] = vfmaq_n_f32(acc[k], f[k], s);
    }
    for (int k = 0; k < 8; ++k) vst1q_f32(y + 32 * b + 4 * k, acc[k]);
  }
}

template <class Ops>
void AxpyQ(const uint8_t* w_row, int64_t n, float a, float* y) {
  AxpyIndexedQ<Ops>(w_row, 0, nullptr, &a, 1, n, y);
}

template <class Ops>
void DequantizeQ(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* blk = src + b * Ops::kBlockBytes;
    int8x16_t w0, w1;
    Ops::Decode(blk, &w0, &w1);
    const float d = LoadFp16(blk);
    float32x4_t f[8];
    Floats(w0, f);
    Floats(w1, f + 4);
    for (int k = 0; k < 8; ++k) vst1q_f32(dst + 32 * b + 4 * k, vmulq_n_f32(f[k], d));
  }
}

// f32 -> Q8_0, bit-identical to QuantizeRowRef: q = round(x * (1/d)), ties away from zero (fcvtas).
inline void QuantizeQ8_0(const float* x, int64_t n, void* out) {
  auto* o = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* xb = x + 32 * b;
    float32x4_t v[8];
    float32x4_t amax = vdupq_n_f32(0.0f);
    for (int k = 0; k < 8; ++k) {
      v[k] = vld1q_f32(xb + 4 * k);
      amax = vmaxq_f32(amax, vabsq_f32(v[k]));
    }
    const float d = vmaxvq_f32(amax) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t* ob = o + b * kQ8_0Bytes;
    const __fp16 dh = static_cast<__fp16>(d);
    std::memcpy(ob, &dh, 2);
    int8_t q[32];
    for (int k = 0; k < 8; ++k) {
      const int32x4_t qi = vcvtaq_s32_f32(vmulq_n_f32(v[k], id));
      const int16x4_t q16 = vmovn_s32(qi);
      const int8x8_t q8 = vmovn_s16(vcombine_s16(q16, q16));
      vst1_lane_s32(reinterpret_cast<int32_t*>(q + 4 * k), vreinterpret_s32_s8(q8), 0);
    }
    std::memcpy(ob + 2, q, 32);
  }
}

template <class Ops, class D>
using Q8Entries = MatEntries<TileShape<Q8Tiles<Ops, D>, 4, 1>, TileShape<Q8Tiles<Ops, D>, 2, 4>>;

}  // namespace
}  // namespace st
