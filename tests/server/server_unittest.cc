// Units of smallthinker-server: the stop-string text stream, request parsing (every wrong field a
// 400 naming it), and the engine: answers independent of what else runs, an exact prompt cache
// across the sliding window, the bounded queue, cancellation and shutdown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <thread>

#include "gen/model_generator.h"
#include "server/engine.h"
#include "server/openai_api.h"
#include "server/text_stream.h"
#include "smallthinker/context.h"
#include "smallthinker/model.h"
#include "test_util.h"

namespace st {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;

// ---- TextStream ----

class TextStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = testing::ScratchDir("server_text_stream_" + std::to_string(getpid()));  // ctest runs cases in parallel
    GeneratorSpec s = *PresetSpec("tiny");
    ASSERT_TRUE(GenerateModel(s, dir + "/m.gguf", 1).ok());
    auto m = smallthinker::Model::Load(dir + "/m.gguf");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
  }
  static void TearDownTestSuite() { model_.reset(); }
  const Tokenizer& tok() { return model_->tokenizer().impl(); }
  static std::unique_ptr<smallthinker::Model> model_;
};
std::unique_ptr<smallthinker::Model> TextStreamTest::model_;

TEST_F(TextStreamTest, StopStringAcrossPiecesIsCutAndNeverSent) {
  TextStream t(tok(), {"\nUser:"});
  std::string sent;
  for (const char* piece : {"Hello", " there", "\nUs", "er", ": more"}) sent += t.PushText(piece);
  EXPECT_TRUE(t.stopped());
  EXPECT_EQ(t.stop_found(), "\nUser:");
  EXPECT_EQ(sent, "Hello there");
  EXPECT_EQ(t.PushText("ignored"), "");
  EXPECT_EQ(t.Finish(), "");
}

TEST_F(TextStreamTest, APartialStopIsHeldThenReleasedWhenItDiverges) {
  TextStream t(tok(), {"STOP"});
  EXPECT_EQ(t.PushText("abcST"), "abc");  // "ST" may start "STOP"
  EXPECT_EQ(t.PushText("x"), "STx");
  EXPECT_EQ(t.PushText("S"), "");
  EXPECT_EQ(t.Finish(), "S");  // a partial stop at the end is text
  EXPECT_FALSE(t.stopped());
}

TEST_F(TextStreamTest, TheEarliestStopWinsAndUtf8IsKeptWhole) {
  TextStream t(tok(), {"zz", "b"});
  EXPECT_EQ(t.PushText("a\xc3"), "a");  // half of "é"
  EXPECT_EQ(t.PushText("\xa9 bzz"), "\xc3\xa9 ");
  EXPECT_EQ(t.stop_found(), "b");
}

TEST_F(TextStreamTest, PartialStopSuffix) {
  EXPECT_EQ(PartialStopSuffix("hello wor", {"world"}), 3u);
  EXPECT_EQ(PartialStopSuffix("hello", {"xyz"}), 0u);
  EXPECT_EQ(PartialStopSuffix("aab", {"ab", "aabc"}), 3u);
}

// ---- request parsing ----

class ParseTest : public TextStreamTest {
 protected:
  std::optional<ApiError> Chat(const std::string& body, ParsedCompletion* out = nullptr) {
    ParsedCompletion p;
    auto t = ChatTemplate::FromNameOrText("chatml");
    return ParseChatRequest(json::parse(body), defaults_, &*t, "", model_->tokenizer(), out ? out : &p);
  }
  std::optional<ApiError> Completion(const std::string& body, ParsedCompletion* out = nullptr) {
    ParsedCompletion p;
    return ParseCompletionRequest(json::parse(body), defaults_, model_->tokenizer(), out ? out : &p);
  }
  RequestDefaults defaults_;
};

TEST_F(ParseTest, AGoodChatRequestFillsEveryField) {
  ParsedCompletion p;
  auto e = Chat(R"({"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]}],
                   "temperature":0,"top_p":0.5,"top_k":3,"min_p":0.1,"seed":7,"max_tokens":12,"stop":["a","b"],
                   "stream":true,"stream_options":{"include_usage":true},"logprobs":true,"top_logprobs":2})",
                &p);
  ASSERT_FALSE(e) << e->message;
  EXPECT_EQ(p.params.sampling.temperature, 0.f);
  EXPECT_EQ(p.params.sampling.top_k, 3);
  EXPECT_EQ(p.params.sampling.seed, 7u);
  EXPECT_EQ(p.params.max_tokens, 12);
  EXPECT_EQ(p.params.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(p.stream && p.include_usage && p.logprobs);
  EXPECT_EQ(p.params.n_probs, 2);
  const std::string text = model_->tokenizer().Decode(p.params.prompt);
  EXPECT_EQ(text, "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_F(ParseTest, EveryBadFieldIsA400NamingIt) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({})", "'messages' is required"},
      {R"({"messages":[]})", "non-empty array"},
      {R"({"messages":"hi"})", "non-empty array"},
      {R"({"messages":[{"role":"bot","content":"x"}]})", "role 'bot' is unknown"},
      {R"({"messages":[{"content":"x"}]})", "messages[0].role must be a string"},
      {R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", "type 'image_url' is not supported"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", "'temperature' must be a number"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_p":2})", "'top_p' must be between 0 and 1"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1.5})", "'max_tokens' must be an integer"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":-5})", "'max_tokens' must be between"},
      {R"({"messages":[{"role":"user","content":"x"}],"n":2})", "'n' must be 1"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})", "'stop' must be"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})", "'stream' must be a boolean"},
      {R"({"messages":[{"role":"user","content":"x"}],"seed":-2})", "'seed' must be between"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":3})", "needs 'logprobs'"},
      {R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]})", "'tools' is not supported"},
      {R"({"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}})", "not supported"},
      {R"([1,2])", "must be a JSON object"},
  };
  for (const auto& [body, want] : cases) {
    auto e = Chat(body);
    ASSERT_TRUE(e) << body;
    EXPECT_EQ(e->status, 400) << body;
    EXPECT_THAT(e->message, HasSubstr(want)) << body;
  }
}

TEST_F(ParseTest, CompletionPrompts) {
  ParsedCompletion p;
  ASSERT_FALSE(Completion(R"({"prompt":[1,2,3],"logprobs":2})", &p));
  EXPECT_EQ(p.params.prompt, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_TRUE(p.logprobs);
  EXPECT_EQ(p.params.n_probs, 2);
  EXPECT_THAT(Completion(R"({"prompt":[1,99999]})")->message, HasSubstr("'prompt'[1] must be a token id"));
  EXPECT_THAT(Completion(R"({"prompt":["a","b"]})")->message, HasSubstr("several prompts"));
  EXPECT_THAT(Completion(R"({"prompt":""})")->message, HasSubstr("empty"));
  EXPECT_THAT(Completion(R"({"prompt":{"a":1}})")->message, HasSubstr("string or an array"));
}

// ---- Engine ----

class EngineTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kWindow = 16;

  static void SetUpTestSuite() {
    const std::string dir = testing::ScratchDir("server_engine_" + std::to_string(getpid()));
    GeneratorSpec s = *PresetSpec("tiny");
    s.weight_type = GgmlType::kQ8_0;
    s.tied_output = false;
    s.sliding_window = kWindow;
    s.sparsity = 0.7f;
    s.profiler_rank = 32;
    ASSERT_TRUE(GenerateModel(s, dir + "/m.gguf", 5).ok());
    auto m = smallthinker::Model::Load(dir + "/m.gguf");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
  }
  static void TearDownTestSuite() { model_.reset(); }

  std::unique_ptr<smallthinker::Context> MakeContext(uint32_t n_seq) {
    smallthinker::ContextParams p;
    p.n_ctx = 256;
    p.n_seq = n_seq;
    p.n_threads = 2;
    p.batch_size = 16;  // prompts span several steps
    auto c = smallthinker::Context::Create(*model_, p);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(*c);
  }

  static std::vector<int32_t> Prompt(size_t n, int salt) {
    std::vector<int32_t> t;
    for (size_t i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 131 + 7 * salt + 3) % 500));
    return t;
  }

  static CompletionParams Greedy(std::vector<int32_t> prompt, int32_t max_tokens) {
    CompletionParams p;
    p.prompt = std::move(prompt);
    p.sampling.temperature = 0;
    p.max_tokens = max_tokens;
    p.ignore_eos = true;
    return p;
  }

  struct Answer {
    std::vector<int32_t> tokens;
    std::string text;
    CompletionResult result;
  };

  static Answer Collect(Request& r) {
    Answer a;
    std::vector<CompletionEvent> events;
    while (r.Wait(&events, milliseconds(100))) {
      for (auto& ev : events) {
        a.tokens.insert(a.tokens.end(), ev.tokens.begin(), ev.tokens.end());
        a.text += ev.text;
        if (ev.final) a.result = *ev.final;
      }
      events.clear();
    }
    return a;
  }

  static Answer Run(Engine& e, CompletionParams p) {
    auto r = e.Submit(std::move(p));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return Collect(**r);
  }

  static std::unique_ptr<smallthinker::Model> model_;
};
std::unique_ptr<smallthinker::Model> EngineTest::model_;

TEST_F(EngineTest, AnswersDoNotDependOnWhatElseRuns) {
  std::vector<Answer> alone;
  {
    auto ctx = MakeContext(1);
    Engine e(*ctx, model_->tokenizer(), {});
    for (int k = 0; k < 4; ++k) alone.push_back(Run(e, Greedy(Prompt(20 + 7 * k, k), 12)));
  }
  auto ctx = MakeContext(4);
  Engine e(*ctx, model_->tokenizer(), {});
  std::vector<std::shared_ptr<Request>> reqs;
  for (int k = 0; k < 4; ++k) reqs.push_back(*e.Submit(Greedy(Prompt(20 + 7 * k, k), 12)));
  for (int k = 0; k < 4; ++k) {
    const Answer a = Collect(*reqs[k]);
    EXPECT_EQ(a.tokens, alone[k].tokens) << k;
    EXPECT_EQ(a.text, alone[k].text) << k;
    EXPECT_EQ(a.result.finish, FinishReason::kLength);
    EXPECT_EQ(a.result.completion_tokens, 12u);
  }
}

// A conversation's second turn reuses the slot's cache: when it extends what the slot holds, all
// of it; when it parts from it further back than the sliding window, only what the window's ring
// still holds. Either way the answer is the fresh evaluation's, token for token.
TEST_F(EngineTest, PromptCacheIsExactAcrossTheSlidingWindow) {
  auto ctx = MakeContext(1);
  Engine e(*ctx, model_->tokenizer(), {});
  const std::vector<int32_t> first = Prompt(60, 1);
  const Answer turn1 = Run(e, Greedy(first, 10));
  ASSERT_EQ(turn1.tokens.size(), 10u);

  // Extends everything evaluated (the last generated token was sampled, not evaluated).
  std::vector<int32_t> extend = first;
  extend.insert(extend.end(), turn1.tokens.begin(), turn1.tokens.end());
  for (int32_t t : Prompt(5, 9)) extend.push_back(t);
  const Answer cached = Run(e, Greedy(extend, 8));
  EXPECT_EQ(cached.result.cached_tokens, first.size() + turn1.tokens.size() - 1);

  // Parts 30 tokens back (past the 16-token window): the ring cannot rewind that far.
  std::vector<int32_t> diverge(extend.begin(), extend.begin() + (extend.size() - 30));
  for (int32_t t : Prompt(12, 4)) diverge.push_back(t);
  const Answer rewound = Run(e, Greedy(diverge, 8));
  EXPECT_LT(rewound.result.cached_tokens, diverge.size() - 12);

  auto fresh_ctx = MakeContext(1);
  Engine fresh(*fresh_ctx, model_->tokenizer(), {});
  CompletionParams no_cache = Greedy(extend, 8);
  no_cache.cache_prompt = false;
  const Answer want_extend = Run(fresh, no_cache);
  EXPECT_EQ(want_extend.result.cached_tokens, 0u);
  EXPECT_EQ(cached.tokens, want_extend.tokens);
  no_cache = Greedy(diverge, 8);
  no_cache.cache_prompt = false;
  EXPECT_EQ(rewound.tokens, Run(fresh, no_cache).tokens);
}

TEST_F(EngineTest, StopStringsEndTheAnswerAndStreamingEqualsTheWhole) {
  auto ctx = MakeContext(1);
  Engine e(*ctx, model_->tokenizer(), {});
  const Answer whole = Run(e, Greedy(Prompt(10, 2), 24));
  ASSERT_GT(whole.text.size(), 6u);
  // A stop string taken from the middle of the answer.
  const std::string stop = whole.text.substr(whole.text.size() / 2, 3);
  CompletionParams p = Greedy(Prompt(10, 2), 24);
  p.stop = {stop};
  const Answer cut = Run(e, p);
  EXPECT_EQ(cut.result.finish, FinishReason::kStop);
  EXPECT_EQ(cut.text, whole.text.substr(0, whole.text.find(stop)));
}

TEST_F(EngineTest, TheQueueIsBoundedAndPromptsMustFit) {
  auto ctx = MakeContext(1);
  Engine e(*ctx, model_->tokenizer(), EngineOptions{.max_queued = 1});
  int rejected = 0;
  std::vector<std::shared_ptr<Request>> accepted;
  for (int k = 0; k < 3; ++k) {
    auto r = e.Submit(Greedy(Prompt(30, k), 100));
    if (r.ok()) {
      accepted.push_back(*r);
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
      EXPECT_THAT(r.status().message(), HasSubstr("slots are busy"));
      ++rejected;
    }
  }
  EXPECT_GE(rejected, 1);  // one slot and one place in the queue
  for (auto& r : accepted) r->Cancel();
  EXPECT_GE(e.Stats().requests_rejected, 1u);

  auto big = e.Submit(Greedy(Prompt(250, 1), 10));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kOutOfRange);
  EXPECT_THAT(big.status().message(), HasSubstr("needs 260 tokens (250 in the prompt, 10 to generate)"));
  EXPECT_EQ(e.Submit(Greedy({}, 1)).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, ACancelledRequestFreesItsSlotAtTheNextStep) {
  auto ctx = MakeContext(1);
  Engine e(*ctx, model_->tokenizer(), {});
  auto r = *e.Submit(Greedy(Prompt(20, 3), 200));
  std::vector<CompletionEvent> events;
  while (events.empty()) r->Wait(&events, milliseconds(100));  // it is decoding
  r->Cancel();
  const uint64_t steps_at_cancel = e.Stats().steps;
  const Answer rest = Collect(*r);
  EXPECT_EQ(rest.result.finish, FinishReason::kCancelled);
  EXPECT_LT(rest.result.completion_tokens, 200u);
  EXPECT_LE(e.Stats().steps, steps_at_cancel + 1);  // at most the step in flight
  EXPECT_EQ(e.Stats().slots_busy, 0u);
  // The slot serves the next request.
  EXPECT_EQ(Run(e, Greedy(Prompt(8, 1), 3)).result.finish, FinishReason::kLength);
}

TEST_F(EngineTest, ShutdownEndsEveryRequestWithA503) {
  auto ctx = MakeContext(1);
  Engine e(*ctx, model_->tokenizer(), {});
  auto running = *e.Submit(Greedy(Prompt(20, 3), -1));  // until the context is full
  auto queued = *e.Submit(Greedy(Prompt(20, 4), 10));
  e.Shutdown();
  for (auto* r : {&running, &queued}) {
    const Answer a = Collect(**r);
    EXPECT_EQ(a.result.finish, FinishReason::kError);
    EXPECT_EQ(a.result.error_status, 503);
  }
  EXPECT_EQ(e.Submit(Greedy(Prompt(5, 1), 1)).status().code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace st
