// Building SmallThinker's vocabulary from Hugging Face files, writing it as GGUF, and the two
// programs of the text area (smallthinker-vocab, smallthinker-tokenize) end to end.
#include "text/hf_vocab.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "format/gguf_file.h"
#include "test_util.h"
#include "text/byte_level.h"
#include "text/text_test_util.h"
#include "text/tokenizer.h"

namespace st {
namespace {

using ::st::testing::BinaryDir;
using ::st::testing::QwenTokenizer;
using ::st::testing::ScratchDir;
using ::st::testing::SharedDir;
using ::testing::HasSubstr;

// A byte-level BPE tokenizer.json with all 256 byte tokens, "a b" merges and two added tokens.
std::string TinyTokenizerJson(const std::string& merges_json) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[ByteLevelChar(static_cast<uint8_t>(b))] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  nlohmann::json j = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::parse(merges_json)}}},
      {"added_tokens",
       {{{"id", 258}, {"content", "<|endoftext|>"}, {"special", true}},
        {{"id", 260}, {"content", "<tool>"}, {"special", false}}}},
  };
  return j.dump();
}

TEST(HfVocabTest, TinyLayoutBothMergeForms) {
  for (const char* merges : {R"(["a b", "ab c"])", R"([["a", "b"], ["ab", "c"]])"}) {
    auto v = VocabFromHfJson(TinyTokenizerJson(merges), R"({"chat_template": "T", "add_bos_token": false})", 264);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->tokens.size(), 264u);
    EXPECT_EQ(v->tokens[257], "abc");
    EXPECT_EQ(v->tokens[258], "<|endoftext|>");
    EXPECT_EQ(v->types[258], static_cast<int32_t>(TokenType::kControl));
    EXPECT_EQ(v->tokens[259], "[PAD259]");  // a gap between added tokens is filled too
    EXPECT_EQ(v->types[260], static_cast<int32_t>(TokenType::kUserDefined));
    EXPECT_EQ(v->tokens[263], "[PAD263]");
    EXPECT_THAT(v->merges, ::testing::ElementsAre("a b", "ab c"));
    EXPECT_EQ(v->bos_id, 258);
    EXPECT_EQ(v->eos_id, 258);
    EXPECT_EQ(v->pad_id, 258);
    EXPECT_EQ(v->pre, "qwen2");
    EXPECT_EQ(v->chat_template, "T");
    auto tok = Tokenizer::FromVocab(*v);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    EXPECT_EQ(tok->Encode("abc<tool>", false, false), (std::vector<int32_t>{257, 260}));
  }
}

TEST(HfVocabTest, NamedChatTemplateList) {
  auto v = VocabFromHfJson(TinyTokenizerJson("[]"),
                           R"({"chat_template": [{"name": "tool_use", "template": "X"},
                                                 {"name": "default", "template": "D"}]})", 264);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->chat_template, "D");
}

TEST(HfVocabTest, Errors) {
  EXPECT_EQ(VocabFromHfJson("{", "", 300).status().code(), StatusCode::kInvalidFile);
  EXPECT_THAT(VocabFromHfJson(R"({"model": {"type": "Unigram", "vocab": {}}})", "", 300).status().message(),
              HasSubstr("BPE"));
  // More tokens than n_vocab.
  EXPECT_THAT(VocabFromHfJson(TinyTokenizerJson("[]"), "", 200).status().message(), HasSubstr("n_vocab"));
  // An added token on a regular token's id.
  auto j = nlohmann::json::parse(TinyTokenizerJson("[]"));
  j["added_tokens"].push_back({{"id", 5}, {"content", "<x>"}, {"special", true}});
  EXPECT_THAT(VocabFromHfJson(j.dump(), "", 300).status().message(), HasSubstr("already taken"));
  // A pre-tokenizer that is not Qwen2's (Llama 3's regex) is refused; a plain ByteLevel one is GPT-2's.
  j = nlohmann::json::parse(TinyTokenizerJson("[]"));
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"}, {"pattern", {{"Regex", "\\p{N}{1,3}"}}}, {"behavior", "Isolated"}},
                          {{"type", "ByteLevel"}, {"use_regex", false}}}}};
  EXPECT_EQ(VocabFromHfJson(j.dump(), "", 300).status().code(), StatusCode::kUnsupported);
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}};
  EXPECT_EQ(VocabFromHfJson(j.dump(), "", 300).value().pre, "gpt-2");
  // A merge that is neither form.
  EXPECT_THAT(VocabFromHfJson(TinyTokenizerJson("[1]"), "", 300).status().message(), HasSubstr("merge 0"));
  EXPECT_EQ(LoadHfVocab("/nonexistent/tokenizer.json", "").status().code(), StatusCode::kNotFound);
}

TEST(HfVocabTest, QwenVocabGgufRoundTrip) {
  const Tokenizer& from_json = QwenTokenizer();
  const std::string path = ScratchDir("hf_vocab_gguf") + "/vocab.gguf";
  ASSERT_TRUE(WriteVocabGguf(from_json.vocab(), path).ok());
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->GetString("general.architecture").value(), "smallthinker");
  EXPECT_TRUE(f->tensors().empty());
  for (const auto& [key, value] : f->metadata()) {
    EXPECT_TRUE(key == "general.architecture" || key.starts_with("tokenizer.")) << key;
  }
  auto tok = Tokenizer::FromGguf(*f);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(tok->vocab().tokens, from_json.vocab().tokens);
  EXPECT_EQ(tok->vocab().types, from_json.vocab().types);
  EXPECT_EQ(tok->vocab().merges, from_json.vocab().merges);
  EXPECT_EQ(tok->vocab().chat_template, from_json.vocab().chat_template);
  EXPECT_EQ(tok->eos(), 151643);
  const std::string text = "Hello, y'all! <|im_start|>多语言 🦙";
  EXPECT_EQ(tok->Encode(text, false, true), from_json.Encode(text, false, true));
}

// Runs a command; returns its exit code and stdout.
std::pair<int, std::string> RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(TextToolsTest, VocabThenTokenize) {
  const std::string vocab_tool = BinaryDir() + "/smallthinker-vocab";
  const std::string tokenize_tool = BinaryDir() + "/smallthinker-tokenize";
  if (!std::filesystem::exists(vocab_tool) || !std::filesystem::exists(tokenize_tool)) {
    GTEST_SKIP() << "programs not built";
  }
  const std::string dir = SharedDir() + "/data/tokenizer/qwen3/";
  const std::string out = ScratchDir("text_tools") + "/vocab.gguf";
  EXPECT_EQ(RunCommand(vocab_tool + " --tokenizer-json " + dir + "tokenizer.json --tokenizer-config " + dir +
                "tokenizer_config.json -o " + out).first, 0);
  auto r = RunCommand(tokenize_tool + " -m " + out + " -p 'Hello world<|im_end|>'");
  EXPECT_EQ(r.first, 0);
  EXPECT_EQ(r.second, "[9707,1879,27,91,318,6213,91,29]\n");
  r = RunCommand(tokenize_tool + " -m " + out + " -p 'Hello world<|im_end|>' --parse-special --add-bos");
  EXPECT_EQ(r.second, "[151643,9707,1879,151645]\n");
  r = RunCommand(tokenize_tool + " -m " + out + " -p 'Hello' --show-pieces");
  EXPECT_EQ(r.second, "[{\"id\":9707,\"piece\":\"Hello\"}]\n");
  const std::string text_file = ScratchDir("text_tools_file") + "/prompt.txt";
  std::ofstream(text_file) << " Hello world";
  EXPECT_EQ(RunCommand(tokenize_tool + " -m " + out + " -f " + text_file).second, "[21927,1879]\n");
  // Exit codes: 2 bad arguments, 3 bad model file, 4 unreadable text file.
  EXPECT_EQ(RunCommand(tokenize_tool + " -m " + out).first, 2);
  EXPECT_EQ(RunCommand(tokenize_tool + " -m " + out + " -p x -f " + text_file).first, 2);
  EXPECT_EQ(RunCommand(tokenize_tool + " -m /nonexistent.gguf -p x").first, 3);
  EXPECT_EQ(RunCommand(tokenize_tool + " -m " + text_file + " -p x").first, 3);
  EXPECT_EQ(RunCommand(tokenize_tool + " -m " + out + " -f /nonexistent.txt").first, 4);
  EXPECT_EQ(RunCommand(vocab_tool + " --tokenizer-json /nonexistent.json -o " + out).first, 3);
  EXPECT_EQ(RunCommand(vocab_tool + " -o " + out).first, 2);
}

}  // namespace
}  // namespace st
