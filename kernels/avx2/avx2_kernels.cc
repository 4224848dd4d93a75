// AVX2 + FMA + F16C kernel table. Its files are compiled with -mavx2 -mfma -mf16c and only called
// when cpuid and xgetbv say so.
#include "kernels/avx2/avx2_fill.h"

namespace st {

void FillAvx2Kernels(KernelTable* t) {
  FillAvx2Float(t);
  FillAvx2Q8(t);
  FillAvx2KQuants(t);
}

}  // namespace st
