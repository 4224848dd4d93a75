// Scalar reference conversions between f32 and every weight type the engine computes with.
// These are the specification the SIMD kernels are tested against, and what the model generator
// uses to write files. Rows are `n` elements, n a multiple of the type's block size.
#pragma once

#include <cstdint>

#include "kernels/ggml_type.h"

namespace st {

// dst = dequant(src), n elements.
void DequantizeRowRef(GgmlType type, const void* src, int64_t n, float* dst);

// dst = quant(src), n elements; writes RowBytes(type, n) bytes. Rounding as ggml's reference
// quantizers (Q8_0: d = amax/127, q = round(x/d); Q4_0: d = max/-8 with max the signed value of
// largest magnitude, q = min(15, trunc(x/d + 8.5))).
void QuantizeRowRef(GgmlType type, const float* src, int64_t n, void* dst);

// Element i of a row (for spot checks and the reference path); REQUIRES i < n of the row.
float DequantizeElementRef(GgmlType type, const void* row, int64_t i);

}  // namespace st
