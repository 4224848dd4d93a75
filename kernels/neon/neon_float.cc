// NEON kernels of float weights (F32, F16, BF16) against f32 activations, and the f32 helpers.
// Per (row, activation): 4-lane fma accumulation over groups of 4, a horizontal sum, then the
// n % 4 tail with scalar fma. axpy: per element y = fma(a, w, y).
#include "kernels/neon/neon_fill.h"
#include "kernels/neon/neon_util.h"

namespace st {
namespace {

struct F32Load {
  static constexpr int kBytes = 4;
  static float32x4_t Load4(const uint8_t* p) { return vld1q_f32(reinterpret_cast<const float*>(p)); }
  static float Load1(const uint8_t* p) { return LoadF32(p); }
};

struct F16Load {
  static constexpr int kBytes = 2;
  static float32x4_t Load4(const uint8_t* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
  }
  static float Load1(const uint8_t* p) { return LoadFp16(p); }
};

struct BF16Load {
  static constexpr int kBytes = 2;
  static float32x4_t Load4(const uint8_t* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
  }
  static float Load1(const uint8_t* p) {
    const uint32_t u = static_cast<uint32_t>(LoadU16(p)) << 16;
    float v;
    std::memcpy(&v, &u, 4);
    return v;
  }
};

template <class L>
struct FloatDot {
  static float Dot(const uint8_t* row, int64_t n, const uint8_t* act) {
    const float* x = reinterpret_cast<const float*>(act);
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      acc0 = vfmaq_f32(acc0, L::Load4(row + i * L::kBytes), vld1q_f32(x + i));
      acc1 = vfmaq_f32(acc1, L::Load4(row + (i + 4) * L::kBytes), vld1q_f32(x + i + 4));
    }
    if (i + 4 <= n) {
      acc0 = vfmaq_f32(acc0, L::Load4(row + i * L::kBytes), vld1q_f32(x + i));
      i += 4;
    }
    float s = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < n; ++i) s = __builtin_fmaf(L::Load1(row + i * L::kBytes), LoadF32(act + 4 * i), s);
    return s;
  }
};

template <class L>
void AxpyIndexedF(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, const float* a, int64_t n_rows, int64_t n,
                  float* y) {
  constexpr int kTile = 8;  // 32 floats of y in registers
  int64_t j = 0;
  for (; j + 4 * kTile <= n; j += 4 * kTile) {
    float32x4_t acc[kTile];
    for (int k = 0; k < kTile; ++k) acc[k] = vld1q_f32(y + j + 4 * k);
    for (int64_t i = 0; i < n_rows; ++i) {
      const uint8_t* row = w + RowOffset(rows != nullptr ? rows[i] : i, row_bytes) + j * L::kBytes;
      for (int k = 0; k < kTile; ++k) acc[k] = vfmaq_n_f32(acc[k], L::Load4(row + 4 * k * L::kBytes), a[i]);
    }
    for (int k = 0; k < kTile; ++k) vst1q_f32(y + j + 4 * k, acc[k]);
  }
  for (; j + 4 <= n; j += 4) {
    float32x4_t acc = vld1q_f32(y + j);
    for (int64_t i = 0; i < n_rows; ++i) {
      acc = vfmaq_n_f32(acc, L::Load4(w + RowOffset(rows != nullptr ? rows[i] : i, row_bytes) + j * L::kBytes), a[i]);
    }
    vst1q_f32(y + j, acc);
  }
  for (; j < n; ++j) {
    float v = y[j];
    for (int64_t i = 0; i < n_rows; ++i) {
      v = __builtin_fmaf(a[i], L::Load1(w + RowOffset(rows != nullptr ? rows[i] : i, row_bytes) + j * L::kBytes), v);
    }
    y[j] = v;
  }
}

template <class L>
void AxpyF(const uint8_t* w_row, int64_t n, float a, float* y) {
  AxpyIndexedF<L>(w_row, 0, nullptr, &a, 1, n, y);
}

template <class L>
void DequantizeF(const uint8_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, L::Load4(src + i * L::kBytes));
  for (; i < n; ++i) dst[i] = L::Load1(src + i * L::kBytes);
}

template <class L>
void FillFloat(WeightKernels* k) {
  MatEntries<TileShape<PairTiles<FloatDot<L>>, 4, 1>, TileShape<PairTiles<FloatDot<L>>, 4, 4>>::Fill(k);
  k->axpy_indexed = AxpyIndexedF<L>;
  k->axpy = AxpyF<L>;
  k->axpy_multi = AxpyMultiByToken<AxpyIndexedF<L>>;
  k->dequantize = DequantizeF<L>;
}

float DotF32(const float* x, const float* y, int64_t n) {
  return FloatDot<F32Load>::Dot(reinterpret_cast<const uint8_t*>(x), n, reinterpret_cast<const uint8_t*>(y));
}

void AxpyF32(const float* x, int64_t n, float a, float* y) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
  for (; i < n; ++i) y[i] = __builtin_fmaf(a, x[i], y[i]);
}

void F32ToF16(const float* x, int64_t n, void* out) {
  auto* o = static_cast<uint8_t*>(out);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1_u16(reinterpret_cast<uint16_t*>(o + 2 * i), vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
  for (; i < n; ++i) {
    const __fp16 h = static_cast<__fp16>(x[i]);
    std::memcpy(o + 2 * i, &h, 2);
  }
}

}  // namespace

void FillNeonFloat(KernelTable* t) {
  FillFloat<F32Load>(&t->weights[static_cast<int>(GgmlType::kF32)]);
  FillFloat<F16Load>(&t->weights[static_cast<int>(GgmlType::kF16)]);
  FillFloat<BF16Load>(&t->weights[static_cast<int>(GgmlType::kBF16)]);
  t->dot_f32 = DotF32;
  t->axpy_f32 = AxpyF32;
  t->f32_to_f16 = F32ToF16;
}

}  // namespace st
