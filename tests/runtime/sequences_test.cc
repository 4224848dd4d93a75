// Sequences in the KV cache: rewinds are exact or refused (never stale keys), several sequences in
// one batch give each the bits it gets alone, and every KV type (F16, F32, Q8_0) keeps these.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "gen/model_generator.h"
#include "runtime/decoder.h"
#include "test_util.h"

namespace st {
namespace {

using ::testing::HasSubstr;

struct Case {
  const char* name;
  uint32_t window;  // 0: every layer global
  KvType kv;
};

class SequencesTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Case& c = GetParam();
    dir_ = testing::ScratchDir(std::string("sequences_") + c.name);
    GeneratorSpec s = *PresetSpec("tiny");
    s.head_dim = 32;  // Q8_0 KV needs head dims in whole blocks of 32
    s.weight_type = GgmlType::kQ8_0;
    s.down_layout = DownLayout::kTransposed;
    s.sliding_window = c.window;
    s.sparsity = 0.7f;
    s.profiler_rank = 32;
    path_ = dir_ + "/m.gguf";
    Status g = GenerateModel(s, path_, 3);
    ASSERT_TRUE(g.ok()) << g.ToString();
    auto m = Model::Load(path_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
    V_ = model_->config().n_vocab;
    for (int i = 0; i < 90; ++i) tokens_.push_back((i * 131 + 7) % 500);
  }

  std::unique_ptr<Decoder> Make(uint32_t n_seq = 1, bool swa_full = false, uint32_t batch = 8, bool exact = false) {
    DecoderOptions o;
    o.exact_lm_head = exact;
    o.n_ctx = 160;
    o.n_threads = 2;
    o.min_parallel_bytes = 0;
    o.batch_size = batch;
    o.max_outputs = batch;  // the tests read every token's logits
    o.kv_type = GetParam().kv;
    o.n_seq = n_seq;
    o.swa_full = swa_full;
    auto d = Decoder::Create(*model_, o);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return std::move(*d);
  }

  // Logits of every position of `tokens` on a fresh decoder, token by token (the predicted head
  // where the file has one, unless `exact`).
  std::vector<float> Fresh(std::span<const int32_t> tokens, bool exact = false) {
    auto d = Make(1, false, 8, exact);
    std::vector<float> all;
    for (size_t i = 0; i < tokens.size(); ++i) {
      auto r = d->Forward(tokens[i], static_cast<uint32_t>(i));
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      all.insert(all.end(), *r, *r + V_);
    }
    return all;
  }

  bool Same(const float* a, const float* b) { return std::memcmp(a, b, V_ * sizeof(float)) == 0; }

  std::string dir_, path_;
  std::unique_ptr<Model> model_;
  std::vector<int32_t> tokens_;
  size_t V_ = 0;
};

// Runs 70 tokens (past the 16-token window, the ring holds 16 + 8 - 1), then rewinds to 40 and
// continues with other tokens: the result must equal a fresh evaluation of that history.
TEST_P(SequencesTest, RewindAfterMoreThanTheWindowEqualsAFreshPrefill) {
  const bool sliding = GetParam().window > 0;
  std::vector<int32_t> other(tokens_.begin(), tokens_.begin() + 40);
  for (int i = 0; i < 12; ++i) other.push_back((i * 17 + 3) % 500);
  const std::vector<float> fresh = Fresh(other);

  auto d = Make();
  ASSERT_TRUE(d->Prefill(std::span(tokens_).first(70), 0).ok());
  EXPECT_EQ(d->SeqLength(0), 70u);
  if (sliding) {
    // The ring no longer holds positions 25..39: the rewind is refused, nothing changes.
    EXPECT_EQ(d->KeepablePrefix(0, 40), 0u);
    Status s = d->Truncate(0, 40);
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(s.message(), HasSubstr("sliding-window"));
    EXPECT_EQ(d->SeqLength(0), 70u);
    auto r = d->Forward(other[40], 40);  // a rewinding Forward is refused the same way
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    // Re-evaluating the kept prefix (what the generator does) is exact.
    auto last = d->Prefill(other, 0);
    ASSERT_TRUE(last.ok());
  } else {
    EXPECT_EQ(d->KeepablePrefix(0, 40), 40u);
    ASSERT_TRUE(d->Truncate(0, 40).ok());
    ASSERT_TRUE(d->Prefill(std::span(other).subspan(40), 40).ok());
  }
  // The next token's logits as a fresh run of the same history.
  auto next = d->Forward(5, static_cast<uint32_t>(other.size()));
  ASSERT_TRUE(next.ok());
  std::vector<int32_t> longer = other;
  longer.push_back(5);
  const std::vector<float> fresh_longer = Fresh(longer);
  EXPECT_TRUE(Same(*next, fresh_longer.data() + (longer.size() - 1) * V_));
  EXPECT_TRUE(Same(fresh.data() + (other.size() - 1) * V_, fresh_longer.data() + (other.size() - 1) * V_));
}

// A rewind within the ring's margin (or any rewind with --swa-full) reuses the cache exactly.
TEST_P(SequencesTest, RewindWithinWhatTheCacheHoldsReusesIt) {
  for (const bool swa_full : {false, true}) {
    const uint32_t back = swa_full ? 30 : 65;  // the ring holds 70-23..69: position 65 sees 50..64
    std::vector<int32_t> other(tokens_.begin(), tokens_.begin() + back);
    for (int i = 0; i < 6; ++i) other.push_back((i * 29 + 1) % 500);
    const std::vector<float> fresh = Fresh(other);
    auto d = Make(1, swa_full);
    ASSERT_TRUE(d->Prefill(std::span(tokens_).first(70), 0).ok());
    EXPECT_EQ(d->KeepablePrefix(0, back), back) << "swa_full " << swa_full;
    for (size_t i = back; i < other.size(); ++i) {
      auto r = d->Forward(other[i], static_cast<uint32_t>(i));  // the first one rewinds
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_TRUE(Same(*r, fresh.data() + i * V_)) << "position " << i << " swa_full " << swa_full;
    }
  }
}

// Three sequences of different lengths prefilled and decoded together: each gets the logits it
// gets alone, bit for bit.
TEST_P(SequencesTest, SequencesInOneBatchEqualEachAlone) {
  const std::vector<size_t> lengths = {5, 30, 12};
  std::vector<std::vector<int32_t>> prompts;
  for (size_t s = 0; s < lengths.size(); ++s) {
    std::vector<int32_t> p;
    for (size_t i = 0; i < lengths[s] + 4; ++i) p.push_back(static_cast<int32_t>((i * 37 + s * 101 + 11) % 500));
    prompts.push_back(p);
  }
  auto d = Make(3, false, 64);
  // Prompts interleaved in one batch (each sequence's tokens in order), all logits.
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < 30; ++i) {
    for (uint32_t s = 0; s < 3; ++s) {
      if (i < lengths[s]) batch.push_back({prompts[s][i], static_cast<uint32_t>(i), s, TokenOutput::kExact});
    }
  }
  ASSERT_TRUE(d->Forward(batch).ok());
  std::vector<std::vector<float>> alone;
  for (uint32_t s = 0; s < 3; ++s) alone.push_back(Fresh(prompts[s], /*exact=*/true));
  for (size_t i = 0; i < batch.size(); ++i) {
    const BatchToken& t = batch[i];
    ASSERT_NE(d->Logits(i), nullptr);
    EXPECT_TRUE(Same(d->Logits(i), alone[t.seq].data() + t.pos * V_)) << "seq " << t.seq << " pos " << t.pos;
  }
  // Then four decode steps of all three at once (predicted head where the file has one).
  for (size_t step = 0; step < 4; ++step) {
    std::vector<BatchToken> dec;
    for (uint32_t s = 0; s < 3; ++s) {
      const uint32_t pos = static_cast<uint32_t>(lengths[s] + step);
      dec.push_back({prompts[s][pos], pos, s, step % 2 == 0 ? TokenOutput::kExact : TokenOutput::kLogits});
    }
    ASSERT_TRUE(d->Forward(dec).ok());
    for (uint32_t s = 0; s < 3; ++s) {
      if (dec[s].output == TokenOutput::kExact) {
        EXPECT_TRUE(Same(d->Logits(s), alone[s].data() + dec[s].pos * V_)) << "seq " << s << " step " << step;
      }
    }
    if (dec[0].output == TokenOutput::kLogits) {
      // The predicted head of a token alone (sequence 2's history on a fresh decoder).
      auto one = Make();
      ASSERT_TRUE(one->Prefill(std::span(prompts[2]).first(dec[2].pos), 0).ok());
      auto r = one->Forward(prompts[2][dec[2].pos], dec[2].pos);
      ASSERT_TRUE(r.ok());
      EXPECT_TRUE(Same(*r, d->Logits(2))) << "predicted head, step " << step;
    }
  }
}

TEST_P(SequencesTest, BadBatchesAreErrorsAndChangeNothing) {
  auto d = Make(2);
  ASSERT_TRUE(d->Prefill(std::span(tokens_).first(4), 0).ok());
  std::vector<BatchToken> gap = {{1, 6, 0, TokenOutput::kLogits}};
  EXPECT_THAT(d->Forward(gap).message(), HasSubstr("expected position 4"));
  std::vector<BatchToken> no_seq = {{1, 0, 2, TokenOutput::kLogits}};
  EXPECT_THAT(d->Forward(no_seq).message(), HasSubstr("sequence 2 does not exist"));
  std::vector<BatchToken> twice = {{1, 4, 0, TokenOutput::kNone}, {2, 4, 0, TokenOutput::kNone}};
  EXPECT_THAT(d->Forward(twice).message(), HasSubstr("expected position 5"));
  EXPECT_EQ(d->SeqLength(0), 4u);
  EXPECT_EQ(d->SeqLength(1), 0u);
}

INSTANTIATE_TEST_SUITE_P(Kv, SequencesTest,
                         ::testing::Values(Case{"window_f16", 16, KvType::kF16}, Case{"window_f32", 16, KvType::kF32},
                                           Case{"window_q8_0", 16, KvType::kQ8_0},
                                           Case{"global_f16", 0, KvType::kF16}, Case{"global_q8_0", 0, KvType::kQ8_0}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(KvCacheTest, Q8_0NeedsWholeBlocksPerHead) {
  GeneratorSpec s = *PresetSpec("tiny");  // head dim 16
  const std::string dir = testing::ScratchDir("kv_q8_0_heads");
  ASSERT_TRUE(GenerateModel(s, dir + "/m.gguf", 2).ok());
  auto m = Model::Load(dir + "/m.gguf");
  ASSERT_TRUE(m.ok());
  DecoderOptions o;
  o.kv_type = KvType::kQ8_0;
  auto d = Decoder::Create(**m, o);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("multiples of 32"));
}

}  // namespace
}  // namespace st
