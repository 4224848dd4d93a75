// Reference quantize/dequantize of the K-quant super-blocks (see quant_blocks.h for the layouts and
// quantize.h for how scales are chosen).
#include "kernels/quantize_kquants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/quant_blocks.h"
#include "util/half.h"

namespace st {
namespace {

// Packs 8 six-bit scales and mins into the 12 bytes of Q4_K/Q5_K (inverse of UnpackScaleMinK4).
void PackScaleMinK4(const uint8_t* ls, const uint8_t* lm, uint8_t* q) {
  std::memset(q, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      q[j] = ls[j];
      q[j + 4] = lm[j];
    } else {
      q[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      q[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      q[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// Min-max scales of the 8 sub-blocks of 32 for a `levels`-level asymmetric quantizer; fills d, dmin,
// the packed scales and the per-weight levels L[256].
void QuantizeMinMaxK(const float* x, int levels, uint16_t* d_out, uint16_t* dmin_out, uint8_t* scales,
                     uint8_t* L) {
  float scale[8], min[8];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    const float* s = x + 32 * j;
    float lo = s[0], hi = s[0];
    for (int l = 1; l < 32; ++l) {
      lo = std::min(lo, s[l]);
      hi = std::max(hi, s[l]);
    }
    lo = std::min(lo, 0.0f);  // mins are subtracted and stored unsigned, as ggml
    scale[j] = (hi - lo) / static_cast<float>(levels - 1);
    min[j] = -lo;
    max_scale = std::max(max_scale, scale[j]);
    max_min = std::max(max_min, min[j]);
  }
  const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = static_cast<uint8_t>(std::min(63, NearestInt(inv_scale * scale[j])));
    lm[j] = static_cast<uint8_t>(std::min(63, NearestInt(inv_min * min[j])));
  }
  PackScaleMinK4(ls, lm, scales);
  *d_out = FloatToHalf(max_scale / 63.0f);
  *dmin_out = FloatToHalf(max_min / 63.0f);
  const float d = HalfToFloat(*d_out), dmin = HalfToFloat(*dmin_out);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    UnpackScaleMinK4(j, scales, &sc, &m);
    const float dd = d * sc, dm = dmin * m;
    for (int l = 0; l < 32; ++l) {
      const int q = dd != 0.0f ? NearestInt((x[32 * j + l] + dm) / dd) : 0;
      L[32 * j + l] = static_cast<uint8_t>(std::clamp(q, 0, levels - 1));
    }
  }
}

}  // namespace

void QuantizeBlockQ4_K(const float* x, void* block) {
  BlockQ4_K b;
  uint8_t L[kQK_K];
  QuantizeMinMaxK(x, 16, &b.d, &b.dmin, b.scales, L);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) b.qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
  }
  std::memcpy(block, &b, sizeof(b));
}

void QuantizeBlockQ5_K(const float* x, void* block) {
  BlockQ5_K b;
  uint8_t L[kQK_K];
  QuantizeMinMaxK(x, 32, &b.d, &b.dmin, b.scales, L);
  std::memset(b.qh, 0, sizeof(b.qh));
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
      b.qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
      b.qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
    }
  }
  std::memcpy(block, &b, sizeof(b));
}

void QuantizeBlockQ6_K(const float* x, void* block) {
  BlockQ6_K b;
  float scale[16];
  float max_scale = 0.0f, max_abs_scale = 0.0f;
  for (int i = 0; i < 16; ++i) {
    float amax = 0.0f, max = 0.0f;
    for (int l = 0; l < 16; ++l) {
      const float v = x[16 * i + l];
      if (std::fabs(v) > amax) {
        amax = std::fabs(v);
        max = v;
      }
    }
    scale[i] = max / -32.0f;
    if (std::fabs(scale[i]) > max_abs_scale) {
      max_abs_scale = std::fabs(scale[i]);
      max_scale = scale[i];
    }
  }
  uint8_t L[kQK_K];
  if (max_abs_scale == 0.0f) {
    std::memset(&b, 0, sizeof(b));
    std::memset(L, 32, sizeof(L));
  } else {
    const float iscale = -128.0f / max_scale;
    b.d = FloatToHalf(1.0f / iscale);
    for (int i = 0; i < 16; ++i) b.scales[i] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scale[i])));
    const float d = HalfToFloat(b.d);
    for (int i = 0; i < 16; ++i) {
      const float dd = d * b.scales[i];
      for (int l = 0; l < 16; ++l) {
        const int q = dd != 0.0f ? NearestInt(x[16 * i + l] / dd) : 0;
        L[16 * i + l] = static_cast<uint8_t>(std::clamp(q, -32, 31) + 32);
      }
    }
  }
  for (int h = 0; h < 2; ++h) {
    uint8_t* ql = b.ql + 64 * h;
    uint8_t* qh = b.qh + 32 * h;
    const uint8_t* Lh = L + 128 * h;
    for (int l = 0; l < 32; ++l) {
      ql[l] = static_cast<uint8_t>((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
      ql[l + 32] = static_cast<uint8_t>((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
      qh[l] = static_cast<uint8_t>((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                                   ((Lh[l + 96] >> 4) << 6));
    }
  }
  std::memcpy(block, &b, sizeof(b));
}

void QuantizeBlockQ8_K(const float* x, void* block) {
  BlockQ8_K b;
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kQK_K; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  if (amax == 0.0f) {
    std::memset(&b, 0, sizeof(b));
  } else {
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQK_K; ++j) b.qs[j] = static_cast<int8_t>(std::min(127, NearestInt(iscale * x[j])));
    for (int i = 0; i < 16; ++i) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += b.qs[16 * i + l];
      b.bsums[i] = static_cast<int16_t>(sum);
    }
    b.d = 1.0f / iscale;
  }
  std::memcpy(block, &b, sizeof(b));
}

void DequantizeBlockQ4_K(const void* block, float* y) {
  BlockQ4_K b;
  std::memcpy(&b, block, sizeof(b));
  const float d = HalfToFloat(b.d), dmin = HalfToFloat(b.dmin);
  for (int c = 0; c < 4; ++c) {
    uint8_t sc0, m0, sc1, m1;
    UnpackScaleMinK4(2 * c, b.scales, &sc0, &m0);
    UnpackScaleMinK4(2 * c + 1, b.scales, &sc1, &m1);
    const float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
    for (int l = 0; l < 32; ++l) {
      y[64 * c + l] = d0 * (b.qs[32 * c + l] & 0xF) - mm0;
      y[64 * c + 32 + l] = d1 * (b.qs[32 * c + l] >> 4) - mm1;
    }
  }
}

void DequantizeBlockQ5_K(const void* block, float* y) {
  BlockQ5_K b;
  std::memcpy(&b, block, sizeof(b));
  const float d = HalfToFloat(b.d), dmin = HalfToFloat(b.dmin);
  for (int c = 0; c < 4; ++c) {
    uint8_t sc0, m0, sc1, m1;
    UnpackScaleMinK4(2 * c, b.scales, &sc0, &m0);
    UnpackScaleMinK4(2 * c + 1, b.scales, &sc1, &m1);
    const float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
    for (int l = 0; l < 32; ++l) {
      const int lo = (b.qs[32 * c + l] & 0xF) | (((b.qh[l] >> (2 * c)) & 1) << 4);
      const int hi = (b.qs[32 * c + l] >> 4) | (((b.qh[l] >> (2 * c + 1)) & 1) << 4);
      y[64 * c + l] = d0 * lo - mm0;
      y[64 * c + 32 + l] = d1 * hi - mm1;
    }
  }
}

void DequantizeBlockQ6_K(const void* block, float* y) {
  BlockQ6_K b;
  std::memcpy(&b, block, sizeof(b));
  const float d = HalfToFloat(b.d);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    const int8_t* sc = b.scales + 8 * h;
    float* yh = y + 128 * h;
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      yh[l] = d * sc[is] * q1;
      yh[l + 32] = d * sc[is + 2] * q2;
      yh[l + 64] = d * sc[is + 4] * q3;
      yh[l + 96] = d * sc[is + 6] * q4;
    }
  }
}

void DequantizeBlockQ8_K(const void* block, float* y) {
  BlockQ8_K b;
  std::memcpy(&b, block, sizeof(b));
  for (int j = 0; j < kQK_K; ++j) y[j] = b.d * b.qs[j];
}

}  // namespace st
