// NEON kernel tables for AArch64: baseline Advanced SIMD, and the same plus the Armv8.2 dot
// product instructions.
#include "kernels/neon/neon_fill.h"

namespace st {

void FillNeonKernels(KernelTable* t, bool dotprod) {
  FillNeonFloat(t);
  FillNeonQ8(t);
  FillNeonKQuants(t);
  if (dotprod) FillNeonDotprod(t);
}

}  // namespace st
