#include "kernels/quantize.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kernels/quant_blocks.h"
#include "util/half.h"

namespace st {

void DequantizeRowRef(GgmlType type, const void* src, int64_t n, float* dst) {
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case GgmlType::kF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = HalfToFloat(s[i]);
      return;
    }
    case GgmlType::kBF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToFloat(s[i]);
      return;
    }
    case GgmlType::kQ8_0: {
      const auto* b = static_cast<const BlockQ8_0*>(src);
      for (int64_t i = 0; i < n / kQK8_0; ++i) {
        const float d = HalfToFloat(b[i].d);
        for (int j = 0; j < kQK8_0; ++j) dst[i * kQK8_0 + j] = d * b[i].qs[j];
      }
      return;
    }
    case GgmlType::kQ4_0: {
      const auto* b = static_cast<const BlockQ4_0*>(src);
      for (int64_t i = 0; i < n / kQK4_0; ++i) {
        const float d = HalfToFloat(b[i].d);
        for (int j = 0; j < 16; ++j) {
          dst[i * kQK4_0 + j] = d * ((b[i].qs[j] & 0x0f) - 8);
          dst[i * kQK4_0 + j + 16] = d * ((b[i].qs[j] >> 4) - 8);
        }
      }
      return;
    }
    default:
      std::abort();  // callers check IsComputeType first
  }
}

void QuantizeRowRef(GgmlType type, const float* src, int64_t n, void* dst) {
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case GgmlType::kF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = FloatToHalf(src[i]);
      return;
    }
    case GgmlType::kBF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = FloatToBf16(src[i]);
      return;
    }
    case GgmlType::kQ8_0: {
      auto* b = static_cast<BlockQ8_0*>(dst);
      for (int64_t i = 0; i < n / kQK8_0; ++i) {
        const float* x = src + i * kQK8_0;
        float amax = 0.0f;
        for (int j = 0; j < kQK8_0; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = FloatToHalf(d);
        for (int j = 0; j < kQK8_0; ++j) b[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
      }
      return;
    }
    case GgmlType::kQ4_0: {
      auto* b = static_cast<BlockQ4_0*>(dst);
      for (int64_t i = 0; i < n / kQK4_0; ++i) {
        const float* x = src + i * kQK4_0;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < kQK4_0; ++j) {
          if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            max = x[j];
          }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = FloatToHalf(d);
        for (int j = 0; j < 16; ++j) {
          const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
          const int q1 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 8.5f)));
          b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
      }
      return;
    }
    default:
      std::abort();
  }
}

float DequantizeElementRef(GgmlType type, const void* row, int64_t i) {
  switch (type) {
    case GgmlType::kF32: return static_cast<const float*>(row)[i];
    case GgmlType::kF16: return HalfToFloat(static_cast<const uint16_t*>(row)[i]);
    case GgmlType::kBF16: return Bf16ToFloat(static_cast<const uint16_t*>(row)[i]);
    case GgmlType::kQ8_0: {
      const auto& b = static_cast<const BlockQ8_0*>(row)[i / kQK8_0];
      return HalfToFloat(b.d) * b.qs[i % kQK8_0];
    }
    case GgmlType::kQ4_0: {
      const auto& b = static_cast<const BlockQ4_0*>(row)[i / kQK4_0];
      const int j = static_cast<int>(i % kQK4_0);
      const int q = j < 16 ? (b.qs[j] & 0x0f) : (b.qs[j - 16] >> 4);
      return HalfToFloat(b.d) * (q - 8);
    }
    default:
      std::abort();
  }
}

}  // namespace st
