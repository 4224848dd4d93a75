// Matrix-vector products through the kernel table, split across the thread pool by rows.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "kernels/kernel_table.h"
#include "model/model_weights.h"
#include "util/thread_pool.h"

namespace st {

// An f32 input vector and its conversions to the activation formats the kernels consume, each made
// at most once (Q, K and V, or gate and up, share one quantized input).
class Activation {
 public:
  // REQUIRES: x outlives this object and is not modified while it is in use.
  Activation(const KernelTable& kernels, const float* x, int64_t n) : kernels_(kernels), x_(x), n_(n) {}

  const float* f32() const { return x_; }
  int64_t size() const { return n_; }
  // The input in `act_type` (F32 returns the original pointer).
  const void* As(GgmlType act_type);

 private:
  const KernelTable& kernels_;
  const float* x_;
  int64_t n_;
  std::vector<uint8_t> q8_0_;  // made on first use
  std::vector<uint8_t> q8_k_;
};

// Rows per chunk when `n` rows holding `bytes` of weights are split across `threads`: one
// contiguous range per thread, or everything on the calling thread when the work is too small to
// pay for waking another thread (tiny models; and on a busy machine a descheduled worker would
// stall every small step).
inline int64_t StreamGrain(int64_t n, const ThreadPool& pool, uint64_t bytes) {
  if (bytes < pool.min_parallel_bytes()) return n > 0 ? n : 1;
  return (n + pool.size() - 1) / pool.size();
}

// out[r] = W[r] · x for r in [row_begin, row_end). With a pool, rows are split across threads; each
// row is computed by exactly one thread with the same kernel, so the result is thread-count
// independent.
void MatVec(const KernelTable& kernels, ThreadPool* pool, const WeightMatrix& w, Activation& x, float* out);
void MatVecRows(const KernelTable& kernels, const WeightMatrix& w, Activation& x, int64_t row_begin,
                int64_t row_end, float* out);

// MatVec of several matrices with the same input, as if stacked: out = [W_0·x; W_1·x; ...]
// (Q, K and V). One split across the threads and one wait instead of one per matrix: K and V are
// small, and a pool round trip per matrix cost more than their rows. Every row is computed exactly
// as MatVec computes it. At most 4 matrices.
void MatVecStacked(const KernelTable& kernels, ThreadPool* pool, std::initializer_list<const WeightMatrix*> ws,
                   Activation& x, float* out);

// T input vectors [T][n] converted to the kernels' activation formats, each made at most once, each
// token's conversion identical to Activation's (so batched and single-token results agree bitwise).
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

}  // namespace st
