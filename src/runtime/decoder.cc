#include "runtime/decoder.h"

#include <fmt/format.h>

#include <cstring>

#include "runtime/batch_state.h"
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
  if (options.batch_size < 1 || options.batch_size > 8192) {
    return InvalidArgument(fmt::format("batch size {} is outside 1..8192", options.batch_size));
  }
  std::unique_ptr<Decoder> d(new Decoder(model, options, n_ctx));
  ST_RETURN_IF_ERROR(d->Plan(options));
  return d;
}

Decoder::Decoder(const Model& model, const DecoderOptions& options, uint32_t n_ctx)
    : model_(model),
      config_(model.config()),
      w_(model.weights()),
      kernels_(Kernels()),
      pool_(std::make_unique<ThreadPool>(options.n_threads)),
      kv_(model.config(), n_ctx, options.kv_type),
      batch_size_(options.batch_size),
      dense_experts_(options.dense_experts),
      prefetch_(options.prefetch) {
  pool_->set_min_parallel_bytes(options.min_parallel_bytes);
  const ModelConfig& c = config_;
  const size_t k = c.n_expert_used;
  x_.resize(c.n_embd);
  xn_.resize(c.n_embd);
  qkv_.resize(c.q_dim() + c.k_dim() + c.v_dim());
  attn_.resize(c.attn_out_dim());
  proj_.resize(c.n_embd);
  scores_.resize(static_cast<size_t>(options.n_threads) * n_ctx);
  router_logits_.resize(c.n_expert);
  gate_.resize(k * c.n_ff_exp);
  up_.resize(k * c.n_ff_exp);
  coef_.resize(k * c.n_ff_exp);
  active_.resize(k);
  expert_out_.resize(k * c.n_embd);
  moe_out_.resize(c.n_embd);
  logits_.resize(c.n_vocab);
  if (w_.predictor && !options.exact_lm_head) {
    lm_head_mode_ = LmHeadMode::kPredicted;
    lm_z_.resize(w_.predictor->w1.rows);
    lm_scores_.resize(c.n_vocab);
  }
}

Status Decoder::Plan(const DecoderOptions& options) {
  const ModelConfig& c = config_;
  MemoryPlanInput in;
  in.limit = options.memory_limit;
  in.expert_weights = model_.ExpertBytes();
  in.non_expert_weights = model_.NonExpertBytes();
  in.kv_cache = kv_.bytes();
  in.scratch = sizeof(float) * (x_.size() + xn_.size() + qkv_.size() + attn_.size() + proj_.size() + scores_.size() +
                                gate_.size() + up_.size() + coef_.size() + expert_out_.size() + logits_.size() +
                                lm_scores_.size()) +
               static_cast<uint64_t>(batch_size_) * sizeof(float) *
                   (4ull * c.n_embd + c.q_dim() + c.k_dim() + c.v_dim() + c.attn_out_dim() + 2ull * c.n_ff_exp * c.n_expert_used);
  in.baseline = CurrentRss();
  const ExpertLayout layout = ExpertLayout::FromGguf(model_);
  in.slot_bytes = OffloadedExperts::SlotBytes(layout);
  in.total_experts = static_cast<uint64_t>(c.n_layer) * c.n_expert;
  in.min_slots = 2ull * c.n_expert_used;
  if (options.expert_cache_experts > 0) {
    if (options.expert_cache_experts < in.min_slots) {
      return InvalidArgument(fmt::format("--expert-cache {} is below the minimum of {} experts (2 x experts per token)",
                                         options.expert_cache_experts, in.min_slots));
    }
    plan_.input = in;
    plan_.offload = true;
    plan_.n_slots = std::min(options.expert_cache_experts, in.total_experts);
    plan_.expert_cache_bytes = plan_.n_slots * in.slot_bytes;
    plan_.resident = in.baseline + in.margin + in.non_expert_weights + in.kv_cache + in.scratch;
  } else {
    ST_ASSIGN_OR_RETURN(plan_, PlanMemory(in));
  }
  if (!plan_.offload) {
    experts_ = std::make_unique<InMemoryExperts>(model_);
    return Status::Ok();
  }
  OffloadOptions o = options.offload;
  o.cache_bytes = plan_.expert_cache_bytes;
  ST_ASSIGN_OR_RETURN(std::unique_ptr<OffloadedExperts> off, OffloadedExperts::Create(model_, o));
  experts_ = std::move(off);
  lookahead_ = options.lookahead && options.prefetch && c.n_layer > 1;
  return Status::Ok();
}

Status Decoder::CheckTokenAndPosition(int32_t token, uint32_t pos) const {
  if (token < 0 || static_cast<uint32_t>(token) >= config_.n_vocab) {
    return InvalidArgument(fmt::format("token id {} is outside the vocabulary (0..{})", token, config_.n_vocab - 1));
  }
  if (pos >= kv_.n_ctx()) {
    return OutOfRange(fmt::format("context is full: position {} needs a context of at least {} (-c), have {}", pos,
                                  pos + 1, kv_.n_ctx()));
  }
  return Status::Ok();
}

Result<const float*> Decoder::Forward(int32_t token, uint32_t pos, bool want_logits) {
  ST_RETURN_IF_ERROR(CheckTokenAndPosition(token, pos));

  // x = token_embd[token]                                                      [E]
  const WeightMatrix& embd = w_.token_embd;
  kernels_.weights[static_cast<int>(embd.type)].dequantize(embd.Row(token), embd.cols, x_.data());
  stats_.weight_bytes += embd.row_bytes;

  for (uint32_t il = 0; il < config_.n_layer; ++il) {
    Route(il);             // 1. router on the raw layer input picks experts first
    PrefetchExperts(il);   // 2. ...so their weights can load while attention runs
    Attention(il, pos);    // 3. x += Attn(RMSNorm(x) * attn_norm)
    ST_RETURN_IF_ERROR(MoeFfn(il));  // 4. x += sum_j w_j * sparse-ReGLU-expert_j(RMSNorm(x) * ffn_norm)
  }
  ++stats_.tokens;
  if (!want_logits) return static_cast<const float*>(nullptr);
  LmHead(lm_head_mode_);   // 5. logits = W_out · (RMSNorm(x) * output_norm), rows picked by the predictor
  return static_cast<const float*>(logits_.data());
}

void Decoder::Route(uint32_t il) {
  // r = W_router · x on the raw layer input (before attn_norm), f32 x f32.     [X]
  const WeightMatrix& router = w_.layers[il].router;
  Activation in(kernels_, x_.data(), config_.n_embd);
  MatVec(kernels_, pool_.get(), router, in, router_logits_.data());
  stats_.weight_bytes += router.bytes();
  SelectExperts(router_logits_.data(), static_cast<int32_t>(config_.n_expert),
                static_cast<int32_t>(config_.n_expert_used), config_.gating, &selection_);
}

void Decoder::PrefetchExperts(uint32_t il) {
  // In memory this does nothing. Offloaded, the missing experts start loading now and arrive while
  // attention runs (the reason the router comes first). Without prefetching (the ablation
  // baseline), MoeFfn asks for them when it needs them.
  if (!prefetch_) return;
  experts_->Prefetch(il, selection_.experts);
  if (lookahead_ && il + 1 < config_.n_layer) {
    // The next layer's router applied to this layer's input: x changes little across one layer,
    // so this is a good guess of its experts, and reading them now hides more of the disk.
    std::vector<float> logits(config_.n_expert);
    Activation in(kernels_, x_.data(), config_.n_embd);
    MatVec(kernels_, pool_.get(), w_.layers[il + 1].router, in, logits.data());
    SelectExperts(logits.data(), static_cast<int32_t>(config_.n_expert), static_cast<int32_t>(config_.n_expert_used),
                  config_.gating, &lookahead_selection_);
    experts_->Lookahead(il + 1, lookahead_selection_.experts);
  }
}

}  // namespace st
