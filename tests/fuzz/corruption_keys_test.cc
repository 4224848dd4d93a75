// The corruption matrix, semantic half: from the valid tiny model, every required smallthinker.*
// key missing in turn, every key mistyped in turn, out-of-range values, wrong architecture, wrong
// shapes and missing tensors across tensor kinds, a broken vocabulary; then random bit flips and
// byte smashes with a fixed seed (no crash, never an internal error; an error or a clean load).
// Structural defects (truncation, counts, offsets): corruption_matrix_test.cc.
#include <limits>
#include <random>

#include "corruption_fixture.h"

namespace st {
namespace {

using testing::CheckError;
using testing::EditableGguf;
using testing::Expect;

class CorruptionKeysTest : public testing::CorruptionFixture {};

const std::string kP = "smallthinker.";

// The required hyperparameters, in the order ReadModelConfig reads them.
const std::vector<std::string> kRequiredKeys = {
    "general.architecture",         kP + "block_count",        kP + "context_length",
    kP + "embedding_length",        kP + "attention.head_count", kP + "attention.head_count_kv",
    kP + "attention.key_length",    kP + "expert_count",        kP + "expert_used_count",
    kP + "attention.layer_norm_rms_epsilon"};

// Unsigned integer keys the config reads (whether required or optional).
const std::vector<std::string> kUintKeys = {
    kP + "block_count",           kP + "context_length",          kP + "embedding_length",
    kP + "attention.head_count",  kP + "attention.head_count_kv", kP + "attention.key_length",
    kP + "attention.value_length", kP + "expert_feed_forward_length", kP + "expert_count",
    kP + "expert_used_count",     kP + "attention.sliding_window", kP + "expert_gating_func"};

TEST_F(CorruptionKeysTest, EachRequiredKeyMissing) {
  for (const std::string& key : kRequiredKeys) {
    SCOPED_TRACE(key);
    CheckError(LoadRewritten([&](EditableGguf& g) { g.RemoveKey(key); }),
               {StatusCode::kNotFound, {fmt::format("missing required key '{}'", key), "rewritten.gguf"}});
  }
  // feed_forward_length is the fallback for expert_feed_forward_length: only both missing fails.
  EXPECT_TRUE(LoadRewritten([&](EditableGguf& g) { g.RemoveKey(kP + "feed_forward_length"); }).ok());
  EXPECT_TRUE(LoadRewritten([&](EditableGguf& g) { g.RemoveKey(kP + "expert_feed_forward_length"); }).ok());
  CheckError(LoadRewritten([&](EditableGguf& g) {
               g.RemoveKey(kP + "feed_forward_length");
               g.RemoveKey(kP + "expert_feed_forward_length");
             }),
             {StatusCode::kNotFound, {"missing required key 'smallthinker.feed_forward_length'"}});
}

TEST_F(CorruptionKeysTest, OptionalKeysMayBeAbsent) {
  for (const std::string& key : {kP + "attention.value_length", kP + "rope.freq_base", kP + "attention.sliding_window",
                                 kP + "expert_gating_func", std::string("general.name")}) {
    SCOPED_TRACE(key);
    EXPECT_TRUE(LoadRewritten([&](EditableGguf& g) { g.RemoveKey(key); }).ok());
  }
}

TEST_F(CorruptionKeysTest, EachKeyMistyped) {
  const auto I = StatusCode::kInvalidFile;
  for (const std::string& key : kUintKeys) {
    SCOPED_TRACE(key);
    CheckError(LoadRewritten([&](EditableGguf& g) { g.SetKey(key, GgufValue::Str("x")); }),
               {I, {fmt::format("key '{}': expected an unsigned integer, got string \"x\"", key)}});
    CheckError(LoadRewritten([&](EditableGguf& g) { g.SetKey(key, GgufValue::F32(2.0f)); }),
               {I, {fmt::format("key '{}': expected an unsigned integer, got f32 2", key)}});
    CheckError(LoadRewritten([&](EditableGguf& g) { g.SetKey(key, GgufValue::I32(-1)); }),
               {I, {fmt::format("key '{}': expected a non-negative integer, got i32 -1", key)}});
  }
  for (const std::string& key : {kP + "rope.freq_base", kP + "attention.layer_norm_rms_epsilon"}) {
    SCOPED_TRACE(key);
    CheckError(LoadRewritten([&](EditableGguf& g) { g.SetKey(key, GgufValue::U32(1)); }),
               {I, {fmt::format("key '{}': expected a float (f32), got u32 1", key)}});
    CheckError(LoadRewritten([&](EditableGguf& g) { g.SetKey(key, GgufValue::StrArray({"a"})); }),
               {I, {fmt::format("key '{}': expected a float (f32), got array<string>[1]", key)}});
  }
  for (const std::string& key : {std::string("general.architecture"), std::string("general.name")}) {
    SCOPED_TRACE(key);
    CheckError(LoadRewritten([&](EditableGguf& g) { g.SetKey(key, GgufValue::U32(1)); }),
               {I, {fmt::format("key '{}': expected string, got u32 1", key)}});
  }
  // Integer widths other than u32 are accepted when the value fits.
  EXPECT_TRUE(LoadRewritten([&](EditableGguf& g) { g.SetKey(kP + "block_count", GgufValue::U64(8)); }).ok());
  EXPECT_TRUE(LoadRewritten([&](EditableGguf& g) { g.SetKey(kP + "expert_count", GgufValue::I32(8)); }).ok());
  EXPECT_TRUE(LoadRewritten([&](EditableGguf& g) {
                g.SetKey(kP + "attention.layer_norm_rms_epsilon", GgufValue::F64(1e-6));
              }).ok());
}

TEST_F(CorruptionKeysTest, OutOfRangeValues) {
  const auto I = StatusCode::kInvalidFile;
  struct Case {
    std::string key;
    GgufValue value;
    std::string fragment;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<Case> cases = {
      {kP + "block_count", GgufValue::U32(0), "key 'smallthinker.block_count': value 0 is outside the valid range 1..4096"},
      {kP + "context_length", GgufValue::U32((1u << 24) + 1), "context_length': value 16777217 is outside the valid range"},
      {kP + "embedding_length", GgufValue::U64(1ull << 32), "embedding_length': value 4294967296 is outside the valid range 1..1048576"},
      {kP + "attention.head_count_kv", GgufValue::U32(0), "head_count_kv': value 0 is outside"},
      {kP + "attention.key_length", GgufValue::U32(15), "key_length': 15 is odd"},
      {kP + "attention.value_length", GgufValue::U64((1ull << 32) + 16), "value_length': value 4294967312 is outside the valid range 1..4096"},
      {kP + "expert_feed_forward_length", GgufValue::U64((1ull << 32) + 96),
       "expert_feed_forward_length': value 4294967392 is outside the valid range 1..1048576"},
      {kP + "expert_count", GgufValue::U32(5000), "expert_count': value 5000 is outside the valid range 1..4096"},
      {kP + "expert_used_count", GgufValue::U32(0), "expert_used_count': value 0 is outside"},
      {kP + "expert_used_count", GgufValue::U32(9), "9 experts per token, but the model has only 8"},
      {kP + "rope.freq_base", GgufValue::F32(-1.0f), "rope.freq_base': -1 is not a positive finite number"},
      {kP + "rope.freq_base", GgufValue::F32(inf), "rope.freq_base': inf is not a positive finite number"},
      {kP + "attention.layer_norm_rms_epsilon", GgufValue::F32(0.0f), "layer_norm_rms_epsilon': 0 is outside (0, 1)"},
      {kP + "attention.layer_norm_rms_epsilon", GgufValue::F32(nan), "layer_norm_rms_epsilon': nan is outside (0, 1)"},
      {kP + "attention.sliding_window", GgufValue::U64(1ull << 33), "sliding_window': 8589934592 does not fit in u32"},
      {kP + "expert_gating_func", GgufValue::U32(0), "expert_gating_func': 0 is not 1 (softmax) or 2 (sigmoid)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key + " = " + c.value.Describe());
    CheckError(LoadRewritten([&](EditableGguf& g) { g.SetKey(c.key, c.value); }), {I, {c.fragment}});
  }
}

TEST_F(CorruptionKeysTest, WrongArchitecture) {
  for (const std::string arch : {"qwen3moe", "", "SmallThinker", "smallthinker "}) {
    SCOPED_TRACE("'" + arch + "'");
    CheckError(LoadRewritten([&](EditableGguf& g) { g.SetKey("general.architecture", GgufValue::Str(arch)); }),
               {StatusCode::kUnsupported,
                {fmt::format("key 'general.architecture': model architecture is \"{}\", expected \"smallthinker\"", arch)}});
  }
}

TEST_F(CorruptionKeysTest, WrongTensorShapes) {
  const auto I = StatusCode::kInvalidFile;
  struct Case {
    std::string tensor;
    std::vector<uint64_t> ne;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"token_embd.weight", {32, 512}, "tensor 'token_embd.weight': shape {32, 512}, expected {64, V}"},
      {"token_embd.weight", {64, 512, 1}, "tensor 'token_embd.weight': shape {64, 512, 1}, expected {64, V}"},
      {"output_norm.weight", {32}, "tensor 'output_norm.weight': shape {32}, expected {64}"},
      {"blk.0.attn_norm.weight", {64, 1}, "tensor 'blk.0.attn_norm.weight': shape {64, 1}, expected {64}"},
      {"blk.3.attn_k.weight", {64, 64}, "tensor 'blk.3.attn_k.weight': shape {64, 64}, expected {64, 32}"},
      {"blk.4.attn_output.weight", {32, 64}, "tensor 'blk.4.attn_output.weight': shape {32, 64}, expected {64, 64}"},
      {"blk.5.ffn_gate_inp.weight", {64, 4}, "tensor 'blk.5.ffn_gate_inp.weight': shape {64, 4}, expected {64, 8}"},
      {"blk.6.ffn_gate_exps.weight", {64, 96, 4}, "tensor 'blk.6.ffn_gate_exps.weight': shape {64, 96, 4}, expected {64, 96, 8}"},
      {"blk.7.ffn_up_exps.weight", {96, 64, 8}, "tensor 'blk.7.ffn_up_exps.weight': shape {96, 64, 8}, expected {64, 96, 8}"},
      {"blk.0.ffn_down_exps.weight", {96, 64}, "blk.0.ffn_down_exps.weight': shape {96, 64}, expected {96, 64, 8} (normal) or {64, 96, 8} (transposed)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.tensor);
    CheckError(LoadRewritten([&](EditableGguf& g) { g.Tensor(c.tensor)->ne = c.ne; }), {I, {c.fragment, "rewritten.gguf"}});
  }
  // The optional tensors, when present, are checked too.
  CheckError(LoadRewritten([](EditableGguf& g) { g.tensors.push_back({"output.weight", GgmlType::kF32, {64, 511}, {}}); }),
             {I, {"tensor 'output.weight': shape {64, 511}, expected {64, 512}"}});
  CheckError(LoadRewritten([](EditableGguf& g) {
               g.tensors.push_back({"lm_head_profiler.weight", GgmlType::kF32, {16 * (64 + 512), 1}, {}});
             }),
             {I, {"tensor 'lm_head_profiler.weight': rank P = 16 must be a positive multiple of 32"}});
}

TEST_F(CorruptionKeysTest, MissingTensors) {
  for (const std::string name : {"token_embd.weight", "output_norm.weight", "blk.0.attn_norm.weight", "blk.3.attn_q.weight",
                                 "blk.4.attn_output.weight", "blk.5.ffn_norm.weight", "blk.6.ffn_gate_inp.weight",
                                 "blk.7.ffn_gate_exps.weight", "blk.2.ffn_up_exps.weight", "blk.1.ffn_down_exps.weight"}) {
    SCOPED_TRACE(name);
    CheckError(LoadRewritten([&](EditableGguf& g) { g.RemoveTensor(name); }),
               {StatusCode::kNotFound, {fmt::format("missing tensor '{}'", name)}});
  }
  CheckError(LoadRewritten([](EditableGguf& g) { g.RemoveTensor("blk.7.attn_v.weight"); }),
             {StatusCode::kNotFound, {"missing tensor 'blk.7.attn_v.weight' (expected shape {64, 32})"}});
  CheckError(LoadRewritten([](EditableGguf& g) { g.RemoveTensor("blk.1.ffn_down_exps.weight"); }),
             {StatusCode::kNotFound, {"(expected shape {96, 64, 8} or transposed {64, 96, 8})"}});
}

TEST_F(CorruptionKeysTest, BrokenVocabulary) {
  const auto I = StatusCode::kInvalidFile;
  EXPECT_TRUE(VocabRewritten([](EditableGguf&) {}).ok());
  CheckError(VocabRewritten([](EditableGguf& g) { g.RemoveKey("tokenizer.ggml.model"); }),
             {StatusCode::kNotFound, {"missing key 'tokenizer.ggml.model'"}});
  CheckError(VocabRewritten([](EditableGguf& g) { g.RemoveKey("tokenizer.ggml.tokens"); }),
             {StatusCode::kNotFound, {"missing required key 'tokenizer.ggml.tokens'"}});
  CheckError(VocabRewritten([](EditableGguf& g) { g.SetKey("tokenizer.ggml.tokens", GgufValue::I32Array({1, 2})); }),
             {I, {"key 'tokenizer.ggml.tokens': expected array<string>, got array<i32>[2]"}});
  CheckError(VocabRewritten([](EditableGguf& g) {
               g.SetKey("tokenizer.ggml.token_type", GgufValue::I32Array(std::vector<int32_t>(511, 1)));
             }),
             {I, {"key 'tokenizer.ggml.token_type': 511 entries, expected 512 (one per token)"}});
  CheckError(VocabRewritten([](EditableGguf& g) { g.SetKey("tokenizer.ggml.token_type", GgufValue::StrArray({"a"})); }),
             {I, {"key 'tokenizer.ggml.token_type': expected array<i32>, got array<string>[1]"}});
  CheckError(VocabRewritten([](EditableGguf& g) { g.SetKey("tokenizer.ggml.merges", GgufValue::U32(3)); }),
             {I, {"key 'tokenizer.ggml.merges': expected array<string>, got u32 3"}});
  CheckError(VocabRewritten([](EditableGguf& g) { g.SetKey("tokenizer.ggml.bos_token_id", GgufValue::U32(512)); }),
             {I, {"key 'tokenizer.ggml.bos_token_id': token id 512 is outside the vocabulary of 512 tokens"}});
  CheckError(VocabRewritten([](EditableGguf& g) { g.SetKey("tokenizer.ggml.eos_token_id", GgufValue::Str("2")); }),
             {I, {"key 'tokenizer.ggml.eos_token_id': expected an unsigned integer, got string \"2\""}});
  CheckError(VocabRewritten([](EditableGguf& g) { g.SetKey("tokenizer.ggml.add_bos_token", GgufValue::U32(1)); }),
             {I, {"key 'tokenizer.ggml.add_bos_token': expected bool, got u32 1"}});
  CheckError(VocabRewritten([](EditableGguf& g) { g.SetKey("tokenizer.chat_template", GgufValue::U32(1)); }),
             {I, {"key 'tokenizer.chat_template': expected string, got u32 1"}});
}

// Random damage with a fixed seed: every outcome is an error value or a clean load, never a crash
// (ASan/UBSan builds check the reads) and never an internal error. Damage confined to tensor data
// always loads: weights are not validated, only their ranges.
TEST_F(CorruptionKeysTest, RandomBitFlipsAndByteSmashes) {
  std::mt19937_64 rng(0x5eed2024);
  const uint64_t size = bytes_->size();
  int errors = 0, loads = 0, data_loads = 0;
  auto check = [&](const std::string& b, uint64_t at, bool in_data) {
    const fuzz::PipelineResult r = RunPipeline(b);
    SCOPED_TRACE(fmt::format("damage at offset {}", at));
    EXPECT_TRUE(r.invariant.ok()) << r.invariant.ToString();
    EXPECT_NE(r.load.code(), StatusCode::kInternal) << r.load.ToString();
    EXPECT_NE(r.vocab.code(), StatusCode::kInternal) << r.vocab.ToString();
    if (r.loaded) {
      ++loads;
    } else {
      ++errors;
      EXPECT_FALSE(r.load.message().empty());
    }
    if (in_data) {
      EXPECT_TRUE(r.loaded) << r.load.ToString();
      data_loads += r.loaded;
    }
  };
  // Single bit flips: two thirds in the header and metadata, where structure lives.
  for (int i = 0; i < 240; ++i) {
    const uint64_t at = i % 3 != 2 ? rng() % data_offset_ : rng() % size;
    std::string b = *bytes_;
    b[at] = static_cast<char>(b[at] ^ (1u << (rng() % 8)));
    check(b, at, at >= data_offset_);
  }
  // Byte smashes: 1..8 random bytes overwritten with random values, in the header and metadata.
  for (int i = 0; i < 120; ++i) {
    const uint64_t n = 1 + rng() % 8;
    const uint64_t at = rng() % (data_offset_ - n);
    std::string b = *bytes_;
    for (uint64_t k = 0; k < n; ++k) b[at + k] = static_cast<char>(rng());
    check(b, at, false);
  }
  EXPECT_GT(errors, 50);
  EXPECT_GT(loads, 50);
  EXPECT_GT(data_loads, 40);
}

}  // namespace
}  // namespace st
