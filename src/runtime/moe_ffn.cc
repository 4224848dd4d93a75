// Decoder::MoeFfn: the selected ReGLU experts, weighted by the router (spec §4.2.6 and §5.1).
//
// y_e = Down_e · (ReLU(Gate_e · u) ⊙ (Up_e · u)). A neuron whose gate is <= 0 contributes exactly
// zero, so skipping its up row and down row is exact.
#include <cstring>

#include "runtime/decoder.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {

Status Decoder::MoeFfn(uint32_t il) {
  const LayerWeights& L = w_.layers[il];
  const ModelConfig& c = config_;
  const int64_t E = c.n_embd, F = c.n_ff_exp;

  // u = RMSNorm(x) * ffn_norm                                                  [E]
  RmsNorm(x_.data(), L.ffn_norm.data(), E, c.rms_eps, xn_.data());
  Activation u(kernels_, xn_.data(), E);
  std::memset(moe_out_.data(), 0, moe_out_.size() * sizeof(float));

  for (size_t j = 0; j < selection_.experts.size(); ++j) {
    const int32_t e = selection_.experts[j];
    const float weight = selection_.weights[j];
    // The expert's weights: mapped, or (offloaded) waiting here for a read started at the prefetch point.
    auto acquired = experts_->Acquire(il, e);
    if (!acquired.ok()) {  // a failed read: give back this layer's reservations and stop
      for (size_t r = j; r < selection_.experts.size(); ++r) experts_->Release(il, selection_.experts[r]);
      return acquired.status();
    }
    const ExpertWeights& ew = *acquired;
    const WeightMatrix& gate = ew.gate;  // rows F, cols E
    const WeightMatrix& up = ew.up;      // rows F, cols E
    const WeightMatrix& down = ew.down;  // normal: rows E, cols F; transposed: rows F, cols E

    // hidden = ReLU(Gate·u) ⊙ (Up·u); up rows only for active neurons.      [F]
    MatVec(kernels_, pool_.get(), gate, u, gate_.data());
    int64_t active = 0;
    for (int64_t n = 0; n < F; ++n) {
      if (gate_[n] > 0.0f) {
        MatVecRows(kernels_, up, u, n, n + 1, up_.data());
        hidden_[n] = gate_[n] * up_[n];
        ++active;
      } else {
        hidden_[n] = 0.0f;
      }
    }
    stats_.expert_neurons += F;
    stats_.expert_neurons_active += active;

    // y = Down · hidden                                                        [E]
    if (w_.down_layout == DownLayout::kTransposed) {
      std::memset(expert_out_.data(), 0, E * sizeof(float));
      const WeightKernels& k = kernels_.weights[static_cast<int>(down.type)];
      for (int64_t n = 0; n < F; ++n) {
        if (hidden_[n] != 0.0f) k.axpy(down.Row(n), E, hidden_[n], expert_out_.data());
      }
    } else {
      Activation h(kernels_, hidden_.data(), F);
      MatVec(kernels_, pool_.get(), down, h, expert_out_.data());
    }
    experts_->Release(il, e);
    for (int64_t i = 0; i < E; ++i) moe_out_[i] += weight * expert_out_[i];
  }
  for (int64_t i = 0; i < E; ++i) x_[i] += moe_out_[i];
  return Status::Ok();
}

}  // namespace st
