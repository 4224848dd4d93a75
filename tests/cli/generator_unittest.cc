// Generator: a conversation that reuses its KV cache gives what a fresh evaluation of the same
// history gives, bit for bit, also when a rewind goes past what the sliding-window layers still
// hold (the shipped model: window 64; a small batch makes its ring 64 + 8 - 1 slots).
#include "cli/generator.h"

#include <gtest/gtest.h>

#include <cstring>

#include "smallthinker/model.h"

namespace st {
namespace {

class GeneratorReuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = smallthinker::Model::Load(std::string(ST_SOURCE_DIR) + "/models/tinystories-st-q8_0.gguf");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
    ASSERT_TRUE(model_->has_tokenizer());
    tokenizer_ = &model_->tokenizer().impl();
    ASSERT_GT(model_->info().sliding_window, 0u);
    SamplerParams sp;
    sp.temperature = 0;  // greedy
    auto s = Sampler::Create(sp);
    ASSERT_TRUE(s.ok());
    sampler_ = std::make_unique<Sampler>(std::move(*s));
  }

  std::unique_ptr<smallthinker::Context> MakeDecoder() {
    smallthinker::ContextParams o;
    o.n_ctx = 512;
    o.n_threads = 2;
    o.batch_size = 8;
    auto d = smallthinker::Context::Create(*model_, o);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return std::move(*d);
  }

  std::vector<int32_t> Encode(const std::string& text) { return tokenizer_->Encode(text, false, true); }

  // Evaluates `history` on a fresh decoder and generates n tokens greedily.
  std::vector<int32_t> Fresh(const std::vector<int32_t>& history, int n, std::vector<float>* logits) {
    auto d = MakeDecoder();
    Generator g(*d, *tokenizer_, {}, 8);
    g.set_sampler(sampler_.get());
    EXPECT_TRUE(g.Evaluate(history, 0).ok());
    logits->assign(g.logits().begin(), g.logits().end());
    GenerateOptions o;
    o.n_predict = n;
    auto r = g.Generate(o, nullptr);
    EXPECT_TRUE(r.ok());
    return r->tokens;
  }

  std::unique_ptr<smallthinker::Model> model_;
  const Tokenizer* tokenizer_ = nullptr;
  std::unique_ptr<Sampler> sampler_;
};

TEST_F(GeneratorReuseTest, ReusedCacheEqualsFreshEvaluation) {
  auto d = MakeDecoder();
  Generator g(*d, *tokenizer_, {}, 8);
  g.set_sampler(sampler_.get());
  const std::vector<int32_t> first = Encode(
      "once upon a time, there was a little girl named lily. she loved to play in the park with her friends. one "
      "day, she saw a big red ball under a tree and ran to get it.");
  ASSERT_GT(first.size(), 30u);
  ASSERT_TRUE(g.Evaluate(first, 0).ok());
  GenerateOptions o;
  o.n_predict = 60;  // past the window of 64 and the ring's 71 slots
  auto a = g.Generate(o, nullptr);
  ASSERT_TRUE(a.ok());
  ASSERT_GT(g.evaluated().size(), 80u);

  // 1. Append a turn: the cache is reused as it is.
  const std::vector<int32_t> more = Encode(" the end.\nonce upon a time");
  const std::vector<int32_t> before = g.evaluated();
  ASSERT_TRUE(g.Evaluate(more, static_cast<uint32_t>(before.size())).ok());
  EXPECT_EQ(g.reevaluated(), 0u);
  std::vector<int32_t> history = before;
  history.insert(history.end(), more.begin(), more.end());
  std::vector<float> fresh_logits;
  std::vector<int32_t> fresh = Fresh(history, 8, &fresh_logits);
  ASSERT_EQ(g.logits().size(), fresh_logits.size());
  EXPECT_EQ(std::memcmp(g.logits().data(), fresh_logits.data(), fresh_logits.size() * sizeof(float)), 0);
  auto b = g.Generate([] { GenerateOptions x; x.n_predict = 8; return x; }(), nullptr);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->tokens, fresh);

  // 2. Rewind to position 20 (re-tokenized history that diverges early): the ring no longer holds
  //    what position 20 needs, so the generator evaluates the kept prefix again.
  const std::vector<int32_t> turn = Encode(" and a dog");
  ASSERT_TRUE(g.Evaluate(turn, 20).ok());
  EXPECT_EQ(g.reevaluated(), 20u);
  history.assign(first.begin(), first.begin() + 20);
  history.insert(history.end(), turn.begin(), turn.end());
  EXPECT_EQ(g.evaluated(), history);
  fresh = Fresh(history, 8, &fresh_logits);
  EXPECT_EQ(std::memcmp(g.logits().data(), fresh_logits.data(), fresh_logits.size() * sizeof(float)), 0);
  auto c = g.Generate([] { GenerateOptions x; x.n_predict = 8; return x; }(), nullptr);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->tokens, fresh);
}

}  // namespace
}  // namespace st
