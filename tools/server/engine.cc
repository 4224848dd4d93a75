#include "server/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace st {
namespace {

using Clock = std::chrono::steady_clock;

CompletionEvent FinalEvent(const CompletionResult& r) {
  CompletionEvent ev;
  ev.final = r;
  return ev;
}

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

size_t CommonPrefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// log softmax of `logits` at the chosen token and the n best tokens (ties: lower id first).
TokenLogprobs LogProbs(std::span<const float> logits, int32_t chosen, int32_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (float v : logits) mx = std::max(mx, v);
  double sum = 0;
  for (float v : logits) {
    if (std::isfinite(v)) sum += std::exp(static_cast<double>(v) - mx);
  }
  const double log_z = mx + std::log(sum);
  auto lp = [&](int32_t id) { return static_cast<float>(logits[id] - log_z); };
  TokenLogprobs out;
  out.chosen = {chosen, lp(chosen)};
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  const size_t k = std::min<size_t>(n, ids.size());
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  for (size_t i = 0; i < k; ++i) {
    if (std::isfinite(logits[ids[i]])) out.top.push_back({ids[i], lp(ids[i])});  // the predicted head's -inf rows
  }
  return out;
}

}  // namespace

struct Engine::Slot {
  std::shared_ptr<Request> req;  // null: free
  std::vector<int32_t> cached;   // the tokens the slot's sequence holds, positions 0..
  size_t prompt_done = 0;        // prompt tokens the sequence holds
  uint32_t reused = 0;           // of which came from the cache of an earlier request
  std::optional<Sampler> sampler;
  std::optional<TextStream> text;
  int32_t next = -1;             // sampled, to evaluate in the next step
  uint32_t generated = 0;
  uint64_t last_used = 0;
  Clock::time_point t_start, t_first;
};

Engine::Engine(smallthinker::Context& context, const smallthinker::Tokenizer& tokenizer, EngineOptions options)
    : context_(context), tokenizer_(tokenizer), options_(options), n_ctx_(context.n_ctx()) {
  for (uint32_t s = 0; s < context.n_seq(); ++s) slots_.push_back(std::make_unique<Slot>());
  busy_.assign(slots_.size(), false);
  stats_.slots_total = static_cast<uint32_t>(slots_.size());
  stats_.offloaded = context.offloaded();
  thread_ = std::thread([this] { Loop(); });
}

Engine::~Engine() { Shutdown(); }

Result<std::shared_ptr<Request>> Engine::Submit(CompletionParams params) {
  if (params.prompt.empty()) return InvalidArgument("the prompt is empty");
  const uint64_t need = params.prompt.size() + static_cast<uint64_t>(std::max(params.max_tokens, 0));
  if (params.prompt.size() > n_ctx_ || need > n_ctx_) {
    return OutOfRange(fmt::format(
        "the request needs {} tokens ({} in the prompt, {} to generate) but the context holds {} per slot", need,
        params.prompt.size(), std::max(params.max_tokens, 0), n_ctx_));
  }
  auto req = std::make_shared<Request>(std::move(params));
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Cancelled("the server is shutting down");
    if (queue_.size() >= options_.max_queued) {
      ++stats_.requests_rejected;
      return ResourceExhausted(
          fmt::format("all {} slots are busy and {} requests are waiting: try again later", slots_.size(), queue_.size()));
    }
    queue_.push_back(req);
  }
  cv_.notify_all();
  return req;
}

void Engine::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    for (auto& r : queue_) {
      CompletionResult res;
      res.finish = FinishReason::kError;
      res.error = "the server is shutting down";
      res.error_status = 503;
      r->Push(FinalEvent(res));
    }
    queue_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

EngineStats Engine::Stats() const {
  std::lock_guard lock(mu_);
  EngineStats s = stats_;
  s.queued = queue_.size();
  s.slots_busy = static_cast<uint32_t>(std::count(busy_.begin(), busy_.end(), true));
  return s;
}

void Engine::Loop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      AssignLocked();
      cv_.wait(lock, [&] {
        if (stopping_) return true;
        if (std::find(busy_.begin(), busy_.end(), true) != busy_.end()) return true;
        return !queue_.empty();
      });
      if (stopping_) break;
      AssignLocked();
    }
    for (uint32_t s = 0; s < slots_.size(); ++s) {
      if (slots_[s]->req && slots_[s]->req->cancelled()) Finish(s, FinishReason::kCancelled);
    }
    if (std::any_of(slots_.begin(), slots_.end(), [](const auto& sl) { return sl->req != nullptr; })) Step();
  }
  for (uint32_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s]->req) Finish(s, FinishReason::kError, "the server is shutting down", 503);
  }
}

void Engine::AssignLocked() {
  while (!queue_.empty()) {
    std::shared_ptr<Request> req = queue_.front();
    if (req->cancelled()) {
      queue_.pop_front();
      ++stats_.requests_cancelled;
      CompletionResult res;
      res.finish = FinishReason::kCancelled;
      req->Push(FinalEvent(res));
      continue;
    }
    // The free slot with the longest shared prefix; ties (and no sharing) go to the least recently used.
    int best = -1;
    size_t best_len = 0;
    for (uint32_t s = 0; s < slots_.size(); ++s) {
      const Slot& sl = *slots_[s];
      if (sl.req) continue;
      const size_t len = req->params().cache_prompt ? CommonPrefix(sl.cached, req->params().prompt) : 0;
      if (best < 0 || len > best_len || (len == best_len && sl.last_used < slots_[best]->last_used)) {
        best = static_cast<int>(s);
        best_len = len;
      }
    }
    if (best < 0) return;
    queue_.pop_front();
    busy_[best] = true;
    ++stats_.requests_started;
    Start(static_cast<uint32_t>(best), std::move(req));
  }
}

void Engine::Start(uint32_t s, std::shared_ptr<Request> req) {
  Slot& sl = *slots_[s];
  const CompletionParams& p = req->params();
  // Keep the shared prefix, but evaluate at least the prompt's last token (its logits give the
  // first prediction), and only what the sliding-window layers still hold.
  size_t keep = p.cache_prompt ? CommonPrefix(sl.cached, p.prompt) : 0;
  keep = std::min(keep, p.prompt.size() - 1);
  keep = context_.KeepablePrefix(s, static_cast<uint32_t>(keep));
  if (!context_.Truncate(s, static_cast<uint32_t>(keep)).ok()) {
    keep = 0;  // KeepablePrefix said it could; start afresh rather than trust the sequence
    (void)context_.Truncate(s, 0);
  }
  sl.cached.resize(keep);
  sl.prompt_done = keep;
  sl.reused = static_cast<uint32_t>(keep);
  sl.generated = 0;
  sl.next = -1;
  sl.last_used = ++use_counter_;
  sl.t_start = sl.t_first = Clock::now();
  auto sampler = Sampler::Create(p.sampling);  // parameters were checked by the HTTP layer
  sl.sampler.emplace(std::move(*sampler));
  for (int32_t t : p.prompt) sl.sampler->Accept(t);
  sl.text.emplace(tokenizer_.impl(), p.stop);
  sl.req = std::move(req);
}

void Engine::Step() {
  std::vector<smallthinker::Token> batch;
  std::vector<uint32_t> owner;  // batch index -> slot
  const size_t budget = context_.batch_size();
  for (uint32_t s = 0; s < slots_.size(); ++s) {
    Slot& sl = *slots_[s];
    if (sl.req && sl.next >= 0) {
      batch.push_back({sl.next, static_cast<uint32_t>(sl.cached.size()), s, smallthinker::Output::kLogits});
      owner.push_back(s);
    }
  }
  const size_t n_decode = batch.size();
  std::vector<size_t> prompt_taken(slots_.size(), 0);
  for (uint32_t s = 0; s < slots_.size() && batch.size() < budget; ++s) {
    Slot& sl = *slots_[s];
    if (!sl.req) continue;
    const std::vector<int32_t>& prompt = sl.req->params().prompt;
    if (sl.prompt_done == prompt.size()) continue;
    const size_t n = std::min(budget - batch.size(), prompt.size() - sl.prompt_done);
    for (size_t i = sl.prompt_done; i < sl.prompt_done + n; ++i) {
      // The prompt's last token gives the first prediction (the exact head, as a one-shot prefill).
      const bool last = i + 1 == prompt.size();
      batch.push_back({prompt[i], static_cast<uint32_t>(i), s,
                       last ? smallthinker::Output::kExact : smallthinker::Output::kNone});
      owner.push_back(s);
    }
    prompt_taken[s] = n;
  }
  if (batch.empty()) return;
  const Clock::time_point t0 = Clock::now();
  const Status st = context_.Decode(batch);
  const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
  {
    std::lock_guard lock(mu_);
    ++stats_.steps;
    (batch.size() > n_decode ? stats_.prompt_seconds : stats_.decode_seconds) += dt;
    if (st.ok()) {
      for (size_t n : prompt_taken) stats_.prompt_tokens += n;
    }
    stats_.context = context_.stats();
  }
  if (!st.ok()) {
    // Nothing of the batch was kept: its requests fail, the others go on.
    std::vector<bool> hit(slots_.size(), false);
    for (uint32_t s : owner) hit[s] = true;
    for (uint32_t s = 0; s < slots_.size(); ++s) {
      if (hit[s]) Finish(s, FinishReason::kError, "evaluation failed: " + st.message(), 500);
    }
    return;
  }
  for (uint32_t s = 0; s < slots_.size(); ++s) {
    Slot& sl = *slots_[s];
    if (!sl.req) continue;
    if (sl.next >= 0) sl.cached.push_back(sl.next), sl.next = -1;
    const std::vector<int32_t>& prompt = sl.req->params().prompt;
    sl.cached.insert(sl.cached.end(), prompt.begin() + sl.prompt_done, prompt.begin() + sl.prompt_done + prompt_taken[s]);
    sl.prompt_done += prompt_taken[s];
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].output == smallthinker::Output::kNone) continue;
    const uint32_t s = owner[i];
    if (slots_[s]->req) Sample(s, context_.Logits(i));
  }
}

void Engine::Sample(uint32_t s, std::span<const float> logits) {
  Slot& sl = *slots_[s];
  const CompletionParams& p = sl.req->params();
  if (sl.generated == 0) sl.t_first = Clock::now();
  if (p.max_tokens >= 0 && sl.generated >= static_cast<uint32_t>(p.max_tokens)) return Finish(s, FinishReason::kLength);
  if (p.ignore_eos) {
    work_.assign(logits.begin(), logits.end());
    for (int32_t id : tokenizer_.end_of_generation_ids()) work_[id] = -std::numeric_limits<float>::infinity();
    logits = work_;
  }
  const int32_t t = sl.sampler->Sample(logits);
  sl.sampler->Accept(t);
  ++sl.generated;
  CompletionEvent ev;
  ev.tokens.push_back(t);
  if (p.logprobs) ev.logprobs.push_back(LogProbs(logits, t, p.n_probs));
  if (!p.ignore_eos && tokenizer_.IsEndOfGeneration(t)) {
    sl.req->Push(std::move(ev));
    return Finish(s, FinishReason::kStop);
  }
  ev.text = sl.text->Push(t);
  sl.req->Push(std::move(ev));
  if (sl.text->stopped()) return Finish(s, FinishReason::kStop);
  if (p.max_tokens >= 0 && sl.generated >= static_cast<uint32_t>(p.max_tokens)) return Finish(s, FinishReason::kLength);
  if (sl.cached.size() >= n_ctx_) return Finish(s, FinishReason::kLength);  // no room to evaluate it
  sl.next = t;
}

void Engine::Finish(uint32_t s, FinishReason reason, std::string error, int status) {
  Slot& sl = *slots_[s];
  const Clock::time_point now = Clock::now();
  CompletionEvent ev;
  if (reason == FinishReason::kStop || reason == FinishReason::kLength) ev.text = sl.text->Finish();
  CompletionResult res;
  res.finish = reason;
  res.error = std::move(error);
  res.error_status = status;
  res.prompt_tokens = static_cast<uint32_t>(sl.req->params().prompt.size());
  res.cached_tokens = sl.reused;
  res.completion_tokens = sl.generated;
  res.queued_ms = Ms(sl.req->created(), sl.t_start);
  res.prompt_ms = Ms(sl.t_start, sl.t_first);
  res.predicted_ms = sl.generated > 0 ? Ms(sl.t_first, now) : 0;
  res.slot = static_cast<int>(s);
  ev.final = res;
  std::shared_ptr<Request> req = std::move(sl.req);
  sl.next = -1;
  if (reason == FinishReason::kError) {
    // What the sequence holds is unknown after a failed batch: start it afresh.
    sl.cached.clear();
    (void)context_.Truncate(s, 0);
  }
  {
    // The slot is free and counted before the client hears the end, so what it reads next
    // (/health, /metrics) already shows it.
    std::lock_guard lock(mu_);
    busy_[s] = false;
    ++stats_.requests_finished;
    if (reason == FinishReason::kCancelled) ++stats_.requests_cancelled;
    if (reason == FinishReason::kError) ++stats_.requests_failed;
    stats_.cached_tokens += res.cached_tokens;
    stats_.predicted_tokens += res.completion_tokens;
  }
  req->Push(std::move(ev));
}

}  // namespace st
