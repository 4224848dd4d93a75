// NEON kernels for AArch64.
#include "kernels/kernel_table.h"

namespace st {

void FillNeonKernels(KernelTable* t) { (void)t; }

}  // namespace st
