// Helpers of the kernel tests: misaligned buffers, random rows of every weight type, the scalar
// reference, and tolerances derived from norms. Header-only so that the aarch64 cross check
// (tools/ci/neon_check.sh) can build the kernel tests without the rest of the engine.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/ggml_type.h"
#include "kernels/kernel_table.h"
#include "kernels/quant_blocks.h"
#include "kernels/quantize.h"
#include "util/half.h"

namespace st::testing {

// `bytes` bytes starting `offset` bytes past a 64-byte boundary (offset 1..3 makes every load of a
// weight or activation misaligned; float outputs get offsets that keep float alignment, 4..12),
// followed by 64 guard bytes. Everything starts as 0x7E, so a kernel that reads
// outside what the test wrote picks up NaN fp16 scales (0x7E7E) and large quants.
class Buffer {
 public:
  static constexpr uint8_t kPoison = 0x7E;
  Buffer(size_t bytes, int offset) : storage_(bytes + 64 + 64 + offset, kPoison) {
    const auto base = reinterpret_cast<uintptr_t>(storage_.data());
    data_ = storage_.data() + ((64 - base % 64) % 64) + offset;
  }
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  float* f32() { return reinterpret_cast<float*>(data_); }

 private:
  std::vector<uint8_t> storage_;
  uint8_t* data_;
};

inline const std::vector<GgmlType>& WeightTypes() {
  static const std::vector<GgmlType> types = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16,
                                              GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_K,
                                              GgmlType::kQ5_K, GgmlType::kQ6_K};
  return types;
}

inline bool IsKQuant(GgmlType t) { return t == GgmlType::kQ4_K || t == GgmlType::kQ5_K || t == GgmlType::kQ6_K; }
inline bool IsFloat(GgmlType t) { return t == GgmlType::kF32 || t == GgmlType::kF16 || t == GgmlType::kBF16; }

// Row lengths that hit every tail: for 32-blocks one to nine blocks, for K-quants 1..3 super-blocks,
// for float types lengths that are not multiples of any vector width too.
inline std::vector<int64_t> RowLengths(GgmlType t) {
  if (IsKQuant(t)) return {256, 512, 768};
  if (IsFloat(t)) return {1, 7, 32, 64, 96, 100, 288};
  return {32, 64, 96, 288};
}

inline std::vector<Isa> SimdIsas() {
  std::vector<Isa> out;
  for (Isa isa : AvailableIsas()) {
    if (isa != Isa::kScalar) out.push_back(isa);
  }
  return out;
}

inline const KernelTable& Scalar() { return *KernelTableFor(Isa::kScalar); }

// Floats in [-1, 1) with a per-32 scale in [0.05, 4) and a per-32 bias, so sub-block scales and
// mins vary (exercising every bit of the packed K-quant scales).
inline std::vector<float> RandomFloats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f), s(0.05f, 4.0f), bias(-0.5f, 0.5f);
  std::vector<float> x(n);
  float scale = 1.0f, b = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (i % 32 == 0) {
      scale = s(rng);
      b = (rng() % 3 == 0) ? bias(rng) : 0.0f;
    }
    x[i] = scale * (u(rng) + b);
  }
  return x;
}

// `rows` rows of type t, n elements each, at `offset` bytes past alignment. Even rows are quantized
// from random floats; odd rows of quantized types are random bytes with sane fp16 scales (every bit
// pattern of quants and packed scales, including Q8_0's -128).
inline Buffer RandomWeights(GgmlType t, int64_t rows, int64_t n, uint32_t seed, int offset) {
  const uint64_t row_bytes = RowBytes(t, static_cast<uint64_t>(n));
  Buffer buf(row_bytes * rows, offset);
  std::mt19937 rng(seed * 7919u + 13u);
  std::uniform_real_distribution<float> scale(0.002f, 0.05f);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = buf.data() + r * row_bytes;
    if (IsFloat(t) || r % 2 == 0) {
      const std::vector<float> x = RandomFloats(n, seed + static_cast<uint32_t>(r) * 101u);
      QuantizeRowRef(t, x.data(), n, row);
      continue;
    }
    for (uint64_t i = 0; i < row_bytes; ++i) row[i] = static_cast<uint8_t>(rng());
    const uint64_t bb = TraitsOf(t).type_size;
    for (uint64_t b = 0; b < row_bytes / bb; ++b) {
      uint8_t* blk = row + b * bb;
      auto put = [&](uint64_t off) {
        const uint16_t h = FloatToHalf(scale(rng) * ((rng() & 1) ? 1.0f : -1.0f));
        std::memcpy(blk + off, &h, 2);
      };
      switch (t) {
        case GgmlType::kQ4_0:
        case GgmlType::kQ8_0: put(0); break;
        case GgmlType::kQ4_K:
        case GgmlType::kQ5_K: put(0); put(2); break;
        case GgmlType::kQ6_K: put(208); break;
        default: break;
      }
    }
  }
  return buf;
}

// An activation for weights of type t: n random floats converted by the scalar reference.
struct Act {
  std::vector<float> x;   // the f32 input
  std::vector<float> xq;  // what the kernels see, dequantized
  Buffer data;            // in act_type, at the requested misalignment
};

inline Act RandomAct(GgmlType weight_type, int64_t n, uint32_t seed, int offset) {
  const GgmlType at = Scalar().weights[static_cast<int>(weight_type)].act_type;
  Act a{RandomFloats(n, seed), std::vector<float>(n), Buffer(ActivationBytes(at, n), offset)};
  QuantizeActivation(Scalar(), at, a.x.data(), n, a.data.data());
  DequantizeRowRef(at, a.data.data(), n, a.xq.data());
  return a;
}

// Per-element magnitude |d*sc*q| + |dmin*m| of a row (|w| for types without mins): the scale of
// the rounding error of anything computed from the row.
inline std::vector<float> ElementMagnitudes(GgmlType t, const uint8_t* row, int64_t n) {
  const uint64_t row_bytes = RowBytes(t, static_cast<uint64_t>(n));
  std::vector<float> mag(n), part(n);
  if (t == GgmlType::kQ4_K || t == GgmlType::kQ5_K) {
    std::vector<uint8_t> copy(row, row + row_bytes);
    const uint64_t bb = TraitsOf(t).type_size;
    for (int pass = 0; pass < 2; ++pass) {
      std::memcpy(copy.data(), row, row_bytes);
      for (uint64_t b = 0; b < row_bytes / bb; ++b) std::memset(copy.data() + b * bb + (pass == 0 ? 2 : 0), 0, 2);
      DequantizeRowRef(t, copy.data(), n, part.data());
      for (int64_t i = 0; i < n; ++i) mag[i] += std::fabs(part[i]);
    }
    return mag;
  }
  DequantizeRowRef(t, row, n, mag.data());
  for (float& v : mag) v = std::fabs(v);
  return mag;
}

// Tolerance of a dot of `row` with activation values xq: 1e-5 * sum |w_i x_i| + tiny.
inline double DotTolerance(GgmlType t, const uint8_t* row, int64_t n, const std::vector<float>& xq) {
  const std::vector<float> mag = ElementMagnitudes(t, row, n);
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(mag[i]) * std::fabs(xq[i]);
  return 1e-5 * s + 1e-6;
}

inline bool SameBits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

}  // namespace st::testing
