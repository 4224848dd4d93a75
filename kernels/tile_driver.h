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
    if constexpr (T >= 4) {
      // Pairs of the remaining activations (6 = 4 + 2 query heads per KV head): each row block
      // is read once more instead of twice. A tile's shape never changes an output's bits.
      for (; t + 2 <= n_act; t += 2) {
        const uint8_t* at[2] = {a8 + t * act_stride, a8 + (t + 1) * act_stride};
        Tiles::template Tile<R, 2>(wr, n, at, out + t * out_stride + r, out_stride, next);
      }
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

// axpy_multi from a table's axpy_indexed, output by output: each y[t] as axpy_indexed over the rows
// whose coefficient is not zero (in pieces of up to 256 rows, which gives the same bits since
// axpy_indexed equals successive axpy calls).
template <AxpyIndexedFn kIndexed>
void AxpyMultiByToken(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, int64_t n_rows, const float* a,
                      int64_t a_stride, int64_t n_tok, int64_t n, float* const* y) {
  constexpr int64_t kList = 256;
  int32_t sel[kList];
  float coef[kList];
  for (int64_t t = 0; t < n_tok; ++t) {
    const float* at = a + t * a_stride;
    int64_t cnt = 0;
    for (int64_t i = 0; i < n_rows; ++i) {
      sel[cnt] = rows != nullptr ? rows[i] : static_cast<int32_t>(i);
      coef[cnt] = at[i];
      cnt += at[i] != 0.0f;  // branch-free: about half the coefficients are zero, at random
      if (cnt == kList) {
        kIndexed(w, row_bytes, sel, coef, cnt, n, y[t]);
        cnt = 0;
      }
    }
    if (cnt > 0) kIndexed(w, row_bytes, sel, coef, cnt, n, y[t]);
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
    k->axpy_multi = AxpyMultiByToken<AxpyIndexed>;
  }
};

// axpy_multi with every row dequantized once per chunk of columns for all outputs, then each
// output's terms added from the dequantized chunk. For group kernels that compute y = fma(a, w, y)
// per element from the exact weight w (what Dequant writes), the bits are AxpyMultiByToken's, so a
// table may use either path for any n_tok. Ops supplies:
//
//   kBlock, kBlockBytes      elements and bytes of a block (1 and the element size for floats)
//   kCols, kSlab             a chunk of kSlab (<= 64) rows x kCols columns (kCols % kBlock == 0;
//                            sized for L1)
//   static void Dequant(const uint8_t* src, int64_t cols, float* dst);   // exact, cols <= kCols
//   static int64_t Select(const float* a, int64_t n, int32_t* sel, float* coef, uint64_t* used);
//       // the i < n (<= 64) with a[i] != 0, ascending, into sel/coef (room for n + 16 entries);
//       // sets their bits in *used; returns how many
//   static void FmaRows(const float* buf, const int32_t* sel, const float* coef, int64_t count,
//                       int64_t cols, float* y);
//       // y[j] = fma(coef[k], buf[sel[k] * kCols + j], y[j]) for k ascending, j < cols
template <class Ops>
void AxpyMultiBuffered(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, int64_t n_rows, const float* a,
                       int64_t a_stride, int64_t n_tok, int64_t n, float* const* y) {
  constexpr int64_t kCols = Ops::kCols, kSlab = Ops::kSlab, kTok = 32;
  static_assert(kSlab <= 64, "the rows of a slab are one 64-bit mask");
  alignas(64) float buf[kSlab * kCols];
  int32_t sel[kTok][kSlab + 16];  // per output: its rows with a non-zero coefficient (slab-relative)
  float coef[kTok][kSlab + 16];
  int64_t cnt[kTok];
  for (int64_t t0 = 0; t0 < n_tok; t0 += kTok) {
    const int64_t nt = n_tok - t0 < kTok ? n_tok - t0 : kTok;
    for (int64_t s0 = 0; s0 < n_rows; s0 += kSlab) {
      const int64_t ns = n_rows - s0 < kSlab ? n_rows - s0 : kSlab;
      uint64_t used = 0;  // rows any output needs
      for (int64_t t = 0; t < nt; ++t) cnt[t] = Ops::Select(a + (t0 + t) * a_stride + s0, ns, sel[t], coef[t], &used);
      if (used == 0) continue;
      for (int64_t c0 = 0; c0 < n; c0 += kCols) {
        const int64_t nc = n - c0 < kCols ? n - c0 : kCols;
        const uint64_t col_bytes = static_cast<uint64_t>(c0 / Ops::kBlock) * Ops::kBlockBytes;
        for (uint64_t m = used; m != 0; m &= m - 1) {
          const int64_t i = __builtin_ctzll(m), r = s0 + i;
          Ops::Dequant(w + RowOffset(rows != nullptr ? rows[r] : r, row_bytes) + col_bytes, nc, buf + i * kCols);
        }
        for (int64_t t = 0; t < nt; ++t) {
          if (cnt[t] > 0) Ops::FmaRows(buf, sel[t], coef[t], cnt[t], nc, y[t0 + t] + c0);
        }
      }
    }
  }
}

// AxpyEntries whose axpy_multi takes the buffered path from kMinBuffered outputs on (Group must be
// exact in the sense of AxpyMultiBuffered).
template <class Group, int G, class Ops, int kMinBuffered>
struct AxpyEntriesBuffered : AxpyEntries<Group, G> {
  static void AxpyMulti(const uint8_t* w, uint64_t row_bytes, const int32_t* rows, int64_t n_rows, const float* a,
                        int64_t a_stride, int64_t n_tok, int64_t n, float* const* y) {
    if (n_tok >= kMinBuffered) {
      AxpyMultiBuffered<Ops>(w, row_bytes, rows, n_rows, a, a_stride, n_tok, n, y);
    } else {
      AxpyMultiByToken<AxpyEntries<Group, G>::AxpyIndexed>(w, row_bytes, rows, n_rows, a, a_stride, n_tok, n, y);
    }
  }
  static void Fill(WeightKernels* k) {
    AxpyEntries<Group, G>::Fill(k);
    k->axpy_multi = AxpyMulti;
  }
};

}  // namespace
}  // namespace st
