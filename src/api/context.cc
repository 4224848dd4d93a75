// smallthinker::Context: the public face of st::Decoder (runtime/decoder.h).
#include "smallthinker/context.h"

#include <fmt/format.h>

#include "model/model.h"
#include "offload/expert_file.h"
#include "offload/memory_plan.h"
#include "runtime/decoder.h"
#include "util/thread_pool.h"

namespace smallthinker {
namespace {

static_assert(static_cast<int>(Output::kNone) == static_cast<int>(st::TokenOutput::kNone) &&
              static_cast<int>(Output::kLogits) == static_cast<int>(st::TokenOutput::kLogits) &&
              static_cast<int>(Output::kExact) == static_cast<int>(st::TokenOutput::kExact));
static_assert(sizeof(Token) == sizeof(st::BatchToken) && offsetof(Token, id) == offsetof(st::BatchToken, token) &&
              offsetof(Token, pos) == offsetof(st::BatchToken, pos) &&
              offsetof(Token, seq) == offsetof(st::BatchToken, seq) &&
              offsetof(Token, output) == offsetof(st::BatchToken, output));

std::span<const st::BatchToken> AsBatch(std::span<const Token> b) {
  return {reinterpret_cast<const st::BatchToken*>(b.data()), b.size()};
}

}  // namespace

Context::Context() = default;
Context::~Context() = default;

Result<std::unique_ptr<Context>> Context::Create(const Model& model, const ContextParams& p) {
  st::DecoderOptions d;
  d.n_ctx = p.n_ctx;
  ST_ASSIGN_OR_RETURN(d.kv_type, st::ParseKvType(p.kv_type));
  d.n_seq = p.n_seq;
  d.swa_full = p.swa_full;
  d.n_threads = p.n_threads > 0 ? p.n_threads : st::DefaultThreadCount();
  d.min_parallel_bytes = p.min_parallel_bytes;
  d.batch_size = p.batch_size;
  d.max_outputs = p.max_outputs;
  d.caller_logit_rows = p.caller_logit_rows;
  if (p.lm_head != "auto" && p.lm_head != "exact" && p.lm_head != "predicted") {
    return st::InvalidArgument(fmt::format("LM head '{}': expected auto, exact or predicted", p.lm_head));
  }
  d.exact_lm_head = p.lm_head == "exact";
  d.dense_experts = p.dense_experts;
  if (p.memory_limit > 0 && p.expert_cache_experts > 0) {
    return st::InvalidArgument("--expert-cache and --memory-limit conflict: give one of them");
  }
  d.memory_limit = p.memory_limit;
  d.expert_cache_experts = p.expert_cache_experts;
  if (p.cache_policy != "lfu" && p.cache_policy != "lru") {
    return st::InvalidArgument(fmt::format("cache policy '{}': expected lfu or lru", p.cache_policy));
  }
  d.offload.policy = p.cache_policy == "lru" ? st::CachePolicy::kLru : st::CachePolicy::kLfu;
  d.offload.io.kind = p.io_engine;
  d.lookahead = p.lookahead;
  d.prefetch = p.prefetch;
  if (!p.expert_file.empty()) {
    // Made once from the model (one aligned block per expert), then checked against it.
    const st::ExpertLayout layout = st::ExpertLayout::FromGguf(model.impl());
    auto valid = st::ValidateExpertFile(model.impl(), layout, p.expert_file);
    if (!valid.ok() && valid.status().code() == StatusCode::kNotFound) {
      ST_RETURN_IF_ERROR(st::WriteExpertFile(model.impl(), p.expert_file));
    } else if (!valid.ok()) {
      return valid.status();
    }
    d.offload.expert_file = p.expert_file;
  }
  ST_ASSIGN_OR_RETURN(std::unique_ptr<st::Decoder> dec, st::Decoder::Create(model.impl(), d));
  if (p.lm_head == "predicted" && dec->lm_head_mode() != st::LmHeadMode::kPredicted) {
    return st::InvalidArgument("--lm-head predicted: the model has no lm_head_profiler tensor");
  }
  std::unique_ptr<Context> ctx(new Context());
  ctx->impl_ = std::move(dec);
  ctx->n_vocab_ = model.info().n_vocab;
  return ctx;
}

Status Context::Decode(std::span<const Token> batch) { return impl_->Forward(AsBatch(batch)); }

std::span<const float> Context::Logits(size_t i) const {
  const float* l = impl_->Logits(i);
  return l ? std::span<const float>(l, n_vocab_) : std::span<const float>();
}

Result<std::span<const float>> Context::Prefill(uint32_t seq, std::span<const int32_t> tokens, uint32_t pos0,
                                               std::vector<float>* all_logits) {
  ST_ASSIGN_OR_RETURN(const float* last, impl_->Prefill(tokens, pos0, all_logits, seq));
  return std::span<const float>(last, n_vocab_);
}

uint32_t Context::SeqLength(uint32_t seq) const { return impl_->SeqLength(seq); }
uint32_t Context::KeepablePrefix(uint32_t seq, uint32_t n) const { return impl_->KeepablePrefix(seq, n); }
Status Context::Truncate(uint32_t seq, uint32_t n) { return impl_->Truncate(seq, n); }
uint32_t Context::n_ctx() const { return impl_->n_ctx(); }
uint32_t Context::n_seq() const { return impl_->n_seq(); }
uint32_t Context::batch_size() const { return impl_->batch_size(); }
uint32_t Context::n_vocab() const { return n_vocab_; }
int Context::n_threads() const { return impl_->n_threads(); }
bool Context::predicted_head() const { return impl_->lm_head_mode() == st::LmHeadMode::kPredicted; }
bool Context::offloaded() const { return impl_->experts().offloaded(); }
const char* Context::kernels_name() const { return st::IsaName(impl_->kernels().isa); }
std::string Context::DescribeKvCache() const { return impl_->kv_cache().Describe(); }
std::string Context::DescribeMemoryPlan() const { return impl_->memory_plan().Describe(); }
std::string Context::DescribeExperts() const { return impl_->experts().Describe(); }
bool Context::has_memory_plan() const { return impl_->memory_plan().input.limit > 0 || offloaded(); }

ContextStats Context::stats() const {
  const st::DecoderStats& d = impl_->stats();
  ContextStats s;
  s.tokens = d.tokens;
  s.forwards = d.forwards;
  s.weight_bytes = d.weight_bytes;
  s.kv_bytes = d.kv_bytes;
  s.expert_neurons = d.expert_neurons;
  s.expert_neurons_active = d.expert_neurons_active;
  s.lm_head_calls = d.lm_head_calls;
  s.lm_head_rows = d.lm_head_rows;
  s.lm_head_selected = d.lm_head_selected;
  s.lm_head_fallbacks = d.lm_head_fallbacks;
  const st::OffloadStats o = impl_->experts().stats();
  s.expert_requests = o.requests;
  s.expert_hits = o.hits;
  s.expert_reads = o.reads;
  s.bytes_read = o.bytes_read;
  s.evictions = o.evictions;
  s.stall_ns = o.stall_ns;
  s.lookahead_issued = o.lookahead_issued;
  s.lookahead_used = o.lookahead_used;
  s.lookahead_skipped = o.lookahead_skipped;
  return s;
}

Result<uint64_t> ParseByteSize(const std::string& text) { return st::ParseByteSize(text); }
uint64_t PeakRssBytes() { return st::PeakRss(); }

}  // namespace smallthinker
