// Internal to kernels/scalar: the row-dot functions of each weight type and the generic drivers
// that turn a row dot into the table's entries. Plain C++, no intrinsics.
#pragma once

#include <cstdint>

#include "kernels/ggml_type.h"
#include "kernels/quantize.h"

namespace st::scalar {

// W_row · act for one row of n elements; `act` is n elements of the type's act_type.
using RowDotFn = float (*)(const uint8_t* row, int64_t n, const void* act);

float DotQ4_K(const uint8_t* row, int64_t n, const void* act);  // act: Q8_K
float DotQ5_K(const uint8_t* row, int64_t n, const void* act);  // act: Q8_K
float DotQ6_K(const uint8_t* row, int64_t n, const void* act);  // act: Q8_K

template <RowDotFn kDot>
void Gemv(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* act, float* out) {
  for (int64_t r = 0; r < rows; ++r) out[r] = kDot(w + static_cast<uint64_t>(r) * row_bytes, n, act);
}

template <RowDotFn kDot>
void GemvIndexed(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, int64_t n_rows, int64_t n,
                 const void* act, float* out) {
  for (int64_t i = 0; i < n_rows; ++i) out[i] = kDot(w + static_cast<uint64_t>(rows[i]) * row_bytes, n, act);
}

template <RowDotFn kDot>
void Gemm(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* acts, uint64_t act_stride,
          int64_t n_act, float* out, int64_t out_stride) {
  for (int64_t t = 0; t < n_act; ++t) {
    const void* act = static_cast<const uint8_t*>(acts) + static_cast<uint64_t>(t) * act_stride;
    Gemv<kDot>(w, row_bytes, rows, n, act, out + t * out_stride);
  }
}

// y[j] += a[i] * dequant(W[rows[i]])[j], i ascending, through a 256-element dequantized chunk.
template <GgmlType kType>
void AxpyIndexed(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, const float* a, int64_t n_rows,
                 int64_t n, float* y) {
  constexpr int64_t kChunk = 256;  // a multiple of every block size
  float tmp[kChunk];
  for (int64_t i = 0; i < n_rows; ++i) {
    const uint8_t* row = w + static_cast<uint64_t>(rows != nullptr ? rows[i] : i) * row_bytes;
    for (int64_t c = 0; c < n; c += kChunk) {
      const int64_t len = n - c < kChunk ? n - c : kChunk;
      DequantizeRowRef(kType, row + RowBytes(kType, static_cast<uint64_t>(c)), len, tmp);
      for (int64_t j = 0; j < len; ++j) y[c + j] += a[i] * tmp[j];
    }
  }
}

// Token by token, each as AxpyIndexed over its rows with a non-zero coefficient.
template <GgmlType kType>
void AxpyMulti(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, int64_t n_rows, const float* a,
               int64_t a_stride, int64_t n_tok, int64_t n, float* const* y) {
  for (int64_t t = 0; t < n_tok; ++t) {
    const float* at = a + t * a_stride;
    for (int64_t i = 0; i < n_rows; ++i) {
      if (at[i] == 0.0f) continue;
      const int32_t row = rows != nullptr ? rows[i] : static_cast<int32_t>(i);
      AxpyIndexed<kType>(w, row_bytes, &row, at + i, 1, n, y[t]);
    }
  }
}

template <GgmlType kType>
void Axpy(const uint8_t* w_row, int64_t n, float a, float* y) {
  AxpyIndexed<kType>(w_row, 0, nullptr, &a, 1, n, y);
}

template <GgmlType kType>
void Dequantize(const uint8_t* src, int64_t n, float* dst) {
  DequantizeRowRef(kType, src, n, dst);
}

}  // namespace st::scalar
