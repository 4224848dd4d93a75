// Decoder::LmHead: final RMSNorm and the output projection for the tokens of the batch that want
// logits, exact or predicted (spec §5.2).
//
// The predicted head first computes the low-rank predictor z = W1 · x [P] and s = W2 · z [V], then
// only the vocabulary rows with s_v > 0. The others are set to -inf (FORK sets them to 0.0, which
// can outrank real negative logits when sampling); they are the tokens the predictor says are not
// worth computing. With several tokens, the union of their rows is computed once (each row read
// once for all of them) and every token keeps only its own rows, with the bits a lone token gets.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/batch.h"
#include "runtime/decoder.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {

void Decoder::LmHead() {
  Batch& b = *b_;
  const ModelConfig& c = config_;
  const int64_t E = c.n_embd, V = c.n_vocab;
  const WeightMatrix& out = w_.output;  // rows V, cols E
  std::vector<int32_t> exact, predicted;  // tokens of the batch, by head
  for (int64_t t = 0; t < b.T; ++t) {
    const TokenOutput o = b.tokens[t].output;
    if (o == TokenOutput::kNone) continue;
    const bool predict = o == TokenOutput::kLogits && lm_head_mode_ == LmHeadMode::kPredicted && w_.predictor;
    (predict ? predicted : exact).push_back(static_cast<int32_t>(t));
  }
  if (exact.empty() && predicted.empty()) return;
  auto logits_of = [&](int32_t t) {
    return logits_.data() + static_cast<size_t>(out_row_[b.out_base + t]) * V;
  };
  // xo_t = RMSNorm(x_t) * output_norm, the tokens asking, contiguous               [n][E]
  auto normalized = [&](const std::vector<int32_t>& ts, std::vector<float>* buf) {
    buf->resize(ts.size() * E);
    for (size_t i = 0; i < ts.size(); ++i) {
      RmsNorm(b.x.data() + ts[i] * E, w_.output_norm.data(), E, c.rms_eps, buf->data() + i * E);
    }
  };
  stats_.lm_head_calls += exact.size() + predicted.size();

  if (!predicted.empty()) {
    const LmHeadPredictor& p = *w_.predictor;
    const int64_t n = static_cast<int64_t>(predicted.size()), R = p.w1.rows;
    std::vector<float> xo;
    normalized(predicted, &xo);
    // z = W1 · x [n][R]; s = W2 · z [n][V]
    b.lm_z.resize(n * R);
    b.lm_scores.resize(n * V);
    BatchActivation in(kernels_, xo.data(), E, n);
    MatMul(kernels_, pool_.get(), p.w1, in, b.lm_z.data());
    BatchActivation z(kernels_, b.lm_z.data(), R, n);
    MatMul(kernels_, pool_.get(), p.w2, z, b.lm_scores.data());
    stats_.weight_bytes += p.w1.bytes() + p.w2.bytes();
    // Each token's rows (s_v > 0), and their union.
    std::vector<std::vector<int32_t>> rows(n);
    std::vector<int32_t> keep;   // tokens whose predictor chose something
    for (int64_t i = 0; i < n; ++i) {
      const float* s = b.lm_scores.data() + i * V;
      for (int64_t v = 0; v < V; ++v) {
        if (s[v] > 0.0f) rows[i].push_back(static_cast<int32_t>(v));
      }
      if (rows[i].empty()) {  // the predictor kept nothing: fall back to every row
        ++stats_.lm_head_fallbacks;
        exact.push_back(predicted[i]);
        continue;
      }
      keep.push_back(static_cast<int32_t>(i));
      stats_.lm_head_selected += rows[i].size();
      stats_.lm_head_rows += rows[i].size();
    }
    // The union of the rows, ascending; index[v] = v's place in it (one token: its own rows).
    std::vector<int32_t> uni, index;
    if (keep.size() == 1) {
      uni = rows[keep[0]];
    } else if (keep.size() > 1) {
      index.assign(V, -1);
      for (int32_t i : keep) {
        for (int32_t v : rows[i]) index[v] = 0;
      }
      for (int64_t v = 0; v < V; ++v) {
        if (index[v] == 0) {
          index[v] = static_cast<int32_t>(uni.size());
          uni.push_back(static_cast<int32_t>(v));
        }
      }
    }
    const int64_t U = static_cast<int64_t>(uni.size()), nk = static_cast<int64_t>(keep.size());
    stats_.weight_bytes += U * out.row_bytes;
    if (nk > 0) {
      const WeightKernels& k = kernels_.weights[static_cast<int>(out.type)];
      // logits[v] = W_out[v] · x for the union's rows: sel [nk][U]
      std::vector<float> kx(nk * E);
      for (int64_t i = 0; i < nk; ++i) std::memcpy(kx.data() + i * E, xo.data() + keep[i] * E, E * sizeof(float));
      BatchActivation act(kernels_, kx.data(), E, nk);
      const uint8_t* a = act.As(k.act_type, pool_.get());
      const uint64_t stride = act.Stride(k.act_type);
      std::vector<float> sel(nk * U);
      pool_->ParallelFor(U, StreamGrain(U, *pool_, U * out.row_bytes), [&](int64_t lo, int64_t hi) {
        if (nk == 1) {
          k.gemv_indexed(out.data, out.row_bytes, uni.data() + lo, hi - lo, E, a, sel.data() + lo);
          return;
        }
        thread_local std::vector<uint8_t> scratch;
        GemmGathered(k, out, uni.data() + lo, hi - lo, a, stride, nk, sel.data() + lo, U, &scratch);
      });
      for (int64_t i = 0; i < nk; ++i) {
        float* logits = logits_of(predicted[keep[i]]);
        std::fill(logits, logits + V, -std::numeric_limits<float>::infinity());
        const std::vector<int32_t>& r = rows[keep[i]];
        for (size_t j = 0; j < r.size(); ++j) logits[r[j]] = sel[i * U + (nk == 1 ? static_cast<int64_t>(j) : index[r[j]])];
      }
    }
  }

  if (!exact.empty()) {
    // logits_t = W_out · xo_t over every row (one GEMM for all of them)            [n][V]
    std::sort(exact.begin(), exact.end());
    const int64_t n = static_cast<int64_t>(exact.size());
    std::vector<float> xo;
    normalized(exact, &xo);
    BatchActivation in(kernels_, xo.data(), E, n);
    bool consecutive = true;
    for (int64_t i = 1; i < n; ++i) consecutive &= out_row_[b.out_base + exact[i]] == out_row_[b.out_base + exact[0]] + i;
    if (consecutive) {
      MatMul(kernels_, pool_.get(), out, in, logits_of(exact[0]));
    } else {
      std::vector<float> tmp(n * V);
      MatMul(kernels_, pool_.get(), out, in, tmp.data());
      for (int64_t i = 0; i < n; ++i) std::memcpy(logits_of(exact[i]), tmp.data() + i * V, V * sizeof(float));
    }
    stats_.lm_head_rows += static_cast<uint64_t>(n) * V;
    stats_.weight_bytes += out.bytes();
  }
}

}  // namespace st
