#include "kernels/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kernels/quant_blocks.h"
#include "kernels/quantize_kquants.h"
#include "util/half.h"

// Rows and blocks may sit at any byte address (18-byte Q4_0 blocks, GGUF rows, test buffers), so
// every block is copied in or out with memcpy rather than accessed through a typed pointer.
namespace st {
namespace {

using BlockFn = void (*)(const void* block, float* y);
using QuantBlockFn = void (*)(const float* x, void* block);

void DequantizeSuperBlocks(BlockFn f, uint64_t block_bytes, const void* src, int64_t n, float* dst) {
  const auto* s = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) f(s + i * block_bytes, dst + i * kQK_K);
}

void QuantizeSuperBlocks(QuantBlockFn f, uint64_t block_bytes, const float* src, int64_t n, void* dst) {
  auto* d = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) f(src + i * kQK_K, d + i * block_bytes);
}

uint16_t LoadU16(const void* p, int64_t i) {
  uint16_t v;
  std::memcpy(&v, static_cast<const uint8_t*>(p) + 2 * i, 2);
  return v;
}

void StoreU16(void* p, int64_t i, uint16_t v) { std::memcpy(static_cast<uint8_t*>(p) + 2 * i, &v, 2); }

template <class Block>
Block LoadBlock(const void* p, int64_t i) {
  Block b;
  std::memcpy(&b, static_cast<const uint8_t*>(p) + i * sizeof(Block), sizeof(Block));
  return b;
}

void DequantizeQ8_0(const BlockQ8_0& b, float* y) {
  const float d = HalfToFloat(b.d);
  for (int j = 0; j < kQK8_0; ++j) y[j] = d * b.qs[j];
}

void DequantizeQ4_0(const BlockQ4_0& b, float* y) {
  const float d = HalfToFloat(b.d);
  for (int j = 0; j < 16; ++j) {
    y[j] = d * ((b.qs[j] & 0x0f) - 8);
    y[j + 16] = d * ((b.qs[j] >> 4) - 8);
  }
}

BlockQ8_0 QuantizeQ8_0(const float* x) {
  BlockQ8_0 b;
  float amax = 0.0f;
  for (int j = 0; j < kQK8_0; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b.d = FloatToHalf(d);
  for (int j = 0; j < kQK8_0; ++j) b.qs[j] = static_cast<int8_t>(std::round(x[j] * id));
  return b;
}

BlockQ4_0 QuantizeQ4_0(const float* x) {
  BlockQ4_0 b;
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kQK4_0; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  b.d = FloatToHalf(d);
  for (int j = 0; j < 16; ++j) {
    const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
    const int q1 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 8.5f)));
    b.qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
  }
  return b;
}

}  // namespace

void DequantizeRowRef(GgmlType type, const void* src, int64_t n, float* dst) {
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = HalfToFloat(LoadU16(src, i));
      return;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToFloat(LoadU16(src, i));
      return;
    case GgmlType::kQ8_0:
      for (int64_t i = 0; i < n / kQK8_0; ++i) DequantizeQ8_0(LoadBlock<BlockQ8_0>(src, i), dst + i * kQK8_0);
      return;
    case GgmlType::kQ4_0:
      for (int64_t i = 0; i < n / kQK4_0; ++i) DequantizeQ4_0(LoadBlock<BlockQ4_0>(src, i), dst + i * kQK4_0);
      return;
    case GgmlType::kQ4_K: return DequantizeSuperBlocks(DequantizeBlockQ4_K, sizeof(BlockQ4_K), src, n, dst);
    case GgmlType::kQ5_K: return DequantizeSuperBlocks(DequantizeBlockQ5_K, sizeof(BlockQ5_K), src, n, dst);
    case GgmlType::kQ6_K: return DequantizeSuperBlocks(DequantizeBlockQ6_K, sizeof(BlockQ6_K), src, n, dst);
    case GgmlType::kQ8_K: return DequantizeSuperBlocks(DequantizeBlockQ8_K, sizeof(BlockQ8_K), src, n, dst);
    default:
      std::abort();  // callers check IsComputeType first
  }
}

void QuantizeRowRef(GgmlType type, const float* src, int64_t n, void* dst) {
  auto* d8 = static_cast<uint8_t*>(dst);
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) StoreU16(dst, i, FloatToHalf(src[i]));
      return;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) StoreU16(dst, i, FloatToBf16(src[i]));
      return;
    case GgmlType::kQ8_0:
      for (int64_t i = 0; i < n / kQK8_0; ++i) {
        const BlockQ8_0 b = QuantizeQ8_0(src + i * kQK8_0);
        std::memcpy(d8 + i * sizeof(b), &b, sizeof(b));
      }
      return;
    case GgmlType::kQ4_0:
      for (int64_t i = 0; i < n / kQK4_0; ++i) {
        const BlockQ4_0 b = QuantizeQ4_0(src + i * kQK4_0);
        std::memcpy(d8 + i * sizeof(b), &b, sizeof(b));
      }
      return;
    case GgmlType::kQ4_K: return QuantizeSuperBlocks(QuantizeBlockQ4_K, sizeof(BlockQ4_K), src, n, dst);
    case GgmlType::kQ5_K: return QuantizeSuperBlocks(QuantizeBlockQ5_K, sizeof(BlockQ5_K), src, n, dst);
    case GgmlType::kQ6_K: return QuantizeSuperBlocks(QuantizeBlockQ6_K, sizeof(BlockQ6_K), src, n, dst);
    case GgmlType::kQ8_K: return QuantizeSuperBlocks(QuantizeBlockQ8_K, sizeof(BlockQ8_K), src, n, dst);
    default:
      std::abort();
  }
}

float DequantizeElementRef(GgmlType type, const void* row, int64_t i) {
  switch (type) {
    case GgmlType::kF32: {
      float v;
      std::memcpy(&v, static_cast<const uint8_t*>(row) + 4 * i, 4);
      return v;
    }
    case GgmlType::kF16: return HalfToFloat(LoadU16(row, i));
    case GgmlType::kBF16: return Bf16ToFloat(LoadU16(row, i));
    case GgmlType::kQ8_0: {
      const BlockQ8_0 b = LoadBlock<BlockQ8_0>(row, i / kQK8_0);
      return HalfToFloat(b.d) * b.qs[i % kQK8_0];
    }
    case GgmlType::kQ4_0: {
      const BlockQ4_0 b = LoadBlock<BlockQ4_0>(row, i / kQK4_0);
      const int j = static_cast<int>(i % kQK4_0);
      const int q = j < 16 ? (b.qs[j] & 0x0f) : (b.qs[j - 16] >> 4);
      return HalfToFloat(b.d) * (q - 8);
    }
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
    case GgmlType::kQ8_K: {
      float block[kQK_K];
      const uint64_t block_bytes = TraitsOf(type).type_size;
      DequantizeRowRef(type, static_cast<const uint8_t*>(row) + (i / kQK_K) * block_bytes, kQK_K, block);
      return block[i % kQK_K];
    }
    default:
      std::abort();
  }
}

}  // namespace st
