// The CLI's argument handling: llama.cpp spellings, conflicts, mode choice, escapes, logit biases.
#include "cli/cli_args.h"

#include <gtest/gtest.h>

#include <cmath>

#include "cli/exit_codes.h"

namespace st {
namespace {

// Parses a command line (the program name added); nullopt = parsed fine.
std::optional<int> Parse(std::vector<std::string> argv, CliArgs& a) {
  argv.insert(argv.begin(), "smallthinker-cli");
  std::vector<char*> ptrs;
  for (auto& s : argv) ptrs.push_back(s.data());
  return ParseCliArgs(static_cast<int>(ptrs.size()), ptrs.data(), a);
}

CliArgs ParseOk(std::vector<std::string> argv) {
  CliArgs a;
  EXPECT_EQ(Parse(std::move(argv), a), std::nullopt);
  return a;
}

TEST(CliArgsTest, DefaultsAreSmallThinkersSampling) {
  const CliArgs a = ParseOk({"-m", "x.gguf", "-p", "hi"});
  EXPECT_FLOAT_EQ(a.sampling.temperature, 0.6f);
  EXPECT_EQ(a.sampling.top_k, 20);
  EXPECT_FLOAT_EQ(a.sampling.top_p, 0.95f);
  EXPECT_FLOAT_EQ(a.sampling.min_p, 0.0f);
  EXPECT_EQ(a.sampling.order, kDefaultSamplers);
  EXPECT_EQ(a.n_predict, -1);
  EXPECT_EQ(SamplerParamsFromArgs(a).seed, kRandomSeed);
  EXPECT_TRUE(Sampler::Create(SamplerParamsFromArgs(a)).ok());
}

TEST(CliArgsTest, LlamaSpellings) {
  const CliArgs a = ParseOk({"-m", "x", "-sys", "S\\tT", "-cnv", "-st", "-sp", "-n", "-1", "-s", "7", "--temp", "0",
                             "--samplers", "top_k;temperature", "-ub", "32", "-c", "128", "-l", "5-inf"});
  EXPECT_TRUE(a.has_system);
  EXPECT_EQ(a.system_prompt, "S\tT");
  EXPECT_TRUE(a.conversation && a.single_turn && a.special);
  EXPECT_EQ(a.n_predict, -1);
  EXPECT_EQ(SamplerParamsFromArgs(a).seed, 7u);
  EXPECT_EQ(a.run.batch_size, 32u);
  EXPECT_EQ(a.run.n_ctx, 128u);
  EXPECT_EQ(a.logit_bias, std::vector<std::string>{"5-inf"});
  EXPECT_TRUE(CheckCliArgs(a).ok());
}

TEST(CliArgsTest, ParseErrorsAndHelp) {
  CliArgs a;
  EXPECT_EQ(Parse({"-m", "x", "--no-such-flag"}, a), kExitUsage);
  CliArgs b;
  EXPECT_EQ(Parse({"-p", "x"}, b), kExitUsage);  // -m is required
  CliArgs c;
  testing::internal::CaptureStdout();
  EXPECT_EQ(Parse({"--help"}, c), kExitOk);
  const std::string help = testing::internal::GetCapturedStdout();
  EXPECT_NE(help.find("llama.cpp's"), std::string::npos);
}

TEST(CliArgsTest, Conflicts) {
  const std::vector<std::vector<std::string>> bad = {
      {"-p", "x", "-f", "y"},
      {"--batch-file", "b", "-p", "x"},
      {"--batch-file", "b", "-f", "x"},
      {"--batch-file", "b", "-cnv"},
      {"--token-ids", "1", "-p", "x"},
      {"--token-ids", "1", "-sys", "x"},
      {"--token-ids", "1", "-cnv"},
      {"-cnv", "-no-cnv"},
      {"-st", "-no-cnv"},
      {"--dump-logits", "x.npy", "-p", "x"},
      {"--batch-output", "o", "-p", "x"},
      {"-p", ""},
      {"-p", "x", "-n", "-2"},
      {"-p", "x", "-s", "-3"},
      {"-p", "x", "-l", "1*2"},
      {"-p", "x", "--samplers", "nope"},
      {"-p", "x\\xff"},
  };
  for (auto args : bad) {
    args.insert(args.begin(), {"-m", "x"});
    const CliArgs a = ParseOk(args);
    const Status s = CheckCliArgs(a);
    EXPECT_FALSE(s.ok()) << args[2] << " " << args[3];
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  }
}

TEST(CliArgsTest, Modes) {
  auto mode = [](std::vector<std::string> args, bool tty, bool tmpl) {
    args.insert(args.begin(), {"-m", "x"});
    return ResolveCliMode(ParseOk(args), tty, tmpl);
  };
  EXPECT_EQ(*mode({"--token-ids", "1"}, true, true), CliMode::kTokenIds);
  EXPECT_EQ(*mode({"--batch-file", "b"}, true, true), CliMode::kBatch);
  EXPECT_EQ(*mode({"-p", "x"}, true, true), CliMode::kOneShot);
  EXPECT_EQ(*mode({"-p", "x", "-sys", "s"}, true, true), CliMode::kOneShot);
  EXPECT_EQ(*mode({"-p", "x", "-cnv"}, false, false), CliMode::kChat);
  EXPECT_EQ(*mode({"-st"}, false, true), CliMode::kChat);
  EXPECT_EQ(*mode({}, true, true), CliMode::kChat);
  EXPECT_EQ(*mode({"--chat-template", "chatml"}, true, false), CliMode::kChat);
  EXPECT_FALSE(mode({}, true, false).ok());   // no template
  EXPECT_FALSE(mode({}, false, true).ok());   // not a terminal
  EXPECT_FALSE(mode({"-no-cnv"}, true, true).ok());
}

TEST(CliArgsTest, Escapes) {
  EXPECT_EQ(ProcessEscapes("a\\nb\\tc\\\\d\\'\\\""), "a\nb\tc\\d'\"");
  EXPECT_EQ(ProcessEscapes("\\x41\\x4a\\101"), "AJA");
  EXPECT_EQ(ProcessEscapes("keep \\q and \\x4 and trailing \\"), "keep \\q and \\x4 and trailing \\");
}

TEST(CliArgsTest, LogitBias) {
  auto b = ParseLogitBias("15043+1.5");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->token, 15043);
  EXPECT_FLOAT_EQ(b->bias, 1.5f);
  b = ParseLogitBias("2-inf");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(std::isinf(b->bias) && b->bias < 0);
  for (const char* bad : {"", "15", "+1", "-1+1", "x+1", "15+", "15+nan", "15+1x"}) {
    EXPECT_FALSE(ParseLogitBias(bad).ok()) << bad;
  }
}

TEST(CliArgsTest, Utf8) {
  EXPECT_EQ(FirstInvalidUtf8("héllo ✓"), std::string("héllo ✓").size());
  EXPECT_EQ(FirstInvalidUtf8("ab\xff"), 2u);
  EXPECT_EQ(FirstInvalidUtf8("ab\xe2\x9c"), 2u);  // cut off
  EXPECT_EQ(FirstInvalidUtf8("\xc0\x80"), 0u);    // overlong
}

}  // namespace
}  // namespace st
