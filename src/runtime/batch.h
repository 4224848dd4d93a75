// Decoder::Batch: the tokens of one forward pass, their scratch buffers, and the two groupings the
// layer steps need: tokens by sequence (attention) and (token, expert) pairs by expert (experts).
// Shapes in the glossary of model/model_config.h; T = tokens in the batch, P = T * k pairs.
#pragma once

#include <algorithm>
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

// Tokens per attention task (attention.cc): scores for positions up to the chunk's last.
inline constexpr int64_t kAttnChunk = 16;

// The largest work one forward pass can hand the scratch buffers: what ReserveAll sizes them for.
struct BatchLimits {
  int64_t tokens = 1;          // T: the batch size (-ub)
  int64_t outputs = 1;         // logit rows of one forward pass (DecoderOptions::max_outputs)
  int64_t threads = 1;         // attention keeps per-thread scratch
  int64_t keys = 1;            // most keys one query sees (the context length)
  int64_t predictor_rank = 0;  // R of the LM-head predictor (0: none)
  bool normal_down = true;     // ffn_down_exps in the normal layout (per-pair outputs eout)
  uint64_t pair_input_bytes = 0;  // one pair's gate + up inputs in the experts' activation types
};

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

  // Reserves (without touching: no page becomes resident before it is used) every buffer for the
  // largest batch of `l`, so that no forward pass within those limits reallocates. Bytes() after it
  // is the scratch the memory plan counts; tests check that running never makes it grow.
  void ReserveAll(const ModelConfig& c, const BatchLimits& l) {
    const int64_t T = l.tokens, P = T * c.n_expert_used, E = c.n_embd, F = c.n_ff_exp, X = c.n_expert;
    const int64_t group = c.n_head / std::max<int64_t>(1, c.n_head_kv), Dh = c.head_dim;
    tokens.reserve(T);
    seq_id.reserve(T);
    seq_start.reserve(T + 1);
    seq_token.reserve(T);
    for (std::vector<float>* v : {&x, &xn, &proj, &moe}) v->reserve(T * E);
    qkv.reserve(T * (c.q_dim() + c.k_dim() + c.v_dim()));
    attn.reserve(T * c.attn_out_dim());
    router.reserve(T * X);
    for (std::vector<ExpertSelection>* v : {&sel, &look}) {
      v->resize(T);  // a few bytes each; their inner vectors reserved too
      for (ExpertSelection& e : *v) {
        e.experts.reserve(c.n_expert_used);
        e.weights.reserve(c.n_expert_used);
      }
    }
    pair_start.reserve(X + 1);
    for (std::vector<int32_t>* v : {&pair_token, &pair_slot, &pair_expert, &pair_of}) v->reserve(P);
    used.reserve(X);
    for (std::vector<float>* v : {&gate, &up, &coef}) v->reserve(P * F);
    active.resize(P);
    for (std::vector<int32_t>& a : active) a.reserve(F);
    expert_rows.resize(X);
    for (std::vector<int32_t>& r : expert_rows) r.reserve(F);
    if (l.normal_down) eout.reserve(P * E);
    gathered.reserve(P * l.pair_input_bytes);
    // Per thread: the chunk's queries of one KV head (values + quantized copy + 1) and their scores.
    att_q.reserve(l.threads * kAttnChunk * group * (2 * Dh + 1));
    att_scores.reserve(l.threads * kAttnChunk * group * l.keys);
    if (l.predictor_rank > 0) {
      lm_z.reserve(l.outputs * l.predictor_rank);
      lm_scores.reserve(l.outputs * c.n_vocab);
    }
  }

  // Bytes of every buffer's capacity: what the scratch holds (or may touch) now.
  uint64_t Bytes() const {
    uint64_t n = 0;
    auto add = [&n](const auto& v) { n += v.capacity() * sizeof(v[0]); };
    add(tokens), add(seq_id), add(seq_start), add(seq_token);
    add(x), add(xn), add(qkv), add(attn), add(proj), add(moe), add(router);
    add(sel), add(look);
    for (const std::vector<ExpertSelection>* v : {&sel, &look}) {
      for (const ExpertSelection& e : *v) add(e.experts), add(e.weights);
    }
    add(pair_start), add(pair_token), add(pair_slot), add(pair_expert), add(pair_of), add(used);
    add(gate), add(up), add(coef), add(active), add(expert_rows), add(eout), add(gathered);
    for (const std::vector<int32_t>& a : active) add(a);
    for (const std::vector<int32_t>& r : expert_rows) add(r);
    add(att_q), add(att_scores), add(lm_z), add(lm_scores);
    return n;
  }

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
    // Never shrunk: their elements own buffers (reserved by ReserveAll) that must survive.
    if (static_cast<int64_t>(sel.size()) < t) sel.resize(t);
    if (static_cast<int64_t>(look.size()) < t) look.resize(t);
    pair_start.resize(c.n_expert + 1);
    pair_token.resize(t * kk);
    pair_slot.resize(t * kk);
    pair_expert.resize(t * kk);
    pair_of.resize(t * kk);
    gate.resize(t * kk * c.n_ff_exp);
    up.resize(t * kk * c.n_ff_exp);
    coef.resize(t * kk * c.n_ff_exp);
    if (static_cast<int64_t>(active.size()) < t * kk) active.resize(t * kk);
  }
};

}  // namespace st
