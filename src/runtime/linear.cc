#include "runtime/linear.h"

namespace st {

const void* Activation::As(GgmlType act_type) {
  if (act_type == GgmlType::kF32) return x_;
  if (act_type == GgmlType::kQ8_0) {
    if (!have_q8_0_) {
      q8_0_.resize(ActivationBytes(GgmlType::kQ8_0, n_));
      QuantizeActivation(kernels_, GgmlType::kQ8_0, x_, n_, q8_0_.data());
      have_q8_0_ = true;
    }
    return q8_0_.data();
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
  // Chunks of 16 rows keep each thread streaming contiguous memory while balancing the tail.
  pool->ParallelFor(w.rows, 16, [&](int64_t begin, int64_t end) {
    k.gemv(w.Row(begin), w.row_bytes, end - begin, w.cols, act, out + begin);
  });
}

}  // namespace st
