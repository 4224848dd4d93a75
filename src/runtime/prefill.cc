// Decoder::Prefill: a prompt in batches, layer by layer for all tokens of a batch at once.
//
// The arithmetic is Forward()'s, reorganised so each weight matrix is read once per batch: the
// projections are GEMMs over the batch (bit-identical to the single-token GEMVs), experts are
// grouped by the tokens that chose them (each expert's gate, up and down rows read once per batch),
// and every token keeps its own routing weights. Attention scores a chunk of queries against the
// keys with one GEMM per KV head and adds the values with axpy_multi; the transposed down step runs
// expert by expert over the expert's tokens (axpy_multi). Each of these gives every token the bits
// of Forward's single-token call (the kernel table guarantees it), experts are added in the same
// (ascending id) order, and per-token steps are Forward's own functions. So Prefill's logits equal
// Forward's bit for bit.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/batch_state.h"
#include "runtime/decoder.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {
namespace {

// Down coefficients of one (token, slot) pair over its F neurons: cf[n] = wj * (g[n] * up[n])
// (transposed layout; g[n] * up[n] for the normal one) where g[n] > 0, else +0.0f, exactly as
// Forward computes them for its active neurons. Returns how many are active. Branch-free: about 30%
// of neurons are active, at random, and a select compiles to a jump that mispredicts.
template <bool kScaled>
int64_t DownCoefficients(const float* g, const float* up, float wj, int64_t F, float* cf) {
  int64_t on = 0;
  for (int64_t n = 0; n < F; ++n) {
    const float h = g[n] * up[n];
    const float v = kScaled ? wj * h : h;
    uint32_t u;
    std::memcpy(&u, &v, sizeof(u));
    const bool active = g[n] > 0.0f;
    u &= 0u - static_cast<uint32_t>(active);
    std::memcpy(&cf[n], &u, sizeof(u));
    on += active;
  }
  return on;
}

// Attention of a batch of T queries at positions p0, p0+1, ... on a layer whose cache holds every
// position they see at the same slot (slot = position: a global layer, or a window not yet
// full). Per KV head and chunk of tokens, the scores of all its query heads against the keys come
// from one GEMM (each equal to AttendHeads' gemv bit for bit); each row is scaled and softmaxed
// over the positions its token sees exactly as AttendHeads does, later positions get probability
// 0; axpy_multi then adds the value rows (zero terms skipped: every output gets axpy_indexed's bits
// over its visible rows). q [T][H] rotated; out [T][Hv].
constexpr int64_t kAttnChunk = 16;  // tokens per task: the GEMM over keys [0, last position] wastes < 16 per row

void AttendBatch(const KernelTable& kernels, const KvCache& kv, const ModelConfig& c, ThreadPool* pool, uint32_t il,
                 uint32_t p0, int64_t T, const float* q, float* out, std::vector<float>* q_scratch,
                 std::vector<float>* s_scratch) {
  const int64_t Dh = c.head_dim, Dv = c.value_dim, H = c.q_dim(), Hv = c.attn_out_dim();
  const int64_t group = c.n_head / c.n_head_kv;
  const WeightKernels& kvk = kernels.weights[static_cast<int>(kv.storage_type())];
  const uint64_t elem = kv.storage_type() == GgmlType::kF16 ? 2 : 4;
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));  // as AttendHeads
  const int64_t chunks = (T + kAttnChunk - 1) / kAttnChunk;
  const int64_t n_out_max = kAttnChunk * group, keys_max = p0 + T;
  q_scratch->resize(static_cast<size_t>(pool->size()) * n_out_max * Dh);
  s_scratch->resize(static_cast<size_t>(pool->size()) * n_out_max * keys_max);
  pool->ParallelFor(c.n_head_kv * chunks, 1, [&](int64_t b, int64_t e, int thread) {
    float* qs = q_scratch->data() + thread * n_out_max * Dh;  // [n_out][Dh]: output o = (token, head)
    float* s = s_scratch->data() + thread * n_out_max * keys_max;  // [n_out][n_keys] scores, then weights
    std::vector<float*> y(n_out_max);
    for (int64_t task = b; task < e; ++task) {
      const int64_t g = task / chunks, t0 = (task % chunks) * kAttnChunk, t1 = std::min(T, t0 + kAttnChunk);
      const int64_t n_out = (t1 - t0) * group, n_keys = p0 + t1;
      for (int64_t o = 0; o < n_out; ++o) {
        const int64_t t = t0 + o / group, h = g * group + o % group;
        std::memcpy(qs + o * Dh, q + t * H + h * Dh, Dh * sizeof(float));
        y[o] = out + t * Hv + h * Dv;
        std::memset(y[o], 0, Dv * sizeof(float));
      }
      kvk.gemm(kv.KeyRow(il, 0) + g * Dh * elem, kv.key_row_bytes(), n_keys, Dh, qs, Dh * sizeof(float), n_out, s,
               n_keys);
      for (int64_t o = 0; o < n_out; ++o) {
        const int64_t n_vis = p0 + t0 + o / group + 1;
        float* so = s + o * n_keys;
        for (int64_t i = 0; i < n_vis; ++i) so[i] *= scale;
        Softmax(so, n_vis);
        std::fill(so + n_vis, so + n_keys, 0.0f);
      }
      kvk.axpy_multi(kv.ValueRow(il, 0) + g * Dv * elem, kv.value_row_bytes(), nullptr, n_keys, s, n_keys, n_out, Dv,
                     y.data());
    }
  });
}

}  // namespace

Decoder::~Decoder() = default;

Result<const float*> Decoder::Prefill(std::span<const int32_t> tokens, uint32_t pos0, std::vector<float>* all_logits) {
  if (tokens.empty()) return InvalidArgument("Prefill: no tokens");
  for (size_t i = 0; i < tokens.size(); ++i) {
    ST_RETURN_IF_ERROR(CheckTokenAndPosition(tokens[i], pos0 + static_cast<uint32_t>(i)));
  }
  const ModelConfig& c = config_;
  const int64_t E = c.n_embd, F = c.n_ff_exp, H = c.q_dim(), K = c.k_dim(), Kv = c.v_dim(), Hv = c.attn_out_dim();
  const int64_t kk = c.n_expert_used, X = c.n_expert;
  // An offloaded cache must hold every expert a batch uses at once; with fewer slots, go token by
  // token (the same arithmetic).
  if (experts_->offloaded() && plan_.n_slots < static_cast<uint64_t>(X + kk)) {
    const float* last = nullptr;
    for (size_t i = 0; i < tokens.size(); ++i) {
      const bool want = all_logits != nullptr || i + 1 == tokens.size();
      ST_ASSIGN_OR_RETURN(last, Forward(tokens[i], pos0 + static_cast<uint32_t>(i), want));
      if (all_logits != nullptr) all_logits->insert(all_logits->end(), last, last + c.n_vocab);
    }
    return last;
  }
  if (!batch_) batch_ = std::make_unique<BatchState>();
  BatchState& bs = *batch_;
  // Independent per-token steps (norms, residual adds, RoPE) across the threads: the arithmetic of
  // each token is unchanged, and they would otherwise leave the other threads waiting.
  auto PerToken = [&](int64_t n, const auto& fn) {
    pool_->ParallelFor(n, 16, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) fn(t);
    });
  };

  for (size_t chunk = 0; chunk < tokens.size(); chunk += batch_size_) {
    const int64_t T = std::min<int64_t>(batch_size_, static_cast<int64_t>(tokens.size() - chunk));
    const uint32_t p0 = pos0 + static_cast<uint32_t>(chunk);
    bs.Reserve(c, T);

    // x_t = token_embd[token_t]                                                  [T][E]
    const WeightMatrix& embd = w_.token_embd;
    for (int64_t t = 0; t < T; ++t) {
      kernels_.weights[static_cast<int>(embd.type)].dequantize(embd.Row(tokens[chunk + t]), E, bs.x.data() + t * E);
    }
    stats_.weight_bytes += T * embd.row_bytes;

    for (uint32_t il = 0; il < c.n_layer; ++il) {
      const LayerWeights& L = w_.layers[il];
      // 1. Router on the raw inputs; every token keeps its own experts and weights.
      {
        BatchActivation in(kernels_, bs.x.data(), E, T);
        MatMul(kernels_, pool_.get(), L.router, in, bs.router.data());
        stats_.weight_bytes += L.router.bytes();
        for (int64_t t = 0; t < T; ++t) {
          SelectExperts(bs.router.data() + t * X, static_cast<int32_t>(X), static_cast<int32_t>(kk), c.gating, &bs.sel[t]);
        }
      }
      // 2. Prefetch point: the union of the batch's experts, grouped by expert.
      std::vector<int64_t> count(X + 1, 0);
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t j = 0; j < kk; ++j) ++count[bs.sel[t].experts[j]];
      }
      bs.pair_start[0] = 0;
      std::vector<int32_t> used;
      for (int64_t e = 0; e < X; ++e) {
        bs.pair_start[e + 1] = bs.pair_start[e] + count[e];
        if (count[e] > 0) used.push_back(static_cast<int32_t>(e));
      }
      std::vector<int64_t> fill(bs.pair_start.begin(), bs.pair_start.end() - 1);
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t j = 0; j < kk; ++j) {
          const int64_t p = fill[bs.sel[t].experts[j]]++;
          bs.pair_token[p] = static_cast<int32_t>(t);
          bs.pair_of[t * kk + j] = static_cast<int32_t>(p);
        }
      }
      experts_->Prefetch(il, used);

      // 3. Attention: projections as GEMMs, then every token attends as in Forward (batched where
      //    the cache allows, see AttendBatch).
      PerToken(T, [&](int64_t t) {
        RmsNorm(bs.x.data() + t * E, L.attn_norm.data(), E, c.rms_eps, bs.xn.data() + t * E);
      });
      {
        BatchActivation h(kernels_, bs.xn.data(), E, T);
        MatMul(kernels_, pool_.get(), L.attn_q, h, bs.q.data());
        MatMul(kernels_, pool_.get(), L.attn_k, h, bs.k.data());
        MatMul(kernels_, pool_.get(), L.attn_v, h, bs.v.data());
      }
      stats_.weight_bytes += L.attn_q.bytes() + L.attn_k.bytes() + L.attn_v.bytes() + L.attn_output.bytes();
      PerToken(T, [&](int64_t t) { RotateQK(il, p0 + t, bs.q.data() + t * H, bs.k.data() + t * K); });
      const uint32_t n_ctx = kv_.n_ctx();
      if (p0 + T <= kv_.Capacity(il)) {
        // No slot of this batch is reused within it: store all, then attend in parallel.
        for (int64_t t = 0; t < T; ++t) kv_.Store(il, p0 + t, bs.k.data() + t * K, bs.v.data() + t * Kv);
        if (kv_.FirstVisible(il, p0 + T - 1) == 0) {  // every token sees slots [0, its position]
          AttendBatch(kernels_, kv_, c, pool_.get(), il, p0, T, bs.q.data(), bs.attn.data(), &bs.att_q, &bs.att_scores);
        } else {
          pool_->ParallelFor(T * c.n_head, 1, [&](int64_t b, int64_t e, int thread) {
            for (int64_t i = b; i < e; ++i) {
              const int64_t t = i / c.n_head, h = i % c.n_head;
              AttendHeads(il, p0 + t, bs.q.data() + t * H, h, h + 1,
                          scores_.data() + static_cast<size_t>(thread) * n_ctx, bs.attn.data() + t * Hv);
            }
          });
        }
      } else {
        // A ring buffer wraps inside this batch: store and attend token by token.
        for (int64_t t = 0; t < T; ++t) {
          kv_.Store(il, p0 + t, bs.k.data() + t * K, bs.v.data() + t * Kv);
          pool_->ParallelFor(c.n_head, 1, [&](int64_t h0, int64_t h1, int thread) {
            AttendHeads(il, p0 + t, bs.q.data() + t * H, h0, h1, scores_.data() + static_cast<size_t>(thread) * n_ctx,
                        bs.attn.data() + t * Hv);
          });
        }
      }
      {
        BatchActivation o(kernels_, bs.attn.data(), Hv, T);
        MatMul(kernels_, pool_.get(), L.attn_output, o, bs.proj.data());
      }

      // 4. Experts: gate and up once per expert for all its tokens, then down expert by expert.
      PerToken(T, [&](int64_t t) {
        float* x = bs.x.data() + t * E;
        const float* proj = bs.proj.data() + t * E;
        for (int64_t i = 0; i < E; ++i) x[i] += proj[i];
        RmsNorm(x, L.ffn_norm.data(), E, c.rms_eps, bs.xn.data() + t * E);
      });
      std::vector<ExpertWeights> ew(X);
      for (size_t i = 0; i < used.size(); ++i) {
        auto a = experts_->Acquire(il, used[i]);
        if (!a.ok()) {
          for (int32_t e : used) experts_->Release(il, e);
          return a.status();
        }
        ew[used[i]] = *a;
      }
      BatchActivation u(kernels_, bs.xn.data(), E, T);
      const WeightKernels& gk = kernels_.weights[static_cast<int>(ew[used[0]].gate.type)];
      const WeightKernels& uk = kernels_.weights[static_cast<int>(ew[used[0]].up.type)];
      const uint8_t* u_gate = u.As(gk.act_type, pool_.get());
      const uint8_t* u_up = u.As(uk.act_type, pool_.get());
      const uint64_t gstride = u.Stride(gk.act_type), ustride = u.Stride(uk.act_type);
      pool_->ParallelFor(static_cast<int64_t>(used.size()), 1, [&](int64_t b, int64_t e) {
        std::vector<uint8_t> ga, ua;
        for (int64_t i = b; i < e; ++i) {
          const int32_t ex = used[i];
          const int64_t p0e = bs.pair_start[ex], n = bs.pair_start[ex + 1] - p0e;
          // Gather this expert's tokens' activations contiguously.
          ga.resize(n * gstride);
          ua.resize(n * ustride);
          for (int64_t q = 0; q < n; ++q) {
            std::memcpy(ga.data() + q * gstride, u_gate + bs.pair_token[p0e + q] * gstride, gstride);
            std::memcpy(ua.data() + q * ustride, u_up + bs.pair_token[p0e + q] * ustride, ustride);
          }
          gk.gemm(ew[ex].gate.data, ew[ex].gate.row_bytes, F, E, ga.data(), gstride, n, bs.gate.data() + p0e * F, F);
          uk.gemm(ew[ex].up.data, ew[ex].up.row_bytes, F, E, ua.data(), ustride, n, bs.up.data() + p0e * F, F);
        }
      });
      for (int32_t ex : used) stats_.weight_bytes += ew[ex].gate.bytes() + ew[ex].up.bytes() + ew[ex].down.bytes();
      // Down coefficients per (token, slot) pair, dense over F: zero for inactive neurons (gate <= 0),
      // otherwise what Forward computes for its active rows.
      const bool transposed = w_.down_layout == DownLayout::kTransposed;
      std::vector<int64_t> n_active(pool_->size(), 0);
      pool_->ParallelFor(T * kk, 16, [&](int64_t b, int64_t e, int thread) {
        for (int64_t i = b; i < e; ++i) {
          const int64_t p = bs.pair_of[i];
          const float* g = bs.gate.data() + p * F;
          const float* up = bs.up.data() + p * F;
          float* cf = bs.coef.data() + p * F;
          const float wj = bs.sel[i / kk].weights[i % kk];
          n_active[thread] += transposed ? DownCoefficients<true>(g, up, wj, F, cf)
                                         : DownCoefficients<false>(g, up, wj, F, cf);
        }
      });
      stats_.expert_neurons += static_cast<uint64_t>(T * kk * F);
      for (int64_t v : n_active) stats_.expert_neurons_active += v;
      const WeightKernels& dk = kernels_.weights[static_cast<int>(ew[used[0]].down.type)];
      if (transposed) {
        // moe_t = sum over token t's experts in ascending id, each over its active rows in ascending
        // order, as Forward adds them. Expert by expert, so each row of DownT_e is dequantized once
        // for all its tokens (axpy_multi); one block-aligned column range per thread.
        std::fill(bs.moe.begin(), bs.moe.begin() + T * E, 0.0f);
        const int64_t bsz = TraitsOf(ew[used[0]].down.type).block_size, blocks = E / bsz;
        pool_->ParallelFor(blocks, (blocks + pool_->size() - 1) / pool_->size(), [&](int64_t b0, int64_t b1) {
          const int64_t c0 = b0 * bsz, n = (b1 - b0) * bsz;
          std::vector<float*> y(T);
          for (int32_t ex : used) {
            const int64_t p0e = bs.pair_start[ex], np = bs.pair_start[ex + 1] - p0e;
            for (int64_t q = 0; q < np; ++q) y[q] = bs.moe.data() + bs.pair_token[p0e + q] * E + c0;
            const WeightMatrix& d = ew[ex].down;
            dk.axpy_multi(d.data + RowBytes(d.type, c0), d.row_bytes, nullptr, F, bs.coef.data() + p0e * F, F, np, n,
                          y.data());
          }
        });
      } else {
        // y_pair = Down_e · hidden_pair as a GEMM per expert, then the weighted sum per token.
        bs.eout.resize(static_cast<size_t>(T) * kk * E);
        for (int32_t ex : used) {
          const int64_t p0e = bs.pair_start[ex], n = bs.pair_start[ex + 1] - p0e;
          BatchActivation h(kernels_, bs.coef.data() + p0e * F, F, n);
          MatMul(kernels_, pool_.get(), ew[ex].down, h, bs.eout.data() + p0e * E);
        }
        for (int64_t t = 0; t < T; ++t) {
          float* y = bs.moe.data() + t * E;
          std::fill(y, y + E, 0.0f);
          for (int64_t j = 0; j < kk; ++j) {
            const float wj = bs.sel[t].weights[j];
            const float* eo = bs.eout.data() + bs.pair_of[t * kk + j] * E;
            for (int64_t i = 0; i < E; ++i) y[i] += wj * eo[i];
          }
        }
      }
      for (int32_t e : used) experts_->Release(il, e);
      PerToken(T, [&](int64_t t) {
        float* x = bs.x.data() + t * E;
        const float* moe = bs.moe.data() + t * E;
        for (int64_t i = 0; i < E; ++i) x[i] += moe[i];
      });
    }
    stats_.tokens += T;

    // 5. LM head: every position (exact, as one GEMM) or only the chunk's last.
    if (all_logits != nullptr) {
      PerToken(T, [&](int64_t t) {
        RmsNorm(bs.x.data() + t * E, w_.output_norm.data(), E, c.rms_eps, bs.xn.data() + t * E);
      });
      bs.logits.resize(static_cast<size_t>(T) * c.n_vocab);
      BatchActivation in(kernels_, bs.xn.data(), E, T);
      MatMul(kernels_, pool_.get(), w_.output, in, bs.logits.data());
      stats_.lm_head_calls += T;
      stats_.lm_head_rows += static_cast<uint64_t>(T) * c.n_vocab;
      stats_.weight_bytes += w_.output.bytes();
      all_logits->insert(all_logits->end(), bs.logits.begin(), bs.logits.begin() + T * c.n_vocab);
      std::copy(bs.logits.begin() + (T - 1) * c.n_vocab, bs.logits.begin() + T * c.n_vocab, logits_.begin());
    } else if (chunk + T == tokens.size()) {
      std::copy(bs.x.begin() + (T - 1) * E, bs.x.begin() + T * E, x_.begin());
      LmHead(LmHeadMode::kExact);
    }
  }
  return static_cast<const float*>(logits_.data());
}

}  // namespace st
