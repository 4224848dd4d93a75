// Replays every input in tests/fuzz/regressions/ through the fuzzer's code path (fuzz_pipeline.h):
// crash inputs found by libFuzzer and inputs found by review that once got through. Each must not
// crash (the ASan/UBSan build checks the reads), break an invariant or report an internal error;
// the ones listed below must also fail with their specific error.
//
// To add one: copy the input into tests/fuzz/regressions/ with a name that says what it broke,
// fix the code, and add its expected error to the table.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "fuzz_pipeline.h"
#include "test_util.h"

namespace st {
namespace {

using ::testing::HasSubstr;

struct Expected {
  StatusCode code;
  std::string fragment;
};

const std::map<std::string, Expected>& ExpectedErrors() {
  static const auto* m = new std::map<std::string, Expected>{
      {"value_length_wraps_to_2.gguf",
       {StatusCode::kInvalidFile, "key 'smallthinker.attention.value_length': value 4294967298 is outside the valid range 1..4096"}},
      {"expert_ff_wraps_to_4.gguf",
       {StatusCode::kInvalidFile, "key 'smallthinker.expert_feed_forward_length': value 4294967300 is outside the valid range"}},
      {"version0_not_big_endian.gguf", {StatusCode::kUnsupported, "GGUF version 0 is not supported; expected version 3"}},
  };
  return *m;
}

TEST(FuzzRegressionTest, EveryRegressionInputFailsCleanly) {
  const std::filesystem::path dir = std::filesystem::path(testing::SourceDir()) / "tests/fuzz/regressions";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    SCOPED_TRACE(name);
    const std::string bytes = testing::ReadFileOrDie(e.path().string());
    const fuzz::PipelineResult r = fuzz::RunGgufPipeline(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    EXPECT_TRUE(r.invariant.ok()) << r.invariant.ToString();
    EXPECT_NE(r.load.code(), StatusCode::kInternal) << r.load.ToString();
    EXPECT_NE(r.vocab.code(), StatusCode::kInternal) << r.vocab.ToString();
    auto it = ExpectedErrors().find(name);
    if (it != ExpectedErrors().end()) {
      EXPECT_FALSE(r.loaded);
      EXPECT_EQ(r.load.code(), it->second.code) << r.load.ToString();
      EXPECT_THAT(r.load.message(), HasSubstr(it->second.fragment));
    }
    ++n;
  }
  EXPECT_GE(n, static_cast<int>(ExpectedErrors().size()));
}

TEST(FuzzRegressionTest, EveryListedInputIsPresent) {
  const std::filesystem::path dir = std::filesystem::path(testing::SourceDir()) / "tests/fuzz/regressions";
  for (const auto& [name, expected] : ExpectedErrors()) EXPECT_TRUE(std::filesystem::exists(dir / name)) << name;
}

}  // namespace
}  // namespace st
