// AVX-512 kernel tables: F/BW/DQ/VL, and the same plus VNNI. Their files are compiled with the
// AVX-512 flags (avx512_vnni.cc also with -mavx512vnni) and only called when cpuid and xgetbv say so.
#include "kernels/avx2/avx2_fill.h"
#include "kernels/avx512/avx512_fill.h"

namespace st {

void FillAvx512Kernels(KernelTable* t, bool vnni) {
  FillAvx2Kernels(t);  // entries without an AVX-512 version
  FillAvx512Float(t);
  FillAvx512Q8(t);
  FillAvx512KQuants(t);
  if (vnni) FillAvx512Vnni(t);
}

}  // namespace st
