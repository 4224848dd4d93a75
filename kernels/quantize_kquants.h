// K-quant halves of quantize.cc (internal to kernels/): reference quantize/dequantize of one
// 256-weight super-block.
#pragma once

#include <cstdint>

namespace st {

void QuantizeBlockQ4_K(const float* x, void* block);
void QuantizeBlockQ5_K(const float* x, void* block);
void QuantizeBlockQ6_K(const float* x, void* block);
void QuantizeBlockQ8_K(const float* x, void* block);

void DequantizeBlockQ4_K(const void* block, float* y);
void DequantizeBlockQ5_K(const void* block, float* y);
void DequantizeBlockQ6_K(const void* block, float* y);
void DequantizeBlockQ8_K(const void* block, float* y);

// ggml's nearest_int: round to nearest, ties to even, for |x| < 2^22.
inline int NearestInt(float x) {
  const float v = x + 12582912.0f;
  int32_t i;
  __builtin_memcpy(&i, &v, 4);
  return (i & 0x007fffff) - 0x00400000;
}

}  // namespace st
