// The parts of the AVX2 table, one per source file (internal to kernels/avx2).
#pragma once

#include "kernels/kernel_table.h"

namespace st {

void FillAvx2Float(KernelTable* t);    // avx2_float.cc: F32, F16, BF16, dot_f32, axpy_f32, f32_to_f16
void FillAvx2Q8(KernelTable* t);       // avx2_q8.cc: Q4_0, Q8_0, quantize_q8_0
void FillAvx2KQuants(KernelTable* t);  // avx2_kquants.cc: Q4_K, Q5_K, Q6_K, quantize_q8_k

}  // namespace st
