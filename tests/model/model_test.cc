// Model loading: every generator variant loads with the right config and layout; every kind of
// wrong tensor or key gives an error that names it.
#include "model/model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gen/model_generator.h"
#include "gguf_rewrite.h"
#include "test_util.h"

namespace st {
namespace {

using ::testing::HasSubstr;

std::string Generate(const std::string& dir, const std::string& name, GeneratorSpec s) {
  const std::string path = dir + "/" + name + ".gguf";
  Status st = GenerateModel(s, path, 2);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return path;
}

GeneratorSpec Tiny() { return *PresetSpec("tiny"); }

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::ScratchDir(std::string("model_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    base_ = Generate(dir_, "base", Tiny());
  }
  // Rewrites the base model with `edit` and returns the load error.
  Status LoadEdited(const std::function<void(testing::EditableGguf&)>& edit) {
    const std::string path = dir_ + "/edited.gguf";
    testing::RewriteGguf(base_, path, edit);
    auto m = Model::Load(path);
    return m.ok() ? Status::Ok() : m.status();
  }
  std::string dir_, base_;
};

TEST_F(ModelTest, TinyPresetLoads) {
  auto m = Model::Load(base_);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const ModelConfig& c = (*m)->config();
  EXPECT_EQ(c.n_layer, 8u);
  EXPECT_EQ(c.n_embd, 64u);
  EXPECT_EQ(c.n_vocab, 512u);
  EXPECT_EQ(c.sliding_window, 16u);
  EXPECT_EQ(c.gating, RouterGating::kSigmoid);
  EXPECT_TRUE(c.gating_in_file);
  EXPECT_FALSE(c.IsSlidingLayer(0));
  EXPECT_TRUE(c.IsSlidingLayer(1));
  EXPECT_FALSE(c.UsesRope(4));
  EXPECT_TRUE(c.UsesRope(5));
  EXPECT_TRUE((*m)->weights().tied_output);
  EXPECT_EQ((*m)->weights().down_layout, DownLayout::kNormal);
  EXPECT_FALSE((*m)->weights().predictor.has_value());
  EXPECT_TRUE((*m)->warnings().empty());
}

TEST_F(ModelTest, EveryVariantLoads) {
  for (GgmlType t : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    GeneratorSpec s = Tiny();
    s.weight_type = t;
    s.tied_output = false;
    s.down_layout = DownLayout::kTransposed;
    s.profiler_rank = 32;
    s.sliding_window = 0;
    s.gating = GatingKey::kAbsent;
    auto m = Model::Load(Generate(dir_, GgmlTypeName(t), s));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const ModelWeights& w = (*m)->weights();
    EXPECT_EQ(w.token_embd.type, t);
    EXPECT_EQ(w.layers[0].router.type, GgmlType::kF32);  // the router is never quantized
    EXPECT_FALSE(w.tied_output);
    EXPECT_EQ(w.down_layout, DownLayout::kTransposed);
    EXPECT_EQ(w.layers[3].down_exps.rows, 96);  // F rows of E in the transposed layout
    ASSERT_TRUE(w.predictor.has_value());
    EXPECT_EQ(w.predictor->w1.rows, 32);
    EXPECT_EQ(w.predictor->w2.rows, 512);
    EXPECT_EQ((*m)->config().sliding_window, 0u);
    EXPECT_EQ((*m)->config().gating, RouterGating::kSigmoid);  // absent key = sigmoid
    EXPECT_FALSE((*m)->config().gating_in_file);
  }
}

TEST_F(ModelTest, GatingKeyAndOverride) {
  GeneratorSpec s = Tiny();
  s.gating = GatingKey::kSoftmax;
  const std::string path = Generate(dir_, "softmax", s);
  EXPECT_EQ((*Model::Load(path))->config().gating, RouterGating::kSoftmax);
  ModelLoadOptions o;
  o.gating = GatingOverride::kSigmoid;
  EXPECT_EQ((*Model::Load(path, o))->config().gating, RouterGating::kSigmoid);
}

TEST_F(ModelTest, MissingTensor) {
  Status s = LoadEdited([](auto& g) { g.RemoveTensor("blk.3.attn_k.weight"); });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("missing tensor 'blk.3.attn_k.weight'"));
}

TEST_F(ModelTest, WrongTensorShape) {
  Status s = LoadEdited([](auto& g) { g.Tensor("blk.2.attn_q.weight")->ne = {64, 32}; });
  EXPECT_EQ(s.code(), StatusCode::kInvalidFile);
  EXPECT_THAT(s.message(), HasSubstr("tensor 'blk.2.attn_q.weight': shape {64, 32}, expected {64, 64}"));
  s = LoadEdited([](auto& g) { g.Tensor("blk.1.ffn_down_exps.weight")->ne = {96, 64, 4}; });
  EXPECT_THAT(s.message(), HasSubstr("blk.1.ffn_down_exps.weight': shape {96, 64, 4}, expected {96, 64, 8} (normal) or {64, 96, 8}"));
}

TEST_F(ModelTest, UnsupportedTensorType) {
  Status s = LoadEdited([](auto& g) { g.Tensor("blk.0.attn_v.weight")->type = GgmlType::kQ5_1; });
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_THAT(s.message(), HasSubstr("tensor 'blk.0.attn_v.weight': type q5_1 is not supported"));
}

TEST_F(ModelTest, QuantizedRouterIsRefused) {
  Status s = LoadEdited([](auto& g) { g.Tensor("blk.0.ffn_gate_inp.weight")->type = GgmlType::kQ8_0; });
  EXPECT_THAT(s.message(), HasSubstr("blk.0.ffn_gate_inp.weight': type q8_0, expected f32"));
}

TEST_F(ModelTest, MixedDownLayouts) {
  Status s = LoadEdited([](auto& g) { g.Tensor("blk.5.ffn_down_exps.weight")->ne = {64, 96, 8}; });
  EXPECT_THAT(s.message(), HasSubstr("blk.5.ffn_down_exps.weight': transposed layout, but blk.0 uses the normal layout"));
}

TEST_F(ModelTest, MissingAndMistypedKeys) {
  Status s = LoadEdited([](auto& g) { g.RemoveKey("smallthinker.expert_count"); });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("missing required key 'smallthinker.expert_count'"));
  s = LoadEdited([](auto& g) { g.SetKey("smallthinker.block_count", GgufValue::Str("eight")); });
  EXPECT_THAT(s.message(), HasSubstr("key 'smallthinker.block_count': expected an unsigned integer, got string \"eight\""));
  s = LoadEdited([](auto& g) { g.SetKey("smallthinker.attention.layer_norm_rms_epsilon", GgufValue::U32(1)); });
  EXPECT_THAT(s.message(), HasSubstr("layer_norm_rms_epsilon': expected a float (f32), got u32 1"));
  s = LoadEdited([](auto& g) { g.SetKey("smallthinker.expert_gating_func", GgufValue::U32(3)); });
  EXPECT_THAT(s.message(), HasSubstr("expert_gating_func': 3 is not 1 (softmax) or 2 (sigmoid)"));
  s = LoadEdited([](auto& g) { g.SetKey("smallthinker.expert_used_count", GgufValue::U32(9)); });
  EXPECT_THAT(s.message(), HasSubstr("9 experts per token, but the model has only 8"));
  s = LoadEdited([](auto& g) { g.SetKey("smallthinker.attention.head_count_kv", GgufValue::U32(3)); });
  EXPECT_THAT(s.message(), HasSubstr("4 heads is not a multiple of 3 kv heads"));
}

TEST_F(ModelTest, WrongArchitecture) {
  Status s = LoadEdited([](auto& g) { g.SetKey("general.architecture", GgufValue::Str("llama")); });
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_THAT(s.message(), HasSubstr("model architecture is \"llama\", expected \"smallthinker\""));
}

TEST_F(ModelTest, BadProfilerShape) {
  Status s = LoadEdited([](auto& g) {
    g.tensors.push_back({"lm_head_profiler.weight", GgmlType::kF32, {100, 1}, {}});
  });
  EXPECT_THAT(s.message(), HasSubstr("tensor 'lm_head_profiler.weight': shape {100, 1}"));
}

TEST_F(ModelTest, UnusedTensorIsAWarning) {
  const std::string path = dir_ + "/extra.gguf";
  testing::RewriteGguf(base_, path, [](auto& g) { g.tensors.push_back({"extra.weight", GgmlType::kF32, {8}, {}}); });
  auto m = Model::Load(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ((*m)->warnings().size(), 1u);
  EXPECT_THAT((*m)->warnings()[0], HasSubstr("extra.weight"));
}

TEST_F(ModelTest, ErrorsNameTheFile) {
  Status s = LoadEdited([](auto& g) { g.RemoveTensor("output_norm.weight"); });
  EXPECT_THAT(s.message(), HasSubstr("edited.gguf"));
}

}  // namespace
}  // namespace st
