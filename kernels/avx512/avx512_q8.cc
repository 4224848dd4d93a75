// AVX-512 (F/BW/DQ/VL, no VNNI) kernels of Q4_0 and Q8_0 weights. See q8_0_tile512.h.
#include "kernels/avx512/avx512_fill.h"
#include "kernels/avx512/q8_0_tile512.h"

namespace st {
namespace {

struct Q4_0Bw {
  static constexpr int kBlockBytes = 18;
  static constexpr bool kSplit = true;
  static __m512i Decode2(const uint8_t* b) { return DecodeQ4_0Pair(b, true); }
  static __m512i Decode1(const uint8_t* b) { return DecodeQ4_0Pair(b, false); }
  static __m512i Prep(__m512i act) {
    return _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_set1_epi8(8), act), _mm512_set1_epi16(1));
  }
  static __m512i Dot(__m512i w, __m512i act, __m512i prep) {
    return _mm512_sub_epi32(_mm512_madd_epi16(_mm512_maddubs_epi16(w, act), _mm512_set1_epi16(1)), prep);
  }
};

struct Q8_0Bw {
  static constexpr int kBlockBytes = 34;
  static constexpr bool kSplit = false;
  static __m512i Decode2(const uint8_t* b) { return DecodeQ8_0Pair(b, true); }
  static __m512i Decode1(const uint8_t* b) { return DecodeQ8_0Pair(b, false); }
  static __m512i Prep(__m512i act) { return act; }
  // |w| (as u8) times act with w's sign (no vpsignb at 512 bits: negate where w < 0).
  static __m512i Dot(__m512i w, __m512i act, __m512i) {
    const __mmask64 neg = _mm512_movepi8_mask(w);
    const __m512i sa = _mm512_mask_sub_epi8(act, neg, _mm512_setzero_si512(), act);
    return _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_abs_epi8(w), sa), _mm512_set1_epi16(1));
  }
};

template <class Ops>
using Entries = MatEntries<TileShape<Q8Tiles512<Ops>, 4, 1>, TileShape<Q8Tiles512<Ops>, 4, 4>>;

}  // namespace

void FillAvx512Q8(KernelTable* t) {
  WeightKernels& q4 = t->weights[static_cast<int>(GgmlType::kQ4_0)];
  Entries<Q4_0Bw>::Fill(&q4);
  AxpyEntriesBuffered<AxpyGroupQ512<BlockExactQ4_0, 18>, 4, AxpyBufferQ512<BlockExactQ4_0, 18>, 4>::Fill(&q4);

  WeightKernels& q8 = t->weights[static_cast<int>(GgmlType::kQ8_0)];
  Entries<Q8_0Bw>::Fill(&q8);
  AxpyEntriesBuffered<AxpyGroupQ512<BlockExactQ8_0, 34>, 4, AxpyBufferQ512<BlockExactQ8_0, 34>, 4>::Fill(&q8);
}

}  // namespace st
