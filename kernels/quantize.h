// Scalar reference conversions between f32 and every weight type the engine computes with.
// These are the specification the SIMD kernels are tested against, and what the model generator
// uses to write files. Rows are `n` elements, n a multiple of the type's block size.
#pragma once

#include <cstdint>

#include "kernels/ggml_type.h"

namespace st {

// dst = dequant(src), n elements. Types: f32, f16, bf16, q4_0, q8_0, q4_k, q5_k, q6_k, q8_k.
void DequantizeRowRef(GgmlType type, const void* src, int64_t n, float* dst);

// dst = quant(src), n elements; writes RowBytes(type, n) bytes.
//
// Q8_0 and Q4_0 round as ggml's reference quantizers (Q8_0: d = amax/127, q = round(x/d), ties
// away from zero; Q4_0: d = max/-8 with max the signed value of largest magnitude,
// q = min(15, trunc(x/d + 8.5))). Q8_K is ggml's quantize_row_q8_K_ref exactly (d = max/-127 with
// max the signed value of largest magnitude, q = nearest-even(x/d) capped at 127, bsums).
//
// The weight K-quants (Q4_K, Q5_K, Q6_K) write blocks bit-compatible with ggml but choose scales
// more simply than ggml's search-based quantizers (make_qkx2_quants / make_qx_quants):
//   Q4_K/Q5_K: per 32-weight sub-block, min = min(0, min x), scale = (max x - min) / (2^b - 1);
//              the 8 scales and 8 mins are quantized to 6 bits against d = max scale / 63 and
//              dmin = max min / 63; q = clamp(round((x + dmin*m) / (d*sc)), 0, 2^b - 1).
//   Q6_K:      per 16-weight sub-block, s = (signed value of largest magnitude) / -32; the 16
//              scales are quantized to int8 against d = (largest-magnitude s) / -128;
//              q = clamp(round(x / (d*sc)), -32, 31).
// The error is at most about half a quantization step plus the 6-/8-bit scale rounding, somewhat
// above ggml's (which searches for the scale/min pair minimizing the squared error).
void QuantizeRowRef(GgmlType type, const float* src, int64_t n, void* dst);

// Element i of a row (for spot checks and the reference path); REQUIRES i < n of the row.
float DequantizeElementRef(GgmlType type, const void* row, int64_t i);

}  // namespace st
