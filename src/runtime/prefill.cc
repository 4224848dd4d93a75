// Decoder::Prefill: a prompt in batches, layer by layer for all tokens of a batch at once.
//
// The arithmetic is Forward()'s, reorganised so each weight matrix is read once per batch: the
// projections are GEMMs over the batch (bit-identical to the single-token GEMVs), experts are
// grouped by the tokens that chose them (each expert's gate and up rows read once per batch), and
// every token keeps its own routing weights. Attention and the down step run per token exactly as
// in Forward. So Prefill's logits equal Forward's bit for bit.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "runtime/batch_state.h"
#include "runtime/decoder.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {

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

      // 3. Attention: projections as GEMMs, then each token attends exactly as in Forward.
      for (int64_t t = 0; t < T; ++t) RmsNorm(bs.x.data() + t * E, L.attn_norm.data(), E, c.rms_eps, bs.xn.data() + t * E);
      {
        BatchActivation h(kernels_, bs.xn.data(), E, T);
        MatMul(kernels_, pool_.get(), L.attn_q, h, bs.q.data());
        MatMul(kernels_, pool_.get(), L.attn_k, h, bs.k.data());
        MatMul(kernels_, pool_.get(), L.attn_v, h, bs.v.data());
      }
      stats_.weight_bytes += L.attn_q.bytes() + L.attn_k.bytes() + L.attn_v.bytes() + L.attn_output.bytes();
      for (int64_t t = 0; t < T; ++t) RotateQK(il, p0 + t, bs.q.data() + t * H, bs.k.data() + t * K);
      const uint32_t n_ctx = kv_.n_ctx();
      if (p0 + T <= kv_.Capacity(il)) {
        // No slot of this batch is reused within it: store all, then attend in parallel.
        for (int64_t t = 0; t < T; ++t) kv_.Store(il, p0 + t, bs.k.data() + t * K, bs.v.data() + t * Kv);
        pool_->ParallelFor(T * c.n_head, 1, [&](int64_t b, int64_t e, int thread) {
          for (int64_t i = b; i < e; ++i) {
            const int64_t t = i / c.n_head, h = i % c.n_head;
            AttendHeads(il, p0 + t, bs.q.data() + t * H, h, h + 1, scores_.data() + static_cast<size_t>(thread) * n_ctx,
                        bs.attn.data() + t * Hv);
          }
        });
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
      for (int64_t i = 0; i < T * E; ++i) bs.x[i] += bs.proj[i];

      // 4. Experts: gate and up once per expert for all its tokens, down per token.
      for (int64_t t = 0; t < T; ++t) RmsNorm(bs.x.data() + t * E, L.ffn_norm.data(), E, c.rms_eps, bs.xn.data() + t * E);
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
      // Active neurons and down coefficients per pair, as Forward computes them.
      const bool transposed = w_.down_layout == DownLayout::kTransposed;
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t j = 0; j < kk; ++j) {
          const int64_t p = bs.pair_of[t * kk + j];
          const float* g = bs.gate.data() + p * F;
          const float* up = bs.up.data() + p * F;
          std::vector<int32_t>& act = bs.active[p];
          act.clear();
          for (int64_t n = 0; n < F; ++n) {
            if (g[n] > 0.0f) act.push_back(static_cast<int32_t>(n));
          }
          stats_.expert_neurons += F;
          stats_.expert_neurons_active += act.size();
          float* cf = bs.coef.data() + p * F;
          if (transposed) {
            const float wj = bs.sel[t].weights[j];
            for (size_t i = 0; i < act.size(); ++i) cf[i] = wj * (g[act[i]] * up[act[i]]);
          } else {
            std::fill(cf, cf + F, 0.0f);
            for (int32_t n : act) cf[n] = g[n] * up[n];
          }
        }
      }
      const WeightKernels& dk = kernels_.weights[static_cast<int>(ew[used[0]].down.type)];
      if (transposed) {
        // moe_t = sum_j sum_{active i} coef * DownT[i], experts in selection order (as Forward).
        pool_->ParallelFor(T, 1, [&](int64_t b, int64_t e) {
          for (int64_t t = b; t < e; ++t) {
            float* y = bs.moe.data() + t * E;
            std::fill(y, y + E, 0.0f);
            for (int64_t j = 0; j < kk; ++j) {
              const int64_t p = bs.pair_of[t * kk + j];
              const WeightMatrix& d = ew[bs.sel[t].experts[j]].down;
              dk.axpy_indexed(d.data, d.row_bytes, bs.active[p].data(), bs.coef.data() + p * F,
                              static_cast<int64_t>(bs.active[p].size()), E, y);
            }
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
      for (int64_t i = 0; i < T * E; ++i) bs.x[i] += bs.moe[i];
    }
    stats_.tokens += T;

    // 5. LM head: every position (exact, as one GEMM) or only the chunk's last.
    if (all_logits != nullptr) {
      for (int64_t t = 0; t < T; ++t) {
        RmsNorm(bs.x.data() + t * E, w_.output_norm.data(), E, c.rms_eps, bs.xn.data() + t * E);
      }
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
