// Decoder::MoeFfn: the selected ReGLU experts of every token, weighted by its router (spec §4.2.6
// and §5.1).
//
// y_e = Down_e · (ReLU(Gate_e · u) ⊙ (Up_e · u)). A neuron whose gate is <= 0 contributes exactly
// zero, so its up row and its down row are skipped. With the transposed down layout (row n = what
// neuron n adds) the output is an axpy over the active rows only; with the normal layout the down
// rows run along E, so the whole matrix is read (a GEMM over a mostly-zero hidden vector).
//
// Work is grouped by expert, so each expert's rows are read once per step for all the tokens that
// chose it: its gate rows as one GEMM over those tokens. Then, by how many tokens chose it:
//   one token (decoding):            that token's active up and down rows only ("single");
//   a few (sequences decoding together): the union of their active rows, each row read once for
//                                    all of them, inactive neurons with zero coefficients ("union");
//   many (a prompt):                 every up row as a GEMM, inactive neurons zeroed ("dense").
// Every kernel gives each token's active neurons the same bits, and the down step skips zero
// coefficients, so a token's result does not depend on which path its experts took. Every token
// adds its experts in ascending expert id.
#include <algorithm>
#include <cstring>

#include "runtime/batch.h"
#include "runtime/decoder.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {
namespace {

// Experts chosen by at most this many tokens take the union path: about 30% of an expert's rows are
// active per token, so the union of 3 tokens' rows is about 2/3 of them, and from 4 on reading
// every row with one GEMM is as cheap.
constexpr int64_t kSparseMaxTokens = 3;

// Down coefficients of one pair over its F neurons: cf[n] = wj * (g[n] * up[n]) (transposed layout;
// g[n] * up[n] for the normal one) where g[n] > 0, else +0.0f. Returns how many are active.
// Branch-free: about 30% of neurons are active, at random, and a select compiles to a jump that
// mispredicts.
template <bool kScaled>
int64_t DenseCoefficients(const float* g, const float* up, float wj, int64_t F, float* cf) {
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

enum class Path : uint8_t { kSingle, kUnion, kDense };

// A run of work items of one ParallelFor that spans several experts or pairs.
struct Segment {
  int32_t index;  // the pair (single) or the expert (union, dense)
  Path path;
  int64_t begin;  // first item of the segment in the flat item space
};

// Calls fn(segment, offset within it, count) for the items [b, e) of a segmented item space.
template <typename Fn>
void ForSegments(const std::vector<Segment>& segs, int64_t total, int64_t b, int64_t e, const Fn& fn) {
  size_t s = std::upper_bound(segs.begin(), segs.end(), b, [](int64_t v, const Segment& x) { return v < x.begin; }) -
             segs.begin() - 1;
  while (b < e) {
    const int64_t end = s + 1 < segs.size() ? segs[s + 1].begin : total;
    const int64_t n = std::min(e, end) - b;
    if (n > 0) fn(segs[s], b - segs[s].begin, n);
    b += n;
    ++s;
  }
}

}  // namespace

Status Decoder::MoeFfn(uint32_t il) {
  Batch& b = *b_;
  const LayerWeights& L = w_.layers[il];
  const ModelConfig& c = config_;
  const int64_t E = c.n_embd, F = c.n_ff_exp, kk = c.n_expert_used, T = b.T;
  const std::vector<int32_t>& used = b.used;

  // The experts' weights: mapped, or (offloaded) waiting here for reads started at the prefetch point.
  if (!prefetch_) experts_->Prefetch(il, used);  // on demand: reads start only now
  std::vector<ExpertWeights> ew(c.n_expert);
  for (int32_t e : used) {
    auto acquired = experts_->Acquire(il, e);
    if (!acquired.ok()) {  // a failed read: give back this layer's reservations and stop
      for (int32_t r : used) experts_->Release(il, r);
      return acquired.status();
    }
    ew[e] = *acquired;
  }
  auto pairs_of = [&](int32_t e) { return b.pair_start[e + 1] - b.pair_start[e]; };
  auto slot_weight = [&](int64_t p) { return b.sel[b.pair_token[p]].weights[b.pair_slot[p]]; };  // pair p's router weight

  // u_t = RMSNorm(x_t) * ffn_norm                                              [T][E]
  ForEachToken(pool_.get(), T, [&](int64_t t) {
    RmsNorm(b.x.data() + t * E, L.ffn_norm.data(), E, c.rms_eps, b.xn.data() + t * E);
  });
  BatchActivation u(kernels_, b.xn.data(), E, T);
  const WeightKernels& gk = kernels_.weights[static_cast<int>(ew[used[0]].gate.type)];
  const WeightKernels& uk = kernels_.weights[static_cast<int>(ew[used[0]].up.type)];
  const uint8_t* u_gate = u.As(gk.act_type, pool_.get());
  const uint8_t* u_up = u.As(uk.act_type, pool_.get());
  const uint64_t gstride = u.Stride(gk.act_type), ustride = u.Stride(uk.act_type);
  // Each expert's tokens' inputs contiguous (a single token is used in place).
  std::vector<const uint8_t*> act_gate(c.n_expert), act_up(c.n_expert);
  {
    uint64_t need = 0;
    for (int32_t e : used) need += pairs_of(e) > 1 ? pairs_of(e) * (gstride + ustride) : 0;
    b.gathered.resize(need);
    uint8_t* at = b.gathered.data();
    for (int32_t e : used) {
      const int64_t p0 = b.pair_start[e], n = pairs_of(e);
      if (n == 1) {
        act_gate[e] = u_gate + b.pair_token[p0] * gstride;
        act_up[e] = u_up + b.pair_token[p0] * ustride;
        continue;
      }
      act_gate[e] = at;
      for (int64_t q = 0; q < n; ++q) std::memcpy(at + q * gstride, u_gate + b.pair_token[p0 + q] * gstride, gstride);
      at += n * gstride;
      act_up[e] = at;
      for (int64_t q = 0; q < n; ++q) std::memcpy(at + q * ustride, u_up + b.pair_token[p0 + q] * ustride, ustride);
      at += n * ustride;
    }
  }

  auto path_of = [&](int32_t e) {
    const int64_t np = pairs_of(e);
    return np == 1 ? Path::kSingle : np <= kSparseMaxTokens ? Path::kUnion : Path::kDense;
  };
  // 1. gate_p = Gate_e · u_t for every neuron of every pair, rows of each expert once   [P][F]
  //    (a dense expert computes its up rows in the same task: it needs no active set)
  auto gate_rows = [&](int32_t e, int64_t r, int64_t n) {
    float* out = b.gate.data() + b.pair_start[e] * F + r;
    if (pairs_of(e) == 1) {
      gk.gemv(ew[e].gate.Row(r), ew[e].gate.row_bytes, n, E, act_gate[e], out);
    } else {
      gk.gemm(ew[e].gate.Row(r), ew[e].gate.row_bytes, n, E, act_gate[e], gstride, pairs_of(e), out, F);
    }
  };
  if (T == 1) {
    // Decoding: every thread one contiguous range of the k experts' gate rows (long streams).
    const int64_t n_gate = static_cast<int64_t>(used.size()) * F;
    pool_->ParallelFor(n_gate, StreamGrain(n_gate, *pool_, used.size() * ew[used[0]].gate.bytes()),
                       [&](int64_t lo, int64_t hi) {
      while (lo < hi) {
        const int64_t r = lo % F, n = std::min(hi - lo, F - r);
        gate_rows(used[lo / F], r, n);
        lo += n;
      }
    });
  } else {
    // Several tokens: experts carry very different numbers of tokens, so threads take whole
    // experts as they come (dynamic), the busiest first.
    std::vector<int32_t> order(used.begin(), used.end());
    std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return pairs_of(x) > pairs_of(y); });
    pool_->ParallelFor(static_cast<int64_t>(order.size()), 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const int32_t e = order[i];
        gate_rows(e, 0, F);
        if (path_of(e) == Path::kDense) {
          uk.gemm(ew[e].up.data, ew[e].up.row_bytes, F, E, act_up[e], ustride, pairs_of(e),
                  b.up.data() + b.pair_start[e] * F, F);
        }
      }
    });
  }
  for (int32_t e : used) stats_.weight_bytes += ew[e].gate.bytes();

  // 2. up rows: a single pair's active neurons (compact), a union expert's union of its pairs'
  //    active neurons (compact, the same rows for each pair); a dense expert's every row was
  //    computed with its gate                                                          [P][F]
  auto active_rows = [&](const float* g, std::vector<int32_t>* act) {
    for (int64_t n = 0; n < F; ++n) {
      // Dense baseline: every neuron takes part (an inactive one with a zero coefficient).
      if (g[n] > 0.0f || dense_experts_) act->push_back(static_cast<int32_t>(n));
    }
  };
  std::vector<Segment> segs;
  int64_t n_up = 0;
  b.expert_rows.resize(c.n_expert);
  for (int32_t e : used) {
    const int64_t p0 = b.pair_start[e], np = pairs_of(e);
    switch (path_of(e)) {
      case Path::kDense:
        segs.push_back({e, Path::kDense, n_up});  // no items: computed with its gate
        stats_.weight_bytes += ew[e].up.bytes();
        break;
      case Path::kSingle: {
        std::vector<int32_t>& act = b.active[p0];
        act.clear();
        active_rows(b.gate.data() + p0 * F, &act);
        segs.push_back({static_cast<int32_t>(p0), Path::kSingle, n_up});
        n_up += static_cast<int64_t>(act.size());
        stats_.weight_bytes += act.size() * ew[e].up.row_bytes;
        break;
      }
      case Path::kUnion: {
        // Rows active for any of the expert's pairs, ascending.
        std::vector<int32_t>& rows = b.expert_rows[e];
        rows.clear();
        for (int64_t n = 0; n < F; ++n) {
          bool any = dense_experts_;
          for (int64_t p = p0; p < p0 + np; ++p) any |= b.gate[p * F + n] > 0.0f;
          if (any) rows.push_back(static_cast<int32_t>(n));
        }
        segs.push_back({e, Path::kUnion, n_up});
        n_up += static_cast<int64_t>(rows.size());
        stats_.weight_bytes += rows.size() * ew[e].up.row_bytes;
        break;
      }
    }
  }
  const uint64_t up_bytes = static_cast<uint64_t>(n_up) * ew[used[0]].up.row_bytes;
  pool_->ParallelFor(n_up, StreamGrain(n_up, *pool_, up_bytes), [&](int64_t lo, int64_t hi) {
    ForSegments(segs, n_up, lo, hi, [&](const Segment& s, int64_t off, int64_t n) {
      switch (s.path) {
        case Path::kDense:
          break;  // with its gate (step 1)
        case Path::kSingle: {
          const int64_t p = s.index;
          const int32_t e = b.pair_expert[p];
          uk.gemv_indexed(ew[e].up.data, ew[e].up.row_bytes, b.active[p].data() + off, n, E,
                          u_up + b.pair_token[p] * ustride, b.up.data() + p * F + off);
          break;
        }
        case Path::kUnion: {  // each union row once for all the expert's tokens
          const int32_t e = s.index;
          const std::vector<int32_t>& rows = b.expert_rows[e];
          thread_local std::vector<uint8_t> scratch;
          GemmGathered(uk, ew[e].up, rows.data() + off, n, act_up[e], ustride, pairs_of(e),
                       b.up.data() + b.pair_start[e] * F + off, F, &scratch);
          break;
        }
      }
    });
  });

  // 3. down coefficients per pair; then the down step, weighted by the router.
  const bool transposed = w_.down_layout == DownLayout::kTransposed;
  const int64_t P = T * kk;
  stats_.expert_neurons += static_cast<uint64_t>(P * F);
  // Per pair, in parallel for a prompt's many pairs (each pair's arithmetic is the same either way).
  std::vector<int64_t> n_on(pool_->size(), 0);
  pool_->ParallelFor(P, P >= 64 ? 16 : P, [&](int64_t lo, int64_t hi, int thread) {
    for (int64_t p = lo; p < hi; ++p) {
      const int32_t e = b.pair_expert[p];
      const Path path = path_of(e);
      const float* g = b.gate.data() + p * F;
      const float* up = b.up.data() + p * F;
      float* cf = b.coef.data() + p * F;
      const float wj = transposed ? slot_weight(p) : 1.0f;
      if (path == Path::kDense) {
        n_on[thread] += transposed ? DenseCoefficients<true>(g, up, wj, F, cf) : DenseCoefficients<false>(g, up, wj, F, cf);
        continue;
      }
      // Compact over the pair's rows (single) or the expert's union (a zero where this pair's
      // neuron is inactive).
      const std::vector<int32_t>& rows = path == Path::kSingle ? b.active[p] : b.expert_rows[e];
      if (!transposed) std::fill(cf, cf + F, 0.0f);  // the dense hidden vector of the normal layout
      for (size_t i = 0; i < rows.size(); ++i) {
        const float gv = g[rows[i]];
        n_on[thread] += gv > 0.0f;
        if (transposed) {
          cf[i] = gv > 0.0f ? wj * (gv * up[i]) : 0.0f;
        } else if (gv > 0.0f) {
          cf[rows[i]] = gv * up[i];
        }
      }
    }
  });
  for (int64_t v : n_on) stats_.expert_neurons_active += v;

  const WeightKernels& dk = kernels_.weights[static_cast<int>(ew[used[0]].down.type)];
  if (transposed) {
    // moe_t = sum over t's experts in ascending id, each over its active rows in ascending order.
    // Expert by expert, so each row of DownT_e is read once for all its tokens (axpy_multi skips
    // zero coefficients); one block-aligned column range per thread.
    std::fill(b.moe.begin(), b.moe.begin() + T * E, 0.0f);
    uint64_t down_bytes = 0;
    for (const Segment& s : segs) {
      switch (s.path) {
        case Path::kDense: down_bytes += ew[s.index].down.bytes(); break;
        case Path::kSingle: down_bytes += b.active[s.index].size() * ew[b.pair_expert[s.index]].down.row_bytes; break;
        case Path::kUnion: down_bytes += b.expert_rows[s.index].size() * ew[s.index].down.row_bytes; break;
      }
    }
    stats_.weight_bytes += down_bytes;
    const int64_t bsz = TraitsOf(ew[used[0]].down.type).block_size, blocks = E / bsz;
    pool_->ParallelFor(blocks, StreamGrain(blocks, *pool_, down_bytes), [&](int64_t b0, int64_t b1) {
      const int64_t c0 = b0 * bsz, n = (b1 - b0) * bsz;
      std::vector<float*> y(T);
      for (int32_t e : used) {
        const WeightMatrix& d = ew[e].down;
        const uint8_t* w = d.data + RowBytes(d.type, c0);
        const int64_t p0 = b.pair_start[e], np = pairs_of(e);
        for (int64_t q = 0; q < np; ++q) y[q] = b.moe.data() + b.pair_token[p0 + q] * E + c0;
        switch (path_of(e)) {
          case Path::kDense:
            dk.axpy_multi(w, d.row_bytes, nullptr, F, b.coef.data() + p0 * F, F, np, n, y.data());
            break;
          case Path::kSingle:
            dk.axpy_multi(w, d.row_bytes, b.active[p0].data(), static_cast<int64_t>(b.active[p0].size()),
                          b.coef.data() + p0 * F, F, 1, n, y.data());
            break;
          case Path::kUnion:
            dk.axpy_multi(w, d.row_bytes, b.expert_rows[e].data(), static_cast<int64_t>(b.expert_rows[e].size()),
                          b.coef.data() + p0 * F, F, np, n, y.data());
            break;
        }
      }
    });
  } else {
    // y_p = Down_e · hidden_p as a GEMM per expert over its pairs, then each token's weighted sum
    // in its selection order.
    b.eout.resize(static_cast<size_t>(P) * E);
    for (int32_t e : used) {
      const int64_t p0 = b.pair_start[e];
      BatchActivation h(kernels_, b.coef.data() + p0 * F, F, pairs_of(e));
      MatMul(kernels_, pool_.get(), ew[e].down, h, b.eout.data() + p0 * E);
      stats_.weight_bytes += ew[e].down.bytes();
    }
    for (int64_t t = 0; t < T; ++t) {
      float* y = b.moe.data() + t * E;
      std::fill(y, y + E, 0.0f);
      for (int64_t j = 0; j < kk; ++j) {
        const float wj = b.sel[t].weights[j];
        const float* eo = b.eout.data() + static_cast<int64_t>(b.pair_of[t * kk + j]) * E;
        for (int64_t i = 0; i < E; ++i) y[i] += wj * eo[i];
      }
    }
  }
  for (int32_t e : used) experts_->Release(il, e);
  ForEachToken(pool_.get(), T, [&](int64_t t) {
    float* x = b.x.data() + t * E;
    const float* m = b.moe.data() + t * E;
    for (int64_t i = 0; i < E; ++i) x[i] += m[i];
  });
  return Status::Ok();
}

}  // namespace st
