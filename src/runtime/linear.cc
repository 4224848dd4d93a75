#include "runtime/linear.h"

namespace st {

const void* Activation::As(GgmlType act_type) {
  if (act_type == GgmlType::kF32) return x_;
  if (act_type == GgmlType::kQ8_0 || act_type == GgmlType::kQ8_K) {
    std::vector<uint8_t>& buf = act_type == GgmlType::kQ8_0 ? q8_0_ : q8_k_;
    if (buf.empty()) {
      buf.resize(ActivationBytes(act_type, n_));
      QuantizeActivation(kernels_, act_type, x_, n_, buf.data());
    }
    return buf.data();
  }
  ST_CHECK(false && "unsupported activation type");
  return nullptr;
}

void MatVecRows(const KernelTable& kernels, const WeightMatrix& w, Activation& x, int64_t row_begin, int64_t row_end,
                float* out) {
  const WeightKernels& k = kernels.weights[static_cast<int>(w.type)];
  const void* act = x.As(k.act_type);
  k.gemv(w.Row(row_begin), w.row_bytes, row_end - row_begin, w.cols, act, out + row_begin);
}

void MatVec(const KernelTable& kernels, ThreadPool* pool, const WeightMatrix& w, Activation& x, float* out) {
  ST_CHECK(x.size() == w.cols);
  const WeightKernels& k = kernels.weights[static_cast<int>(w.type)];
  const void* act = x.As(k.act_type);  // convert once, before threads share it
  if (pool == nullptr || pool->size() == 1) {
    k.gemv(w.data, w.row_bytes, w.rows, w.cols, act, out);
    return;
  }
  // One contiguous range of rows per thread: long sequential streams are what the hardware
  // prefetcher needs (interleaved small chunks measured ~2x slower on cold weights).
  pool->ParallelFor(w.rows, StreamGrain(w.rows, *pool, w.bytes()), [&](int64_t begin, int64_t end) {
    k.gemv(w.Row(begin), w.row_bytes, end - begin, w.cols, act, out + begin);
  });
}

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
  ST_CHECK(x.size() == w.cols);
  const WeightKernels& k = kernels.weights[static_cast<int>(w.type)];
  const uint8_t* act = x.As(k.act_type, pool);
  const uint64_t stride = x.Stride(k.act_type);
  auto run = [&](int64_t b, int64_t e) {
    k.gemm(w.Row(b), w.row_bytes, e - b, w.cols, act, stride, x.tokens(), out + b, w.rows);
  };
  if (pool == nullptr || pool->size() == 1) {
    run(0, w.rows);
    return;
  }
  pool->ParallelFor(w.rows, StreamGrain(w.rows, *pool, w.bytes() * x.tokens()), run);
}

}  // namespace st
