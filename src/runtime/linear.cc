#include "runtime/linear.h"

#include <algorithm>
#include <cstring>

namespace st {

const uint8_t* BatchActivation::As(GgmlType act_type, ThreadPool* pool) {
  if (act_type == GgmlType::kF32) return reinterpret_cast<const uint8_t*>(x_);
  ST_CHECK(act_type == GgmlType::kQ8_0 || act_type == GgmlType::kQ8_K);
  std::vector<uint8_t>& buf = act_type == GgmlType::kQ8_0 ? q8_0_ : q8_k_;
  if (buf.empty()) {
    const uint64_t stride = Stride(act_type);
    buf.resize(stride * t_);
    auto convert = [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) QuantizeActivation(kernels_, act_type, x_ + t * n_, n_, buf.data() + t * stride);
    };
    if (pool != nullptr) pool->ParallelFor(t_, 16, convert); else convert(0, t_);
  }
  return buf.data();
}

void MatMul(const KernelTable& kernels, ThreadPool* pool, const WeightMatrix& w, BatchActivation& x, float* out) {
  MatMulStacked(kernels, pool, {&w}, x, out);
}

void MatMulStacked(const KernelTable& kernels, ThreadPool* pool, std::initializer_list<const WeightMatrix*> ws,
                   BatchActivation& x, float* out) {
  struct Segment {
    const WeightMatrix* w;
    const WeightKernels* k;
    const uint8_t* act;
    uint64_t stride;
    int64_t begin;  // first row of this matrix in the stacked row space
  };
  Segment seg[4];
  int n = 0;
  int64_t rows = 0;
  uint64_t bytes = 0;
  ST_CHECK(ws.size() <= 4);
  for (const WeightMatrix* w : ws) {
    ST_CHECK(x.size() == w->cols);
    const WeightKernels& k = kernels.weights[static_cast<int>(w->type)];
    seg[n++] = {w, &k, x.As(k.act_type, pool), x.Stride(k.act_type), rows};  // conversions before threads share x
    rows += w->rows;
    bytes += w->bytes();
  }
  const int64_t T = x.tokens();
  auto run = [&](int64_t b, int64_t e) {
    for (int i = 0; i < n; ++i) {
      const Segment& s = seg[i];
      const int64_t lo = std::max(b, s.begin), hi = std::min(e, s.begin + s.w->rows);
      if (lo >= hi) continue;
      if (T == 1) {  // a single token: the gemv (the same bits as the gemm's token, kernel_table.h)
        s.k->gemv(s.w->Row(lo - s.begin), s.w->row_bytes, hi - lo, s.w->cols, s.act, out + lo);
      } else {
        s.k->gemm(s.w->Row(lo - s.begin), s.w->row_bytes, hi - lo, s.w->cols, s.act, s.stride, T, out + lo, rows);
      }
    }
  };
  if (pool == nullptr || pool->size() == 1) {
    run(0, rows);
    return;
  }
  // One contiguous range of rows per thread: long sequential streams are what the hardware
  // prefetcher needs (interleaved small chunks measured ~2x slower on cold weights).
  pool->ParallelFor(rows, StreamGrain(rows, *pool, bytes * static_cast<uint64_t>(T)), run);
}

void GemmGathered(const WeightKernels& k, const WeightMatrix& w, const int32_t* rows, int64_t n_rows,
                  const uint8_t* acts, uint64_t act_stride, int64_t n_act, float* out, int64_t out_stride,
                  std::vector<uint8_t>* scratch) {
  scratch->resize(static_cast<size_t>(kGatherRows) * w.row_bytes);
  for (int64_t b = 0; b < n_rows; b += kGatherRows) {
    const int64_t n = std::min(kGatherRows, n_rows - b);
    for (int64_t i = 0; i < n; ++i) std::memcpy(scratch->data() + i * w.row_bytes, w.Row(rows[b + i]), w.row_bytes);
    if (n_act == 1) {
      k.gemv(scratch->data(), w.row_bytes, n, w.cols, acts, out + b);
    } else {
      k.gemm(scratch->data(), w.row_bytes, n, w.cols, acts, act_stride, n_act, out + b, out_stride);
    }
  }
}

}  // namespace st
