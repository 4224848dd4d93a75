// The row drivers every SIMD file shares: they cut gemv / gemv_indexed / gemm into tiles of R rows
// x T activations and hand each tile to a kernel class. Architecture-neutral; internal linkage
// (anonymous namespace), because each including file is compiled with its own instruction-set flags
// and an inline function with external linkage could be merged across them.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace st {
namespace {

inline uint64_t RowOffset(int64_t row, uint64_t row_bytes) { return static_cast<uint64_t>(row) * row_bytes; }

// A tile kernel computes R rows x T activations at once and must compute each (row, activation)
// pair with the same operations whatever R and T are, so the drivers may cut the work into tiles
// freely:
//
//   template <int R, int T>
//   static void Tile(const uint8_t* const* rows /*[R]*/, int64_t n, const uint8_t* const* acts /*[T]*/,
//                    float* out, int64_t out_stride,      // out[t * out_stride + r]
//                    const uint8_t* const* prefetch);     // [R] rows to prefetch alongside
//
// `prefetch` names the rows of the next tile (the last tile's own rows at the end; never null): the
// kernel touches them at the offsets it is reading in its own rows, so the next tile's weights
// arrive while this one computes (the hardware prefetchers alone leave a cold gemv latency-bound at
// a fraction of the memory bandwidth).
//
// TileShape names the tile a driver uses for a kernel class.
template <class Kernel, int R, int T>
struct TileShape {
  static constexpr int kRows = R;
  static constexpr int kActs = T;
  template <int R2, int T2>
  static void Tile(const uint8_t* const* rows, int64_t n, const uint8_t* const* acts, float* out, int64_t out_stride,
                   const uint8_t* const* prefetch) {
    Kernel::template Tile<R2, T2>(rows, n, acts, out, out_stride, prefetch);
  }
};

inline void Prefetch(const uint8_t* p) { __builtin_prefetch(p, 0, 3); }

// Rows given by index (rows != nullptr) or consecutive from 0.
template <class Tiles>
void GemmRows(const uint8_t* w, uint64_t row_bytes, const int32_t* idx, int64_t rows, int64_t n, const void* acts,
              uint64_t act_stride, int64_t n_act, float* out, int64_t out_stride) {
  constexpr int R = Tiles::kRows, T = Tiles::kActs;
  const auto* a8 = static_cast<const uint8_t*>(acts);
  auto row_ptr = [&](int64_t r) { return w + RowOffset(idx != nullptr ? idx[r] : r, row_bytes); };
  int64_t r = 0;
  for (; r + R <= rows; r += R) {
    const uint8_t* wr[R];
    const uint8_t* next[R];
    for (int i = 0; i < R; ++i) {
      wr[i] = row_ptr(r + i);
      next[i] = row_ptr(r + R + i < rows ? r + R + i : rows - 1);
    }
    int64_t t = 0;
    for (; t + T <= n_act; t += T) {
      const uint8_t* at[T];
      for (int j = 0; j < T; ++j) at[j] = a8 + (t + j) * act_stride;
      Tiles::template Tile<R, T>(wr, n, at, out + t * out_stride + r, out_stride, next);
    }
    for (; t < n_act; ++t) {
      const uint8_t* at[1] = {a8 + t * act_stride};
      Tiles::template Tile<R, 1>(wr, n, at, out + t * out_stride + r, out_stride, next);
    }
  }
  for (; r < rows; ++r) {
    const uint8_t* wr[1] = {row_ptr(r)};
    const uint8_t* next[1] = {row_ptr(r + 1 < rows ? r + 1 : r)};
    int64_t t = 0;
    for (; t + T <= n_act; t += T) {
      const uint8_t* at[T];
      for (int j = 0; j < T; ++j) at[j] = a8 + (t + j) * act_stride;
      Tiles::template Tile<1, T>(wr, n, at, out + t * out_stride + r, out_stride, next);
    }
    for (; t < n_act; ++t) {
      const uint8_t* at[1] = {a8 + t * act_stride};
      Tiles::template Tile<1, 1>(wr, n, at, out + t * out_stride + r, out_stride, next);
    }
  }
}

// gemv / gemv_indexed / gemm entries from a tile class. GemvTiles decides the row tile for one
// activation; GemmTiles the R x T tile for several.
template <class GemvTiles, class GemmTiles>
struct MatEntries {
  static void Gemv(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* act, float* out) {
    GemmRows<GemvTiles>(w, row_bytes, nullptr, rows, n, act, 0, 1, out, 0);
  }
  static void GemvIndexed(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, int64_t n_rows, int64_t n,
                          const void* act, float* out) {
    GemmRows<GemvTiles>(w, row_bytes, rows, n_rows, n, act, 0, 1, out, 0);
  }
  static void Gemm(const uint8_t* w, uint64_t row_bytes, int64_t rows, int64_t n, const void* acts,
                   uint64_t act_stride, int64_t n_act, float* out, int64_t out_stride) {
    GemmRows<GemmTiles>(w, row_bytes, nullptr, rows, n, acts, act_stride, n_act, out, out_stride);
  }
  static void Fill(WeightKernels* k) {
    k->gemv = Gemv;
    k->gemv_indexed = GemvIndexed;
    k->gemm = Gemm;
  }
};

// axpy_indexed as groups of G rows: y[0:n] += sum_i a[i] * dequant(W[rows[i]]), i ascending. A
// group kernel walks the columns once, loading each piece of y, applying its G rows in order and
// storing it back, so every row is streamed front to back (what DRAM and the prefetchers like) while
// y stays in L1:
//
//   template <int G>
//   static void Apply(const uint8_t* const* rows /*[G]*/, const float* a /*[G]*/, int64_t n, float* y,
//                     const uint8_t* const* prefetch);   // [G] rows of the next group
//
// Per element the operations are the same for every G, so the grouping never changes the bits.
template <class Group, int G>
void AxpyRows(const uint8_t* w, uint64_t row_bytes, const int32_t* idx, const float* a, int64_t n_rows, int64_t n,
              float* y) {
  auto row_ptr = [&](int64_t i) { return w + RowOffset(idx != nullptr ? idx[i] : i, row_bytes); };
  int64_t i = 0;
  for (; i + G <= n_rows; i += G) {
    const uint8_t* wr[G];
    const uint8_t* next[G];
    for (int g = 0; g < G; ++g) {
      wr[g] = row_ptr(i + g);
      next[g] = row_ptr(i + G + g < n_rows ? i + G + g : n_rows - 1);
    }
    Group::template Apply<G>(wr, a + i, n, y, next);
  }
  for (; i < n_rows; ++i) {
    const uint8_t* wr[1] = {row_ptr(i)};
    const uint8_t* next[1] = {row_ptr(i + 1 < n_rows ? i + 1 : i)};
    Group::template Apply<1>(wr, a + i, n, y, next);
  }
}

template <class Group, int G>
struct AxpyEntries {
  static void AxpyIndexed(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, const float* a, int64_t n_rows,
                          int64_t n, float* y) {
    AxpyRows<Group, G>(w, row_bytes, rows, a, n_rows, n, y);
  }
  static void Axpy(const uint8_t* w_row, int64_t n, float a, float* y) {
    AxpyRows<Group, G>(w_row, 0, nullptr, &a, 1, n, y);
  }
  static void Fill(WeightKernels* k) {
    k->axpy_indexed = AxpyIndexed;
    k->axpy = Axpy;
  }
};

}  // namespace
}  // namespace st
