// Decoder::Attention: GQA self-attention with NeoX RoPE on RoPE layers (none on NoPE layers) and
// the sliding-window mask on sliding layers (spec §4.2.4).
#include <cmath>
#include <cstring>

#include "runtime/decoder.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {

void Decoder::RotateQK(uint32_t il, uint32_t pos, float* q, float* k) const {
  if (!config_.UsesRope(il)) return;  // NoPE layers
  const int64_t Dh = config_.head_dim;
  float cos_t[512], sin_t[512];  // Dh/2 <= 2048 is checked at load; 512 covers every real model
  std::vector<float> big_cos, big_sin;
  float* c = cos_t;
  float* s = sin_t;
  if (Dh / 2 > 512) {
    big_cos.resize(Dh / 2);
    big_sin.resize(Dh / 2);
    c = big_cos.data();
    s = big_sin.data();
  }
  RopeAngles(pos, Dh, config_.rope_freq_base, c, s);
  for (uint32_t h = 0; h < config_.n_head; ++h) RopeNeox(q + h * Dh, Dh, c, s);
  for (uint32_t h = 0; h < config_.n_head_kv; ++h) RopeNeox(k + h * Dh, Dh, c, s);
}

void Decoder::AttendHeads(uint32_t il, uint32_t pos, const float* q, int64_t h0, int64_t h1, float* scores,
                          float* out) const {
  const int64_t Dh = config_.head_dim, Dv = config_.value_dim;
  const int64_t group = config_.n_head / config_.n_head_kv;
  const WeightKernels& kv = kernels_.weights[static_cast<int>(kv_.storage_type())];
  const uint64_t elem = kv_.storage_type() == GgmlType::kF16 ? 2 : 4;
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  // Visible keys [first, pos] as at most two runs of ring-buffer slots, in position order.
  KvCache::SlotRun runs[2];
  const int n_runs = kv_.VisibleRuns(il, pos, runs);
  int64_t n_vis = 0;
  for (int r = 0; r < n_runs; ++r) n_vis += runs[r].count;

  for (int64_t h = h0; h < h1; ++h) {
    const int64_t kvh = h / group;
    // scores[p] = q_h · k_{p, kvh} / sqrt(Dh): a gemv over the cached key rows
    int64_t off = 0;
    for (int r = 0; r < n_runs; ++r) {
      kv.gemv(kv_.KeyRow(il, runs[r].first_slot) + kvh * Dh * elem, kv_.key_row_bytes(), runs[r].count, Dh, q + h * Dh,
              scores + off);
      off += runs[r].count;
    }
    for (int64_t i = 0; i < n_vis; ++i) scores[i] *= scale;
    Softmax(scores, n_vis);
    // out_h = sum_p a[p] * v_{p, kvh}: an axpy over the cached value rows, in position order
    float* o = out + h * Dv;
    std::memset(o, 0, Dv * sizeof(float));
    off = 0;
    for (int r = 0; r < n_runs; ++r) {
      kv.axpy_indexed(kv_.ValueRow(il, runs[r].first_slot) + kvh * Dv * elem, kv_.value_row_bytes(), nullptr,
                      scores + off, runs[r].count, Dv, o);
      off += runs[r].count;
    }
  }
}

void Decoder::Attention(uint32_t il, uint32_t pos) {
  const LayerWeights& L = w_.layers[il];
  const ModelConfig& c = config_;
  const int64_t E = c.n_embd;
  const int64_t H = c.q_dim(), K = c.k_dim();
  float* q = qkv_.data();
  float* k = q + H;
  float* v = k + K;

  // h = RMSNorm(x) * attn_norm; q = Wq·h [H], k = Wk·h [K], v = Wv·h [Kv]   (one input quantization)
  RmsNorm(x_.data(), L.attn_norm.data(), E, c.rms_eps, xn_.data());
  Activation h(kernels_, xn_.data(), E);
  MatVecStacked(kernels_, pool_.get(), {&L.attn_q, &L.attn_k, &L.attn_v}, h, q);  // q, k, v are contiguous
  stats_.weight_bytes += L.attn_q.bytes() + L.attn_k.bytes() + L.attn_v.bytes() + L.attn_output.bytes();

  RotateQK(il, pos, q, k);
  kv_.Store(il, pos, k, v);

  // Heads in parallel; each thread scores into its own row of scores_.
  const uint32_t n_ctx = kv_.n_ctx();
  // Heads in parallel once the cache is big enough to be worth a second thread.
  const uint64_t kv_bytes = static_cast<uint64_t>(pos + 1) * (kv_.key_row_bytes() + kv_.value_row_bytes());
  pool_->ParallelFor(c.n_head, kv_bytes * c.n_head / c.n_head_kv >= pool_->min_parallel_bytes() ? 1 : c.n_head,
                     [&](int64_t h0, int64_t h1, int thread) {
    AttendHeads(il, pos, q, h0, h1, scores_.data() + static_cast<size_t>(thread) * n_ctx, attn_.data());
  });

  // x += Wo · attn                                                             [E]
  Activation o(kernels_, attn_.data(), c.attn_out_dim());
  MatVec(kernels_, pool_.get(), L.attn_output, o, proj_.data());
  for (int64_t i = 0; i < E; ++i) x_[i] += proj_[i];
}

}  // namespace st
