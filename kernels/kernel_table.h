// The kernel table: every hot loop of the engine, one function pointer per (operation, weight type),
// one table per instruction set. The scalar table is complete and is the specification; SIMD tables
// may leave an entry empty (nullptr), in which case the scalar entry is used.
//
// Kernels are single-threaded over row ranges: the runtime owns threads and splits work by rows, so
// each output value is computed by one thread in a fixed order (bit-identical for any thread count).
//
// Activations are converted once per matmul input to the weight type's `act_type` (F32 for float
// weights, Q8_0 for Q4_0/Q8_0) with QuantizeActivation, then reused by every row.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/ggml_type.h"

namespace st {

enum class Isa { kScalar, kAvx2, kAvx512, kAvx512Vnni, kNeon };
const char* IsaName(Isa isa);

struct WeightKernels {
  // Format the activation vector must be in (F32, or Q8_0 for the Q4_0/Q8_0 integer dots).
  GgmlType act_type = GgmlType::kF32;
  // out[r] = dot(W row r, act), r in [0, rows). Row r starts at w + r * row_bytes; rows hold n
  // elements. `act` is n elements of act_type.
  void (*gemv)(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* act,
               float* out) = nullptr;
  // y[0:n] += a * dequant(w_row[0:n]). The transposed-down step of sparse ReGLU.
  void (*axpy)(const uint8_t* w_row, int64_t n, float a, float* y) = nullptr;
  // dst[0:n] = dequant(src[0:n]).
  void (*dequantize)(const uint8_t* src, int64_t n, float* dst) = nullptr;
};

struct KernelTable {
  Isa isa = Isa::kScalar;
  WeightKernels weights[kGgmlTypeIdLimit];  // indexed by GgmlType id
  // f32 -> Q8_0 (n % 32 == 0), for activations.
  void (*quantize_q8_0)(const float* x, int64_t n, void* out) = nullptr;
  // sum_i x[i] * y[i] over f32 vectors (attention scores, value accumulation helpers).
  float (*dot_f32)(const float* x, const float* y, int64_t n) = nullptr;
  // y[0:n] += a * x[0:n] over f32.
  void (*axpy_f32)(const float* x, int64_t n, float a, float* y) = nullptr;
};

// The table in use: chosen once from cpuid and OS support, or forced by the environment variable
// ST_KERNELS=scalar|avx2|avx512|avx512_vnni|neon (an unavailable choice is a fatal error that says so).
const KernelTable& Kernels();

// A specific table, or nullptr if this build or this CPU cannot run it. Missing SIMD entries are
// filled from the scalar table.
const KernelTable* KernelTableFor(Isa isa);

// Every instruction set this build and this CPU can run, scalar first.
std::vector<Isa> AvailableIsas();

// Bytes needed to hold an activation of n elements in `act_type`.
uint64_t ActivationBytes(GgmlType act_type, int64_t n);

// Converts an f32 activation to `act_type` (copy for F32) using `table`.
void QuantizeActivation(const KernelTable& table, GgmlType act_type, const float* x, int64_t n, void* out);

// Per-ISA table builders, each defined in its own source file compiled with that ISA's flags.
void FillScalarKernels(KernelTable* t);
void FillAvx2Kernels(KernelTable* t);
void FillAvx512Kernels(KernelTable* t, bool vnni);
void FillNeonKernels(KernelTable* t);

}  // namespace st
