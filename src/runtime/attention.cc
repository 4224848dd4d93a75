// Decoder::Attention: GQA self-attention with NeoX RoPE on RoPE layers (none on NoPE layers) and
// the sliding-window mask on sliding layers (spec §4.2.4).
#include <cmath>
#include <cstring>

#include "runtime/decoder.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {

void Decoder::Attention(uint32_t il, uint32_t pos) {
  const LayerWeights& L = w_.layers[il];
  const ModelConfig& c = config_;
  const int64_t E = c.n_embd, Dh = c.head_dim, Dv = c.value_dim;
  const int64_t n_head = c.n_head, group = c.n_head / c.n_head_kv;

  // h = RMSNorm(x) * attn_norm; q = Wq·h [H], k = Wk·h [K], v = Wv·h [Kv]
  RmsNorm(x_.data(), L.attn_norm.data(), E, c.rms_eps, xn_.data());
  Activation h(kernels_, xn_.data(), E);
  MatVec(kernels_, pool_.get(), L.attn_q, h, q_.data());
  MatVec(kernels_, pool_.get(), L.attn_k, h, k_.data());
  MatVec(kernels_, pool_.get(), L.attn_v, h, v_.data());

  if (c.UsesRope(il)) {  // NoPE layers skip this entirely
    RopeAngles(pos, Dh, c.rope_freq_base, rope_cos_.data(), rope_sin_.data());
    for (int64_t hd = 0; hd < n_head; ++hd) RopeNeox(q_.data() + hd * Dh, Dh, rope_cos_.data(), rope_sin_.data());
    for (uint32_t hd = 0; hd < c.n_head_kv; ++hd) RopeNeox(k_.data() + hd * Dh, Dh, rope_cos_.data(), rope_sin_.data());
  }
  kv_.Store(il, pos, k_.data(), v_.data());

  // Visible keys: [first, pos] (the sliding mask hides keys with pos - p >= window).
  const uint32_t first = kv_.FirstVisible(il, pos);
  const int64_t n_vis = pos - first + 1;
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  const uint32_t n_ctx = kv_.n_ctx();

  // scores[h][p] = q_h · k_{p, h/group} / sqrt(Dh)
  for (uint32_t p = first; p <= pos; ++p) {
    kv_.LoadKey(il, p, kbuf_.data());
    for (int64_t hd = 0; hd < n_head; ++hd) {
      const float* kh = kbuf_.data() + (hd / group) * Dh;
      scores_[hd * n_ctx + (p - first)] = kernels_.dot_f32(q_.data() + hd * Dh, kh, Dh) * scale;
    }
  }
  for (int64_t hd = 0; hd < n_head; ++hd) Softmax(scores_.data() + hd * n_ctx, n_vis);

  // attn_h = sum_p a[h][p] * v_{p, h/group}                                  [Hv]
  std::memset(attn_.data(), 0, attn_.size() * sizeof(float));
  for (uint32_t p = first; p <= pos; ++p) {
    kv_.LoadValue(il, p, vbuf_.data());
    for (int64_t hd = 0; hd < n_head; ++hd) {
      const float a = scores_[hd * n_ctx + (p - first)];
      kernels_.axpy_f32(vbuf_.data() + (hd / group) * Dv, Dv, a, attn_.data() + hd * Dv);
    }
  }

  // x += Wo · attn                                                             [E]
  Activation o(kernels_, attn_.data(), c.attn_out_dim());
  MatVec(kernels_, pool_.get(), L.attn_output, o, expert_out_.data());
  for (int64_t i = 0; i < E; ++i) x_[i] += expert_out_[i];
}

}  // namespace st
