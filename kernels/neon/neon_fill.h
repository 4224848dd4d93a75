// The parts of the NEON table, one per source file (internal to kernels/neon).
#pragma once

#include "kernels/kernel_table.h"

namespace st {

void FillNeonFloat(KernelTable* t);    // neon_float.cc: F32, F16, BF16, dot_f32, axpy_f32, f32_to_f16
void FillNeonQ8(KernelTable* t);       // neon_q8.cc: Q4_0, Q8_0, quantize_q8_0
void FillNeonKQuants(KernelTable* t);  // neon_kquants.cc: Q4_K, Q5_K, Q6_K, quantize_q8_k
void FillNeonDotprod(KernelTable* t);  // neon_dotprod.cc: the integer dots with sdot

}  // namespace st
