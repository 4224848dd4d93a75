// Decoder::LmHead: final RMSNorm and the output projection, exact or predicted (spec §5.2).
//
// The predicted head first computes the low-rank predictor z = W1 · x [P] and s = W2 · z [V], then
// only the vocabulary rows with s_v > 0. The others are set to -inf (FORK sets them to 0.0, which
// can outrank real negative logits when sampling); they are the tokens the predictor says are not
// worth computing.
#include <cmath>
#include <limits>

#include "runtime/decoder.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {

void Decoder::LmHead(LmHeadMode mode) {
  // x = RMSNorm(x) * output_norm                                               [E]
  RmsNorm(x_.data(), w_.output_norm.data(), config_.n_embd, config_.rms_eps, xn_.data());
  ComputeLmHead(xn_.data(), mode, logits_.data());
}

void Decoder::ComputeLmHead(const float* x_normed, LmHeadMode mode, float* logits) {
  const WeightMatrix& out = w_.output;  // rows V, cols E
  Activation in(kernels_, x_normed, config_.n_embd);
  ++stats_.lm_head_calls;
  if (mode == LmHeadMode::kExact || !w_.predictor) {
    MatVec(kernels_, pool_.get(), out, in, logits);  // logits = W_out · x        [V]
    stats_.lm_head_rows += out.rows;
    stats_.weight_bytes += out.bytes();
    return;
  }
  const LmHeadPredictor& p = *w_.predictor;
  // z = W1 · x [P]; s = W2 · z [V]
  MatVec(kernels_, pool_.get(), p.w1, in, lm_z_.data());
  Activation z(kernels_, lm_z_.data(), p.w1.rows);
  MatVec(kernels_, pool_.get(), p.w2, z, lm_scores_.data());
  lm_rows_.clear();
  for (int64_t v = 0; v < out.rows; ++v) {
    if (lm_scores_[v] > 0.0f) lm_rows_.push_back(static_cast<int32_t>(v));
  }
  stats_.weight_bytes += p.w1.bytes() + p.w2.bytes();
  stats_.lm_head_selected += lm_rows_.size();
  if (lm_rows_.empty()) {  // the predictor kept nothing: fall back to every row
    ++stats_.lm_head_fallbacks;
    MatVec(kernels_, pool_.get(), out, in, logits);
    stats_.lm_head_rows += out.rows;
    stats_.weight_bytes += out.bytes();
    return;
  }
  // logits[v] = W_out[v] · x for the selected rows only.
  const WeightKernels& k = kernels_.weights[static_cast<int>(out.type)];
  const void* act = in.As(k.act_type);
  lm_selected_.resize(lm_rows_.size());
  const int64_t n_sel = static_cast<int64_t>(lm_rows_.size());
  pool_->ParallelFor(n_sel, StreamGrain(n_sel, *pool_, n_sel * w_.output.row_bytes), [&](int64_t b, int64_t e) {
    k.gemv_indexed(out.data, out.row_bytes, lm_rows_.data() + b, e - b, out.cols, act, lm_selected_.data() + b);
  });
  std::fill(logits, logits + out.rows, -std::numeric_limits<float>::infinity());
  for (size_t i = 0; i < lm_rows_.size(); ++i) logits[lm_rows_[i]] = lm_selected_[i];
  stats_.lm_head_rows += lm_rows_.size();
  stats_.weight_bytes += lm_rows_.size() * out.row_bytes;
}

}  // namespace st
