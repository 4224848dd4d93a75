// AVX2 + FMA + F16C kernels. Compiled with -mavx2 -mfma -mf16c; only called when cpuid says so.
#include "kernels/kernel_table.h"

namespace st {

void FillAvx2Kernels(KernelTable* t) { (void)t; }

}  // namespace st
