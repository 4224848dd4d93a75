// The parts of the AVX-512 tables, one per source file (internal to kernels/avx512). The AVX-512
// tables start from the AVX2 table (every AVX-512 CPU we select has AVX2) and replace entries.
#pragma once

#include "kernels/kernel_table.h"

namespace st {

void FillAvx512Float(KernelTable* t);    // avx512_float.cc: F32, F16, BF16, dot_f32, axpy_f32
void FillAvx512Q8(KernelTable* t);       // avx512_q8.cc: Q4_0, Q8_0 (no VNNI)
void FillAvx512KQuants(KernelTable* t);  // avx512_kquants.cc: Q4_K, Q5_K, Q6_K (no VNNI)
void FillAvx512Vnni(KernelTable* t);     // avx512_vnni.cc: the integer dots with vpdpbusd/vpdpwssd

}  // namespace st
