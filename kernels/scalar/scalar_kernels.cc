// The scalar kernel table: plain C++, no intrinsics. This is the specification every SIMD kernel
// is compared against.
#include <cmath>
#include <cstring>

#include "kernels/kernel_table.h"
#include "kernels/quant_blocks.h"
#include "kernels/quantize.h"
#include "util/half.h"

namespace st {
namespace {

// ---- float weights: f32 activations ----

template <float (*kLoad)(const uint8_t*, int64_t)>
void GemvFloat(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* act, float* out) {
  const float* x = static_cast<const float*>(act);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = w + r * row_bytes;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += kLoad(row, i) * x[i];
    out[r] = sum;
  }
}

template <float (*kLoad)(const uint8_t*, int64_t)>
void AxpyFloat(const uint8_t* w_row, int64_t n, float a, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * kLoad(w_row, i);
}

template <float (*kLoad)(const uint8_t*, int64_t)>
void DequantizeFloat(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = kLoad(src, i);
}

float LoadF32(const uint8_t* p, int64_t i) {
  float v;
  std::memcpy(&v, p + i * 4, 4);
  return v;
}
float LoadF16(const uint8_t* p, int64_t i) {
  uint16_t h;
  std::memcpy(&h, p + i * 2, 2);
  return HalfToFloat(h);
}
float LoadBF16(const uint8_t* p, int64_t i) {
  uint16_t h;
  std::memcpy(&h, p + i * 2, 2);
  return Bf16ToFloat(h);
}

// ---- quantized weights: Q8_0 activations, integer dot per block ----

void GemvQ4_0(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* act, float* out) {
  const auto* a = static_cast<const BlockQ8_0*>(act);
  const int64_t nb = n / kQK4_0;
  for (int64_t r = 0; r < rows; ++r) {
    BlockQ4_0 b;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
      std::memcpy(&b, w + r * row_bytes + i * sizeof(BlockQ4_0), sizeof(b));  // rows may be unaligned
      int32_t sumi = 0;
      for (int j = 0; j < 16; ++j) {
        sumi += ((b.qs[j] & 0x0f) - 8) * a[i].qs[j];
        sumi += ((b.qs[j] >> 4) - 8) * a[i].qs[j + 16];
      }
      sum += static_cast<float>(sumi) * (HalfToFloat(b.d) * HalfToFloat(a[i].d));
    }
    out[r] = sum;
  }
}

void GemvQ8_0(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* act, float* out) {
  const auto* a = static_cast<const BlockQ8_0*>(act);
  const int64_t nb = n / kQK8_0;
  for (int64_t r = 0; r < rows; ++r) {
    BlockQ8_0 b;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
      std::memcpy(&b, w + r * row_bytes + i * sizeof(BlockQ8_0), sizeof(b));
      int32_t sumi = 0;
      for (int j = 0; j < kQK8_0; ++j) sumi += b.qs[j] * a[i].qs[j];
      sum += static_cast<float>(sumi) * (HalfToFloat(b.d) * HalfToFloat(a[i].d));
    }
    out[r] = sum;
  }
}

template <GgmlType kType, int kBlock>
void AxpyQuant(const uint8_t* w_row, int64_t n, float a, float* y) {
  float tmp[kBlock];
  const uint64_t block_bytes = RowBytes(kType, kBlock);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    DequantizeRowRef(kType, w_row + i * block_bytes, kBlock, tmp);
    for (int j = 0; j < kBlock; ++j) y[i * kBlock + j] += a * tmp[j];
  }
}

template <GgmlType kType>
void DequantizeQuant(const uint8_t* src, int64_t n, float* dst) {
  DequantizeRowRef(kType, src, n, dst);
}

void QuantizeQ8_0(const float* x, int64_t n, void* out) { QuantizeRowRef(GgmlType::kQ8_0, x, n, out); }

float DotF32(const float* x, const float* y, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

void AxpyF32(const float* x, int64_t n, float a, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

void FillScalarKernels(KernelTable* t) {
  t->isa = Isa::kScalar;
  auto& f32 = t->weights[static_cast<int>(GgmlType::kF32)];
  f32 = {GgmlType::kF32, GemvFloat<LoadF32>, AxpyFloat<LoadF32>, DequantizeFloat<LoadF32>};
  auto& f16 = t->weights[static_cast<int>(GgmlType::kF16)];
  f16 = {GgmlType::kF32, GemvFloat<LoadF16>, AxpyFloat<LoadF16>, DequantizeFloat<LoadF16>};
  auto& bf16 = t->weights[static_cast<int>(GgmlType::kBF16)];
  bf16 = {GgmlType::kF32, GemvFloat<LoadBF16>, AxpyFloat<LoadBF16>, DequantizeFloat<LoadBF16>};
  auto& q8 = t->weights[static_cast<int>(GgmlType::kQ8_0)];
  q8 = {GgmlType::kQ8_0, GemvQ8_0, AxpyQuant<GgmlType::kQ8_0, kQK8_0>, DequantizeQuant<GgmlType::kQ8_0>};
  auto& q4 = t->weights[static_cast<int>(GgmlType::kQ4_0)];
  q4 = {GgmlType::kQ8_0, GemvQ4_0, AxpyQuant<GgmlType::kQ4_0, kQK4_0>, DequantizeQuant<GgmlType::kQ4_0>};
  t->quantize_q8_0 = QuantizeQ8_0;
  t->dot_f32 = DotF32;
  t->axpy_f32 = AxpyF32;
}

}  // namespace st
