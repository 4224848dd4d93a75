// ParseBatchLine: every kind of line, and a clear message for every malformed one.
#include "cli/batch_input.h"

#include <gtest/gtest.h>

namespace st {
namespace {

TEST(BatchInputTest, PlainLineIsThePrompt) {
  const BatchRequest r = ParseBatchLine("Once upon a time", 3);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.id, 3);
  EXPECT_EQ(r.line, 3u);
  EXPECT_EQ(*r.prompt, "Once upon a time");
  EXPECT_FALSE(r.n_predict.has_value());
}

TEST(BatchInputTest, JsonPromptWithIdAndCount) {
  BatchRequest r = ParseBatchLine(R"(  {"id": "q1", "prompt": "Hi", "n_predict": 7, "extra": true})", 1);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.id, "q1");
  EXPECT_EQ(*r.prompt, "Hi");
  EXPECT_EQ(*r.n_predict, 7);
  r = ParseBatchLine(R"({"id": 12, "prompt": "Hi", "max_tokens": -1})", 2);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.id, 12);
  EXPECT_EQ(*r.n_predict, -1);
}

TEST(BatchInputTest, JsonMessages) {
  const BatchRequest r =
      ParseBatchLine(R"({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]})", 4);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.id, 4);
  EXPECT_FALSE(r.prompt.has_value());
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].role, "user");
  EXPECT_EQ(r.messages[1].content, "U");
}

TEST(BatchInputTest, MalformedLines) {
  struct Case {
    const char* line;
    const char* error_start;
  } cases[] = {
      {R"({"prompt": "x")", "bad JSON: "},
      {R"({"prompt": 5})", "\"prompt\" must be a string"},
      {R"({"prompt": ""})", "empty prompt"},
      {R"({"id": 1})", "missing \"prompt\""},
      {R"({"prompt": "a", "messages": []})", "give \"prompt\" or \"messages\""},
      {R"({"messages": []})", "\"messages\" is empty"},
      {R"({"messages": "hi"})", "\"messages\" must be an array"},
      {R"({"messages": [1]})", "\"messages\"[0] must be an object"},
      {R"({"messages": [{"role": "", "content": "x"}]})", "\"messages\"[0].role"},
      {R"({"messages": [{"role": "user", "content": 1}]})", "\"messages\"[0].content"},
      {R"({"id": {}, "prompt": "x"})", "\"id\" must be"},
      {R"({"prompt": "x", "n_predict": 1.5})", "\"n_predict\" must be an integer"},
      {R"({"prompt": "x", "max_tokens": -2})", "\"max_tokens\" must be an integer"},
      {R"({"prompt": "x", "n_predict": 1, "max_tokens": 1})", "give \"n_predict\" or \"max_tokens\""},
      {"{\"prompt\": \"\xff\"}", "bad JSON: "},
      {"plain \xc3(", "the prompt is not valid UTF-8 (byte 6 of 8)"},
  };
  for (const Case& c : cases) {
    const BatchRequest r = ParseBatchLine(c.line, 9);
    EXPECT_EQ(r.error.rfind(c.error_start, 0), 0u) << c.line << " -> " << r.error;
  }
  // The id survives errors that come after it.
  EXPECT_EQ(ParseBatchLine(R"({"id": "k", "prompt": 5})", 9).id, "k");
  EXPECT_EQ(ParseBatchLine(R"({"id": "k", "prompt": )", 9).id, 9);
}

TEST(BatchInputTest, BlankLines) {
  EXPECT_TRUE(IsBlankBatchLine(""));
  EXPECT_TRUE(IsBlankBatchLine(" \t\r"));
  EXPECT_FALSE(IsBlankBatchLine(" x"));
}

}  // namespace
}  // namespace st
