// AVX-512 (F/BW/DQ/VL, no VNNI) dots and axpy of the K-quants. See kquant_tiles512.h. Their
// dequantize entries stay the AVX2 ones.
#include "kernels/avx512/avx512_fill.h"
#include "kernels/avx512/kquant_tiles512.h"

namespace st {
namespace {

struct MaddOps {
  static __m512i MaddAdd(__m512i acc, __m512i p16, __m512i s16) {
    return _mm512_add_epi32(acc, _mm512_madd_epi16(p16, s16));
  }
};

}  // namespace

void FillAvx512KQuants(KernelTable* t) { FillKQuants512<MaddOps>(t); }

}  // namespace st
