// AVX-512 kernels of float weights (F32, F16, BF16) against f32 activations, and the f32 vector
// helpers. Per (row, activation) the dot is: 16-lane fma accumulation over groups of 16, the n % 16
// tail as one masked group, then a fixed-order horizontal sum. axpy: per element y = fma(a, w, y).
#include "kernels/avx512/avx512_fill.h"
#include "kernels/avx512/avx512_util.h"
#include "kernels/softmax.h"

namespace st {
namespace {

struct F32Load {
  static constexpr int kBytes = 4;
  static __m512 Load(const uint8_t* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};

struct F16Load {
  static constexpr int kBytes = 2;
  static __m512 Load(const uint8_t* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
};

struct BF16Load {
  static constexpr int kBytes = 2;
  static __m512 Load(const uint8_t* p, __mmask16 m) {
    const __m512i u = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
  }
};

template <class L>
struct FloatTiles {
  template <int R, int T>
  static void Tile(const uint8_t* const* wr, int64_t n, const uint8_t* const* at, float* out, int64_t out_stride,
                   const uint8_t* const* pf) {
    __m512 acc[R][T];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : FirstLanes(n - i);
      __m512 xv[T];
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) xv[t] = _mm512_maskz_loadu_ps(m, at[t] + 4 * i);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        Prefetch(pf[r] + i * L::kBytes);
        const __m512 wv = L::Load(wr[r] + i * L::kBytes, m);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
      }
    }
    if constexpr (R == 4 && T == 4) {
      // All sixteen sums at once (the same bits as HsumPs512 each): lanes 4t..4t+3 are rows 0..3
      // of activation t.
      alignas(64) float sums[16];
      _mm512_store_ps(sums, Hsum16Ps512(&acc[0][0]));
#pragma GCC unroll 4
      for (int t = 0; t < 4; ++t) _mm_storeu_ps(out + t * out_stride, _mm_load_ps(sums + 4 * t));
    } else {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) out[t * out_stride + r] = HsumPs512(acc[r][t]);
    }
  }
};

// axpy_indexed by groups of G rows (tile_driver.h); per element y = fma(a[i], w, y), i ascending.
template <class L>
struct AxpyGroupF {
  template <int G>
  static void Apply(const uint8_t* const* wr, const float* a, int64_t n, float* y, const uint8_t* const* pf) {
    int64_t j = 0;
    for (; j + 32 <= n; j += 32) {
      __m512 acc0 = _mm512_loadu_ps(y + j), acc1 = _mm512_loadu_ps(y + j + 16);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        Prefetch(pf[g] + j * L::kBytes);
        const __m512 s = _mm512_set1_ps(a[g]);
        acc0 = _mm512_fmadd_ps(s, L::Load(wr[g] + j * L::kBytes, 0xFFFF), acc0);
        acc1 = _mm512_fmadd_ps(s, L::Load(wr[g] + (j + 16) * L::kBytes, 0xFFFF), acc1);
      }
      _mm512_storeu_ps(y + j, acc0);
      _mm512_storeu_ps(y + j + 16, acc1);
    }
    for (; j < n; j += 16) {
      const __mmask16 m = n - j >= 16 ? static_cast<__mmask16>(0xFFFF) : FirstLanes(n - j);
      __m512 acc = _mm512_maskz_loadu_ps(m, y + j);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) acc = _mm512_fmadd_ps(_mm512_set1_ps(a[g]), L::Load(wr[g] + j * L::kBytes, m), acc);
      _mm512_mask_storeu_ps(y + j, m, acc);
    }
  }
};

template <class L>
void DequantizeF(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : FirstLanes(n - i);
    _mm512_mask_storeu_ps(dst + i, m, L::Load(src + i * L::kBytes, m));
  }
}

// AxpyMultiBuffered's chunk operations (bit-compatible with AxpyGroupF: the loads are exact).
template <class L>
struct AxpyBufferF {
  static constexpr int64_t kBlock = 1, kBlockBytes = L::kBytes, kCols = 128, kSlab = 48;
  static void Dequant(const uint8_t* src, int64_t cols, float* dst) { DequantizeF<L>(src, cols, dst); }
  static int64_t Select(const float* a, int64_t n, int32_t* sel, float* coef, uint64_t* used) {
    return SelectNonZero512(a, n, sel, coef, used);
  }
  static void FmaRows(const float* buf, const int32_t* sel, const float* coef, int64_t count, int64_t cols, float* y) {
    FmaRows512<kCols>(buf, sel, coef, count, cols, y);
  }
};

template <class L>
void FillFloat(WeightKernels* k) {
  MatEntries<TileShape<FloatTiles<L>, 4, 1>, TileShape<FloatTiles<L>, 4, 4>>::Fill(k);
  AxpyEntriesBuffered<AxpyGroupF<L>, 4, AxpyBufferF<L>, 4>::Fill(k);
  k->dequantize = DequantizeF<L>;
}

float DotF32(const float* x, const float* y, int64_t n) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      acc[k] = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16 * k), _mm512_loadu_ps(y + i + 16 * k), acc[k]);
    }
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : FirstLanes(n - i);
    acc[0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), acc[0]);
  }
  return HsumPs512(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

void AxpyF32(const float* x, int64_t n, float a, float* y) {
  const __m512 av = _mm512_set1_ps(a);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : FirstLanes(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

struct Lane512 {
  using V = __m512;
  static V Set(float a) { return _mm512_set1_ps(a); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V Mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V Max(V x, V c) { return _mm512_max_ps(x, c); }  // c where x is NaN, as ScalarLane
  static V RoundEven(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V Pow2(V n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static V ZeroBelow(V x, V v) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(softmax::kMinArg), _CMP_NLT_UQ), v);
  }
};

struct Block16x512 {
  static void ExpAndSum(float* x, int64_t n, float mx, float* lanes) {
    __m512 acc = _mm512_load_ps(lanes);
    const __m512 m = _mm512_set1_ps(mx);
    for (int64_t i = 0; i < n; i += 16) {
      const __m512 e = softmax::Exp<Lane512>(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));
      _mm512_storeu_ps(x + i, e);
      acc = _mm512_add_ps(acc, e);
    }
    _mm512_store_ps(lanes, acc);
  }
};

}  // namespace

void FillAvx512Float(KernelTable* t) {
  t->softmax_f32 = softmax::Softmax<Block16x512>;
  FillFloat<F32Load>(&t->weights[static_cast<int>(GgmlType::kF32)]);
  FillFloat<F16Load>(&t->weights[static_cast<int>(GgmlType::kF16)]);
  FillFloat<BF16Load>(&t->weights[static_cast<int>(GgmlType::kBF16)]);
  t->dot_f32 = DotF32;
  t->axpy_f32 = AxpyF32;
}

}  // namespace st
