// Decoder::MoeFfn: the selected ReGLU experts, weighted by the router (spec §4.2.6 and §5.1).
//
// y_e = Down_e · (ReLU(Gate_e · u) ⊙ (Up_e · u)). A neuron whose gate is <= 0 contributes exactly
// zero, so its up row and its down row are skipped: gate rows are all computed, up rows only for
// active neurons, and with the transposed down layout (row n = what neuron n adds) the output is
// an axpy over the active rows only. With the normal layout the down rows run along E, so the whole
// matrix is read (dense gemv over a mostly-zero hidden vector).
//
// Three parallel steps for all k experts together: gate rows, active up rows, then the down step
// split by output columns (transposed) or rows (normal). Each output value is reduced by one thread
// in a fixed order.
#include <algorithm>
#include <cstring>

#include "runtime/decoder.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {

Status Decoder::MoeFfn(uint32_t il) {
  const LayerWeights& L = w_.layers[il];
  const ModelConfig& c = config_;
  const int64_t E = c.n_embd, F = c.n_ff_exp;
  const int64_t k = static_cast<int64_t>(selection_.experts.size());

  // The experts' weights: mapped, or (offloaded) waiting here for reads started at the prefetch point.
  if (!prefetch_) experts_->Prefetch(il, selection_.experts);  // on demand: reads start only now
  std::vector<ExpertWeights> ew;
  ew.reserve(k);
  for (int64_t j = 0; j < k; ++j) {
    auto acquired = experts_->Acquire(il, selection_.experts[j]);
    if (!acquired.ok()) {  // a failed read: give back this layer's reservations and stop
      for (int64_t r = 0; r < k; ++r) experts_->Release(il, selection_.experts[r]);
      return acquired.status();
    }
    ew.push_back(*acquired);
  }

  // u = RMSNorm(x) * ffn_norm                                                  [E]
  RmsNorm(x_.data(), L.ffn_norm.data(), E, c.rms_eps, xn_.data());
  Activation u(kernels_, xn_.data(), E);
  const WeightKernels& gk = kernels_.weights[static_cast<int>(ew[0].gate.type)];
  const WeightKernels& uk = kernels_.weights[static_cast<int>(ew[0].up.type)];
  const void* u_gate = u.As(gk.act_type);
  const void* u_up = u.As(uk.act_type);

  // 1. gate = Gate_j · u for every neuron of every selected expert                [k][F]
  pool_->ParallelFor(k * F, StreamGrain(k * F, *pool_, k * ew[0].gate.bytes()), [&](int64_t b, int64_t e) {
    while (b < e) {
      const int64_t j = b / F, r = b % F, n = std::min(e - b, F - r);
      gk.gemv(ew[j].gate.Row(r), ew[j].gate.row_bytes, n, E, u_gate, gate_.data() + j * F + r);
      b += n;
    }
  });

  // 2. active neurons (gate > 0), then up rows for those only (compact per expert)  [k][n_active]
  int64_t total_active = 0;
  std::vector<int64_t> start(k + 1, 0);
  for (int64_t j = 0; j < k; ++j) {
    active_[j].clear();
    int64_t n_active = 0;
    for (int64_t n = 0; n < F; ++n) {
      const bool on = gate_[j * F + n] > 0.0f;
      n_active += on;
      // Dense baseline: every neuron takes part (an inactive one with a zero coefficient).
      if (on || dense_experts_) active_[j].push_back(static_cast<int32_t>(n));
    }
    start[j] = total_active;
    total_active += static_cast<int64_t>(active_[j].size());
    stats_.expert_neurons += F;
    stats_.expert_neurons_active += n_active;
  }
  start[k] = total_active;
  pool_->ParallelFor(total_active, StreamGrain(total_active, *pool_, total_active * ew[0].up.row_bytes),
                     [&](int64_t b, int64_t e) {
    while (b < e) {
      int64_t j = 0;
      while (start[j + 1] <= b) ++j;
      const int64_t i = b - start[j], n = std::min(e, start[j + 1]) - b;
      uk.gemv_indexed(ew[j].up.data, ew[j].up.row_bytes, active_[j].data() + i, n, E, u_up, up_.data() + j * F + i);
      b += n;
    }
  });

  // 3. down, weighted by the router: x += sum_j w_j * Down_j · hidden_j           [E]
  const WeightKernels& dk = kernels_.weights[static_cast<int>(ew[0].down.type)];
  std::fill(moe_out_.begin(), moe_out_.end(), 0.0f);
  for (int64_t j = 0; j < k; ++j) {
    const uint64_t row_bytes = ew[j].up.row_bytes;
    stats_.weight_bytes += ew[j].gate.bytes() + active_[j].size() * row_bytes;
  }
  if (w_.down_layout == DownLayout::kTransposed) {
    // coef[i] = w_j * ReLU(gate) * up for active neuron i; y += coef[i] * DownT_j[active[i]].
    for (int64_t j = 0; j < k; ++j) {
      const float wj = selection_.weights[j];
      for (size_t i = 0; i < active_[j].size(); ++i) {
        const float g = gate_[j * F + active_[j][i]];
        coef_[j * F + i] = g > 0.0f ? wj * (g * up_[j * F + i]) : 0.0f;
      }
      stats_.weight_bytes += active_[j].size() * ew[j].down.row_bytes;
    }
    // Split E into one block-aligned column range per thread (long contiguous runs of each row
    // stream well; short ones turn the walk over the rows into scattered loads). Every thread
    // adds the experts in ascending expert id, as Prefill does for a batch (its expert-major
    // axpy_multi gives each token the same bits), so the bits depend neither on the split nor on
    // decode versus prefill.
    const int64_t bs = TraitsOf(ew[0].down.type).block_size;
    const int64_t blocks = E / bs;
    int64_t down_bytes = 0;
    for (int64_t j = 0; j < k; ++j) down_bytes += static_cast<int64_t>(active_[j].size() * ew[j].down.row_bytes);
    const int64_t grain = StreamGrain(blocks, *pool_, down_bytes);
    std::vector<int64_t> order(k);  // ascending expert id
    for (int64_t j = 0; j < k; ++j) order[j] = j;
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return selection_.experts[a] < selection_.experts[b]; });
    pool_->ParallelFor(blocks, grain, [&](int64_t b0, int64_t b1) {
      const int64_t c0 = b0 * bs, n = (b1 - b0) * bs;
      float* y = moe_out_.data() + c0;
      for (int64_t j : order) {
        dk.axpy_multi(ew[j].down.data + RowBytes(ew[j].down.type, c0), ew[j].down.row_bytes, active_[j].data(),
                      static_cast<int64_t>(active_[j].size()), coef_.data() + j * F, F, 1, n, &y);
      }
    });
  } else {
    // Dense hidden vector (zeros for inactive neurons), one gemv per expert over its E rows.
    for (int64_t j = 0; j < k; ++j) {
      float* hidden = coef_.data() + j * F;
      std::fill(hidden, hidden + F, 0.0f);
      for (size_t i = 0; i < active_[j].size(); ++i) {
        const float g = gate_[j * F + active_[j][i]];
        if (g > 0.0f) hidden[active_[j][i]] = g * up_[j * F + i];
      }
      Activation h(kernels_, hidden, F);
      MatVec(kernels_, pool_.get(), ew[j].down, h, expert_out_.data() + j * E);
      stats_.weight_bytes += ew[j].down.bytes();
    }
    for (int64_t j = 0; j < k; ++j) {
      const float wj = selection_.weights[j];
      const float* y = expert_out_.data() + j * E;
      for (int64_t i = 0; i < E; ++i) moe_out_[i] += wj * y[i];
    }
  }
  for (int64_t j = 0; j < k; ++j) experts_->Release(il, selection_.experts[j]);
  for (int64_t i = 0; i < E; ++i) x_[i] += moe_out_[i];
  return Status::Ok();
}

}  // namespace st
