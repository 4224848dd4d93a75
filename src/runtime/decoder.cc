#include "runtime/decoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "runtime/batch.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {

Result<std::unique_ptr<Decoder>> Decoder::Create(const Model& model, const DecoderOptions& options) {
  const ModelConfig& c = model.config();
  const uint32_t n_ctx = options.n_ctx == 0 ? c.n_ctx_train : options.n_ctx;
  if (n_ctx > (1u << 24)) return InvalidArgument(fmt::format("context length {} is larger than 16777216", n_ctx));
  if (n_ctx < 1) return InvalidArgument("context length must be at least 1");
  if (options.n_threads < 1 || options.n_threads > 1024) {
    return InvalidArgument(fmt::format("thread count {} is outside 1..1024", options.n_threads));
  }
  if (options.batch_size < 1 || options.batch_size > 8192) {
    return InvalidArgument(fmt::format("batch size {} is outside 1..8192", options.batch_size));
  }
  KvCacheOptions ko;
  ko.n_ctx = n_ctx;
  ko.type = options.kv_type;
  ko.n_seq = options.n_seq;
  ko.batch_size = options.batch_size;
  ko.swa_full = options.swa_full;
  ST_ASSIGN_OR_RETURN(KvCache kv, KvCache::Create(c, ko, Kernels()));
  std::unique_ptr<Decoder> d(new Decoder(model, options, std::move(kv)));
  ST_RETURN_IF_ERROR(d->Plan(options));
  return d;
}

Decoder::Decoder(const Model& model, const DecoderOptions& options, KvCache kv)
    : model_(model),
      config_(model.config()),
      w_(model.weights()),
      kernels_(Kernels()),
      pool_(std::make_unique<ThreadPool>(options.n_threads)),
      kv_(std::move(kv)),
      batch_size_(options.batch_size),
      max_outputs_(options.max_outputs > 0 ? options.max_outputs : std::max<uint32_t>(1, options.n_seq)),
      dense_experts_(options.dense_experts),
      prefetch_(options.prefetch),
      b_(std::make_unique<Batch>()) {
  pool_->set_min_parallel_bytes(options.min_parallel_bytes);
  if (w_.predictor && !options.exact_lm_head) lm_head_mode_ = LmHeadMode::kPredicted;
}

Decoder::~Decoder() = default;

Status Decoder::Plan(const DecoderOptions& options) {
  const ModelConfig& c = config_;
  MemoryPlanInput in;
  in.limit = options.memory_limit;
  in.expert_weights = model_.ExpertBytes();
  in.non_expert_weights = model_.NonExpertBytes();
  const uint64_t kk = c.n_expert_used;
  in.kv_cache = kv_.bytes();
  // The process as it is now (the model's mapping, the tokenizer, the KV cache's reservation, which
  // is not resident yet), then every scratch buffer reserved for the largest batch and counted
  // from its capacity: nothing is counted twice, and nothing a forward pass allocates is missed.
  in.baseline = CurrentRss();
  BatchLimits limits;
  limits.tokens = batch_size_;
  limits.outputs = max_outputs_;
  limits.threads = options.n_threads;
  limits.keys = kv_.n_ctx();
  limits.predictor_rank = w_.predictor ? w_.predictor->w1.rows : 0;
  limits.normal_down = w_.down_layout == DownLayout::kNormal;
  for (const LayerWeights& l : w_.layers) {  // the widest layer (types may differ per layer)
    const uint64_t bytes = ActivationBytes(kernels_.weights[static_cast<int>(l.gate_exps.type)].act_type, c.n_embd) +
                           ActivationBytes(kernels_.weights[static_cast<int>(l.up_exps.type)].act_type, c.n_embd);
    limits.pair_input_bytes = std::max(limits.pair_input_bytes, bytes);
  }
  b_->ReserveAll(c, limits);
  b_->Reserve(c, 1);
  logits_.reserve(static_cast<size_t>(max_outputs_) * c.n_vocab);
  out_row_.reserve(batch_size_);
  // Short-lived buffers of one step, not kept between steps: the quantized copies of a batch's
  // activations (BatchActivation: up to two of [T][max(E, H, Hv)] plus one expert's [T][F]) and
  // the LM head's normalized inputs and their copy [outputs][E].
  const uint64_t T = batch_size_, widest = std::max<uint64_t>({c.n_embd, c.q_dim(), c.attn_out_dim()});
  in.transient = sizeof(float) * (2 * T * widest + T * c.n_ff_exp + 2ull * max_outputs_ * c.n_embd);
  in.scratch = ScratchBytes();
  in.caller = sizeof(float) * std::min(options.caller_logit_rows, kv_.n_ctx()) * static_cast<uint64_t>(c.n_vocab);
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
    plan_.resident = ResidentBytes(in);
  } else {
    ST_ASSIGN_OR_RETURN(plan_, PlanMemory(in));
  }
  if (!plan_.offload) {
    experts_ = std::make_unique<InMemoryExperts>(model_);
    max_union_tokens_ = batch_size_;
    return Status::Ok();
  }
  OffloadOptions o = options.offload;
  o.cache_bytes = plan_.expert_cache_bytes;
  ST_ASSIGN_OR_RETURN(std::unique_ptr<OffloadedExperts> off, OffloadedExperts::Create(model_, o));
  experts_ = std::move(off);
  lookahead_ = options.lookahead && options.prefetch && c.n_layer > 1;
  // A layer pins every expert its batch uses, and the lookahead needs k more slots: a batch is cut
  // into pieces whose experts fit (one token at a time at the smallest cache).
  if (plan_.n_slots >= static_cast<uint64_t>(c.n_expert) + kk) {
    max_union_tokens_ = batch_size_;
  } else {
    max_union_tokens_ = static_cast<uint32_t>(std::max<uint64_t>(1, plan_.n_slots / kk - 1));
  }
  return Status::Ok();
}

uint64_t Decoder::ScratchBytes() const {
  return b_->Bytes() + logits_.capacity() * sizeof(float) + out_row_.capacity() * sizeof(int32_t);
}

Status Decoder::CheckBatch(std::span<const BatchToken> batch) const {
  if (batch.empty()) return InvalidArgument("forward: the batch is empty");
  if (batch.size() > batch_size_) {
    return InvalidArgument(fmt::format("forward: {} tokens exceed the batch size {}", batch.size(), batch_size_));
  }
  // Next expected position of every sequence touched, in order of appearance.
  std::vector<std::pair<uint32_t, uint32_t>> next;
  for (const BatchToken& t : batch) {
    if (t.token < 0 || static_cast<uint32_t>(t.token) >= config_.n_vocab) {
      return InvalidArgument(fmt::format("token id {} is outside the vocabulary (0..{})", t.token, config_.n_vocab - 1));
    }
    if (t.seq >= kv_.n_seq()) {
      return InvalidArgument(fmt::format("sequence {} does not exist (the cache holds {})", t.seq, kv_.n_seq()));
    }
    if (t.pos >= kv_.n_ctx()) {
      return OutOfRange(fmt::format("context is full: position {} needs a context of at least {} (-c), have {}", t.pos,
                                    t.pos + 1, kv_.n_ctx()));
    }
    auto it = std::find_if(next.begin(), next.end(), [&](const auto& p) { return p.first == t.seq; });
    const uint32_t expected = it == next.end() ? kv_.SeqLength(t.seq) : it->second;
    if (t.pos != expected) {
      return InvalidArgument(fmt::format("sequence {}: token at position {}, expected position {} (positions must "
                                         "continue the sequence; rewind with Truncate first)", t.seq, t.pos, expected));
    }
    if (it == next.end()) next.emplace_back(t.seq, t.pos + 1); else it->second = t.pos + 1;
  }
  return Status::Ok();
}

Status Decoder::Forward(std::span<const BatchToken> batch) {
  ST_RETURN_IF_ERROR(CheckBatch(batch));
  // Logit rows in batch order.
  out_row_.assign(batch.size(), -1);
  int32_t n_out = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].output != TokenOutput::kNone) out_row_[i] = n_out++;
  }
  if (static_cast<uint32_t>(n_out) > max_outputs_) {
    return InvalidArgument(fmt::format("forward: {} tokens ask for logits, more than the {} rows reserved (max_outputs)",
                                       n_out, max_outputs_));
  }
  logits_.resize(static_cast<size_t>(n_out) * config_.n_vocab);
  // Pieces whose experts the cache can hold at once (the whole batch in memory). A sequence's
  // tokens stay in order, so each piece continues what the previous one stored.
  for (size_t b = 0; b < batch.size(); b += max_union_tokens_) {
    const size_t e = std::min(batch.size(), b + max_union_tokens_);
    b_->out_base = static_cast<int64_t>(b);
    Status s = ForwardTokens(batch.subspan(b, e - b));
    if (!s.ok()) {
      // Nothing of the batch is kept: earlier pieces are forgotten too.
      for (size_t i = 0; i < b; ++i) kv_.AbortWrite(batch[i].seq, batch[i].pos, 1);
      return s;
    }
  }
  return Status::Ok();
}

Status Decoder::ForwardTokens(std::span<const BatchToken> batch) {
  const ModelConfig& c = config_;
  const int64_t E = c.n_embd;
  Batch& b = *b_;
  b.Reserve(c, static_cast<int64_t>(batch.size()));
  b.T = static_cast<int64_t>(batch.size());
  std::copy(batch.begin(), batch.end(), b.tokens.begin());
  // Tokens by sequence (stable: each sequence's tokens stay in position order).
  b.seq_id.clear();
  b.seq_start.assign(1, 0);
  {
    std::vector<int32_t> order(b.T);
    for (int64_t t = 0; t < b.T; ++t) order[t] = static_cast<int32_t>(t);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t x, int32_t y) { return b.tokens[x].seq < b.tokens[y].seq; });
    for (int64_t i = 0; i < b.T; ++i) {
      const uint32_t s = b.tokens[order[i]].seq;
      if (b.seq_id.empty() || b.seq_id.back() != s) {
        if (!b.seq_id.empty()) b.seq_start.push_back(i);
        b.seq_id.push_back(s);
      }
      b.seq_token[i] = order[i];
    }
    b.seq_start.push_back(b.T);
  }
  // Each sequence's positions of this batch: reserved now, forgotten again if a layer fails.
  auto for_each_run = [&](auto&& fn) {
    for (size_t g = 0; g < b.seq_id.size(); ++g) {
      const BatchToken& first = b.tokens[b.seq_token[b.seq_start[g]]];
      fn(first.seq, first.pos, static_cast<uint32_t>(b.seq_start[g + 1] - b.seq_start[g]));
    }
  };
  for_each_run([&](uint32_t seq, uint32_t p0, uint32_t n) { kv_.BeginWrite(seq, p0, n); });

  // x_t = token_embd[token_t]                                                    [T][E]
  const WeightMatrix& embd = w_.token_embd;
  for (int64_t t = 0; t < b.T; ++t) {
    kernels_.weights[static_cast<int>(embd.type)].dequantize(embd.Row(b.tokens[t].token), E, b.x.data() + t * E);
  }
  stats_.weight_bytes += b.T * embd.row_bytes;

  for (uint32_t il = 0; il < c.n_layer; ++il) {
    Route(il);             // 1. router on the raw layer input picks every token's experts first
    PrefetchExperts(il);   // 2. ...so their weights can load while attention runs
    Attention(il);         // 3. x += Attn(RMSNorm(x) * attn_norm)
    if (Status s = MoeFfn(il); !s.ok()) {  // 4. x += sum_j w_j * sparse-ReGLU-expert_j(RMSNorm(x) * ffn_norm)
      for_each_run([&](uint32_t seq, uint32_t p0, uint32_t n) { kv_.AbortWrite(seq, p0, n); });
      return s;
    }
  }
  stats_.tokens += b.T;
  ++stats_.forwards;
  LmHead();  // 5. logits = W_out · (RMSNorm(x) * output_norm), rows picked by the predictor
  return Status::Ok();
}

const float* Decoder::Logits(size_t i) const {
  if (i >= out_row_.size() || out_row_[i] < 0) return nullptr;
  return logits_.data() + static_cast<size_t>(out_row_[i]) * config_.n_vocab;
}

void Decoder::Route(uint32_t il) {
  // r_t = W_router · x_t on the raw layer input (before attn_norm), f32 x f32.   [T][X]
  Batch& b = *b_;
  const ModelConfig& c = config_;
  const int64_t X = c.n_expert, kk = c.n_expert_used;
  const WeightMatrix& router = w_.layers[il].router;
  BatchActivation in(kernels_, b.x.data(), c.n_embd, b.T);
  MatMul(kernels_, pool_.get(), router, in, b.router.data());
  stats_.weight_bytes += router.bytes();
  for (int64_t t = 0; t < b.T; ++t) {
    SelectExperts(b.router.data() + t * X, static_cast<int32_t>(X), static_cast<int32_t>(kk), c.gating, &b.sel[t]);
  }
  // Group the (token, slot) pairs by expert, tokens in order within an expert.
  std::fill(b.pair_start.begin(), b.pair_start.end(), 0);
  for (int64_t t = 0; t < b.T; ++t) {
    for (int64_t j = 0; j < kk; ++j) ++b.pair_start[b.sel[t].experts[j] + 1];
  }
  b.used.clear();
  for (int64_t e = 0; e < X; ++e) {
    if (b.pair_start[e + 1] > 0) b.used.push_back(static_cast<int32_t>(e));
    b.pair_start[e + 1] += b.pair_start[e];
  }
  std::vector<int64_t> fill(b.pair_start.begin(), b.pair_start.end() - 1);
  for (int64_t t = 0; t < b.T; ++t) {
    for (int64_t j = 0; j < kk; ++j) {
      const int64_t p = fill[b.sel[t].experts[j]]++;
      b.pair_token[p] = static_cast<int32_t>(t);
      b.pair_slot[p] = static_cast<int32_t>(j);
      b.pair_expert[p] = b.sel[t].experts[j];
      b.pair_of[t * kk + j] = static_cast<int32_t>(p);
    }
  }
}

void Decoder::PrefetchExperts(uint32_t il) {
  // In memory this does nothing. Offloaded, the missing experts start loading now and arrive while
  // attention runs (the reason the router comes first). Without prefetching (the ablation
  // baseline), MoeFfn asks for them when it needs them.
  if (!prefetch_) return;
  Batch& b = *b_;
  experts_->Prefetch(il, b.used);
  // The next layer's router applied to this layer's input: x changes little across one layer, so
  // this is a good guess of its experts, and reading them now hides more of the disk. Decoding
  // only (a prompt's union is most experts anyway).
  if (lookahead_ && il + 1 < config_.n_layer && b.T <= 8) {
    const int64_t X = config_.n_expert;
    std::vector<float> logits(b.T * X);
    BatchActivation in(kernels_, b.x.data(), config_.n_embd, b.T);
    MatMul(kernels_, pool_.get(), w_.layers[il + 1].router, in, logits.data());
    std::vector<int32_t> likely;
    for (int64_t t = 0; t < b.T; ++t) {
      SelectExperts(logits.data() + t * X, static_cast<int32_t>(X), static_cast<int32_t>(config_.n_expert_used),
                    config_.gating, &b.look[t]);
      for (int32_t e : b.look[t].experts) {
        if (std::find(likely.begin(), likely.end(), e) == likely.end()) likely.push_back(e);
      }
    }
    experts_->Lookahead(il + 1, likely);
  }
}

Result<const float*> Decoder::Forward(int32_t token, uint32_t pos, bool want_logits, uint32_t seq) {
  if (seq < kv_.n_seq() && pos < kv_.SeqLength(seq)) ST_RETURN_IF_ERROR(kv_.Truncate(seq, pos));
  const BatchToken t{token, pos, seq, want_logits ? TokenOutput::kLogits : TokenOutput::kNone};
  ST_RETURN_IF_ERROR(Forward(std::span<const BatchToken>(&t, 1)));
  return want_logits ? Logits(0) : static_cast<const float*>(nullptr);
}

Result<const float*> Decoder::Prefill(std::span<const int32_t> tokens, uint32_t pos0, std::vector<float>* all_logits,
                                      uint32_t seq) {
  if (tokens.empty()) return InvalidArgument("Prefill: no tokens");
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || static_cast<uint32_t>(tokens[i]) >= config_.n_vocab) {
      return InvalidArgument(fmt::format("token id {} is outside the vocabulary (0..{})", tokens[i], config_.n_vocab - 1));
    }
  }
  if (pos0 + tokens.size() > kv_.n_ctx()) {
    const uint64_t last = pos0 + tokens.size() - 1;
    return OutOfRange(fmt::format("context is full: position {} needs a context of at least {} (-c), have {}", last,
                                  last + 1, kv_.n_ctx()));
  }
  if (seq < kv_.n_seq() && pos0 < kv_.SeqLength(seq)) ST_RETURN_IF_ERROR(kv_.Truncate(seq, pos0));
  std::vector<BatchToken> batch;
  const float* last = nullptr;
  // Every position's logits: pieces of at most max_outputs tokens (the logits buffer's rows).
  const size_t step = all_logits != nullptr ? std::min(batch_size_, max_outputs_) : batch_size_;
  for (size_t chunk = 0; chunk < tokens.size(); chunk += step) {
    const size_t n = std::min<size_t>(step, tokens.size() - chunk);
    batch.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const bool want = all_logits != nullptr || chunk + i + 1 == tokens.size();
      batch[i] = {tokens[chunk + i], static_cast<uint32_t>(pos0 + chunk + i), seq,
                  want ? TokenOutput::kExact : TokenOutput::kNone};
    }
    ST_RETURN_IF_ERROR(Forward(batch));
    if (all_logits != nullptr) {
      all_logits->insert(all_logits->end(), logits_.begin(), logits_.begin() + n * config_.n_vocab);
    }
    last = Logits(n - 1);
  }
  return last;
}

}  // namespace st
