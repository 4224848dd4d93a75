// AVX2 kernels of float weights (F32, F16, BF16) against f32 activations, and the f32 vector
// helpers. Per (row, activation) the dot is: 8-lane fma accumulation over whole groups of 8, a
// fixed-order horizontal sum, then the n % 8 tail elements with scalar fma in element order.
#include "kernels/avx2/avx2_fill.h"
#include "kernels/avx2/avx2_util.h"
#include "kernels/softmax.h"

namespace st {
namespace {

struct F32Load {
  static constexpr int kBytes = 4;
  static __m256 Load8(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
  static float Load1(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
};

struct F16Load {
  static constexpr int kBytes = 2;
  static __m256 Load8(const uint8_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float Load1(const uint8_t* p) { return LoadFp16(p); }
};

struct BF16Load {
  static constexpr int kBytes = 2;
  static __m256 Load8(const uint8_t* p) {
    const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
  }
  static float Load1(const uint8_t* p) {
    const uint32_t u = static_cast<uint32_t>(LoadU16(p)) << 16;
    float v;
    std::memcpy(&v, &u, 4);
    return v;
  }
};

template <class L>
struct FloatTiles {
  template <int R, int T>
  static void Tile(const uint8_t* const* wr, int64_t n, const uint8_t* const* at, float* out, int64_t out_stride,
                   const uint8_t* const* pf) {
    __m256 acc[R][T];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      __m256 xv[T];
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) xv[t] = F32Load::Load8(at[t] + 4 * i);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        Prefetch(pf[r] + i * L::kBytes);
        const __m256 wv = L::Load8(wr[r] + i * L::kBytes);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        float s = HsumPs(acc[r][t]);
        for (int64_t j = i; j < n; ++j) s = __builtin_fmaf(L::Load1(wr[r] + j * L::kBytes), F32Load::Load1(at[t] + 4 * j), s);
        out[t * out_stride + r] = s;
      }
    }
  }
};

// axpy_indexed by groups of G rows (tile_driver.h); per element y = fma(a[i], w, y), i ascending
// (vector part and scalar tail alike).
template <class L>
struct AxpyGroupF {
  template <int G>
  static void Apply(const uint8_t* const* wr, const float* a, int64_t n, float* y, const uint8_t* const* pf) {
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
      __m256 acc0 = _mm256_loadu_ps(y + j), acc1 = _mm256_loadu_ps(y + j + 8);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        Prefetch(pf[g] + j * L::kBytes);
        const __m256 s = _mm256_set1_ps(a[g]);
        acc0 = _mm256_fmadd_ps(s, L::Load8(wr[g] + j * L::kBytes), acc0);
        acc1 = _mm256_fmadd_ps(s, L::Load8(wr[g] + (j + 8) * L::kBytes), acc1);
      }
      _mm256_storeu_ps(y + j, acc0);
      _mm256_storeu_ps(y + j + 8, acc1);
    }
    for (; j + 8 <= n; j += 8) {
      __m256 acc = _mm256_loadu_ps(y + j);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) acc = _mm256_fmadd_ps(_mm256_set1_ps(a[g]), L::Load8(wr[g] + j * L::kBytes), acc);
      _mm256_storeu_ps(y + j, acc);
    }
    for (; j < n; ++j) {
      float v = y[j];
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) v = __builtin_fmaf(a[g], L::Load1(wr[g] + j * L::kBytes), v);
      y[j] = v;
    }
  }
};

template <class L>
void DequantizeF(const uint8_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, L::Load8(src + i * L::kBytes));
  for (; i < n; ++i) dst[i] = L::Load1(src + i * L::kBytes);
}

template <class L>
void FillFloat(WeightKernels* k) {
  MatEntries<TileShape<FloatTiles<L>, 4, 1>, TileShape<FloatTiles<L>, 4, 2>>::Fill(k);
  AxpyEntries<AxpyGroupF<L>, 4>::Fill(k);
  k->dequantize = DequantizeF<L>;
}

float DotF32(const float* x, const float* y, int64_t n) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
#pragma GCC unroll 16
    for (int k = 0; k < 4; ++k) acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8 * k), _mm256_loadu_ps(y + i + 8 * k), acc[k]);
  }
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc[0]);
  float s = HsumPs(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) s = __builtin_fmaf(x[i], y[i], s);
  return s;
}

void AxpyF32(const float* x, int64_t n, float a, float* y) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] = __builtin_fmaf(a, x[i], y[i]);
}

void F32ToF16(const float* x, int64_t n, void* out) {
  auto* o = static_cast<uint8_t*>(out);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 2 * i), h);
  }
  for (; i < n; ++i) {
    const uint16_t h = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
    std::memcpy(o + 2 * i, &h, 2);
  }
}

struct Lane256 {
  using V = __m256;
  static V Set(float a) { return _mm256_set1_ps(a); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V Mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V Max(V x, V c) { return _mm256_max_ps(x, c); }  // c where x is NaN, as ScalarLane
  static V RoundEven(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V Pow2(V n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static V ZeroBelow(V x, V v) {
    return _mm256_and_ps(_mm256_cmp_ps(x, _mm256_set1_ps(softmax::kMinArg), _CMP_NLT_UQ), v);
  }
};

// 16 elements as two 8-lane halves: lanes 0..7 and 8..15 of the specification.
struct Block16x256 {
  static void ExpAndSum(float* x, int64_t n, float mx, float* lanes) {
    __m256 lo = _mm256_loadu_ps(lanes), hi = _mm256_loadu_ps(lanes + 8);
    const __m256 m = _mm256_set1_ps(mx);
    for (int64_t i = 0; i < n; i += 16) {
      const __m256 e0 = softmax::Exp<Lane256>(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
      const __m256 e1 = softmax::Exp<Lane256>(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), m));
      _mm256_storeu_ps(x + i, e0);
      _mm256_storeu_ps(x + i + 8, e1);
      lo = _mm256_add_ps(lo, e0);
      hi = _mm256_add_ps(hi, e1);
    }
    _mm256_storeu_ps(lanes, lo);
    _mm256_storeu_ps(lanes + 8, hi);
  }
};

}  // namespace

void FillAvx2Float(KernelTable* t) {
  t->softmax_f32 = softmax::Softmax<Block16x256>;
  FillFloat<F32Load>(&t->weights[static_cast<int>(GgmlType::kF32)]);
  FillFloat<F16Load>(&t->weights[static_cast<int>(GgmlType::kF16)]);
  FillFloat<BF16Load>(&t->weights[static_cast<int>(GgmlType::kBF16)]);
  t->dot_f32 = DotF32;
  t->axpy_f32 = AxpyF32;
  t->f32_to_f16 = F32ToF16;
}

}  // namespace st
