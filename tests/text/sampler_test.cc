// Sampler: llama.cpp's semantics for greedy, temperature, top-k, top-p, min-p and penalties, with
// the boundary cases that differ between implementations.
#include "smallthinker/sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace st {
namespace {

using ::testing::ElementsAre;

SamplerParams Off() {  // every filter disabled, random draw
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 42;
  return p;
}

std::vector<int32_t> Ids(const std::vector<TokenCandidate>& c) {
  std::vector<int32_t> ids;
  for (const auto& t : c) ids.push_back(t.id);
  return ids;
}

Sampler Make(const SamplerParams& p) {
  auto s = Sampler::Create(p);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

TEST(SamplerTest, GreedyIsArgmax) {
  SamplerParams p;
  p.temperature = 0.0f;
  Sampler s = Make(p);
  const std::vector<float> logits = {0.1f, 2.5f, -1.0f, 2.4f, 0.0f};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.Sample(logits), 1);
  p.temperature = -1.0f;
  p.order = "top_k";  // greedy even without a temperature stage
  EXPECT_EQ(Make(p).Sample(logits), 1);
  // Ties: the lower id.
  EXPECT_EQ(Make(p).Sample(std::vector<float>{1.0f, 3.0f, 3.0f}), 1);
}

TEST(SamplerTest, SameSeedSameTokens) {
  std::vector<float> logits(1000);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i)) * 3.0f;
  SamplerParams p;  // llama.cpp defaults
  p.seed = 1234;
  Sampler a = Make(p), b = Make(p);
  std::vector<int32_t> ta, tb;
  for (int i = 0; i < 50; ++i) {
    ta.push_back(a.Sample(logits));
    tb.push_back(b.Sample(logits));
  }
  EXPECT_EQ(ta, tb);
  p.seed = 4321;
  Sampler c = Make(p);
  std::vector<int32_t> tc;
  for (int i = 0; i < 50; ++i) tc.push_back(c.Sample(logits));
  EXPECT_NE(ta, tc);
  EXPECT_EQ(a.seed(), 1234u);
  p.seed = kRandomSeed;
  EXPECT_NE(Make(p).seed(), kRandomSeed);  // resolved (could collide, 1 in 2^32)
}

TEST(SamplerTest, DrawFollowsProbabilities) {
  SamplerParams p = Off();
  Sampler s = Make(p);
  const std::vector<float> logits = {std::log(0.7f), std::log(0.2f), std::log(0.1f)};
  std::map<int32_t, int> n;
  for (int i = 0; i < 20000; ++i) ++n[s.Sample(logits)];
  EXPECT_NEAR(n[0] / 20000.0, 0.7, 0.02);
  EXPECT_NEAR(n[1] / 20000.0, 0.2, 0.02);
  EXPECT_NEAR(n[2] / 20000.0, 0.1, 0.02);
}

TEST(SamplerTest, TopK) {
  SamplerParams p = Off();
  p.order = "top_k";
  p.top_k = 2;
  EXPECT_THAT(Ids(Make(p).Filter(std::vector<float>{1, 5, 3, 4})), ElementsAre(1, 3));
  // Ties at the cut: the lower ids stay.
  EXPECT_THAT(Ids(Make(p).Filter(std::vector<float>{2, 2, 2, 2})), ElementsAre(0, 1));
  p.top_k = 100;  // larger than the vocabulary: no change
  EXPECT_EQ(Make(p).Filter(std::vector<float>{1, 2, 3}).size(), 3u);
  p.top_k = 0;  // off
  EXPECT_EQ(Make(p).Filter(std::vector<float>{1, 2, 3}).size(), 3u);
}

TEST(SamplerTest, TopPBoundaries) {
  SamplerParams p = Off();
  p.order = "top_p";
  const std::vector<float> four(4, 0.0f);  // probabilities exactly 0.25 each
  p.top_p = 0.5f;  // lands exactly on the sum of two: stop there
  EXPECT_THAT(Ids(Make(p).Filter(four)), ElementsAre(0, 1));
  p.top_p = 0.5001f;
  EXPECT_EQ(Make(p).Filter(four).size(), 3u);
  p.top_p = 0.0f;  // at least one token
  EXPECT_THAT(Ids(Make(p).Filter(four)), ElementsAre(0));
  p.top_p = 1.0f;  // off
  EXPECT_EQ(Make(p).Filter(four).size(), 4u);
  // Highest probability first, whatever the id order.
  p.top_p = 0.8f;
  const std::vector<float> skew = {std::log(0.1f), std::log(0.6f), std::log(0.3f)};
  EXPECT_THAT(Ids(Make(p).Filter(skew)), ElementsAre(1, 2));
  // A large vocabulary (the sorted prefix grows as needed).
  std::vector<float> big(1 << 17, 0.0f);  // probabilities 2^-17: sums are exact
  p.top_p = 0.5f;
  EXPECT_EQ(Make(p).Filter(big).size(), 1u << 16);
}

TEST(SamplerTest, MinP) {
  SamplerParams p = Off();
  p.order = "min_p";
  p.min_p = 0.5f;
  // probabilities 0.4, 0.2, 0.3, 0.1 -> keep >= 0.2 (exactly half of the max stays)
  const std::vector<float> logits = {std::log(0.4f), std::log(0.2f), std::log(0.3f), std::log(0.1f)};
  EXPECT_THAT(Ids(Make(p).Filter(logits)), ElementsAre(0, 2, 1));
  p.min_p = 0.0f;
  EXPECT_EQ(Make(p).Filter(logits).size(), 4u);
  p.min_p = 2.0f;  // nothing passes: the best stays
  EXPECT_THAT(Ids(Make(p).Filter(logits)), ElementsAre(0));
}

TEST(SamplerTest, TemperatureScalesLogits) {
  SamplerParams p = Off();
  p.order = "temperature";
  p.temperature = 0.5f;
  const auto c = Make(p).Filter(std::vector<float>{1.0f, -2.0f});
  ASSERT_EQ(c.size(), 2u);
  EXPECT_FLOAT_EQ(c[0].logit, 2.0f);
  EXPECT_FLOAT_EQ(c[1].logit, -4.0f);
}

TEST(SamplerTest, RepetitionPenalty) {
  SamplerParams p = Off();
  p.order = "penalties";
  p.repeat_penalty = 2.0f;
  p.repeat_last_n = 2;
  Sampler s = Make(p);
  s.Accept(0);
  s.Accept(1);
  s.Accept(1);  // counted once for the repeat penalty
  const auto c = s.Filter(std::vector<float>{4.0f, -4.0f, 3.0f});
  std::map<int32_t, float> by_id;
  for (const auto& t : c) by_id[t.id] = t.logit;
  EXPECT_FLOAT_EQ(by_id[0], 4.0f);   // out of the last 2: untouched
  EXPECT_FLOAT_EQ(by_id[1], -8.0f);  // negative: multiplied
  EXPECT_FLOAT_EQ(by_id[2], 3.0f);
  s.Accept(2);
  const auto c2 = s.Filter(std::vector<float>{4.0f, -4.0f, 3.0f});
  for (const auto& t : c2) by_id[t.id] = t.logit;
  EXPECT_FLOAT_EQ(by_id[2], 1.5f);   // positive: divided
  // Greedy picks the argmax of the penalised logits.
  p.temperature = 0.0f;
  p.repeat_penalty = 10.0f;
  Sampler g = Make(p);
  g.Accept(0);
  EXPECT_EQ(g.Sample(std::vector<float>{4.0f, -4.0f, 3.0f}), 2);
  // Frequency and presence penalties (llama.cpp's): minus count * freq + presence.
  p.repeat_penalty = 1.0f;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 1.0f;
  Sampler f = Make(p);
  f.Accept(2);
  f.Accept(2);
  const auto c3 = f.Filter(std::vector<float>{0.0f, 0.0f, 3.0f});
  EXPECT_EQ(c3[0].id, 2);  // greedy: 3 - 1 - 1 = 1 still the best
}

TEST(SamplerTest, OrderParsing) {
  auto st = Sampler::ParseOrder("penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature");
  ASSERT_TRUE(st.ok());
  EXPECT_THAT(*st, ElementsAre(SamplerStage::kPenalties, SamplerStage::kTopK, SamplerStage::kTopP,
                               SamplerStage::kMinP, SamplerStage::kTemperature));
  EXPECT_THAT(Sampler::ParseOrder("temperature;top_k;top_p").value(),
              ElementsAre(SamplerStage::kTemperature, SamplerStage::kTopK, SamplerStage::kTopP));
  EXPECT_THAT(Sampler::ParseOrder("top-k; min-p ;temp").value(),
              ElementsAre(SamplerStage::kTopK, SamplerStage::kMinP, SamplerStage::kTemperature));
  EXPECT_FALSE(Sampler::ParseOrder("top_q").ok());
  SamplerParams p;
  p.repeat_penalty = 0.0f;
  EXPECT_FALSE(Sampler::Create(p).ok());
  p = SamplerParams();
  p.repeat_last_n = -2;
  EXPECT_FALSE(Sampler::Create(p).ok());
}

TEST(SamplerTest, OrderMatters) {
  // top_k after temperature vs before gives the same set; min_p before top_k sees all tokens.
  SamplerParams p = Off();
  p.top_k = 1;
  p.min_p = 0.9f;
  p.order = "min_p;top_k";
  const std::vector<float> logits = {5.0f, 5.0f, 1.0f};
  EXPECT_THAT(Ids(Make(p).Filter(logits)), ElementsAre(0));
  p.order = "";
  EXPECT_EQ(Make(p).Filter(logits).size(), 3u);
}

}  // namespace
}  // namespace st
