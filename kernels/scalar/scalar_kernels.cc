// The scalar kernel table: plain C++, no intrinsics. This is the specification every SIMD kernel
// is compared against. Row dots accumulate in float in element (or block) order; the integer dot of
// a block is exact.
#include "kernels/scalar/scalar_kernels.h"

#include <cstring>

#include "kernels/kernel_table.h"
#include "kernels/quant_blocks.h"
#include "kernels/softmax.h"
#include "util/half.h"

namespace st {
namespace scalar {
namespace {

// ---- float weights: f32 activations ----

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

template <float (*kLoad)(const uint8_t*, int64_t)>
float DotFloat(const uint8_t* row, int64_t n, const void* act) {
  const auto* x = static_cast<const uint8_t*>(act);  // activations may be unaligned too
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += kLoad(row, i) * LoadF32(x, i);
  return sum;
}

// ---- Q4_0 / Q8_0 weights: Q8_0 activations, exact integer dot per block ----

float DotQ4_0(const uint8_t* row, int64_t n, const void* act) {
  const auto* a8 = static_cast<const uint8_t*>(act);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    BlockQ4_0 b;
    BlockQ8_0 a;
    std::memcpy(&b, row + i * sizeof(BlockQ4_0), sizeof(b));  // rows and activations may be unaligned
    std::memcpy(&a, a8 + i * sizeof(BlockQ8_0), sizeof(a));
    int32_t sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += ((b.qs[j] & 0x0f) - 8) * a.qs[j];
      sumi += ((b.qs[j] >> 4) - 8) * a.qs[j + 16];
    }
    sum += static_cast<float>(sumi) * (HalfToFloat(b.d) * HalfToFloat(a.d));
  }
  return sum;
}

float DotQ8_0(const uint8_t* row, int64_t n, const void* act) {
  const auto* a8 = static_cast<const uint8_t*>(act);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    BlockQ8_0 b, a;
    std::memcpy(&b, row + i * sizeof(BlockQ8_0), sizeof(b));
    std::memcpy(&a, a8 + i * sizeof(BlockQ8_0), sizeof(a));
    int32_t sumi = 0;
    for (int j = 0; j < kQK8_0; ++j) sumi += b.qs[j] * a.qs[j];
    sum += static_cast<float>(sumi) * (HalfToFloat(b.d) * HalfToFloat(a.d));
  }
  return sum;
}

// ---- vectors ----

void QuantizeQ8_0(const float* x, int64_t n, void* out) { QuantizeRowRef(GgmlType::kQ8_0, x, n, out); }
void QuantizeQ8_K(const float* x, int64_t n, void* out) { QuantizeRowRef(GgmlType::kQ8_K, x, n, out); }

void F32ToF16(const float* x, int64_t n, void* out) {
  auto* o = static_cast<uint8_t*>(out);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = FloatToHalf(x[i]);
    std::memcpy(o + 2 * i, &h, 2);
  }
}

float DotF32(const float* x, const float* y, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

void AxpyF32(const float* x, int64_t n, float a, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

template <GgmlType kType, RowDotFn kDot>
WeightKernels Entries(GgmlType act_type) {
  WeightKernels k;
  k.act_type = act_type;
  k.gemv = Gemv<kDot>;
  k.gemv_indexed = GemvIndexed<kDot>;
  k.gemm = Gemm<kDot>;
  k.axpy_indexed = AxpyIndexed<kType>;
  k.axpy = Axpy<kType>;
  k.axpy_multi = AxpyMulti<kType>;
  k.dequantize = Dequantize<kType>;
  return k;
}

void Set(KernelTable* t, GgmlType type, const WeightKernels& k) { t->weights[static_cast<int>(type)] = k; }

}  // namespace
}  // namespace scalar

void FillScalarKernels(KernelTable* t) {
  using namespace scalar;
  t->isa = Isa::kScalar;
  Set(t, GgmlType::kF32, Entries<GgmlType::kF32, DotFloat<LoadF32>>(GgmlType::kF32));
  Set(t, GgmlType::kF16, Entries<GgmlType::kF16, DotFloat<LoadF16>>(GgmlType::kF32));
  Set(t, GgmlType::kBF16, Entries<GgmlType::kBF16, DotFloat<LoadBF16>>(GgmlType::kF32));
  Set(t, GgmlType::kQ8_0, Entries<GgmlType::kQ8_0, DotQ8_0>(GgmlType::kQ8_0));
  Set(t, GgmlType::kQ4_0, Entries<GgmlType::kQ4_0, DotQ4_0>(GgmlType::kQ8_0));
  Set(t, GgmlType::kQ4_K, Entries<GgmlType::kQ4_K, DotQ4_K>(GgmlType::kQ8_K));
  Set(t, GgmlType::kQ5_K, Entries<GgmlType::kQ5_K, DotQ5_K>(GgmlType::kQ8_K));
  Set(t, GgmlType::kQ6_K, Entries<GgmlType::kQ6_K, DotQ6_K>(GgmlType::kQ8_K));
  t->quantize_q8_0 = QuantizeQ8_0;
  t->quantize_q8_k = QuantizeQ8_K;
  t->f32_to_f16 = F32ToF16;
  t->dot_f32 = DotF32;
  t->axpy_f32 = AxpyF32;
  t->softmax_f32 = softmax::Softmax<softmax::ScalarBlock16>;
}

}  // namespace st
