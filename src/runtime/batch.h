// Decoder::Batch: the tokens of one forward pass, their scratch buffers, and the two groupings the
// layer steps need: tokens by sequence (attention) and (token, expert) pairs by expert (experts).
// Shapes in the glossary of model/model_config.h; T = tokens in the batch, P = T * k pairs.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/decoder.h"

namespace st {

// fn(t) for every token t in [0, T): independent per-token steps (norms, residual adds, RoPE) split
// across the threads once there are enough of them to pay for it. Each token's arithmetic is the
// same either way.
template <typename Fn>
void ForEachToken(ThreadPool* pool, int64_t T, const Fn& fn) {
  if (T < 16) {
    for (int64_t t = 0; t < T; ++t) fn(t);
    return;
  }
  pool->ParallelFor(T, 16, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) fn(t);
  });
}

struct Decoder::Batch {
  int64_t T = 0;                     // tokens in the current batch
  int64_t out_base = 0;              // index of token 0 in the caller's batch (its logits row)
  std::vector<BatchToken> tokens;    // [T]
  // Tokens grouped by sequence, each group in position order: group g is
  // seq_token[seq_start[g] .. seq_start[g + 1]), all of sequence seq_id[g].
  std::vector<uint32_t> seq_id;
  std::vector<int64_t> seq_start;
  std::vector<int32_t> seq_token;

  std::vector<float> x;              // [T][E] residual streams
  std::vector<float> xn;             // [T][E] normalized inputs of the current block
  std::vector<float> qkv;            // [T][H + K + Kv] q, k, v of every token
  std::vector<float> attn;           // [T][Hv] concatenated head outputs
  std::vector<float> proj;           // [T][E] attention output projection
  std::vector<float> moe;            // [T][E] expert output
  std::vector<float> router;         // [T][X] router logits
  std::vector<ExpertSelection> sel;  // [T] each token's experts and weights
  std::vector<ExpertSelection> look; // [T] the next layer's likely experts (offloaded lookahead)

  // (token, slot j) pairs grouped by expert: pairs of expert e are [pair_start[e], pair_start[e+1]),
  // in token order. `used` lists the experts with at least one pair, ascending.
  std::vector<int64_t> pair_start;   // [X + 1]
  std::vector<int32_t> pair_token;   // [P] the pair's token
  std::vector<int32_t> pair_slot;    // [P] ...and its slot j in that token's selection
  std::vector<int32_t> pair_expert;  // [P] ...and its expert
  std::vector<int32_t> pair_of;      // [P] token t's slot j (index t * k + j) -> its pair
  std::vector<int32_t> used;
  std::vector<float> gate, up;       // [P][F] per pair (up: compact over active neurons when sparse)
  std::vector<float> coef;           // [P][F] down coefficients (compact when sparse, zero-filled when dense)
  std::vector<std::vector<int32_t>> active;  // [P] active neuron ids of a pair (an expert's only token)
  std::vector<std::vector<int32_t>> expert_rows;  // [X] neurons active for any of an expert's few tokens
  std::vector<float> eout;           // [P][E] normal down layout: each pair's expert output
  std::vector<uint8_t> gathered;     // per expert: its tokens' activations, contiguous

  std::vector<float> att_q, att_scores;  // per-thread scratch of attention
  std::vector<float> lm_z, lm_scores;    // [T][P], [T][V] predictor (predicted heads)

  void Reserve(const ModelConfig& c, int64_t t) {
    if (static_cast<int64_t>(tokens.size()) >= t) return;
    const int64_t kk = c.n_expert_used;
    tokens.resize(t);
    seq_token.resize(t);
    x.resize(t * c.n_embd);
    xn.resize(t * c.n_embd);
    qkv.resize(t * (c.q_dim() + c.k_dim() + c.v_dim()));
    attn.resize(t * c.attn_out_dim());
    proj.resize(t * c.n_embd);
    moe.resize(t * c.n_embd);
    router.resize(t * c.n_expert);
    sel.resize(t);
    look.resize(t);
    pair_start.resize(c.n_expert + 1);
    pair_token.resize(t * kk);
    pair_slot.resize(t * kk);
    pair_expert.resize(t * kk);
    pair_of.resize(t * kk);
    gate.resize(t * kk * c.n_ff_exp);
    up.resize(t * kk * c.n_ff_exp);
    coef.resize(t * kk * c.n_ff_exp);
    active.resize(t * kk);
  }
};

}  // namespace st
