// The kernel table: every hot loop of the engine, one function pointer per (operation, weight type),
// one table per instruction set. The scalar table is complete and is the specification; a SIMD
// table may leave an entry empty (nullptr) while it is filled, and the scalar entry is used instead,
// so every table returned by KernelTableFor is complete.
//
// Kernels are single-threaded over row ranges: the runtime owns threads and splits work by rows
// (or, for axpy_indexed, by block-aligned column ranges), so each output value is computed by one
// thread in a fixed order. Within one table an output value does not depend on how the work was
// split: out[r] is the same whichever rows share the call, and
//   gemv(rows = {r}) == gemv_indexed(rows = {r}) == gemm(token t) for the same activation, bit for bit.
// Across tables results agree up to float rounding (the integer block dots are exact).
//
// Activations are converted once per matmul input to the weight type's `act_type` (F32 for float
// weights, Q8_0 for Q4_0/Q8_0, Q8_K for the K-quants) with QuantizeActivation, then reused by every
// row. Activation quantization is bit-identical in every table.
//
// Pointers: weights and activations (`const void*` / `const uint8_t*`) may sit at any byte address
// (rows of 18-byte Q4_0 blocks are naturally misaligned); `float*` arguments need only the natural
// alignment of float, no vector alignment. `n` is the row length in elements and must be a multiple of the
// type's block size (32 for Q4_0/Q8_0, 256 for the K-quants, 1 for float types).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/ggml_type.h"

namespace st {

enum class Isa { kScalar, kAvx2, kAvx512, kAvx512Vnni, kNeon, kNeonDotprod };
inline constexpr int kIsaCount = 6;
const char* IsaName(Isa isa);

// out[r] = W[r] · act for r in [0, rows); row r starts at w + r * row_bytes. `act` is n elements of
// act_type.
using GemvFn = void (*)(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* act, float* out);
// out[i] = W[rows[i]] · act for i in [0, n_rows) (sparse up rows, the LM head's predicted rows).
using GemvIndexedFn = void (*)(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, int64_t n_rows, int64_t n,
                               const void* act, float* out);
// out[t * out_stride + r] = W[r] · act_t for r in [0, rows), t in [0, n_act), where act_t starts at
// acts + t * act_stride bytes (batched prefill: each weight block is loaded once for several tokens).
using GemmFn = void (*)(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* acts,
                        uint64_t act_stride, int64_t n_act, float* out, int64_t out_stride);
// y[0:n] += sum over i in [0, n_rows), in ascending i, of a[i] * dequant(W[rows[i]][0:n]); rows ==
// nullptr means rows[i] = i. The fused transposed-down step of sparse ReGLU (and the value
// accumulation of attention over an F16/F32 cache). Each y[j] sees its terms in ascending i, so a
// split of [0, n) into block-aligned column ranges gives the same bits.
using AxpyIndexedFn = void (*)(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, const float* a,
                               int64_t n_rows, int64_t n, float* y);
// y[0:n] += a * dequant(w_row[0:n]); the same bits as axpy_indexed with one row.
using AxpyFn = void (*)(const uint8_t* w_row, int64_t n, float a, float* y);
// axpy_indexed for several outputs sharing one matrix (a prefill batch's tokens of one expert, or
// queries attending over the same cached values): for t in [0, n_tok),
//   y[t][0:n] += sum over i in [0, n_rows), ascending, with a[t * a_stride + i] != 0, of
//                a[t * a_stride + i] * dequant(W[rows[i]][0:n])
// (rows == nullptr means rows[i] = i). Terms with a zero coefficient are skipped, so they contribute
// nothing whatever the row holds. Each row is dequantized once for all outputs where that pays.
// y[t] has the bits of axpy_indexed over the rows whose coefficient is not zero (so also whatever
// n_tok is and whatever the other outputs' coefficients are), and a split of [0, n) into
// block-aligned column ranges gives the same bits. The y[t] must not overlap.
using AxpyMultiFn = void (*)(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, int64_t n_rows, const float* a,
                             int64_t a_stride, int64_t n_tok, int64_t n, float* const* y);
// dst[0:n] = dequant(src[0:n]); exact (equal to DequantizeRowRef) in every table.
using DequantizeFn = void (*)(const uint8_t* src, int64_t n, float* dst);
// f32 -> activation or storage format, n elements (n % block size == 0).
using QuantizeFn = void (*)(const float* x, int64_t n, void* out);

struct WeightKernels {
  // Format the activation vector must be in (F32, Q8_0 or Q8_K); the same in every table.
  GgmlType act_type = GgmlType::kF32;
  GemvFn gemv = nullptr;
  GemvIndexedFn gemv_indexed = nullptr;
  GemmFn gemm = nullptr;
  AxpyIndexedFn axpy_indexed = nullptr;
  AxpyFn axpy = nullptr;
  AxpyMultiFn axpy_multi = nullptr;
  DequantizeFn dequantize = nullptr;
};

struct KernelTable {
  Isa isa = Isa::kScalar;
  WeightKernels weights[kGgmlTypeIdLimit];  // indexed by GgmlType id; complete for IsComputeType types
  // f32 -> Q8_0 (n % 32 == 0) and f32 -> Q8_K (n % 256 == 0), for activations; bit-identical to
  // QuantizeRowRef in every table.
  QuantizeFn quantize_q8_0 = nullptr;
  QuantizeFn quantize_q8_k = nullptr;
  // f32 -> fp16 (round to nearest even; `out` is uint16_t[n]), e.g. for storing the KV cache.
  // Bit-identical to FloatToHalf for every non-NaN input.
  QuantizeFn f32_to_f16 = nullptr;
  // sum_i x[i] * y[i] over f32 vectors (attention scores).
  float (*dot_f32)(const float* x, const float* y, int64_t n) = nullptr;
  // y[0:n] += a * x[0:n] over f32.
  void (*axpy_f32)(const float* x, int64_t n, float a, float* y) = nullptr;
  // Attention's softmax in place: x[i] = e_i / sum(e) with e_i = Exp(scale * x[i] - max), n >= 1,
  // where Exp is a fixed polynomial (kernels/softmax.h) and the sum runs in 16 float lanes (term i
  // in lane i % 16, ascending) added in double in lane order. Every table gives the same bits.
  void (*softmax_f32)(float* x, int64_t n, float scale) = nullptr;
};
// For an F16 KV cache, weights[F16] already has what attention needs: gemv over the cached key rows
// (row_bytes = the cache's row stride) gives all scores of a head, axpy_indexed with rows == nullptr
// accumulates the value rows, dequantize reads a row back.

// The table in use: chosen once from cpuid and OS support, or forced by the environment variable
// ST_KERNELS=scalar|avx2|avx512|avx512_vnni|neon|neon_dotprod (an unavailable choice is a fatal
// error that says so).
const KernelTable& Kernels();

// A specific table, or nullptr if this build or this CPU cannot run it. Missing SIMD entries are
// filled from the scalar table.
const KernelTable* KernelTableFor(Isa isa);

// Every instruction set this build and this CPU can run, scalar first, best last.
std::vector<Isa> AvailableIsas();

// The table ST_KERNELS names (or the best available when `forced` is null or empty). On an unknown
// or unavailable name returns nullptr and sets *error. Kernels() uses this once at start.
const KernelTable* SelectKernelTable(const char* forced, std::string* error);

// Bytes needed to hold an activation of n elements in `act_type`.
uint64_t ActivationBytes(GgmlType act_type, int64_t n);

// Converts an f32 activation to `act_type` (copy for F32) using `table`.
void QuantizeActivation(const KernelTable& table, GgmlType act_type, const float* x, int64_t n, void* out);

// Per-ISA table builders, each defined in its own source files compiled with that ISA's flags.
void FillScalarKernels(KernelTable* t);
void FillAvx2Kernels(KernelTable* t);
void FillAvx512Kernels(KernelTable* t, bool vnni);
void FillNeonKernels(KernelTable* t, bool dotprod);

}  // namespace st
