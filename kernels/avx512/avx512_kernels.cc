// AVX-512 (F/BW/DQ/VL, optionally VNNI) kernels. Compiled with -mavx512f -mavx512bw ...; only
// called when cpuid and xgetbv say so.
#include "kernels/kernel_table.h"

namespace st {

void FillAvx512Kernels(KernelTable* t, bool vnni) {
  (void)t;
  (void)vnni;
}

}  // namespace st
