// Sampler: picks the next token from the logits, with llama.cpp's samplers and semantics.
//
// The chain runs the samplers named in `order` (llama.cpp's --samplers: names separated by ';'),
// then draws a token from the survivors' softmax with a seeded Mersenne Twister. Samplers:
//   penalties    repetition penalty over the last `repeat_last_n` accepted tokens: a logit > 0
//                is divided by repeat_penalty, a logit <= 0 multiplied (once per distinct token);
//                then frequency (per occurrence) and presence (once) penalties are subtracted.
//                repeat_last_n 0 or all three penalties neutral = off; -1 = every accepted token.
//   top_k        keep the k highest logits. k <= 0 = off; k >= candidates = no change.
//   top_p        keep the smallest prefix (by probability, highest first) whose probability sum
//                reaches p (>= p: a sum landing exactly on p stops there). p >= 1 = off.
//   min_p        keep tokens whose probability is >= p * the highest probability. p <= 0 = off.
//   temperature  divide logits by temp; temp <= 0 keeps only the highest logit (greedy).
// Also accepted, as no-ops (llama.cpp's defaults leave them disabled): dry, typ_p, xtc,
// top_n_sigma, infill. Alternative names: top-k, top-p, nucleus, min-p, temp, typical(-p), typ.
// Every sampler keeps at least one token. Ties are broken by the lower token id, so results do
// not depend on sort stability. temp <= 0 makes the whole chain greedy: the argmax of the
// (penalised) logits, whatever the order says.
//
// Not thread-safe (one per generation stream); its state is the RNG and the accepted tokens.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smallthinker/status.h"

namespace st {

inline constexpr uint32_t kRandomSeed = 0xFFFFFFFF;  // llama.cpp's -s -1: seed from the system

// llama.cpp's defaults (the CLI may choose SmallThinker's: temp 0.6, top-k 20, top-p 0.95,
// order "temperature;top_k;top_p").
struct SamplerParams {
  float temperature = 0.8f;
  int32_t top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  int32_t repeat_last_n = 64;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  uint32_t seed = kRandomSeed;
  std::string order = "penalties;top_k;top_p;min_p;temperature";
};

enum class SamplerStage { kPenalties, kTopK, kTopP, kMinP, kTemperature };

// A token still in the running, with its (possibly transformed) logit.
struct TokenCandidate {
  int32_t id;
  float logit;
};

class Sampler {
 public:
  // Errors (InvalidArgument): an unknown sampler name, a negative repeat_last_n other than -1, a
  // repeat_penalty <= 0, NaN parameters.
  static Result<Sampler> Create(const SamplerParams& params);

  // Parses an order string ("penalties;top_k;temperature") into stages (no-op names dropped).
  static Result<std::vector<SamplerStage>> ParseOrder(std::string_view order);

  // Draws the next token. REQUIRES: !logits.empty(). Does not Accept() it.
  int32_t Sample(std::span<const float> logits);
  // Records a token (prompt or generated) for the penalties.
  void Accept(int32_t token);
  // Forgets accepted tokens (a new conversation); the RNG continues.
  void ResetHistory() { history_.clear(); }

  // The candidates that survive the chain, best first, before the draw (for tests and --verbose).
  std::vector<TokenCandidate> Filter(std::span<const float> logits) const;

  uint32_t seed() const { return seed_; }  // the seed in use (resolved when kRandomSeed was asked)
  const SamplerParams& params() const { return params_; }
  const std::vector<SamplerStage>& stages() const { return stages_; }

 private:
  Sampler(SamplerParams params, std::vector<SamplerStage> stages, uint32_t seed);
  // The survivors of the chain, in no particular order.
  std::vector<TokenCandidate> RunChain(std::span<const float> logits) const;
  double NextUniform();  // [0, 1), 53 bits, the same on every platform

  SamplerParams params_;
  std::vector<SamplerStage> stages_;
  uint32_t seed_;
  std::mt19937 rng_;
  std::vector<int32_t> history_;  // accepted tokens, the last repeat_last_n (or all if -1)
};

}  // namespace st

// The public API's spelling (include/smallthinker/context.h).
namespace smallthinker {
using st::kRandomSeed;
using st::Sampler;
using st::SamplerParams;
}  // namespace smallthinker
