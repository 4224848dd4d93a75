// Replays the text fuzzers' committed seeds (tests/fuzz/text_corpus/<target>/) and regressions
// (tests/fuzz/text_regressions/<target>/: inputs that once broke a check, named for what broke)
// through the same checks the fuzzers run (text_fuzz_checks.h), under the main g++ build and its
// sanitizer runs: every file must pass. Built by tests/fuzz_text.cmake (it needs the CLI's and the
// server's sources, which the *_test.cc glob does not link).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "smallthinker/model.h"
#include "test_util.h"
#include "text_fuzz_checks.h"

namespace st::fuzz {
namespace {

using Check = std::function<std::string(const uint8_t*, size_t)>;

// Runs `check` on every file of the target's seed and regression folders; returns how many.
int ReplayAll(const std::string& target, const Check& check) {
  int n = 0;
  for (const char* kind : {"text_corpus", "text_regressions"}) {
    const std::filesystem::path dir = std::filesystem::path(testing::SourceDir()) / "tests/fuzz" / kind / target;
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      SCOPED_TRACE(e.path().string());
      const std::string bytes = testing::ReadFileOrDie(e.path().string());
      EXPECT_EQ(check(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "");
      ++n;
    }
  }
  return n;
}

const smallthinker::Model& ShippedModel() {
  static const std::unique_ptr<smallthinker::Model> model = [] {
    auto m = smallthinker::Model::Load(testing::SourceDir() + "/models/tinystories-st-q8_0.gguf");
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(*m) : nullptr;
  }();
  return *model;
}

TEST(TextFuzzReplayTest, BatchLine) { EXPECT_GE(ReplayAll("batch_line", CheckBatchLine), 4); }

TEST(TextFuzzReplayTest, Tokenizer) {
  const Tokenizer& tok = ShippedModel().tokenizer().impl();
  EXPECT_GE(ReplayAll("tokenizer", [&](const uint8_t* d, size_t n) { return CheckTokenizer(tok, d, n); }), 2);
}

TEST(TextFuzzReplayTest, ChatTemplate) { EXPECT_GE(ReplayAll("chat_template", CheckChatTemplate), 4); }

TEST(TextFuzzReplayTest, ServerRequest) {
  const smallthinker::Tokenizer& tok = ShippedModel().tokenizer();
  EXPECT_GE(ReplayAll("server_request", [&](const uint8_t* d, size_t n) { return CheckServerRequest(tok, d, n); }), 4);
}

// The batch-line regression by itself: a count of 2^64-1 was read as -1 (generate until the end).
TEST(TextFuzzReplayTest, BatchLineCountOf2Pow64Minus1IsAnError) {
  const BatchRequest r = ParseBatchLine(R"({"prompt": "x", "n_predict": 18446744073709551615})", 1);
  EXPECT_FALSE(r.n_predict.has_value());
  EXPECT_EQ(r.error, "\"n_predict\" must be an integer >= -1 (-1 = until the end)");
}

}  // namespace
}  // namespace st::fuzz
