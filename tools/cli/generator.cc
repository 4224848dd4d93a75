#include "cli/generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "cli/interrupt.h"
#include "text/streaming_decoder.h"

namespace st {
namespace {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

const char* StopReasonName(StopReason r) {
  switch (r) {
    case StopReason::kEog: return "eog";
    case StopReason::kLength: return "length";
    case StopReason::kContext: return "context";
    case StopReason::kInterrupted: return "interrupted";
    case StopReason::kOutput: return "output";
  }
  return "?";
}

Generator::Generator(smallthinker::Context& context, const Tokenizer& tokenizer, std::vector<LogitBias> biases,
                     uint32_t batch_size)
    : context_(context), tokenizer_(tokenizer), biases_(std::move(biases)), batch_size_(std::max<uint32_t>(batch_size, 1)) {}

Status Generator::Evaluate(std::span<const int32_t> tokens, uint32_t pos0) {
  ST_CHECK(pos0 <= evaluated_.size());
  ST_CHECK(!tokens.empty());
  ST_CHECK(sampler_ != nullptr);
  if (pos0 + tokens.size() > context_.n_ctx()) {
    return OutOfRange(fmt::format("{} tokens do not fit in the context of {} (-c)", pos0 + tokens.size(),
                                  context_.n_ctx()));
  }
  const auto t0 = std::chrono::steady_clock::now();
  // Keep what the cache can continue from exactly. Past the sliding window a rewind loses keys
  // the shorter prefix needs; then the kept prefix is evaluated again (never stale keys).
  const uint32_t keep = context_.KeepablePrefix(0, pos0);
  std::vector<int32_t> redo;
  size_t n_redo = 0;  // tokens evaluated again before `tokens`
  if (keep < pos0) {
    n_redo = pos0 - keep;
    redo.assign(evaluated_.begin() + keep, evaluated_.begin() + pos0);
    redo.insert(redo.end(), tokens.begin(), tokens.end());
    reevaluated_ += pos0 - keep;
    tokens = redo;
    pos0 = keep;
  }
  evaluated_.resize(pos0);
  logits_ = nullptr;
  Status result = Status::Ok();
  size_t done = 0;
  while (done < tokens.size()) {
    if (InterruptRequested()) {
      result = Cancelled("interrupted");
      break;
    }
    const size_t n = std::min<size_t>(batch_size_, tokens.size() - done);
    auto r = context_.Prefill(0, tokens.subspan(done, n), static_cast<uint32_t>(pos0 + done));
    if (!r.ok()) {
      result = r.status();
      break;
    }
    logits_ = r->data();
    evaluated_.insert(evaluated_.end(), tokens.begin() + done, tokens.begin() + done + n);
    // The sampler sees each new token once (re-evaluated ones it has seen already).
    for (size_t i = std::max(done, n_redo); i < done + n; ++i) sampler_->Accept(tokens[i]);
    done += n;
  }
  if (done < tokens.size()) logits_ = nullptr;
  last_evaluate_ = RunTimings{};
  last_evaluate_.prompt_n = done;  // re-evaluated tokens included: the work done
  last_evaluate_.prompt_ms = MsSince(t0);
  timings_ += last_evaluate_;
  return result;
}

std::span<const float> BiasedLogits(std::span<const float> logits, const std::vector<LogitBias>& biases,
                                    bool ignore_eos, const Tokenizer& tokenizer, std::vector<float>* work) {
  const size_t V = logits.size();
  if (biases.empty() && !ignore_eos) return logits;
  work->assign(logits.begin(), logits.end());
  for (const LogitBias& b : biases) {
    if (b.token >= 0 && static_cast<size_t>(b.token) < V) (*work)[b.token] += b.bias;
  }
  if (ignore_eos) {
    for (int32_t id : tokenizer.end_of_generation_ids()) {
      if (id >= 0 && static_cast<size_t>(id) < V) (*work)[id] = -std::numeric_limits<float>::infinity();
    }
  }
  return *work;
}

std::span<const float> Generator::SamplingLogits(bool ignore_eos) {
  return BiasedLogits({logits_, context_.n_vocab()}, biases_, ignore_eos, tokenizer_, &work_);
}

Result<Generation> Generator::Generate(const GenerateOptions& o, const std::function<void(const std::string&)>& on_text) {
  ST_CHECK(logits_ != nullptr);
  ST_CHECK(sampler_ != nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  Generation g;
  StreamingDecoder stream(tokenizer_, o.render_special);
  auto emit = [&](const std::string& s) {
    if (!s.empty() && on_text) on_text(s);
  };
  auto limit_reached = [&] { return o.n_predict >= 0 && g.tokens.size() >= static_cast<size_t>(o.n_predict); };
  Status error = Status::Ok();
  while (true) {
    if (limit_reached()) {
      g.stop = StopReason::kLength;
      break;
    }
    if (InterruptRequested()) {
      g.stop = StopReason::kInterrupted;
      break;
    }
    const int32_t t = sampler_->Sample(SamplingLogits(o.ignore_eos));
    sampler_->Accept(t);
    g.tokens.push_back(t);
    if (!o.ignore_eos && tokenizer_.IsEndOfGeneration(t)) {
      if (o.render_special) emit(stream.Push(t));
      g.stop = StopReason::kEog;
      break;
    }
    emit(stream.Push(t));
    if (o.output_failed && o.output_failed()) {
      g.stop = StopReason::kOutput;
      break;
    }
    if (limit_reached()) {
      g.stop = StopReason::kLength;
      break;
    }
    if (evaluated_.size() >= context_.n_ctx()) {
      g.stop = StopReason::kContext;
      break;
    }
    const smallthinker::Token next{t, static_cast<uint32_t>(evaluated_.size()), 0, smallthinker::Output::kLogits};
    if (Status s = context_.Decode(std::span(&next, 1)); !s.ok()) {
      error = s;
      break;
    }
    logits_ = context_.Logits(0).data();
    evaluated_.push_back(t);
  }
  emit(stream.Flush());
  g.timings.predicted_n = g.tokens.size();
  g.timings.predicted_ms = MsSince(t0);
  timings_.predicted_n += g.timings.predicted_n;
  timings_.predicted_ms += g.timings.predicted_ms;
  if (!error.ok()) {
    logits_ = nullptr;
    return error;
  }
  return g;
}

}  // namespace st
