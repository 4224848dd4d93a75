// Q4_0 weights against Q8_0 activations with AVX-512 VNNI, one output row per 32-bit lane. Included
// by avx512_vnni.cc only (vpdpbusd).
//
// Per (row, activation) the value is the same in gemv, gemv_indexed and gemm, bit for bit:
//   isum_b = the exact integer dot of block b, sum over its 32 weights of (q - 8) * a
//   A_{b mod 2} = fma(float(isum_b), d_w,b * d_a,b, A_{b mod 2})   for b ascending, from A = +0
//   out = A_0 + A_1
// (Two accumulators, so that a token's consecutive blocks do not wait on each other.)
//
// gemm repacks 16 rows at a time so that each lane of a register is one row: per block, 8 registers
// of nibbles (32-bit lane i = 4 weights of row i) and one of row scales, loaded once and used for up
// to 8 activations, each contributing broadcast 4-byte groups (vpdpbusd with {1to16}). Every lane
// is then a complete output: no horizontal sums, one cvt + mul + fma per block for 16 rows.
// gemv has one activation, so it keeps rows in registers instead: 4 rows x 4 blocks per step, the
// partial dots of each block reduced across lanes (exact integers) before the same float steps.
#pragma once

#include <cstdlib>

#include "kernels/avx512/avx512_util.h"

namespace st {
namespace {

struct Q4_0Rows512 {
  static constexpr int kWBytes = 18;  // a Q4_0 block
  static constexpr int kABytes = 34;  // a Q8_0 block

  static int32_t LoadI32(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  // Bytes of a group of `nblk` (1..4) blocks as a mask of 64 bytes (a full group is 72 bytes: the
  // 64-byte loads of a full group never leave it).
  static __mmask64 GroupMask(int nblk) {
    return nblk >= 4 ? ~static_cast<__mmask64>(0) : (static_cast<__mmask64>(1) << (kWBytes * nblk)) - 1;
  }

  // ---------------------------------------------------------------- gemv: 4 rows x 4 blocks

  // One activation's blocks 4g..4g+3, block 4g+k in 128-bit segment k; missing blocks are zero.
  struct ActGroup {
    __m512i lo, hi;  // a.qs[0..15], a.qs[16..31]
    __m512i prep;    // lane (k, j): -8 * (sum of the lo and hi bytes of 32-bit group j)
    __m512 da;       // d_a of each segment's block, in its 4 lanes
  };

  static ActGroup MakeActGroup(const uint8_t* a, int nblk) {
    __m128i l[4], h[4];
    alignas(16) uint16_t dh[8] = {0, 0, 0, 0, 0, 0, 0, 0};
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      if (k < nblk) {
        l[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + k * kABytes + 2));
        h[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + k * kABytes + 18));
        dh[k] = LoadU16(a + k * kABytes);
      } else {
        l[k] = h[k] = _mm_setzero_si128();
      }
    }
    ActGroup g;
    g.lo = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_inserti32x4(_mm512_castsi128_si512(l[0]), l[1], 1), l[2], 2),
                              l[3], 3);
    g.hi = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_inserti32x4(_mm512_castsi128_si512(h[0]), h[1], 1), h[2], 2),
                              h[3], 3);
    const __m512i eight = _mm512_set1_epi8(8);
    const __m512i s8 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, g.lo), eight, g.hi);
    g.prep = _mm512_sub_epi32(_mm512_setzero_si512(), s8);
    const __m128 d4 = _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(dh)));
    g.da = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
                                 _mm512_castps128_ps512(d4));
    return g;
  }

  // The 16 nibble bytes of blocks 4g..4g+3 of one row (p = the group's first block), block k in
  // segment k; missing blocks are zero.
  static __m512i LoadQs(const uint8_t* p, int nblk) {
    if (nblk >= 4) {
      __m512i z = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2)));
      z = _mm512_inserti32x4(z, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 20)), 1);
      z = _mm512_inserti32x4(z, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 38)), 2);
      return _mm512_inserti32x4(z, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 56)), 3);
    }
    __m512i z = _mm512_setzero_si512();
    if (nblk > 0) z = _mm512_inserti32x4(z, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2)), 0);
    if (nblk > 1) z = _mm512_inserti32x4(z, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 20)), 1);
    if (nblk > 2) z = _mm512_inserti32x4(z, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 38)), 2);
    return z;
  }

  // Lane (k, j) = partial dot of 32-bit group j of block k (exact; the 4 lanes of a segment sum to
  // the block's integer dot).
  static __m512i RowDot(__m512i q, const ActGroup& a) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i lo = _mm512_and_si512(q, m4);
    const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(a.prep, lo, a.lo), hi, a.hi);
  }

  // Four rows' lanes (k, j) -> lane (k, m) = sum over j of row m's lanes (k, j).
  static __m512i Reduce4(__m512i r0, __m512i r1, __m512i r2, __m512i r3) {
    const __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(r0, r1), _mm512_unpackhi_epi32(r0, r1));
    const __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(r2, r3), _mm512_unpackhi_epi32(r2, r3));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
  }

  // Lane (k, m) = d_w of block k of row m (0 for missing blocks). The scale of block k sits at
  // 16-bit word 9k of the group.
  static __m512 RowScales4(const uint8_t* p0, const uint8_t* p1, const uint8_t* p2, const uint8_t* p3, __mmask64 m) {
    const __m512i l0 = _mm512_maskz_loadu_epi8(m, p0), l1 = _mm512_maskz_loadu_epi8(m, p1);
    const __m512i l2 = _mm512_maskz_loadu_epi8(m, p2), l3 = _mm512_maskz_loadu_epi8(m, p3);
    // words 2k + i = d of block k of the pair's row i
    const __m512i pick = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                          0, 0, 0, 0, 0, 0, 0, 0, 59, 27, 50, 18, 41, 9, 32, 0);
    const __m512i p01 = _mm512_permutex2var_epi16(l0, pick, l1);
    const __m512i p23 = _mm512_permutex2var_epi16(l2, pick, l3);
    const __m512i both = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i h = _mm512_permutex2var_epi32(p01, both, p23);
    return _mm512_cvtph_ps(_mm512_castsi512_si256(h));
  }

  static constexpr int kMaxStackGroups = 32;  // activations of up to 4096 columns prepared once per call

  // Rows r[0..3] (`valid` of them real; the others repeat a real row) against one activation.
  static void Rows4(const uint8_t* const* r, const uint8_t* const* pf, int64_t nb, const ActGroup* groups,
                    const uint8_t* act, float* out, int valid) {
    __m256 acc = _mm256_setzero_ps();  // lanes 0..3: A_0 of rows 0..3; lanes 4..7: A_1
    for (int64_t b = 0; b < nb; b += 4) {
      const int nblk = nb - b >= 4 ? 4 : static_cast<int>(nb - b);
      const ActGroup a = groups != nullptr ? groups[b / 4] : MakeActGroup(act + b * kABytes, nblk);
      const int64_t off = b * kWBytes;
#pragma GCC unroll 4
      for (int m = 0; m < 4; ++m) {
        Prefetch(pf[m] + off);
        Prefetch(pf[m] + off + 64);
      }
      const __m512i d = Reduce4(RowDot(LoadQs(r[0] + off, nblk), a), RowDot(LoadQs(r[1] + off, nblk), a),
                                RowDot(LoadQs(r[2] + off, nblk), a), RowDot(LoadQs(r[3] + off, nblk), a));
      const __m512 p = _mm512_cvtepi32_ps(d);
      const __m512 s = _mm512_mul_ps(RowScales4(r[0] + off, r[1] + off, r[2] + off, r[3] + off, GroupMask(nblk)), a.da);
      // blocks b, b+1 (segments 0, 1) then b+2, b+3 (segments 2, 3): A_0 and A_1 in block order
      acc = _mm256_fmadd_ps(_mm512_castps512_ps256(p), _mm512_castps512_ps256(s), acc);
      acc = _mm256_fmadd_ps(_mm512_extractf32x8_ps(p, 1), _mm512_extractf32x8_ps(s, 1), acc);
    }
    const __m128 v = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    _mm_mask_storeu_ps(out, static_cast<__mmask8>((1u << valid) - 1u), v);
  }

  // out[i] = W[row i] · act for i in [0, rows); row i is idx[i] (or i when idx is null).
  static void GemvRows(const uint8_t* w, uint64_t row_bytes, const int32_t* idx, int64_t rows, int64_t n,
                       const uint8_t* act, float* out) {
    const int64_t nb = n / 32;
    ActGroup stack[kMaxStackGroups];
    const ActGroup* groups = nullptr;
    if ((nb + 3) / 4 <= kMaxStackGroups) {
      for (int64_t b = 0; b < nb; b += 4) {
        stack[b / 4] = MakeActGroup(act + b * kABytes, nb - b >= 4 ? 4 : static_cast<int>(nb - b));
      }
      groups = stack;
    }
    auto row_ptr = [&](int64_t i) { return w + RowOffset(idx != nullptr ? idx[i] : i, row_bytes); };
    for (int64_t i = 0; i < rows; i += 4) {
      const int valid = rows - i >= 4 ? 4 : static_cast<int>(rows - i);
      const uint8_t* r[4];
      const uint8_t* pf[4];
      for (int m = 0; m < 4; ++m) {
        r[m] = row_ptr(i + (m < valid ? m : valid - 1));
        pf[m] = row_ptr(i + 4 + m < rows ? i + 4 + m : rows - 1);
      }
      Rows4(r, pf, nb, groups, act, out + i, valid);
    }
  }

  static void Gemv(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* act, float* out) {
    GemvRows(w, row_bytes, nullptr, rows, n, static_cast<const uint8_t*>(act), out);
  }
  static void GemvIndexed(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, int64_t n_rows, int64_t n,
                          const void* act, float* out) {
    GemvRows(w, row_bytes, rows, n_rows, n, static_cast<const uint8_t*>(act), out);
  }

  // ---------------------------------------------------------------- gemm: 16-row panels

  // A packed block: nibbles lo (weights 4j..4j+3 of every row, j = 0..3), hi (16+4j..), row scales.
  static constexpr int kPackedBlockVecs = 9;
  static constexpr int64_t kMaxPanelBlocks = 512;  // longer rows (n > 16384) go token by token
  static constexpr int64_t kMinGemmActs = 2;       // fewer activations: gemv per activation

  // Rows r[0..15] (repeats allowed) as packed blocks, block b at out + 9b.
  static void PackPanel(const uint8_t* const* r, int64_t nb, __m512i* out) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t off = b * kWBytes + 2;
      __m512i z[4];  // z[k] segment s = row 4s + k
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r[k] + off)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[4 + k] + off)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[8 + k] + off)), 2);
        z[k] = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[12 + k] + off)), 3);
      }
      const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
      const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
      const __m512i u[4] = {_mm512_unpacklo_epi64(t0, t2), _mm512_unpackhi_epi64(t0, t2),
                            _mm512_unpacklo_epi64(t1, t3), _mm512_unpackhi_epi64(t1, t3)};  // lane i = row i
      __m512i* o = out + b * kPackedBlockVecs;
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        _mm512_store_si512(o + j, _mm512_and_si512(u[j], m4));
        _mm512_store_si512(o + 4 + j, _mm512_and_si512(_mm512_srli_epi16(u[j], 4), m4));
      }
    }
    // Scales, 4 blocks at a time: RowScales4 per 4 rows, then a 4x4 transpose of 128-bit segments.
    for (int64_t b = 0; b < nb; b += 4) {
      const int nblk = nb - b >= 4 ? 4 : static_cast<int>(nb - b);
      const __mmask64 m = GroupMask(nblk);
      const int64_t off = b * kWBytes;
      __m512 s[4];
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) {
        s[q] = RowScales4(r[4 * q] + off, r[4 * q + 1] + off, r[4 * q + 2] + off, r[4 * q + 3] + off, m);
      }
      const __m512 t0 = _mm512_shuffle_f32x4(s[0], s[1], 0x44), t1 = _mm512_shuffle_f32x4(s[0], s[1], 0xEE);
      const __m512 t2 = _mm512_shuffle_f32x4(s[2], s[3], 0x44), t3 = _mm512_shuffle_f32x4(s[2], s[3], 0xEE);
      const __m512 d[4] = {_mm512_shuffle_f32x4(t0, t2, 0x88), _mm512_shuffle_f32x4(t0, t2, 0xDD),
                           _mm512_shuffle_f32x4(t1, t3, 0x88), _mm512_shuffle_f32x4(t1, t3, 0xDD)};
#pragma GCC unroll 4
      for (int k = 0; k < nblk; ++k) {
        _mm512_store_ps(reinterpret_cast<float*>(out + (b + k) * kPackedBlockVecs + 8), d[k]);
      }
    }
  }

  // T activations against a packed panel; out[t] gets the panel's `valid` rows. With `pf`, touches
  // the next panel's 16 rows (pf[i]) as it goes, so they arrive while this panel computes.
  template <int T>
  static void PanelTile(const __m512i* pk, int64_t nb, const uint8_t* const* at, const int32_t* const* prep,
                        const float* const* da, float* const* out, __mmask16 valid, const uint8_t* const* pf) {
    __m512 acc[T][2];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm512_setzero_ps();
    auto step = [&](int64_t b, int k) __attribute__((always_inline)) {
      const __m512i* o = pk + b * kPackedBlockVecs;
      __m512i wv[8];
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) wv[j] = _mm512_load_si512(o + j);
      const __m512 dw = _mm512_load_ps(reinterpret_cast<const float*>(o + 8));
      if (pf != nullptr && b % 3 == 0) {  // 54 bytes apart: every 64-byte line gets a touch
#pragma GCC unroll 16
        for (int i = 0; i < 16; ++i) Prefetch(pf[i] + b * kWBytes);
      }
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const uint8_t* q = at[t] + b * kABytes + 2;
        __m512i s = _mm512_set1_epi32(prep[t][b]);
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) s = _mm512_dpbusd_epi32(s, wv[j], _mm512_set1_epi32(LoadI32(q + 4 * j)));
        acc[t][k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(da[t][b])), acc[t][k]);
      }
    };
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      step(b, 0);
      step(b + 1, 1);
    }
    if (b < nb) step(b, 0);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(out[t], valid, _mm512_add_ps(acc[t][0], acc[t][1]));
  }

  template <int T>
  static void PanelTokens(const __m512i* pk, int64_t nb, const uint8_t* acts, uint64_t act_stride, const int32_t* prep,
                          const float* da, int64_t t0, float* out, int64_t out_stride, __mmask16 valid,
                          const uint8_t* const* pf) {
    const uint8_t* at[T];
    const int32_t* pp[T];
    const float* dd[T];
    float* oo[T];
    for (int j = 0; j < T; ++j) {
      at[j] = acts + (t0 + j) * act_stride;
      pp[j] = prep + (t0 + j) * nb;
      dd[j] = da + (t0 + j) * nb;
      oo[j] = out + (t0 + j) * out_stride;
    }
    PanelTile<T>(pk, nb, at, pp, dd, oo, valid, pf);
  }

  static void Gemm(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* acts,
                   uint64_t act_stride, int64_t n_act, float* out, int64_t out_stride) {
    const auto* a8 = static_cast<const uint8_t*>(acts);
    const int64_t nb = n / 32;
    void* mem = nullptr;
    const uint64_t pack_bytes = static_cast<uint64_t>(nb) * kPackedBlockVecs * 64;
    // aligned_alloc wants a multiple of the alignment
    const uint64_t tok_bytes = (static_cast<uint64_t>(n_act) * nb * 8 + 63) / 64 * 64;
    if (n_act >= kMinGemmActs && nb <= kMaxPanelBlocks && rows > 0) {
      mem = std::aligned_alloc(64, pack_bytes + tok_bytes);
    }
    if (mem == nullptr) {  // the same value per (row, activation), one activation at a time
      for (int64_t t = 0; t < n_act; ++t) {
        GemvRows(w, row_bytes, nullptr, rows, n, a8 + t * act_stride, out + t * out_stride);
      }
      return;
    }
    auto* pk = static_cast<__m512i*>(mem);
    auto* prep = reinterpret_cast<int32_t*>(static_cast<uint8_t*>(mem) + pack_bytes);
    float* da = reinterpret_cast<float*>(prep + n_act * nb);
    // Per (activation, block): -8 * (sum of its 32 quants) and its scale.
    const __m256i eight = _mm256_set1_epi8(8);
    for (int64_t t = 0; t < n_act; ++t) {
      const uint8_t* a = a8 + t * act_stride;
      for (int64_t b = 0; b < nb; ++b) {
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + b * kABytes + 2));
        prep[t * nb + b] = -HsumEpi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), eight, q));
        da[t * nb + b] = LoadFp16(a + b * kABytes);
      }
    }
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
      const int valid = rows - r0 >= 16 ? 16 : static_cast<int>(rows - r0);
      const uint8_t* r[16];
      const uint8_t* next[16];
      for (int i = 0; i < 16; ++i) {
        r[i] = w + RowOffset(r0 + (i < valid ? i : valid - 1), row_bytes);
        next[i] = w + RowOffset(r0 + 16 + i < rows ? r0 + 16 + i : rows - 1, row_bytes);
      }
      PackPanel(r, nb, pk);
      const __mmask16 vm = static_cast<__mmask16>((1u << valid) - 1u);
      float* o = out + r0;
      const uint8_t* const* pf = r0 + 16 < rows ? next : nullptr;  // with the first tile of activations
      int64_t t = 0;
      for (; t + 8 <= n_act; t += 8, pf = nullptr) {
        PanelTokens<8>(pk, nb, a8, act_stride, prep, da, t, o, out_stride, vm, pf);
      }
      switch (n_act - t) {
        case 7: PanelTokens<7>(pk, nb, a8, act_stride, prep, da, t, o, out_stride, vm, pf); break;
        case 6: PanelTokens<6>(pk, nb, a8, act_stride, prep, da, t, o, out_stride, vm, pf); break;
        case 5: PanelTokens<5>(pk, nb, a8, act_stride, prep, da, t, o, out_stride, vm, pf); break;
        case 4: PanelTokens<4>(pk, nb, a8, act_stride, prep, da, t, o, out_stride, vm, pf); break;
        case 3: PanelTokens<3>(pk, nb, a8, act_stride, prep, da, t, o, out_stride, vm, pf); break;
        case 2: PanelTokens<2>(pk, nb, a8, act_stride, prep, da, t, o, out_stride, vm, pf); break;
        case 1: PanelTokens<1>(pk, nb, a8, act_stride, prep, da, t, o, out_stride, vm, pf); break;
        default: break;
      }
    }
    std::free(mem);
  }

  static void Fill(WeightKernels* k) {
    k->gemv = Gemv;
    k->gemv_indexed = GemvIndexed;
    k->gemm = Gemm;
  }
};

}  // namespace
}  // namespace st
