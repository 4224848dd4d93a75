// Expert offloading: the cache's eviction rules, the memory plan, and the whole path: logits with
// experts read from disk through a small cache are bit-identical to the in-memory logits, for both
// readers, both policies and both sources (GGUF slices, expert file); read errors stop cleanly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "gen/model_generator.h"
#include "offload/expert_cache.h"
#include "offload/expert_file.h"
#include "offload/memory_plan.h"
#include "runtime/decoder.h"
#include "test_util.h"

namespace st {
namespace {

using ::testing::HasSubstr;

TEST(ExpertCacheTest, LruEvictsLeastRecentlyUsedUnpinned) {
  ExpertCache c(2, 4, 3, CachePolicy::kLru);
  bool ev;
  ExpertKey old;
  const int64_t a = c.Insert({0, 0}, &ev, &old);
  const int64_t b = c.Insert({0, 1}, &ev, &old);
  const int64_t d = c.Insert({0, 2}, &ev, &old);
  EXPECT_FALSE(ev);
  c.Touch(a);  // a is now most recent; b is the oldest
  c.Pin(b);    // ...but pinned, so d... no: d is newer than b; the oldest unpinned is d
  const int64_t e = c.Insert({1, 0}, &ev, &old);
  EXPECT_TRUE(ev);
  EXPECT_EQ(old, (ExpertKey{0, 2}));
  EXPECT_EQ(e, d);
  EXPECT_EQ(c.Find({0, 2}), ExpertCache::kNone);
  EXPECT_EQ(c.Find({1, 0}), e);
  c.SetLoading(e, true);
  c.Pin(a);
  EXPECT_EQ(c.Insert({1, 1}, &ev, &old), ExpertCache::kNone);  // everything pinned or loading
  c.Unpin(b);
  EXPECT_EQ(c.Insert({1, 1}, &ev, &old), b);
}

TEST(ExpertCacheTest, LfuKeepsFrequentExperts) {
  ExpertCache c(1, 8, 2, CachePolicy::kLfu);
  bool ev;
  ExpertKey old;
  const int64_t hot = c.Insert({0, 0}, &ev, &old);
  for (int i = 0; i < 5; ++i) c.Touch(hot);
  const int64_t cold = c.Insert({0, 1}, &ev, &old);
  c.Touch(cold);
  c.Touch(hot);  // hot is not the most recent... make cold the most recent:
  c.Touch(cold);
  c.Insert({0, 2}, &ev, &old);
  EXPECT_EQ(old, (ExpertKey{0, 1}));  // LRU would have evicted the hot one
  EXPECT_NE(c.Find({0, 0}), ExpertCache::kNone);
}

TEST(MemoryPlanTest, ParsesSizes) {
  EXPECT_EQ(*ParseByteSize("1G"), 1ull << 30);
  EXPECT_EQ(*ParseByteSize("512M"), 512ull << 20);
  EXPECT_EQ(*ParseByteSize("1.5GiB"), 3ull << 29);
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("8k"), 8192u);
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_FALSE(ParseByteSize("lots").ok());
  EXPECT_FALSE(ParseByteSize("12X").ok());
  EXPECT_FALSE(ParseByteSize("0").ok());
}

TEST(MemoryPlanTest, InMemoryOffloadedOrTooSmall) {
  MemoryPlanInput in;
  in.non_expert_weights = 100 << 20;
  in.expert_weights = 900 << 20;
  in.kv_cache = 50 << 20;
  in.scratch = 1 << 20;
  in.baseline = 10 << 20;
  in.margin = 20 << 20;
  in.slot_bytes = 2 << 20;
  in.total_experts = 450;
  in.min_slots = 8;
  in.limit = 0;
  EXPECT_FALSE(PlanMemory(in)->offload);
  in.limit = 2ull << 30;
  EXPECT_FALSE(PlanMemory(in)->offload);
  in.limit = 500 << 20;
  auto p = PlanMemory(in);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->offload);
  EXPECT_EQ(p->resident, 181u << 20);
  EXPECT_EQ(p->n_slots, (500u - 181u) / 2u);
  EXPECT_LE(p->resident + p->expert_cache_bytes, in.limit);
  in.limit = 190 << 20;
  auto small = PlanMemory(in);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(small.status().message(), HasSubstr("it needs at least 197.0 MiB"));
}

class OffloadDecodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::ScratchDir(std::string("offload_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    GeneratorSpec s = *PresetSpec("tiny");
    s.weight_type = GgmlType::kQ4_0;
    s.hot_expert_rate = 0.45f;
    s.sparsity = 0.7f;
    s.down_layout = DownLayout::kTransposed;
    path_ = dir_ + "/tiny.gguf";
    ASSERT_TRUE(GenerateModel(s, path_, 2).ok());
    auto m = Model::Load(path_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
  }

  // Logits of every position of a fixed 40-token sequence.
  Result<std::vector<float>> Run(const DecoderOptions& o, Decoder** out = nullptr) {
    ST_ASSIGN_OR_RETURN(decoder_, Decoder::Create(*model_, o));
    std::vector<float> all;
    for (uint32_t pos = 0; pos < 40; ++pos) {
      ST_ASSIGN_OR_RETURN(const float* logits, decoder_->Forward(static_cast<int32_t>((pos * 37 + 11) % 500), pos));
      all.insert(all.end(), logits, logits + model_->config().n_vocab);
    }
    if (out) *out = decoder_.get();
    return all;
  }

  std::string dir_, path_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Decoder> decoder_;
};

TEST_F(OffloadDecodeTest, OffloadedLogitsAreBitIdentical) {
  DecoderOptions base;
  base.n_threads = 2;
  base.min_parallel_bytes = 0;
  base.n_ctx = 64;
  auto reference = Run(base);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  for (const char* engine : {"uring", "threads"}) {
    for (CachePolicy policy : {CachePolicy::kLru, CachePolicy::kLfu}) {
      for (bool lookahead : {false, true}) {
        DecoderOptions o = base;
        o.expert_cache_experts = 5;  // of 64: constant eviction
        o.offload.io.kind = engine;
        o.offload.policy = policy;
        o.lookahead = lookahead;
        Decoder* d = nullptr;
        auto got = Run(o, &d);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        EXPECT_TRUE(*got == *reference) << engine << " " << CachePolicyName(policy) << " lookahead " << lookahead;
        const OffloadStats s = d->experts().stats();
        EXPECT_TRUE(d->experts().offloaded());
        EXPECT_GT(s.evictions, 0u);
        EXPECT_EQ(s.requests, 40u * 8 * 2);  // positions x layers x k
        EXPECT_LT(s.hits, s.requests);
        EXPECT_EQ(s.lookahead_issued > 0, lookahead);
      }
    }
  }
}

// Several sequences in one batch, offloaded with caches too small for the batch's experts (the batch
// is cut into pieces whose experts fit) and large enough for all of them: the logits of every token
// equal the in-memory ones.
TEST_F(OffloadDecodeTest, BatchesOfSequencesOffloadedAreBitIdentical) {
  auto run = [&](uint64_t cache_experts) -> Result<std::vector<float>> {
    DecoderOptions o;
    o.n_ctx = 64;
    o.n_threads = 2;
    o.min_parallel_bytes = 0;
    o.n_seq = 3;
    o.batch_size = 32;
    o.max_outputs = 32;  // every prompt token's logits
    o.expert_cache_experts = cache_experts;
    ST_ASSIGN_OR_RETURN(std::unique_ptr<Decoder> d, Decoder::Create(*model_, o));
    std::vector<float> all;
    std::vector<BatchToken> batch;
    for (uint32_t i = 0; i < 9; ++i) {  // three prompts of 9 tokens, interleaved
      for (uint32_t q = 0; q < 3; ++q) batch.push_back({static_cast<int32_t>((i * 37 + q * 101 + 11) % 500), i, q, TokenOutput::kExact});
    }
    ST_RETURN_IF_ERROR(d->Forward(batch));
    for (size_t i = 0; i < batch.size(); ++i) all.insert(all.end(), d->Logits(i), d->Logits(i) + model_->config().n_vocab);
    for (uint32_t step = 0; step < 5; ++step) {  // then five decode steps of all three
      std::vector<BatchToken> dec;
      for (uint32_t q = 0; q < 3; ++q) dec.push_back({static_cast<int32_t>((step * 53 + q) % 500), 9 + step, q, TokenOutput::kLogits});
      ST_RETURN_IF_ERROR(d->Forward(dec));
      for (size_t i = 0; i < dec.size(); ++i) all.insert(all.end(), d->Logits(i), d->Logits(i) + model_->config().n_vocab);
    }
    EXPECT_EQ(d->experts().offloaded(), cache_experts > 0);
    return all;
  };
  auto reference = run(0);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  for (uint64_t slots : {4u, 7u, 64u}) {  // 2k is the minimum; 7 holds one token's experts plus lookahead
    auto got = run(slots);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(*got == *reference) << slots << " cache slots";
  }
}

TEST_F(OffloadDecodeTest, OnDemandLoadingGivesTheSameLogits) {
  DecoderOptions base;
  base.n_ctx = 64;
  auto reference = Run(base);
  ASSERT_TRUE(reference.ok());
  DecoderOptions o = base;
  o.expert_cache_experts = 4;
  o.prefetch = false;  // reads start after attention, only for what the layer needs
  Decoder* d = nullptr;
  auto got = Run(o, &d);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == *reference);
  EXPECT_EQ(d->experts().stats().lookahead_issued, 0u);
}

TEST_F(OffloadDecodeTest, ExpertFileGivesTheSameLogits) {
  DecoderOptions base;
  base.n_ctx = 64;
  auto reference = Run(base);
  ASSERT_TRUE(reference.ok());
  const std::string ef = dir_ + "/tiny.experts";
  ASSERT_TRUE(WriteExpertFile(*model_, ef).ok());
  DecoderOptions o = base;
  o.expert_cache_experts = 7;
  o.offload.expert_file = ef;
  Decoder* d = nullptr;
  auto got = Run(o, &d);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == *reference);
  EXPECT_THAT(d->experts().Describe(), HasSubstr("expert file"));
}

TEST_F(OffloadDecodeTest, ExpertFileForAnotherModelIsRefused) {
  const std::string ef = dir_ + "/tiny.experts";
  ASSERT_TRUE(WriteExpertFile(*model_, ef).ok());
  GeneratorSpec s = *PresetSpec("tiny");
  s.weight_type = GgmlType::kQ4_0;
  s.seed = 99;
  const std::string other = dir_ + "/other.gguf";
  ASSERT_TRUE(GenerateModel(s, other, 2).ok());
  auto m2 = Model::Load(other);
  ASSERT_TRUE(m2.ok());
  auto v = ValidateExpertFile(**m2, ExpertLayout::FromGguf(**m2), ef);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("was made for a different model"));
  std::filesystem::resize_file(ef, 8192);
  v = ValidateExpertFile(*model_, ExpertLayout::FromGguf(*model_), ef);
  EXPECT_THAT(v.status().message(), HasSubstr("truncated"));
}

TEST_F(OffloadDecodeTest, InjectedReadErrorStopsGenerationCleanly) {
  for (const char* engine : {"uring", "threads"}) {
    DecoderOptions o;
    o.n_ctx = 64;
    o.expert_cache_experts = 5;
    o.offload.io.kind = engine;
    o.offload.io.fail_read_number = 30;
    auto got = Run(o);
    ASSERT_FALSE(got.ok()) << engine;
    EXPECT_EQ(got.status().code(), StatusCode::kIoError);
    EXPECT_THAT(got.status().message(), HasSubstr("Input/output error"));
    EXPECT_THAT(got.status().message(), HasSubstr("tiny.gguf"));
    decoder_.reset();  // shutdown with reads possibly in flight must not hang
  }
}

TEST_F(OffloadDecodeTest, ExpertFileTruncatedMidwayIsAClearError) {
  const std::string ef = dir_ + "/tiny.experts";
  ASSERT_TRUE(WriteExpertFile(*model_, ef).ok());
  DecoderOptions o;
  o.n_ctx = 64;
  o.expert_cache_experts = 4;
  o.offload.expert_file = ef;
  auto d = Decoder::Create(*model_, o);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_TRUE((*d)->Forward(5, 0).ok());
  std::filesystem::resize_file(ef, 4096 + 3 * 24576);  // keeps only the first few experts
  Status last;
  for (uint32_t pos = 1; pos < 40 && last.ok(); ++pos) {
    auto r = (*d)->Forward(static_cast<int32_t>((pos * 37 + 11) % 500), pos);
    last = r.ok() ? Status::Ok() : r.status();
  }
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.code(), StatusCode::kIoError);
  EXPECT_THAT(last.message(), HasSubstr("short read"));
}

TEST_F(OffloadDecodeTest, CacheBelowMinimumIsRefused) {
  DecoderOptions o;
  o.expert_cache_experts = 3;  // k = 2: the minimum is 4
  auto d = Decoder::Create(*model_, o);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("below the minimum of 4 experts"));
}

}  // namespace
}  // namespace st
