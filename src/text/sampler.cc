#include "smallthinker/sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace st {

namespace {

// Best first: higher logit, then lower id (a total order, so partial sorts are deterministic).
bool Better(const TokenCandidate& a, const TokenCandidate& b) {
  return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
}

// The candidates while the chain runs. v[0, sorted) are the `sorted` best, in order; samplers that
// need an order sort only as much as they must (the vocabulary is 151,936 tokens).
struct Candidates {
  std::vector<TokenCandidate> v;
  size_t sorted = 0;
  bool id_order = true;  // v[i].id == i (nothing sorted or removed yet)

  explicit Candidates(std::span<const float> logits) {
    v.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) v[i] = {static_cast<int32_t>(i), logits[i]};
  }
  void SortPrefix(size_t n) {
    n = std::min(n, v.size());
    if (n <= sorted) return;
    id_order = false;
    std::partial_sort(v.begin() + sorted, v.begin() + n, v.end(), Better);
    sorted = n;
  }
  void Truncate(size_t n) {
    id_order = id_order && n >= v.size();
    v.resize(std::max<size_t>(1, std::min(n, v.size())));
    sorted = std::min(sorted, v.size());
  }
  float MaxLogit() const {
    if (sorted > 0) return v[0].logit;
    float m = -std::numeric_limits<float>::infinity();
    for (const auto& c : v) m = std::max(m, c.logit);
    return m;
  }
};

void TopK(Candidates& c, int32_t k) {
  if (k <= 0 || static_cast<size_t>(k) >= c.v.size()) return;
  c.SortPrefix(static_cast<size_t>(k));
  c.Truncate(static_cast<size_t>(k));
}

void TopP(Candidates& c, float p) {
  if (p >= 1.0f || c.v.size() <= 1) return;
  const float max = c.MaxLogit();
  double sum = 0;
  for (const auto& t : c.v) sum += std::exp(static_cast<double>(t.logit) - max);
  double cum = 0;
  for (size_t i = 0; i < c.v.size(); ++i) {
    if (i >= c.sorted) c.SortPrefix(std::max<size_t>(64, 2 * c.sorted));  // grow the sorted prefix as needed
    cum += std::exp(static_cast<double>(c.v[i].logit) - max) / sum;
    if (cum >= p) {
      c.Truncate(i + 1);
      return;
    }
  }
}

void MinP(Candidates& c, float p) {
  if (p <= 0.0f || c.v.size() <= 1) return;
  // prob >= p * max_prob  <=>  logit >= max_logit + log(p)
  const float max = c.MaxLogit();
  const float threshold = max + std::log(p);
  size_t kept_sorted = 0;
  while (kept_sorted < c.sorted && c.v[kept_sorted].logit >= threshold) ++kept_sorted;
  auto end = std::remove_if(c.v.begin(), c.v.end(), [&](const TokenCandidate& t) { return t.logit < threshold; });
  if (end == c.v.begin()) {  // p > 1: nothing passes; keep the best
    c.SortPrefix(1);
    c.Truncate(1);
    return;
  }
  c.id_order = c.id_order && end == c.v.end();
  c.v.erase(end, c.v.end());
  c.sorted = kept_sorted;
}

void Temperature(Candidates& c, float temp) {
  if (temp <= 0.0f) {
    c.SortPrefix(1);
    c.Truncate(1);
    return;
  }
  for (auto& t : c.v) t.logit /= temp;  // keeps the order
}

void Penalties(const SamplerParams& p, const std::vector<int32_t>& history, Candidates& c) {
  if (p.repeat_last_n == 0 || history.empty() ||
      (p.repeat_penalty == 1.0f && p.frequency_penalty == 0.0f && p.presence_penalty == 0.0f)) {
    return;
  }
  std::unordered_map<int32_t, int> counts;
  for (int32_t t : history) ++counts[t];
  const auto penalise = [&](TokenCandidate& t, int count) {
    t.logit = t.logit <= 0.0f ? t.logit * p.repeat_penalty : t.logit / p.repeat_penalty;
    t.logit -= static_cast<float>(count) * p.frequency_penalty + p.presence_penalty;
  };
  if (c.id_order) {  // still the whole vocabulary in id order: look tokens up directly
    for (const auto& [id, count] : counts) {
      if (id >= 0 && static_cast<size_t>(id) < c.v.size()) penalise(c.v[id], count);
    }
  } else {
    for (auto& t : c.v) {
      if (auto it = counts.find(t.id); it != counts.end()) penalise(t, it->second);
    }
  }
  c.sorted = 0;  // the order may have changed
}

struct StageName {
  std::string_view name;
  int stage;  // a SamplerStage, or -1 for samplers accepted as no-ops
};

constexpr StageName kStageNames[] = {
    {"penalties", static_cast<int>(SamplerStage::kPenalties)},
    {"top_k", static_cast<int>(SamplerStage::kTopK)},
    {"top-k", static_cast<int>(SamplerStage::kTopK)},
    {"top_p", static_cast<int>(SamplerStage::kTopP)},
    {"top-p", static_cast<int>(SamplerStage::kTopP)},
    {"nucleus", static_cast<int>(SamplerStage::kTopP)},
    {"min_p", static_cast<int>(SamplerStage::kMinP)},
    {"min-p", static_cast<int>(SamplerStage::kMinP)},
    {"temperature", static_cast<int>(SamplerStage::kTemperature)},
    {"temp", static_cast<int>(SamplerStage::kTemperature)},
    {"dry", -1}, {"typ_p", -1}, {"typ-p", -1}, {"typical_p", -1}, {"typical-p", -1}, {"typical", -1},
    {"typ", -1}, {"xtc", -1}, {"top_n_sigma", -1}, {"top-n-sigma", -1}, {"infill", -1},
};

}  // namespace

Result<std::vector<SamplerStage>> Sampler::ParseOrder(std::string_view order) {
  std::vector<SamplerStage> stages;
  size_t i = 0;
  while (i <= order.size()) {
    size_t j = order.find(';', i);
    if (j == std::string_view::npos) j = order.size();
    std::string_view name = order.substr(i, j - i);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    i = j + 1;
    if (name.empty()) continue;
    const StageName* found = nullptr;
    for (const auto& s : kStageNames) {
      if (s.name == name) found = &s;
    }
    if (!found) {
      return InvalidArgument(fmt::format("--samplers: unknown sampler '{}' (known: penalties, top_k, top_p, min_p, "
                                         "temperature; dry, typ_p, xtc, top_n_sigma are accepted and do nothing)", name));
    }
    if (found->stage >= 0) stages.push_back(static_cast<SamplerStage>(found->stage));
  }
  return stages;
}

Result<Sampler> Sampler::Create(const SamplerParams& p) {
  for (float f : {p.temperature, p.top_p, p.min_p, p.repeat_penalty, p.frequency_penalty, p.presence_penalty}) {
    if (std::isnan(f)) return InvalidArgument("sampling parameter is NaN");
  }
  if (p.repeat_penalty <= 0.0f) {
    return InvalidArgument(fmt::format("--repeat-penalty {} must be > 0 (1.0 = off)", p.repeat_penalty));
  }
  if (p.repeat_last_n < -1) {
    return InvalidArgument(fmt::format("--repeat-last-n {} must be >= -1 (0 = off, -1 = all)", p.repeat_last_n));
  }
  ST_ASSIGN_OR_RETURN(auto stages, ParseOrder(p.order));
  const uint32_t seed = p.seed == kRandomSeed ? std::random_device{}() : p.seed;
  return Sampler(p, std::move(stages), seed);
}

Sampler::Sampler(SamplerParams params, std::vector<SamplerStage> stages, uint32_t seed)
    : params_(std::move(params)), stages_(std::move(stages)), seed_(seed), rng_(seed) {}

void Sampler::Accept(int32_t token) {
  if (params_.repeat_last_n == 0) return;
  history_.push_back(token);
  const auto n = static_cast<size_t>(params_.repeat_last_n);
  if (params_.repeat_last_n > 0 && history_.size() > n) history_.erase(history_.begin(), history_.end() - n);
}

std::vector<TokenCandidate> Sampler::RunChain(std::span<const float> logits) const {
  Candidates c(logits);
  for (SamplerStage s : stages_) {
    switch (s) {
      case SamplerStage::kPenalties: Penalties(params_, history_, c); break;
      case SamplerStage::kTopK: TopK(c, params_.top_k); break;
      case SamplerStage::kTopP: TopP(c, params_.top_p); break;
      case SamplerStage::kMinP: MinP(c, params_.min_p); break;
      case SamplerStage::kTemperature: Temperature(c, params_.temperature); break;
    }
    if (c.v.empty()) break;  // only with empty logits
  }
  // temp <= 0 is greedy even when the order has no temperature stage.
  if (params_.temperature <= 0.0f) Temperature(c, 0.0f);
  return std::move(c.v);
}

std::vector<TokenCandidate> Sampler::Filter(std::span<const float> logits) const {
  std::vector<TokenCandidate> v = RunChain(logits);
  std::sort(v.begin(), v.end(), Better);
  return v;
}

int32_t Sampler::Sample(std::span<const float> logits) {
  ST_CHECK(!logits.empty());
  std::vector<TokenCandidate> cands = RunChain(logits);
  if (cands.size() == 1) return cands[0].id;
  float max = -std::numeric_limits<float>::infinity();
  for (const auto& t : cands) max = std::max(max, t.logit);
  if (!std::isfinite(max)) return std::min_element(cands.begin(), cands.end(), Better)->id;
  double sum = 0;
  for (const auto& t : cands) sum += std::exp(static_cast<double>(t.logit) - max);
  const double u = NextUniform() * sum;
  double cum = 0;
  for (const auto& t : cands) {
    cum += std::exp(static_cast<double>(t.logit) - max);
    if (u < cum) return t.id;
  }
  return cands.back().id;  // rounding: u landed past the last sum
}

double Sampler::NextUniform() {
  // genrand_res53: two 32-bit draws make a 53-bit fraction. std::uniform_real_distribution is
  // avoided because its output differs between standard libraries.
  const uint32_t a = rng_() >> 5, b = rng_() >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

}  // namespace st
