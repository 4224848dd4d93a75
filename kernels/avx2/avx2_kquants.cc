// AVX2 kernels of the K-quants (Q4_K, Q5_K, Q6_K weights; Q8_K activations), after ggml's AVX2
// dots: per 64 weights, maddubs of the unsigned quants with the activations, madd with the
// sub-block scales; Q4_K/Q5_K mins against the activation bsums; Q6_K's -32 offset through bsums.
#include "kernels/avx2/avx2_fill.h"
#include "kernels/avx2/avx2_util.h"
#include "kernels/avx2/kquant_decode.h"

namespace st {
namespace {

// Broadcast of int16 element k of each 128-bit lane.
inline __m256i BroadcastI16(__m256i v, int k) {
  return _mm256_shuffle_epi8(v, _mm256_set1_epi16(static_cast<int16_t>(((2 * k + 1) << 8) | (2 * k))));
}

// ---- Q4_K / Q5_K ----

template <bool kQ5>
struct Q45KTiles {
  static constexpr int kBlockBytes = kQ5 ? 176 : 144;
  static constexpr int kQsOffset = kQ5 ? 48 : 16;

  template <int R, int T>
  static void Tile(const uint8_t* const* wr, int64_t n, const uint8_t* const* at, float* out, int64_t out_stride,
                   const uint8_t* const* pf) {
    __m256 acc[R][T];
    __m128 acc_m[R][T];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        acc[r][t] = _mm256_setzero_ps();
        acc_m[r][t] = _mm_setzero_ps();
      }
    }
    for (int64_t b = 0; b < n / 256; ++b) {
      float da[T];
      __m128i pairs[T];  // bsums of each 32-weight sub-block
      const uint8_t* q8[T];
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const uint8_t* ab = at[t] + b * kQ8KBytes;
        std::memcpy(&da[t], ab, 4);
        q8[t] = ab + 4;
        const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab + 260));
        pairs[t] = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
      }
      const uint8_t* blk[R];
      __m256i scales[R], qh[R];
      __m256i sumi[R][T];
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        blk[r] = wr[r] + b * kBlockBytes;
        for (int off = 0; off < kBlockBytes; off += 64) Prefetch(pf[r] + b * kBlockBytes + off);
        const __m256i ms = _mm256_cvtepu8_epi16(UnpackScalesMins(blk[r] + 4));
        const __m128i sc = _mm256_castsi256_si128(ms);
        scales[r] = _mm256_set_m128i(sc, sc);
        const __m128i mins = _mm256_extracti128_si256(ms, 1);
        const float dmin = LoadFp16(blk[r] + 2);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          const __m128 pm = _mm_cvtepi32_ps(_mm_madd_epi16(mins, pairs[t]));
          acc_m[r][t] = _mm_fmadd_ps(_mm_set1_ps(dmin * da[t]), pm, acc_m[r][t]);
          sumi[r][t] = _mm256_setzero_si256();
        }
        if constexpr (kQ5) qh[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[r] + 16));
      }
#pragma GCC unroll 16
      for (int c = 0; c < 4; ++c) {
        __m256i a_lo[T], a_hi[T];
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          a_lo[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8[t] + 64 * c));
          a_hi[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8[t] + 64 * c + 32));
        }
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[r] + kQsOffset + 32 * c));
          __m256i lo = _mm256_and_si256(q, _mm256_set1_epi8(0x0F));
          __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), _mm256_set1_epi8(0x0F));
          if constexpr (kQ5) {
            // bit 2c of qh[l] -> bit 4 of weight 64c+l; bit 2c+1 -> bit 4 of weight 64c+32+l.
            const __m256i h = qh[r];
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(0x01)), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(0x02)), 3));
            qh[r] = _mm256_srli_epi16(h, 2);  // bits of each byte only move down within the byte's reach
          }
          const __m256i sc_lo = BroadcastI16(scales[r], 2 * c);
          const __m256i sc_hi = BroadcastI16(scales[r], 2 * c + 1);
#pragma GCC unroll 16
          for (int t = 0; t < T; ++t) {
            const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, a_lo[t]), sc_lo);
            const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, a_hi[t]), sc_hi);
            sumi[r][t] = _mm256_add_epi32(sumi[r][t], _mm256_add_epi32(p_lo, p_hi));
          }
        }
      }
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const float d = LoadFp16(blk[r]);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(d * da[t]), _mm256_cvtepi32_ps(sumi[r][t]), acc[r][t]);
        }
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) out[t * out_stride + r] = HsumPs(acc[r][t]) - HsumPs128(acc_m[r][t]);
  }
};

// ---- Q6_K ----

struct Q6KTiles {
  static constexpr int kBlockBytes = 210;

  template <int R, int T>
  static void Tile(const uint8_t* const* wr, int64_t n, const uint8_t* const* at, float* out, int64_t out_stride,
                   const uint8_t* const* pf) {
    __m256 acc[R][T];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int64_t b = 0; b < n / 256; ++b) {
      float da[T];
      __m256i bsums[T];
      const uint8_t* q8[T];
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const uint8_t* ab = at[t] + b * kQ8KBytes;
        std::memcpy(&da[t], ab, 4);
        q8[t] = ab + 4;
        bsums[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab + 260));
      }
      const uint8_t* blk[R];
      __m128i sc8[R];
      __m256i sumi[R][T];
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        blk[r] = wr[r] + b * kBlockBytes;
        for (int off = 0; off < kBlockBytes; off += 64) Prefetch(pf[r] + b * kBlockBytes + off);
        sc8[r] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk[r] + 192));
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8[r]);
        // The quants are stored +32: subtract 32 * sum_s sc_s * bsums_s up front.
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          sumi[r][t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(sc16, bsums[t]), 5));
        }
      }
#pragma GCC unroll 16
      for (int h = 0; h < 2; ++h) {
#pragma GCC unroll 16
        for (int k = 0; k < 4; ++k) {
          __m256i a[T];
#pragma GCC unroll 16
          for (int t = 0; t < T; ++t) a[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8[t] + 128 * h + 32 * k));
          const int m = 4 * h + k;  // this 32-weight group is sub-blocks 2m and 2m+1
          const __m128i shuf = _mm_set_epi64x(0x0101010101010101LL * (2 * m + 1), 0x0101010101010101LL * (2 * m));
#pragma GCC unroll 16
          for (int r = 0; r < R; ++r) {
            const uint8_t* ql = blk[r] + 64 * h;
            const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32 * (k & 1)));
            const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[r] + 128 + 32 * h));
            __m256i q;
            switch (k) {
              case 0:
                q = _mm256_or_si256(_mm256_and_si256(bits, m4), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x03)), 4));
                break;
              case 1:
                q = _mm256_or_si256(_mm256_and_si256(bits, m4), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x0C)), 2));
                break;
              case 2:
                q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4), _mm256_and_si256(hb, _mm256_set1_epi8(0x30)));
                break;
              default:
                q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4),
                                    _mm256_and_si256(_mm256_srli_epi16(hb, 2), _mm256_set1_epi8(0x30)));
                break;
            }
            const __m256i sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8[r], shuf));
#pragma GCC unroll 16
            for (int t = 0; t < T; ++t) {
              sumi[r][t] = _mm256_add_epi32(sumi[r][t], _mm256_madd_epi16(_mm256_maddubs_epi16(q, a[t]), sc));
            }
          }
        }
      }
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const float d = LoadFp16(blk[r] + 208);
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(d * da[t]), _mm256_cvtepi32_ps(sumi[r][t]), acc[r][t]);
        }
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) out[t * out_stride + r] = HsumPs(acc[r][t]);
  }
};

// ---- dequantize and axpy: 64 weights (chunk c) at a time, see kquant_decode.h ----

inline __m256 U8ToF(__m128i v8) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v8)); }
inline __m256 I8ToF(__m128i v8) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v8)); }

// The 64 weights of chunk c as 8 vectors of 8 quants (floats; Q4_K/Q5_K unsigned, Q6_K signed).
template <GgmlType kType>
inline void ChunkF(const uint8_t* blk, int c, __m256 f[8]) {
  __m256i q[2];
  ChunkInts<kType>(blk, c, q);
#pragma GCC unroll 2
  for (int g = 0; g < 2; ++g) {
    const __m128i v0 = _mm256_castsi256_si128(q[g]), v1 = _mm256_extracti128_si256(q[g], 1);
    if constexpr (kType == GgmlType::kQ6_K) {
      f[4 * g + 0] = I8ToF(v0);
      f[4 * g + 1] = I8ToF(_mm_srli_si128(v0, 8));
      f[4 * g + 2] = I8ToF(v1);
      f[4 * g + 3] = I8ToF(_mm_srli_si128(v1, 8));
    } else {
      f[4 * g + 0] = U8ToF(v0);
      f[4 * g + 1] = U8ToF(_mm_srli_si128(v0, 8));
      f[4 * g + 2] = U8ToF(v1);
      f[4 * g + 3] = U8ToF(_mm_srli_si128(v1, 8));
    }
  }
}

// Exact: s * q - m with s = d*sc and m = dmin*mn rounded as the reference.
template <GgmlType kType, int kBlockBytes>
void DequantizeK(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t b = 0; b < n / 256; ++b) {
    const uint8_t* blk = src + b * kBlockBytes;
    float s[16], m[16];
    SubBlockScales<kType>(blk, 1.0f, s, m);
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      __m256 f[8];
      ChunkF<kType>(blk, c, f);
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) {
        const int j = SubBlockOf<kType>(c, 8 * v);
        const __m256 y = _mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(s[j]), f[v]), _mm256_set1_ps(m[j]));
        _mm256_storeu_ps(dst + 256 * b + 64 * c + 8 * v, y);
      }
    }
  }
}

// axpy_indexed by groups of G rows (tile_driver.h): per element y = y + fmsub(s, q, m) with
// s = (a*d)*sc and m = (a*dmin)*mn, rows in order.
template <GgmlType kType, int kBlockBytes>
struct AxpyGroupK {
  template <int G>
  static void Apply(const uint8_t* const* wr, const float* a, int64_t n, float* y, const uint8_t* const* pf) {
    for (int64_t b = 0; b < n / 256; ++b) {
      float s[G][16], m[G][16];
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
#pragma GCC unroll 4
        for (int off = 0; off < kBlockBytes; off += 64) Prefetch(pf[g] + b * kBlockBytes + off);
        SubBlockScales<kType>(wr[g] + b * kBlockBytes, a[g], s[g], m[g]);
      }
#pragma GCC unroll 1
      for (int c = 0; c < 4; ++c) {
        float* yc = y + 256 * b + 64 * c;
        __m256 acc[8];
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v) acc[v] = _mm256_loadu_ps(yc + 8 * v);
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) {
          __m256 f[8];
          ChunkF<kType>(wr[g] + b * kBlockBytes, c, f);
#pragma GCC unroll 8
          for (int v = 0; v < 8; ++v) {
            const int j = SubBlockOf<kType>(c, 8 * v);
            const __m256 t = _mm256_fmsub_ps(_mm256_set1_ps(s[g][j]), f[v], _mm256_set1_ps(m[g][j]));
            acc[v] = _mm256_add_ps(acc[v], t);
          }
        }
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v) _mm256_storeu_ps(yc + 8 * v, acc[v]);
      }
    }
  }
};

// ---- f32 -> Q8_K, bit-identical to QuantizeRowRef (ggml's quantize_row_q8_K_ref) ----

void QuantizeQ8_K(const float* x, int64_t n, void* out) {
  auto* o = static_cast<uint8_t*>(out);
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n / 256; ++b) {
    const float* xb = x + 256 * b;
    uint8_t* ob = o + b * kQ8KBytes;
    __m256 amax_v = _mm256_setzero_ps();
#pragma GCC unroll 16
    for (int k = 0; k < 32; ++k) amax_v = _mm256_max_ps(amax_v, _mm256_andnot_ps(sign_bit, _mm256_loadu_ps(xb + 8 * k)));
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax_v), _mm256_extractf128_ps(amax_v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float amax = _mm_cvtss_f32(m);
    if (amax == 0.0f) {
      std::memset(ob, 0, kQ8KBytes);
      continue;
    }
    // The signed value of the first element of largest magnitude, as the reference picks it.
    float max = 0.0f;
    const __m256 amax_b = _mm256_set1_ps(amax);
#pragma GCC unroll 16
    for (int k = 0; k < 32; ++k) {
      const __m256 v = _mm256_loadu_ps(xb + 8 * k);
      const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign_bit, v), amax_b, _CMP_EQ_OQ));
      if (mask != 0) {
        max = xb[8 * k + __builtin_ctz(static_cast<unsigned>(mask))];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 is = _mm256_set1_ps(iscale);
    int16_t bsums[16];
#pragma GCC unroll 16
    for (int g = 0; g < 8; ++g) {  // 32 weights per step
      __m256i q[4];
#pragma GCC unroll 16
      for (int k = 0; k < 4; ++k) {
        q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + 32 * g + 8 * k), is)),
                                _mm256_set1_epi32(127));
      }
      bsums[2 * g] = static_cast<int16_t>(HsumEpi32(_mm256_add_epi32(q[0], q[1])));
      bsums[2 * g + 1] = static_cast<int16_t>(HsumEpi32(_mm256_add_epi32(q[2], q[3])));
      const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
      const __m256i ordered = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(ob + 4 + 32 * g), ordered);
    }
    const float d = 1.0f / iscale;
    std::memcpy(ob, &d, 4);
    std::memcpy(ob + 260, bsums, 32);
  }
}

template <class Tiles, GgmlType kType, int R, int T>
void FillK(WeightKernels* k) {
  MatEntries<TileShape<Tiles, R, 1>, TileShape<Tiles, R, T>>::Fill(k);
  AxpyEntries<AxpyGroupK<kType, Tiles::kBlockBytes>, 4>::Fill(k);
  k->dequantize = DequantizeK<kType, Tiles::kBlockBytes>;
}

}  // namespace

void FillAvx2KQuants(KernelTable* t) {
  FillK<Q45KTiles<false>, GgmlType::kQ4_K, 2, 2>(&t->weights[static_cast<int>(GgmlType::kQ4_K)]);
  FillK<Q45KTiles<true>, GgmlType::kQ5_K, 2, 2>(&t->weights[static_cast<int>(GgmlType::kQ5_K)]);
  FillK<Q6KTiles, GgmlType::kQ6_K, 2, 2>(&t->weights[static_cast<int>(GgmlType::kQ6_K)]);
  t->quantize_q8_k = QuantizeQ8_K;
}

}  // namespace st
