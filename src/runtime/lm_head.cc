// Decoder::LmHead: final RMSNorm and the output projection (dense).
#include "runtime/decoder.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {

void Decoder::LmHead() {
  const ModelConfig& c = config_;
  // x = RMSNorm(x) * output_norm; logits = W_out · x                            [V]
  RmsNorm(x_.data(), w_.output_norm.data(), c.n_embd, c.rms_eps, xn_.data());
  Activation in(kernels_, xn_.data(), c.n_embd);
  MatVec(kernels_, pool_.get(), w_.output, in, logits_.data());
  stats_.lm_head_rows += c.n_vocab;
}

}  // namespace st
