// Matrix products of the batch's inputs through the kernel table, split across the thread pool by
// rows (a single token runs the gemv kernels).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "kernels/kernel_table.h"
#include "model/model_weights.h"
#include "util/thread_pool.h"

namespace st {

// Rows per chunk when `n` rows holding `bytes` of weights are split across `threads`: one
// contiguous range per thread, or everything on the calling thread when the work is too small to
// pay for waking another thread (tiny models; and on a busy machine a descheduled worker would
// stall every small step).
inline int64_t StreamGrain(int64_t n, const ThreadPool& pool, uint64_t bytes) {
  if (bytes < pool.min_parallel_bytes()) return n > 0 ? n : 1;
  return (n + pool.size() - 1) / pool.size();
}

// T input vectors [T][n] converted to the kernels' activation formats (F32 as is, Q8_0 or Q8_K),
// each made at most once and shared by every matrix that reads it (Q, K and V; gate and up). Each
// token's conversion is independent of the others, so a token gets the same bits in any batch.
class BatchActivation {
 public:
  // REQUIRES: x [t_count][n] outlives this object and is not modified while it is in use.
  BatchActivation(const KernelTable& kernels, const float* x, int64_t n, int64_t t_count)
      : kernels_(kernels), x_(x), n_(n), t_(t_count) {}
  int64_t size() const { return n_; }
  int64_t tokens() const { return t_; }
  // The inputs in `act_type`, token t at As(...) + t * Stride(act_type) bytes.
  const uint8_t* As(GgmlType act_type, ThreadPool* pool);
  uint64_t Stride(GgmlType act_type) const { return ActivationBytes(act_type, n_); }

 private:
  const KernelTable& kernels_;
  const float* x_;
  int64_t n_, t_;
  std::vector<uint8_t> q8_0_, q8_k_;
};

// out[t][r] = W[r] · x_t for all rows and tokens (out row stride: w.rows). Rows are split across
// threads; out[t][r] is bit-identical to MatVec's out[r] for input x_t.
void MatMul(const KernelTable& kernels, ThreadPool* pool, const WeightMatrix& w, BatchActivation& x, float* out);
// MatMul of several matrices with the same inputs, as if stacked: out [T][R0 + R1 + ...] with
// out[t] = [W_0·x_t; W_1·x_t; ...] (Q, K and V in one split and one wait). A single token runs the
// gemv kernels. At most 4 matrices.
void MatMulStacked(const KernelTable& kernels, ThreadPool* pool, std::initializer_list<const WeightMatrix*> ws,
                   BatchActivation& x, float* out);

// out[t * out_stride + i] = W[rows[i]] · act_t for i in [0, n_rows), t in [0, n_act): a GEMM over
// scattered rows (the union of several tokens' LM-head or expert rows). The rows are copied in
// blocks of kGatherRows into `scratch` (which stays in cache) and each block runs the GEMM kernel,
// so each row is read from memory once for all tokens, with the bits of a GEMM over W.
inline constexpr int64_t kGatherRows = 64;
void GemmGathered(const WeightKernels& k, const WeightMatrix& w, const int32_t* rows, int64_t n_rows,
                  const uint8_t* acts, uint64_t act_stride, int64_t n_act, float* out, int64_t out_stride,
                  std::vector<uint8_t>* scratch);

}  // namespace st
