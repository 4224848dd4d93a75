// Decoder::BatchState: the scratch buffers of Prefill, sized for one batch of tokens.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/decoder.h"

namespace st {

struct Decoder::BatchState {
  int64_t cap = 0;                 // tokens the buffers hold
  std::vector<float> x;            // [B][E] residual streams
  std::vector<float> xn;           // [B][E] normalized inputs
  std::vector<float> q, k, v;      // [B][H], [B][K], [B][Kv]
  std::vector<float> attn;         // [B][Hv]
  std::vector<float> proj;         // [B][E]
  std::vector<float> moe;          // [B][E]
  std::vector<float> router;       // [B][X]
  std::vector<ExpertSelection> sel;  // [B]
  // (token, slot j) pairs grouped by expert: pairs of expert e are [pair_start[e], pair_start[e+1]).
  std::vector<int64_t> pair_start;   // [X + 1]
  std::vector<int32_t> pair_token;   // [B * k]
  std::vector<int32_t> pair_of;      // [B * k] token t's slot j -> pair index (t * k + j)
  std::vector<float> gate, up;       // [B * k][F] per pair
  std::vector<float> coef;           // [B * k][F] down coefficients, zero for inactive neurons
  std::vector<float> eout;           // [B * k][E] normal down layout
  std::vector<float> logits;         // [B][V] when every position's logits are wanted
  std::vector<float> att_q, att_scores;  // per-thread scratch of the batched attention (prefill.cc)

  void Reserve(const ModelConfig& c, int64_t b) {
    if (b <= cap) return;
    cap = b;
    const int64_t kk = c.n_expert_used;
    x.resize(b * c.n_embd);
    xn.resize(b * c.n_embd);
    q.resize(b * c.q_dim());
    k.resize(b * c.k_dim());
    v.resize(b * c.v_dim());
    attn.resize(b * c.attn_out_dim());
    proj.resize(b * c.n_embd);
    moe.resize(b * c.n_embd);
    router.resize(b * c.n_expert);
    sel.resize(b);
    pair_start.resize(c.n_expert + 1);
    pair_token.resize(b * kk);
    pair_of.resize(b * kk);
    gate.resize(b * kk * c.n_ff_exp);
    up.resize(b * kk * c.n_ff_exp);
    coef.resize(b * kk * c.n_ff_exp);
  }
};

}  // namespace st
