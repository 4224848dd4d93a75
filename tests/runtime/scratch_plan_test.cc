// The memory plan's scratch is the decoder's real buffers: every buffer is reserved at creation for
// the largest batch, the plan counts their capacity, and no forward pass within the limits (a full
// prompt batch, every position's logits, several sequences, the predicted head, a full context,
// offloaded pieces) makes them grow. A buffer added without its reservation fails here.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gen/model_generator.h"
#include "runtime/decoder.h"
#include "test_util.h"

namespace st {
namespace {

using ::testing::HasSubstr;

class ScratchPlanTest : public ::testing::TestWithParam<DownLayout> {
 protected:
  void SetUp() override {
    const bool transposed = GetParam() == DownLayout::kTransposed;
    dir_ = testing::ScratchDir(transposed ? "scratch_plan_t" : "scratch_plan_n");
    GeneratorSpec s = *PresetSpec("tiny");
    s.weight_type = GgmlType::kQ8_0;
    s.down_layout = GetParam();
    s.sparsity = 0.6f;
    s.profiler_rank = 32;  // the predicted head's buffers too
    path_ = dir_ + "/m.gguf";
    Status g = GenerateModel(s, path_, 2);
    ASSERT_TRUE(g.ok()) << g.ToString();
    auto m = Model::Load(path_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
  }

  std::unique_ptr<Decoder> Make(uint64_t cache_experts, uint32_t max_outputs) {
    DecoderOptions o;
    o.n_ctx = 96;
    o.n_threads = 2;
    o.min_parallel_bytes = 0;
    o.n_seq = 3;
    o.batch_size = 32;
    o.max_outputs = max_outputs;
    o.expert_cache_experts = cache_experts;
    auto d = Decoder::Create(*model_, o);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(*d) : nullptr;
  }

  // Runs everything the limits allow and checks the buffers never grow past the plan.
  void Exercise(Decoder& d) {
    const uint64_t planned = d.memory_plan().input.scratch;
    EXPECT_EQ(d.ScratchBytes(), planned);
    EXPECT_GT(planned, 0u);
    std::vector<int32_t> prompt;
    for (int i = 0; i < 70; ++i) prompt.push_back((i * 131 + 7) % 500);
    // A prompt longer than a batch with every position's logits, on sequence 0.
    std::vector<float> all;
    auto r = d.Prefill(prompt, 0, &all, 0);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(all.size(), prompt.size() * d.config().n_vocab);
    EXPECT_EQ(d.ScratchBytes(), planned);
    // Sequences 1 and 2 prefilled in one batch with a logits row each, then decoded together with
    // sequence 0 (predicted head) until the context is full.
    std::vector<BatchToken> batch;
    for (uint32_t i = 0; i < 16; ++i) {
      for (uint32_t s = 1; s < 3; ++s) {
        batch.push_back({static_cast<int32_t>((i * 37 + s * 11) % 500), i, s,
                         i == 15 ? TokenOutput::kExact : TokenOutput::kNone});
      }
    }
    ASSERT_TRUE(d.Forward(batch).ok());
    EXPECT_EQ(d.ScratchBytes(), planned);
    for (uint32_t step = 0; step < 26; ++step) {
      batch.clear();
      batch.push_back({static_cast<int32_t>((step * 7 + 1) % 500), 70 + step, 0, TokenOutput::kLogits});
      for (uint32_t s = 1; s < 3; ++s) {
        batch.push_back({static_cast<int32_t>((step * 53 + s) % 500), 16 + step, s, TokenOutput::kLogits});
      }
      Status st = d.Forward(batch);
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
    EXPECT_EQ(d.kv_cache().SeqLength(0), 96u);
    EXPECT_EQ(d.ScratchBytes(), planned) << "a buffer grew past its reservation: the memory plan misses it";
  }

  std::string dir_, path_;
  std::unique_ptr<Model> model_;
};

TEST_P(ScratchPlanTest, InMemoryBuffersNeverGrowPastThePlan) {
  auto d = Make(0, 32);
  ASSERT_NE(d, nullptr);
  Exercise(*d);
}

TEST_P(ScratchPlanTest, OffloadedBuffersNeverGrowPastThePlan) {
  const ModelConfig& c = model_->config();
  auto d = Make(2ull * c.n_expert_used + 1, 32);  // the smallest cache: batches cut into pieces
  ASSERT_NE(d, nullptr);
  Exercise(*d);
}

// More logits rows than reserved are refused, not allocated outside the plan; Prefill's
// all_logits then evaluates in pieces of max_outputs (the same bits: the kernels are batch-invariant).
TEST_P(ScratchPlanTest, OutputsBeyondTheReservationAreRefused) {
  auto d = Make(0, 0);  // 0: one row per sequence (3)
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->max_outputs(), 3u);
  std::vector<BatchToken> batch;
  for (uint32_t i = 0; i < 4; ++i) batch.push_back({static_cast<int32_t>(i + 1), i, 0, TokenOutput::kExact});
  Status s = d->Forward(batch);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("4 tokens ask for logits, more than the 3 rows reserved"));
  EXPECT_EQ(d->kv_cache().SeqLength(0), 0u);  // nothing kept

  std::vector<int32_t> prompt;
  for (int i = 0; i < 40; ++i) prompt.push_back((i * 29 + 3) % 500);
  std::vector<float> pieces, whole;
  ASSERT_TRUE(d->Prefill(prompt, 0, &pieces, 0).ok());
  auto wide = Make(0, 32);
  ASSERT_TRUE(wide->Prefill(prompt, 0, &whole, 0).ok());
  EXPECT_EQ(pieces, whole);
  EXPECT_EQ(d->ScratchBytes(), d->memory_plan().input.scratch);
}

INSTANTIATE_TEST_SUITE_P(Layouts, ScratchPlanTest, ::testing::Values(DownLayout::kNormal, DownLayout::kTransposed),
                         [](const auto& info) { return info.param == DownLayout::kNormal ? "normal" : "transposed"; });

}  // namespace
}  // namespace st
