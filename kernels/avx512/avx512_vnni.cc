// AVX-512 VNNI kernels: the integer dots of Q4_0 (q4_0_rows512.h) and Q8_0 (vpdpbusd), and the K-quants
// (vpdpwssd).
// Compiled with -mavx512vnni on top of the AVX-512 flags; only called when cpuid says VNNI.
#include "kernels/avx512/avx512_fill.h"
#include "kernels/avx512/kquant_tiles512.h"
#include "kernels/avx512/q4_0_rows512.h"
#include "kernels/avx512/q8_0_tile512.h"

namespace st {
namespace {

// Q8_0: (w + 128) as unsigned times activations, starting from -128 * (sum of each 4 activations).
struct Q8_0Vnni {
  static constexpr int kBlockBytes = 34;
  static constexpr bool kSplit = false;
  static __m512i Decode2(const uint8_t* b) {
    return _mm512_xor_si512(DecodeQ8_0Pair(b, true), _mm512_set1_epi8(static_cast<char>(0x80)));
  }
  // The missing block's lanes must decode to w = 0, i.e. 0x80 after the offset.
  static __m512i Decode1(const uint8_t* b) {
    return _mm512_xor_si512(DecodeQ8_0Pair(b, false), _mm512_set1_epi8(static_cast<char>(0x80)));
  }
  static __m512i Prep(__m512i act) {
    const __m512i s128 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(static_cast<char>(0x80)), act);
    return _mm512_sub_epi32(_mm512_setzero_si512(), s128);
  }
  static __m512i Dot(__m512i w, __m512i act, __m512i prep) { return _mm512_dpbusd_epi32(prep, w, act); }
};

template <class Ops>
using Entries = MatEntries<TileShape<Q8Tiles512<Ops>, 4, 1>, TileShape<Q8Tiles512<Ops>, 4, 4>>;

struct VnniOps {
  static __m512i MaddAdd(__m512i acc, __m512i p16, __m512i s16) { return _mm512_dpwssd_epi32(acc, p16, s16); }
};

}  // namespace

void FillAvx512Vnni(KernelTable* t) {
  Q4_0Rows512::Fill(&t->weights[static_cast<int>(GgmlType::kQ4_0)]);  // axpy: avx512_q8.cc
  Entries<Q8_0Vnni>::Fill(&t->weights[static_cast<int>(GgmlType::kQ8_0)]);
  FillKQuants512<VnniOps>(t);
}

}  // namespace st
