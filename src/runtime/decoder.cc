#include "runtime/decoder.h"

#include <fmt/format.h>

#include <cstring>

#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {

Result<std::unique_ptr<Decoder>> Decoder::Create(const Model& model, const DecoderOptions& options) {
  const ModelConfig& c = model.config();
  const uint32_t n_ctx = options.n_ctx == 0 ? c.n_ctx_train : options.n_ctx;
  if (n_ctx > (1u << 24)) return InvalidArgument(fmt::format("context length {} is larger than 16777216", n_ctx));
  if (options.n_threads < 1 || options.n_threads > 1024) {
    return InvalidArgument(fmt::format("thread count {} is outside 1..1024", options.n_threads));
  }
  return std::unique_ptr<Decoder>(new Decoder(model, options, n_ctx));
}

Decoder::Decoder(const Model& model, const DecoderOptions& options, uint32_t n_ctx)
    : model_(model),
      config_(model.config()),
      w_(model.weights()),
      kernels_(Kernels()),
      pool_(std::make_unique<ThreadPool>(options.n_threads)),
      kv_(model.config(), n_ctx, options.kv_type) {
  const ModelConfig& c = config_;
  x_.resize(c.n_embd);
  xn_.resize(c.n_embd);
  q_.resize(c.q_dim());
  k_.resize(c.k_dim());
  v_.resize(c.v_dim());
  attn_.resize(c.attn_out_dim());
  scores_.resize(static_cast<size_t>(c.n_head) * n_ctx);
  kbuf_.resize(c.k_dim());
  vbuf_.resize(c.v_dim());
  rope_cos_.resize(c.head_dim / 2);
  rope_sin_.resize(c.head_dim / 2);
  router_logits_.resize(c.n_expert);
  gate_.resize(c.n_ff_exp);
  up_.resize(c.n_ff_exp);
  hidden_.resize(c.n_ff_exp);
  expert_out_.resize(c.n_embd);
  moe_out_.resize(c.n_embd);
  logits_.resize(c.n_vocab);
}

Result<const float*> Decoder::Forward(int32_t token, uint32_t pos) {
  if (token < 0 || static_cast<uint32_t>(token) >= config_.n_vocab) {
    return InvalidArgument(fmt::format("token id {} is outside the vocabulary (0..{})", token, config_.n_vocab - 1));
  }
  if (pos >= kv_.n_ctx()) {
    return OutOfRange(fmt::format("context is full: position {} needs a context of at least {} (-c), have {}", pos,
                                  pos + 1, kv_.n_ctx()));
  }

  // x = token_embd[token]                                                      [E]
  const WeightMatrix& embd = w_.token_embd;
  kernels_.weights[static_cast<int>(embd.type)].dequantize(embd.Row(token), embd.cols, x_.data());

  for (uint32_t il = 0; il < config_.n_layer; ++il) {
    Route(il);             // 1. router on the raw layer input picks experts first
    PrefetchExperts(il);   // 2. ...so their weights can load while attention runs
    Attention(il, pos);    // 3. x += Attn(RMSNorm(x) * attn_norm)
    MoeFfn(il);            // 4. x += sum_j w_j * ReGLU-expert_j(RMSNorm(x) * ffn_norm)
  }
  LmHead();                // 5. logits = W_out · (RMSNorm(x) * output_norm)
  ++stats_.tokens;
  return static_cast<const float*>(logits_.data());
}

void Decoder::Route(uint32_t il) {
  // r = W_router · x on the raw layer input (before attn_norm), f32 x f32.     [X]
  Activation in(kernels_, x_.data(), config_.n_embd);
  MatVec(kernels_, pool_.get(), w_.layers[il].router, in, router_logits_.data());
  SelectExperts(router_logits_.data(), static_cast<int32_t>(config_.n_expert),
                static_cast<int32_t>(config_.n_expert_used), config_.gating, &selection_);
}

void Decoder::PrefetchExperts(uint32_t il) {
  // Experts are memory-mapped and fully resident here; an offloading expert store starts its reads
  // at this point (see the expert cache).
  (void)il;
}

}  // namespace st
