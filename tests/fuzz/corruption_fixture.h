// CorruptionFixture: a valid tiny model (GenerateModel, preset "tiny") generated once per test
// binary, its bytes and layout, and helpers that load a patched or rewritten copy and check the
// exact error. Shared by corruption_matrix_test.cc (structure) and corruption_keys_test.cc
// (keys, shapes, vocabulary, random bit flips).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <functional>
#include <string>
#include <vector>

#include "fuzz_pipeline.h"
#include "gen/model_generator.h"
#include "gguf_layout.h"
#include "gguf_rewrite.h"
#include "model/model.h"
#include "test_util.h"

namespace st::testing {

// Everything about one file's error, checked in one place.
struct Expect {
  Expect(StatusCode c, std::vector<std::string> all_of, std::vector<std::string> any_of = {})
      : code(c), all(std::move(all_of)), any(std::move(any_of)) {}
  StatusCode code;
  std::vector<std::string> all;  // every fragment must appear
  std::vector<std::string> any;  // and at least one of these, if any are given
};

inline void CheckError(const Status& s, const Expect& e) {
  ASSERT_FALSE(s.ok()) << "expected an error, the file loaded";
  EXPECT_EQ(s.code(), e.code) << s.ToString();
  for (const auto& f : e.all) EXPECT_THAT(s.message(), ::testing::HasSubstr(f));
  if (!e.any.empty()) {
    bool found = false;
    for (const auto& f : e.any) found = found || s.message().find(f) != std::string::npos;
    EXPECT_TRUE(found) << s.ToString();
  }
}

class CorruptionFixture : public ::testing::Test {
 protected:
  // Generates the base model once per process, in a scratch directory named after the first test
  // that runs (ctest runs every test in its own process, possibly in parallel).
  void SetUp() override {
    if (bytes_ == nullptr) Init(::testing::UnitTest::GetInstance()->current_test_info());
    ASSERT_NE(bytes_, nullptr) << "the base model could not be generated";
  }
  static void Init(const ::testing::TestInfo* test) {
    const std::string dir = ScratchDir(std::string(test->test_suite_name()) + "_" + test->name());
    const std::string path = dir + "/base.gguf";
    const Status s = GenerateModel(*PresetSpec("tiny"), path, 2);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto f = GgufFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    dir_ = new std::string(dir);
    base_path_ = new std::string(path);
    data_offset_ = f->data_offset();
    tensors_ = new std::vector<GgufTensorInfo>(f->tensors());
    layout_ = new GgufLayout(ScanGgufLayout(ReadFileOrDie(path)));
    bytes_ = new std::string(ReadFileOrDie(path));
  }

  static Result<GgufFile> Parse(const std::string& b) {
    return GgufFile::FromBytes(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "corrupt.gguf");
  }
  // The fuzzer's pipeline on bytes: load status (parse, config, weights), vocab status, invariants.
  static fuzz::PipelineResult RunPipeline(const std::string& b) {
    return fuzz::RunGgufPipeline(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  }
  static Status Load(const std::string& b) { return RunPipeline(b).load; }
  // Patches a copy of the base file and returns its load status.
  static Status LoadPatched(const std::function<void(std::string&)>& patch) {
    std::string b = *bytes_;
    patch(b);
    return Load(b);
  }
  // Rewrites the base file with `edit` and returns Model::Load's status.
  static Status LoadRewritten(const std::function<void(EditableGguf&)>& edit) {
    const std::string path = *dir_ + "/rewritten.gguf";
    RewriteGguf(*base_path_, path, edit);
    auto m = Model::Load(path);
    return m.ok() ? Status::Ok() : m.status();
  }
  // Rewrites the base file with `edit` and returns Vocab::FromGguf's status.
  static Status VocabRewritten(const std::function<void(EditableGguf&)>& edit) {
    const std::string path = *dir_ + "/rewritten_vocab.gguf";
    RewriteGguf(*base_path_, path, edit);
    auto f = GgufFile::Open(path);
    if (!f.ok()) return f.status();
    return Vocab::FromGguf(*f).status();
  }
  static const GgufTensorInfo& TensorInfo(const std::string& name) {
    for (const auto& t : *tensors_) {
      if (t.name == name) return t;
    }
    ADD_FAILURE() << "no tensor " << name;
    return tensors_->front();
  }
  static uint64_t n_kv() { return layout_->kvs.size(); }
  static uint64_t n_tensors() { return layout_->tensors.size(); }

  // Set once per test binary; never freed (gtest's static-fixture idiom).
  inline static std::string* dir_ = nullptr;
  inline static std::string* base_path_ = nullptr;
  inline static std::string* bytes_ = nullptr;
  inline static GgufLayout* layout_ = nullptr;
  inline static uint64_t data_offset_ = 0;
  inline static std::vector<GgufTensorInfo>* tensors_ = nullptr;
};

}  // namespace st::testing
