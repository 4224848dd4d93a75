// The fuzzer's entry logic (fuzz_pipeline.h) on its seed corpus, so CI exercises it without clang:
// every committed seed (tests/fuzz/corpus, written by make_seeds.py) gives its known outcome,
// generated models in several types and layouts load, and a deterministic mini-fuzz (every prefix
// and a bit flip in every byte of the small seeds) never crashes or reports an internal error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "fuzz_pipeline.h"
#include "gen/model_generator.h"
#include "test_util.h"

namespace st {
namespace {

using ::testing::HasSubstr;

std::string CorpusDir() { return testing::SourceDir() + "/tests/fuzz/corpus"; }

fuzz::PipelineResult RunPipeline(const std::string& b) {
  return fuzz::RunGgufPipeline(reinterpret_cast<const uint8_t*>(b.data()), b.size());
}

// No crash (sanitizers watch the reads), no broken invariant, no internal error.
void ExpectSane(const fuzz::PipelineResult& r) {
  EXPECT_TRUE(r.invariant.ok()) << r.invariant.ToString();
  EXPECT_NE(r.load.code(), StatusCode::kInternal) << r.load.ToString();
  EXPECT_NE(r.vocab.code(), StatusCode::kInternal) << r.vocab.ToString();
}

std::map<std::string, std::string> ReadCorpus() {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(CorpusDir())) {
    files[e.path().filename().string()] = testing::ReadFileOrDie(e.path().string());
  }
  return files;
}

TEST(FuzzCorpusTest, EverySeedHasItsKnownOutcome) {
  struct Outcome {
    StatusCode load;  // kOk: loads as a model
    std::string fragment;
  };
  const std::map<std::string, Outcome> expected = {
      {"bad_magic.gguf", {StatusCode::kInvalidFile, "not a GGUF file"}},
      {"big_endian.gguf", {StatusCode::kUnsupported, "big-endian"}},
      {"deep_array.gguf", {StatusCode::kNotFound, "missing required key 'general.architecture'"}},
      {"duplicate_key.gguf", {StatusCode::kInvalidFile, "duplicate metadata key 'a'"}},
      {"empty_v3.gguf", {StatusCode::kNotFound, "general.architecture"}},
      {"every_value_type.gguf", {StatusCode::kNotFound, "general.architecture"}},
      {"huge_counts.gguf", {StatusCode::kInvalidFile, "is impossible"}},
      {"model_f16.gguf", {StatusCode::kOk, ""}},
      {"model_min_f32.gguf", {StatusCode::kOk, ""}},
      {"model_profiler.gguf", {StatusCode::kOk, ""}},
      {"model_q4_0.gguf", {StatusCode::kOk, ""}},
      {"model_q8_0_extra.gguf", {StatusCode::kOk, ""}},
      {"model_untied_transposed.gguf", {StatusCode::kOk, ""}},
      {"tensor_out_of_range.gguf", {StatusCode::kInvalidFile, "tensor 'w': data [0, 32) lies outside the data section"}},
      {"truncated_model.gguf", {StatusCode::kInvalidFile, "truncated file"}},
      {"version2.gguf", {StatusCode::kUnsupported, "GGUF version 2"}},
      {"vocab_only.gguf", {StatusCode::kNotFound, "general.architecture"}},
  };
  const auto files = ReadCorpus();
  EXPECT_EQ(files.size(), expected.size()) << "a seed was added or removed: update this table and make_seeds.py";
  for (const auto& [name, bytes] : files) {
    SCOPED_TRACE(name);
    const fuzz::PipelineResult r = RunPipeline(bytes);
    ExpectSane(r);
    auto it = expected.find(name);
    if (it == expected.end()) {
      ADD_FAILURE() << "no expected outcome for seed " << name;
      continue;
    }
    if (it->second.load == StatusCode::kOk) {
      EXPECT_TRUE(r.loaded) << r.load.ToString();
      EXPECT_TRUE(r.vocab.ok()) << r.vocab.ToString();
    } else {
      EXPECT_EQ(r.load.code(), it->second.load) << r.load.ToString();
      EXPECT_THAT(r.load.message(), HasSubstr(it->second.fragment));
    }
  }
}

// The variants tools/fuzz.sh generates at run time, made here in-process.
TEST(FuzzCorpusTest, GeneratedModelSeedsLoad) {
  const std::string dir = testing::ScratchDir("fuzz_corpus_generated");
  struct Variant {
    const char* name;
    GgmlType type;
    bool tied;
    DownLayout down;
    uint32_t profiler_rank;
  };
  const Variant variants[] = {{"f32", GgmlType::kF32, true, DownLayout::kNormal, 0},
                              {"f16", GgmlType::kF16, false, DownLayout::kTransposed, 0},
                              {"bf16", GgmlType::kBF16, true, DownLayout::kNormal, 32},
                              {"q8_0", GgmlType::kQ8_0, true, DownLayout::kNormal, 0},
                              {"q4_0", GgmlType::kQ4_0, false, DownLayout::kTransposed, 32}};
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    GeneratorSpec s = *PresetSpec("tiny");
    s.n_layer = 1;
    s.n_embd = 32;
    s.n_ff_exp = 64;
    s.n_head = 2;
    s.n_head_kv = 1;
    s.n_expert = 2;
    s.n_expert_used = 1;
    s.n_vocab = 300;
    s.weight_type = v.type;
    s.tied_output = v.tied;
    s.down_layout = v.down;
    s.profiler_rank = v.profiler_rank;
    const std::string path = dir + "/" + v.name + ".gguf";
    ASSERT_TRUE(GenerateModel(s, path, 1).ok());
    const fuzz::PipelineResult r = RunPipeline(testing::ReadFileOrDie(path));
    ExpectSane(r);
    EXPECT_TRUE(r.loaded) << r.load.ToString();
    EXPECT_TRUE(r.vocab.ok()) << r.vocab.ToString();
  }
}

// A deterministic stand-in for the fuzzer: every prefix of every seed under 4 KB, and one bit
// flip in every byte of each of those seeds (the bit varies with the position).
TEST(FuzzCorpusTest, EveryPrefixAndByteFlipOfTheSmallSeeds) {
  int runs = 0, loads = 0;
  for (const auto& [name, bytes] : ReadCorpus()) {
    if (bytes.size() >= 4096) continue;
    SCOPED_TRACE(name);
    const bool whole_loads = RunPipeline(bytes).loaded;
    for (size_t n = 0; n < bytes.size(); ++n) {
      const fuzz::PipelineResult r = RunPipeline(bytes.substr(0, n));
      ExpectSane(r);
      if (whole_loads && n + 32 <= bytes.size()) {
        EXPECT_FALSE(r.loaded) << "prefix of " << n << " bytes loads";
      }
      ++runs;
    }
    for (size_t at = 0; at < bytes.size(); ++at) {
      std::string b = bytes;
      b[at] = static_cast<char>(b[at] ^ (1u << (at % 8)));
      const fuzz::PipelineResult r = RunPipeline(b);
      ExpectSane(r);
      loads += r.loaded;
      ++runs;
    }
  }
  EXPECT_GT(runs, 10000);
  EXPECT_GT(loads, 100);  // flips in weights and padding leave a loadable model
}

}  // namespace
}  // namespace st
